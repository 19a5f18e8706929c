"""Where reports arrive (the only process, or the xdist controller): records gathered, summary, gates.

:class:`ResultsCollector` keeps the :class:`~.record.Result` (or grouped
:class:`~.record.Batch`) that each item's teardown report carries, counts
what ran (a session that did not run every selected item never passes),
computes the summary and applies the gates (``--k8s-fail-on``,
``--k8s-min-score``). The writers in :mod:`.reporting` read its records.
"""

from __future__ import annotations

import datetime as _dt
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .controls import SEVERITIES
from .record import WIRE_ATTR, Batch, ControlFields, Result, WaiverHit, entries_of, next_outcome
from .reruns import Attempts
from .speedups import scan_entries
from .waivers import Waiver

__all__ = ["USAGE_ERROR_KEY", "Gates", "ResultsCollector", "rows"]

#: A usage error found after the start (a live cluster failing mid-run, seen by an xdist worker).
USAGE_ERROR_KEY = pytest.StashKey[str]()


def rows(results: Iterable[Result | Batch | dict[str, Any]]) -> Iterator[tuple[Any, ...]]:
    """(outcome, control, severity, category, frameworks, message, count) over records, batches and entries."""
    for r in results:
        if isinstance(r, Result):
            yield r.row()
        elif isinstance(r, Batch):
            yield from r.rows()
        else:  # an entry a result hook has seen
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

    def score_fails(self, score: float | None) -> bool:
        """Does ``score`` fail ``--k8s-min-score``? (No score, nothing decided, fails it: fail closed.)"""
        return self.min_score is not None and (score is None or score < self.min_score)


