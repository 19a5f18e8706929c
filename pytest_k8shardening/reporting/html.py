"""pytest-html bridge: what was scanned, compliance columns, a filter, links, a summary, finding details.

The title names the target and the Environment table (pytest-metadata's,
which pytest-html shows) carries the scan's metadata; Control, Severity and
Resource columns, a severity filter and a search over the rows, the guide and
the cited upstream pages in the Links column, and each finding with its own
references under its row. Registered only when pytest-html is active
(``--html``). Values come from the result record on each report
(``report.k8s_result``), so they are right under pytest-xdist as well.
"""

from __future__ import annotations

import datetime as _dt
import json
from html import escape
from typing import Any

import pytest

from ..annotate import is_error, result_of
from ..controls import SEVERITIES
from .metadata import GUIDE_URL, reference_links, scan_metadata, target_label

__all__ = ["HtmlBridge", "control_table", "finding_details", "framework_table"]


def _resource_ref(res: dict[str, Any] | None) -> str:
    if not res:
        return ""
    ref = "/".join(x for x in (res.get("namespace"), res.get("kind"), res.get("name")) if x)
    if res.get("container"):
        ref += f":{res.get('containerType', 'container')}={res['container']}"
    return ref


def _severity_cell(sev: str | None) -> str:
    """The severity as shown, after a hidden rank: pytest-html sorts a column on the cell's markup, so the
    rank keeps critical first while the reader (and a copy of the cell) sees only the word."""
    if sev not in SEVERITIES:
        return '<td class="col-k8sSeverity"></td>'
    return (f'<td class="col-k8sSeverity" data-severity="{sev}"><span class="k8sh-rank" hidden>'
            f"{SEVERITIES.index(sev) + 1}</span>{sev}</td>")


def _references_text(refs: dict[str, Any]) -> str:
    items = []
    for key, value in refs.items():
        if value:
            items.append(f"{key}: {', '.join(value) if isinstance(value, (list, tuple)) else value}")
    return "; ".join(items)


def finding_details(k8s: dict[str, Any], rationale: str | None = None,
                    findings: list[dict[str, Any]] | None = None) -> str:
    """The extra shown under a row: rationale, remediation, findings with their own references, location."""
    ctrl = k8s.get("control") or {}
    refs = ctrl.get("references") or {}
    res = k8s.get("resource") or {}
    parts = [f"<div class=\"k8sh-details\"><p><b>{escape(ctrl.get('control', ''))}</b> "
             f"[{escape(ctrl.get('severity', ''))}] {escape(ctrl.get('title', ''))}</p>"]
    if rationale:
        parts.append(f"<p><b>Why:</b> {escape(rationale)}</p>")
    parts.append(f"<p><b>How to fix:</b> {escape(ctrl.get('remediation', ''))}</p>")
    if ctrl.get("guide"):
        parts.append(f"<p><b>Guide:</b> {escape(ctrl['guide'])}</p>")
    if findings:
        rows = []
        for f in findings:
            message = f.get("message") or ""
            field = f" (<code>{escape(f['field'])}</code>)" if f.get("field") and f["field"] not in message else ""
            # the line of the field the finding names (the terminal's and SARIF's file:line)
            at = (f" <span class=\"k8sh-at\">{escape(str(res['file']))}:{escape(str(f['line']))}</span>"
                  if res.get("file") and f.get("line") else "")
            own = _references_text(f.get("references") or {})
            rows.append(f"<li>{escape(message)}{field}{at}"
                        + (f" <span class=\"k8sh-refs\">({escape(own)})</span>" if own else "") + "</li>")
        parts.append(f"<p><b>Findings</b> (each with the upstream ids it matches):</p><ul class=\"k8sh-findings\">"
                     f"{''.join(rows)}</ul>")
    ref_text = _references_text(refs)
    if ref_text:
        parts.append(f"<p><b>Control references:</b> {escape(ref_text)}</p>")
    # A file location only where there is a file: a manifest scan's undeclared namespace has none, and is
    # not a live cluster object either.
    where = f" ({escape(str(res['file']))}:{escape(str(res.get('line')))})" if res.get("file") else ""
    parts.append(f"<p><b>Resource:</b> {escape(_resource_ref(res))}{where}</p></div>")
    return "".join(parts)


_SEVERITY_OPTIONS = "".join(f'<option value="{s}">{s}{" or worse" if s != "critical" else ""}</option>'
                            for s in SEVERITIES)

