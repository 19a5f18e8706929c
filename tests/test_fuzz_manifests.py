"""Property-based tests: no manifest makes the plugin crash, hang, or miss a privileged pod (issue 14).

Hypothesis generates inputs from realistic objects of every kind the checks
read (workloads, RBAC, NetworkPolicies, LimitRanges, ConfigMaps, webhooks,
kubelet configuration), mutated where a careless user or an attacker would:
any field replaced by an odd scalar (null, booleans, integers past int64,
floats, NaN, dates, unicode), by a nested list or mapping, a list turned
into a mapping and back, keys added. A privileged pod (a Pod, a Deployment
or a DaemonSet) is placed anywhere in the input: as its own document, inside
a ``kind: List``, before or after the broken objects.

Two properties:

* the loader and every check, called directly (fast, many examples): the
  input is refused with a :class:`ManifestError` naming the file, or every
  check returns a result (findings, not applicable, undetermined) and none
  raises; and the privileged pod is reported by both the NSA and the PSS
  check;
* the whole plugin, in process: the run ends with exit status 0, 1 or 4,
  with no traceback and no INTERNALERROR, within a time limit; a run that
  reads the input (exit 1, never 0) reports the privileged pod as failed in
  the NSA and the PSS suites.

Examples are derandomized (the same inputs on every run, no example
database), so CI is deterministic; the example counts keep both under a
minute.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml

from pytest_k8shardening.checks import (
    CheckResult,
    Finding,
    NotApplicable,
    Undetermined,
    admission,
    cluster,
    control_plane,
    kubelet,
    namespaces,
    network,
    org,
    pod,
    pss,
    rbac,
    secrets,
    upgrades,
)
from pytest_k8shardening.loader import ManifestError, load_inventory
from pytest_k8shardening.model import Inventory, Scope
from pytest_k8shardening.policy import OrgPolicy

try:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
except ImportError:  # `pip install .` without the test extras (the README's first command runs from here)
    if os.environ.get("CI"):
        raise
    pytest.skip("the property tests need Hypothesis: pip install '.[test]'", allow_module_level=True)

RBAC = "rbac.authorization.k8s.io/v1"
PROBE = "privileged-probe"


# ------------------------------------------------------------------ realistic objects
def _container(name: str = "web") -> dict[str, Any]:
    return {
        "name": name, "image": "registry.example.com/shop/api:1.4.2", "command": ["/app"], "args": ["--port", "8080"],
        "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
        "env": [{"name": "LOG_LEVEL", "value": "info"},
                {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}],
        "envFrom": [{"configMapRef": {"name": "settings"}}],
        "volumeMounts": [{"name": "data", "mountPath": "/data", "readOnly": True}],
        "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": 0.1}},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
        "readinessProbe": {"tcpSocket": {"port": 8080, "host": ""}},
        "lifecycle": {"preStop": {"exec": {"command": ["sleep", "5"]}}, "postStart": {"httpGet": {"port": 80}}},
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "allowPrivilegeEscalation": False,
                            "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"], "add": []},
                            "seccompProfile": {"type": "RuntimeDefault"}, "procMount": "Default",
                            "appArmorProfile": {"type": "RuntimeDefault"}, "seLinuxOptions": {"type": "container_t"},
                            "windowsOptions": {"hostProcess": False}, "privileged": False},
    }


def _pod_spec() -> dict[str, Any]:
    return {
        "serviceAccountName": "api", "automountServiceAccountToken": False, "hostUsers": True,
        "os": {"name": "linux"}, "priorityClassName": "standard", "hostPID": False,
        "resources": {"limits": {"memory": "1Gi"}},
        "securityContext": {"runAsGroup": 10001, "fsGroup": 10001, "supplementalGroups": [10002],
                            "sysctls": [{"name": "net.ipv4.tcp_syncookies", "value": "1"}]},
        "volumes": [{"name": "data", "emptyDir": {}}, {"name": "cfg", "configMap": {"name": "settings"}},
                    {"name": "logs", "hostPath": {"path": "/var/log", "type": "Directory"}}],
        "initContainers": [_container("init")], "containers": [_container()],
    }


def _deployment() -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "api", "namespace": "shop", "labels": {"app": "api"}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "api"}},
                     "template": {"metadata": {"labels": {"app": "api"},
                                               "annotations": {"container.apparmor.security.beta.kubernetes.io/web":
                                                               "runtime/default"}},
                                  "spec": _pod_spec()}}}


BASES: dict[str, Callable[[], dict[str, Any]]] = {
    "Deployment": _deployment,
    "Pod": lambda: {"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": "worker", "namespace": "jobs", "uid": "5b0c", "resourceVersion": "811",
                                 "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                                      "name": "worker-7d4", "uid": "9e1f", "controller": True}]},
                    "spec": {**_pod_spec(), "hostNetwork": True}},
    "CronJob": lambda: {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "report", "namespace": "jobs"},
                        "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {
                            "spec": {"restartPolicy": "OnFailure", "containers": [_container("report")]}}}}}},
    "ClusterRole": lambda: {"apiVersion": RBAC, "kind": "ClusterRole", "metadata": {"name": "reader"},
                            "rules": [{"apiGroups": [""], "resources": ["secrets", "pods/exec"],
                                       "verbs": ["get", "list", "create"]},
                                      {"nonResourceURLs": ["/metrics"], "verbs": ["get"]}],
                            "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"agg": "reader"}}]}},
    "Role": lambda: {"apiVersion": RBAC, "kind": "Role", "metadata": {"name": "leader", "namespace": "default"},
                     "rules": [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["*"],
                                "resourceNames": ["api-lock"]}]},
    "RoleBinding": lambda: {"apiVersion": RBAC, "kind": "RoleBinding",
                            "metadata": {"name": "api-leader", "namespace": "default"},
                            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "leader"},
                            "subjects": [{"kind": "ServiceAccount", "name": "api", "namespace": "shop"},
                                         {"kind": "Group", "name": "system:authenticated",
                                          "apiGroup": "rbac.authorization.k8s.io"}]},
    "ClusterRoleBinding": lambda: {"apiVersion": RBAC, "kind": "ClusterRoleBinding", "metadata": {"name": "readers"},
                                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                               "name": "reader"},
                                   "subjects": [{"kind": "User", "name": "system:anonymous"},
                                                {"kind": "ServiceAccount", "name": "default", "namespace": "shop"}]},
    "NetworkPolicy": lambda: {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                              "metadata": {"name": "api", "namespace": "shop"},
                              "spec": {"podSelector": {"matchExpressions": [{"key": "app", "operator": "In",
                                                                             "values": ["api"]}]},
                                       "policyTypes": ["Ingress", "Egress"],
                                       "ingress": [{"from": [{"namespaceSelector": {}}],
                                                    "ports": [{"port": "http"}]}],
                                       "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0",
                                                                       "except": ["169.254.169.254/32"]}}],
                                                   "ports": [{"port": 443, "endPort": 444}]}]}},
    "ServiceAccount": lambda: {"apiVersion": "v1", "kind": "ServiceAccount",
                               "metadata": {"name": "api", "namespace": "shop"}, "automountServiceAccountToken": True},
    "ConfigMap": lambda: {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "shop"},
                          "data": {"app.properties": "db.user=api\ndb.password=hunter2\n", "LEVEL": "info"}},
    "LimitRange": lambda: {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "lr", "namespace": "shop"},
                           "spec": {"limits": [{"type": "Container", "default": {"cpu": "1", "memory": "1Gi"},
                                                "defaultRequest": {"cpu": 0.5}}]}},
    "ResourceQuota": lambda: {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q", "namespace": "shop"},
                              "spec": {"hard": {"requests.cpu": "4", "limits.memory": "8Gi"}}},
    "Namespace": lambda: {"apiVersion": "v1", "kind": "Namespace",
                          "metadata": {"name": "shop", "labels": {"pod-security.kubernetes.io/enforce": "baseline"}}},
    "ValidatingWebhookConfiguration": lambda: {
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "policy.sigstore.dev"},
        "webhooks": [{"name": "policy.sigstore.dev", "clientConfig": {"service": {"namespace": "cosign-system",
                                                                                   "name": "webhook"}}}]},
    "KubeletConfiguration": lambda: {"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
                                     "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": True},
                                                        "x509": {"clientCAFile": "/etc/kubernetes/pki/ca.crt"}},
                                     "authorization": {"mode": "Webhook"}, "readOnlyPort": 0,
                                     "rotateCertificates": True},
    "Service": lambda: {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api", "namespace": "shop"},
                        "spec": {"ports": [{"port": 80, "targetPort": "http"}]}},
    # policy engines (checks/engines.py)
    "ClusterPolicy": lambda: {"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy", "metadata": {"name": "pss"},
                              "spec": {"validationFailureAction": "Enforce", "validationFailureActionOverrides": [
                                  {"action": "Audit", "namespaces": ["dev-*"]}], "rules": [{
                                      "name": "baseline",
                                      "match": {"any": [{"resources": {"kinds": ["Pod"], "namespaces": ["shop"],
                                                                       "namespaceSelector": {"matchLabels": {
                                                                           "team": "shop"}}}}]},
                                      "exclude": {"any": [{"resources": {"namespaces": ["kube-system"]}}]},
                                      "validate": {"failureAction": "Enforce",
                                                   "podSecurity": {"level": "baseline", "version": "latest"}}}]}},
    "K8sPSPCapabilities": lambda: {"apiVersion": "constraints.gatekeeper.sh/v1beta1", "kind": "K8sPSPCapabilities",
                                   "metadata": {"name": "caps"},
                                   "spec": {"enforcementAction": "deny",
                                            "match": {"kinds": [{"apiGroups": [""], "kinds": ["Pod"]}],
                                                      "excludedNamespaces": ["kube-system"],
                                                      "namespaceSelector": {"matchExpressions": [
                                                          {"key": "team", "operator": "In", "values": ["shop"]}]}},
                                            "parameters": {"allowedCapabilities": ["NET_BIND_SERVICE"],
                                                           "requiredDropCapabilities": ["ALL"]}}},
    "ClusterAdmissionPolicy": lambda: {
        "apiVersion": "policies.kubewarden.io/v1", "kind": "ClusterAdmissionPolicy", "metadata": {"name": "hostns"},
        "spec": {"module": "registry://ghcr.io/kubewarden/policies/host-namespaces-psp:v0.1.0", "mode": "protect",
                 "rules": [{"apiGroups": [""], "resources": ["pods"], "operations": ["CREATE"]}],
                 "settings": {"allow_host_ipc": False, "allow_host_ports": [{"min": 80, "max": 80}]},
                 "namespaceSelector": {"matchLabels": {"team": "shop"}}}},
    "ValidatingAdmissionPolicyBinding": lambda: {
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": "deny-priv"},
        "spec": {"policyName": "deny-priv", "validationActions": ["Deny"],
                 "matchResources": {"namespaceSelector": {"matchLabels": {"team": "shop"}}}}},
    "ValidatingAdmissionPolicy": lambda: {
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": "deny-priv"},
        "spec": {"matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
                                                         "operations": ["CREATE"], "resources": ["pods"]}]},
                 "validations": [{"expression": "true"}]}},
}


def privileged(kind: str, namespace: str) -> dict[str, Any]:
    """The pod every run must report, whatever surrounds it."""
    spec = {"containers": [{"name": "probe", "image": "busybox:1.36", "securityContext": {"privileged": True}}]}
    if kind == "Pod":
        return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": PROBE, "namespace": namespace}, "spec": spec}
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": PROBE, "namespace": namespace},
            "spec": {"selector": {"matchLabels": {"app": PROBE}},
                     "template": {"metadata": {"labels": {"app": PROBE}}, "spec": spec}}}


# ------------------------------------------------------------------ odd values and mutations
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.just(10**40),
    st.floats(allow_nan=True, allow_infinity=True), st.dates(min_value=dt.date(1, 1, 1)),
    st.datetimes(min_value=dt.datetime(1970, 1, 1), max_value=dt.datetime(2100, 1, 1)),
    st.text(max_size=12), st.sampled_from(["", "true", "yes", "0", "ALL", "SYS_ADMIN", "/var/run/docker.sock", "é☃𝄞"]),
)
KEYS = st.one_of(st.text(min_size=1, max_size=10), st.sampled_from(["name", "privileged", "hostPath", "add", "items"]),
                 st.integers(min_value=-3, max_value=3))
ODD = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
                   max_leaves=6)


def _slots(node: Any) -> Iterator[tuple[Any, Any]]:
    """Every (container, key) in ``node``: where a value can be replaced."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield node, k
            yield from _slots(v)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield node, i
            yield from _slots(v)