class ResultsCollector:
    """Gathers the records of every item; applies gates; hands the records to the writers."""

    def __init__(self, config: pytest.Config, target: Callable[[], dict[str, Any]], json_path: Path | None,
                 *, sarif_path: Path | None = None, gates: Gates | None = None,
                 waivers: list[Waiver] | None = None, grouped: bool = False) -> None:
        self.config = config
        self.grouped = grouped  # --k8s-group-by namespace|control: failures list objects, not findings
        self._target = target
        self._target_cache: dict[str, Any] | None = None
        self.json_path = json_path
        self.sarif_path = sarif_path
        self.sarif_warnings: list[str] = []  # what the SARIF leaves out (code scanning's limits), for the terminal
        self.gates = gates or Gates()
        self.waivers = waivers or []
        self.results: list[Result | Batch | dict[str, Any]] = []  # entry dicts only where a result hook runs
        self._pending: dict[str, Result | Batch | str | None] = {}  # an item's record (or outcome) so far
        self._attempts = Attempts()
        self._used_waivers: set[int] = set()
        self._expired_waivers: set[int] = set()
        self.other_failures = 0
        self.gate_result: dict[str, Any] | None = None
        self.started = _dt.datetime.now(_dt.timezone.utc)
        self._result_hooked: bool | None = None
        self.final_summary: dict[str, Any] | None = None
        self._objects: tuple[int, dict[str, Counter[str]]] | None = None  # framework_objects, for so many results
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
        rec = getattr(report, WIRE_ATTR, None)
        if report.when not in ("setup", "call", "teardown"):  # xdist: the worker died running this item
            self._crashed(report)
            return
        if self._attempts.discarded(report):  # pytest-rerunfailures runs the item again: only the last attempt counts
            self._pending.pop(report.nodeid, None)
            return
        if report.when != "teardown":
            if rec is not None:
                self._pending[report.nodeid] = rec
            else:
                prev = self._pending.get(report.nodeid)
                if not isinstance(prev, (Result, Batch)):  # not a compliance item: its outcome alone
                    self._pending[report.nodeid] = next_outcome(prev, report.when, report.outcome)
            return
        self.finished += 1
        prev = self._pending.pop(report.nodeid, None)
        if rec is None:  # not a compliance item: only its failure counts (for the gate)
            outcome = next_outcome(prev if isinstance(prev, str) else None, "teardown", report.outcome)
            if outcome in ("failed", "error"):
                self.other_failures += 1
            return
        if isinstance(rec, Batch):
            self._add_batch(rec)
        else:
            self._add(rec)

    def _crashed(self, report: pytest.TestReport) -> None:
        """An item whose process died: an error, counted, never dropped."""
        prev = self._pending.pop(report.nodeid, None)
        self.finished += 1
        message = str(report.longrepr or "its process died").partition("\n")[0]
        self.crashes.append(message)
        findings = prev.findings if isinstance(prev, Result) else []
        self._add(Result(report.nodeid, ControlFields(), None, "error", message, findings))

    def _hooked(self) -> bool:
        """Does any plugin implement pytest_k8shardening_result? (asked once)"""
        if self._result_hooked is None:
            self._result_hooked = bool(self.config.hook.pytest_k8shardening_result.get_hookimpls())
        return self._result_hooked

    def _count_waiver(self, hit: WaiverHit | None) -> None:
        if hit is not None:
            (self._expired_waivers if hit.expired else self._used_waivers).add(hit.index)

    def _add(self, rec: Result) -> None:
        """One record; as an entry dict, offered to the result hook, if a plugin implements it."""
        self._count_waiver(rec.waiver_hit)
        if self._hooked():
            entry = rec.to_json()
            if entry["resource"] is not None:
                entry["resource"] = dict(entry["resource"])  # shared between records; the hook may change it
            self.config.hook.pytest_k8shardening_result(config=self.config, result=entry)
            self.results.append(entry)
        else:
            self.results.append(rec)

    def _add_batch(self, batch: Batch) -> None:
        """A grouped item's records (as its worker encoded them, under xdist)."""
        self._used_waivers.update(batch.used_waivers)
        self._expired_waivers.update(batch.expired_waivers)
        if self._hooked():  # not encoded when a hook is implemented; decoded if one appeared on the way
            for rec in batch.records if batch.records is not None else map(Result.from_json, batch.entries()):
                entry = rec.to_json()
                if entry["resource"] is not None:
                    entry["resource"] = dict(entry["resource"])
                self.config.hook.pytest_k8shardening_result(config=self.config, result=entry)
                self.results.append(entry)
        else:
            self.results.append(batch)

    def entries(self) -> list[dict[str, Any]]:
        """Every result as an entry dict (what the JSON results and SARIF hold)."""
        return entries_of(self.results)

    @property
    def target(self) -> dict[str, Any]:
        if self._target_cache is None:
            self._target_cache = self._target()
        return self._target_cache

    def score(self) -> float | None:
        outcomes: Counter[str] = Counter()
        for outcome, *_, n in rows(self.results):
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
        control_meta: dict[str, tuple[str | None, list[str]]] = {}
        by_framework: dict[str, Counter[str]] = {}
        by_category: dict[str, Counter[str]] = {}
        total = 0
        for outcome, control, severity, category, frameworks, _, n in rows(self.results):  # one pass
            total += n
            outcomes[outcome] += n
            if outcome == "failed":
                failed_sev[severity or "none"] += n
            if control:
                c = by_control.get(control)
                if c is None:
                    c = by_control[control] = Counter()
                    control_meta[control] = (severity, list(frameworks or ()))
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
            "by_control": _control_table(by_control, control_meta),
            "by_framework": self._framework_breakdown(by_framework),
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

    def _framework_breakdown(self, by_framework: dict[str, Counter[str]]) -> dict[str, dict[str, Any]]:
        """Per framework: its results (as counted everywhere), and its objects, each counted once.

        ``score`` is over objects, not results: passed objects (no failed
        control of the framework) ÷ (passed + failed objects). An object whose
        only failures are waived passes; one that errored and failed nothing is
        an ``error`` (neither passed nor failed, as an error is in the headline
        score). So a Deployment with three containers and two failing NSA
        controls weighs one object in ``nsa``, and PSS's few controls are not
        drowned in NSA's many, as they are in the headline score.
        """
        objects = self.framework_objects()
        out: dict[str, dict[str, Any]] = {}
        for name, counts in sorted(by_framework.items()):
            objs = objects.get(name, Counter())
            out[name] = {**dict(counts), "score": _score(objs),
                         "objects": {"passed": objs["passed"], "failed": objs["failed"], "error": objs["error"]}}
        return out

    def framework_objects(self) -> dict[str, Counter[str]]:
        """Per framework, its objects by verdict: ``failed`` if any control of the framework failed on it,
        else ``error`` if one errored, else ``passed`` if one passed (objects only skipped or waived: none)."""
        if self._objects is not None and self._objects[0] == len(self.results):
            return self._objects[1]
        verdicts: dict[str, dict[Any, str]] = {}
        for outcome, frameworks, key in self._object_rows():
            rank = _OBJECT_RANK.get(outcome)
            if rank is None:
                continue
            for fw in frameworks:
                seen = verdicts.get(fw)
                if seen is None:
                    seen = verdicts[fw] = {}
                prev = seen.get(key)
                if prev is None or _OBJECT_RANK[prev] < rank:
                    seen[key] = outcome
        counted = {fw: Counter(v.values()) for fw, v in verdicts.items()}
        self._objects = (len(self.results), counted)
        return counted

    def _object_rows(self) -> Iterator[tuple[str, list[str], Any]]:
        """(outcome, frameworks, object key) per record; a grouped item's records read only when one
        of them can count (a passed, failed or errored object of a control in a framework)."""
        blocks: dict[str, Any] = {}  # a resource block's JSON text: its object key
        for r in self.results:
            if isinstance(r, Result):
                yield r.outcome or "passed", r.control.frameworks, _object_key(r.resource, r.nodeid)
            elif isinstance(r, Batch):
                frameworks = r.control.frameworks
                if not frameworks or not any(o in _OBJECT_RANK for o, _ in r.tally):
                    continue
                if r.records is not None:
                    for rec in r.records:
                        yield rec.outcome or "passed", frameworks, _object_key(rec.resource, rec.nodeid)
                    continue
                scanned = scan_entries(r.text or "", r.count, _object_key, blocks)
                if scanned is None:  # not as expected (a resource-less entry, a "}" in a file name): decoded
                    scanned = [(e["outcome"], _object_key(e["resource"], e["nodeid"])) for e in r.entries()]
                for outcome, key in scanned:
                    yield outcome, frameworks, key
            else:
                yield r["outcome"], r["frameworks"] or [], _object_key(r["resource"], r["nodeid"])

    def worst_controls(self, n: int = 5) -> list[tuple[str, int]]:
        failed: Counter[str] = Counter()
        for outcome, control, *_, count in rows(self.results):
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
        for outcome, _, severity, *_, n in rows(self.results):
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
        if self.gates.score_fails(score):
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
            from .reporting.json import write_results

            summary = self.final_summary = self.summary(int(session.exitstatus))
            self.config.hook.pytest_k8shardening_summary(config=self.config, summary=summary)
            write_results(session, self.json_path, summary, self.results)
        if self.sarif_path is not None:
            from .reporting.json import write_sarif

            settings = getattr(self.config.pluginmanager.get_plugin("k8shardening-session"), "settings", None)
            write_sarif(session, self.sarif_path, self.entries(), self.waivers, self.incomplete_reasons,
                        root=getattr(settings, "sarif_root", None), snapshot=getattr(settings, "save_snapshot", None),
                        warnings=self.sarif_warnings)

    @pytest.hookimpl(wrapper=True, tryfirst=True, specname="pytest_sessionfinish")
    def pytest_sessionfinish_terminal(self, session: pytest.Session, exitstatus: int) -> Any:
        """The compliance summary, the last thing printed: after pytest's short test summary (its FAILED
        lines) and its final counts line, which pytest's terminal reporter writes when its own
        ``pytest_sessionfinish`` wrapper resumes; this wrapper (tryfirst) resumes after it."""
        result = yield
        tr = self.config.pluginmanager.get_plugin("terminalreporter")
        if tr is not None and self.says_something(session, exitstatus):
            from .reporting.terminal import write_summary

            write_summary(tr, self)
        return result

    def says_something(self, session: pytest.Session, exitstatus: int) -> bool:
        """Is there a summary to print? pytest prints its own only for these exit statuses; a usage error
        before any item ran (a node id not found, say) checked nothing, and pytest's error says why."""
        if exitstatus == pytest.ExitCode.INTERNAL_ERROR:  # pytest prints the traceback, and no summary
            return False
        return not (session.exitstatus == pytest.ExitCode.USAGE_ERROR and not self.finished
                    and USAGE_ERROR_KEY not in self.config.stash)


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


