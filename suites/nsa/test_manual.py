"""NSA/CISA Kubernetes Hardening Guide v1.2: the recommendations software cannot check.

Each is a control marked ``manual``: it is collected once, takes no
fixtures, and is reported as skipped with a reason that starts "manual:" and
says what to verify by hand. ``-m manual`` lists them; ``-m "nsa and not
manual"`` leaves them out. Record the outcome of a review with a waiver or in
your own evidence.
"""

from __future__ import annotations

import pytest

from pytest_k8shardening import control

POD = "Kubernetes Pod security"
NET = "Network separation and hardening"
AUTH = "Authentication and authorization"
LOGS = "Audit logging and threat detection"
UPGRADES = "Upgrading and application security practices"


def _manual(what: str) -> None:
    __tracebackhide__ = True
    pytest.skip(f"manual: {what}")


@control(
    "nsa.manual.rootless-engines", title="Container engines run rootless", severity="medium",
    category="pod_security", frameworks=["nsa"], guide=f"{POD}: non-root containers and rootless container engines",
    remediation="Run the container runtime in rootless mode where the platform supports it (containerd, CRI-O "
                "and Docker have rootless modes; user namespaces for pods are another layer).",
    manual=True,
)
def test_rootless_container_engines() -> None:
    """A rootless engine keeps a container escape from landing as root on the node; the API does not
    show how the runtime runs."""
    _manual("verify on each node that the container runtime (containerd, CRI-O, Docker) runs as a non-root user "
            "in rootless mode, e.g. `ps -o user= -C containerd` shows no root")


@control(
    "nsa.manual.image-scanning", title="Images are scanned in the build pipeline", severity="high",
    category="pod_security", frameworks=["nsa"], guide=f"{POD}: build secure container images",
    remediation="Scan every image for vulnerabilities and misconfigurations in CI, fail the build on findings above "
                "your threshold, rescan images in the registry, and sign the ones that pass.",
    manual=True,
)
def test_images_scanned_in_pipeline() -> None:
    """Vulnerable images are the usual way in; scanning happens in the pipeline, which the cluster cannot see.

    The signature check nsa.admission.image-signatures covers the admission half.
    """
    _manual("verify that the CI pipeline scans every image (OS packages and application dependencies) and blocks "
            "images with findings above the agreed severity, and that registry images are rescanned regularly")


@control(
    "nsa.manual.hypervisor-isolation", title="Untrusted workloads run with hypervisor-backed isolation",
    severity="low", category="pod_security", frameworks=["nsa"], guide=f"{POD}: hardening container engines",
    remediation="Run untrusted or multi-tenant workloads with a sandboxed runtime (Kata Containers, gVisor) "
                "through a RuntimeClass, or on separate nodes.",
    manual=True,
)
def test_hypervisor_isolation() -> None:
    """A container shares the node's kernel; virtualization-backed sandboxes put another boundary in front of it.

    A runtimeClassName shows intent only: which runtime a class maps to is node configuration.
    """
    _manual("verify that workloads needing stronger isolation use a RuntimeClass whose handler is a sandboxed "
            "runtime (Kata Containers, gVisor) configured on the nodes, or run on dedicated nodes")


@control(
    "nsa.manual.cni-network-policy", title="The CNI plugin enforces NetworkPolicies", severity="high",
    category="network", frameworks=["nsa"], guide=f"{NET}: network policies (CNI plugin)",
    references={"kubescape": ["C-0205"], "cis": ["5.3.1"]},
    remediation="Use a CNI plugin that enforces the NetworkPolicy API (Calico, Cilium, Antrea, ...); flannel and "
                "kindnet alone do not enforce egress rules everywhere.",
    manual=True,
)
def test_cni_enforces_network_policies() -> None:
    """NetworkPolicies are only objects until the CNI plugin enforces them; every network check assumes it does."""
    _manual("verify that the cluster's CNI plugin enforces NetworkPolicies for ingress and egress, e.g. by applying "
            "a deny-all policy in a test namespace and confirming that a pod there can no longer connect")


@control(
    "nsa.manual.control-plane-firewall", title="The control plane is behind a firewall", severity="high",
    category="network", frameworks=["nsa"], guide=f"{NET}: control plane hardening",
    remediation="Expose the API server (6443) only to administrators' networks and the nodes; never expose etcd "
                "(2379-2380), the scheduler (10259) or the controller manager (10257) beyond the control plane.",
    manual=True,
)
def test_control_plane_firewall() -> None:
    """The guide: the API server should not be reachable from the Internet or untrusted networks, and
    etcd only from the API servers."""
    _manual("verify in the firewall or cloud security groups that 6443 is reachable only from trusted networks "
            "and the nodes, 2379-2380 only between etcd members and API servers, and 10257/10259 only locally")


