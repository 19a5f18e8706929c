"""pytest-k8shardening: Kubernetes hardening guidance as ordinary pytest tests.

Public API for writing controls and organization tests::

    from pytest_k8shardening import assert_compliant, control, Finding, checks

Module map (what a result goes through, in order):

* ``plugin.py``: the pytest entry point; wires the plugin objects below, no result logic.
* ``session.py``, ``options.py``: settings, the inventory read once, the xdist hand-off.
* ``params.py``, ``fixtures.py``, ``grouping.py``: test items per object, or grouped
  (``grouping.run_group`` runs a grouped item's body once per object).
* ``checks/``, ``controls.py``, ``model.py``: the checks (pure functions), controls, objects.
* ``annotate.py``: where the test runs (the only process or an xdist worker): each report's
  failure text, waivers, and the item's result record on the report (``report.k8s_result``).
* ``record.py``: the result record (:class:`~.record.Result`, a grouped item's
  :class:`~.record.Batch`) and the JSON results' schema; the one thing that crosses to the controller.
* ``collector.py``: where reports arrive: records gathered, completeness, summary, gates.
* ``reporting/``: one writer per format, reading records: ``json.py`` (JSON results and the
  file writing SARIF shares), ``sarif.py``, ``terminal.py``, ``junit.py``, ``html.py``
  (pytest-html), ``allure.py`` (allure-pytest).
* ``speedups.py``: every speed trick (traceback-free reports, pickled reports, pruned terminal
  stats, worker-encoded records, gc freeze/pause), each with what it was measured to buy.
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
