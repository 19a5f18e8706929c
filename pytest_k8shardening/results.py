"""Results: what each compliance item found, gathered where reports arrive.

On the process that runs a test (the only one, or an xdist worker),
:func:`annotate` puts the control, the resource and the finding onto the
test report as plain JSON-able attributes, so they survive xdist's report
serialization. On the process that receives reports (the only one, or the
xdist controller), :class:`ResultsCollector` folds the setup/call/teardown
reports of each item into one entry, writes the JSON results and prints
the terminal summary.
"""

from __future__ import annotations

import datetime as _dt
import json
import pickle
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .checks import REFERENCE_KEYS
from .controls import SEVERITIES, Control, NonCompliant
from .grouping import GroupFailed, error_message, is_finding, render_group_failure
from .waivers import Waiver
from .waivers import match as match_waiver
from .params import subject_of
from .loader import subject_line

__all__ = ["SCHEMA", "FindingReports", "ResultsCollector", "annotate", "control_of", "failure_repr"]

SCHEMA = "k8shardening.results/v1"
_PRETTY_LIMIT = 2000  # results above which the JSON files are written compact
_HINT_FAILURES = 2000  # failed findings above which the summary suggests --tb=line or grouping
_MAX_MESSAGE = 4000
_CONTROL_DICTS: dict[str, dict[str, Any]] = {}  # per control object (adjusted ones differ)


#: A usage error found after the start (a live cluster failing mid-run, seen by an xdist worker).
USAGE_ERROR_KEY = pytest.StashKey[str]()

#: A control changed by the pytest_k8shardening_adjust_control hook.
ADJUSTED = pytest.StashKey[Control]()


def control_of(item: pytest.Item) -> Control | None:
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


def _control_dict(ctrl: Control) -> dict[str, Any]:
    key = f"{ctrl.id}\0{id(ctrl)}"
    d = _CONTROL_DICTS.get(key)
    if d is None:
        d = _CONTROL_DICTS[key] = ctrl.as_dict()
    return d


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


_INFO = pytest.StashKey["dict[str, Any] | None"]()


def item_info(item: pytest.Item) -> dict[str, Any] | None:
    """The control and resource an item checks, computed once per item."""
    try:
        return item.stash[_INFO]
    except KeyError:
        pass
    ctrl = control_of(item)
    subject = subject_of(item)
    info = None
    if ctrl is not None or subject is not None:
        info = {"control": _control_dict(ctrl) if ctrl is not None else None,
                "resource": subject.resource() if subject is not None else None}
    item.stash[_INFO] = info
    return info


def labels_of(item: pytest.Item) -> dict[str, str]:
    subject = subject_of(item)
    obj = getattr(subject, "obj", None) or getattr(getattr(subject, "workload", None), "obj", None) or subject
    labels = getattr(obj, "labels", None)
    return labels if isinstance(labels, dict) else {}


def annotate(item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport,
             waivers: list[Waiver] | None = None, today: _dt.date | None = None, *,
             every_phase: bool = False) -> None:
    """Attach the k8s data to ``report`` (runs where the test runs), and apply waivers.

    The control and resource ride on the teardown report only (the one the
    results collector and JUnit read), unless ``every_phase`` (pytest-html
    reads the call report): under xdist every report crosses a process boundary.
    """
    info = item_info(item)
    if info is None:
        return
    if every_phase or report.when == "teardown":
        report.k8s = info  # type: ignore[attr-defined]
    if report.when == "call":
        from .grouping import SUBRESULTS

        sub = item.stash.get(SUBRESULTS, None)
        if sub is not None:
            report.k8s_subresults = sub  # type: ignore[attr-defined]
    if call.excinfo is None or report.passed:
        return
    exc = call.excinfo.value
    if isinstance(exc, GroupFailed):
        if exc.errors:
            report.k8s_error = True  # type: ignore[attr-defined]
        ctrl = info["control"] or {}
        header = [f"{ctrl['control']} [{ctrl['severity']}] {ctrl['title']}"] if ctrl else []
        report.longrepr = failure_repr(item, render_group_failure(header, exc, ctrl.get("remediation")),
                                       _crash_message(ctrl, str(exc)))
        report.k8s_message = str(exc)  # type: ignore[attr-defined]
        return
    if isinstance(exc, NonCompliant):
        text = render_failure(item, exc)
        report.k8s_findings = finding_references(  # type: ignore[attr-defined]
            [f.as_dict(subject_line(subject_of(item), f.field)) for f in exc.findings],
            control_fields(info["control"] or {})[5])
        report.k8s_message = str(exc)  # type: ignore[attr-defined]
        if waivers and info["control"] and report.when == "call":
            text += _apply_waiver(report, info, labels_of(item), waivers, today or _dt.date.today())
        report.longrepr = failure_repr(item, text, _crash_message(info["control"], str(exc)))
    elif report.skipped:
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
        report.k8s_message = reason.removeprefix("Skipped: ")  # type: ignore[attr-defined]
    elif report.when != "call" or not is_finding(exc):
        # A crash inside a control (a TypeError on an odd value, say): an error, never a finding.
        # (pytest itself makes a failing setup or teardown an error.)
        if report.when == "call":
            report.k8s_error = True  # type: ignore[attr-defined]
        report.k8s_message = error_message(exc)  # type: ignore[attr-defined]
    else:
        report.k8s_message = call.excinfo.exconly()[:_MAX_MESSAGE]  # type: ignore[attr-defined]


