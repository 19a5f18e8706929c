"""SARIF 2.1.0 that GitHub code scanning accepts: one result per failed or waived finding.

Code scanning refuses a whole upload for one result without a physical location, and resolves
``artifactLocation.uri`` against the repository root. So every result here names a file relative to
``root`` (git's top level of the scanned path by default, ``--k8s-sarif-root`` to set it; declared
as ``%SRCROOT%`` in ``originalUriBaseIds``) and a ``region.startLine``: the line of the field its
first finding names (the object's line for helm- or kustomize-rendered objects, whose rendered
lines mean nothing in the source). A live scan's results point into the saved snapshot
(``--k8s-save-snapshot``), read back for the lines; without one there is no file, and the plugin
refuses ``--k8s-report-sarif`` at the start. Code scanning's documented limits (results per run,
tags per rule) are kept: what does not fit stays in the JSON report only, and a run-level
notification (and a terminal warning, through ``warnings``) says so. Waived findings are kept,
marked with an external suppression and its reason. Errors are invocation notifications.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..checks import REFERENCE_KEYS
from ..controls import REGISTRY, SEVERITIES
from ..waivers import Waiver
from .metadata import GUIDE_URL, KUBESCAPE_URL, PSS_URL

__all__ = ["LIMITS", "repository_root", "sarif_document"]

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
# GitHub code scanning reads properties.security-severity (0.1-10.0).
_SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "1.0"}
#: GitHub code scanning's upload limits ("SARIF results exceed limit", docs.github.com): a file over
#: one of them is rejected. One run per file, one location per result here.
LIMITS = {"runs_per_file": 20, "results_per_run": 25_000, "rules_per_run": 25_000, "locations_per_result": 1_000,
          "tags_per_rule": 20}
CIS_URL = "https://www.cisecurity.org/benchmark/kubernetes"
PROJECT_URL = "https://pypi.org/project/pytest-k8shardening/"
SRCROOT = "%SRCROOT%"


def repository_root(start: Path) -> Path:
    """git's top level of ``start`` (a file or folder); ``start``'s folder when it is not in a git work tree."""
    folder = start if start.is_dir() else start.parent
    folder = folder if str(folder) else Path(".")
    try:
        proc = subprocess.run(["git", "-C", str(folder), "rev-parse", "--show-toplevel"], capture_output=True,
                              text=True, timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        proc = None
    if proc is not None and proc.returncode == 0 and proc.stdout.strip():
        return Path(proc.stdout.strip()).resolve()
    return folder.resolve()


def _help_uri(r: dict[str, Any]) -> str:
    frameworks = r.get("frameworks") or []
    refs = r.get("references") or {}
    if "nsa" in frameworks:
        return GUIDE_URL
    if refs.get("pss") or any(f.startswith("pss") for f in frameworks):
        return PSS_URL + (f"#{refs['pss']}" if refs.get("pss") in ("baseline", "restricted") else "")
    if refs.get("kubescape"):
        return KUBESCAPE_URL.format(str(refs["kubescape"][0]).lower())
    if "cis" in frameworks or refs.get("cis"):
        return CIS_URL
    return PROJECT_URL


def _references_lines(refs: dict[str, Any]) -> list[tuple[str, str | None]]:
    """(text, url or None) for each upstream id the rule cites."""
    out: list[tuple[str, str | None]] = []
    out += [(f"Kubescape {i}", KUBESCAPE_URL.format(str(i).lower())) for i in refs.get("kubescape") or ()]
    out += [(f"Trivy {i}", None) for i in refs.get("trivy") or ()]
    out += [(f"CIS Kubernetes Benchmark {i}", CIS_URL) for i in refs.get("cis") or ()]
    if refs.get("pss"):
        out.append((f"Pod Security Standards, {refs['pss']} level", PSS_URL + f"#{refs['pss']}"))
    return out


def _rule(r: dict[str, Any]) -> dict[str, Any]:
    sev = r["severity"] or "medium"
    ctrl = REGISTRY.get(r["control"])
    rationale = (ctrl.rationale if ctrl is not None else "") or ""
    guide = (ctrl.guide if ctrl is not None else "") or ""
    remediation = r["remediation"] or ""
    title = r["title"] or r["control"]
    refs = _references_lines(r["references"] or {})
    help_uri = _help_uri(r)
    text = [title]
    md = [f"**{title}** ({sev})"]
    if rationale:
        text.append(f"Why: {rationale}")
        md.append(f"**Why it matters:** {rationale}")
    if remediation:
        text.append(f"How to fix: {remediation}")
        md.append(f"**How to fix:** {remediation}")
    if guide:
        text.append(f"Guide: {guide}")
        md.append(f"**Guide:** [{guide}]({help_uri})" if help_uri != PROJECT_URL else f"**Guide:** {guide}")
    if refs:
        text.append("References: " + ", ".join(t for t, _ in refs))
        md.append("**References:**\n" + "\n".join(f"- [{t}]({u})" if u else f"- {t}" for t, u in refs))
    tags: list[str] = []
    for tag in ("security", "kubernetes", *r["frameworks"], r.get("category")):
        if tag and tag not in tags:
            tags.append(tag)
    return {
        "id": r["control"],
        "name": r["control"],
        "shortDescription": {"text": title},
        "fullDescription": {"text": rationale or title},
        "helpUri": help_uri,
        "help": {"text": "\n\n".join(text), "markdown": "\n\n".join(md)},
        "defaultConfiguration": {"level": _LEVEL.get(sev, "warning")},
        "properties": {"tags": tags[:LIMITS["tags_per_rule"]], "security-severity": _SECURITY_SEVERITY.get(sev, "5.5"),
                       "severity": sev, "references": r["references"]},
    }


def _union(references: dict[str, Any], findings: list[dict[str, Any]]) -> dict[str, Any]:
    """The upstream ids this result fails: the union of its findings' references, shaped like the rule's."""
    out = dict(references)
    for key in REFERENCE_KEYS:
        ids: list[str] = []
        for f in findings:
            ids += [i for i in (f.get("references") or references).get(key) or () if i not in ids]
        out[key] = ids
    return out


class _Snapshot:
    """A saved snapshot read back: each object's line, and its fields' lines (YAML snapshots)."""

    def __init__(self, path: Path) -> None:
        from ..loader import ManifestError, parse_text

        self.path = path
        self.objects: dict[tuple[Any, ...], Any] = {}
        try:
            objs = parse_text(path.read_text(encoding="utf-8"), str(path), is_json=path.suffix == ".json")
        except (OSError, UnicodeDecodeError, ManifestError):
            objs = []
        for o in objs:
            self.objects.setdefault((o.kind, o.namespace, o.name), o)

    def line(self, res: dict[str, Any], fields: Sequence[str | None]) -> int:
        from ..loader import field_line

        obj = self.objects.get((res.get("kind"), res.get("namespace"), res.get("name")))
        if obj is None:
            return 1
        for field in fields:
            line = field_line(obj.raw, obj.lines, field)
            if line:
                return line
        return obj.source.line or 1


def _relative(file: str, root: Path, cwd: Path) -> str:
    path = Path(os.path.abspath(cwd / file))
    try:
        path = path.resolve()
    except OSError:
        pass
    return Path(os.path.relpath(path, root)).as_posix()


def _rank(r: dict[str, Any]) -> tuple[int, int]:
    sev = r["severity"] if r["severity"] in SEVERITIES else "medium"
    return (0 if r["outcome"] == "failed" else 1, SEVERITIES.index(sev))


def sarif_document(results: list[dict[str, Any]], waivers: list[Waiver] | None = None, *,
                   incomplete: list[str] | None = None, root: Path | None = None, snapshot: Path | None = None,
                   cwd: Path | None = None, warnings: list[str] | None = None) -> dict[str, Any]:
    """The SARIF log for ``results`` (entries of the JSON results), within code scanning's limits.

    ``root``: the folder URIs are relative to (default: git's top level of ``cwd``). ``snapshot``:
    where a live scan was saved, for results whose object has no file. ``warnings`` gets a line
    for each thing the SARIF leaves out (the JSON report has it). Errors (a check that crashed)
    and an incomplete session are not findings: they are the invocation's error notifications,
    and the invocation did not execute successfully.
    """
    try:
        from importlib.metadata import version
        tool_version = version("pytest-k8shardening")
    except Exception:  # pragma: no cover - running from a source tree without metadata
        tool_version = "0.0.0"
    cwd = cwd or Path.cwd()
    root = (root or repository_root(cwd)).resolve()
    snap: _Snapshot | None = None
    rules: dict[str, dict[str, Any]] = {}
    out: list[tuple[tuple[int, int], dict[str, Any]]] = []
    notes: list[dict[str, Any]] = [{"level": "error", "message": {"text": f"run incomplete: {why}"}}
                                   for why in incomplete or ()]
    no_file = outside = 0
    for r in results:
        if r["outcome"] == "error":
            res = r["resource"] or {}
            name = "/".join(x for x in (res.get("namespace"), res.get("kind"), res.get("name")) if x) or r["nodeid"]
            notes.append({"level": "error", "message": {"text": f"{r['control'] or r['nodeid']}: {name}: "
                                                                f"error: {r['message']}"},
                          "properties": {"nodeid": r["nodeid"]}})
            continue
        if r["outcome"] not in ("failed", "waived") or not r["control"]:
            continue
        res = r["resource"] or {}
        findings = r["findings"] or [{"message": r["message"] or r["title"], "field": None, "line": None}]
        fields = [f.get("field") for f in findings]
        file = res.get("file")
        if file and not str(file).startswith("<"):
            uri = _relative(str(file), root, cwd)
            line = next((f["line"] for f in findings if f.get("line")), None) or res.get("line") or 1
        elif snapshot is not None:
            if snap is None:
                snap = _Snapshot(snapshot)
            uri = _relative(str(snapshot), root, cwd)
            line = snap.line(res, fields)
        else:
            no_file += 1
            continue
        if uri.startswith("../"):
            outside += 1
        if r["control"] not in rules:
            rules[r["control"]] = _rule(r)
        name = "/".join(x for x in (res.get("namespace"), res.get("kind"), res.get("name")) if x) or r["nodeid"]
        if res.get("container"):
            name += f":{res.get('containerType', 'container')}={res['container']}"
        text = f"{r['title']}: {name}: " + "; ".join(f["message"] for f in findings if f.get("message"))
        identity = "|".join((r["control"], uri, name))  # no line: an edit above the object keeps the alert
        result: dict[str, Any] = {
            "ruleId": r["control"],
            "level": _LEVEL.get(r["severity"] or "medium", "warning"),
            "message": {"text": text},
            "locations": [{
                "physicalLocation": {"artifactLocation": {"uri": uri, "uriBaseId": SRCROOT},
                                     "region": {"startLine": int(line)}},
                "logicalLocations": [{"name": name, "kind": "resource", "fullyQualifiedName": name}],
            }],
            "partialFingerprints": {"k8shardening/v2": hashlib.sha256(identity.encode()).hexdigest()},
            "properties": {"nodeid": r["nodeid"], "fields": [f for f in fields if f],
                           "references": _union(r["references"], findings)},
        }
        if r["outcome"] == "waived":
            result["suppressions"] = [{"kind": "external", "status": "accepted",
                                       "justification": r.get("waiver") or "waived"}]
        out.append((_rank(r), result))
    said: list[str] = []
    limit = LIMITS["results_per_run"]
    if len(out) > limit:  # the most severe failures first; the JSON report keeps every result
        out.sort(key=lambda x: x[0])
        said.append(f"{len(out) - limit} of {len(out)} results are left out of the SARIF: code scanning accepts "
                    f"{limit:,} per run; the most severe are kept, and every result is in the JSON report "
                    "(--k8s-report-json)")
        del out[limit:]
    if no_file:
        said.append(f"{no_file} results are left out of the SARIF: their objects have no file (read from a cluster "
                    "or standard input), and code scanning needs one; they are in the JSON report")
    if outside:
        said.append(f"{outside} results point at files outside the SARIF root {root}: code scanning cannot show "
                    "them; set --k8s-sarif-root to the repository that holds them")
    notes += [{"level": "warning", "message": {"text": text}} for text in said]
    if warnings is not None:
        warnings.extend(said)
    index = {rid: i for i, rid in enumerate(rules)}
    found = []
    for _, result in out:
        result["ruleIndex"] = index[result["ruleId"]]
        found.append(result)
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "pytest-k8shardening", "version": tool_version,
                                "informationUri": PROJECT_URL, "rules": list(rules.values())}},
            "originalUriBaseIds": {SRCROOT: {"uri": root.as_uri() + "/"}},
            "results": found,
            "invocations": [{"executionSuccessful": not any(n["level"] == "error" for n in notes),
                             "toolExecutionNotifications": notes}],
        }],
    }
