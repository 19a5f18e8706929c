"""Control-plane, kubelet and version checks on manifests: pass, fail and edge cases."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from pytest_k8shardening.checks import NotApplicable, Undetermined, cluster, kubelet
from pytest_k8shardening.checks import control_plane as cp
from pytest_k8shardening.model import K8sObject, Source

from .k8s import inventory, obj

# What kubeadm v1.36 writes, trimmed to the flags the checks read.
KUBEADM_APISERVER = [
    "--advertise-address=10.0.0.10", "--allow-privileged=true", "--anonymous-auth=false",
    "--authorization-mode=Node,RBAC", "--client-ca-file=/etc/kubernetes/pki/ca.crt",
    "--enable-admission-plugins=NodeRestriction", "--etcd-cafile=/etc/kubernetes/pki/etcd/ca.crt",
    "--etcd-certfile=/etc/kubernetes/pki/apiserver-etcd-client.crt",
    "--etcd-keyfile=/etc/kubernetes/pki/apiserver-etcd-client.key", "--etcd-servers=https://127.0.0.1:2379",
    "--kubelet-client-certificate=/etc/kubernetes/pki/apiserver-kubelet-client.crt",
    "--kubelet-client-key=/etc/kubernetes/pki/apiserver-kubelet-client.key",
    "--kubelet-certificate-authority=/etc/kubernetes/pki/ca.crt", "--secure-port=6443",
    "--tls-cert-file=/etc/kubernetes/pki/apiserver.crt", "--tls-private-key-file=/etc/kubernetes/pki/apiserver.key",
    "--audit-policy-file=/etc/kubernetes/audit/policy.yaml", "--audit-log-path=/var/log/kubernetes/audit.log",
    "--audit-log-maxage=30", "--audit-log-maxbackup=10", "--audit-log-maxsize=100",
    "--encryption-provider-config=/etc/kubernetes/enc/config.yaml",
]
KUBEADM_ETCD = [
    "--cert-file=/etc/kubernetes/pki/etcd/server.crt", "--key-file=/etc/kubernetes/pki/etcd/server.key",
    "--client-cert-auth=true", "--trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt",
    "--listen-client-urls=https://127.0.0.1:2379,https://10.0.0.10:2379",
    "--peer-cert-file=/etc/kubernetes/pki/etcd/peer.crt", "--peer-key-file=/etc/kubernetes/pki/etcd/peer.key",
    "--peer-client-cert-auth=true", "--peer-trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt",
]


def static_pod(component: str, flags: list[str], *, in_args: bool = False) -> Any:
    c: dict[str, Any] = {"name": component, "image": f"registry.k8s.io/{component}:v1.36.3"}
    if in_args:  # RKE2 / k3s style
        c["command"] = [component]
        c["args"] = flags
    else:
        c["command"] = [component, *flags]
    raw = obj("Pod", f"{component}-cp1", "kube-system", metadata={"labels": {"component": component}},
              spec={"containers": [c]})
    return inventory(raw).all_workloads()[0]


def without(flags: list[str], *names: str) -> list[str]:
    return [f for f in flags if f.split("=", 1)[0].lstrip("-") not in names]


def verdict(result: Any) -> str:
    if isinstance(result, NotApplicable):
        return "n/a"
    if isinstance(result, Undetermined):
        return "unknown"
    return "fail" if result else "pass"


APISERVER_CHECKS = [cp.apiserver_anonymous_auth, cp.apiserver_authorization_mode, cp.apiserver_no_token_file,
                    cp.apiserver_audit_logging, cp.apiserver_audit_retention, cp.apiserver_encryption_at_rest,
                    cp.apiserver_etcd_tls, cp.apiserver_tls_min_version, cp.apiserver_no_insecure_port,
                    cp.apiserver_kubelet_tls, cp.apiserver_tls_cipher_suites]


@pytest.mark.parametrize("in_args", [False, True], ids=["command", "args"])
@pytest.mark.parametrize("check", APISERVER_CHECKS, ids=lambda f: f.__name__)
def test_hardened_kubeadm_apiserver_passes(check: Any, in_args: bool) -> None:
    assert check(static_pod("kube-apiserver", KUBEADM_APISERVER, in_args=in_args)) == []


@pytest.mark.parametrize(("check", "flags", "expected", "message"), [
    (cp.apiserver_anonymous_auth, without(KUBEADM_APISERVER, "anonymous-auth"), "fail", "defaults to true"),
    (cp.apiserver_anonymous_auth, [*without(KUBEADM_APISERVER, "anonymous-auth"), "--anonymous-auth=true"],
     "fail", "--anonymous-auth=true"),
    (cp.apiserver_anonymous_auth, [*without(KUBEADM_APISERVER, "anonymous-auth"),
                                   "--authentication-config=/etc/k/authn.yaml"], "unknown", ""),
    (cp.apiserver_authorization_mode, without(KUBEADM_APISERVER, "authorization-mode"), "fail",
     "AlwaysAllow (the default) includes AlwaysAllow"),
    (cp.apiserver_authorization_mode, [*without(KUBEADM_APISERVER, "authorization-mode"),
                                       "--authorization-mode=RBAC"], "fail", "does not include Node"),
    (cp.apiserver_authorization_mode, [*without(KUBEADM_APISERVER, "authorization-mode"),
                                       "--authorization-mode=Node,RBAC,AlwaysAllow"], "fail", "includes AlwaysAllow"),
    (cp.apiserver_authorization_mode, [*without(KUBEADM_APISERVER, "authorization-mode"),
                                       "--authorization-config=/etc/k/authz.yaml"], "unknown", ""),
    (cp.apiserver_no_token_file, [*KUBEADM_APISERVER, "--token-auth-file=/etc/tokens.csv"], "fail",
     "static bearer tokens"),
    (cp.apiserver_audit_logging, without(KUBEADM_APISERVER, "audit-policy-file"), "fail", "--audit-policy-file"),
    (cp.apiserver_audit_logging, [*without(KUBEADM_APISERVER, "audit-log-path"),
                                  "--audit-webhook-config-file=/etc/w.yaml"], "pass", ""),
    (cp.apiserver_audit_logging, without(KUBEADM_APISERVER, "audit-log-path"), "fail", "go nowhere"),
    (cp.apiserver_audit_retention, [*without(KUBEADM_APISERVER, "audit-log-maxage"), "--audit-log-maxage=7"],
     "fail", "--audit-log-maxage=7; at least 30"),
    (cp.apiserver_audit_retention, without(KUBEADM_APISERVER, "audit-log-maxbackup"), "fail",
     "--audit-log-maxbackup is not set"),
    (cp.apiserver_audit_retention, without(KUBEADM_APISERVER, "audit-log-path"), "n/a", ""),
    (cp.apiserver_audit_retention, [*without(KUBEADM_APISERVER, "audit-log-path"), "--audit-log-path=-"], "n/a", ""),
    (cp.apiserver_encryption_at_rest, without(KUBEADM_APISERVER, "encryption-provider-config"), "fail",
     "--encryption-provider-config is not set"),
    (cp.apiserver_etcd_tls, without(KUBEADM_APISERVER, "etcd-cafile"), "fail", "--etcd-cafile is not set"),
    (cp.apiserver_etcd_tls, [*without(KUBEADM_APISERVER, "etcd-servers"), "--etcd-servers=http://10.0.0.2:2379"],
     "fail", "plain HTTP"),
    (cp.apiserver_tls_min_version, [*KUBEADM_APISERVER, "--tls-min-version=VersionTLS11"], "fail", "below 1.2"),
    (cp.apiserver_tls_min_version, [*KUBEADM_APISERVER, "--tls-min-version=VersionTLS13"], "pass", ""),
    (cp.apiserver_no_insecure_port, [*KUBEADM_APISERVER, "--insecure-port=8080"], "fail", "without TLS"),
    (cp.apiserver_no_insecure_port, [*KUBEADM_APISERVER, "--insecure-port=0"], "pass", ""),
    (cp.apiserver_no_insecure_port, [*without(KUBEADM_APISERVER, "secure-port"), "--secure-port=0"], "fail",
     "--secure-port=0"),
    (cp.apiserver_kubelet_tls, without(KUBEADM_APISERVER, "kubelet-certificate-authority"), "fail",
     "--kubelet-certificate-authority is not set"),
])
def test_apiserver_flags(check: Any, flags: list[str], expected: str, message: str) -> None:
    result = check(static_pod("kube-apiserver", flags))
    assert verdict(result) == expected
    if expected == "fail":
        assert any(message in f.message for f in result), [f.message for f in result]
        assert all(f.field.startswith("spec.containers[0].command") for f in result)


def test_space_separated_flag_values() -> None:
    w = static_pod("kube-apiserver", ["--authorization-mode", "Node,RBAC", "--anonymous-auth=false",
                                      "--audit-log-path", "-", "--audit-policy-file", "/etc/p.yaml"])
    assert cp.apiserver_authorization_mode(w) == [] and cp.apiserver_anonymous_auth(w) == []
    assert cp.apiserver_audit_logging(w) == []  # "-" (stdout) is a value, not a flag
    assert verdict(cp.apiserver_audit_retention(w)) == "n/a"


def test_boolean_flag_takes_no_separate_value() -> None:
    """pflag: in ``--anonymous-auth false`` the flag is true and "false" is a stray argument."""
    w = static_pod("kube-apiserver", ["--authorization-mode", "Node,RBAC", "--anonymous-auth", "false"])
    assert cp.apiserver_authorization_mode(w) == []
    [f] = cp.apiserver_anonymous_auth(w)
    assert "--anonymous-auth=true" in f.message and "'false'" in f.message


CIPHERS_OK = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"


# Flags as the binaries read them: the last occurrence wins, list flags add up, a boolean takes its value
# only after "=", integers are numbers ("00" is 0).
@pytest.mark.parametrize(("check", "extra", "expected", "message"), [
    (cp.apiserver_anonymous_auth, ["--anonymous-auth=true"], "fail", "--anonymous-auth=true"),
    (cp.apiserver_anonymous_auth, ["--anonymous-auth=true", "--anonymous-auth=false"], "pass", ""),
    (cp.apiserver_anonymous_auth, ["--anonymous-auth=False"], "pass", ""),
    (cp.apiserver_anonymous_auth, ["--anonymous-auth"], "fail", "--anonymous-auth=true"),
    (cp.apiserver_no_insecure_port, ["--secure-port=0"], "fail", "--secure-port=0 turns off"),
    (cp.apiserver_no_insecure_port, ["--secure-port", "0"], "fail", "--secure-port=0 turns off"),
    (cp.apiserver_no_insecure_port, ["--secure-port=00"], "fail", "--secure-port=00 turns off"),
    (cp.apiserver_no_insecure_port, ["--secure-port=0", "--secure-port=6443"], "pass", ""),
    (cp.apiserver_no_insecure_port, ["--insecure-port=00"], "pass", ""),
    (cp.apiserver_no_insecure_port, ["--insecure-port=0", "--insecure-port=8080"], "fail", "--insecure-port=8080"),
    (cp.apiserver_no_token_file, ["--token-auth-file=/t.csv"], "fail", "/t.csv"),
    (cp.apiserver_tls_min_version, ["--tls-min-version=VersionTLS13", "--tls-min-version=VersionTLS10"], "fail",
     "VersionTLS10"),
    (cp.apiserver_authorization_mode, ["--authorization-mode=Node", "--authorization-mode=RBAC"], "pass", ""),
    (cp.apiserver_authorization_mode, ["--authorization-mode=Node,RBAC", "--authorization-mode=AlwaysAllow"],
     "fail", "includes AlwaysAllow"),
    (cp.apiserver_tls_cipher_suites, [f"--tls-cipher-suites={CIPHERS_OK}",
                                      "--tls-cipher-suites=TLS_RSA_WITH_RC4_128_SHA"], "fail", "RC4"),
])
def test_flags_read_like_the_binary(check: Any, extra: list[str], expected: str, message: str) -> None:
    names = {e.split("=", 1)[0].lstrip("-") for e in extra if e.startswith("--")}
    result = check(static_pod("kube-apiserver", [*without(KUBEADM_APISERVER, *names), *extra]))
    assert verdict(result) == expected, result
    if expected == "fail":
        assert any(message in f.message for f in result), [f.message for f in result]


@pytest.mark.parametrize(("suites", "min_version", "expected", "message"), [
    (None, None, "pass", ""),
    (CIPHERS_OK, None, "pass", ""),
    ("TLS_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305", None,
     "pass", ""),
    (f"{CIPHERS_OK},TLS_RSA_WITH_RC4_128_SHA", None, "fail", "TLS_RSA_WITH_RC4_128_SHA: RC4 is broken"),
    ("TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", None, "fail", "Sweet32"),
    ("TLS_RSA_WITH_AES_128_CBC_SHA", None, "fail", "no forward secrecy"),
    ("TLS_RSA_WITH_AES_128_GCM_SHA256", None, "fail", "no forward secrecy"),
    ("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", None, "fail", "Lucky13"),
    ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_MADE_UP", None, "fail", "refuses to start"),
    ("TLS_RSA_WITH_RC4_128_SHA", "VersionTLS13", "pass", ""),
    ("TLS_RSA_WITH_RC4_128_SHA", "VersionTLS12", "fail", "RC4"),
])
def test_apiserver_cipher_suites(suites: str | None, min_version: str | None, expected: str, message: str) -> None:
    extra = ([f"--tls-cipher-suites={suites}"] if suites else []) + \
            ([f"--tls-min-version={min_version}"] if min_version else [])
    result = cp.apiserver_tls_cipher_suites(static_pod("kube-apiserver", [*KUBEADM_APISERVER, *extra]))
    assert verdict(result) == expected
    if expected == "fail":
        assert any(message in f.message for f in result), [f.message for f in result]
        assert all(f.field.endswith("(--tls-cipher-suites)") for f in result)


def test_cipher_suites_in_args_and_space_separated() -> None:
    w = static_pod("kube-apiserver", [*KUBEADM_APISERVER, "--tls-cipher-suites", "TLS_RSA_WITH_3DES_EDE_CBC_SHA"],
                   in_args=True)
    [f] = cp.apiserver_tls_cipher_suites(w)
    assert "TLS_RSA_WITH_3DES_EDE_CBC_SHA" in f.message


def test_etcd_reads_single_dash_flags_and_last_occurrence() -> None:
    """etcd parses with Go's flag package: -flag and --flag are the same flag."""
    single = [f"-{f.lstrip('-')}" for f in KUBEADM_ETCD]
    assert cp.etcd_client_tls(static_pod("etcd", single)) == []
    flipped = static_pod("etcd", [*KUBEADM_ETCD, "-client-cert-auth=false"])
    assert verdict(cp.etcd_client_tls(flipped)) == "fail"
    again = static_pod("etcd", [*KUBEADM_ETCD, "--auto-tls=true", "--auto-tls=false"])
    assert cp.etcd_client_tls(again) == []


