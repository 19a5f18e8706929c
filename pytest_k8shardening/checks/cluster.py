"""Checks no manifest can show: what the live API server answers, and versions.

They read the ``ClusterProbe`` object the plugin records when it scans a
live cluster (and keeps in snapshots, so offline re-runs agree).
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from functools import cache
from importlib import resources
from typing import Any

from ..model import K8sObject, mapping
from . import CheckResult, Finding, Undetermined

__all__ = ["anonymous_access", "release_table", "version_supported"]

_VERSION = re.compile(r"^v?(\d+)\.(\d+)")


@cache
def release_table() -> dict[str, Any]:
    """End-of-maintenance dates of Kubernetes minor releases (``data/kubernetes-releases.json``)."""
    text = resources.files("pytest_k8shardening").joinpath("data/kubernetes-releases.json").read_text()
    return json.loads(text)


def anonymous_access(probe: K8sObject) -> CheckResult:
    """An unauthenticated GET /api must get 401: any other answer means anonymous requests are accepted."""
    anon = mapping(probe.raw.get("anonymous"))
    status = anon.get("status")
    if status is None:
        return Undetermined(f"the unauthenticated probe failed: {anon.get('error', 'no answer')}")
    if status == 401:
        return []
    what = "and served" if status == 200 else "(then refused by authorization)"
    return [Finding(f"an unauthenticated GET {anon.get('path', '/api')} got {status}: the API server accepts "
                    f"anonymous requests as system:anonymous {what}", "kube-apiserver --anonymous-auth")]


def version_supported(version: str, *, what: str, today: _dt.date | None = None,
                      table: dict[str, Any] | None = None) -> CheckResult:
    """``version`` (e.g. ``v1.33.2``) must be a minor release upstream still maintains."""
    table = table or release_table()
    today = today or _dt.date.today()
    m = _VERSION.match(version or "")
    if not m:
        return Undetermined(f"{what} reports no parsable version ({version!r})")
    minor = f"{m.group(1)}.{m.group(2)}"
    releases = table["releases"]
    if minor not in releases:
        newest = max(releases, key=lambda v: tuple(map(int, v.split("."))))
        if tuple(map(int, minor.split("."))) > tuple(map(int, newest.split("."))):
            return Undetermined(f"{what} runs {version}, newer than the support table (as of {table['as_of']}); "
                                "update pytest-k8shardening")
        return [Finding(f"{what} runs {version}: Kubernetes {minor} is older than every maintained release",
                        "version")]
    eol = _dt.date.fromisoformat(releases[minor])
    if eol < today:
        return [Finding(f"{what} runs {version}: Kubernetes {minor} left upstream maintenance on {eol}", "version")]
    return []


def kubelet_version(node: K8sObject, today: _dt.date | None = None) -> CheckResult:
    """The node's kubelet (``status.nodeInfo.kubeletVersion``) must be a maintained release."""
    version = mapping(mapping(node.raw.get("status")).get("nodeInfo")).get("kubeletVersion")
    if not version:
        return Undetermined(f"node {node.name} reports no kubelet version")
    return version_supported(version, what=f"the kubelet of node {node.name}", today=today)


def server_version(probe: K8sObject, today: _dt.date | None = None) -> CheckResult:
    """The API server (``/version``) must be a maintained release."""
    version = mapping(probe.raw.get("version")).get("gitVersion")
    return version_supported(version or "", what="the API server", today=today)