def _reshape(value: Any) -> Any:
    """A list as a mapping, a mapping as a list, a scalar in a list: the shapes users get wrong."""
    if isinstance(value, list):
        return {str(i): v for i, v in enumerate(value)} if value else {}
    if isinstance(value, dict):
        return [value] if len(value) != 1 else list(value.values())
    return [value]


@st.composite
def mutated(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    raw = BASES[kind]()
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        slots = list(_slots(raw))
        if draw(st.integers(min_value=0, max_value=9)):  # mostly where checks read, now and then the identity
            meta = raw.get("metadata")
            slots = [s for s in slots if s[0] is not raw and s[0] is not meta] or slots
        # counted from the end: Hypothesis favours small numbers, and the deep fields come last
        parent, key = slots[-1 - draw(st.integers(min_value=0, max_value=len(slots) - 1))]
        action = draw(st.sampled_from(["replace", "reshape", "add", "delete"]))
        if action == "replace":
            parent[key] = draw(ODD)
        elif action == "reshape":
            parent[key] = _reshape(parent[key])
        elif action == "add" and isinstance(parent, dict):
            parent[draw(KEYS)] = draw(ODD)
        elif action == "delete":
            del parent[key]
    return raw


@st.composite
def manifests(draw: st.DrawFn) -> tuple[str, str, str]:
    """``(text, file suffix, namespace of the privileged pod)``."""
    kinds = draw(st.lists(st.sampled_from(sorted(BASES)), min_size=1, max_size=5))
    docs: list[Any] = [draw(mutated(k)) for k in kinds]
    ns = draw(st.sampled_from(["shop", "default", "team-a", "jobs"]))
    evil = privileged(draw(st.sampled_from(["Pod", "Deployment", "DaemonSet"])), ns)
    form = draw(st.sampled_from(["documents", "list", "json-list"]))
    if form == "documents":
        docs.insert(draw(st.integers(min_value=0, max_value=len(docs))), evil)
        return yaml.safe_dump_all(docs, allow_unicode=True, sort_keys=False), ".yaml", ns
    items = list(docs)
    items.insert(draw(st.integers(min_value=0, max_value=len(items))), evil)
    doc = {"apiVersion": "v1", "kind": "List", "items": items}
    if form == "list":
        return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), ".yaml", ns
    return json.dumps(doc, default=str), ".json", ns


