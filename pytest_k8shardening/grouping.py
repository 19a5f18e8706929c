"""Grouped mode for very large clusters: fewer test items, the same per-resource findings.

pytest spends about a millisecond on every test item, so a cluster with
10,000 workloads (300,000+ items) is dominated by pytest's own bookkeeping.
With ``--k8s-group-by control`` each control becomes one item (``namespace``:
one per control and namespace) that runs the same test body once per
object. Every object still gets its own outcome, message, findings and
waiver in the JSON results and SARIF, and the item's failure text lists the
failing objects; what is lost is per-object selection with ``-k`` and one
JUnit/HTML row per object.

The default, ``auto``, keeps one item per object for inputs up to
:data:`AUTO_THRESHOLD` workloads in scope (ids stay readable, ``-k`` selects
objects) and groups by control above it, where pytest's own ~0.7 ms per item
makes a per-object run several times slower than the checks themselves
(measured in bench/results.md; README "Large clusters").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from .controls import NonCompliant
from .loader import subject_line
from .model import Container, Inventory, Namespace
from .params import derive
from .record import MAX_MESSAGE as _MAX_MESSAGE
from .record import WaiverHit, resource_block

__all__ = ["AUTO_THRESHOLD", "SUBRESULTS", "Group", "GroupFailed", "Grouping", "choose_grouping",
           "group_values", "render_group_failure", "run_group"]

#: ``auto`` groups by control above this many workloads in scope. Per object, the NSA suite makes
#: about 33 items per workload at ~0.75 ms each: a per-object run grows by ~25 ms per workload, a
#: run grouped by control by well under 1 ms. Up to here a per-object run stays under about 10 s
#: on the benchmark machine (2 cores) and within about twice Checkov's time; above it the items cost
#: more than readable per-object ids give (bench/results.md: cases ours, ours-group-control, checkov
#: at 100, 250 and 500 workloads; README "Large clusters").
AUTO_THRESHOLD = 300
_MAX_LISTED = 50

#: Per-object outcomes of a grouped item, stashed by :func:`run_group`; the worker-side annotation
#: (annotate.py) turns them into the item's records.
SUBRESULTS = pytest.StashKey["list[dict[str, Any]]"]()


@dataclass(frozen=True)
class Grouping:
    """The grouping mode a run uses, and why (shown in the header and the summary)."""

    mode: str  # resource, namespace or control: what the items are
    requested: str  # auto, or the mode asked for with --k8s-group-by / k8s_group_by
    workloads: int | None = None  # counted for auto
    threshold: int | None = None  # auto's threshold

    @property
    def reason(self) -> str:
        what = "one test per object" if self.mode == "resource" else f"grouped by {self.mode}"
        if self.requested != "auto":
            return f"{what}: --k8s-group-by {self.requested} (or k8s_group_by) was given"
        n = f"{self.workloads:,} workload{'s' if self.workloads != 1 else ''}"
        if self.mode == "resource":
            return f"{what}: {n} is not above {self.threshold:,} (above it, tests are grouped by control)"
        return f"{what}: {n} is above {self.threshold:,}; pass --k8s-group-by resource for one test per object"

    def as_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "requested": self.requested, "workloads": self.workloads,
                "threshold": self.threshold, "reason": self.reason}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Grouping:
        return cls(data["mode"], data["requested"], data.get("workloads"), data.get("threshold"))


def choose_grouping(requested: str, workloads: int, threshold: int = AUTO_THRESHOLD) -> Grouping:
    """The mode for ``requested`` (auto or an explicit mode) and ``workloads`` in scope."""
    if requested != "auto":
        return Grouping(requested, requested)
    return Grouping("control" if workloads > threshold else "resource", "auto", workloads, threshold)


@dataclass
class Group:
    """The objects one grouped item checks."""

    id: str
    subjects: Sequence[Any]
    target: str
    namespace: str | None = None

    def resource(self) -> dict[str, Any]:
        return resource_block(None, None, self.namespace, None, None, None, group=self.id,
                              objects=len(self.subjects))

    def describe(self) -> str:
        where = f" in namespace {self.namespace}" if self.namespace else ""
        return f"{len(self.subjects)} {self.target.removeprefix('k8s_')}s{where}"

    @property
    def workload(self) -> Group:  # derived fixtures pass the group through
        return self

    @property
    def obj(self) -> Group:
        return self


def group_values(values: Sequence[Any], target: str, group_by: str) -> list[Group]:
    """Split parametrization values into groups (all at once, or by namespace)."""
    if group_by == "control":
        return [Group("all", list(values), target)]
    by_ns: dict[str, list[Any]] = {}
    for v in values:
        ns = _namespace(v) or "_cluster"
        by_ns.setdefault(ns, []).append(v)
    return [Group(ns, subjects, target, None if ns == "_cluster" else ns) for ns, subjects in by_ns.items()]


def _namespace(v: Any) -> str | None:
    if isinstance(v, Container):
        return v.workload.namespace
    if isinstance(v, Namespace):
        return v.name
    return getattr(v, "namespace", None)


class GroupFailed(pytest.fail.Exception):  # type: ignore[name-defined]
    """Some objects of a grouped item failed; carries the per-object results."""

    def __init__(self, results: list[dict[str, Any]]) -> None:
        self.results = results
        failed = sum(r["outcome"] == "failed" for r in results)
        errors = sum(r["outcome"] == "error" for r in results)
        self.errors = errors  # crashes: the item is an error, not a failure
        text = f"{failed} of {len(results)} objects failed" if failed or not errors else ""
        text += f"{', ' if text else ''}{errors} of {len(results)} objects errored" if errors else ""
        super().__init__(text, pytrace=False)

    def __str__(self) -> str:
        return self.msg or ""


def _labels(subject: Any) -> dict[str, str]:
    obj = subject.workload.obj if isinstance(subject, Container) else getattr(subject, "obj", subject)
    labels = getattr(obj, "labels", None)
    return labels if isinstance(labels, dict) else {}


def run_group(item: pytest.Function, group: Group, inventory: Inventory | None, control_id: str | None,
              match_waiver: Callable[[str, dict[str, Any], dict[str, str]], WaiverHit | None]) -> None:
    """Run the test body once per object of ``group``; raise :class:`GroupFailed` if any failed."""
    __tracebackhide__ = True
    argnames = item._fixtureinfo.argnames
    funcargs = {name: item.funcargs[name] for name in argnames}
    derived = [n for n in ("k8s_container", "k8s_workload", "k8s_object", "k8s_namespace") if n in funcargs]
    results: list[dict[str, Any]] = []
    for subject in group.subjects:
        kwargs = dict(funcargs)
        for name in derived:
            kwargs[name] = subject if name == group.target else derive(name, subject, inventory)
        # A passing object travels as its id alone (the collector resolves it against the
        # inventory): under xdist every result crosses a process boundary.
        entry: dict[str, Any] = {"id": subject.id, "outcome": "passed"}
        try:
            item.obj(**kwargs)
        except NonCompliant as exc:
            entry.update(outcome="failed", message=str(exc), resource=subject.resource(),
                         findings=[f.as_dict(subject_line(subject, f.field)) for f in exc.findings])
            waiver = match_waiver(control_id, entry["resource"], _labels(subject)) if control_id else None
            if waiver is not None:
                entry["waiver"] = waiver
                if not waiver.expired:
                    entry["outcome"] = "waived"
        except pytest.skip.Exception as exc:
            entry.update(outcome="skipped", message=str(exc.msg), resource=subject.resource())
        except pytest.xfail.Exception as exc:
            entry.update(outcome="skipped", message=f"xfail: {exc.msg}", resource=subject.resource())
        except (AssertionError, pytest.fail.Exception) as exc:  # the test's own verdict: a finding
            entry.update(outcome="failed", message=verdict_message(exc), findings=[], resource=subject.resource())
        except Exception as exc:  # noqa: BLE001 - a crash, not a finding: an error for this object alone
            entry.update(outcome="error", message=error_message(exc), findings=[], resource=subject.resource())
        results.append(entry)
    item.stash[SUBRESULTS] = results
    if any(r["outcome"] in ("failed", "error") for r in results):
        raise GroupFailed(results)
    if results and all(r["outcome"] == "skipped" for r in results):
        pytest.skip(results[0]["message"] or "skipped")


def error_message(exc: BaseException) -> str:
    """A crash in one line: the exception's type and the first line of its message."""
    text = str(exc).strip().partition("\n")[0]
    return f"{type(exc).__name__}: {text}"[:_MAX_MESSAGE] if text else type(exc).__name__


