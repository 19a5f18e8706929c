"""SARIF 2.1.0 for code-scanning UIs: one result per failed or waived finding.

Each result points at the manifest file and the line where the offending
object starts, so a pull request gets the annotation on the right object.
Findings on live objects (no file) carry a logical location instead.
Waived findings are kept, marked with an external suppression and its reason.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..checks import REFERENCE_KEYS
from ..waivers import Waiver

__all__ = ["sarif_document"]

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
# GitHub code scanning reads properties.security-severity (0.1-10.0).
_SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "1.0"}


def _uri(file: str) -> tuple[str, str | None]:
    path = Path(file)
    if path.is_absolute():
        try:
            return path.relative_to(Path.cwd()).as_posix(), "%SRCROOT%"
        except ValueError:
            return path.as_uri(), None
    return Path(os.path.normpath(file)).as_posix(), "%SRCROOT%"


def _rule(r: dict[str, Any]) -> dict[str, Any]:
    sev = r["severity"] or "medium"
    tags = ["security", "kubernetes", *r["frameworks"]]
    if r.get("category"):
        tags.append(r["category"])
    return {
        "id": r["control"],
        "name": r["control"],
        "shortDescription": {"text": r["title"] or r["control"]},
        "fullDescription": {"text": r["title"] or r["control"]},
        "help": {"text": r["remediation"] or "", "markdown": f"**How to fix:** {r['remediation'] or ''}"},
        "defaultConfiguration": {"level": _LEVEL.get(sev, "warning")},
        "properties": {"tags": tags, "security-severity": _SECURITY_SEVERITY.get(sev, "5.5"),
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


def sarif_document(results: list[dict[str, Any]], waivers: list[Waiver] | None = None, *,
                   incomplete: list[str] | None = None) -> dict[str, Any]:
    """The SARIF log for ``results`` (entries of the JSON results).

    Errors (a check that crashed) and an incomplete session are not findings: they are the
    invocation's error notifications, and the invocation did not execute successfully.
    """
    try:
        from importlib.metadata import version
        tool_version = version("pytest-k8shardening")
    except Exception:  # pragma: no cover - running from a source tree without metadata
        tool_version = "0.0.0"
    rules: dict[str, dict[str, Any]] = {}
    out = []
    notes: list[dict[str, Any]] = [{"level": "error", "message": {"text": f"run incomplete: {why}"}}
                                   for why in incomplete or ()]
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
        if r["control"] not in rules:
            rules[r["control"]] = _rule(r)
        res = r["resource"] or {}
        name = "/".join(x for x in (res.get("namespace"), res.get("kind"), res.get("name")) if x) or r["nodeid"]
        if res.get("container"):
            name += f":{res.get('containerType', 'container')}={res['container']}"
        findings = r["findings"] or [{"message": r["message"] or r["title"], "field": None}]
        text = f"{r['title']}: {name}: " + "; ".join(f["message"] for f in findings if f.get("message"))
        result: dict[str, Any] = {
            "ruleId": r["control"],
            "ruleIndex": list(rules).index(r["control"]),
            "level": _LEVEL.get(r["severity"] or "medium", "warning"),
            "message": {"text": text},
            "partialFingerprints": {"k8shardening/v1": f"{r['control']}|{name}"},
            "properties": {"nodeid": r["nodeid"], "fields": [f.get("field") for f in findings if f.get("field")],
                           "references": _union(r["references"], findings)},
        }
        logical = {"name": name, "kind": "resource", "fullyQualifiedName": name}
        if res.get("file") and not str(res["file"]).startswith("<"):
            uri, base = _uri(res["file"])
            artifact: dict[str, Any] = {"uri": uri}
            if base:
                artifact["uriBaseId"] = base
            location: dict[str, Any] = {"physicalLocation": {"artifactLocation": artifact},
                                        "logicalLocations": [logical]}
            if res.get("line"):
                location["physicalLocation"]["region"] = {"startLine": int(res["line"])}
            result["locations"] = [location]
        else:
            result["locations"] = [{"logicalLocations": [logical]}]
        if r["outcome"] == "waived":
            result["suppressions"] = [{"kind": "external", "status": "accepted",
                                       "justification": r.get("waiver") or "waived"}]
        out.append(result)
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "pytest-k8shardening", "version": tool_version,
                                "informationUri": "https://pypi.org/project/pytest-k8shardening/",
                                "rules": list(rules.values())}},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": Path.cwd().as_uri() + "/"}},
            "results": out,
            "invocations": [{"executionSuccessful": not notes, "toolExecutionNotifications": notes}],
        }],
    }
