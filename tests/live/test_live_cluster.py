"""The plugin against a real kube-apiserver with etcd (no mocks of the client)."""

from __future__ import annotations

import json
import stat
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from .apiserver import SCANNER_USER, ControlPlane
from .conftest import ROOT, apply, load_yaml, run_plugin

HARDENED_SC = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
               "capabilities": {"drop": ["ALL"]}}
POD_SC = {"runAsNonRoot": True, "runAsUser": 1000, "runAsGroup": 1000, "seccompProfile": {"type": "RuntimeDefault"}}


def _pod(name: str, ns: str, *, sc: dict[str, Any] | None = None, pod_sc: dict[str, Any] | None = None,
         **spec: Any) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "main", "image": "registry.example.org/app:1.0"}
    if sc is not None:
        container["securityContext"] = sc
    body: dict[str, Any] = {"containers": [container], **spec}
    if pod_sc is not None:
        body["securityContext"] = pod_sc
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns}, "spec": body}


def _mirror_pod(component: str, argv: list[str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": f"{component}-node-1", "namespace": "kube-system",
                     "labels": {"component": component, "tier": "control-plane"},
                     "annotations": {"kubernetes.io/config.mirror": "0123456789abcdef"}},
        "spec": {"nodeName": "node-1", "priorityClassName": "system-node-critical",
                 "containers": [{"name": component, "image": f"registry.k8s.io/{component}:v1.36.3",
                                 "command": [component, *argv]}]},
    }


@pytest.fixture(scope="module")
def cluster(control_plane: ControlPlane, admin: Any) -> ControlPlane:
    """A small cluster: namespaces with and without Pod Security labels, pods, RBAC, a node, control plane."""
    from kubernetes import client

    core = client.CoreV1Api(admin)
    apply(admin,
          {"apiVersion": "v1", "kind": "Namespace", "metadata": {
              "name": "restricted-ns", "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}},
          {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "open-ns"}},
          {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"}},
          {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "app", "namespace": "open-ns"},
           "automountServiceAccountToken": False},
          _pod("bad", "open-ns", sc={"privileged": True}, hostPID=True),
          _pod("good", "open-ns", sc={**HARDENED_SC}, pod_sc=POD_SC, serviceAccountName="app",
               automountServiceAccountToken=False),
          _pod("ok", "restricted-ns", sc={**HARDENED_SC}, pod_sc=POD_SC),
          {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "open-ns"},
           "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {
               "metadata": {"labels": {"app": "web"}},
               "spec": {"containers": [{"name": "web", "image": "nginx:1.27",
                                        "env": [{"name": "DB_PASSWORD", "value": "hunter2-live"}]}]}}}},
          {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "creds", "namespace": "open-ns"},
           "data": {"API_TOKEN": "tok-live-123456"}},
          {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
           "metadata": {"name": "deny-all", "namespace": "open-ns"},
           "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}},
          _mirror_pod("kube-apiserver", control_plane.apiserver_args),
          _mirror_pod("etcd", control_plane.etcd_args))
    core.patch_node_status("node-1", {"status": {
        "nodeInfo": {"kubeletVersion": "v1.30.2", "machineID": "", "systemUUID": "", "bootID": "",
                     "kernelVersion": "", "osImage": "", "containerRuntimeVersion": "", "kubeProxyVersion": "",
                     "operatingSystem": "linux", "architecture": "amd64"},
        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 1}}}})
    return control_plane


def test_real_admission_rejects_what_it_should(cluster: ControlPlane, admin: Any) -> None:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    with pytest.raises(ApiException) as err:
        client.CoreV1Api(admin).create_namespaced_pod("restricted-ns", _pod("priv", "restricted-ns",
                                                                             sc={"privileged": True}))
    assert err.value.status == 403 and "violates PodSecurity" in str(err.value.body)


