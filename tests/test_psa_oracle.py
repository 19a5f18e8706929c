"""Our pod-security verdicts against the upstream Pod Security Standards library.

``scripts/build-psa-oracle.sh`` builds a small Go program around
k8s.io/pod-security-admission (v0.36.3); every case below is evaluated by it
and by our checks, and the verdicts must agree for each control that claims
upstream semantics. The NSA non-root control is deliberately more lenient
(a non-zero runAsUser is enough), so for it only one direction is required.
"""

from __future__ import annotations

import copy
import functools
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_k8shardening.checks import NotApplicable, pod
from pytest_k8shardening.model import Container, Inventory, K8sObject, Source, Workload

ROOT = Path(__file__).resolve().parents[1]

# our check -> (upstream check id, applies per container?)
CONTAINER_CHECKS: dict[str, tuple[Callable[[Container], Any], str]] = {
    "privileged": (pod.privileged, "privileged"),
    "capabilities_baseline": (pod.dangerous_capabilities, "capabilities_baseline"),
    "capabilities_restricted": (pod.capabilities_dropped, "capabilities_restricted"),
    "seccompProfile_restricted": (pod.seccomp_profile, "seccompProfile_restricted"),
    "appArmorProfile": (pod.apparmor_not_weakened, "appArmorProfile"),
    "seLinuxOptions": (pod.selinux_not_weakened, "seLinuxOptions"),
    "allowPrivilegeEscalation": (pod.allow_privilege_escalation, "allowPrivilegeEscalation"),
    "hostPorts": (pod.host_ports, "hostPorts"),
}
WORKLOAD_CHECKS: dict[str, Callable[[Workload], Any]] = {
    "hostPathVolumes": pod.host_path_volumes,
}


def _restricted_pod() -> dict[str, Any]:
    sc = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    return {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ns"},
        "spec": {
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "initContainers": [{"name": "init", "image": "x", "securityContext": copy.deepcopy(sc)}],
            "containers": [{"name": "app", "image": "x", "securityContext": copy.deepcopy(sc)},
                           {"name": "side", "image": "x", "securityContext": copy.deepcopy(sc)}],
        },
    }


