"""Credentials kept outside Secrets (NSA/CISA guide, "Secrets").

The findings name the variable or key and the reason it looks like a
credential, and never the value itself.

A value is flagged when either
* its name reads like a credential (``DB_PASSWORD``, ``apiKey``,
  ``client-secret``...) and the value is a literal that could be one (not
  empty, not a ``$(VAR)`` reference, not a file path, number or boolean); or
* the value itself has the shape of a known credential (a private key, an
  AWS access key id, a GitHub/GitLab/Slack token, a JWT, a URL with a
  password in it), whatever its name.
"""

from __future__ import annotations

import re
from typing import Any

from ..model import Container, K8sObject, mapping
from . import CheckResult, Finding

__all__ = ["classify", "configmap_credentials", "env_credentials", "env_secret_references", "sensitive_name"]

# Words that make a name sensitive, matched against its parts
# (``DB_PASSWORD`` -> db, password; ``apiKey`` -> api, key).
_SENSITIVE_WORDS = frozenset({
    "password", "passwd", "pwd", "pass", "passphrase", "secret", "token", "credential", "credentials",
    "apikey", "privatekey", "accesskey", "secretkey", "jwt", "bearer",
})
# Two-word names that are sensitive together but not apart ("key" alone is too common).
_SENSITIVE_PAIRS = frozenset({
    ("api", "key"), ("private", "key"), ("access", "key"), ("secret", "key"), ("client", "secret"),
    ("auth", "key"), ("signing", "key"), ("encryption", "key"), ("master", "key"), ("account", "key"),
    ("storage", "key"), ("session", "key"),
    # Named explicitly by the reference tools (Kubescape's sensitiveKeyNames: azure_batch_key) and vendors'
    # documented variables (DD_APP_KEY, NEW_RELIC_LICENSE_KEY, Azure shared keys, HMAC keys).
    ("batch", "key"), ("app", "key"), ("license", "key"), ("shared", "key"), ("hmac", "key"),
})
# Names that hold an identifier, not a credential, although a word in them reads like one: etcd's
# initial-cluster-token only keeps two clusters from joining by accident (etcd docs), it grants nothing.
_IDENTIFIER_NAMES: tuple[tuple[str, ...], ...] = (
    ("initial", "cluster", "token"),
)
# Words that make the name about a credential rather than the credential itself.
_METADATA_WORDS = frozenset({
    "file", "path", "dir", "ttl", "expiry", "expires", "expiration", "timeout", "length", "size", "len",
    "name", "names", "type", "enabled", "enable", "disabled", "mode", "header", "policy", "ref", "id",
    "user", "username", "url", "uri", "endpoint", "host", "port", "prefix", "suffix", "format", "version",
    "min", "max", "count", "interval", "duration", "retries", "mount", "location", "algorithm", "hash",
    "env", "source", "provider", "rotation", "lifetime", "age", "issuer", "audience", "scope", "scopes",
})

