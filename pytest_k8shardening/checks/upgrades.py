"""Upgrade readiness (NSA/CISA guide, "Upgrading and application security practices").

Keeping Kubernetes patched means upgrading minor releases, and an upgrade
stops at the first manifest that still declares an API version the new
release no longer serves. The removals come from a dated table
(``data/removed-apis.json``): when it was compiled, and from which sources,
is written in the file.

The target release comes, in order, from the ``k8s_target_version`` ini
option, the live API server's version, or the newest release in
``data/kubernetes-releases.json``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from ..model import Inventory, K8sObject, mapping
from . import CheckResult, Finding
from .cluster import release_table

__all__ = [
    "LAST_APPLIED",
    "RemovedAPI",
    "Target",
    "declares_api_version",
    "parse_version",
    "removal",
    "removed_api_table",
    "removed_api_versions",
    "target_version",
]

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
#: Kinds that are not API objects a client sends to the API server: the
#: plugin's own probe and status records, and kubelet configuration files.
NOT_API_OBJECTS = frozenset({"ClusterProbe", "InventoryStatus", "KubeletConfiguration"})
_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+][0-9A-Za-z.+-]*)?$")

Version = tuple[int, int]


def parse_version(text: str) -> Version:
    """``v1.33``, ``1.33`` or ``v1.33.2`` (also ``-rc.1``, ``+k3s1`` suffixes) -> ``(1, 33)``."""
    m = _VERSION.match(str(text).strip())
    if not m:
        raise ValueError(f"{text!r} is not a Kubernetes version like v1.33")
    return int(m.group(1)), int(m.group(2))


def _show(v: Version) -> str:
    return f"{v[0]}.{v[1]}"


@dataclass(frozen=True)
class RemovedAPI:
    """One kind at one API version, and the release that stopped serving it."""

    api_version: str
    kind: str
    removed: Version
    replacement: str | None
    since: str | None
    note: str | None = None
    scheduled: bool = False

    def describe(self, target: Target) -> str:
        verb = "is scheduled to be removed" if self.scheduled else "was removed"
        text = f"{self.api_version} {self.kind} {verb} in Kubernetes {_show(self.removed)} (target {target})"
        if self.replacement:
            text += f": use {self.replacement}" + (f" (served since {self.since})" if self.since else "")
        if self.note:
            text += f"; {self.note}"
        return text


@cache
def removed_api_table() -> dict[str, Any]:
    """The dated removal table (``data/removed-apis.json``) as read."""
    text = resources.files("pytest_k8shardening").joinpath("data/removed-apis.json").read_text()
    return json.loads(text)


@cache
def _index() -> dict[tuple[str, str], RemovedAPI]:
    out = {}
    for entry in removed_api_table()["removed"]:
        for kind in entry["kinds"]:
            out[(entry["apiVersion"], kind)] = RemovedAPI(
                entry["apiVersion"], kind, parse_version(entry["removed"]), entry.get("replacement"),
                entry.get("since"), entry.get("note"), bool(entry.get("scheduled")))
    return out


def removal(api_version: str, kind: str) -> RemovedAPI | None:
    """The table's entry for ``kind`` at ``api_version``, if upstream removes it."""
    return _index().get((api_version, kind))


@dataclass(frozen=True)
class Target:
    """The Kubernetes release manifests must work on, and where that came from."""

    version: Version
    source: str

    def __str__(self) -> str:
        return f"v{_show(self.version)}, {self.source}"


def target_version(setting: str | None, inventory: Inventory | None) -> Target:
    """Resolve the target release.

    1. ``setting`` (the ``k8s_target_version`` ini option), e.g. ``v1.33``;
       a value that is not a version raises :class:`ValueError`.
    2. The version of the live API server (its ``ClusterProbe`` record).
    3. The newest minor release in ``data/kubernetes-releases.json``.
    """
    if setting and setting.strip():
        try:
            return Target(parse_version(setting), "from the ini option k8s_target_version")
        except ValueError as exc:
            raise ValueError(f"k8s_target_version: {exc}") from None
    for probe in inventory.of_kind("ClusterProbe") if inventory is not None else ():
        git = mapping(probe.raw.get("version")).get("gitVersion")
        if git:
            try:
                return Target(parse_version(git), f"the API server's version {git}")
            except ValueError:
                continue
    table = release_table()
    newest = max((parse_version(v) for v in table["releases"]))
    return Target(newest, f"the newest release in the support table as of {table['as_of']}")


def _last_applied(obj: K8sObject) -> dict[str, Any] | None:
    text = obj.annotations.get(LAST_APPLIED)
    if not text:
        return None
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def _read_from_server(obj: K8sObject) -> bool:
    meta = obj.metadata
    return bool(meta.get("resourceVersion") or meta.get("uid"))


def declares_api_version(obj: K8sObject) -> bool:
    """Whether ``obj`` shows an API version a client chose (a ``k8s_select(where=...)`` predicate).

    True for a manifest. An object read back from an API server (it has a
    ``resourceVersion`` or ``uid``: a live scan, a snapshot, ``kubectl get``
    output) is shown at the version the reader asked for, so it counts only
    when it keeps kubectl's last-applied configuration, which records the
    version it was applied with.
    """
    if obj.kind in NOT_API_OBJECTS:
        return False
    return not _read_from_server(obj) or LAST_APPLIED in obj.annotations


def removed_api_versions(obj: K8sObject, target: Target) -> CheckResult:
    """The object must not use an API version the target release no longer serves.

    Fields: ``apiVersion`` and ``kind``, and the ``apiVersion`` recorded in
    the ``kubectl.kubernetes.io/last-applied-configuration`` annotation.
    Fails when the table's removal release is at or before the target.
    """
    findings = []
    entry = removal(obj.api_version, obj.kind)
    if entry is not None and entry.removed <= target.version:
        findings.append(Finding(f"apiVersion {entry.describe(target)}", "apiVersion"))
    applied = _last_applied(obj)
    if applied is not None:
        api, kind = str(applied.get("apiVersion", "")), str(applied.get("kind", obj.kind))
        entry = removal(api, kind)
        if entry is not None and entry.removed <= target.version and api != obj.api_version:
            findings.append(Finding(
                f"the manifest last applied with kubectl declares apiVersion {entry.describe(target)}; "
                "re-applying it fails, so update the manifest it came from", f"metadata.annotations[{LAST_APPLIED}]"))
    return findings
