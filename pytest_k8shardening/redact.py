"""Take credentials out of an object before it is written to a snapshot.

A snapshot (``--k8s-save-snapshot``) must not carry what the credential
checks (:mod:`.checks.secrets`) flag, yet re-running it offline must give the
same verdicts. So every flagged value is replaced by a stand-in the checks
flag for the same reason: keys, line numbers and structure stay, the value
goes. A stand-in for "its name marks it as a credential" is a harmless
literal; one for "its value has the shape of X" is a made-up string of that
shape. A multi-line ConfigMap value with a flagged line is replaced whole,
line by line (a private key's body is not on its flagged first line).
kubectl's last-applied annotation, which repeats the object, is redacted the
same way (the upgrade checks read its apiVersion).
"""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

from .checks.secrets import (
    _CONFIG_LINE,
    _VALUE_PATTERNS,
    _literal,
    classify,
    sensitive_name,
)
from .model import WORKLOAD_KINDS

__all__ = ["LITERAL", "redact_credentials", "stand_in"]

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
#: What a value flagged for its name becomes: a literal, so it is still flagged.
LITERAL = "k8shardening-redacted"


def _shaped(what: str) -> str:
    samples = {
        "a private key": "-----BEGIN PRIVATE KEY----- k8shardening-redacted",
        "an AWS access key id": "AKIAK8SHREDACTED0000",
        "a GitHub token": "ghp_k8shardeningredacted" + "0" * 20,
        "a GitLab token": "glpat-k8shardening-redacted",
        "a Slack token": "xoxb-k8shardening-redacted",
        "a Google API key": "AIza" + "k8shardening_redacted".ljust(35, "0"),
        "a JSON Web Token": "eyJrOHNoYXJkZW5pbmciOjF9.eyJyZWRhY3RlZCI6MX0.k8shardening-redacted",
        "a URL with a password": "https://redacted:k8shardening-redacted@redacted.invalid",
    }
    return samples.get(what, LITERAL)


def stand_in(name: str, value: str) -> str | None:
    """What ``name=value`` becomes in a snapshot: None when the checks do not flag it."""
    why = classify(name, value)
    if why is None:
        return None
    for what, _ in _VALUE_PATTERNS:
        if why == f"its value has the shape of {what}":
            return _shaped(what)
    return LITERAL


def _line_flagged(line: str) -> str | None:
    """A multi-line ConfigMap value's line as the ConfigMap check reads it: its stand-in, or None."""
    for what, pattern in _VALUE_PATTERNS:
        if pattern.search(line):
            return _shaped(what)
    m = _CONFIG_LINE.match(line)
    if m and not line.lstrip().startswith(("#", ";", "//")):
        inner, inner_value = m.group(1), m.group(2).strip().strip("'\"")
        if sensitive_name(inner) and _literal(inner_value):
            return line[:m.start(2)] + LITERAL + line[m.end(2):]
    return None


def _config_value(key: str, value: str) -> str | None:
    """A ConfigMap ``data`` value's stand-in, or None when nothing in it is flagged."""
    if "\n" not in value.strip():
        return stand_in(key, value)
    out: list[str] = []
    flagged = False
    for piece in value.splitlines(keepends=True):
        content = piece.splitlines()[0] if piece.splitlines() else ""
        ending = piece[len(content):]
        replaced = _line_flagged(content)
        if replaced is not None:
            flagged = True
            out.append(replaced + ending)
        elif content.strip():
            out.append("#" + ending)  # keeps the line (and the numbering of the rest), drops its text
        else:
            out.append(piece)
    return "".join(out) if flagged else None


def _redact_env(raw: dict[str, Any], kind: str, apply: bool) -> bool:
    spec: Any = raw
    for key in WORKLOAD_KINDS[kind]:
        spec = spec.get(key) if isinstance(spec, dict) else None
    if not isinstance(spec, dict):
        return False
    changed = False
    for list_name in ("initContainers", "containers", "ephemeralContainers"):
        containers = spec.get(list_name)
        for c in containers if isinstance(containers, list) else ():
            env = c.get("env") if isinstance(c, dict) else None
            for var in env if isinstance(env, list) else ():
                if isinstance(var, dict) and isinstance(var.get("value"), str):
                    new = stand_in(str(var.get("name", "")), var["value"])
                    if new is not None:
                        if apply:
                            var["value"] = new
                        changed = True
    return changed


def _redact_configmap(raw: dict[str, Any], apply: bool) -> bool:
    changed = False
    data = raw.get("data")
    if isinstance(data, dict):
        for key, value in list(data.items()):
            if isinstance(value, str):
                new = _config_value(str(key), value)
                if new is not None:
                    if apply:
                        data[key] = new
                    changed = True
    binary = raw.get("binaryData")
    if isinstance(binary, dict):
        for key in list(binary):
            if sensitive_name(str(key)):
                if apply:
                    binary[key] = base64.b64encode(LITERAL.encode()).decode()
                changed = True
    return changed


def _redact_in_place(raw: dict[str, Any], apply: bool) -> bool:
    """Whether ``raw`` holds a flagged value; with ``apply``, replace each."""
    kind = raw.get("kind")
    changed = False
    if kind in WORKLOAD_KINDS:
        changed = _redact_env(raw, str(kind), apply)
    elif kind == "ConfigMap":
        changed = _redact_configmap(raw, apply)
    meta = raw.get("metadata")
    ann = meta.get("annotations") if isinstance(meta, dict) else None
    if isinstance(ann, dict) and isinstance(ann.get(LAST_APPLIED), str):
        try:
            applied = json.loads(ann[LAST_APPLIED])
        except ValueError:
            applied = None
        if isinstance(applied, dict):
            if _redact_in_place(applied, apply):
                if apply:
                    ann[LAST_APPLIED] = json.dumps(applied, separators=(",", ":"))
                changed = True
        else:  # unreadable to the checks too; it may still hold anything
            if apply:
                ann[LAST_APPLIED] = "<redacted>"
            changed = True
    return changed


def redact_credentials(raw: dict[str, Any]) -> dict[str, Any]:
    """``raw`` with every value the credential checks flag replaced (a copy; ``raw`` itself if none is)."""
    if not _redact_in_place(raw, apply=False):  # most objects: no copy
        return raw
    copied = copy.deepcopy(raw)
    _redact_in_place(copied, apply=True)
    return copied