def verdict_message(exc: BaseException) -> str:
    """What a failing ``assert`` or ``pytest.fail`` in a custom control says."""
    text = str(getattr(exc, "msg", None) or exc).strip()
    return (text or f"{type(exc).__name__} (no message)")[:_MAX_MESSAGE]


def is_finding(exc: BaseException) -> bool:
    """Is this exception a test's verdict (a finding) rather than a crash?

    :func:`~pytest_k8shardening.assert_compliant`, ``pytest.fail`` and a plain
    ``assert`` say what is wrong with the object; anything else (a TypeError
    on an odd value, say) is a bug or a surprise: an error, never a finding.
    """
    return isinstance(exc, (AssertionError, pytest.fail.Exception))


def render_group_failure(header: list[str], exc: GroupFailed, remediation: str | None) -> str:
    lines = list(header)
    bad = [r for r in exc.results if r["outcome"] in ("failed", "error")]
    lines.append(f"{len(bad)} of {len(exc.results)} objects fail:")
    for r in bad[:_MAX_LISTED]:
        res = r.get("resource") or {}
        where = f"  ({res['file']}:{res['line']})" if res.get("file") else ""
        lines.append(f"{r['id']}{where}")
        if r.get("findings"):
            lines.extend(f"  - {f['message']}  ({res['file']}:{f['line']})" if res.get("file") and f.get("line")
                         else f"  - {f['message']}" for f in r["findings"])
        else:
            lines.append(f"  - {r['message']}")
    if len(bad) > _MAX_LISTED:
        lines.append(f"... and {len(bad) - _MAX_LISTED} more (all are in the JSON and SARIF reports)")
    if remediation:
        lines.append(f"How to fix: {remediation}")
    return "\n".join(lines)