def test_etcd_stops_reading_flags_at_a_stray_argument() -> None:
    """Go's flag package: ``-client-cert-auth true`` sets true, and "true" ends the flags."""
    w = static_pod("etcd", ["--client-cert-auth", "true", *without(KUBEADM_ETCD, "client-cert-auth")])
    findings = cp.etcd_client_tls(w)
    assert any("--cert-file is not set" in f.message for f in findings)
    pflag = static_pod("kube-apiserver", ["--profiling", "false", *KUBEADM_APISERVER])
    assert cp.apiserver_kubelet_tls(pflag) == []  # pflag reads on past a positional argument
    scheduler = static_pod("kube-scheduler", ["--bind-address=127.0.0.1", "--profiling", "false"])
    [f] = cp.scheduler_exposure(scheduler)
    assert f.message.startswith("--profiling=true exposes pprof data") and "'false'" in f.message


def test_flags_after_double_dash_are_not_flags() -> None:
    w = static_pod("kube-apiserver", [*KUBEADM_APISERVER, "--", "--anonymous-auth=true"])
    assert cp.apiserver_anonymous_auth(w) == []


@pytest.mark.parametrize(("flags", "client", "peer"), [
    (KUBEADM_ETCD, "pass", "pass"),
    (without(KUBEADM_ETCD, "client-cert-auth"), "fail", "pass"),
    ([*KUBEADM_ETCD, "--auto-tls=true"], "fail", "pass"),
    ([*without(KUBEADM_ETCD, "listen-client-urls"), "--listen-client-urls=http://127.0.0.1:2379"], "fail", "pass"),
    (without(KUBEADM_ETCD, "peer-client-cert-auth"), "pass", "fail"),
    ([*KUBEADM_ETCD, "--peer-auto-tls=true"], "pass", "fail"),
    (["--data-dir=/var/lib/etcd"], "fail", "fail"),
])
def test_etcd_tls(flags: list[str], client: str, peer: str) -> None:
    w = static_pod("etcd", flags)
    assert verdict(cp.etcd_client_tls(w)) == client
    assert verdict(cp.etcd_peer_tls(w)) == peer