def waiver_matcher(waivers: list[Waiver], today: _dt.date | None = None
                   ) -> Callable[[str, dict[str, Any], dict[str, str]], dict[str, Any] | None]:
    """For grouped items: the waiver covering one object, as a small JSON-able dict."""
    day = today or _dt.date.today()

    def find(control: str, resource: dict[str, Any], labels: dict[str, str]) -> dict[str, Any] | None:
        w = match_waiver(waivers, control, resource, labels)
        if w is None:
            return None
        expired = w.expired(day)
        text = (f"waiver expired: {w.describe()} expired on {w.expires} (owner {w.owner}): {w.reason}" if expired
                else f"waived by {w.describe()}: {w.reason} (owner {w.owner}, expires {w.expires})")
        return {"index": w.index, "expired": expired, "text": text}

    return find


def _apply_waiver(report: pytest.TestReport, info: dict[str, Any], labels: dict[str, str],
                  waivers: list[Waiver], today: _dt.date) -> str:
    """Waive a failed report (it becomes skipped/xfail); return text to add to a failure."""
    waiver = match_waiver(waivers, info["control"]["control"], info["resource"], labels)
    if waiver is None:
        return ""
    if waiver.expired(today):
        report.k8s_waiver_expired = waiver.index  # type: ignore[attr-defined]
        return f"\nWaiver expired: {waiver.describe()} expired on {waiver.expires} (owner {waiver.owner}): " \
               f"{waiver.reason}"
    report.outcome = "skipped"
    report.wasxfail = (f"waived by {waiver.describe()}: {waiver.reason} "
                       f"(owner {waiver.owner}, expires {waiver.expires})")
    report.k8s_waiver = waiver.index  # type: ignore[attr-defined]
    return ""


def _crash_message(ctrl: dict[str, Any] | None, message: str) -> str:
    first = message.partition("\n")[0]
    return f"{ctrl['control']}: {first}" if ctrl else first


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


_PACKED = "k8shardening_packed"