_VALUE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a private key", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----")),
    ("an AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("a GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b|\bgithub_pat_[A-Za-z0-9_]{40,}\b")),
    ("a GitLab token", re.compile(r"\bglpat-[A-Za-z0-9_\-]{20,}\b")),
    ("a Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b")),
    ("a Google API key", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b")),
    ("a JSON Web Token", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    ("a URL with a password", re.compile(r"\b[a-z][a-z0-9+.\-]*://[^/\s:@]+:[^/\s@]+@[^\s/]+", re.I)),
)

_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")
_REFERENCE = re.compile(r"^(?:\$\([A-Za-z_][A-Za-z0-9_]*\)|\$\{[A-Za-z_][A-Za-z0-9_.:-]*\}|\{\{.*\}\})$")
# Short numbers and durations ("3600", "30s") are settings, not credentials.
_NUMBER = re.compile(r"^[+-]?\d{1,6}(?:\.\d+)?(?:ms|s|m|h|d|Ki|Mi|Gi|k|K|M|G)?$")
# A file path, not a credential: C:\secrets\token or C:/secrets/token.
_WINDOWS_PATH = re.compile(r"^[A-Za-z]:[\\/]")
_PLACEHOLDERS = frozenset({"", "changeme", "change-me", "none", "null", "nil", "redacted", "<redacted>", "xxx",
                           "true", "false", "yes", "no", "on", "off", "enabled", "disabled", "required", "optional"})


def _words(name: str) -> list[str]:
    return [w.lower() for w in _SPLIT.split(name) if w]


def sensitive_name(name: str) -> bool:
    """True when ``name`` reads like it holds a credential (``DB_PASSWORD``, ``apiKey``)."""
    words = _words(name)
    if not words or words[-1] in _METADATA_WORDS:
        return False
    if any(tuple(words[i:i + len(ident)]) == ident for ident in _IDENTIFIER_NAMES for i in range(len(words))):
        return False
    if any(w in _SENSITIVE_WORDS for w in words):
        return True
    return any(pair in _SENSITIVE_PAIRS for pair in zip(words, words[1:]))


def _literal(value: str) -> bool:
    v = value.strip()
    if v.lower() in _PLACEHOLDERS or _REFERENCE.match(v) or _NUMBER.match(v):
        return False
    if _WINDOWS_PATH.match(v):
        return False
    return not v.startswith(("/", "./", "../", "~/", "file:", "vault:", "ref+", "arn:aws:secretsmanager",
                             "projects/"))


def classify(name: str, value: Any) -> str | None:
    """Why ``name=value`` looks like a credential, or None. Never returns the value."""
    if not isinstance(value, str):
        return None
    for what, pattern in _VALUE_PATTERNS:
        if pattern.search(value):
            return f"its value has the shape of {what}"
    if sensitive_name(name) and _literal(value):
        return "its name marks it as a credential and it has a literal value"
    return None


def env_credentials(c: Container) -> CheckResult:
    """Environment variables must not carry literal credentials.

    Fields: ``env[*].value`` (``valueFrom`` references to Secrets are the
    remedy and always pass). Values are never shown.
    """
    findings = []
    for i, var in enumerate(c.raw.get("env") or ()):
        var = mapping(var)
        name = str(var.get("name", ""))
        why = classify(name, var.get("value"))
        if why:
            findings.append(Finding(f"env {name}: {why}", f"{c.path}.env[{i}].value"))
    return findings


def env_secret_references(c: Container) -> CheckResult:
    """Secrets should reach the container as files, not environment variables (CIS 5.4.1).

    Fields: ``env[*].valueFrom.secretKeyRef`` and ``envFrom[*].secretRef``.
    Environment variables end up in crash dumps, ``/proc/<pid>/environ``,
    child processes and application logs; a mounted Secret does not, and is
    updated in place when the Secret changes. Names the Secret and key,
    never a value.
    """
    findings = []
    for i, var in enumerate(c.raw.get("env") or ()):
        var = mapping(var)
        ref = mapping(mapping(var.get("valueFrom")).get("secretKeyRef"))
        if ref:
            findings.append(Finding(
                f"env {var.get('name', '')} takes key {ref.get('key', '')!s} of Secret {ref.get('name', '')!s} "
                "as an environment variable", f"{c.path}.env[{i}].valueFrom.secretKeyRef"))
    for i, source in enumerate(c.raw.get("envFrom") or ()):
        ref = mapping(mapping(source).get("secretRef"))
        if ref:
            findings.append(Finding(
                f"envFrom loads every key of Secret {ref.get('name', '')!s} as environment variables",
                f"{c.path}.envFrom[{i}].secretRef"))
    return findings


# `key = value` / `key: value` lines inside a config file stored as one ConfigMap value.
_CONFIG_LINE = re.compile(r"""^\s*["']?([A-Za-z0-9_.\-]+)["']?\s*[:=]\s*(.*?)\s*$""")


def configmap_credentials(obj: K8sObject) -> CheckResult:
    """ConfigMaps must not hold credentials.

    Fields: ``data`` and ``binaryData`` keys and values; a multi-line value
    (a config file) is read line by line as ``key = value`` or
    ``key: value``. Values are never shown.
    """
    findings = []
    data = mapping(obj.raw.get("data"))
    for key, value in data.items():
        key = str(key)
        if not isinstance(value, str):
            continue
        why = classify(key, value) if "\n" not in value.strip() else None
        if why:
            findings.append(Finding(f"data key {key}: {why}", f"data.{key}"))
            continue
        if "\n" in value.strip():
            for lineno, line in enumerate(value.splitlines(), 1):
                for what, pattern in _VALUE_PATTERNS:
                    if pattern.search(line):
                        findings.append(Finding(f"data key {key}, line {lineno}: has the shape of {what}",
                                                f"data.{key}"))
                        break
                else:
                    m = _CONFIG_LINE.match(line)
                    if m and not line.lstrip().startswith(("#", ";", "//")):
                        inner, inner_value = m.group(1), m.group(2).strip().strip("'\"")
                        if sensitive_name(inner) and _literal(inner_value):
                            findings.append(Finding(
                                f"data key {key}, line {lineno}: setting {inner} has a literal credential value",
                                f"data.{key}"))
    for key in mapping(obj.raw.get("binaryData")):
        if sensitive_name(str(key)):
            findings.append(Finding(f"binaryData key {key}: its name marks it as a credential",
                                    f"binaryData.{key}"))
    return findings