def test_etcd_separate_ca() -> None:
    etcd = static_pod("etcd", KUBEADM_ETCD)
    apiserver = static_pod("kube-apiserver", KUBEADM_APISERVER)
    assert cp.etcd_separate_ca(etcd, apiserver) == []
    shared = static_pod("etcd", [*without(KUBEADM_ETCD, "trusted-ca-file"),
                                 "--trusted-ca-file=/etc/kubernetes/pki/ca.crt"])
    [f] = cp.etcd_separate_ca(shared, apiserver)
    assert "also the API server's --client-ca-file" in f.message
    assert isinstance(cp.etcd_separate_ca(etcd, None), Undetermined)


@pytest.mark.parametrize(("flags", "expected"), [
    (["--profiling=false", "--bind-address=127.0.0.1"], "pass"),
    (["--bind-address=127.0.0.1"], "fail"),
    (["--profiling=false"], "fail"),
    (["--profiling=false", "--bind-address=0.0.0.0"], "fail"),
])
@pytest.mark.parametrize("component", ["kube-controller-manager", "kube-scheduler"])
def test_controller_manager_and_scheduler(component: str, flags: list[str], expected: str) -> None:
    check = cp.controller_manager_exposure if component == "kube-controller-manager" else cp.scheduler_exposure
    assert verdict(check(static_pod(component, flags))) == expected


