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
import os
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .controls import SEVERITIES, Control, NonCompliant
from .params import subject_of

__all__ = ["SCHEMA", "ResultsCollector", "annotate", "control_of"]

SCHEMA = "k8shardening.results/v1"
_MAX_MESSAGE = 4000
_CONTROL_DICTS: dict[str, dict[str, Any]] = {}


def control_of(item: pytest.Item) -> Control | None:
    mark = item.get_closest_marker("k8s_control")
    if mark is None or not mark.args or not isinstance(mark.args[0], Control):
        return None
    return mark.args[0]


def _control_dict(ctrl: Control) -> dict[str, Any]:
    d = _CONTROL_DICTS.get(ctrl.id)
    if d is None:
        d = _CONTROL_DICTS[ctrl.id] = ctrl.as_dict()
    return d


def render_failure(item: pytest.Item, exc: NonCompliant) -> str:
    """The finding as a person reads it: control, object, fields, fix."""
    ctrl = control_of(item)
    subject = subject_of(item)
    lines = []
    if ctrl is not None:
        lines.append(f"{ctrl.id} [{ctrl.severity}] {ctrl.title}")
    if subject is not None:
        where = ""
        src = getattr(subject, "source", None) or getattr(getattr(subject, "obj", None), "source", None) \
            or getattr(getattr(getattr(subject, "workload", None), "obj", None), "source", None)
        if src is not None and src.file is not None:
            where = f"  ({src.describe()})"
        lines.append(f"{subject.describe()}{where}")
    lines.extend(f"  - {f.message}" for f in exc.findings)
    if ctrl is not None:
        lines.append(f"How to fix: {ctrl.remediation}")
    return "\n".join(lines)


def annotate(item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport) -> None:
    """Attach the k8s data to ``report`` (runs where the test runs)."""
    if report.when == "teardown":
        ctrl = control_of(item)
        subject = subject_of(item)
        if ctrl is None and subject is None:
            return
        report.k8s = {  # type: ignore[attr-defined]
            "control": _control_dict(ctrl) if ctrl is not None else None,
            "resource": subject.resource() if subject is not None else None,
        }
    if call.excinfo is None or report.passed:
        return
    exc = call.excinfo.value
    if isinstance(exc, NonCompliant):
        report.longrepr = render_failure(item, exc)
        report.k8s_findings = [f.as_dict() for f in exc.findings]  # type: ignore[attr-defined]
        report.k8s_message = str(exc)  # type: ignore[attr-defined]
    elif report.skipped:
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
        report.k8s_message = reason.removeprefix("Skipped: ")  # type: ignore[attr-defined]
    else:
        report.k8s_message = call.excinfo.exconly()[:_MAX_MESSAGE]  # type: ignore[attr-defined]


class ResultsCollector:
    """Folds reports into one entry per item; writes JSON; prints the summary."""

    def __init__(self, config: pytest.Config, target: Callable[[], dict[str, Any]], json_path: Path | None) -> None:
        self.config = config
        self._target = target
        self._target_cache: dict[str, Any] | None = None
        self.json_path = json_path
        self.results: list[dict[str, Any]] = []
        self._pending: dict[str, dict[str, Any]] = {}
        self.started = _dt.datetime.now(_dt.timezone.utc)

    # -- hooks -----------------------------------------------------------
    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        state = self._pending.get(report.nodeid)
        if state is None:
            state = self._pending[report.nodeid] = {"outcome": None, "message": None, "findings": None}
        message = getattr(report, "k8s_message", None)
        if report.when == "call":
            if report.passed:
                state["outcome"] = state["outcome"] or "passed"
            elif report.failed:
                state["outcome"] = "failed"
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
        if report.when != "teardown":
            return
        del self._pending[report.nodeid]
        k8s = getattr(report, "k8s", None)
        if k8s is None:
            return
        ctrl = k8s["control"] or {}
        self.results.append({
            "nodeid": report.nodeid,
            "control": ctrl.get("control"),
            "title": ctrl.get("title"),
            "severity": ctrl.get("severity"),
            "category": ctrl.get("category"),
            "frameworks": ctrl.get("frameworks", []),
            "references": ctrl.get("references", {"kubescape": [], "trivy": [], "cis": [], "pss": None}),
            "resource": k8s["resource"],
            "outcome": state["outcome"] or "passed",
            "message": state["message"],
            "findings": state["findings"] or [],
            "remediation": ctrl.get("remediation"),
        })

    @property
    def target(self) -> dict[str, Any]:
        if self._target_cache is None:
            self._target_cache = self._target()
        return self._target_cache

    def summary(self, exitstatus: int | None = None) -> dict[str, Any]:
        outcomes = Counter(r["outcome"] for r in self.results)
        failed_sev = Counter(r["severity"] or "none" for r in self.results if r["outcome"] == "failed")
        by_control: dict[str, Counter[str]] = {}
        for r in self.results:
            if r["control"]:
                by_control.setdefault(r["control"], Counter())[r["outcome"]] += 1
        decided = outcomes["passed"] + outcomes["failed"]
        return {
            "total": len(self.results),
            "passed": outcomes["passed"],
            "failed": outcomes["failed"],
            "skipped": outcomes["skipped"],
            "error": outcomes["error"],
            "score": round(100.0 * outcomes["passed"] / decided, 1) if decided else None,
            "failed_by_severity": {s: failed_sev[s] for s in SEVERITIES if failed_sev[s]},
            "controls": {cid: dict(c) for cid, c in sorted(by_control.items())},
            "target": self.target,
            "exit_status": exitstatus,
            "started": self.started.isoformat(timespec="seconds"),
            "finished": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        }

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.json_path is None:
            return
        doc = {"schema": SCHEMA, "summary": self.summary(int(exitstatus)), "results": self.results}
        path = self.json_path
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".k8shardening-", suffix=".json", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=1)
            fh.write("\n")
        os.replace(tmp, path)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        tr = terminalreporter
        s = self.summary()
        verbose = self.config.get_verbosity() >= 0
        if verbose:
            tr.write_sep("-", "k8shardening summary")
            t = self.target
            src = t["sources"]
            where = ", ".join(src) if len(src) <= 3 else f"{len(src)} files"
            tr.write_line(f"target: {t['objects']} objects read from {where}")
            tr.write_line(f"scope: {t['scope']}")
            if t["out_of_scope"]:
                left = ", ".join(f"{ns} ({n})" for ns, n in t["out_of_scope"].items())
                tr.write_line(f"out of scope: {left}")
            for kind, why in t.get("unavailable", {}).items():
                tr.write_line(f"not readable, tests needing it skipped: {kind}: {why}")
        elif self.target.get("unavailable"):
            tr.write_line("not readable, tests needing them skipped: " + ", ".join(self.target["unavailable"]))
        sev = ", ".join(f"{n} {k}" for k, n in s["failed_by_severity"].items())
        score = f"{s['score']}%" if s["score"] is not None else "n/a"
        tr.write_line(f"compliance: {s['passed']} passed, {s['failed']} failed"
                      f"{' (' + sev + ')' if sev else ''}, {s['skipped']} skipped, {s['error']} errors; "
                      f"score {score} over {len(s['controls'])} controls")
        if verbose:
            worst = sorted(((c["failed"], cid) for cid, c in s["controls"].items() if c.get("failed")),
                           reverse=True)[:5]
            if worst:
                tr.write_line("most failed controls: " + ", ".join(f"{cid} ({n})" for n, cid in worst))
            if self.json_path is not None:
                tr.write_line(f"JSON results: {self.json_path}")
