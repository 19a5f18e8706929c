"""NSA/CISA Kubernetes Hardening Guide v1.2: the control plane.

Read from the static pods of kube-apiserver, etcd, kube-controller-manager
and kube-scheduler in kube-system (kubeadm, kind), live or as Pod manifests.
On managed clusters no such pods are visible: every test here then skips
with that reason rather than passing.
"""

from __future__ import annotations

import pytest

from pytest_k8shardening import Inventory, Workload, assert_compliant, control
from pytest_k8shardening.checks import control_plane as cp

NET = "Network separation and hardening"
AUTH = "Authentication and authorization"
LOGS = "Audit logging and threat detection"
MANAGED = ("no {0} static pod is visible in kube-system: the control plane is managed by the provider or "
           "not readable, so its flags cannot be checked")


def _select(component: str) -> pytest.MarkDecorator:
    return pytest.mark.k8s_select(kinds=["Pod"], namespaces=["kube-system"], include_system=True,
                                  where=cp.is_component(component), empty_reason=MANAGED.format(component))


APISERVER = _select("kube-apiserver")
ETCD = _select("etcd")


@control(
    "nsa.cp.apiserver-anonymous-auth", title="The API server refuses anonymous requests", severity="high",
    category="control_plane", frameworks=["nsa"], guide=f"{AUTH}: disable anonymous login",
    references={"kubescape": ["C-0113"], "trivy": ["KCV-0001"], "cis": ["1.2.1"]},
    remediation="Start kube-apiserver with --anonymous-auth=false.",
)
@APISERVER
def test_apiserver_anonymous_auth(k8s_workload: Workload) -> None:
    """Anonymous requests are served as system:anonymous; one RBAC mistake then opens the cluster to anyone.

    The flag defaults to true, so it must be set. Where anonymous access is
    configured in an --authentication-config file, the test cannot see it and
    skips; the live probe nsa.cluster.anonymous-access still answers.
    """
    assert_compliant(cp.apiserver_anonymous_auth(k8s_workload))


@control(
    "nsa.cp.apiserver-authorization-mode", title="The API server authorizes with Node and RBAC",
    severity="critical", category="control_plane", frameworks=["nsa"], guide=f"{AUTH}: RBAC",
    references={"kubescape": ["C-0118", "C-0120"], "trivy": ["KCV-0007", "KCV-0008", "KCV-0009"],
                "cis": ["1.2.6", "1.2.7", "1.2.8"]},
    remediation="Start kube-apiserver with --authorization-mode=Node,RBAC (never AlwaysAllow).",
)
@APISERVER
def test_apiserver_authorization_mode(k8s_workload: Workload) -> None:
    """RBAC is how the guide limits every user and service account; AlwaysAllow lets anyone do anything.

    The flag defaults to AlwaysAllow when unset. Trivy's NSA spec labels its
    Node check as the RBAC control; both are required here.
    """
    assert_compliant(cp.apiserver_authorization_mode(k8s_workload))


@control(
    "nsa.cp.apiserver-no-token-file", title="No static token file", severity="high", category="control_plane",
    frameworks=["nsa"], guide=f"{AUTH}: strong user authentication",
    references={"kubescape": ["C-0114"], "trivy": ["KCV-0002"], "cis": ["1.2.2"]},
    remediation="Remove --token-auth-file; use client certificates, OIDC or a webhook authenticator.",
)
@APISERVER
def test_apiserver_no_token_file(k8s_workload: Workload) -> None:
    """Static tokens sit in clear text on the control-plane disk, never expire and need a restart to revoke."""
    assert_compliant(cp.apiserver_no_token_file(k8s_workload))


@control(
    "nsa.cp.audit-logging", title="Audit logging is enabled", severity="high", category="audit_logging",
    frameworks=["nsa"], guide=f"{LOGS}: enable audit logging",
    references={"kubescape": ["C-0067", "C-0130"], "trivy": ["KCV-0019"], "cis": ["1.2.16", "3.2.1"]},
    remediation="Start kube-apiserver with --audit-policy-file and --audit-log-path (or "
                "--audit-webhook-config-file).",
)
@APISERVER
def test_audit_logging(k8s_workload: Workload) -> None:
    """Without audit logs there is no record of who did what to the cluster.

    The guide: "the only flags necessary to enable logging are the
    audit-policy-file and audit-log-path flags" (or a webhook backend).
    """
    assert_compliant(cp.apiserver_audit_logging(k8s_workload))


