"""Kubelet checks, over each node's effective KubeletConfiguration.

Live, the configuration comes from ``/api/v1/nodes/<node>/proxy/configz``
(needs ``get nodes/proxy``); offline, from KubeletConfiguration files or a
snapshot. A field left out of a file takes the ``kubelet.config.k8s.io/v1beta1``
default, which the messages name.
"""

from __future__ import annotations

from ..model import K8sObject, mapping
from . import CheckResult, Finding, Undetermined, tls

__all__ = ["anonymous_auth", "authorization", "certificate_rotation", "client_ca", "read_only_port",
           "tls_cipher_suites"]

UNAVAILABLE = "k8shardening.io/unavailable"


def _unavailable(cfg: K8sObject) -> Undetermined | None:
    why = cfg.annotations.get(UNAVAILABLE)
    return Undetermined(why) if why else None


def anonymous_auth(cfg: K8sObject) -> CheckResult:
    """``authentication.anonymous.enabled`` must be false (v1beta1 default: false)."""
    if u := _unavailable(cfg):
        return u
    value = mapping(mapping(cfg.raw.get("authentication")).get("anonymous")).get("enabled")
    if value is True:
        return [Finding("authentication.anonymous.enabled=true: anyone reaching port 10250 is served as "
                        "system:anonymous", "authentication.anonymous.enabled")]
    return []


def authorization(cfg: K8sObject) -> CheckResult:
    """``authorization.mode`` must be Webhook (default), with webhook authentication on (default)."""
    if u := _unavailable(cfg):
        return u
    mode = mapping(cfg.raw.get("authorization")).get("mode") or "Webhook"
    findings = []
    if mode != "Webhook":
        findings.append(Finding(f"authorization.mode={mode}: kubelet requests are not checked against the API "
                                "server's RBAC", "authorization.mode"))
    webhook = mapping(mapping(cfg.raw.get("authentication")).get("webhook")).get("enabled")
    if webhook is False:
        findings.append(Finding("authentication.webhook.enabled=false: bearer tokens are not verified",
                                "authentication.webhook.enabled"))
    return findings


def client_ca(cfg: K8sObject) -> CheckResult:
    """``authentication.x509.clientCAFile`` must be set, so client certificates are verified."""
    if u := _unavailable(cfg):
        return u
    if not mapping(mapping(cfg.raw.get("authentication")).get("x509")).get("clientCAFile"):
        return [Finding("authentication.x509.clientCAFile is not set: client certificates are not accepted or "
                        "verified", "authentication.x509.clientCAFile")]
    return []


def read_only_port(cfg: K8sObject) -> CheckResult:
    """``readOnlyPort`` must be 0 (default 0): port 10255 serves pod data without authentication."""
    if u := _unavailable(cfg):
        return u
    port = cfg.raw.get("readOnlyPort")
    if port not in (None, 0):
        return [Finding(f"readOnlyPort={port} serves node and pod data without authentication", "readOnlyPort")]
    return []


def certificate_rotation(cfg: K8sObject) -> CheckResult:
    """``rotateCertificates`` must be true (default false), so client certificates are renewed before expiry."""
    if u := _unavailable(cfg):
        return u
    if cfg.raw.get("rotateCertificates") is not True:
        shown = cfg.raw.get("rotateCertificates")
        text = "is not set (default false)" if shown is None else f"={str(shown).lower()}"
        return [Finding(f"rotateCertificates {text}".replace(" =", "="), "rotateCertificates")]
    return []


def tls_cipher_suites(cfg: K8sObject) -> CheckResult:
    """``tlsCipherSuites`` must list only strong suites (CIS 4.2.12's list; see :mod:`.tls`).

    Unset fails: the Go defaults include ECDHE CBC-SHA1 suites, which 4.2.12 leaves out. With
    ``tlsMinVersion: VersionTLS13`` no TLS 1.2 suite is ever negotiated, and the check passes.
    """
    if u := _unavailable(cfg):
        return u
    if cfg.raw.get("tlsMinVersion") == "VersionTLS13":
        return []
    suites = cfg.raw.get("tlsCipherSuites")
    if not suites:
        return [Finding("tlsCipherSuites is not set: the Go defaults include CBC-SHA1 suites outside the CIS "
                        "benchmark's list for kubelets", "tlsCipherSuites")]
    if not isinstance(suites, list):
        return [Finding(f"tlsCipherSuites is a {type(suites).__name__}, not a list: the kubelet refuses it",
                        "tlsCipherSuites")]
    names = [str(s) for s in suites]
    weak = dict(tls.weak_suites(names, tls.CIS_KUBELET))
    return [Finding(f"tlsCipherSuites includes {name}: {weak[name]}", f"tlsCipherSuites[{names.index(name)}]")
            for name in weak]
