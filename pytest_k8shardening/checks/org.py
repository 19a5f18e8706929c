"""Optional organization checks (framework ``org``): images, labels, probes.

They read :class:`~pytest_k8shardening.policy.OrgPolicy`; a check whose
setting is empty does not apply and is skipped saying which setting to set.
"""

from __future__ import annotations

from ..model import WORKLOAD_KINDS, Container, Workload
from ..policy import OrgPolicy
from . import CheckResult, Finding, NotApplicable

__all__ = ["allowed_registry", "image_pinned_or_tagged", "probes", "required_labels"]

_LONG_RUNNING = frozenset(WORKLOAD_KINDS) - {"Job", "CronJob", "PodTemplate"}


def allowed_registry(c: Container, policy: OrgPolicy) -> CheckResult:
    """The image must come from one of ``k8s_allowed_registries``."""
    if not policy.allowed_registries:
        return NotApplicable("no k8s_allowed_registries are configured")
    if not c.image:
        return [Finding("the container has no image", f"{c.path}.image")]
    ref = c.image_ref
    if policy.registry_allowed(ref.registry, ref.repository):
        return []
    return [Finding(f"image {c.image} comes from {ref.registry}/{ref.repository}, which is not in "
                    f"k8s_allowed_registries ({', '.join(policy.allowed_registries)})", f"{c.path}.image")]


def image_pinned_or_tagged(c: Container) -> CheckResult:
    """The image must name a version: a digest, or a tag other than ``latest``."""
    if not c.image:
        return [Finding("the container has no image", f"{c.path}.image")]
    ref = c.image_ref
    if ref.pinned:
        return []
    if ref.tag is None:
        return [Finding(f"image {c.image} has no tag, so it means :latest and changes under you",
                        f"{c.path}.image")]
    if ref.tag == "latest":
        return [Finding(f"image {c.image} uses the mutable tag latest", f"{c.path}.image")]
    return []


def required_labels(w: Workload, policy: OrgPolicy) -> CheckResult:
    """The workload must carry every label key of ``k8s_required_labels``."""
    if not policy.required_labels:
        return NotApplicable("no k8s_required_labels are configured")
    missing = [k for k in policy.required_labels if not w.obj.labels.get(k)]
    if not missing:
        return []
    return [Finding(f"metadata.labels lacks {', '.join(missing)}", "metadata.labels")]


def probes(c: Container) -> CheckResult:
    """A long-running container must have a readiness and a liveness probe."""
    kind = c.workload.kind
    if kind not in _LONG_RUNNING:
        return NotApplicable(f"a {kind} runs to completion; probes are for long-running containers")
    if c.type != "container":
        return NotApplicable(f"an {c.type} does not take probes")
    missing = [p for p in ("readinessProbe", "livenessProbe") if not c.raw.get(p)]
    return [Finding(f"{p} is not set", f"{c.path}.{p}") for p in missing]