class FindingReports:
    """Reports of failed findings, made without Python tracebacks.

    pytest formats a traceback for every failure when it makes the report
    (about a millisecond each, filtering frames), even for
    ``pytest.fail(pytrace=False)`` and whatever ``--tb`` says. A finding is
    not a crash and its text replaces that traceback anyway, so the report of
    a call that raised :class:`NonCompliant` (or a grouped item's
    :class:`GroupFailed`) is made here directly; any other
    failure keeps pytest's own report. The wrappers of other plugins (xfail,
    pytest-html, ours) still see and may change the report.
    """

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport | None:
        if call.when != "call" or call.excinfo is None \
                or not isinstance(call.excinfo.value, (NonCompliant, GroupFailed)):
            return None
        sections = [(f"Captured {key} {rwhen}", content) for rwhen, key, content in item._report_sections]
        return pytest.TestReport(item.nodeid, item.location, dict.fromkeys(item.keywords, 1), "failed",
                                 str(call.excinfo.value), "call", sections, call.duration, call.start, call.stop,
                                 user_properties=item.user_properties)

    @pytest.hookimpl(tryfirst=True)
    def pytest_report_to_serializable(self, config: pytest.Config, report: Any) -> dict[str, Any] | None:
        """xdist: a test report crosses from a worker to the controller as one pickle.

        pytest's own form rebuilds the failure representation as nested dicts
        (dataclasses.asdict, in Python) and the controller rebuilds the objects
        from them; execnet then serializes that nesting one object at a time,
        in pure Python, on both sides. A pickle of the report is made and read
        in C, and exact. Only on workers (the data goes to this run's own
        controller; elsewhere, e.g. pytest-reportlog, the form must stay
        JSON); a report that cannot be pickled (a plugin's attribute) takes
        pytest's path.
        """
        if type(report) is not pytest.TestReport or not hasattr(config, "workerinput"):
            return None
        try:
            blob = pickle.dumps(report, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 - any unpicklable attribute: pytest's own serialization
            return None
        return {"$report_type": "TestReport", _PACKED: blob}

    @pytest.hookimpl(tryfirst=True)
    def pytest_report_from_serializable(self, config: pytest.Config, data: Any) -> pytest.TestReport | None:
        packed = data.get(_PACKED) if isinstance(data, dict) else None
        if packed is None:
            return None
        report = pickle.loads(packed)  # noqa: S301 - made by this run's own worker
        if not isinstance(report, pytest.TestReport):
            return None
        for key, value in data.items():  # what xdist adds (worker_id, item_index, testrun_uid), as pytest does
            if key not in (_PACKED, "$report_type"):
                setattr(report, key, value)
        return report

    @pytest.hookimpl(tryfirst=True)
    def pytest_report_teststatus(self, report: Any, config: pytest.Config) -> tuple[str, str, Any] | None:
        """A crash inside a control is an error (``E``, counted with pytest's errors), not a failure."""
        if getattr(report, "k8s_error", False) and report.when == "call" and report.failed:
            return "error", "E", ("ERROR", {"red": True})
        return None

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> Any:
        """Keep pytest's failure sections linear in the number of tests.

        For each failure, pytest's terminal reporter scans every passing
        setup/teardown report (``stats[""]``) for captured teardown output:
        quadratic, minutes at 10,000 failures. Those without captured output
        show nothing, so they are dropped before the summary is written.
        """
        stats = getattr(terminalreporter, "stats", None)
        if isinstance(stats, dict) and len(stats.get("", ())) > 1000:
            stats[""] = [r for r in stats[""] if getattr(r, "sections", None)]
        return (yield)


class JunitErrors:
    """JUnit XML: a crash inside a control is an ``<error>``, not a ``<failure>``.

    pytest's JUnit writer makes every failed call a failure (errors are
    failures of setup and teardown). After it has handled a crashed call's
    report, the element it added is renamed and the suite's counts follow.
    Registered only with ``--junitxml``, where reports arrive.
    """

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> Any:
        result = yield
        if getattr(report, "k8s_error", False) and report.when == "call" and report.failed:
            self._to_error(report)
        return result

    def _to_error(self, report: pytest.TestReport) -> None:
        from _pytest.junitxml import xml_key

        xml = self.config.stash.get(xml_key, None)
        if xml is None:
            return
        try:  # the testcase the writer has just filled for this report
            reporter = xml.node_reporter(report)
        except (AttributeError, TypeError):  # pragma: no cover - pytest's internals moved
            return
        for node in reversed(getattr(reporter, "nodes", None) or ()):
            if node.tag == "failure":
                node.tag = "error"
                xml.stats["failure"] -= 1
                xml.stats["error"] += 1
                return


def control_fields(ctrl: dict[str, Any]) -> tuple[Any, ...]:
    """The control's fields of a result entry (computed once per item, not per object)."""
    references = ctrl.get("references", {"kubescape": [], "trivy": [], "cis": [], "pss": None})
    return (ctrl.get("control"), ctrl.get("title"), ctrl.get("severity"), ctrl.get("category"),
            ctrl.get("frameworks", []), references, ctrl.get("remediation"))


_OWN_KEYS = frozenset(REFERENCE_KEYS)


def finding_references(findings: list[dict[str, Any]], references: dict[str, Any]) -> list[dict[str, Any]]:
    """``findings`` with their references resolved: the finding's own ids, else the control's.

    Own ids replace the control's ``kubescape``, ``trivy`` and ``cis`` lists; the other keys (``pss``,
    ``not_counterparts``) are the control's. A finding without own ids shares the control's
    references, so every ``findings[].references`` is shaped like the result's ``references``.
    """
    out = []
    for f in findings:
        own = f.get("references")
        if own is None:
            f = {**f, "references": references}
        elif own.keys() == _OWN_KEYS:  # a finding's own ids, not yet resolved (resolving twice is a no-op)
            f = {**f, "references": {**references, **own}}
        out.append(f)
    return out


def references_text(references: dict[str, Any]) -> str:
    """A finding's upstream ids on one line: ``kubescape:C-0130 trivy:KCV-0019 cis:1.2.16`` (JUnit)."""
    return " ".join(f"{key}:{ref}" for key in REFERENCE_KEYS for ref in references.get(key) or ())


def make_entry(nodeid: str, fields: tuple[Any, ...], resource: dict[str, Any] | None, outcome: str,
               message: str | None, findings: list[dict[str, Any]], waiver: str | None) -> dict[str, Any]:
    """One result entry: the JSON results' schema."""
    control, title, severity, category, frameworks, references, remediation = fields
    findings = finding_references(findings, references)
    entry = {
        "nodeid": nodeid,
        "control": control,
        "title": title,
        "severity": severity,
        "category": category,
        "frameworks": frameworks,
        "references": references,
        "resource": resource,
        "outcome": outcome,
        "message": message,
        "findings": findings,
        "remediation": remediation,
    }
    if waiver:
        entry["waiver"] = waiver
    return entry


def group_entries(nodeid: str, fields: tuple[Any, ...], subresults: list[dict[str, Any]],
                  resource_of: Callable[[str], dict[str, Any]], *, own_resources: bool = False
                  ) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """A grouped item's entries, one per object it checked, each with its waiver (if any).

    A passing object travels as its id; ``resource_of`` gives its resource
    block (shared between entries unless ``own_resources``: a result hook may
    change an entry's resource).
    """
    out = []
    for sub in subresults:
        waiver = sub.get("waiver")
        resource = sub.get("resource")
        if resource is None:
            resource = resource_of(sub["id"])
            if own_resources:
                resource = dict(resource)
        out.append((make_entry(f"{nodeid}::{sub['id']}", fields, resource, sub["outcome"], sub.get("message"),
                               sub.get("findings", []), waiver["text"] if waiver else None), waiver))
    return out


_ENCODE = json.JSONEncoder(separators=(",", ":")).encode  # the JSON writer's compact form


@dataclass
class ResultBatch:
    """The result entries of one grouped item, built and JSON-encoded by the xdist worker that ran it.

    The xdist controller receives every report, serially, for all workers; a
    grouped item's entries (one per object) are most of what it would build
    and encode. A worker sends them as text instead, with the counts the
    summary, gates and terminal need; the JSON writer copies the text.
    """

    text: str  # the entries, compact JSON, comma-separated (a JSON array without its brackets)
    control: str | None
    severity: str | None
    category: str | None
    frameworks: list[str]
    tally: dict[tuple[str, str | None], int]  # (outcome, skip message or None) -> entries
    used_waivers: list[int]
    expired_waivers: list[int]

    @classmethod
    def encode(cls, nodeid: str, ctrl: dict[str, Any], subresults: list[dict[str, Any]],
               resource_of: Callable[[str], dict[str, Any]], resource_json: dict[str, str] | None = None
               ) -> ResultBatch:
        """The entries of :func:`group_entries`, as the compact JSON of each entry dict.

        Written piece by piece, byte for byte what encoding the dicts gives:
        the control's fields once per item, and a passing object's resource
        once per run (``resource_json``, by object id; it recurs in every
        control), instead of once per entry.
        """
        fields = control_fields(ctrl)
        control, title, severity, category, frameworks, references, remediation = fields
        enc = _ENCODE
        head = f'{{"nodeid":{enc(nodeid + "::")[:-1]}'
        middle = (f'","control":{enc(control)},"title":{enc(title)},"severity":{enc(severity)},'
                  f'"category":{enc(category)},"frameworks":{enc(frameworks)},"references":{enc(references)},'
                  f'"resource":')
        tail = f',"remediation":{enc(remediation)}'
        cache = {} if resource_json is None else resource_json
        parts: list[str] = []
        tally: Counter[tuple[Any, ...]] = Counter()
        used: set[int] = set()
        expired: set[int] = set()
        for sub in subresults:
            ident, outcome, message = sub["id"], sub["outcome"], sub.get("message")
            resource = sub.get("resource")
            if resource is None:
                res_text = cache.get(ident)
                if res_text is None:
                    res_text = cache[ident] = enc(resource_of(ident))
            else:
                res_text = enc(resource)
            waiver = sub.get("waiver")
            waiver_text = f',"waiver":{enc(waiver["text"])}' if waiver and waiver["text"] else ""
            findings = enc(finding_references(sub.get("findings", []), references))
            parts.append(f'{head}{enc(ident)[1:-1]}{middle}{res_text},"outcome":{enc(outcome)},'
                         f'"message":{enc(message)},"findings":{findings}{tail}{waiver_text}}}')
            tally[(outcome, message if outcome == "skipped" else None)] += 1
            if waiver:
                (expired if waiver["expired"] else used).add(waiver["index"])
        return cls(",".join(parts), control, severity, category, list(frameworks or ()),
                   dict(tally), sorted(used), sorted(expired))

    @property
    def count(self) -> int:
        return sum(self.tally.values())

    def entries(self) -> list[dict[str, Any]]:
        return json.loads(f"[{self.text}]") if self.text else []


def _rows(results: list[Any]) -> Any:
    """(outcome, control, severity, category, frameworks, message, count) over entries and batches."""
    for r in results:
        if type(r) is ResultBatch:
            for (outcome, message), n in r.tally.items():
                yield outcome, r.control, r.severity, r.category, r.frameworks, message, n
        else:
            yield r["outcome"], r["control"], r["severity"], r["category"], r["frameworks"], r["message"], 1


@dataclass(frozen=True)
class Gates:
    """Release gates: which findings fail the session."""

    fail_on: str | None = None  # a severity, or "none"
    min_score: float | None = None

    @property
    def active(self) -> bool:
        return self.fail_on is not None or self.min_score is not None

    def blocks(self, severity: str | None) -> bool:
        """Does a failed finding of ``severity`` fail the session?"""
        threshold = self.fail_on or ("none" if self.min_score is not None else "info")
        if threshold == "none":
            return False
        if severity not in SEVERITIES:
            return True  # unknown severity: fail closed
        return SEVERITIES.index(severity) <= SEVERITIES.index(threshold)


class ResultsCollector:
    """Folds reports into one entry per item; writes JSON and SARIF; applies gates; prints the summary."""

    def __init__(self, config: pytest.Config, target: Callable[[], dict[str, Any]], json_path: Path | None,
                 *, sarif_path: Path | None = None, gates: Gates | None = None,
                 waivers: list[Waiver] | None = None,
                 resolve: Callable[[str], dict[str, Any]] | None = None, grouped: bool = False) -> None:
        self.config = config
        self.grouped = grouped  # --k8s-group-by namespace|control: failures list objects, not findings
        self._target = target
        self._target_cache: dict[str, Any] | None = None
        self.json_path = json_path
        self.sarif_path = sarif_path
        self.sarif_warnings: list[str] = []  # what the SARIF leaves out (code scanning's limits), for the terminal
        self.gates = gates or Gates()
        self.waivers = waivers or []
        self.resolve = resolve  # a grouped item's passing object: its id -> its resource block
        self.results: list[Any] = []  # entries (dicts), and ResultBatch from xdist workers
        self._pending: dict[str, dict[str, Any]] = {}
        self._used_waivers: set[int] = set()
        self._expired_waivers: set[int] = set()
        self.other_failures = 0
        self.gate_result: dict[str, Any] | None = None
        self.started = _dt.datetime.now(_dt.timezone.utc)
        self._resources: dict[str, dict[str, Any]] = {}  # grouped mode: resource blocks by object id
        self._result_hooked: bool | None = None
        self._summary: dict[str, Any] | None = None
        # Completeness: a gate is judged only over a session that ran every selected item.
        self.collected: int | None = None  # items selected to run (after -k, -m, --deselect)
        self.finished = 0  # items that ended (a teardown report, or a crashed worker's report)
        self.skipped_ahead = 0  # items another plugin (--sw, --lf) deselected: selected, never run
        self.crashes: list[str] = []  # xdist workers that died running an item
        self.incomplete_reasons: list[str] = []

    # -- completeness ----------------------------------------------------
    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.collected = len(session.items) + self.skipped_ahead

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        self.collected = max(self.collected or 0, len(ids))

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        """Count the items deselected by something other than the user's own selection (-k, -m,
        --deselect): --sw and --lf skip items that passed before, which this run then never checks."""
        chosen = _user_selection(self.config)
        self.skipped_ahead += sum(1 for item in items if chosen(item))

    def incomplete(self, session: pytest.Session) -> list[str]:
        """Why the session did not check everything it selected (empty when it did)."""
        if self.config.option.collectonly or getattr(self.config.option, "k8s_list_controls", False) \
                or session.exitstatus == pytest.ExitCode.USAGE_ERROR:
            return []  # nothing was meant to run, or the run could not start
        why = []
        collected = self.collected
        if collected is not None and self.finished < collected:
            cause = session.shouldstop or session.shouldfail
            if not cause and session.exitstatus == pytest.ExitCode.INTERRUPTED:
                cause = "interrupted"
            if self.skipped_ahead and self.finished + self.skipped_ahead >= collected:
                cause = cause or "skipped by --sw/--lf (they passed in an earlier run)"
            why.append(f"{collected - self.finished} of {collected} selected items not run"
                       + (f" ({cause})" if cause else ""))
        lf = self.config.pluginmanager.get_plugin("lfplugin")
        if self.config.getoption("lf", False) and getattr(lf, "lastfailed", None) and not why:
            # --lf leaves out, at collection, the items that passed before: none of them is checked now
            why.append("--lf ran only the items that failed in an earlier run")
        if self.crashes:
            why.append("; ".join(self.crashes[:3]) + (f" and {len(self.crashes) - 3} more" if len(self.crashes) > 3
                                                      else ""))
        if not why and session.exitstatus == pytest.ExitCode.INTERRUPTED:
            why.append("interrupted")
        return why

    # -- hooks -----------------------------------------------------------
    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        state = self._pending.get(report.nodeid)
        if state is None:
            state = self._pending[report.nodeid] = {"outcome": None, "message": None, "findings": None,
                                                    "waiver": None, "subresults": None, "batch": None}
        message = getattr(report, "k8s_message", None)
        if report.when == "call":
            if report.passed:
                state["outcome"] = state["outcome"] or "passed"
            elif report.failed:
                state["outcome"] = "error" if getattr(report, "k8s_error", False) else "failed"
            elif getattr(report, "k8s_waiver", None) is not None:
                state["outcome"] = "waived"
                state["waiver"] = report.wasxfail
            else:  # skipped in the call phase: pytest.skip() or xfail
                state["outcome"] = "skipped"
                if hasattr(report, "wasxfail") and not message:
                    message = f"xfail: {report.wasxfail}"
        elif report.when == "setup":
            if report.failed:
                state["outcome"] = "error"
            elif report.skipped:
                state["outcome"] = "skipped"
        elif report.failed and state["outcome"] in (None, "passed"):
            state["outcome"] = "error"
        if message and not state["message"]:
            state["message"] = message
        findings = getattr(report, "k8s_findings", None)
        if findings:
            state["findings"] = findings
        sub = getattr(report, "k8s_subresults", None)
        if sub is not None:
            state["subresults"] = sub
        batch = getattr(report, "k8s_batch", None)
        if batch is not None:
            state["batch"] = batch
        for attr, bucket in (("k8s_waiver", self._used_waivers), ("k8s_waiver_expired", self._expired_waivers)):
            index = getattr(report, attr, None)
            if index is not None:
                bucket.add(index)
        if report.when not in ("setup", "call", "teardown"):  # xdist: the worker died running this item
            self._crashed(report, state)
            return
        if report.when != "teardown":
            return
        self.finished += 1
        del self._pending[report.nodeid]
        k8s = getattr(report, "k8s", None)
        if k8s is None:
            if state["outcome"] in ("failed", "error"):
                self.other_failures += 1
            return
        ctrl = k8s["control"] or {}
        if state.get("batch") is not None:
            self._add_batch(state["batch"])
            return
        if state.get("subresults") is not None:
            self._add_group(report.nodeid, ctrl, state["subresults"])
            return
        self._add(report.nodeid, control_fields(ctrl), k8s["resource"], state["outcome"] or "passed",
                  state["message"], state["findings"] or [], state["waiver"])

    def _crashed(self, report: pytest.TestReport, state: dict[str, Any]) -> None:
        """An item whose process died: an error, counted, never dropped."""
        self._pending.pop(report.nodeid, None)
        self.finished += 1
        message = str(report.longrepr or "its process died").partition("\n")[0]
        self.crashes.append(message)
        k8s = getattr(report, "k8s", None) or {}
        ctrl = k8s.get("control") or {}
        self._add(report.nodeid, control_fields(ctrl), k8s.get("resource"), "error", message,
                  state.get("findings") or [], None)

    def _hooked(self) -> bool:
        """Does any plugin implement pytest_k8shardening_result? (asked once)"""
        if self._result_hooked is None:
            self._result_hooked = bool(self.config.hook.pytest_k8shardening_result.get_hookimpls())
        return self._result_hooked

    def _add(self, nodeid: str, fields: tuple[Any, ...], resource: dict[str, Any] | None, outcome: str,
             message: str | None, findings: list[dict[str, Any]], waiver: str | None) -> None:
        """One result entry, offered to the result hook first."""
        self._append(make_entry(nodeid, fields, resource, outcome, message, findings, waiver))

    def _append(self, entry: dict[str, Any]) -> None:
        if self._hooked():
            self.config.hook.pytest_k8shardening_result(config=self.config, result=entry)
        self.results.append(entry)

    def _resource(self, ident: str) -> dict[str, Any]:
        """A passing grouped object's resource block: the same for every control, so resolved once."""
        resource = self._resources.get(ident)
        if resource is None:
            resource = self._resources[ident] = self.resolve(ident) if self.resolve else {"id": ident}
        return resource

    def _add_group(self, nodeid: str, ctrl: dict[str, Any], subresults: list[dict[str, Any]]) -> None:
        """A grouped item: one result entry per object it checked."""
        for entry, waiver in group_entries(nodeid, control_fields(ctrl), subresults, self._resource,
                                           own_resources=self._hooked()):
            if waiver:
                (self._expired_waivers if waiver["expired"] else self._used_waivers).add(waiver["index"])
            self._append(entry)

    def _add_batch(self, batch: ResultBatch) -> None:
        """A grouped item's entries as its worker encoded them."""
        self._used_waivers.update(batch.used_waivers)
        self._expired_waivers.update(batch.expired_waivers)
        if self._hooked():  # not sent when a hook is implemented; decoded if one appeared on the way
            for entry in batch.entries():
                self._append(entry)
        else:
            self.results.append(batch)

    def entries(self) -> list[dict[str, Any]]:
        """Every result entry as a dict (batches decoded)."""
        if not any(type(r) is ResultBatch for r in self.results):
            return self.results
        out: list[dict[str, Any]] = []
        for r in self.results:
            if type(r) is ResultBatch:
                out.extend(r.entries())
            else:
                out.append(r)
        return out

    @property
    def target(self) -> dict[str, Any]:
        if self._target_cache is None:
            self._target_cache = self._target()
        return self._target_cache

    def score(self) -> float | None:
        outcomes: Counter[str] = Counter()
        for outcome, *_, n in _rows(self.results):
            outcomes[outcome] += n
        return _score(outcomes)

    def waiver_summary(self) -> dict[str, Any]:
        return {
            "applied": len(self._used_waivers),
            "expired": [w.as_dict() for w in self.waivers if w.index in self._expired_waivers],
            "stale": [w.as_dict() for w in self.waivers
                      if w.index not in self._used_waivers and w.index not in self._expired_waivers],
        }

    def summary(self, exitstatus: int | None = None) -> dict[str, Any]:
        outcomes: Counter[str] = Counter()
        failed_sev: Counter[str] = Counter()
        by_control: dict[str, Counter[str]] = {}
        by_framework: dict[str, Counter[str]] = {}
        by_category: dict[str, Counter[str]] = {}
        total = 0
        for outcome, control, severity, category, frameworks, _, n in _rows(self.results):  # one pass
            total += n
            outcomes[outcome] += n
            if outcome == "failed":
                failed_sev[severity or "none"] += n
            if control:
                c = by_control.get(control)
                if c is None:
                    c = by_control[control] = Counter()
                c[outcome] += n
            for fw in frameworks or ():
                if fw:
                    by_framework.setdefault(fw, Counter())[outcome] += n
            if category:
                by_category.setdefault(category, Counter())[outcome] += n
        return {
            "total": total,
            "passed": outcomes["passed"],
            "failed": outcomes["failed"],
            "skipped": outcomes["skipped"],
            "waived": outcomes["waived"],
            "error": outcomes["error"],
            "score": _score(outcomes),
            "failed_by_severity": {s: failed_sev[s] for s in (*SEVERITIES, "none") if failed_sev[s]},
            "controls": {cid: dict(c) for cid, c in sorted(by_control.items())},
            "by_framework": _breakdown(by_framework),
            "by_category": _breakdown(by_category),
            "waivers": self.waiver_summary(),
            "items": {"selected": self.collected, "run": self.finished},
            "incomplete": self.incomplete_reasons,
            "gate": self.gate_result,
            "target": self.target,
            "exit_status": exitstatus,
            "started": self.started.isoformat(timespec="seconds"),
            "finished": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        }

    def worst_controls(self, n: int = 5) -> list[tuple[str, int]]:
        failed: Counter[str] = Counter()
        for outcome, control, *_, count in _rows(self.results):
            if outcome == "failed" and control:
                failed[control] += count
        return failed.most_common(n)

    def apply_gates(self, session: pytest.Session) -> None:
        """Set the exit status from the gates and the session's completeness.

        A session that did not run every selected item (``-x``, ``--maxfail``,
        ``--sw``, an interrupt, a crashed worker) never exits 0, gate or not:
        what was not run was not checked.
        """
        self.incomplete_reasons = incomplete = self.incomplete(session)
        usage_error = self.config.stash.get(USAGE_ERROR_KEY, None)
        if usage_error is not None:
            session.exitstatus = pytest.ExitCode.USAGE_ERROR
            incomplete.insert(0, usage_error)
        if incomplete and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if not self.gates.active:
            return
        blocking = reported = errors = 0
        for outcome, _, severity, *_, n in _rows(self.results):
            if outcome == "failed":
                if self.gates.blocks(severity):
                    blocking += n
                else:
                    reported += n
            elif outcome == "error":
                errors += n
        score = self.score()
        reasons = list(incomplete)
        if blocking:
            reasons.append(f"{blocking} finding(s) at or above --k8s-fail-on {self.gates.fail_on or 'info'}")
        if errors:
            reasons.append(f"{errors} error(s)")
        if self.other_failures:
            reasons.append(f"{self.other_failures} other failing test(s)")
        if self.gates.min_score is not None and (score is None or score < self.gates.min_score):
            reasons.append(f"score {score if score is not None else 'n/a'} below --k8s-min-score "
                           f"{self.gates.min_score:g}")
        status = "incomplete" if incomplete else "failed" if reasons else "passed"
        self.gate_result = {"passed": status == "passed", "status": status, "reasons": reasons,
                            "reported_only": reported, "fail_on": self.gates.fail_on,
                            "min_score": self.gates.min_score}
        if session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED if reasons else pytest.ExitCode.OK

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.apply_gates(session)
        if self.json_path is not None:
            summary = self._summary = self.summary(int(session.exitstatus))
            self.config.hook.pytest_k8shardening_summary(config=self.config, summary=summary)
            doc = {"schema": SCHEMA, "summary": summary, "results": _PLACEHOLDER}
            pretty = summary["total"] <= _PRETTY_LIMIT
            _write_report(session, "--k8s-report-json", self.json_path, doc, pretty=pretty,
                          items=self.entries() if pretty else self.results)
        if self.sarif_path is not None:
            from .reporting.sarif import sarif_document

            settings = getattr(self.config.pluginmanager.get_plugin("k8shardening-session"), "settings", None)
            sarif = sarif_document(self.entries(), self.waivers, incomplete=self.incomplete_reasons,
                                   root=getattr(settings, "sarif_root", None),
                                   snapshot=getattr(settings, "save_snapshot", None), warnings=self.sarif_warnings)
            found = sarif["runs"][0]["results"]
            sarif["runs"][0]["results"] = _PLACEHOLDER
            _write_report(session, "--k8s-report-sarif", self.sarif_path, sarif, pretty=len(found) <= _PRETTY_LIMIT,
                          items=found)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        tr = terminalreporter
        s = self._summary or self.summary()
        verbose = self.config.get_verbosity() >= 0
        if verbose:
            tr.write_sep("-", "k8shardening summary")
            t = self.target
            src = t["sources"]
            where = ", ".join(src) if len(src) <= 3 else f"{len(src)} files"
            tr.write_line(f"target: {t['objects']} objects read from {where}")
            if t.get("inputs"):
                from .repository import describe_inputs

                for line in describe_inputs(t["inputs"], verbose=self.config.get_verbosity() > 0):
                    tr.write_line(line)
            tr.write_line(f"scope: {t['scope']}")
            if t["out_of_scope"]:
                left = ", ".join(f"{ns} ({n})" for ns, n in t["out_of_scope"].items())
                tr.write_line(f"out of scope: {left}")
            if t.get("variants"):
                tr.write_line(f"variants: {t['variants']} objects share kind/namespace/name with another file or "
                              "render; their ids name it (ns/Kind/name@variant)")
            if t.get("checked_on_owner"):
                on = ", ".join(f"{n} {k}" for k, n in t["checked_on_owner"].items())
                tr.write_line(f"checked on their owners (pod spec matches the owner's template): {on}")
            if t.get("owner_refused_count"):
                tr.write_line(f"checked themselves despite naming a controlling owner: {t['owner_refused_count']}"
                              + ("" if self.config.get_verbosity() > 0 else " (-v lists them)"))
                if self.config.get_verbosity() > 0:
                    for r in t.get("owner_refused", ()):
                        tr.write_line(f"  {r['id']}: {r['reason']}")
            for kind, why in t.get("unavailable", {}).items():
                tr.write_line(f"not readable, tests needing it skipped: {kind}: {why}")
        elif self.target.get("unavailable"):
            tr.write_line("not readable, tests needing them skipped: " + ", ".join(self.target["unavailable"]))
        grouping = self.target.get("grouping") or {}
        if grouping and (verbose or grouping["requested"] == "auto" and grouping["mode"] != "resource"):
            tr.write_line(f"tests: {grouping['reason']}")  # -q too when the ids are not per object
        if self.config.option.collectonly:  # nothing was checked: no compliance line, score or gate
            return
        sev = ", ".join(f"{n} {k}" for k, n in s["failed_by_severity"].items())
        score = f"{s['score']}%" if s["score"] is not None else "n/a"
        waived = f", {s['waived']} waived" if s["waived"] else ""
        tr.write_line(f"compliance: {s['passed']} passed, {s['failed']} failed"
                      f"{' (' + sev + ')' if sev else ''}{waived}, {s['skipped']} skipped, {s['error']} errors; "
                      f"score {score} over {len(s['controls'])} controls")
        for why in self.incomplete_reasons:
            tr.write_line(f"run incomplete: {why}; what was not run was not checked", red=True)
        gate = self.gate_result
        if gate is not None:
            if gate["status"] == "incomplete":
                tr.write_line("gate: INCOMPLETE: " + "; ".join(gate["reasons"]), red=True)
            elif gate["passed"]:
                extra = f"; {gate['reported_only']} finding(s) below the threshold are reported only" \
                    if gate["reported_only"] else ""
                tr.write_line(f"gate: passed{extra}", green=True)
            else:
                tr.write_line("gate: FAILED: " + "; ".join(gate["reasons"]), red=True)
        waivers = s["waivers"]
        for w in waivers["expired"]:
            tr.write_line(f"waiver #{w['index']} ({w['control']}) expired on {w['expires']} "
                          f"(owner {w['owner']}): its findings fail again", yellow=True)
        for w in waivers["stale"]:
            tr.write_line(f"stale waiver #{w['index']} ({w['control']}, owner {w['owner']}) matched no failing "
                          "finding: remove it", yellow=True)
        if verbose:
            skipped: Counter[str] = Counter()
            for outcome, *_, message, n in _rows(self.results):
                if outcome == "skipped" and message:
                    skipped[message] += n
            for why, n in skipped.most_common(5):
                tr.write_line(f"skipped ({n}): {why[:160]}")
            worst = self.worst_controls()
            if worst:
                tr.write_line("most failed controls: " + ", ".join(f"{cid} ({n})" for cid, n in worst))
            for label, path in (("JSON results", self.json_path), ("SARIF", self.sarif_path)):
                if path is not None:
                    tr.write_line(f"{label}: {path}")
        for text in self.sarif_warnings:
            tr.write_line(f"SARIF: {text}", yellow=True)
        tbstyle = getattr(self.config.option, "tbstyle", "auto")
        grouped = self.grouped or (self.target.get("grouping") or {}).get("mode", "resource") != "resource"
        if s["failed"] > _HINT_FAILURES and not grouped and tbstyle not in ("line", "no"):
            tr.write_line(f"hint: {s['failed']} findings were printed in full above. On clusters this size "
                          "use --tb=line (one line each), or --k8s-group-by namespace|control for fewer, "
                          "grouped items (README: Large clusters).", yellow=True)


def _user_selection(config: pytest.Config) -> Callable[[pytest.Item], bool]:
    """Does the user's own selection (-k, -m, --deselect) keep ``item``? The same tests pytest makes."""
    keyword = (config.option.keyword or "").lstrip()
    markexpr = config.option.markexpr or ""
    prefixes = tuple(config.getoption("deselect") or ())
    try:
        from _pytest.mark import KeywordMatcher, MarkMatcher
        from _pytest.mark.expression import Expression

        kexpr = Expression.compile(keyword) if keyword else None
        mexpr = Expression.compile(markexpr) if markexpr else None
    except Exception:  # noqa: BLE001 - pytest's internals moved: count every deselected item as unrun
        return lambda item: True

    def chosen(item: pytest.Item) -> bool:
        if prefixes and item.nodeid.startswith(prefixes):
            return False
        if kexpr is not None and not kexpr.evaluate(KeywordMatcher.from_item(item)):
            return False
        return mexpr is None or bool(mexpr.evaluate(MarkMatcher.from_markers(item.iter_markers())))

    return chosen


def _score(outcomes: Counter[str]) -> float | None:
    decided = outcomes["passed"] + outcomes["failed"]
    return round(100.0 * outcomes["passed"] / decided, 1) if decided else None


def _breakdown(counts: dict[str, Counter[str]]) -> dict[str, dict[str, Any]]:
    return {name: {**dict(c), "score": _score(c)} for name, c in sorted(counts.items())}


_PLACEHOLDER = "__k8shardening_items__"
_JSON_CHUNK = 2000  # list items encoded at a time: few calls, bounded extra memory


def _json_parts(items: list[Any]) -> Any:
    """The compact JSON of ``items`` as comma-separated runs: dicts encoded a chunk at a time,
    a worker's :class:`ResultBatch` as the text it already is."""
    run: list[Any] = []
    for item in items:
        if type(item) is ResultBatch:
            if run:
                yield _ENCODE(run)[1:-1]
                run = []
            yield item.text
        else:
            run.append(item)
            if len(run) >= _JSON_CHUNK:
                yield _ENCODE(run)[1:-1]
                run = []
    if run:
        yield _ENCODE(run)[1:-1]


def _write_report(session: pytest.Session, option: str, path: Path, doc: Any, **kwargs: Any) -> None:
    """Write one report; a failure is a one-line error and exit 4, and the other reports are still written."""
    try:
        _write_json(path, doc, **kwargs)
    except OSError as exc:
        from .safeio import write_error

        write_error(option, path, exc)
        session.exitstatus = pytest.ExitCode.USAGE_ERROR


def _write_json(path: Path, doc: Any, *, pretty: bool = True, items: list[Any] | None = None) -> None:
    """Write ``doc`` atomically; ``items`` replaces the placeholder string in it, streamed.

    Indented output goes through json's pure-Python encoder, ~10x slower than
    the C one, so large documents are written compact, one list item at a time
    (building the whole text first would double the peak memory).
    """
    from .safeio import atomic_write

    def write(fh: Any) -> None:
        nonlocal doc
        if pretty:
            if items is not None:
                doc = json.loads(json.dumps(doc).replace(json.dumps(_PLACEHOLDER), json.dumps(items)))
            fh.write(json.dumps(doc, indent=1))
        else:
            head, _, tail = json.dumps(doc, separators=(",", ":")).partition(json.dumps(_PLACEHOLDER))
            fh.write(head)
            if items is not None:
                fh.write("[")
                first = True
                for part in _json_parts(items):
                    if part:
                        fh.write(part if first else "," + part)
                        first = False
                fh.write("]")
            fh.write(tail)
        fh.write("\n")

    atomic_write(path, write)  # exclusive temp file beside the target; removed if anything fails