# ------------------------------------------------------------------ the checks, called directly
def _is_result(r: Any) -> bool:
    return isinstance(r, (NotApplicable, Undetermined)) or (isinstance(r, list) and all(isinstance(f, Finding)
                                                                                         for f in r))


def run_every_check(inv: Inventory) -> list[CheckResult]:
    """What the suites run, called directly: every result must be a result, never an exception."""
    out: list[Any] = []
    policy = OrgPolicy(True, allowed_registries=("registry.example.com",), required_labels=("team",))
    target = upgrades.target_version("v1.33", inv)
    for w in inv.all_workloads():
        out += [f(w) for f in (pod.host_pid, pod.host_ipc, pod.host_network, pod.host_path_volumes,
                               pod.runtime_socket_mounts, pod.service_account_token,
                               namespaces.user_workload_in_system_namespace, pod.default_namespace)]
        out += [network.workload_isolated(w, inv), org.required_labels(w, policy)]
        for level in pss.LEVELS:
            out += [r for _, r in pss.evaluate(w, level)]
            out += [pss.run_check(check_id, w, level=level) for check_id in pss.CHECKS]
        if (component := control_plane.component_of(w)) is not None:
            control_plane.flags_of(w, component)
        for c in w.containers:
            out += [f(c) for f in (pod.run_as_non_root, pod.run_as_non_root_group, pod.privileged,
                                   pod.allow_privilege_escalation, pod.read_only_root_filesystem,
                                   pod.dangerous_capabilities, pod.capabilities_dropped, pod.host_ports,
                                   pod.seccomp_profile, pod.apparmor_not_weakened, pod.selinux_not_weakened,
                                   pod.cpu_limits, pod.memory_limits, secrets.env_credentials,
                                   org.image_pinned_or_tagged, org.probes, pod.cpu_requests, pod.memory_requests)]
            out.append(org.allowed_registry(c, policy))
            out += [pod.image_digest(c, True), pod.high_run_as_ids(c, 10001)]
    for ns in inv.namespaces(ignore_system_default=True):
        out += [admission.pod_security_enforced(ns, inv)]
        out += [f(ns, inv) for f in (network.network_policy_exists, network.default_deny, network.limit_range_defaults,
                                     network.resource_quota, network.cloud_metadata_blocked,
                                     network.kube_system_egress)]
    for b in inv.of_kind("RoleBinding", "ClusterRoleBinding"):
        out += [f(b, inv) for f in (rbac.cluster_admin, rbac.wildcards, rbac.secrets_read, rbac.exec_attach,
                                    rbac.escalate_bind_impersonate, rbac.nodes_proxy, rbac.anonymous,
                                    rbac.authenticated, rbac.default_service_account, rbac.admin_infra_separation,
                                    rbac.credential_minting, rbac.kube_system_workloads,
                                    rbac.webhook_configuration_write, rbac.csr_approval)]
    out += [rbac.unused_role(o, inv) for o in inv.of_kind("Role", "ClusterRole")]
    out += [secrets.configmap_credentials(o) for o in inv.of_kind("ConfigMap")]
    out += [f(o) for o in inv.of_kind("KubeletConfiguration") for f in (
        kubelet.anonymous_auth, kubelet.authorization, kubelet.client_ca, kubelet.read_only_port,
        kubelet.certificate_rotation)]
    out += [cluster.kubelet_version(o) for o in inv.of_kind("Node")]
    out += [upgrades.removed_api_versions(o, target) for o in inv.objects]
    out.append(admission.image_signature_verification(inv))
    return out