def _bind(admin: Any, role_docs: list[dict[str, Any]]) -> Iterator[None]:
    from kubernetes import client

    rbac = client.RbacAuthorizationV1Api(admin)
    role = next(d for d in role_docs if d["kind"] == "ClusterRole")
    name = role["metadata"]["name"]
    apply(admin, role, {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                        "metadata": {"name": f"{name}-test"},
                        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
                        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": SCANNER_USER}]})
    try:
        yield
    finally:
        rbac.delete_cluster_role_binding(f"{name}-test")
        rbac.delete_cluster_role(name)


@pytest.fixture
def full_access(cluster: ControlPlane, admin: Any) -> Iterator[None]:
    """The scanner bound to deploy/scanner-rbac.yaml, the role users are told to apply."""
    yield from _bind(admin, load_yaml(ROOT / "deploy" / "scanner-rbac.yaml"))


@pytest.fixture
def partial_access(cluster: ControlPlane, admin: Any) -> Iterator[None]:
    yield from _bind(admin, [{
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "partial-scanner"},
        "rules": [{"apiGroups": [""], "resources": ["pods", "namespaces", "nodes"], "verbs": ["get", "list"]}]}])


def _by(results: dict[str, Any], control: str, name: str) -> dict[str, Any]:
    hits = [r for r in results["results"] if r["control"] == control and r["resource"]
            and r["resource"]["name"] == name]
    assert len(hits) == 1, (control, name, hits)
    return hits[0]


def test_live_scan_verdicts(full_access: None, cluster: ControlPlane, tmp_path: Path) -> None:
    proc, doc = run_plugin(["--k8s-kubeconfig", str(cluster.scanner_kubeconfig), "-m", "nsa", "-rs"], tmp_path)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert doc is not None
    assert doc["summary"]["error"] == 0 and doc["summary"]["target"]["unavailable"] == {}
    # pods created through the API
    assert _by(doc, "nsa.pod.privileged", "bad")["outcome"] == "failed"
    assert _by(doc, "nsa.pod.host-pid", "bad")["outcome"] == "failed"
    for control in ("nsa.pod.privileged", "nsa.pod.run-as-non-root", "nsa.pod.seccomp",
                    "nsa.pod.service-account-token", "nsa.pod.drop-all-capabilities"):
        assert _by(doc, control, "good")["outcome"] == "passed", control
        if control != "nsa.pod.service-account-token":
            assert _by(doc, control, "ok")["outcome"] == "passed", control
    # "ok" leaves the token to its ServiceAccount "default", which does not exist: the API default mounts it
    assert _by(doc, "nsa.pod.service-account-token", "ok")["outcome"] == "failed"
    assert _by(doc, "nsa.secrets.env-credentials", "web")["outcome"] == "failed"
    assert _by(doc, "nsa.secrets.configmap-credentials", "creds")["outcome"] == "failed"
    # the control plane's real flags, read from its mirror pods
    assert _by(doc, "nsa.cp.apiserver-authorization-mode", "kube-apiserver-node-1")["outcome"] == "passed"
    assert _by(doc, "nsa.cp.audit-logging", "kube-apiserver-node-1")["outcome"] == "passed"
    assert _by(doc, "nsa.cp.apiserver-no-token-file", "kube-apiserver-node-1")["outcome"] == "passed"
    assert _by(doc, "nsa.cp.apiserver-anonymous-auth", "kube-apiserver-node-1")["outcome"] == "failed"
    assert _by(doc, "nsa.cp.encryption-at-rest", "kube-apiserver-node-1")["outcome"] == "failed"
    assert _by(doc, "nsa.cp.etcd-client-tls", "etcd-node-1")["outcome"] == "failed"
    # static pods are cluster components, not user workloads in kube-system
    assert _by(doc, "nsa.namespaces.no-user-workloads-in-system", "kube-apiserver-node-1")["outcome"] == "passed"
    # live probes: anonymous requests are on (the default), the server version is maintained
    probe = _by(doc, "nsa.cluster.anonymous-access", "api-server")
    assert probe["outcome"] == "failed" and "got 403" in probe["message"]
    assert _by(doc, "nsa.upgrades.server-version", "api-server")["outcome"] == "passed"
    assert _by(doc, "nsa.upgrades.kubelet-version", "node-1")["outcome"] == "failed"
    # no kubelet answers behind node-1: its kubelet tests skip, saying why
    kubelet = _by(doc, "nsa.kubelet.anonymous-auth", "node-1")
    assert kubelet["outcome"] == "skipped"
    assert "cannot read the kubelet configuration of node node-1" in kubelet["message"]
    assert "hunter2-live" not in proc.stdout + json.dumps(doc) and "tok-live-123456" not in proc.stdout


def test_forbidden_resources_are_skipped_not_errors(partial_access: None, cluster: ControlPlane,
                                                   tmp_path: Path) -> None:
    proc, doc = run_plugin(["--k8s-kubeconfig", str(cluster.scanner_kubeconfig), "-m", "nsa"], tmp_path)
    assert doc is not None, proc.stderr
    assert proc.returncode == 1 and doc["summary"]["error"] == 0
    unavailable = doc["summary"]["target"]["unavailable"]
    assert "Deployment" in unavailable and "ConfigMap" in unavailable and "ServiceAccount" in unavailable
    assert 'cannot list resource "deployments" in API group "apps"' in unavailable["Deployment"]
    skipped = [r for r in doc["results"] if "[unavailable:" in r["nodeid"] and "Deployment" in r["nodeid"]]
    assert skipped and all(r["outcome"] == "skipped" for r in skipped)
    assert "cannot read Deployment: 403" in skipped[0]["message"]
    assert len(skipped) == len({r["control"] for r in skipped})  # one such item per control, not per kind
    # pods are readable: they are still checked
    assert _by(doc, "nsa.pod.privileged", "bad")["outcome"] == "failed"
    # a verdict that needs ServiceAccounts is not guessed
    sa = _by(doc, "nsa.pod.service-account-token", "ok")
    assert sa["outcome"] == "skipped" and "ServiceAccounts cannot be read" in sa["message"]
    assert "not readable, tests needing them skipped: " in proc.stdout and "Deployment" in proc.stdout


def _audit_since(cp: ControlPlane, start: int) -> list[dict[str, Any]]:
    lines = cp.audit_log.read_text().splitlines()[start:]
    return [json.loads(line) for line in lines if line.strip()]


def test_plugin_only_reads_and_reads_once_under_xdist(full_access: None, cluster: ControlPlane,
                                                      tmp_path: Path) -> None:
    pytest.importorskip("xdist")
    start = len(cluster.audit_log.read_text().splitlines())
    proc, doc = run_plugin(["--k8s-kubeconfig", str(cluster.scanner_kubeconfig), "-m", "nsa", "-n", "2"], tmp_path)
    assert doc is not None and proc.returncode == 1, proc.stderr[-2000:]
    events = [e for e in _audit_since(cluster, start) if e["user"]["username"] in (SCANNER_USER, "system:anonymous")]
    assert events, "the scan left no audit events"
    assert {e["verb"] for e in events} <= {"get", "list"}, Counter(e["verb"] for e in events)
    lists = Counter(e["objectRef"]["resource"] for e in events if e["verb"] == "list"
                    and e["user"]["username"] == SCANNER_USER)
    assert lists["pods"] == 1 and lists["deployments"] == 1, lists
    assert max(lists.values()) == 1, lists


def test_snapshot_gives_the_same_verdicts_offline(full_access: None, cluster: ControlPlane, tmp_path: Path) -> None:
    snap = tmp_path / "snap.yaml"
    live, live_doc = run_plugin(["--k8s-kubeconfig", str(cluster.scanner_kubeconfig), "-m", "nsa",
                                 "--k8s-save-snapshot", str(snap)], tmp_path)
    assert live_doc is not None and snap.exists(), live.stderr[-2000:]
    text = snap.read_text()
    # issue 14 item 6: private, and no value the credential checks flag (read live, never written down)
    assert stat.S_IMODE(snap.stat().st_mode) == 0o600
    assert "hunter2-live" not in text and "tok-live-123456" not in text
    assert "DB_PASSWORD" in text and "API_TOKEN" in text  # the keys stay: the checks still name them
    offline, off_doc = run_plugin(["--k8s-manifests", str(snap), "-m", "nsa"], tmp_path)
    assert off_doc is not None, offline.stderr[-2000:]

    def verdicts(d: dict[str, Any]) -> list[Any]:
        return sorted((r["nodeid"], r["outcome"], [f["message"] for f in r.get("findings") or ()])
                      for r in d["results"])

    assert verdicts(live_doc) == verdicts(off_doc)
    creds = [v for v in verdicts(off_doc) if "credentials" in v[0] and v[1] == "failed"]
    assert any("DB_PASSWORD" in str(v) for v in creds) and any("API_TOKEN" in str(v) for v in creds), creds
    assert live.returncode == offline.returncode == 1


def _kubeconfig(path: Path, server: str, user: dict[str, Any], ca: Path | None) -> Path:
    cluster: dict[str, Any] = {"server": server}
    if ca is not None:
        cluster["certificate-authority"] = str(ca)
    else:
        cluster["insecure-skip-tls-verify"] = True
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": cluster}], "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}))
    return path


