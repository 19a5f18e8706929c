"""NSA/CISA Kubernetes Hardening Guide v1.2: kubelets, and what only a live cluster shows.

Kubelet tests run once per node, on the configuration its kubelet reports
through ``/configz`` (or on KubeletConfiguration files). The live probes
read the API server's answers themselves.
"""

from __future__ import annotations

import pytest

from pytest_k8shardening import K8sObject, assert_compliant, control
from pytest_k8shardening.checks import cluster, kubelet

AUTH = "Authentication and authorization"
NET = "Network separation and hardening"
KUBELETS = pytest.mark.k8s_select(
    kinds=["KubeletConfiguration"],
    empty_reason="no kubelet configuration is available: give KubeletConfiguration files, or scan a live "
                 "cluster with get on nodes/proxy")
PROBE = pytest.mark.k8s_select(
    kinds=["ClusterProbe"], empty_reason="the API server can only be probed when scanning a live cluster")
NODES = pytest.mark.k8s_select(kinds=["Node"], empty_reason="no Node objects: scan a live cluster")


@control(
    "nsa.kubelet.anonymous-auth", title="Kubelets refuse anonymous requests", severity="critical",
    category="kubelet", frameworks=["nsa"], guide=f"{AUTH}: disable anonymous login",
    references={"kubescape": ["C-0069", "C-0172"], "trivy": ["KCV-0079"], "cis": ["4.2.1"]},
    remediation="Set authentication.anonymous.enabled: false in the kubelet configuration (--anonymous-auth=false).",
)
@KUBELETS
def test_kubelet_anonymous_auth(k8s_object: K8sObject) -> None:
    """An anonymous kubelet lets anyone on the network exec into pods and read their logs."""
    assert_compliant(kubelet.anonymous_auth(k8s_object))


@control(
    "nsa.kubelet.authorization", title="Kubelets authorize requests through the API server", severity="critical",
    category="kubelet", frameworks=["nsa"], guide=f"{AUTH}: RBAC",
    references={"kubescape": ["C-0173"], "trivy": ["KCV-0080"], "cis": ["4.2.2"]},
    remediation="Set authorization.mode: Webhook and authentication.webhook.enabled: true.",
)
@KUBELETS
def test_kubelet_authorization(k8s_object: K8sObject) -> None:
    """With AlwaysAllow any authenticated client can use every kubelet endpoint, RBAC notwithstanding."""
    assert_compliant(kubelet.authorization(k8s_object))


@control(
    "nsa.kubelet.client-ca", title="Kubelets verify client certificates", severity="high",
    category="kubelet", frameworks=["nsa"], guide=f"{NET}: TLS between components",
    references={"kubescape": ["C-0070", "C-0174"], "trivy": ["KCV-0081"], "cis": ["4.2.3"]},
    remediation="Set authentication.x509.clientCAFile to the cluster CA.",
)
@KUBELETS
def test_kubelet_client_ca(k8s_object: K8sObject) -> None:
    """Without a client CA the kubelet cannot tell the API server from anyone else."""
    assert_compliant(kubelet.client_ca(k8s_object))


@control(
    "nsa.kubelet.read-only-port", title="The kubelet read-only port is closed", severity="high",
    category="kubelet", frameworks=["nsa"], guide=f"{NET}: worker node segmentation",
    references={"kubescape": ["C-0175"], "trivy": ["KCV-0082"], "cis": ["4.2.4"]},
    remediation="Set readOnlyPort: 0 in the kubelet configuration.",
)
@KUBELETS
def test_kubelet_read_only_port(k8s_object: K8sObject) -> None:
    """Port 10255 answers without any authentication with the node's pods and their specs."""
    assert_compliant(kubelet.read_only_port(k8s_object))


