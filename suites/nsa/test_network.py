"""NSA/CISA Kubernetes Hardening Guide v1.2: network separation and resource policies.

Namespace tests run once per namespace in scope (system namespaces are left
out unless --k8s-include-system-namespaces), on the NetworkPolicies,
LimitRanges and ResourceQuotas among the inputs or read from the cluster.
A manifest scan judges what it is given: a policy applied from another
repository is not seen, so give all of a namespace's manifests together.
"""

from __future__ import annotations

import pytest

from pytest_k8shardening import Inventory, Namespace, Workload, assert_compliant, control
from pytest_k8shardening.checks import network

SECTION = "Network separation and hardening"


@control(
    "nsa.network.policy-exists", title="Every namespace has a NetworkPolicy", severity="high",
    category="network", frameworks=["nsa"], guide=f"{SECTION}: network policies",
    references={"kubescape": ["C-0054", "C-0206"], "cis": ["5.3.2"]},
    remediation="Add NetworkPolicies to the namespace: a default-deny policy and policies allowing the traffic "
                "its applications need.",
)
def test_namespace_has_network_policy(k8s_namespace: Namespace, k8s_cluster: Inventory) -> None:
    """Without a NetworkPolicy every pod of the namespace is open to, and can reach, every other pod.

    As Kubescape C-0054 (which also counts CiliumNetworkPolicies). Here
    Cilium, Calico and Antrea policies count too, namespaced or cluster-wide,
    where they select the namespace's pods (checks/cni.py); one whose reach
    cannot be decided makes the verdict undetermined, never a failure.
    Trivy's NSA spec maps this recommendation to KSV-0038, which checks the
    selectors of policies that exist and cannot see a namespace without any.
    """
    assert_compliant(network.network_policy_exists(k8s_namespace, k8s_cluster))


@control(
    "nsa.network.default-deny", title="Namespaces deny all ingress and egress by default", severity="high",
    category="network", frameworks=["nsa"], guide=f"{SECTION}: network policies (default deny, Appendix E)",
    references={"cis": ["5.3.2"]},
    remediation="Add a NetworkPolicy with podSelector: {} and policyTypes: [Ingress, Egress] and no rules "
                "(or one per direction), then allow the traffic the applications need, DNS included.",
)
def test_default_deny(k8s_namespace: Namespace, k8s_cluster: Inventory) -> None:
    """The guide: "use a default policy to deny all ingress and egress traffic", so that only
    traffic a policy allows flows.

    Either one policy for both directions or two policies (the guide's
    deny-all-ingress and deny-all-egress) pass. A policy without policyTypes
    covers Ingress only unless it has egress rules, as the API defaults it:
    the message points that mistake out. Neither Kubescape nor Trivy checks
    for a default-deny policy.
    """
    assert_compliant(network.default_deny(k8s_namespace, k8s_cluster))


@control(
    "nsa.network.workload-isolated", title="Every workload is selected by NetworkPolicies for ingress and egress",
    severity="medium", category="network", frameworks=["nsa"], guide=f"{SECTION}: network policies",
    references={"kubescape": ["C-0030"]},
    remediation="Select the workload's pods (podSelector on their labels, or podSelector: {}) with NetworkPolicies "
                "whose policyTypes include Ingress and Egress.",
)
def test_workload_isolated(k8s_workload: Workload, k8s_cluster: Inventory) -> None:
    """A pod no policy selects for a direction has unrestricted traffic in that direction.

    Real label-selector matching (matchLabels and matchExpressions) on the
    pod template's labels. Kubescape C-0030 matches matchLabels only, needs
    Ingress or Egress (here both), and ignores policies without
    policyTypes; here they count with the API's default. Pods on the host
    network fail, since no NetworkPolicy applies to them.
    """
    assert_compliant(network.workload_isolated(k8s_workload, k8s_cluster))