def test_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = _kubeconfig(tmp_path / "kc", f"https://127.0.0.1:{port}", {"token": "x"}, None)
    proc, doc = run_plugin(["--k8s-kubeconfig", str(cfg)], tmp_path)
    assert proc.returncode == 4 and doc is None
    assert f"cannot reach the Kubernetes API server at https://127.0.0.1:{port}" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_rejected_credentials_are_a_clear_error(cluster: ControlPlane, tmp_path: Path) -> None:
    cfg = _kubeconfig(tmp_path / "kc", cluster.server, {"token": "not-a-valid-token"}, cluster.ca_file)
    proc, _ = run_plugin(["--k8s-kubeconfig", str(cfg)], tmp_path)
    assert proc.returncode == 4
    assert "rejected the credentials" in proc.stderr and "401" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_bad_kubeconfig_and_context_are_clear_errors(cluster: ControlPlane, tmp_path: Path) -> None:
    proc, _ = run_plugin(["--k8s-kubeconfig", str(cluster.scanner_kubeconfig), "--k8s-context", "nope"], tmp_path)
    assert proc.returncode == 4 and "cannot load the cluster credentials" in proc.stderr
    proc, _ = run_plugin(["--k8s-kubeconfig", str(tmp_path / "missing")], tmp_path)
    assert proc.returncode == 4 and "cannot load the cluster credentials" in proc.stderr