@control(
    "nsa.cp.audit-retention", title="Audit logs are retained", severity="medium", category="audit_logging",
    frameworks=["nsa"], guide=f"{LOGS}: persist logs",
    references={"kubescape": ["C-0131", "C-0132", "C-0133"], "trivy": ["KCV-0020", "KCV-0021", "KCV-0022"],
                "cis": ["1.2.17", "1.2.18", "1.2.19"]},
    remediation="Set --audit-log-maxage=30 (or more), --audit-log-maxbackup=10 and --audit-log-maxsize=100.",
)
@APISERVER
def test_audit_retention(k8s_workload: Workload) -> None:
    """Logs rotated away within hours cannot support an investigation.

    Minimums are the CIS benchmark's (the guide's example keeps 1825 days).
    Not applicable when audit events go only to a webhook or to stdout.
    """
    assert_compliant(cp.apiserver_audit_retention(k8s_workload))


@control(
    "nsa.cp.encryption-at-rest", title="Secrets are encrypted at rest", severity="high", category="control_plane",
    frameworks=["nsa"], guide=f"{NET}: encrypt Secrets at rest",
    references={"kubescape": ["C-0066"], "trivy": ["KCV-0030"], "cis": ["1.2.27"]},
    remediation="Write an EncryptionConfiguration (kms v2 or aescbc/aesgcm/secretbox before identity) and "
                "pass it with --encryption-provider-config; then rewrite all Secrets.",
)
@APISERVER
def test_encryption_at_rest(k8s_workload: Workload) -> None:
    """Without it, anyone who reads etcd or its backups reads every Secret.

    Only the flag is visible; the provider order inside the file is not,
    so an identity-first configuration still passes here (a manual control).
    """
    assert_compliant(cp.apiserver_encryption_at_rest(k8s_workload))


@control(
    "nsa.cp.apiserver-etcd-tls", title="The API server talks to etcd over mutual TLS", severity="high",
    category="control_plane", frameworks=["nsa"], guide=f"{NET}: etcd",
    references={"kubescape": ["C-0137", "C-0140"], "trivy": ["KCV-0026", "KCV-0029"], "cis": ["1.2.23", "1.2.26"]},
    remediation="Set --etcd-certfile, --etcd-keyfile and --etcd-cafile, and https:// --etcd-servers.",
)
@APISERVER
def test_apiserver_etcd_tls(k8s_workload: Workload) -> None:
    """etcd holds the whole cluster state; traffic to it must be encrypted and mutually authenticated."""
    assert_compliant(cp.apiserver_etcd_tls(k8s_workload))


@control(
    "nsa.cp.apiserver-tls-version", title="The API server refuses TLS below 1.2", severity="medium",
    category="control_plane", frameworks=["nsa"], guide=f"{NET}: TLS 1.2 or 1.3",
    remediation="Remove --tls-min-version or set it to VersionTLS12 or VersionTLS13.",
)
@APISERVER
def test_apiserver_tls_version(k8s_workload: Workload) -> None:
    """TLS 1.0 and 1.1 have known weaknesses; the guide asks for TLS 1.2 or 1.3 on all traffic.

    Unset passes: kube-apiserver defaults to TLS 1.2 on every maintained release.
    The CIS benchmark and Kubescape have no control for this flag on the API
    server (their cipher control is nsa.cp.apiserver-tls-ciphers).
    """
    assert_compliant(cp.apiserver_tls_min_version(k8s_workload))


@control(
    "nsa.cp.apiserver-tls-ciphers", title="The API server offers only strong cipher suites", severity="medium",
    category="control_plane", frameworks=["nsa"], guide=f"{NET}: TLS 1.2 or 1.3",
    references={"kubescape": ["C-0277"], "cis": ["1.2.29"]},
    remediation="Set --tls-cipher-suites to suites from the CIS list (ECDHE with AES-GCM or ChaCha20-Poly1305, "
                "and the TLS 1.3 suites), or remove the flag to use the Go defaults.",
)
@APISERVER
def test_apiserver_tls_ciphers(k8s_workload: Workload) -> None:
    """TLS 1.2 is only as strong as the suites it may negotiate: RC4, 3DES or RSA key exchange undo it.

    Fails each suite outside CIS 1.2.29's list, naming why it is weak.
    Every --tls-cipher-suites occurrence counts, as the API server adds them
    up. Unset passes: the Go defaults of supported releases are all in the
    list; kube-bench and Kubescape fail an unset flag. With
    --tls-min-version=VersionTLS13 the list is never used and the test passes.
    Trivy has no such check on the API server.
    """
    assert_compliant(cp.apiserver_tls_cipher_suites(k8s_workload))


@control(
    "nsa.cp.apiserver-insecure-port", title="The API server has no insecure port", severity="critical",
    category="control_plane", frameworks=["nsa"], guide=f"{NET}: disable the insecure port",
    references={"kubescape": ["C-0005", "C-0128"], "trivy": ["KCV-0017"]},
    remediation="Remove --insecure-port (or set it to 0) and keep --secure-port non-zero.",
)
@APISERVER
def test_apiserver_insecure_port(k8s_workload: Workload) -> None:
    """The insecure port served the whole API without TLS, authentication or authorization.

    The flag was removed in Kubernetes 1.24; setting it on older servers, or
    --secure-port=0, fails.
    """
    assert_compliant(cp.apiserver_no_insecure_port(k8s_workload))