@control(
    "nsa.network.limit-range", title="Namespaces give containers default resource requests and limits",
    severity="medium", category="network", frameworks=["nsa"], guide=f"{SECTION}: resource policies (Appendix F)",
    references={"trivy": ["KSV-0039"]},
    remediation="Add a LimitRange with an item of type Container setting default and defaultRequest for cpu and "
                "memory.",
)
def test_limit_range(k8s_namespace: Namespace, k8s_cluster: Inventory) -> None:
    """A LimitRange bounds every container that forgets its own resources, so one pod cannot starve the node.

    Trivy KSV-0039 checks the fields of LimitRanges that exist (and asks for
    min and max too) but cannot see a namespace without one; here the
    namespace needs one, and the message names the missing defaults. max
    and min stand in for default and defaultRequest, as the API defaults them.
    """
    assert_compliant(network.limit_range_defaults(k8s_namespace, k8s_cluster))


@control(
    "nsa.network.resource-quota", title="Namespaces have a CPU and memory ResourceQuota", severity="medium",
    category="network", frameworks=["nsa"], guide=f"{SECTION}: resource policies (Appendix G)",
    references={"trivy": ["KSV-0040"]},
    remediation="Add a ResourceQuota whose spec.hard sets requests.cpu, requests.memory, limits.cpu and "
                "limits.memory.",
)
def test_resource_quota(k8s_namespace: Namespace, k8s_cluster: Inventory) -> None:
    """A quota caps what one namespace, and an attacker in it, can take from the cluster.

    The four keys of the guide's example are required across the
    namespace's unscoped quotas; cpu and memory count as requests.cpu and
    requests.memory, as the API treats them. Trivy KSV-0040 checks only
    quotas that exist.
    """
    assert_compliant(network.resource_quota(k8s_namespace, k8s_cluster))


@control(
    "nsa.network.cloud-metadata", title="Pods cannot reach the cloud metadata service", severity="medium",
    category="network", frameworks=["nsa"], guide=f"{SECTION}: network policies (cloud metadata)",
    references={"kubescape": ["C-0052"]},
    remediation="Deny egress by default and never allow 169.254.169.254: give ipBlock rules an except entry "
                "169.254.169.254/32, and keep rules without `to` limited to the ports they need (DNS).",
)
def test_cloud_metadata_blocked(k8s_namespace: Namespace, k8s_cluster: Inventory) -> None:
    """The metadata service at 169.254.169.254 hands out the node's cloud credentials to any pod that asks.

    Fails on an egress rule that reaches TCP 80 of the address (no `to`, or
    an ipBlock containing it without a covering except), on pods no egress
    policy selects, and on host-network pods. Provider-side blocks (IMDSv2
    hop limit, GKE metadata server) are not visible to the API and are not
    counted. Kubescape C-0052 reads the cloud provider's node settings
    through its host sensor instead of NetworkPolicies.
    """
    assert_compliant(network.cloud_metadata_blocked(k8s_namespace, k8s_cluster))


@control(
    "nsa.network.kube-system-egress", title="kube-system limits egress with a NetworkPolicy", severity="low",
    category="network", frameworks=["nsa"], guide=f"{SECTION}: network policies (kube-system)",
    remediation="Add a NetworkPolicy in kube-system with policyTypes [Egress] that allows only what the "
                "components need (the API server, DNS upstreams).",
)
@pytest.mark.k8s_select(namespaces=["kube-system"], include_system=True,
                        empty_reason="kube-system is not among the namespaces judged: scan the live cluster, or "
                                     "give kube-system's manifests (an application's objects there, such as a "
                                     "leader-election Role, do not make it the application's)")
def test_kube_system_egress(k8s_namespace: Namespace, k8s_cluster: Inventory) -> None:
    """The guide: NetworkPolicies on kube-system limit the Internet access of its powerful components.

    Passes when some policy in kube-system restricts egress without opening
    every destination. Static control-plane pods run on the host network and
    are not governed by policies: with only those among the inputs the test
    is not applicable. No other tool checks this.
    """
    assert_compliant(network.kube_system_egress(k8s_namespace, k8s_cluster))