FAKE_KUBELET = """
import http.server, json, ssl, sys
config = json.loads(sys.argv[3])
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/configz":
            self.send_response(404); self.end_headers(); return
        body = json.dumps({"kubeletconfig": config}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer((sys.argv[1], 10250), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[2] + "/cert.pem", sys.argv[2] + "/key.pem")
server.socket = ctx.wrap_socket(server.socket, server_side=True)
server.serve_forever()
"""
KUBELET_CONFIG = {"authentication": {"anonymous": {"enabled": True}, "webhook": {"enabled": True},
                                     "x509": {"clientCAFile": "/etc/kubernetes/pki/ca.crt"}},
                  "authorization": {"mode": "Webhook"}, "readOnlyPort": 10255, "rotateCertificates": True}


@pytest.fixture(scope="module")
def fake_kubelet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A stand-in kubelet answering /configz over HTTPS, in a network namespace of its own.

    The API server refuses to proxy to loopback addresses, so the "node" gets
    an address on a veth pair into a namespace this test creates (and removes).
    """
    import os
    import shutil
    import subprocess
    import sys
    import time
    import uuid

    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("a stand-in kubelet needs root and iproute2 to create a network namespace")
    ns, host_if, node_if = f"k8sh-{uuid.uuid4().hex[:6]}", f"kh{uuid.uuid4().hex[:6]}", f"kn{uuid.uuid4().hex[:6]}"
    octet = 16 + int(uuid.uuid4().hex[:2], 16) % 200
    host_ip, node_ip = f"10.213.{octet}.1", f"10.213.{octet}.2"
    certs = tmp_path_factory.mktemp("kubelet-certs")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(certs / "key.pem"),
                    "-out", str(certs / "cert.pem"), "-days", "1", "-subj", f"/CN={node_ip}"],
                   check=True, capture_output=True)
    setup = [["ip", "netns", "add", ns], ["ip", "link", "add", host_if, "type", "veth", "peer", "name", node_if],
             ["ip", "link", "set", node_if, "netns", ns], ["ip", "addr", "add", f"{host_ip}/30", "dev", host_if],
             ["ip", "link", "set", host_if, "up"],
             ["ip", "netns", "exec", ns, "ip", "addr", "add", f"{node_ip}/30", "dev", node_if],
             ["ip", "netns", "exec", ns, "ip", "link", "set", node_if, "up"]]
    proc = None
    try:
        for cmd in setup:
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode != 0:
                pytest.skip(f"cannot create a network namespace here ({' '.join(cmd)}: {done.stderr.strip()})")
        proc = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", FAKE_KUBELET, node_ip, str(certs),
                                 json.dumps(KUBELET_CONFIG)])
        time.sleep(1.0)
        yield node_ip
    finally:
        if proc is not None:
            proc.kill()
            proc.wait()
        subprocess.run(["ip", "link", "del", host_if], capture_output=True)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def test_kubelet_configz_through_the_node_proxy(full_access: None, cluster: ControlPlane, admin: Any,
                                                fake_kubelet: str, tmp_path: Path) -> None:
    """The kubelet tests read a node's /configz through the real API server's node proxy."""
    from kubernetes import client

    apply(admin, {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-2"}})
    client.CoreV1Api(admin).patch_node_status("node-2", {"status": {
        "addresses": [{"type": "InternalIP", "address": fake_kubelet}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}}})
    try:
        start = len(cluster.audit_log.read_text().splitlines())
        proc, doc = run_plugin(["--k8s-kubeconfig", str(cluster.scanner_kubeconfig), "-m", "kubelet"], tmp_path)
        assert doc is not None, proc.stderr[-2000:]
        verdicts = {r["control"]: r for r in doc["results"] if r["resource"] and r["resource"]["name"] == "node-2"}
        assert verdicts["nsa.kubelet.anonymous-auth"]["outcome"] == "failed"
        assert verdicts["nsa.kubelet.read-only-port"]["outcome"] == "failed"
        assert "readOnlyPort=10255" in verdicts["nsa.kubelet.read-only-port"]["message"]
        for control in ("nsa.kubelet.authorization", "nsa.kubelet.client-ca", "nsa.kubelet.certificate-rotation"):
            assert verdicts[control]["outcome"] == "passed", control
        # node-1 has no kubelet behind it: skipped with the reason, not passed
        node1 = [r for r in doc["results"] if r["resource"] and r["resource"]["name"] == "node-1"]
        assert node1 and all(r["outcome"] == "skipped" for r in node1)
        proxied = [json.loads(line) for line in cluster.audit_log.read_text().splitlines()[start:]]
        assert any(e["user"]["username"] == SCANNER_USER and e["objectRef"].get("subresource") == "proxy"
                   and e["verb"] == "get" for e in proxied if e.get("objectRef"))
    finally:
        client.CoreV1Api(admin).delete_node("node-2")


@pytest.fixture
def owned_pods(cluster: ControlPlane, admin: Any) -> Iterator[None]:
    """A ReplicaSet, a pod made from its template, and a privileged hostPID pod that copied the ReplicaSet's uid."""
    from kubernetes import client

    apps, core = client.AppsV1Api(admin), client.CoreV1Api(admin)
    template = {"metadata": {"labels": {"app": "shop"}},
                "spec": {"containers": [{"name": "web", "image": "registry.example.org/shop:1.0",
                                         "securityContext": {**HARDENED_SC}}], "securityContext": POD_SC}}
    apply(admin, {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "shop-5d4", "namespace": "open-ns"},
                  "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "shop"}}, "template": template}})
    rs = apps.read_namespaced_replica_set("shop-5d4", "open-ns")
    ref = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "shop-5d4", "uid": rs.metadata.uid,
           "controller": True}
    honest = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "shop-5d4-abcde", "namespace": "open-ns",
                                                               "labels": {"app": "shop", "pod-template-hash": "5d4"},
                                                               "ownerReferences": [ref]}, "spec": template["spec"]}
    forged = _pod("shop-5d4-miner", "open-ns", sc={"privileged": True}, hostPID=True)
    forged["metadata"].update(labels={"app": "shop"}, ownerReferences=[ref])
    apply(admin, honest, forged)
    try:
        yield
    finally:
        for name in ("shop-5d4-abcde", "shop-5d4-miner"):
            core.delete_namespaced_pod(name, "open-ns", grace_period_seconds=0)
        apps.delete_namespaced_replica_set("shop-5d4", "open-ns")