@control(
    "nsa.manual.worker-node-firewall", title="Worker node ports are firewalled", severity="medium",
    category="network", frameworks=["nsa"], guide=f"{NET}: worker node segmentation",
    remediation="Allow the kubelet port (10250) only from the control plane, and NodePorts (30000-32767) only "
                "from the load balancers and networks that need them.",
    manual=True,
)
def test_worker_node_firewall() -> None:
    """The guide's worker-node ports (kubelet 10250, NodePort range 30000-32767) should be reachable
    only by those who need them."""
    _manual("verify in the firewall or security groups that worker nodes accept 10250 only from the control plane "
            "and 30000-32767 only from the load balancers or client networks that need the NodePorts")


@control(
    "nsa.manual.kubeconfig-permissions", title="Kubeconfig files are protected", severity="medium",
    category="authn_authz", frameworks=["nsa"], guide=f"{NET}: control plane hardening (kubeconfig files)",
    remediation="chown root:root and chmod 600 admin.conf, kubelet.conf, controller-manager.conf, scheduler.conf "
                "and users' kubeconfigs; keep admin credentials off shared machines.",
    manual=True,
)
def test_kubeconfig_file_permissions() -> None:
    """A readable or writable kubeconfig is a credential, or a way to point a component at a rogue API server.

    Trivy's NSA spec lists this as manual too; the permissions live on
    the nodes' filesystems, which the API does not expose.
    """
    _manual("verify on control-plane and worker nodes that /etc/kubernetes/*.conf and the kubelet's kubeconfig are "
            "owned by root:root with mode 600 or stricter, and that users' kubeconfigs are not world-readable")


@control(
    "nsa.manual.encryption-provider", title="Secrets are encrypted with a strong provider", severity="high",
    category="secrets", frameworks=["nsa"], guide=f"{NET}: encrypt Secrets at rest (Appendices H and I)",
    references={"kubescape": ["C-0142"], "cis": ["1.2.28"]},
    remediation="List kms (v2) or aescbc/aesgcm/secretbox first for secrets in the EncryptionConfiguration, keep "
                "identity last or out, and rewrite all Secrets after changing it.",
    manual=True,
)
def test_encryption_provider_contents() -> None:
    """nsa.cp.encryption-at-rest sees only that a configuration file is given; an identity-first file
    encrypts nothing."""
    _manual("verify that the file named by kube-apiserver --encryption-provider-config lists kms (v2), aescbc, "
            "aesgcm or secretbox before identity for secrets, that its keys are protected, and that existing "
            "Secrets were rewritten")


@control(
    "nsa.manual.audit-policy", title="The audit policy records what the guide asks for", severity="medium",
    category="audit_logging", frameworks=["nsa"], guide=f"{LOGS}: audit policy (Appendix L)",
    references={"kubescape": ["C-0161"], "cis": ["3.2.2"]},
    remediation="Log at least Metadata for all requests, and RequestResponse for changes to Secrets, RBAC, pods/exec "
                "and workloads, without logging Secret contents.",
    manual=True,
)
def test_audit_policy_contents() -> None:
    """nsa.cp.audit-logging sees that a policy file is given, not what it records."""
    _manual("verify that the file named by kube-apiserver --audit-policy-file records every request at Metadata or "
            "above, with RequestResponse where the guide's Appendix L asks, and does not drop security-relevant "
            "resources")


@control(
    "nsa.manual.log-retention", title="Logs are kept off the cluster, analysed and alerted on", severity="medium",
    category="audit_logging", frameworks=["nsa"], guide=f"{LOGS}: persist logs, SIEM and alerting",
    remediation="Ship audit, node and application logs to a central store or SIEM outside the cluster, keep them "
                "for your retention period, and alert on suspicious activity.",
    manual=True,
)
def test_log_retention_siem_alerting() -> None:
    """Logs on a compromised node can be erased; the guide asks for them to be collected elsewhere and watched."""
    _manual("verify that audit logs (or the audit webhook), node logs and container logs reach a store outside the "
            "cluster, are kept for the required period, and feed alerts that someone answers")


@control(
    "nsa.manual.penetration-tests", title="Vulnerability scans and penetration tests are periodic", severity="medium",
    category="upgrades", frameworks=["nsa"], guide=f"{UPGRADES}: periodic vulnerability scans and penetration tests",
    remediation="Schedule recurring vulnerability scans of nodes, images and the cluster, and penetration tests of "
                "the cluster, and track the findings to closure.",
    manual=True,
)
def test_periodic_penetration_tests() -> None:
    """Configuration checks such as this suite find known misconfigurations; testers find the rest."""
    _manual("verify that vulnerability scans and penetration tests of the cluster run on a schedule, with their "
            "last date and open findings on record")


@control(
    "nsa.manual.unused-components", title="Unused components are removed", severity="low",
    category="upgrades", frameworks=["nsa"], guide=f"{UPGRADES}: remove unused components",
    remediation="Uninstall add-ons, dashboards, operators, namespaces and node software that nothing uses any more.",
    manual=True,
)
def test_unused_components_removed() -> None:
    """Every forgotten add-on is attack surface that nobody patches."""
    _manual("verify against an inventory that every add-on, operator, dashboard, namespace and node package still "
            "has an owner and a use, and remove those that do not")
