"""pytest-k8shardening: Kubernetes hardening guidance as ordinary pytest tests.

Public API for writing controls and organization tests::

    from pytest_k8shardening import assert_compliant, control, Finding, checks
"""

from __future__ import annotations

from . import checks
from .checks import CheckResult, Finding, NotApplicable, Undetermined
from .controls import REGISTRY, Control, ControlError, NonCompliant, assert_compliant, control
from .model import Container, Inventory, K8sObject, Namespace, Setting, Source, Workload

__all__ = [
    "REGISTRY",
    "CheckResult",
    "Container",
    "Control",
    "ControlError",
    "Finding",
    "Inventory",
    "K8sObject",
    "Namespace",
    "NonCompliant",
    "NotApplicable",
    "Setting",
    "Undetermined",
    "Source",
    "Workload",
    "assert_compliant",
    "checks",
    "control",
]


def __getattr__(name: str) -> str:
    if name == "__version__":
        from importlib.metadata import version

        return version("pytest-k8shardening")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