def test_component_detection() -> None:
    assert cp.component_of(static_pod("kube-apiserver", [])) == "kube-apiserver"
    assert cp.component_of(static_pod("etcd", [], in_args=True)) == "etcd"
    raw = obj("Pod", "x", "kube-system", spec={"containers": [{"name": "c", "image": "x",
                                                              "command": ["/usr/local/bin/kube-scheduler"]}]})
    assert cp.component_of(inventory(raw).all_workloads()[0]) == "kube-scheduler"
    other = obj("Pod", "y", "kube-system", spec={"containers": [{"name": "c", "image": "x", "command": ["sh"]}]})
    assert cp.component_of(inventory(other).all_workloads()[0]) is None


def kubelet_cfg(**fields: Any) -> K8sObject:
    return K8sObject({"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
                      "metadata": {"name": "node-1"}, **fields}, Source("kubelet.yaml", 1, 1))


HARDENED_KUBELET = dict(authentication={"anonymous": {"enabled": False}, "webhook": {"enabled": True},
                                        "x509": {"clientCAFile": "/etc/kubernetes/pki/ca.crt"}},
                        authorization={"mode": "Webhook"}, readOnlyPort=0, rotateCertificates=True)
KUBELET_CIPHERS = ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                   "TLS_RSA_WITH_AES_256_GCM_SHA384"]
HARDENED_KUBELET["tlsCipherSuites"] = KUBELET_CIPHERS
KUBELET_CHECKS = [kubelet.anonymous_auth, kubelet.authorization, kubelet.client_ca, kubelet.read_only_port,
                  kubelet.certificate_rotation, kubelet.tls_cipher_suites]