#: A severity filter and a text search over the results table. pytest-html rebuilds the table on every sort
#: and outcome filter (its own checkboxes), so the filter is applied again whenever the table is replaced.
#: ``?severity=high&search=shop`` in the address sets both (as pytest-html's ``?visible=`` and ``?sort=``).
FILTER_BAR = f"""<div id="k8sh-filter"><label>Severity <select id="k8sh-severity"><option value="">any</option>
{_SEVERITY_OPTIONS}</select></label> <label>Search <input id="k8sh-search" type="search" size="40"
placeholder="control, resource, finding text"></label> <span id="k8sh-shown"></span></div>
<style>#results-table tbody.k8sh-hidden{{display:none}} #k8sh-filter{{margin:8px 0}}
#k8sh-filter label{{margin-right:1em}}
.col-links a.col-links__extra{{display:block;white-space:nowrap}}</style>
<script>(function () {{
  var RANKS = {json.dumps(list(SEVERITIES))};
  var sev = document.getElementById('k8sh-severity'), query = document.getElementById('k8sh-search');
  var params = new URLSearchParams(window.location.search);
  if (RANKS.indexOf(params.get('severity')) >= 0) {{ sev.value = params.get('severity'); }}
  if (params.get('search')) {{ query.value = params.get('search'); }}
  function apply() {{
    var max = RANKS.indexOf(sev.value), text = query.value.trim().toLowerCase(), shown = 0, total = 0;
    document.querySelectorAll('#results-table tbody.results-table-row').forEach(function (row) {{
      var cell = row.querySelector('td.col-k8sSeverity'), rank = cell ? RANKS.indexOf(cell.dataset.severity) : -1;
      var keep = (max < 0 || (rank >= 0 && rank <= max)) && (!text || row.textContent.toLowerCase().indexOf(text) >= 0);
      row.classList.toggle('k8sh-hidden', !keep);
      total += 1; shown += keep ? 1 : 0;
    }});
    document.getElementById('k8sh-shown').textContent =
      (max >= 0 || text) ? shown + ' of ' + total + ' rows shown' : '';
  }}
  function remember() {{
    var url = new URL(window.location.href);
    sev.value ? url.searchParams.set('severity', sev.value) : url.searchParams.delete('severity');
    query.value ? url.searchParams.set('search', query.value) : url.searchParams.delete('search');
    window.history.replaceState({{}}, '', url);
    apply();
  }}
  sev.addEventListener('change', remember);
  query.addEventListener('input', remember);
  document.addEventListener('DOMContentLoaded', function () {{
    var table = document.getElementById('results-table');
    if (table && table.parentNode) {{ new MutationObserver(apply).observe(table.parentNode, {{childList: true}}); }}
    apply();
  }});
}})();</script>"""


class HtmlBridge:
    """Adds a title, scan metadata, compliance columns, a filter, extras and a summary to the pytest-html report."""

    def __init__(self, collector: Any) -> None:
        self.collector = collector
        self.started = _dt.datetime.now(_dt.timezone.utc)

    def _settings(self) -> Any:
        session = self.collector.config.pluginmanager.get_plugin("k8shardening-session")
        return session.settings

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """Scan metadata into pytest-metadata's table, which pytest-html shows as Environment (read after this)."""
        try:
            from pytest_metadata.plugin import metadata_key
        except ImportError:  # pragma: no cover - pytest-html 4 depends on pytest-metadata 2+
            return
        metadata = session.config.stash.get(metadata_key, None)
        if metadata is None:
            return
        # pytest-html inserts each value as HTML
        rows = scan_metadata(self._settings(), self.started)
        metadata.update({k: escape(v) for k, v in rows.items()})

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_report_title(self, report: Any) -> None:
        report.title = f"Kubernetes hardening: {target_label(self._settings())}"

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
        cells.insert(3, _severity_cell(severity))
        cells.insert(4, f'<td class="col-k8sResource">{escape(_resource_ref(rec.resource if rec else None))}</td>')

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_summary(self, prefix: list[str], summary: list[str], postfix: list[str],
                                    session: pytest.Session) -> None:
        c = self.collector
        s = c.summary()
        score = f"{s['score']}%" if s["score"] is not None else "n/a"
        rows = []
        for name, v in s["by_category"].items():
            sc = f"{v['score']}%" if v.get("score") is not None else "n/a"
            rows.append(f"<tr><td>Category</td><td>{escape(name)}</td><td>{v.get('passed', 0)}</td>"
                        f"<td>{v.get('failed', 0)}</td><td>{v.get('waived', 0)}</td>"
                        f"<td>{v.get('skipped', 0)}</td><td>{sc}</td></tr>")
        worst = "".join(f"<li>{escape(cid)}: {n} failed</li>" for cid, n in c.worst_controls())
        sev = ", ".join(f"{n} {k}" for k, n in s["failed_by_severity"].items()) or "none"
        gate = s.get("gate")
        gate_html = ""
        if gate is not None:
            gate_html = ("<p id=\"k8sh-gate\"><b>Gate:</b> " +
                         ("passed" if gate["passed"] else "FAILED: " + escape("; ".join(gate["reasons"]))) + "</p>")
        target = s.get("target") or {}
        sources = target.get("sources") or []
        read = ", ".join(sources) if len(sources) <= 3 else f"{len(sources)} files"
        target_html = (f"<p id=\"k8sh-target\"><b>Target:</b> {escape(target_label(self._settings()))}: "
                       f"{target.get('objects', 0)} objects read from {escape(read or 'nothing')}; "
                       f"scope {escape(str(target.get('scope', '')))}.</p>")
        prefix.append(
            f'<div id="k8sh-summary"><h2>Compliance summary</h2>{target_html}'
            f"<p><b>Score:</b> {score} ({s['passed']} passed, {s['failed']} failed, {s['waived']} waived, "
            f"{s['skipped']} skipped, {s['error']} errors). <b>Failed by severity:</b> {escape(sev)}.</p>{gate_html}"
            f"{framework_table(s['by_framework'])}"
            f'<h3>Results by category</h3><table id="k8sh-scores"><thead><tr><th>Scope</th><th>Name</th>'
            f"<th>Passed</th><th>Failed</th><th>Waived</th><th>Skipped</th><th>Score</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>"
            f"<h3>Most failed controls</h3><ol>{worst or '<li>none</li>'}</ol>{control_table(s['by_control'])}</div>")
        postfix.append(FILTER_BAR)


