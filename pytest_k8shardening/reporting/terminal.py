"""The terminal summary, printed last: target, scope, a per-control table on request, compliance counts,
scores by framework, waivers, gate (the last line)."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from ..collector import rows
from ..controls import SEVERITIES
from ..options import settings_of

if TYPE_CHECKING:
    from ..collector import ResultsCollector

__all__ = ["control_table", "framework_line", "write_summary"]

_HINT_FAILURES = 2000  # failed findings above which the summary suggests --tb=line or grouping


def write_summary(tr: Any, c: ResultsCollector) -> None:
    """The compliance summary, after everything pytest prints (the counts and the gate last; short with ``-q``)."""
    s = c.final_summary or c.summary()
    verbose = c.config.get_verbosity() >= 0
    if verbose:
        tr.write_sep("-", "k8shardening summary")
        t = c.target
        src = t["sources"]
        where = ", ".join(src) if len(src) <= 3 else f"{len(src)} files"
        tr.write_line(f"target: {t['objects']} objects read from {where}")
        if t.get("inputs"):
            from ..repository import describe_inputs

            for line in describe_inputs(t["inputs"], verbose=c.config.get_verbosity() > 0):
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
                          + ("" if c.config.get_verbosity() > 0 else " (-v lists them)"))
            if c.config.get_verbosity() > 0:
                for r in t.get("owner_refused", ()):
                    tr.write_line(f"  {r['id']}: {r['reason']}")
        for kind, why in t.get("unavailable", {}).items():
            tr.write_line(f"not readable, tests needing it skipped: {kind}: {why}")
    elif c.target.get("unavailable"):
        tr.write_line("not readable, tests needing them skipped: " + ", ".join(c.target["unavailable"]))
    grouping = c.target.get("grouping") or {}
    if grouping and (verbose or grouping["requested"] == "auto" and grouping["mode"] != "resource"):
        tr.write_line(f"tests: {grouping['reason']}")  # -q too when the ids are not per object
    if c.config.option.collectonly:  # nothing was checked: no compliance line, score or gate
        return
    if verbose:
        skipped: Counter[str] = Counter()
        for outcome, *_, message, n in rows(c.results):
            if outcome == "skipped" and message:
                skipped[message] += n
        for why, n in skipped.most_common(5):
            tr.write_line(f"skipped ({n}): {why[:160]}")
        worst = c.worst_controls()
        if worst:
            tr.write_line("most failed controls: " + ", ".join(f"{cid} ({n})" for cid, n in worst))
        for label, path in (("JSON results", c.json_path), ("SARIF", c.sarif_path)):
            if path is not None:
                tr.write_line(f"{label}: {path}")
    if settings_of(c.config).controls_table and s["by_control"]:
        for line in control_table(s["by_control"]):
            tr.write_line(line)
    # The counts, the scores and the gate last: what a reader of the run's tail needs.
    if c.finished or not c.incomplete_reasons:  # nothing ran (collection errors): only why, below
        sev = ", ".join(f"{n} {k}" for k, n in s["failed_by_severity"].items())
        score = f"{s['score']}%" if s["score"] is not None else "n/a"
        waived = f", {s['waived']} waived" if s["waived"] else ""
        tr.write_line(f"compliance: {s['passed']} passed, {s['failed']} failed"
                      f"{' (' + sev + ')' if sev else ''}{waived}, {s['skipped']} skipped, {s['error']} errors; "
                      f"score {score} over {len(s['controls'])} controls")
        if len(s["by_framework"]) > 1:
            tr.write_line(framework_line(s["by_framework"]))
    for why in c.incomplete_reasons:
        tr.write_line(f"run incomplete: {why}; what was not run was not checked", red=True)
    waivers = s["waivers"]
    for w in waivers["expired"]:
        tr.write_line(f"waiver #{w['index']} ({w['control']}) expired on {w['expires']} "
                      f"(owner {w['owner']}): its findings fail again", yellow=True)
    for w in waivers["stale"]:
        tr.write_line(f"stale waiver #{w['index']} ({w['control']}, owner {w['owner']}) matched no failing "
                      "finding: remove it", yellow=True)
    for text in c.sarif_warnings:
        tr.write_line(f"SARIF: {text}", yellow=True)
    tbstyle = getattr(c.config.option, "tbstyle", "auto")
    grouped = c.grouped or (c.target.get("grouping") or {}).get("mode", "resource") != "resource"
    if s["failed"] > _HINT_FAILURES and not grouped and tbstyle not in ("line", "no"):
        tr.write_line(f"hint: {s['failed']} findings were printed in full above. On clusters this size "
                      "use --tb=line (one line each), or --k8s-group-by namespace|control for fewer, "
                      "grouped items (README: Large clusters).", yellow=True)
    gate = c.gate_result
    if gate is not None:
        if gate["status"] == "incomplete":
            tr.write_line("gate: INCOMPLETE: " + "; ".join(gate["reasons"]), red=True)
        elif gate["passed"]:
            extra = f"; {gate['reported_only']} finding(s) below the threshold are reported only" \
                if gate["reported_only"] else ""
            tr.write_line(f"gate: passed{extra}", green=True)
        else:
            tr.write_line("gate: FAILED: " + "; ".join(gate["reasons"]), red=True)


_COUNTS = (("passed", "passed"), ("failed", "failed"), ("waived", "waived"), ("skipped", "skipped"),
           ("error", "errors"))


def control_table(by_control: dict[str, dict[str, Any]]) -> list[str]:
    """``--k8s-controls-table``: one aligned row per control (the JSON summary's ``by_control``), most severe
    first, then by id."""
    def rank(item: tuple[str, dict[str, Any]]) -> tuple[int, str]:
        sev = item[1].get("severity")
        return (SEVERITIES.index(sev) if sev in SEVERITIES else len(SEVERITIES)), item[0]

    width = max(len("control"), *(len(cid) for cid in by_control))
    lines = ["controls:", f"  {'control':<{width}}  {'severity':<8}" + "".join(f" {h:>7}" for _, h in _COUNTS)]
    for cid, row in sorted(by_control.items(), key=rank):
        lines.append(f"  {cid:<{width}}  {row.get('severity') or '-':<8}"
                     + "".join(f" {row.get(key, 0):>7}" for key, _ in _COUNTS))
    return lines


def framework_line(by_framework: dict[str, dict[str, Any]]) -> str:
    """Each framework's own score, over objects (``collector.framework_objects``), when several ran."""
    parts = []
    for name, v in by_framework.items():
        objs = v.get("objects") or {}
        decided = objs.get("passed", 0) + objs.get("failed", 0)
        score = f"{v['score']}%" if v.get("score") is not None else "n/a"
        errored = f", {objs['error']} errored" if objs.get("error") else ""
        parts.append(f"{name} {score} ({objs.get('passed', 0)}/{decided}{errored})")
    return "scores by framework (objects with no failed control of it): " + ", ".join(parts)
