"""Controls: the metadata that turns a test into a compliance control.

A built-in or organization test becomes a control with :func:`control`::

    @control("nsa.pod.privileged", title="Containers are not privileged",
             severity="critical", category="pod_security", frameworks=["nsa"],
             remediation="Remove securityContext.privileged or set it to false.",
             references={"kubescape": ["C-0057"], "pss": "baseline"})
    def test_not_privileged(k8s_container):
        \"\"\"Rationale: why the control exists.\"\"\"
        assert_compliant(checks.pod.privileged(k8s_container))

The decorator adds the markers (framework, category, severity and
``k8s_control``) and records the control in :data:`REGISTRY`, from which
reports, ``--k8s-list-controls`` and the README table are made.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest

from .checks import CheckResult, Finding, NotApplicable, Undetermined

__all__ = [
    "CATEGORIES",
    "CIS_BENCHMARK",
    "FRAMEWORKS",
    "REGISTRY",
    "SEVERITIES",
    "Control",
    "ControlError",
    "NonCompliant",
    "assert_compliant",
    "control",
]

#: Severities, most severe first. Each is also a marker (``-m critical``).
SEVERITIES: tuple[str, ...] = ("critical", "high", "medium", "low", "info")

#: The CIS benchmark whose recommendation numbers ``references["cis"]`` cites.
CIS_BENCHMARK = "CIS Kubernetes Benchmark v1.10"

#: Framework markers and what they stand for.
FRAMEWORKS: dict[str, str] = {
    "nsa": "NSA/CISA Kubernetes Hardening Guide v1.2",
    "pss_baseline": "Kubernetes Pod Security Standards, baseline level",
    "pss_restricted": "Kubernetes Pod Security Standards, restricted level",
    "cis": f"{CIS_BENCHMARK} (every control citing one of its recommendation ids)",
    "org": "organization policy",
}

#: ``references["not_counterparts"]``: upstream ids that look related but are not a counterpart (a Trivy
#: check stored where Trivy does not run it, say), as ``"tool:ID"`` strings. Shown so nobody maps them.
NOT_COUNTERPARTS = "not_counterparts"

#: Category markers and what they cover.
CATEGORIES: dict[str, str] = {
    "pod_security": "pod and container security settings",
    "network": "namespaces, network policies and resource policies",
    "authn_authz": "authentication and RBAC authorization",
    "secrets": "credentials and Secrets",
    "audit_logging": "audit logging and threat detection",
    "control_plane": "API server, etcd, controller manager and scheduler settings",
    "kubelet": "kubelet settings",
    "upgrades": "versions and upgrades",
    "images": "container images and where they come from",
    "metadata": "labels, annotations and ownership",
    "reliability": "probes and availability",
}

_F = TypeVar("_F", bound=Callable[..., Any])


class ControlError(ValueError):
    """Control metadata is wrong (unknown severity, duplicate id, ...)."""


@dataclass(frozen=True)
class Control:
    """What a compliance control is and how to meet it."""

    id: str
    title: str
    severity: str
    category: str
    remediation: str
    frameworks: tuple[str, ...] = ("nsa",)
    references: Mapping[str, Any] = field(default_factory=dict)
    rationale: str = ""
    guide: str = ""
    manual: bool = False

    def as_dict(self) -> dict[str, Any]:
        refs: dict[str, Any] = {"kubescape": [], "trivy": [], "cis": [], "pss": None}
        refs.update({k: (list(v) if isinstance(v, (list, tuple)) else v) for k, v in self.references.items()})
        return {
            "control": self.id,
            "title": self.title,
            "severity": self.severity,
            "category": self.category,
            "frameworks": list(self.frameworks),
            "references": refs,
            "guide": self.guide,
            "remediation": self.remediation,
        }


class _Registry:
    """Every control defined in this process, keyed by id."""

    def __init__(self) -> None:
        self._controls: dict[str, Control] = {}
        self._owners: dict[str, str] = {}

    def add(self, ctrl: Control, owner: str) -> None:
        # Duplicate ids are refused per session, at collection (see check_unique_ids): a process
        # may import several test trees (pytester, IDEs), and the last definition is kept here.
        self._controls[ctrl.id] = ctrl
        self._owners[ctrl.id] = owner

    def get(self, control_id: str) -> Control | None:
        return self._controls.get(control_id)

    def __iter__(self) -> Any:
        return iter(sorted(self._controls.values(), key=lambda c: c.id))

    def __len__(self) -> int:
        return len(self._controls)


REGISTRY = _Registry()


def _rationale(fn: Callable[..., Any]) -> str:
    doc = inspect.getdoc(fn) or ""
    return doc.split("\n\n", 1)[0].replace("\n", " ").strip()


def control(
    id: str,
    *,
    title: str,
    severity: str,
    category: str,
    remediation: str,
    frameworks: Sequence[str] = ("nsa",),
    references: Mapping[str, Any] | None = None,
    guide: str = "",
    manual: bool = False,
) -> Callable[[_F], _F]:
    """Make a test function a compliance control.

    :param id: stable identifier, e.g. ``nsa.pod.privileged`` or ``acme.images.registry``.
    :param severity: one of :data:`SEVERITIES`.
    :param category: a marker name, e.g. one of :data:`CATEGORIES`.
    :param frameworks: framework markers, e.g. ``["nsa", "pss_baseline"]``. A control citing CIS ids
        also gets ``cis``, so ``-m cis`` selects exactly the controls that implement a CIS recommendation.
    :param references: cross-references: ``kubescape``, ``trivy``, ``cis`` (lists; CIS ids are
        :data:`CIS_BENCHMARK` numbers), ``pss`` (level), and ``not_counterparts`` (``"tool:ID"`` strings
        of upstream checks that are *not* equivalents, e.g. Trivy checks Trivy does not run).
    :param guide: where the recommendation sits in the guide.
    :param manual: the control cannot be checked by software; the test reports it as skipped.
    """
    __tracebackhide__ = True
    if severity not in SEVERITIES:
        raise ControlError(f"control {id!r}: severity {severity!r} is not one of {', '.join(SEVERITIES)}")
    if not id or not isinstance(id, str) or any(ch.isspace() for ch in id):
        raise ControlError(f"control id {id!r} must be a non-empty string without spaces")
    for name in (category, *frameworks):
        if not name.isidentifier():
            raise ControlError(f"control {id!r}: {name!r} cannot be a marker name")
    if not title or not remediation:
        raise ControlError(f"control {id!r}: title and remediation are required")

    frameworks = tuple(frameworks)
    if (references or {}).get("cis") and "cis" not in frameworks:
        frameworks += ("cis",)

    def decorate(fn: _F) -> _F:
        ctrl = Control(id=id, title=title, severity=severity, category=category, remediation=remediation,
                       frameworks=frameworks, references=dict(references or {}),
                       rationale=_rationale(fn), guide=guide, manual=manual)
        try:
            where = str(Path(inspect.getfile(fn)).resolve())
        except (TypeError, OSError):
            where = fn.__module__
        REGISTRY.add(ctrl, f"{where}::{fn.__qualname__}")
        _register_custom_markers(category, frameworks)
        marks = [pytest.mark.k8s_control(ctrl), getattr(pytest.mark, severity), getattr(pytest.mark, category)]
        marks += [getattr(pytest.mark, fw) for fw in frameworks]
        if manual:
            marks.append(pytest.mark.manual)
        for mark in marks:
            fn = mark(fn)
        fn._k8s_control = ctrl  # type: ignore[attr-defined]  # fast path for control_of()
        return fn

    return decorate


#: The pytest sessions configured in this process, innermost last (pytester nests them):
#: :func:`control` registers custom framework and category markers with the innermost.
_CONFIGS: list[pytest.Config] = []


def bind_config(config: pytest.Config) -> None:
    """From ``pytest_configure``: let :func:`control` register its custom markers with ``config``."""
    _CONFIGS.append(config)


def unbind_config(config: pytest.Config) -> None:
    """From ``pytest_unconfigure``: forget ``config``."""
    if config in _CONFIGS:
        _CONFIGS.remove(config)


def _register_custom_markers(category: str, frameworks: Sequence[str]) -> None:
    """Register a framework or category that is not built in as a marker before it is applied.

    ``@control`` applies its markers when the test module is imported, during
    collection; under ``--strict-markers`` pytest refuses an unregistered marker
    at that moment, so registering later (at collection's end) would be too late.
    """
    if not _CONFIGS:  # imported outside a session (the catalog, a script): pytest checks nothing then
        return
    if category in CATEGORIES and all(fw in FRAMEWORKS for fw in frameworks):
        return  # registered by the plugin
    config = _CONFIGS[-1]
    known = {line.split(":", 1)[0].split("(", 1)[0].strip() for line in config.getini("markers")}
    for name, what in ((category, "category"), *((fw, "framework") for fw in frameworks)):
        if name not in known:
            config.addinivalue_line("markers", f"{name}: custom control {what}, declared by @control "
                                               "(pytest-k8shardening).")
            known.add(name)


def check_unique_ids(items: Iterable[pytest.Item], control_of: Callable[[pytest.Item], Control | None]) -> None:
    """Refuse a session in which two test functions claim the same control id."""
    owners: dict[str, str] = {}
    seen: set[int] = set()
    for item in items:
        function = getattr(item, "function", None)
        if function is not None:
            if id(function) in seen:  # parametrized copies of one test: checked once
                continue
            seen.add(id(function))
        ctrl = control_of(item)
        if ctrl is None:
            continue
        fn = getattr(item, "originalname", item.name)
        owner = f"{item.location[0]}::{fn}"
        known = owners.setdefault(ctrl.id, owner)
        if known != owner:
            raise pytest.UsageError(f"control id {ctrl.id!r} is used by both {known} and {owner}: "
                                    "give each control its own id")


def adjust_item(item: pytest.Item, original: Control, adjusted: Control | None, key: Any) -> None:
    """Give ``item`` an adjusted control: stash it, and swap its severity marker."""
    if adjusted is None or adjusted == original:
        return
    if not isinstance(adjusted, Control):
        raise pytest.UsageError(f"pytest_k8shardening_adjust_control returned {adjusted!r} for {original.id}, "
                                "not a Control (use dataclasses.replace(control, ...))")
    if adjusted.severity not in SEVERITIES:
        raise pytest.UsageError(f"pytest_k8shardening_adjust_control: control {original.id}: severity "
                                f"{adjusted.severity!r} is not one of {', '.join(SEVERITIES)}")
    item.stash[key] = adjusted
    if adjusted.severity != original.severity:
        item.own_markers[:] = [m for m in item.own_markers if m.name != original.severity]
        item.add_marker(adjusted.severity)


class NonCompliant(pytest.fail.Exception):  # type: ignore[name-defined]
    """Raised by :func:`assert_compliant`; carries the findings.

    A ``pytest.fail`` outcome without a Python traceback: a finding is not a
    bug in the test, and rendering tracebacks (which parses the test's
    source) would cost more than running the check.
    """

    def __init__(self, findings: Sequence[Finding]) -> None:
        self.findings = list(findings)
        super().__init__("\n".join(f.message for f in self.findings), pytrace=False)

    def __str__(self) -> str:
        return self.msg or ""


def assert_compliant(result: CheckResult | Iterable[Finding]) -> None:
    """Fail the test with the findings, skip it when the check does not apply.

    ``result`` is what a check returns: a list of :class:`Finding` (empty is
    compliant), :class:`NotApplicable` or :class:`Undetermined`.
    """
    __tracebackhide__ = True
    if isinstance(result, NotApplicable):
        pytest.skip(f"not applicable: {result.reason}")
    if isinstance(result, Undetermined):
        pytest.skip(f"cannot evaluate: {result.reason}")
    findings = list(result)
    if findings:
        raise NonCompliant(findings)
