"""Worker side: turn each test report of a compliance item into a :class:`~.record.Result`.

Runs where the test runs (the only process, or an xdist worker). For each
phase report (setup, call, teardown) :func:`annotate` writes the finding's
failure text (no Python traceback), applies waivers, and folds the phase
into the item's record; the record, or for a grouped item its
:class:`~.record.Batch`, is the one attribute (``report.k8s_result``) that
crosses to where reports are gathered (:mod:`.collector`).

It rides on the teardown report (the last; what the collector reads), on
any report that did not pass (its message and findings; the ``E`` status of
a crashed control), and on every report when pytest-html is active (it
reads the call report).
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable, Generator
from typing import Any

import pytest

from .controls import Control, NonCompliant
from .grouping import SUBRESULTS, GroupFailed, error_message, is_finding, render_group_failure
from .loader import subject_line
from .params import subject_of
from .record import MAX_MESSAGE, WIRE_ATTR, Batch, ControlFields, Result, WaiverHit, finding_references, \
    next_outcome, references_text
from .waivers import Waiver
from .waivers import match as match_waiver

__all__ = ["ADJUSTED", "ANNOTATOR", "Annotator", "annotate", "compact_finding", "control_of", "crash_message",
           "failure_repr", "group_batch", "group_crash_message", "item_info", "result_of",
           "waiver_hit", "waiver_matcher"]

#: A control changed by the pytest_k8shardening_adjust_control hook.
ADJUSTED = pytest.StashKey[Control]()
#: The registered :class:`Annotator` (looked up once per report, so kept in the stash).
ANNOTATOR = pytest.StashKey["Annotator"]()
#: The result the item's phases have given so far (dropped at teardown).
_PARTIAL = pytest.StashKey[Result]()
#: A grouped item's records, between its call and its teardown.
_BATCH = pytest.StashKey[Batch]()
_CONTROLS: dict[str, tuple[dict[str, Any], ControlFields]] = {}  # per control object (adjusted ones differ)


def control_of(item: pytest.Item) -> Control | None:
    """The control an item implements (as adjusted by the hook), or None for another test."""
    adjusted = item.stash.get(ADJUSTED, None)
    if adjusted is not None:
        return adjusted
    ctrl = getattr(getattr(item, "function", None), "_k8s_control", None)
    if isinstance(ctrl, Control):
        return ctrl
    mark = item.get_closest_marker("k8s_control")
    if mark is None or not mark.args or not isinstance(mark.args[0], Control):
        return None
    return mark.args[0]


def _control(ctrl: Control) -> tuple[dict[str, Any], ControlFields]:
    key = f"{ctrl.id}\0{id(ctrl)}"
    found = _CONTROLS.get(key)
    if found is None:
        d = ctrl.as_dict()
        found = _CONTROLS[key] = (d, ControlFields.from_dict(d))
    return found


_INFO = pytest.StashKey["dict[str, Any] | None"]()


def item_info(item: pytest.Item) -> dict[str, Any] | None:
    """The control (:meth:`Control.as_dict`, and as record fields) and resource an item checks, once per item."""
    try:
        return item.stash[_INFO]
    except KeyError:
        pass
    ctrl = control_of(item)
    subject = subject_of(item)
    info = None
    if ctrl is not None or subject is not None:
        d, fields = _control(ctrl) if ctrl is not None else (None, ControlFields())
        info = {"control": d, "fields": fields, "resource": subject.resource() if subject is not None else None}
    item.stash[_INFO] = info
    return info


def labels_of(item: pytest.Item) -> dict[str, str]:
    subject = subject_of(item)
    obj = getattr(subject, "obj", None) or getattr(getattr(subject, "workload", None), "obj", None) or subject
    labels = getattr(obj, "labels", None)
    return labels if isinstance(labels, dict) else {}


def render_failure(item: pytest.Item, exc: NonCompliant) -> str:
    """The finding as a person reads it: control, object, fields, fix."""
    ctrl = control_of(item)
    subject = subject_of(item)
    lines = []
    src = None
    if ctrl is not None:
        lines.append(f"{ctrl.id} [{ctrl.severity}] {ctrl.title}")
    if subject is not None:
        where = ""
        src = getattr(subject, "source", None) or getattr(getattr(subject, "obj", None), "source", None) \
            or getattr(getattr(getattr(subject, "workload", None), "obj", None), "source", None)
        if src is not None and src.file is not None:
            where = f"  ({src.describe()})"
        lines.append(f"{subject.describe()}{where}")
    file = src.file if src is not None else None
    for f in exc.findings:  # each finding at its field's line, as file:line
        line = subject_line(subject, f.field) if file is not None else None
        lines.append(f"  - {f.message}  ({file}:{line})" if line else f"  - {f.message}")
    if ctrl is not None:
        lines.append(f"How to fix: {ctrl.remediation}")
    return "\n".join(lines)


def waiver_hit(waivers: list[Waiver], control: str, resource: dict[str, Any], labels: dict[str, str],
               today: _dt.date) -> WaiverHit | None:
    """The waiver covering a failed finding, and what the reports say about it (the one place that text is made)."""
    w = match_waiver(waivers, control, resource, labels)
    if w is None:
        return None
    if w.expired(today):
        return WaiverHit(w.index, True, f"waiver expired: {w.describe()} expired on {w.expires} "
                                        f"(owner {w.owner}): {w.reason}")
    return WaiverHit(w.index, False, f"waived by {w.describe()}: {w.reason} (owner {w.owner}, expires {w.expires})")


def waiver_matcher(waivers: list[Waiver], today: _dt.date | None = None
                   ) -> Callable[[str, dict[str, Any], dict[str, str]], WaiverHit | None]:
    """For grouped items: :func:`waiver_hit` for one object."""
    day = today or _dt.date.today()
    return lambda control, resource, labels: waiver_hit(waivers, control, resource, labels, day)


#: The pod template's path, up to the container (``spec.template.spec.containers[0].``): the node id already
#: names the object and container, so the crash line keeps the field's own part.
_POD_PATH = re.compile(r"(?<![\w.\]])spec\.(?:jobTemplate\.spec\.)?(?:template\.spec\.)?"
                       r"(?:(?:initContainers|containers|ephemeralContainers)\[\d+\]\.)?(?=\w)")
_CRASH_FINDING = 160  # longest finding text in a crash line (pytest does not cut it on CI)


def compact_finding(message: str) -> str:
    """A finding's first line for a one-line summary: without the pod template's path, at most 160 characters."""
    text = _POD_PATH.sub("", message.partition("\n")[0].strip())
    return text if len(text) <= _CRASH_FINDING else text[:_CRASH_FINDING - 3].rstrip() + "..."


def crash_message(ctrl: dict[str, Any] | None, first: str, more: int = 0, *, lead: str = "",
                  finding: bool = True) -> str:
    """The failure's one line: after ``FAILED <node id> -`` (cut to the terminal's width), in ``--tb=line``,
    in JUnit's ``message``. Most telling first, so a cut line still says it: the severity, then the first
    finding (its field path shortened: the node id names the object; an error's text is kept as it is),
    then the control."""
    sev = f"[{ctrl['severity']}] " if ctrl and ctrl.get("severity") else ""
    rest = f"; and {more} more" if more > 0 else ""
    tail = f" ({ctrl['control']})" if ctrl and ctrl.get("control") else ""
    text = compact_finding(first) if finding else first.partition("\n")[0].strip()[:_CRASH_FINDING]
    return f"{sev}{lead}{text}{rest}{tail}"


def group_crash_message(ctrl: dict[str, Any] | None, exc: GroupFailed) -> str:
    """A grouped item's one line: how many of its objects failed (errored), the first and its first finding."""
    bad = [r for r in exc.results if r["outcome"] in ("failed", "error")]
    if not bad:
        return crash_message(ctrl, str(exc))
    total = len(exc.results)
    failed = sum(r["outcome"] == "failed" for r in bad)
    counts = ", ".join(part for part in (f"{failed}/{total} failed" if failed else "",
                                         f"{len(bad) - failed}/{total} errored" if len(bad) > failed else "") if part)
    findings = bad[0].get("findings") or []
    first = findings[0]["message"] if findings else bad[0].get("message") or ""
    return crash_message(ctrl, first, lead=f"{counts}: {bad[0]['id']}: ", finding=bool(findings))


try:
    from _pytest._code.code import ExceptionChainRepr, ReprEntry, ReprFileLocation, ReprTraceback
except ImportError:  # pragma: no cover - a future pytest
    ExceptionChainRepr = None  # type: ignore[assignment,misc]
else:
    class FindingRepr(ExceptionChainRepr):
        """pytest's representation of ``pytest.fail(text, pytrace=False)``, with a quick ``str()``.

        JUnit XML (and pytest-html) call ``str()`` on every failure; pytest's
        own renders the lines through a new TerminalWriter each time.
        """

        def __str__(self) -> str:
            chain = self.chain
            if len(chain) == 1 and chain[0][2] is None and not self.sections:
                tb = chain[0][0]
                entries = tb.reprentries
                if len(entries) == 1 and not tb.extraline and type(entries[0]) is ReprEntry:
                    entry = entries[0]
                    if entry.style == "value" and not (entry.reprfuncargs or entry.reprlocals or entry.reprfileloc):
                        return "\n".join(entry.lines).strip()  # what the TerminalWriter would write
            return super().__str__()


def failure_repr(item: pytest.Item, text: str, crash: str) -> Any:
    """A finding's failure as pytest shows it: ``text`` without a Python traceback.

    Built like pytest's own representation of ``pytest.fail(msg, pytrace=False)``
    (one entry of style "value", and a crash location), so ``-rf`` and
    ``--tb=line`` show the control and the first finding, and xdist carries it
    across processes. Falls back to plain text if pytest's internals move.
    """
    if ExceptionChainRepr is None:  # pragma: no cover - a future pytest
        return text
    # The node id's file part: short and stable for the built-in suites, wherever they are installed.
    path, lineno = item.nodeid.partition("::")[0], item.location[1]
    entry = ReprEntry(text.split("\n"), None, None, None, "value")
    return FindingRepr([(ReprTraceback([entry], None, "value"),
                         ReprFileLocation(path, (lineno or 0) + 1, crash), None)])


def group_batch(nodeid: str, fields: ControlFields, subresults: list[dict[str, Any]],
                resolve: Callable[[str], dict[str, Any]]) -> Batch:
    """A grouped item's records, one per object of :func:`~.grouping.run_group`'s outcomes (a passing
    object travels as its id: ``resolve`` gives its resource block)."""
    refs = fields.references
    records = []
    for sub in subresults:
        hit: WaiverHit | None = sub.get("waiver")
        resource = sub.get("resource")
        records.append(Result(f"{nodeid}::{sub['id']}", fields, resource if resource is not None
                              else resolve(sub["id"]), sub["outcome"], sub.get("message"),
                              finding_references(sub.get("findings", []), refs),
                              hit.text if hit is not None and not hit.expired else None, hit))  # as annotate's
    return Batch.of(fields, records)


def annotate(item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport,
             waivers: list[Waiver] | None = None, today: _dt.date | None = None, *,
             every_phase: bool = False, resolve: Callable[[str], dict[str, Any]] | None = None,
             encode: bool = False) -> None:
    """Write a compliance item's failure text, apply waivers, and fold ``report`` into its record.

    ``resolve`` gives a grouped item's passing objects their resource block;
    ``encode`` sends a grouped item's records as JSON text (xdist workers).
    """
    info = item_info(item)
    if info is None:
        return
    message: str | None = None
    findings: list[dict[str, Any]] | None = None
    error = False
    hit: WaiverHit | None = None
    exc = call.excinfo.value if call.excinfo is not None and not report.passed else None
    if exc is None:
        pass
    elif isinstance(exc, GroupFailed):
        error = bool(exc.errors)
        ctrl = info["control"] or {}
        header = [f"{ctrl['control']} [{ctrl['severity']}] {ctrl['title']}"] if ctrl else []
        report.longrepr = failure_repr(item, render_group_failure(header, exc, ctrl.get("remediation")),
                                       group_crash_message(ctrl, exc))
        message = str(exc)
    elif isinstance(exc, NonCompliant):
        text = render_failure(item, exc)
        findings = finding_references([f.as_dict(subject_line(subject_of(item), f.field)) for f in exc.findings],
                                      info["fields"].references)
        message = str(exc)
        if waivers and info["control"] and report.when == "call":
            hit = waiver_hit(waivers, info["control"]["control"], info["resource"], labels_of(item),
                             today or _dt.date.today())
            if hit is not None and hit.expired:
                text += "\nW" + hit.text[1:]  # the failure text says it as a sentence
            elif hit is not None:
                report.outcome = "skipped"
                report.wasxfail = hit.text
        first = exc.findings[0].message if exc.findings else str(exc)
        report.longrepr = failure_repr(item, text, crash_message(info["control"], first, len(exc.findings) - 1))
    elif report.skipped:
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
        message = reason.removeprefix("Skipped: ")
    elif report.when != "call" or not is_finding(exc):
        # A crash inside a control (a TypeError on an odd value, say): an error, never a finding.
        # (pytest itself makes a failing setup or teardown an error.)
        error = report.when == "call"
        message = error_message(exc)
    else:
        message = call.excinfo.exconly()[:MAX_MESSAGE] if call.excinfo is not None else None

    prev = item.stash.get(_PARTIAL, None)
    if prev is None:
        prev = Result(item.nodeid, info["fields"], info["resource"])
    if report.passed and report.when != "call":  # a passing setup or teardown changes nothing
        _finish(item, report, prev, every_phase)
        return
    waived = hit is not None and not hit.expired
    outcome = next_outcome(prev.outcome, report.when, report.outcome, error=error, waived=waived)
    if report.when == "call" and report.skipped and not waived and hasattr(report, "wasxfail") and not message:
        message = f"xfail: {report.wasxfail}"
    rec = Result(prev.nodeid, prev.control, prev.resource, outcome, prev.message or message or None,
                 findings or prev.findings, hit.text if hit is not None and waived else prev.waiver,
                 hit or prev.waiver_hit)
    if report.when == "call":
        sub = item.stash.get(SUBRESULTS, None)
        if sub is not None:
            del item.stash[SUBRESULTS]
            batch = group_batch(item.nodeid, info["fields"], sub, resolve or (lambda ident: {"id": ident}))
            item.stash[_BATCH] = batch.encoded() if encode else batch
    _finish(item, report, rec, every_phase)


def _finish(item: pytest.Item, report: pytest.TestReport, rec: Result, every_phase: bool) -> None:
    """Keep the item's record for its next phase, or at teardown hand it (or the item's batch) over."""
    if report.when == "teardown":
        if _PARTIAL in item.stash:
            del item.stash[_PARTIAL]
        grouped = item.stash.get(_BATCH, None)
        if grouped is not None:
            del item.stash[_BATCH]
            _attach(report, Batch(grouped.control, grouped.tally, grouped.used_waivers, grouped.expired_waivers,
                                  grouped.records, grouped.text, rec))
            return
    else:
        item.stash[_PARTIAL] = rec
    if every_phase or report.when == "teardown" or not report.passed:
        _attach(report, rec)


def _attach(report: pytest.TestReport, rec: Result | Batch) -> None:
    vars(report)[WIRE_ATTR] = rec  # the one attribute that crosses to the controller


def result_of(report: Any) -> Result | None:
    """The item's own record on ``report`` (a grouped item's, for a batch), or None."""
    rec = getattr(report, WIRE_ATTR, None)
    if isinstance(rec, Batch):
        return rec.item
    return rec if isinstance(rec, Result) else None


def is_error(report: Any) -> bool:
    """A call that crashed inside a control: an error (``E``), not a failed finding."""
    if report.when != "call" or not report.failed:
        return False
    rec = result_of(report)
    return rec is not None and rec.outcome == "error"


class Annotator:
    """The worker-side hooks: records on reports, JUnit properties, pytest-html extras, the ``E`` status."""

    def __init__(self, waivers: list[Waiver], html: bool, resolve: Callable[[str], dict[str, Any]],
                 encode: bool) -> None:
        """``html``: pytest-html is active; ``resolve``: an object id's resource block; ``encode``: send
        grouped records as JSON text (xdist workers, speedups.py)."""
        self.waivers = waivers
        self.html = html
        self.encode = encode
        self._resolve = resolve
        self._resources: dict[str, dict[str, Any]] = {}  # a grouped object's resource block, by id

    def resource(self, ident: str) -> dict[str, Any]:
        """A passing grouped object's resource block: the same for every control, so looked up once."""
        res = self._resources.get(ident)
        if res is None:
            res = self._resources[ident] = self._resolve(ident)
        return res

    def on_report(self, item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport) -> None:
        """After pytest's makereport and the wrappers registered before ours (plugin.py's wrapper calls it:
        allure-pytest's, registered later, reads the failure text written here)."""
        info = item_info(item)
        if info is None:
            return
        annotate(item, call, report, self.waivers, every_phase=self.html, resolve=self.resource,
                 encode=self.encode)
        if report.when == "call":
            # JUnit: one property per finding, in the findings' order (pytest writes the teardown report's
            # properties, which are copied from the item's).
            rec = result_of(report)
            for finding in rec.findings if rec is not None else ():
                item.user_properties.append(("k8s_finding_references", references_text(finding["references"])))
        if self.html and report.when in ("setup", "call"):
            from .reporting.html import add_extras

            ctrl = control_of(item)
            add_extras(report, info, ctrl.rationale if ctrl else None)
        if report.when == "teardown":
            props = report.user_properties
            if info["control"]:
                props.append(("k8s_control", info["control"]["control"]))
                props.append(("k8s_severity", info["control"]["severity"]))
            subject = subject_of(item)
            if subject is not None:
                props.append(("k8s_resource", subject.id))

    @pytest.hookimpl(tryfirst=True)
    def pytest_report_teststatus(self, report: Any, config: pytest.Config) -> tuple[str, str, Any] | None:
        """A crash inside a control is an error (``E``, counted with pytest's errors), not a failure."""
        if is_error(report):
            return "error", "E", ("ERROR", {"red": True})
        return None

    @pytest.hookimpl(wrapper=True)
    def pytest_report_to_serializable(self, config: pytest.Config, report: Any) -> Generator[None, Any, Any]:
        """pytest's own (JSON) form of a report: the record as JSON (:mod:`.speedups` pickles it whole)."""
        data = yield
        rec = data.get(WIRE_ATTR) if isinstance(data, dict) else None
        if isinstance(rec, (Result, Batch)):
            data[WIRE_ATTR] = rec.to_wire()
        return data

    @pytest.hookimpl(wrapper=True)
    def pytest_report_from_serializable(self, config: pytest.Config, data: Any) -> Generator[None, Any, Any]:
        report = yield
        rec = getattr(report, WIRE_ATTR, None)
        if isinstance(rec, dict):
            _attach(report, Batch.from_wire(rec) if "batch" in rec else Result.from_wire(rec))
        return report