#: An object's verdict in a framework: the worst of its records' outcomes there (skipped and waived ones: none).
_OBJECT_RANK = {"passed": 0, "error": 1, "failed": 2}


def _object_key(resource: dict[str, Any] | None, nodeid: str) -> Any:
    """What makes one object: its kind, namespace and name, and the file or render it came from (two
    variants are two objects); not the container. A result without a resource is its own object."""
    if not resource:
        return nodeid
    return (resource.get("kind"), resource.get("namespace"), resource.get("name"), resource.get("unit"),
            resource.get("file"))


def _control_table(by_control: dict[str, Counter[str]],
                   meta: dict[str, tuple[str | None, list[str]]]) -> dict[str, dict[str, Any]]:
    """One row per control: severity, frameworks, every outcome (zeros included) and the control's score."""
    out = {}
    for cid, c in sorted(by_control.items()):
        severity, frameworks = meta[cid]
        out[cid] = {"severity": severity, "frameworks": frameworks,
                    **{o: c[o] for o in ("passed", "failed", "waived", "skipped", "error")}, "score": _score(c)}
    return out


def _breakdown(counts: dict[str, Counter[str]]) -> dict[str, dict[str, Any]]:
    return {name: {**dict(c), "score": _score(c)} for name, c in sorted(counts.items())}