def framework_table(by_framework: dict[str, dict[str, Any]]) -> str:
    """Each framework's score over its objects (an object counted once per framework: it passes when no
    control of the framework failed on it), as the terminal and the JSON summary count them."""
    rows = []
    for name, v in by_framework.items():
        objs = v.get("objects") or {}
        sc = f"{v['score']}%" if v.get("score") is not None else "n/a"
        rows.append(f"<tr><td>{escape(name)}</td><td>{objs.get('passed', 0)}</td><td>{objs.get('failed', 0)}</td>"
                    f"<td>{objs.get('error', 0)}</td><td>{sc}</td></tr>")
    return ('<h3>Scores by framework</h3><p>Objects checked by each framework\'s controls: an object passes when '
            'none of them failed on it.</p><table id="k8sh-frameworks"><thead><tr><th>Framework</th>'
            "<th>Objects passed</th><th>Objects failed</th><th>Objects errored</th><th>Score</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def control_table(by_control: dict[str, dict[str, Any]]) -> str:
    """Every control's status (the JSON summary's ``by_control``; the terminal's ``--k8s-controls-table``):
    most severe first, then by id."""
    def rank(item: tuple[str, dict[str, Any]]) -> tuple[int, str]:
        sev = item[1].get("severity")
        return (SEVERITIES.index(sev) if sev in SEVERITIES else len(SEVERITIES)), item[0]

    # a plain cell: the results table's severity cells (class, hidden rank) are what its sort and filter read
    rows = [f"<tr><td>{escape(cid)}</td><td>{escape(v.get('severity') or '')}</td>"
            + "".join(f"<td>{v.get(key, 0)}</td>" for key in ("passed", "failed", "waived", "skipped", "error"))
            + "</tr>" for cid, v in sorted(by_control.items(), key=rank)]
    return ('<h3>Controls</h3><table id="k8sh-controls"><thead><tr><th>Control</th><th>Severity</th>'
            "<th>Passed</th><th>Failed</th><th>Waived</th><th>Skipped</th><th>Errors</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def _links(ctrl: dict[str, Any], findings: list[dict[str, Any]] | None) -> list[tuple[str, str]]:
    """The Links column: the guide, then each upstream page the control or one of its findings cites."""
    links: list[tuple[str, str]] = []
    if "nsa" in (ctrl.get("frameworks") or ()):
        links.append(("NSA/CISA guide", GUIDE_URL))
    for refs in [*(f.get("references") or {} for f in findings or ()), ctrl.get("references") or {}]:
        for link in reference_links(refs):
            if link not in links:
                links.append(link)
    return links


def add_extras(report: pytest.TestReport, k8s: dict[str, Any], rationale: str | None) -> None:
    """Attach the finding details and the reference links (``k8s``: the item's control dict and resource)
    to the report pytest-html shows for the test (where the test runs, after its record is attached)."""
    if not k8s.get("control"):
        return
    if report.when != "call" and not (report.when == "setup" and not report.passed):
        return
    from pytest_html import extras

    rec = result_of(report)
    findings = rec.findings if rec is not None else None
    # pytest-html writes a link's name and address into the page unescaped
    links = [extras.url(escape(url), name=escape(name)) for name, url in _links(k8s["control"], findings)]
    report.extras = [*getattr(report, "extras", []),  # type: ignore[attr-defined]  # pytest-html's attribute
                     extras.html(finding_details(k8s, rationale, findings)), *links]
