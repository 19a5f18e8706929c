"""Optional organization checks (``-m org``), enabled with ``--k8s-org`` or ``k8s_org_checks = true``.

Settings come from the ini file (see pytest_k8shardening.policy).
"""

from __future__ import annotations

import pytest

from pytest_k8shardening import Container, Workload, assert_compliant, control
from pytest_k8shardening.checks import org
from pytest_k8shardening.policy import OrgPolicy


@control(
    "org.images.allowed-registry", title="Images come from an allowed registry", severity="high",
    category="images", frameworks=["org"], guide="organization policy: k8s_allowed_registries",
    remediation="Mirror the image into an allowed registry, or add its registry to k8s_allowed_registries.",
)
def test_allowed_registry(k8s_container: Container, k8s_policy: OrgPolicy) -> None:
    """Only registries the organization scans and trusts may supply images."""
    assert_compliant(org.allowed_registry(k8s_container, k8s_policy))


@control(
    "org.images.pinned", title="Images name a version (no latest, no untagged)", severity="medium",
    category="images", frameworks=["org"], guide="organization policy: reproducible deployments",
    references={"kubescape": [], "trivy": ["KSV-0013"]},
    remediation="Use a version tag, or better a digest (image@sha256:...).",
)
def test_image_pinned(k8s_container: Container) -> None:
    """``latest`` or no tag means every node may run a different image, and a rollback rolls back nothing."""
    assert_compliant(org.image_pinned_or_tagged(k8s_container))


@control(
    "org.metadata.required-labels", title="Workloads carry the required labels", severity="low",
    category="metadata", frameworks=["org"], guide="organization policy: k8s_required_labels",
    remediation="Add the missing labels to the workload's metadata.labels.",
)
def test_required_labels(k8s_workload: Workload, k8s_policy: OrgPolicy) -> None:
    """Owners and applications must be findable from the object: who to page, what to bill."""
    assert_compliant(org.required_labels(k8s_workload, k8s_policy))


@control(
    "org.reliability.probes", title="Long-running containers have readiness and liveness probes",
    severity="low", category="reliability", frameworks=["org"], guide="organization policy: availability",
    references={"kubescape": ["C-0018", "C-0056"]},
    remediation="Add readinessProbe and livenessProbe to the container.",
)
@pytest.mark.k8s_select(container_types=["container"], kinds=["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet",
                                                             "ReplicationController", "Pod"])
def test_probes(k8s_container: Container) -> None:
    """Without probes a hung container keeps receiving traffic and is never restarted."""
    assert_compliant(org.probes(k8s_container))
