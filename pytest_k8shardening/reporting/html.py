"""pytest-html bridge: Control, Severity and Resource columns, a compliance summary, finding details.

Registered only when pytest-html is active (``--html``). Values come from
the result record on each report (``report.k8s_result``), so they are right under pytest-xdist as well.
"""

from __future__ import annotations

from html import escape
from typing import Any

import pytest

from ..annotate import is_error, result_of
from ..controls import SEVERITIES

__all__ = ["HtmlBridge", "finding_details"]


def _resource_ref(res: dict[str, Any] | None) -> str:
    if not res:
        return ""
    ref = "/".join(x for x in (res.get("namespace"), res.get("kind"), res.get("name")) if x)
    if res.get("container"):
        ref += f":{res.get('containerType', 'container')}={res['container']}"
    return ref


def _severity_cell(sev: str | None) -> str:
    # pytest-html sorts cells as text: a rank prefix keeps critical first.
    if sev not in SEVERITIES:
        return ""
    return f"{SEVERITIES.index(sev) + 1} {sev}"


def finding_details(k8s: dict[str, Any], rationale: str | None = None) -> str:
    """The extra shown under a row: rationale, remediation, references, resource location."""
    ctrl = k8s.get("control") or {}
    refs = ctrl.get("references") or {}
    ref_items = [f"{k}: {', '.join(v) if isinstance(v, list) else v}" for k, v in refs.items() if v]
    res = k8s.get("resource") or {}
    where = f"{res.get('file')}:{res.get('line')}" if res.get("file") else "live cluster"
    parts = [f"<div class=\"k8sh-details\"><p><b>{escape(ctrl.get('control', ''))}</b> "
             f"[{escape(ctrl.get('severity', ''))}] {escape(ctrl.get('title', ''))}</p>"]
    if rationale:
        parts.append(f"<p><b>Why:</b> {escape(rationale)}</p>")
    parts.append(f"<p><b>How to fix:</b> {escape(ctrl.get('remediation', ''))}</p>")
    if ctrl.get("guide"):
        parts.append(f"<p><b>Guide:</b> {escape(ctrl['guide'])}</p>")
    if ref_items:
        parts.append(f"<p><b>References:</b> {escape('; '.join(ref_items))}</p>")
    parts.append(f"<p><b>Resource:</b> {escape(_resource_ref(res))} ({escape(where)})</p></div>")
    return "".join(parts)


class HtmlBridge:
    """Adds compliance columns, extras and a summary to the pytest-html report."""

    def __init__(self, collector: Any) -> None:
        self.collector = collector

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        cells.insert(2, '<th class="sortable" data-column-type="k8sControl">Control</th>')
        cells.insert(3, '<th class="sortable" data-column-type="k8sSeverity">Severity</th>')
        cells.insert(4, '<th class="sortable" data-column-type="k8sResource">Resource</th>')

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_row(self, report: pytest.TestReport, cells: list[str]) -> None:
        rec = result_of(report)
        control, severity = (rec.control.control, rec.control.severity) if rec is not None else (None, None)
        if is_error(report) and cells:
            # a crash inside a control is an error, as in the terminal and JUnit (pytest-html counts
            # only setup and teardown failures as errors)
            cells[0] = cells[0].replace(">Failed<", ">Error<")
        cells.insert(2, f'<td class="col-k8sControl">{escape(control or "")}</td>')
        cells.insert(3, f'<td class="col-k8sSeverity">{_severity_cell(severity)}</td>')
        cells.insert(4, f'<td class="col-k8sResource">{escape(_resource_ref(rec.resource if rec else None))}</td>')

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_summary(self, prefix: list[str], summary: list[str], postfix: list[str],
                                    session: pytest.Session) -> None:
        c = self.collector
        s = c.summary()
        score = f"{s['score']}%" if s["score"] is not None else "n/a"
        rows = []
        for title, data in (("Framework", s["by_framework"]), ("Category", s["by_category"])):
            for name, v in data.items():
                sc = f"{v['score']}%" if v.get("score") is not None else "n/a"
                rows.append(f"<tr><td>{title}</td><td>{escape(name)}</td><td>{v.get('passed', 0)}</td>"
                            f"<td>{v.get('failed', 0)}</td><td>{v.get('waived', 0)}</td>"
                            f"<td>{v.get('skipped', 0)}</td><td>{sc}</td></tr>")
        worst = "".join(f"<li>{escape(cid)}: {n} failed</li>" for cid, n in c.worst_controls())
        sev = ", ".join(f"{n} {k}" for k, n in s["failed_by_severity"].items()) or "none"
        gate = s.get("gate")
        gate_html = ""
        if gate is not None:
            gate_html = ("<p id=\"k8sh-gate\"><b>Gate:</b> " +
                         ("passed" if gate["passed"] else "FAILED: " + escape("; ".join(gate["reasons"]))) + "</p>")
        prefix.append(
            f'<div id="k8sh-summary"><h2>Compliance summary</h2>'
            f"<p><b>Score:</b> {score} ({s['passed']} passed, {s['failed']} failed, {s['waived']} waived, "
            f"{s['skipped']} skipped, {s['error']} errors). <b>Failed by severity:</b> {escape(sev)}.</p>{gate_html}"
            f'<table id="k8sh-scores"><thead><tr><th>Scope</th><th>Name</th><th>Passed</th><th>Failed</th>'
            f"<th>Waived</th><th>Skipped</th><th>Score</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
            f"<h3>Most failed controls</h3><ol>{worst or '<li>none</li>'}</ol></div>")


def add_extras(report: pytest.TestReport, k8s: dict[str, Any], rationale: str | None) -> None:
    """Attach the finding details (``k8s``: the item's control dict and resource) to the report
    pytest-html shows for the test (where the test runs)."""
    if not k8s.get("control"):
        return
    if report.when != "call" and not (report.when == "setup" and not report.passed):
        return
    from pytest_html import extras

    report.extras = [*getattr(report, "extras", []),  # type: ignore[attr-defined]  # pytest-html's attribute
                     extras.html(finding_details(k8s, rationale))]