@control(
    "nsa.cp.apiserver-kubelet-tls", title="The API server authenticates to kubelets and verifies them",
    severity="high", category="control_plane", frameworks=["nsa"], guide=f"{NET}: TLS between components",
    references={"kubescape": ["C-0116", "C-0117"], "trivy": ["KCV-0005", "KCV-0006"], "cis": ["1.2.4", "1.2.5"]},
    remediation="Set --kubelet-client-certificate, --kubelet-client-key and --kubelet-certificate-authority.",
)
@APISERVER
def test_apiserver_kubelet_tls(k8s_workload: Workload) -> None:
    """Without a kubelet CA the API server accepts any certificate from a kubelet, so exec and logs can be
    intercepted."""
    assert_compliant(cp.apiserver_kubelet_tls(k8s_workload))


@control(
    "nsa.cp.etcd-client-tls", title="etcd requires TLS client certificates", severity="high",
    category="control_plane", frameworks=["nsa"], guide=f"{NET}: etcd",
    references={"kubescape": ["C-0153", "C-0154", "C-0155"], "trivy": ["KCV-0042", "KCV-0043", "KCV-0044"],
                "cis": ["2.1", "2.2", "2.3"]},
    remediation="Start etcd with --cert-file, --key-file, --trusted-ca-file and --client-cert-auth=true; "
                "never --auto-tls.",
)
@ETCD
def test_etcd_client_tls(k8s_workload: Workload) -> None:
    """The guide: etcd should trust only certificates assigned to the API servers."""
    assert_compliant(cp.etcd_client_tls(k8s_workload))


@control(
    "nsa.cp.etcd-peer-tls", title="etcd peers use mutual TLS", severity="high", category="control_plane",
    frameworks=["nsa"], guide=f"{NET}: etcd",
    references={"kubescape": ["C-0156", "C-0157", "C-0158"], "trivy": ["KCV-0045", "KCV-0046", "KCV-0047"],
                "cis": ["2.4", "2.5", "2.6"]},
    remediation="Start etcd with --peer-cert-file, --peer-key-file, --peer-trusted-ca-file and "
                "--peer-client-cert-auth=true; never --peer-auto-tls.",
)
@ETCD
def test_etcd_peer_tls(k8s_workload: Workload) -> None:
    """Replication traffic carries every object in the cluster, Secrets included."""
    assert_compliant(cp.etcd_peer_tls(k8s_workload))


@control(
    "nsa.cp.etcd-separate-ca", title="etcd uses its own certificate authority", severity="medium",
    category="control_plane", frameworks=["nsa"], guide=f"{NET}: etcd (v1.2)",
    references={"kubescape": ["C-0159"], "cis": ["2.7"]},
    remediation="Issue etcd's certificates from a dedicated CA and point etcd --trusted-ca-file at it.",
)
@ETCD
def test_etcd_separate_ca(k8s_workload: Workload, k8s_cluster: Inventory) -> None:
    """If etcd trusts the cluster CA, any client certificate of the cluster (a kubelet's, say) can read etcd."""
    apiservers = [w for w in k8s_cluster.all_workloads() if cp.is_component("kube-apiserver")(w)]
    assert_compliant(cp.etcd_separate_ca(k8s_workload, apiservers[0] if apiservers else None))


@control(
    "nsa.cp.controller-manager-exposure", title="The controller manager is not exposed", severity="medium",
    category="control_plane", frameworks=["nsa"], guide=f"{NET}: secure the control plane",
    references={"kubescape": ["C-0145", "C-0150"], "trivy": ["KCV-0039"], "cis": ["1.3.2", "1.3.7"]},
    remediation="Start kube-controller-manager with --profiling=false and --bind-address=127.0.0.1.",
)
@_select("kube-controller-manager")
def test_controller_manager_exposure(k8s_workload: Workload) -> None:
    """Its port and profiling data reveal the cluster's internals to anyone who can reach the node."""
    assert_compliant(cp.controller_manager_exposure(k8s_workload))


@control(
    "nsa.cp.scheduler-exposure", title="The scheduler is not exposed", severity="medium",
    category="control_plane", frameworks=["nsa"], guide=f"{NET}: secure the control plane",
    references={"kubescape": ["C-0151", "C-0152"], "trivy": ["KCV-0040", "KCV-0041"], "cis": ["1.4.1", "1.4.2"]},
    remediation="Start kube-scheduler with --profiling=false and --bind-address=127.0.0.1.",
)
@_select("kube-scheduler")
def test_scheduler_exposure(k8s_workload: Workload) -> None:
    """Its port and profiling data reveal the cluster's internals to anyone who can reach the node."""
    assert_compliant(cp.scheduler_exposure(k8s_workload))
