"""Table-driven tests of the pod-security checks: pass, fail and edge cases."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_k8shardening.checks import NotApplicable, Undetermined, pod, pss
from pytest_k8shardening.model import WORKLOAD_KINDS

from .k8s import container, inventory, obj, workload, wrap_pod_spec

WINDOWS = {"os": {"name": "windows"}}


def verdict(result: Any) -> str:
    if isinstance(result, NotApplicable):
        return "n/a"
    return "fail" if result else "pass"


# (id, container securityContext, pod securityContext, extra kwargs for container(), expected)
RUN_AS_NON_ROOT = [
    ("unset", None, None, {}, "fail"),
    ("container-nonroot", {"runAsNonRoot": True}, None, {}, "pass"),
    ("pod-nonroot", None, {"runAsNonRoot": True}, {}, "pass"),
    ("container-uid", {"runAsUser": 1000}, None, {}, "pass"),
    ("pod-uid", None, {"runAsUser": 1000}, {}, "pass"),
    ("container-uid0", {"runAsUser": 0}, {"runAsNonRoot": True}, {}, "fail"),
    ("pod-uid0-container-nonroot", {"runAsNonRoot": True}, {"runAsUser": 0}, {}, "fail"),
    ("container-uid-overrides-pod-uid0", {"runAsUser": 1000}, {"runAsUser": 0}, {}, "pass"),
    ("explicit-false", {"runAsNonRoot": False}, None, {}, "fail"),
    ("container-false-overrides-pod-true", {"runAsNonRoot": False}, {"runAsNonRoot": True}, {}, "fail"),
    ("false-but-uid", {"runAsNonRoot": False, "runAsUser": 5}, None, {}, "pass"),
    ("init-container-unset", None, None, {"ctype": "initContainers"}, "fail"),
    ("ephemeral-inherits-pod", None, {"runAsNonRoot": True}, {"ctype": "ephemeralContainers"}, "pass"),
    ("windows-still-checked", None, None, {"pod": WINDOWS}, "fail"),
]


@pytest.mark.parametrize(("sc", "pod_sc", "kw", "expected"), [c[1:] for c in RUN_AS_NON_ROOT],
                         ids=[c[0] for c in RUN_AS_NON_ROOT])
def test_run_as_non_root(sc: Any, pod_sc: Any, kw: dict[str, Any], expected: str) -> None:
    assert verdict(pod.run_as_non_root(container(sc, pod_sc, **kw))) == expected


def test_run_as_non_root_message_names_field_and_value() -> None:
    [finding] = pod.run_as_non_root(container({"runAsUser": 0}))
    assert finding.message == "runs as root: spec.template.spec.containers[0].securityContext.runAsUser=0"
    assert finding.field == "spec.template.spec.containers[0].securityContext.runAsUser"
    [finding] = pod.run_as_non_root(container(None, {"runAsUser": 0}))
    assert "spec.template.spec.securityContext.runAsUser=0" in finding.message


GROUP = [
    ("unset", None, None, "fail"),
    ("pod-group", None, {"runAsGroup": 1000}, "pass"),
    ("container-group", {"runAsGroup": 1000}, None, "pass"),
    ("group-zero", {"runAsGroup": 0}, None, "fail"),
    ("container-overrides-pod-zero", {"runAsGroup": 3}, {"runAsGroup": 0}, "pass"),
    ("fsgroup-zero", {"runAsGroup": 3}, {"fsGroup": 0}, "fail"),
    ("fsgroup-nonzero", {"runAsGroup": 3}, {"fsGroup": 2000}, "pass"),
    ("supplemental-zero", None, {"runAsGroup": 3, "supplementalGroups": [4, 0]}, "fail"),
    ("supplemental-ok", None, {"runAsGroup": 3, "supplementalGroups": [4, 5]}, "pass"),
]


@pytest.mark.parametrize(("sc", "pod_sc", "expected"), [c[1:] for c in GROUP], ids=[c[0] for c in GROUP])
def test_run_as_non_root_group(sc: Any, pod_sc: Any, expected: str) -> None:
    assert verdict(pod.run_as_non_root_group(container(sc, pod_sc))) == expected


@pytest.mark.parametrize(("sc", "expected"), [
    (None, "pass"), ({}, "pass"), ({"privileged": False}, "pass"), ({"privileged": True}, "fail"),
], ids=["no-sc", "empty-sc", "false", "true"])
@pytest.mark.parametrize("ctype", ["containers", "initContainers", "ephemeralContainers"])
def test_privileged(sc: Any, expected: str, ctype: str) -> None:
    assert verdict(pod.privileged(container(sc, ctype=ctype))) == expected


def test_privileged_ignores_pod_level() -> None:
    # privileged exists only on containers; a stray pod-level key changes nothing
    assert pod.privileged(container(None, {"runAsUser": 5})) == []


@pytest.mark.parametrize(("sc", "kw", "expected"), [
    (None, {}, "fail"),
    ({"allowPrivilegeEscalation": True}, {}, "fail"),
    ({"allowPrivilegeEscalation": False}, {}, "pass"),
    ({"allowPrivilegeEscalation": False}, {"ctype": "initContainers"}, "pass"),
    (None, {"ctype": "ephemeralContainers"}, "fail"),
    (None, {"pod": WINDOWS}, "n/a"),
], ids=["unset", "true", "false", "init-false", "ephemeral-unset", "windows"])
def test_allow_privilege_escalation(sc: Any, kw: dict[str, Any], expected: str) -> None:
    assert verdict(pod.allow_privilege_escalation(container(sc, **kw))) == expected


def test_allow_privilege_escalation_unset_message() -> None:
    [f] = pod.allow_privilege_escalation(container(None))
    assert "not set, and defaults to true" in f.message


@pytest.mark.parametrize(("sc", "expected"), [
    (None, "fail"), ({"readOnlyRootFilesystem": False}, "fail"), ({"readOnlyRootFilesystem": True}, "pass"),
], ids=["unset", "false", "true"])
def test_read_only_root_filesystem(sc: Any, expected: str) -> None:
    assert verdict(pod.read_only_root_filesystem(container(sc))) == expected


CAPS = [
    ("none", None, "pass", "fail"),
    ("drop-all", {"drop": ["ALL"]}, "pass", "pass"),
    ("drop-lowercase-all", {"drop": ["all"]}, "pass", "fail"),
    ("drop-all-add-net-bind", {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}, "pass", "pass"),
    ("drop-all-add-chown", {"drop": ["ALL"], "add": ["CHOWN"]}, "pass", "fail"),
    ("add-sys-admin", {"drop": ["ALL"], "add": ["SYS_ADMIN"]}, "fail", "fail"),
    ("add-net-raw", {"add": ["NET_RAW"]}, "fail", "fail"),
    ("add-cap-prefixed", {"add": ["CAP_CHOWN"]}, "fail", "fail"),
    ("add-all", {"add": ["ALL"]}, "fail", "fail"),
    ("add-default-set", {"add": ["CHOWN", "KILL", "SETPCAP"]}, "pass", "fail"),
]


@pytest.mark.parametrize(("caps", "dangerous", "dropped"), [c[1:] for c in CAPS], ids=[c[0] for c in CAPS])
def test_capabilities(caps: Any, dangerous: str, dropped: str) -> None:
    sc = {"capabilities": caps} if caps is not None else None
    assert verdict(pod.dangerous_capabilities(container(sc))) == dangerous
    assert verdict(pod.capabilities_dropped(container(sc))) == dropped


def test_capabilities_message_lists_offenders() -> None:
    [f] = pod.dangerous_capabilities(container({"capabilities": {"add": ["CHOWN", "NET_ADMIN", "SYS_PTRACE"]}}))
    assert f.message == "adds capabilities outside the baseline set: NET_ADMIN, SYS_PTRACE"
    assert f.field == "spec.template.spec.containers[0].securityContext.capabilities.add"
    # SYS_ADMIN is also Kubescape C-0057's (privileged): a finding of its own, with its own references
    a, b = pod.dangerous_capabilities(container({"capabilities": {"add": ["SYS_ADMIN", "NET_ADMIN"]}}))
    assert (a.message, b.message) == ("adds capabilities outside the baseline set: SYS_ADMIN",
                                      "adds capabilities outside the baseline set: NET_ADMIN")


def test_capabilities_windows_not_applicable() -> None:
    assert isinstance(pod.capabilities_dropped(container(None, pod=WINDOWS)), NotApplicable)


@pytest.mark.parametrize("check,key", [(pod.host_pid, "hostPID"), (pod.host_ipc, "hostIPC"),
                                       (pod.host_network, "hostNetwork")])
@pytest.mark.parametrize("kind", sorted(WORKLOAD_KINDS))
def test_host_namespaces_every_kind(check: Any, key: str, kind: str) -> None:
    spec = {"containers": [{"name": "c", "image": "x"}]}
    assert check(workload(spec, kind)) == []
    assert check(workload({**spec, key: False}, kind)) == []
    [f] = check(workload({**spec, key: True}, kind))
    assert f.field.endswith(f"spec.{key}") and "=true" in f.message


def test_cronjob_spec_path() -> None:
    w = workload({"hostPID": True, "containers": [{"name": "c", "image": "x"}]}, "CronJob")
    [f] = pod.host_pid(w)
    assert f.field == "spec.jobTemplate.spec.template.spec.hostPID"


def _with_volumes(volumes: list[dict[str, Any]], mounts: list[dict[str, Any]] | None = None) -> Any:
    c = {"name": "c", "image": "x", "volumeMounts": mounts or []}
    return workload({"containers": [c], "volumes": volumes})


@pytest.mark.parametrize(("path", "host_path", "socket"), [
    ("/var/run/docker.sock", "fail", "fail"),
    ("/run/containerd/containerd.sock", "fail", "fail"),
    ("/var/run/crio/crio.sock", "fail", "fail"),
    ("/var/run", "fail", "fail"),
    ("/run/", "fail", "fail"),
    ("/", "fail", "fail"),
    ("/var/run/../run/docker.sock", "fail", "fail"),
    ("/var/log", "fail", "pass"),
    ("/var/run-other", "fail", "pass"),
    ("/etc/ssl/certs", "fail", "pass"),
])
def test_host_path_and_runtime_socket(path: str, host_path: str, socket: str) -> None:
    w = _with_volumes([{"name": "h", "hostPath": {"path": path}}])
    assert verdict(pod.host_path_volumes(w)) == host_path
    assert verdict(pod.runtime_socket_mounts(w)) == socket


def test_host_path_reports_mounts() -> None:
    w = _with_volumes([{"name": "ok", "emptyDir": {}}, {"name": "logs", "hostPath": {"path": "/var/log"}}],
                      [{"name": "logs", "mountPath": "/logs", "readOnly": True}])
    [f] = pod.host_path_volumes(w)
    assert f.message == 'volume "logs" is hostPath /var/log; mounted by container "c" at /logs (read-only)'
    assert f.field == "spec.template.spec.volumes[1].hostPath"


def test_no_volumes_pass() -> None:
    w = _with_volumes([{"name": "cm", "configMap": {"name": "x"}}, {"name": "e", "emptyDir": {}}])
    assert pod.host_path_volumes(w) == [] and pod.runtime_socket_mounts(w) == []


@pytest.mark.parametrize(("ports", "pod_spec", "expected"), [
    (None, None, "pass"), ([{"containerPort": 80}], None, "pass"),
    ([{"containerPort": 80, "hostPort": 0}], None, "pass"),
    ([{"containerPort": 80, "hostPort": 8080}], None, "fail"),
    # the API server defaults hostPort to containerPort in a hostNetwork pod
    ([{"containerPort": 80}], {"hostNetwork": True}, "fail"),
    ([{"containerPort": 80, "hostPort": 0}], {"hostNetwork": True}, "fail"),
    ([{"containerPort": 80}], {"hostNetwork": False}, "pass"),
    ([{"name": "http"}], {"hostNetwork": True}, "pass"),
], ids=["none", "container-port", "host-port-0", "host-port", "host-network-defaults", "host-network-0-defaults",
        "host-network-false", "host-network-no-container-port"])
def test_host_ports(ports: Any, pod_spec: Any, expected: str) -> None:
    extra = {"ports": ports} if ports is not None else {}
    assert verdict(pod.host_ports(container(None, extra=extra, pod=pod_spec))) == expected


def test_host_port_defaulted_says_why() -> None:
    c = container(None, extra={"ports": [{"containerPort": 9100}]}, pod={"hostNetwork": True}, kind="DaemonSet")
    [f] = pod.host_ports(c)
    assert f.message == ("ports[0].hostPort=9100 binds a port on the node (hostNetwork is true, so the API server "
                         "sets hostPort to containerPort 9100)")
    assert f.field == "spec.template.spec.containers[0].ports[0].hostPort"
    # the object as written is unchanged (reports and snapshots show what the user wrote)
    assert c.workload.obj.raw["spec"]["template"]["spec"]["containers"][0]["ports"] == [{"containerPort": 9100}]


@pytest.mark.parametrize(("volume", "defaulted"), [
    ({"name": "scratch"}, True),
    ({"name": "scratch", "hostPath": None}, True),
    ({"name": "scratch", "emptyDir": {"medium": "Memory"}}, False),
    ({"name": "sock", "hostPath": {"path": "/var/run/docker.sock"}}, False),
    ({"name": "x", "someNewSource": {"a": 1}}, False),  # maybe a newer source: never guessed to be emptyDir
])
def test_volume_without_source_is_an_empty_dir(volume: dict[str, Any], defaulted: bool) -> None:
    w = _with_volumes([volume])
    [vol] = w.volumes()
    assert (vol == {**volume, "emptyDir": {}}) is defaulted
    assert (w.defaults.get("spec.template.spec.volumes[0].emptyDir") is not None) is defaulted
    assert w.obj.raw["spec"]["template"]["spec"]["volumes"] == [volume]
    assert bool(pod.host_path_volumes(w)) == (volume.get("hostPath") is not None)


SECCOMP = [
    ("unset", None, None, "fail"),
    ("pod-runtime-default", None, {"seccompProfile": {"type": "RuntimeDefault"}}, "pass"),
    ("container-localhost", {"seccompProfile": {"type": "Localhost", "localhostProfile": "p.json"}}, None, "pass"),
    ("container-unconfined", {"seccompProfile": {"type": "Unconfined"}}, None, "fail"),
    ("container-unconfined-overrides-pod", {"seccompProfile": {"type": "Unconfined"}},
     {"seccompProfile": {"type": "RuntimeDefault"}}, "fail"),
    ("container-overrides-pod-unconfined", {"seccompProfile": {"type": "RuntimeDefault"}},
     {"seccompProfile": {"type": "Unconfined"}}, "fail"),
    ("empty-profile", {"seccompProfile": {}}, None, "fail"),
    ("pod-unconfined", None, {"seccompProfile": {"type": "Unconfined"}}, "fail"),
]


@pytest.mark.parametrize(("sc", "pod_sc", "expected"), [c[1:] for c in SECCOMP], ids=[c[0] for c in SECCOMP])
def test_seccomp(sc: Any, pod_sc: Any, expected: str) -> None:
    assert verdict(pod.seccomp_profile(container(sc, pod_sc))) == expected


APPARMOR = [
    ("unset", None, None, None, "pass"),
    ("runtime-default", {"appArmorProfile": {"type": "RuntimeDefault"}}, None, None, "pass"),
    ("pod-unconfined", None, {"appArmorProfile": {"type": "Unconfined"}}, None, "fail"),
    ("container-unconfined", {"appArmorProfile": {"type": "Unconfined"}}, None, None, "fail"),
    ("annotation-runtime-default", None, None, "runtime/default", "pass"),
    ("annotation-localhost", None, None, "localhost/my-profile", "pass"),
    ("annotation-unconfined", None, None, "unconfined", "fail"),
    ("annotation-empty", None, None, "", "pass"),
    ("annotation-docker-default", None, None, "docker/default", "fail"),
    ("empty-profile", {"appArmorProfile": {}}, None, None, "fail"),
]


@pytest.mark.parametrize(("sc", "pod_sc", "annotation", "expected"), [c[1:] for c in APPARMOR],
                         ids=[c[0] for c in APPARMOR])
def test_apparmor(sc: Any, pod_sc: Any, annotation: str | None, expected: str) -> None:
    spec: dict[str, Any] = {"containers": [{"name": "web", "image": "x", "securityContext": sc or {}}]}
    if pod_sc:
        spec["securityContext"] = pod_sc
    meta = None
    if annotation is not None:
        meta = {"annotations": {"container.apparmor.security.beta.kubernetes.io/web": annotation}}
    w = workload(spec, pod_meta=meta)
    assert verdict(pod.apparmor_not_weakened(w.containers[0])) == expected


def test_apparmor_annotation_for_other_container_ignored() -> None:
    meta = {"annotations": {"container.apparmor.security.beta.kubernetes.io/other": "unconfined"}}
    w = workload({"containers": [{"name": "web", "image": "x"}]}, pod_meta=meta)
    assert pod.apparmor_not_weakened(w.containers[0]) == []


SELINUX = [
    ("unset", None, None, "pass"),
    ("container-t", {"seLinuxOptions": {"type": "container_t"}}, None, "pass"),
    ("level-only", {"seLinuxOptions": {"level": "s0:c123,c456"}}, None, "pass"),
    ("spc-t", {"seLinuxOptions": {"type": "spc_t"}}, None, "fail"),
    ("pod-user", None, {"seLinuxOptions": {"user": "system_u"}}, "fail"),
    ("role", {"seLinuxOptions": {"role": "system_r"}}, None, "fail"),
    ("empty-type", {"seLinuxOptions": {"type": ""}}, None, "pass"),
]


@pytest.mark.parametrize(("sc", "pod_sc", "expected"), [c[1:] for c in SELINUX], ids=[c[0] for c in SELINUX])
def test_selinux(sc: Any, pod_sc: Any, expected: str) -> None:
    assert verdict(pod.selinux_not_weakened(container(sc, pod_sc))) == expected


SA = obj("ServiceAccount", "builder", automountServiceAccountToken=False)
SA_TRUE = obj("ServiceAccount", "builder", automountServiceAccountToken=True)
SA_UNSET = obj("ServiceAccount", "builder")
SA_DEFAULT_FALSE = obj("ServiceAccount", "default", automountServiceAccountToken=False)
SA_OTHER_NS = obj("ServiceAccount", "builder", namespace="other", automountServiceAccountToken=False)
SA_CASES = [
    ("pod-false", {"automountServiceAccountToken": False}, (), "pass"),
    ("pod-false-sa-true", {"automountServiceAccountToken": False, "serviceAccountName": "builder"}, (SA_TRUE,), "pass"),
    ("pod-true-sa-false", {"automountServiceAccountToken": True, "serviceAccountName": "builder"}, (SA,), "fail"),
    ("unset-sa-false", {"serviceAccountName": "builder"}, (SA,), "pass"),
    ("unset-sa-unset", {"serviceAccountName": "builder"}, (SA_UNSET,), "fail"),
    ("unset-sa-missing", {"serviceAccountName": "builder"}, (), "fail"),
    ("unset-sa-other-namespace", {"serviceAccountName": "builder"}, (SA_OTHER_NS,), "fail"),
    ("unset-default-sa-false", {}, (SA_DEFAULT_FALSE,), "pass"),
    ("deprecated-serviceAccount-field", {"serviceAccount": "builder"}, (SA,), "pass"),
]


@pytest.mark.parametrize(("spec", "others", "expected"), [c[1:] for c in SA_CASES], ids=[c[0] for c in SA_CASES])
def test_service_account_token(spec: dict[str, Any], others: tuple[Any, ...], expected: str) -> None:
    w = workload({"containers": [{"name": "c", "image": "x"}], **spec}, "Deployment", *others)
    assert verdict(pod.service_account_token(w)) == expected


LR_CPU = obj("LimitRange", "defaults", spec={"limits": [{"type": "Container", "default": {"cpu": "500m"}}]})
LR_POD = obj("LimitRange", "defaults", spec={"limits": [{"type": "Pod", "max": {"cpu": "2", "memory": "1Gi"}}]})
LR_OTHER = obj("LimitRange", "defaults", namespace="other",
               spec={"limits": [{"type": "Container", "default": {"cpu": "1", "memory": "1Gi"}}]})
LIMITS = [
    ("none", {}, {}, (), "fail", "fail"),
    ("both", {"resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}, {}, (), "pass", "pass"),
    ("requests-only", {"resources": {"requests": {"cpu": "1", "memory": "1Gi"}}}, {}, (), "fail", "fail"),
    ("cpu-only", {"resources": {"limits": {"cpu": "1"}}}, {}, (), "pass", "fail"),
    ("limitrange-cpu-default", {}, {}, (LR_CPU,), "pass", "fail"),
    ("limitrange-pod-max-only", {}, {}, (LR_POD,), "fail", "fail"),
    ("limitrange-other-namespace", {}, {}, (LR_OTHER,), "fail", "fail"),
    ("pod-level-resources", {}, {"resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}, (), "pass", "pass"),
]


@pytest.mark.parametrize(("extra", "pod_fields", "others", "cpu", "memory"), [c[1:] for c in LIMITS],
                         ids=[c[0] for c in LIMITS])
def test_limits(extra: dict[str, Any], pod_fields: dict[str, Any], others: tuple[Any, ...], cpu: str,
                memory: str) -> None:
    c = container(None, extra=extra, pod=pod_fields, others=others)
    assert verdict(pod.cpu_limits(c)) == cpu
    assert verdict(pod.memory_limits(c)) == memory


# ----------------------------------------------------------------- requests, namespace, digest, high ids
def outcome(result: Any) -> str:
    if isinstance(result, Undetermined):
        return "undetermined"
    return verdict(result)


LR = "LimitRange"
REQUESTS = [
    # id, container fields, pod fields, other objects, cpu verdict, memory verdict
    ("none", {}, {}, (), "fail", "fail"),
    ("both", {"resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}, {}, (), "pass", "pass"),
    ("cpu-only", {"resources": {"requests": {"cpu": "100m"}}}, {}, (), "pass", "fail"),
    ("empty-string-is-unset", {"resources": {"requests": {"cpu": "", "memory": None}}}, {}, (), "fail", "fail"),
    ("limits-default-requests", {"resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}, {}, (), "pass", "pass"),
    ("pod-level-requests", {}, {"resources": {"requests": {"cpu": "1", "memory": "1Gi"}}}, (), "pass", "pass"),
    ("pod-level-limits-do-not-default-container-requests", {},
     {"resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}, (), "fail", "fail"),
    ("limitrange-default-request", {}, {}, (obj(LR, "d", spec={"limits": [
        {"type": "Container", "defaultRequest": {"cpu": "100m", "memory": "64Mi"}}]}),), "pass", "pass"),
    ("limitrange-default-limit", {}, {}, (obj(LR, "d", spec={"limits": [
        {"type": "Container", "default": {"memory": "64Mi"}}]}),), "fail", "pass"),
    ("limitrange-max", {}, {}, (obj(LR, "d", spec={"limits": [{"type": "Container", "max": {"cpu": "2"}}]}),),
     "pass", "fail"),
    ("limitrange-min", {}, {}, (obj(LR, "d", spec={"limits": [{"type": "Container", "min": {"memory": "8Mi"}}]}),),
     "fail", "pass"),
    ("limitrange-pod-type", {}, {}, (obj(LR, "d", spec={"limits": [
        {"type": "Pod", "max": {"cpu": "2", "memory": "1Gi"}}]}),), "fail", "fail"),
    ("limitrange-other-namespace", {}, {}, (obj(LR, "d", namespace="web", spec={"limits": [
        {"type": "Container", "defaultRequest": {"cpu": "1", "memory": "1Gi"}}]}),), "fail", "fail"),
]


@pytest.mark.parametrize(("extra", "pod_fields", "others", "cpu", "memory"), [c[1:] for c in REQUESTS],
                         ids=[c[0] for c in REQUESTS])
def test_requests(extra: dict[str, Any], pod_fields: dict[str, Any], others: tuple[Any, ...], cpu: str,
                  memory: str) -> None:
    c = container(None, extra=extra, pod=pod_fields, others=others)
    assert outcome(pod.cpu_requests(c)) == cpu
    assert outcome(pod.memory_requests(c)) == memory


@pytest.mark.parametrize("ctype", ["containers", "initContainers"])
def test_requests_message_names_the_field(ctype: str) -> None:
    [f] = pod.cpu_requests(container(None, ctype=ctype))
    assert f.field == f"spec.template.spec.{ctype}[0].resources.requests.cpu"
    assert "no LimitRange in namespace shop gives a default cpu request" in f.message


def test_requests_unreadable_limitranges_are_undetermined() -> None:
    from pytest_k8shardening.model import Inventory, K8sObject, Source

    inv = Inventory([K8sObject(wrap_pod_spec("Deployment", {"containers": [{"name": "c", "image": "x"}]}),
                               Source("t.yaml", 1))], unavailable={"LimitRange": "forbidden"})
    c = inv.all_workloads()[0].containers[0]
    result = pod.memory_requests(c)
    assert outcome(result) == "undetermined" and "LimitRanges (which could give a default) cannot be read: " \
                                                 "forbidden" in result.reason


@pytest.mark.parametrize("kind", sorted(WORKLOAD_KINDS))
@pytest.mark.parametrize(("namespace", "expected"), [("default", "fail"), ("shop", "pass"), (None, "undetermined")])
def test_default_namespace_every_kind(kind: str, namespace: str | None, expected: str) -> None:
    raw = wrap_pod_spec(kind, {"containers": [{"name": "c", "image": "x"}]})
    if namespace is None:
        del raw["metadata"]["namespace"]
    else:
        raw["metadata"]["namespace"] = namespace
    w = inventory(raw).all_workloads()[0]
    result = pod.default_namespace(w)
    assert outcome(result) == expected
    if expected == "fail":
        assert result[0].field == "metadata.namespace" and "runs in namespace default" in result[0].message


SHA = "sha256:" + "a" * 64
DIGESTS = [
    ("tag", "nginx:1.27", "fail"),
    ("no-tag", "nginx", "fail"),
    ("digest", f"nginx@{SHA}", "pass"),
    ("tag-and-digest", f"ghcr.io/acme/api:1.4@{SHA}", "pass"),
    ("registry-port", f"registry.local:5000/api@{SHA}", "pass"),
    ("short-digest", "nginx@sha256:abc", "fail"),
    ("empty-digest", "nginx@", "fail"),
    ("no-image", "", "fail"),
]


@pytest.mark.parametrize(("image", "expected"), [d[1:] for d in DIGESTS], ids=[d[0] for d in DIGESTS])
@pytest.mark.parametrize("ctype", ["containers", "initContainers", "ephemeralContainers"])
def test_image_digest(image: str, expected: str, ctype: str) -> None:
    c = container(None, extra={"image": image}, ctype=ctype)
    assert outcome(pod.image_digest(c, True)) == expected
    off = pod.image_digest(c, False)
    assert outcome(off) == "n/a" and "k8s_require_image_digest is off" in off.reason


HIGH_IDS = [
    # id, container securityContext, pod securityContext, kwargs, minimum, expected, fields reported
    ("off", None, None, {}, 0, "n/a", []),
    ("unset", None, None, {}, 10001, "fail", ["runAsUser", "runAsGroup"]),
    ("pod-level-high", None, {"runAsUser": 20000, "runAsGroup": 20000}, {}, 10001, "pass", []),
    ("container-level-high", {"runAsUser": 10001, "runAsGroup": 10001}, None, {}, 10001, "pass", []),
    ("trivy-boundary", {"runAsUser": 10000, "runAsGroup": 10001}, None, {}, 10001, "fail", ["runAsUser"]),
    ("container-overrides-pod", {"runAsUser": 1000}, {"runAsUser": 20000, "runAsGroup": 20000}, {}, 10001, "fail",
     ["runAsUser"]),
    ("container-high-overrides-pod-low", {"runAsGroup": 30000}, {"runAsUser": 30000, "runAsGroup": 0}, {}, 10001,
     "pass", []),
    ("lower-minimum", {"runAsUser": 1000, "runAsGroup": 1000}, None, {}, 1000, "pass", []),
    ("root", {"runAsUser": 0, "runAsGroup": 0}, None, {}, 1, "fail", ["runAsUser", "runAsGroup"]),
    ("init-container", None, None, {"ctype": "initContainers"}, 10001, "fail", ["runAsUser", "runAsGroup"]),
    ("ephemeral-inherits-pod", None, {"runAsUser": 20000, "runAsGroup": 20000}, {"ctype": "ephemeralContainers"},
     10001, "pass", []),
    ("windows", None, None, {"pod": WINDOWS}, 10001, "n/a", []),
]


@pytest.mark.parametrize(("sc", "pod_sc", "kw", "minimum", "expected", "fields"), [h[1:] for h in HIGH_IDS],
                         ids=[h[0] for h in HIGH_IDS])
def test_high_run_as_ids(sc: Any, pod_sc: Any, kw: dict[str, Any], minimum: int, expected: str,
                         fields: list[str]) -> None:
    result = pod.high_run_as_ids(container(sc, pod_sc, **kw), minimum)
    assert outcome(result) == expected
    if expected == "fail":
        assert [f.field.rsplit(".", 1)[1] for f in result] == fields


# ----------------------------------------------------------------- the options, end to end
APP = f"""\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: api, namespace: shop}}
spec:
  template:
    spec:
      securityContext: {{runAsUser: 20000, runAsGroup: 20000}}
      containers:
        - {{name: web, image: "ghcr.io/acme/api@{SHA}"}}
        - {{name: sidecar, image: "envoyproxy/envoy:v1.31", securityContext: {{runAsUser: 101}}}}