def test_live_pods_are_checked_on_their_owner_only_when_they_are_its_pods(
        full_access: None, owned_pods: None, cluster: ControlPlane, tmp_path: Path) -> None:
    """Anyone who can create a pod can copy a real ReplicaSet's uid: that exempts nothing."""
    proc, doc = run_plugin(["--k8s-kubeconfig", str(cluster.scanner_kubeconfig), "-m", "nsa",
                            "--k8s-namespace", "open-ns", "-k", "host_pid or privileged", "-v"], tmp_path)
    assert proc.returncode == 1 and doc is not None, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert _by(doc, "nsa.pod.host-pid", "shop-5d4-miner")["outcome"] == "failed"
    assert _by(doc, "nsa.pod.host-pid", "shop-5d4")["outcome"] == "passed"
    assert not [r for r in doc["results"] if r["resource"] and r["resource"]["name"] == "shop-5d4-abcde"]
    target = doc["summary"]["target"]
    assert target["checked_on_owner"] == {"Pod": 1}
    refused = {r["id"]: r["reason"] for r in target["owner_refused"]}
    assert "differs from the template of its owner ReplicaSet shop-5d4" in refused["open-ns/Pod/shop-5d4-miner"]
    assert "checked on their owners (pod spec matches the owner's template): 1 Pod" in proc.stdout