def _bare_pod() -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ns"},
            "spec": {"containers": [{"name": "app", "image": "x"}]}}


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation that sets ``path`` (dots; [n] for list items) in the pod."""
    def apply(p: dict[str, Any]) -> None:
        node: Any = p
        parts = path.split(".")
        for i, part in enumerate(parts[:-1]):
            nxt = parts[i + 1]
            key: Any = int(part[1:-1]) if part.startswith("[") else part
            if isinstance(node, dict) and key not in node:
                node[key] = [] if nxt.startswith("[") else {}
            node = node[key]
        last = parts[-1]
        key = int(last[1:-1]) if last.startswith("[") else last
        if value is _DELETE:
            node.pop(key, None)
        else:
            node[key] = value
    return apply


_DELETE = object()
APP = "spec.containers.[0]"
SIDE = "spec.containers.[1]"
INIT = "spec.initContainers.[0]"

MUTATIONS: dict[str, list[Callable[[dict[str, Any]], None]]] = {
    "none": [],
    "privileged": [_set(f"{APP}.securityContext.privileged", True)],
    "privileged-false": [_set(f"{APP}.securityContext.privileged", False)],
    "init-privileged": [_set(f"{INIT}.securityContext.privileged", True)],
    "ephemeral-privileged": [_set("spec.ephemeralContainers", [
        {"name": "dbg", "image": "x", "securityContext": {"privileged": True}}])],
    "ephemeral-bare": [_set("spec.ephemeralContainers", [{"name": "dbg", "image": "x"}])],
    "host-pid": [_set("spec.hostPID", True)],
    "host-network-false": [_set("spec.hostNetwork", False)],
    "host-path": [_set("spec.volumes", [{"name": "h", "hostPath": {"path": "/etc"}}])],
    "host-path-socket": [_set("spec.volumes", [{"name": "h", "hostPath": {"path": "/var/run/docker.sock"}}])],
    "volumes-safe": [_set("spec.volumes", [{"name": "e", "emptyDir": {}}, {"name": "c", "configMap": {"name": "x"}}])],
    "host-port": [_set(f"{APP}.ports", [{"containerPort": 80, "hostPort": 8080}])],
    "host-port-zero": [_set(f"{APP}.ports", [{"containerPort": 80, "hostPort": 0}])],
    "cap-add-sys-admin": [_set(f"{APP}.securityContext.capabilities.add", ["SYS_ADMIN"])],
    "cap-add-net-raw": [_set(f"{SIDE}.securityContext.capabilities.add", ["NET_RAW"])],
    "cap-add-chown": [_set(f"{APP}.securityContext.capabilities.add", ["CHOWN"])],
    "cap-add-net-bind": [_set(f"{APP}.securityContext.capabilities.add", ["NET_BIND_SERVICE"])],
    "cap-add-cap-prefix": [_set(f"{APP}.securityContext.capabilities.add", ["CAP_KILL"])],
    "cap-drop-lowercase": [_set(f"{APP}.securityContext.capabilities.drop", ["all"])],
    "cap-drop-net-raw-only": [_set(f"{INIT}.securityContext.capabilities.drop", ["NET_RAW"])],
    "cap-no-capabilities": [_set(f"{APP}.securityContext.capabilities", _DELETE)],
    "seccomp-unset-pod": [_set("spec.securityContext.seccompProfile", _DELETE)],
    "seccomp-unset-pod-container-set": [
        _set("spec.securityContext.seccompProfile", _DELETE),
        _set(f"{APP}.securityContext.seccompProfile", {"type": "RuntimeDefault"}),
        _set(f"{SIDE}.securityContext.seccompProfile", {"type": "Localhost", "localhostProfile": "a.json"}),
        _set(f"{INIT}.securityContext.seccompProfile", {"type": "RuntimeDefault"})],
    "seccomp-container-unconfined": [_set(f"{SIDE}.securityContext.seccompProfile", {"type": "Unconfined"})],
    "seccomp-pod-unconfined-container-ok": [
        _set("spec.securityContext.seccompProfile", {"type": "Unconfined"}),
        _set(f"{APP}.securityContext.seccompProfile", {"type": "RuntimeDefault"})],
    "seccomp-empty": [_set("spec.securityContext.seccompProfile", {})],
    "apparmor-pod-unconfined": [_set("spec.securityContext.appArmorProfile", {"type": "Unconfined"})],
    "apparmor-container-localhost": [_set(f"{APP}.securityContext.appArmorProfile",
                                          {"type": "Localhost", "localhostProfile": "p"})],
    "apparmor-annotation-unconfined": [_set("metadata.annotations",
                                            {"container.apparmor.security.beta.kubernetes.io/app": "unconfined"})],
    "apparmor-annotation-runtime-default": [
        _set("metadata.annotations", {"container.apparmor.security.beta.kubernetes.io/app": "runtime/default"})],
    "apparmor-annotation-empty": [_set("metadata.annotations",
                                       {"container.apparmor.security.beta.kubernetes.io/side": ""})],
    "selinux-spc": [_set(f"{APP}.securityContext.seLinuxOptions", {"type": "spc_t"})],
    "selinux-engine": [_set("spec.securityContext.seLinuxOptions", {"type": "container_engine_t"})],
    "selinux-user": [_set(f"{INIT}.securityContext.seLinuxOptions", {"user": "system_u"})],
    "selinux-level-only": [_set(f"{APP}.securityContext.seLinuxOptions", {"level": "s0:c1,c2"})],
    "ape-true": [_set(f"{APP}.securityContext.allowPrivilegeEscalation", True)],
    "ape-unset-init": [_set(f"{INIT}.securityContext.allowPrivilegeEscalation", _DELETE)],
    "windows": [_set("spec.os", {"name": "windows"})],
    "windows-ape-true": [_set("spec.os", {"name": "windows"}),
                         _set(f"{APP}.securityContext.allowPrivilegeEscalation", True)],
    "run-as-user-0": [_set(f"{APP}.securityContext.runAsUser", 0)],
    "run-as-non-root-false": [_set(f"{SIDE}.securityContext.runAsNonRoot", False)],
    "run-as-non-root-unset-uid": [_set("spec.securityContext.runAsNonRoot", _DELETE),
                                  _set("spec.securityContext.runAsUser", 1000)],
    "run-as-non-root-unset": [_set("spec.securityContext.runAsNonRoot", _DELETE)],
}


def _cases() -> dict[str, dict[str, Any]]:
    cases = {}
    for base_name, base in (("restricted", _restricted_pod), ("bare", _bare_pod)):
        for name, mutations in MUTATIONS.items():
            p = base()
            try:
                for m in mutations:
                    m(p)
            except IndexError:  # the bare pod has no init or sidecar container
                continue
            cases[f"{base_name}/{name}"] = p
    return cases


CASES = _cases()


@functools.cache
def oracle() -> dict[str, Any]:
    if shutil.which("go") is None:
        pytest.skip("the Go toolchain is not installed, so the upstream PSS oracle cannot be built")
    from .builds import run_build

    build = run_build(ROOT / "scripts" / "build-psa-oracle.sh", "the Pod Security Standards oracle (k8s.io/pod-security-admission)", 2, timeout=900)
    if build.returncode != 0:
        pytest.fail(f"building the PSS oracle failed:\n{build.stderr[-3000:]}")
    binary = build.stdout.strip().splitlines()[-1]
    payload = {"version": "latest", "cases": [{"name": n, "pod": p} for n, p in CASES.items()]}
    run = subprocess.run([binary], input=json.dumps(payload), capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return {r["name"]: r for r in json.loads(run.stdout)["results"]}


def _ours(raw: dict[str, Any]) -> Workload:
    inv = Inventory([K8sObject(copy.deepcopy(raw), Source("case.yaml", 1, 1))])
    [w] = inv.all_workloads()
    return w


def _allowed(result: Any) -> bool:
    return isinstance(result, NotApplicable) or not result


@pytest.mark.parametrize("case", sorted(CASES))
def test_verdicts_agree_with_upstream(case: str) -> None:
    upstream = oracle()[case]["checks"]
    w = _ours(CASES[case])
    disagreements = []
    for ours_name, (check, upstream_id) in CONTAINER_CHECKS.items():
        ours = all(_allowed(check(c)) for c in w.containers)
        if ours != upstream[upstream_id]["allowed"]:
            disagreements.append(f"{ours_name}: ours={'allowed' if ours else 'forbidden'}, "
                                 f"upstream={upstream[upstream_id]}")
    for upstream_id, wcheck in WORKLOAD_CHECKS.items():
        ours = _allowed(wcheck(w))
        if ours != upstream[upstream_id]["allowed"]:
            disagreements.append(f"{upstream_id}: ours={ours}, upstream={upstream[upstream_id]}")
    host_ns = all(_allowed(f(w)) for f in (pod.host_pid, pod.host_ipc, pod.host_network))
    if host_ns != upstream["hostNamespaces"]["allowed"]:
        disagreements.append(f"hostNamespaces: ours={host_ns}, upstream={upstream['hostNamespaces']}")
    # NSA non-root is more lenient than PSS (runAsUser > 0 suffices), never stricter.
    if upstream["runAsNonRoot"]["allowed"] and upstream["runAsUser"]["allowed"]:
        if not all(_allowed(pod.run_as_non_root(c)) for c in w.containers):
            disagreements.append("run_as_non_root fails a pod that PSS runAsNonRoot+runAsUser allow")
    assert not disagreements, "\n".join(disagreements)


def test_runtime_socket_is_a_host_path() -> None:
    """Every pod that fails our runtime-socket control is forbidden upstream as a hostPath."""
    for name, raw in CASES.items():
        if not _allowed(pod.runtime_socket_mounts(_ours(raw))):
            assert not oracle()[name]["checks"]["hostPathVolumes"]["allowed"], name