"""


def _outcomes(pytester: pytest.Pytester, ini: str) -> dict[str, str]:
    import json

    pytester.makeini(f"[pytest]\n{ini}")
    f = pytester.makefile(".yaml", app=APP)
    pytester.runpytest("--k8s-manifests", str(f), "-k", "image_digest or high_run_as_ids", "--k8s-report-json",
                       "r.json")
    doc = json.loads((pytester.path / "r.json").read_text())
    return {r["nodeid"].split("::")[1]: r["outcome"] for r in doc["results"]}


def test_options_off_by_default(pytester: pytest.Pytester) -> None:
    outcomes = _outcomes(pytester, "")
    assert outcomes and set(outcomes.values()) == {"skipped"}


def test_options_reach_the_suite(pytester: pytest.Pytester) -> None:
    outcomes = _outcomes(pytester, "k8s_require_image_digest = true\nk8s_min_run_as_id = 10001\n")
    assert outcomes == {
        "test_image_digest[shop/Deployment/api:container=web]": "passed",
        "test_image_digest[shop/Deployment/api:container=sidecar]": "failed",
        "test_high_run_as_ids[shop/Deployment/api:container=web]": "passed",
        "test_high_run_as_ids[shop/Deployment/api:container=sidecar]": "failed",
    }


@pytest.mark.parametrize("value", ["-1", "ten", "1.5", "99999999999"])
def test_min_run_as_id_must_be_a_whole_number(pytester: pytest.Pytester, value: str) -> None:
    pytester.makeini(f"[pytest]\nk8s_min_run_as_id = {value}\n")
    f = pytester.makefile(".yaml", app=APP)
    result = pytester.runpytest("--k8s-manifests", str(f))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*k8s_min_run_as_id takes a whole number from 0 (off) to 2147483647, not '{value}'*"])


# --------------------------------------------------------------- parity with the PSS checks (issue 17)
def _pss_verdict(check: Any, w: Any) -> str:
    return "fail" if check(w, "latest") else "pass"


PSS_PARITY = [
    # id, NSA container check, PSS check, container securityContext: same setting, same verdict
    *[(f"add-{cap}", pod.dangerous_capabilities, pss.capabilities_baseline, {"capabilities": {"add": [cap]}})
      for cap in ("CHOWN", "NET_BIND_SERVICE", "SETPCAP", "SYS_ADMIN", "NET_RAW", "CAP_CHOWN", "chown", "ALL")],
    *[(f"selinux-{t or 'empty'}", pod.selinux_not_weakened, pss.se_linux_options, {"seLinuxOptions": {"type": t}})
      for t in ("", "container_t", "container_init_t", "container_kvm_t", "container_engine_t", "spc_t",
                "unconfined_t")],
    *[(f"apparmor-{t}", pod.apparmor_not_weakened, pss.app_armor_profile, {"appArmorProfile": {"type": t}})
      for t in ("RuntimeDefault", "Localhost", "Unconfined", "runtime/default")],
    *[(f"seccomp-{t}", pod.seccomp_profile, pss.seccomp_profile_restricted, {"seccompProfile": {"type": t}})
      for t in ("RuntimeDefault", "Localhost", "Unconfined", "runtime/default")],
    *[(f"restricted-add-{cap}", pod.capabilities_dropped, pss.capabilities_restricted,
       {"capabilities": {"drop": ["ALL"], "add": [cap]}}) for cap in ("NET_BIND_SERVICE", "CHOWN", "net_bind_service")],
]


@pytest.mark.parametrize(("nsa", "check", "sc"), [c[1:] for c in PSS_PARITY], ids=[c[0] for c in PSS_PARITY])
def test_nsa_checks_claiming_pss_semantics_agree_with_pss(nsa: Any, check: Any, sc: dict[str, Any]) -> None:
    c = container(sc)
    assert verdict(nsa(c)) == _pss_verdict(check, c.workload)


@pytest.mark.parametrize(("value", "expected"), [
    ("", "pass"), ("runtime/default", "pass"), ("localhost/p", "pass"), ("unconfined", "fail"),
    ("docker/default", "fail"), ("localhost", "fail")])
def test_apparmor_annotation_agrees_with_pss(value: str, expected: str) -> None:
    meta = {"annotations": {f"{pss.APPARMOR_ANNOTATION_PREFIX}web": value}}
    w = workload({"containers": [{"name": "web", "image": "x"}]}, pod_meta=meta)
    assert verdict(pod.apparmor_not_weakened(w.containers[0])) == expected == _pss_verdict(pss.app_armor_profile, w)