KYVERNO_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "clusterpolicies.kyverno.io"},
    "spec": {"group": "kyverno.io", "scope": "Cluster",
             "names": {"plural": "clusterpolicies", "singular": "clusterpolicy", "kind": "ClusterPolicy"},
             "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                 "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}}
KYVERNO_POLICY = {
    "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy", "metadata": {"name": "podsec-baseline"},
    "spec": {"validationFailureAction": "Enforce", "rules": [{
        "name": "baseline", "match": {"any": [{"resources": {"kinds": ["Pod"], "namespaces": ["open-ns"]}}]},
        "validate": {"podSecurity": {"level": "baseline", "version": "latest"}}}]}}


@pytest.fixture
def kyverno_installed(cluster: ControlPlane, admin: Any) -> Iterator[None]:
    """Kyverno's ClusterPolicy kind served by the API server (its CRD only: no engine runs), one policy in it."""
    import time

    from kubernetes import client

    ext = client.ApiextensionsV1Api(admin)
    ext.create_custom_resource_definition(KYVERNO_CRD)
    try:
        for _ in range(100):
            conditions = ext.read_custom_resource_definition("clusterpolicies.kyverno.io").status.conditions or []
            if any(c.type == "Established" and c.status == "True" for c in conditions):
                break
            time.sleep(0.1)
        for _ in range(50):  # discovery catches up with the new group
            try:
                client.CustomObjectsApi(admin).create_cluster_custom_object("kyverno.io", "v1", "clusterpolicies",
                                                                          KYVERNO_POLICY)
                break
            except client.exceptions.ApiException:
                time.sleep(0.2)
        yield
    finally:
        ext.delete_custom_resource_definition("clusterpolicies.kyverno.io")
        for _ in range(150):  # deletion is asynchronous: wait until the next test could create it again
            try:
                ext.read_custom_resource_definition("clusterpolicies.kyverno.io")
            except client.exceptions.ApiException as exc:
                if exc.status == 404:
                    break
                raise
            time.sleep(0.2)


def test_policy_engine_kinds_read_live(full_access: None, cluster: ControlPlane, tmp_path: Path) -> None:
    """Without Kyverno the kind is not served: no engine, open-ns fails (see the next test)."""
    proc, doc = run_plugin(["--k8s-kubeconfig", str(cluster.scanner_kubeconfig), "-k", "pod_security_enforced"],
                           tmp_path)
    assert doc is not None, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert doc["summary"]["target"]["unavailable"] == {}
    assert _by(doc, "nsa.admission.pod-security-enforced", "open-ns")["outcome"] == "failed"
    assert _by(doc, "nsa.admission.pod-security-enforced", "restricted-ns")["outcome"] == "passed"


def test_kyverno_policy_enforces_pod_security_live(kyverno_installed: None, full_access: None,
                                                   cluster: ControlPlane, tmp_path: Path) -> None:
    proc, doc = run_plugin(["--k8s-kubeconfig", str(cluster.scanner_kubeconfig), "-k", "pod_security_enforced"],
                           tmp_path)
    assert doc is not None, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert doc["summary"]["target"]["unavailable"] == {}
    assert _by(doc, "nsa.admission.pod-security-enforced", "open-ns")["outcome"] == "passed"
    # another namespace without a label is not matched by the policy: it still fails, saying so
    default = _by(doc, "nsa.admission.pod-security-enforced", "default")
    assert default["outcome"] == "failed" and "its namespaces do not include default" in json.dumps(default)


def test_unreadable_kyverno_policies_are_undetermined_live(kyverno_installed: None, partial_access: None,
                                                           cluster: ControlPlane, tmp_path: Path) -> None:
    proc, doc = run_plugin(["--k8s-kubeconfig", str(cluster.scanner_kubeconfig), "-k", "pod_security_enforced"],
                           tmp_path)
    assert doc is not None, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = _by(doc, "nsa.admission.pod-security-enforced", "open-ns")
    assert result["outcome"] == "skipped" and "ClusterPolicy.kyverno.io cannot be read" in json.dumps(result)
