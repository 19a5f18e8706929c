"""What a scan looked at and the options that change its verdicts, for report headers.

The HTML report's title and Environment table and Allure's environment
widget show the same facts, so a report read on its own says what was
scanned, when, by which version, and under which settings: two reports of
the same manifests disagree only where one of these rows does.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from ..controls import CIS_BENCHMARK

__all__ = ["GUIDE_URL", "KUBESCAPE_URL", "PSS_URL", "plugin_version", "reference_links", "scan_metadata",
           "target_label"]

GUIDE_URL = ("https://media.defense.gov/2022/Aug/29/2003066362/-1/-1/0/"
             "CTR_KUBERNETES_HARDENING_GUIDANCE_1.2_20220829.PDF")
PSS_URL = "https://kubernetes.io/docs/concepts/security/pod-security-standards/"
#: Kubescape's page of a control id (the address its own output cites).
KUBESCAPE_URL = "https://hub.armosec.io/docs/{}"


def plugin_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pytest-k8shardening")
    except PackageNotFoundError:  # a source tree that was never installed
        return "unknown (not installed)"


def target_label(settings: Any) -> str:
    """``manifests examples/insecure`` or ``cluster context prod``: what the scan read."""
    if settings.manifests:
        paths = ["standard input" if m == "-" else str(m) for m in settings.manifests]
        return "manifests " + ", ".join(paths)
    if settings.kind:
        return "kind cluster (created for the run)"
    if settings.in_cluster:
        return "cluster (in-cluster service account)"
    where = f"cluster context {settings.context}" if settings.context else "cluster (current context)"
    return where + (f" of kubeconfig {settings.kubeconfig}" if settings.kubeconfig else "")


def _pss_version(settings: Any) -> str:
    from ..checks.pss import LATEST

    raw = str(settings.pss_version or "latest")
    return f"latest (v{LATEST[0]}.{LATEST[1]})" if raw == "latest" else raw


def scan_metadata(settings: Any, started: _dt.datetime | None = None) -> dict[str, str]:
    """Rows naming the target, time, versions and every verdict-changing option (in display order)."""
    started = started or _dt.datetime.now(_dt.timezone.utc)
    rows: dict[str, str] = {
        "Target": target_label(settings),
        "Scan started": started.isoformat(timespec="seconds"),
        "pytest-k8shardening": plugin_version(),
        "Pod Security Standards version": _pss_version(settings),
        "CIS benchmark (cited ids)": CIS_BENCHMARK,
        "Namespaces in scope": settings.scope.describe(),
        "Fail on (--k8s-fail-on)": settings.fail_on or "any finding",
        "Group by (--k8s-group-by)": settings.group_by,
    }
    if settings.target_version:
        rows["Kubernetes target version"] = str(settings.target_version)
    if settings.min_score is not None:
        rows["Minimum score (--k8s-min-score)"] = f"{settings.min_score:g}%"
    if settings.waivers is not None:
        rows["Waivers file (--k8s-waivers)"] = str(settings.waivers)
    rows["Require image digest (k8s_require_image_digest)"] = "yes" if settings.require_image_digest else "no"
    if settings.min_run_as_id:
        rows["Minimum run-as UID/GID (k8s_min_run_as_id)"] = str(settings.min_run_as_id)
    if not settings.builtin:
        rows["Built-in suites"] = "off (--k8s-no-builtin)"
    if settings.org.enabled:
        rows["Organization checks"] = "on"
    if settings.helm_values:
        rows["Helm values"] = ", ".join(settings.helm_values)
    if settings.helm_set:
        rows["Helm --set"] = ", ".join(settings.helm_set)
    return rows


def reference_links(references: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, url) for the upstream ids with a stable public page: Kubescape controls and the PSS level.

    Trivy's ids changed form (KSV017, KSV-0017) and its pages moved, and CIS
    recommendations live in a PDF: those are shown as text, never as a guessed link.
    """
    links: list[tuple[str, str]] = []
    for ref in references.get("kubescape") or ():
        links.append((f"Kubescape {ref}", KUBESCAPE_URL.format(str(ref).lower())))
    if references.get("pss"):
        links.append((f"PSS {references['pss']}", PSS_URL))
    return links