@pytest.mark.parametrize("check", KUBELET_CHECKS, ids=lambda f: f.__name__)
def test_kubelet_hardened_passes_and_placeholder_is_undetermined(check: Any) -> None:
    assert check(kubelet_cfg(**HARDENED_KUBELET)) == []
    placeholder = K8sObject({"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
                             "metadata": {"name": "n", "annotations": {kubelet.UNAVAILABLE: "403 forbidden"}}},
                            Source(None))
    assert verdict(check(placeholder)) == "unknown"


@pytest.mark.parametrize(("fields", "expected", "message"), [
    ({"tlsCipherSuites": KUBELET_CIPHERS}, "pass", ""),
    ({}, "fail", "tlsCipherSuites is not set"),
    ({"tlsMinVersion": "VersionTLS13"}, "pass", ""),
    ({"tlsCipherSuites": ["TLS_RSA_WITH_RC4_128_SHA"], "tlsMinVersion": "VersionTLS13"}, "pass", ""),
    ({"tlsCipherSuites": [*KUBELET_CIPHERS, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"]}, "fail",
     "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: not in the benchmark's list"),
    ({"tlsCipherSuites": ["TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"]}, "fail", "Sweet32"),
    ({"tlsCipherSuites": ["TLS_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"]}, "pass", ""),
    ({"tlsCipherSuites": "TLS_RSA_WITH_RC4_128_SHA"}, "fail", "not a list"),
])
def test_kubelet_cipher_suites(fields: dict[str, Any], expected: str, message: str) -> None:
    result = kubelet.tls_cipher_suites(kubelet_cfg(**fields))
    assert verdict(result) == expected
    if expected == "fail":
        assert any(message in f.message for f in result), [f.message for f in result]


def test_kubelet_cipher_finding_points_at_the_list_item() -> None:
    [f] = kubelet.tls_cipher_suites(kubelet_cfg(tlsCipherSuites=[*KUBELET_CIPHERS, "TLS_RSA_WITH_RC4_128_SHA"]))
    assert f.field == "tlsCipherSuites[3]"


@pytest.mark.parametrize(("check", "fields", "expected"), [
    (kubelet.anonymous_auth, {"authentication": {"anonymous": {"enabled": True}}}, "fail"),
    (kubelet.anonymous_auth, {}, "pass"),
    (kubelet.authorization, {"authorization": {"mode": "AlwaysAllow"}}, "fail"),
    (kubelet.authorization, {"authentication": {"webhook": {"enabled": False}}}, "fail"),
    (kubelet.authorization, {}, "pass"),
    (kubelet.client_ca, {}, "fail"),
    (kubelet.read_only_port, {"readOnlyPort": 10255}, "fail"),
    (kubelet.read_only_port, {}, "pass"),
    (kubelet.certificate_rotation, {}, "fail"),
    (kubelet.certificate_rotation, {"rotateCertificates": False}, "fail"),
])
def test_kubelet_fields_and_defaults(check: Any, fields: dict[str, Any], expected: str) -> None:
    assert verdict(check(kubelet_cfg(**fields))) == expected


def test_kubelet_config_file_without_metadata(tmp_path: Path) -> None:
    from pytest_k8shardening.loader import load_paths

    f = tmp_path / "worker-7.yaml"
    f.write_text("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nreadOnlyPort: 10255\n")
    [o] = load_paths([str(f)])[0]
    assert o.ref == "KubeletConfiguration/worker-7"
    assert verdict(kubelet.read_only_port(o)) == "fail"


TABLE = {"as_of": "2026-11-24", "releases": {"1.33": "2026-06-28", "1.34": "2026-10-27", "1.35": "2027-02-28"}}
TODAY = dt.date(2026, 11, 24)


@pytest.mark.parametrize(("version", "expected"), [
    ("v1.35.1", "pass"), ("v1.34.9", "fail"), ("v1.31.0", "fail"), ("v1.36.0", "unknown"), ("garbage", "unknown"),
    ("v1.35.2-eks-1234", "pass"),
])
def test_version_supported(version: str, expected: str) -> None:
    assert verdict(cluster.version_supported(version, what="x", today=TODAY, table=TABLE)) == expected


def test_shipped_release_table_is_dated_and_ordered() -> None:
    table = cluster.release_table()
    dt.date.fromisoformat(table["as_of"])
    dates = [dt.date.fromisoformat(d) for _, d in sorted(table["releases"].items(),
                                                         key=lambda kv: tuple(map(int, kv[0].split("."))))]
    assert dates == sorted(dates)


@pytest.mark.parametrize(("anonymous", "expected"), [
    ({"path": "/api", "status": 401}, "pass"),
    ({"path": "/api", "status": 403}, "fail"),
    ({"path": "/api", "status": 200}, "fail"),
    ({"path": "/api", "status": None, "error": "timed out"}, "unknown"),
])
def test_anonymous_probe(anonymous: dict[str, Any], expected: str) -> None:
    probe = K8sObject({"apiVersion": "k8shardening.io/v1", "kind": "ClusterProbe", "metadata": {"name": "api-server"},
                       "anonymous": anonymous}, Source(None))
    assert verdict(cluster.anonymous_access(probe)) == expected