@control(
    "nsa.kubelet.certificate-rotation", title="Kubelets rotate their certificates", severity="medium",
    category="kubelet", frameworks=["nsa"], guide=f"{NET}: TLS between components",
    references={"kubescape": ["C-0182"], "trivy": ["KCV-0090"], "cis": ["4.2.10"]},
    remediation="Set rotateCertificates: true in the kubelet configuration.",
)
@KUBELETS
def test_kubelet_certificate_rotation(k8s_object: K8sObject) -> None:
    """Long-lived client certificates outlive their keys' secrecy; rotation renews them before expiry.

    Reads rotateCertificates, as CIS 4.2.10, Kubescape C-0182 and Trivy
    KCV-0090 do; they pass an unset field (reading the kubelet flag's
    default), while the KubeletConfiguration default is false, so an unset
    field fails here. The serving-certificate recommendations (4.2.9
    tlsCertFile, 4.2.11 RotateKubeletServerCertificate) read other settings
    and are not claimed.
    """
    assert_compliant(kubelet.certificate_rotation(k8s_object))


@control(
    "nsa.kubelet.tls-ciphers", title="Kubelets offer only strong cipher suites", severity="medium",
    category="kubelet", frameworks=["nsa"], guide=f"{NET}: TLS between components",
    references={"kubescape": ["C-0184"], "trivy": ["KCV-0092"], "cis": ["4.2.12"]},
    remediation="Set tlsCipherSuites in the kubelet configuration to suites from the CIS list (ECDHE with "
                "AES-GCM or ChaCha20-Poly1305), or tlsMinVersion: VersionTLS13.",
)
@KUBELETS
def test_kubelet_tls_ciphers(k8s_object: K8sObject) -> None:
    """The kubelet serves exec, logs and pod data on port 10250; weak suites expose that traffic.

    Fails each suite outside CIS 4.2.12's list, and an unset list (the Go
    defaults include CBC-SHA1 suites the benchmark leaves out), unless
    tlsMinVersion is VersionTLS13. Kubescape C-0184 and Trivy KCV-0092 read
    the kubelet's command line and config file on the node; this test reads
    the configuration the kubelet reports.
    """
    assert_compliant(kubelet.tls_cipher_suites(k8s_object))


@control(
    "nsa.cluster.anonymous-access", title="The API server answers anonymous requests with 401",
    severity="high", category="authn_authz", frameworks=["nsa"], guide=f"{AUTH}: disable anonymous login",
    references={"kubescape": ["C-0113"], "cis": ["1.2.1"]},
    remediation="Start kube-apiserver with --anonymous-auth=false (or limit anonymous access to health "
                "endpoints in an AuthenticationConfiguration).",
)
@PROBE
def test_anonymous_access(k8s_object: K8sObject) -> None:
    """Asks the API server itself, so it also works where the flags are invisible (managed clusters).

    A 403 still fails: the request was accepted as system:anonymous and only
    RBAC stood in the way.
    """
    assert_compliant(cluster.anonymous_access(k8s_object))


@control(
    "nsa.upgrades.server-version", title="The API server runs a maintained Kubernetes release",
    severity="medium", category="upgrades", frameworks=["nsa"],
    guide="Upgrading and application security practices: apply security patches",
    references={"kubescape": ["C-0273"]},
    remediation="Upgrade the control plane to a Kubernetes minor release that still gets patches.",
)
@PROBE
def test_server_version_supported(k8s_object: K8sObject) -> None:
    """Releases past their end of maintenance get no security fixes. The dates ship as data
    (pytest_k8shardening/data/kubernetes-releases.json) and say when they were last updated."""
    assert_compliant(cluster.server_version(k8s_object))


@control(
    "nsa.upgrades.kubelet-version", title="Kubelets run a maintained Kubernetes release", severity="medium",
    category="upgrades", frameworks=["nsa"], guide="Upgrading and application security practices: apply security "
                                                   "patches",
    references={"kubescape": ["C-0273"]},
    remediation="Upgrade the node to a Kubernetes minor release that still gets patches.",
)
@NODES
def test_kubelet_version_supported(k8s_object: K8sObject) -> None:
    """A node left behind on an old release keeps the old kubelet's vulnerabilities."""
    assert_compliant(cluster.kubelet_version(k8s_object))