@settings(max_examples=500, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(manifests())
def test_loader_and_checks_fail_closed(tmp_path_factory: pytest.TempPathFactory,
                                       case: tuple[str, str, str]) -> None:
    text, suffix, _ = case
    path = tmp_path_factory.mktemp("fuzz") / f"input{suffix}"
    path.write_text(text, encoding="utf-8")
    try:
        inv = load_inventory([str(path)], Scope(include_system=True))
    except ManifestError as exc:
        assert str(exc).startswith(str(path)), exc  # names the file
        return
    results = run_every_check(inv)
    assert all(_is_result(r) for r in results)
    [probe] = [w for w in inv.all_workloads() if w.name == PROBE]
    assert pod.privileged(probe.containers[0]), "the privileged pod passed the NSA check"
    assert pss.privileged(probe), "the privileged pod passed the PSS check"


# ------------------------------------------------------------------ the whole plugin, in process
@contextlib.contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Fail, instead of hanging, when a run takes longer than ``seconds``."""
    def expire(signum: int, frame: Any) -> None:
        raise TimeoutError(f"the run did not finish within {seconds} s")

    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@settings(max_examples=40, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(manifests())
def test_the_plugin_fails_closed(pytester: pytest.Pytester, case: tuple[str, str, str]) -> None:
    text, suffix, ns = case
    path = pytester.path / f"input{suffix}"
    path.write_text(text, encoding="utf-8")
    report = pytester.path / "results.json"
    report.unlink(missing_ok=True)
    with time_limit(60):
        result = pytester.runpytest_inprocess(
            "--k8s-manifests", str(path), "-m", "nsa or pss_baseline", "-k", "privileged or host or capabilit",
            "--k8s-report-json", str(report), "--k8s-fail-on", "critical", "-p", "no:randomly", "-q")
    out = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in out and "INTERNALERROR" not in out, out
    assert result.ret in (pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.USAGE_ERROR), out  # never 0: a pod is privileged
    if result.ret == pytest.ExitCode.USAGE_ERROR:
        assert str(path) in out, out  # a usage error names the file
        return
    results = json.loads(report.read_text())["results"]
    probe = [r for r in results if (r.get("resource") or {}).get("name") == PROBE
             and r["control"] in ("nsa.pod.privileged", "pss.baseline.privileged")]
    assert {r["control"] for r in probe if r["outcome"] == "failed"} == {"nsa.pod.privileged",
                                                                        "pss.baseline.privileged"}, probe
    assert all((r.get("resource") or {}).get("namespace") == ns for r in probe)


def test_the_strategies_reach_both_outcomes() -> None:
    """The generated inputs are not all refused, nor all accepted: both paths are exercised."""
    outcomes: set[str] = set()

    @settings(max_examples=120, derandomize=True, database=None, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(manifests())
    def probe(case: tuple[str, str, str]) -> None:
        text, suffix, _ = case
        from pytest_k8shardening.loader import parse_text, validate

        try:
            validate(Inventory(parse_text(text, f"x{suffix}", is_json=suffix == ".json")))
            outcomes.add("read")
        except ManifestError:
            outcomes.add("refused")

    probe()
    assert outcomes == {"read", "refused"}
