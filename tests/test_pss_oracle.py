"""The pss_* checks against the upstream Pod Security Standards library, at many versions.

``scripts/build-psa-oracle.sh`` builds a small Go program around
k8s.io/pod-security-admission (v0.36.3). A corpus of generated pods (every
field a check reads, at pod, init, regular and ephemeral container level,
Windows pods, user namespaces, every volume type, sysctls, probes, proc
mounts, annotations) is evaluated by it once per version per session, and
by :mod:`pytest_k8shardening.checks.pss`. For every case, version and check
ID, the verdict, reason and detail must be the same, and so must the
aggregated baseline and restricted verdicts and messages built from our
functions with upstream's override rules. Zero disagreements are allowed.

Pod Security admission judges a pod as the API server stores it, after
defaulting. Two defaults change verdicts (a volume naming no source is an
emptyDir; with hostNetwork a port's hostPort is its containerPort), and the
model applies them (``model._apply_defaults``), so the oracle is given each
pod with the same two defaults applied: :func:`as_stored`. That the library
judges the written pods differently, exactly where those defaults apply, is
itself checked against the oracle (``test_defaults_change_upstream_verdicts_as_expected``).
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

from pytest_k8shardening.checks import NotApplicable, pss
from pytest_k8shardening.model import WORKLOAD_KINDS, InvalidObject, Inventory, K8sObject, Source, Workload

from .k8s import wrap_pod_spec

ROOT = Path(__file__).resolve().parents[1]

VERSIONS = ["v1.0", "v1.19", "v1.22", "v1.23", "v1.25", "v1.27", "v1.29", "v1.31", "v1.34", "v1.35", "latest"]
# Not compared case by case, but the version arithmetic must agree here too.
EXTRA_VERSIONS = ["v1.7", "v1.8", "v1.18", "v1.21", "v1.24", "v1.26", "v1.28", "v1.30", "v1.32", "v1.33",
                  "v1.36", "v1.99"]

# ------------------------------------------------------------------ corpus
_DELETE = object()
FieldPath = tuple[Any, ...]
POD_SC: FieldPath = ("spec", "securityContext")
INIT: FieldPath = ("spec", "initContainers", 0)
APP: FieldPath = ("spec", "containers", 0)
SIDE: FieldPath = ("spec", "containers", 1)
EPH: FieldPath = ("spec", "ephemeralContainers", 0)
TARGETS = {"init": INIT, "app": APP, "side": SIDE, "eph": EPH}


class Missing(Exception):
    """The base pod has no such container."""


def _set(path: FieldPath, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation that sets ``path`` (creating mappings on the way) or deletes it (``_DELETE``)."""
    def apply(pod: dict[str, Any]) -> None:
        node: Any = pod
        for key in path[:-1]:
            if isinstance(key, int):
                if not isinstance(node, list) or key >= len(node):
                    raise Missing
                node = node[key]
            else:
                if node.get(key) is None:
                    node[key] = {}
                node = node[key]
        last = path[-1]
        if value is _DELETE:
            if isinstance(node, dict):
                node.pop(last, None)
        else:
            node[last] = copy.deepcopy(value)
    return apply


def _container(name: str, sc: dict[str, Any] | None) -> dict[str, Any]:
    c: dict[str, Any] = {"name": name, "image": "registry.example/app:1"}
    if sc is not None:
        c["securityContext"] = copy.deepcopy(sc)
    return c


def _pod(spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ns"}, "spec": spec}


_HARDENED_SC = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def _restricted() -> dict[str, Any]:
    """Passes restricted at every version: pod-level runAsNonRoot and seccomp."""
    return _pod({
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "initContainers": [_container("init", _HARDENED_SC)],
        "containers": [_container("app", _HARDENED_SC), _container("side", _HARDENED_SC)],
        "ephemeralContainers": [_container("eph", _HARDENED_SC)],
    })


def _per_container() -> dict[str, Any]:
    """Passes restricted with every setting on the containers and none on the pod."""
    sc = {**_HARDENED_SC, "runAsNonRoot": True, "seccompProfile": {"type": "Localhost", "localhostProfile": "p.json"}}
    return _pod({
        "initContainers": [_container("init", sc)],
        "containers": [_container("app", sc), _container("side", sc)],
        "ephemeralContainers": [_container("eph", sc)],
    })


def _bare() -> dict[str, Any]:
    """One container, nothing set: passes baseline, fails restricted."""
    return _pod({"containers": [_container("app", None)]})


BASES: dict[str, Callable[[], dict[str, Any]]] = {"restricted": _restricted, "per-container": _per_container,
                                                   "bare": _bare}

# Container-level mutations: (name, relative path under the container, value); applied to every container
# position of the restricted base, and to the app container of the others.
_CAPS = [
    {"add": ["SYS_ADMIN"]}, {"add": ["NET_RAW"], "drop": ["ALL"]}, {"add": ["CHOWN", "KILL", "SETPCAP"]},
    {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]}, {"add": ["CAP_CHOWN"]}, {"add": ["chown"]}, {"drop": ["all"]},
    {"drop": ["NET_RAW"]}, {}, _DELETE, {"drop": ["ALL"], "add": ["ALL"]},
    {"drop": ["ALL", "NET_RAW"], "add": ["NET_BIND_SERVICE", "SYS_TIME", "SYS_TIME", "AUDIT_WRITE"]},
    {"drop": None, "add": None},
]
_SELINUX = [
    {"type": "container_t"}, {"type": "container_init_t"}, {"type": "container_kvm_t"},
    {"type": "container_engine_t"}, {"type": "spc_t"}, {"user": "system_u"}, {"role": "system_r"},
    {"level": "s0:c1,c2"}, {"type": "spc_t", "user": "u", "role": "r", "level": "s0"}, {"type": ""}, {},
]
_PROFILES = [{"type": "RuntimeDefault"}, {"type": "Localhost", "localhostProfile": "p"}, {"type": "Unconfined"}, {},
             _DELETE]
_PROBE_HOSTS = [
    ("liveness-http-host", ("livenessProbe",), {"httpGet": {"port": 80, "host": "evil.example"}}),
    ("liveness-http-localhost", ("livenessProbe",), {"httpGet": {"port": 80, "host": "localhost"}}),
    ("liveness-http-empty-host", ("livenessProbe",), {"httpGet": {"port": 80, "host": ""}}),
    ("readiness-tcp-host", ("readinessProbe",), {"tcpSocket": {"port": 80, "host": "10.0.0.1"}}),
    ("startup-http-host", ("startupProbe",), {"httpGet": {"port": 80, "host": "b.example"}}),
    ("startup-grpc", ("startupProbe",), {"grpc": {"port": 80}}),
    ("liveness-exec", ("livenessProbe",), {"exec": {"command": ["true"]}}),
    ("poststart-http-host", ("lifecycle",), {"postStart": {"httpGet": {"port": 80, "host": "a.example"}}}),
    ("prestop-tcp-host", ("lifecycle",), {"preStop": {"tcpSocket": {"port": 80, "host": "a.example"}}}),
    ("prestop-sleep", ("lifecycle",), {"preStop": {"sleep": {"seconds": 1}}}),
    ("lifecycle-both-hosts", ("lifecycle",), {"postStart": {"httpGet": {"port": 80, "host": "z.example"}},
                                              "preStop": {"tcpSocket": {"port": 80, "host": "a.example"}}}),
]
CONTAINER_MUTATIONS: list[tuple[str, FieldPath, Any]] = [
    *[(f"privileged={v}", ("securityContext", "privileged"), v) for v in (True, False)],
    *[(f"ape={'unset' if v is _DELETE else v}", ("securityContext", "allowPrivilegeEscalation"), v)
      for v in (True, False, _DELETE)],
    *[(f"caps-{i}", ("securityContext", "capabilities"), v) for i, v in enumerate(_CAPS)],
    *[(f"run-as-non-root={'unset' if v is _DELETE else v}", ("securityContext", "runAsNonRoot"), v)
      for v in (True, False, _DELETE)],
    *[(f"run-as-user={v}", ("securityContext", "runAsUser"), v) for v in (0, 1000)],
    *[(f"seccomp-{i}", ("securityContext", "seccompProfile"), v) for i, v in enumerate(_PROFILES)],
    *[(f"apparmor-{i}", ("securityContext", "appArmorProfile"), v) for i, v in enumerate(_PROFILES)],
    *[(f"selinux-{i}", ("securityContext", "seLinuxOptions"), v) for i, v in enumerate(_SELINUX)],
    *[(f"proc-mount={v!r}", ("securityContext", "procMount"), v) for v in ("Default", "Unmasked", "")],
    ("host-process=true", ("securityContext", "windowsOptions"), {"hostProcess": True}),
    ("host-process=false", ("securityContext", "windowsOptions"), {"hostProcess": False}),
    ("windows-options-gmsa", ("securityContext", "windowsOptions"), {"gmsaCredentialSpecName": "x"}),
    ("no-security-context", ("securityContext",), _DELETE),
    ("empty-security-context", ("securityContext",), {}),
    ("host-port", ("ports",), [{"containerPort": 80, "hostPort": 8080}]),
    ("host-port-0", ("ports",), [{"containerPort": 80, "hostPort": 0}]),
    ("container-port-only", ("ports",), [{"containerPort": 80}]),
    ("host-ports-sorted-as-strings", ("ports",), [{"containerPort": 1, "hostPort": 8080},
                                                   {"containerPort": 2, "hostPort": 10000},
                                                   {"containerPort": 3, "hostPort": 8080}]),
    ("host-port-negative", ("ports",), [{"containerPort": 1, "hostPort": -1}]),
    *[(name, path, value) for name, path, value in _PROBE_HOSTS],
]

_VOLUME_SOURCES: dict[str, Any] = {
    "hostPath": {"path": "/etc"}, "emptyDir": {}, "configMap": {"name": "c"}, "secret": {"secretName": "s"},
    "persistentVolumeClaim": {"claimName": "c"}, "projected": {"sources": []}, "downwardAPI": {},
    "csi": {"driver": "d"}, "ephemeral": {"volumeClaimTemplate": {"spec": {}}}, "image": {"reference": "img"},
    "gcePersistentDisk": {"pdName": "x"}, "awsElasticBlockStore": {"volumeID": "x"}, "gitRepo": {"repository": "r"},
    "nfs": {"server": "s", "path": "/"}, "iscsi": {"targetPortal": "t", "iqn": "i", "lun": 0},
    "glusterfs": {"endpoints": "e", "path": "p"}, "rbd": {"monitors": ["m"], "image": "i"},
    "flexVolume": {"driver": "d"}, "cinder": {"volumeID": "v"}, "cephfs": {"monitors": ["m"]},
    "flocker": {"datasetName": "d"}, "fc": {}, "azureFile": {"secretName": "s", "shareName": "s"},
    "vsphereVolume": {"volumePath": "p"}, "quobyte": {"registry": "r", "volume": "v"},
    "azureDisk": {"diskName": "d", "diskURI": "u"}, "photonPersistentDisk": {"pdID": "p"},
    "portworxVolume": {"volumeID": "v"}, "scaleIO": {"gateway": "g", "system": "s", "secretRef": {"name": "n"}},
    "storageos": {},
}
# Written out, not taken from pss.SYSCTLS: the corpus must not depend on the code under test.
_SYSCTL_NAMES = [
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range",
    "net.ipv4.ip_unprivileged_port_start", "net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem",
    "net.ipv4.tcp_wmem", "net.ipv4.tcp_mem", "net.ipv4.ip_forward", "kernel.msgmax", "net/ipv4/tcp_syncookies",
    "net.core.somaxconn", "",
]
# Upstream's order of restricted volume types: a volume with two of them is reported as the first.
_VOLUME_PRECEDENCE = [
    "hostPath", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "nfs", "iscsi", "glusterfs", "rbd",
    "flexVolume", "cinder", "cephfs", "flocker", "fc", "azureFile", "vsphereVolume", "quobyte", "azureDisk",
    "photonPersistentDisk", "portworxVolume", "scaleIO", "storageos",
]
_AA = "container.apparmor.security.beta.kubernetes.io/"
_SC_POD = "seccomp.security.alpha.kubernetes.io/pod"
_SC_C = "container.seccomp.security.alpha.kubernetes.io/"
_ANNOTATIONS: list[dict[str, str]] = [
    *[{_AA + "app": v} for v in ("runtime/default", "localhost/p", "unconfined", "", "docker/default",
                                  "runtime/default2", 'we"ird\\val\n\tue\x01é')],
    {_AA + "ghost": "unconfined"},
    {_AA + "app": "unconfined", _AA + "init": "bogus", _AA + "eph": "localhost/x"},
    *[{_SC_POD: v} for v in ("runtime/default", "docker/default", "localhost/p", "unconfined", "", "Unconfined")],
    *[{_SC_C + "app": v} for v in ("runtime/default", "unconfined", "")],
    {_SC_C + "ghost": "unconfined"},
    {_SC_POD: "unconfined", _SC_C + "app": "unconfined", _SC_C + "eph": "bad\x7f", _SC_C + "init": "localhost/ok"},
    {"unrelated.example/annotation": "unconfined"},
]

POD_MUTATIONS: list[tuple[str, list[Callable[[dict[str, Any]], None]]]] = [
    ("none", []),
    *[(f"{k}={v}", [_set(("spec", k), v)]) for k in ("hostNetwork", "hostPID", "hostIPC") for v in (True, False)],
    ("host-all", [_set(("spec", k), True) for k in ("hostNetwork", "hostPID", "hostIPC")]),
    ("host-network-and-ipc", [_set(("spec", "hostNetwork"), True), _set(("spec", "hostIPC"), True)]),
    *[(f"hostUsers={v}", [_set(("spec", "hostUsers"), v)]) for v in (True, False)],
    *[(f"os={v}", [_set(("spec", "os"), {"name": v})]) for v in ("windows", "linux", "Windows")],
    ("no-pod-security-context", [_set(POD_SC, _DELETE)]),
    *[(f"pod-run-as-non-root={'unset' if v is _DELETE else v}", [_set(POD_SC + ("runAsNonRoot",), v)])
      for v in (True, False, _DELETE)],
    *[(f"pod-run-as-user={v}", [_set(POD_SC + ("runAsUser",), v)]) for v in (0, 1000)],
    *[(f"pod-seccomp-{i}", [_set(POD_SC + ("seccompProfile",), v)]) for i, v in enumerate(_PROFILES)],
    *[(f"pod-apparmor-{i}", [_set(POD_SC + ("appArmorProfile",), v)]) for i, v in enumerate(_PROFILES)],
    *[(f"pod-selinux-{i}", [_set(POD_SC + ("seLinuxOptions",), v)]) for i, v in enumerate(_SELINUX)],
    ("pod-host-process=true", [_set(POD_SC + ("windowsOptions",), {"hostProcess": True})]),
    ("pod-host-process=false", [_set(POD_SC + ("windowsOptions",), {"hostProcess": False})]),
    ("pod-groups-zero", [_set(POD_SC + ("runAsGroup",), 0), _set(POD_SC + ("fsGroup",), 0),
                         _set(POD_SC + ("supplementalGroups",), [0])]),
    *[(f"sysctl={n}", [_set(POD_SC + ("sysctls",), [{"name": n, "value": "1"}])]) for n in _SYSCTL_NAMES],
    ("sysctls-duplicates-in-order", [_set(POD_SC + ("sysctls",), [
        {"name": "net.core.somaxconn", "value": "1"}, {"name": "kernel.shm_rmid_forced", "value": "1"},
        {"name": "kernel.msgmax", "value": "1"}, {"name": "net.core.somaxconn", "value": "2"}])]),
    ("sysctls-empty", [_set(POD_SC + ("sysctls",), [])]),
    *[(f"volume-{k}", [_set(("spec", "volumes"), [{"name": "v", k: src}])]) for k, src in _VOLUME_SOURCES.items()],
    *[(f"volume-{a}-and-{b}", [_set(("spec", "volumes"), [{"name": "v", b: _VOLUME_SOURCES[b],
                                                            a: _VOLUME_SOURCES[a]}])])
      for a, b in zip(_VOLUME_PRECEDENCE, _VOLUME_PRECEDENCE[1:])],
    *[(f"volume-{a}-and-allowed-{b}", [_set(("spec", "volumes"), [{"name": "v", a: _VOLUME_SOURCES[a],
                                                                    b: _VOLUME_SOURCES[b]}])])
      for a, b in zip(_VOLUME_PRECEDENCE, ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image",
                                           "persistentVolumeClaim", "projected", "secret"])],
    ("volume-no-source", [_set(("spec", "volumes"), [{"name": "v"}])]),
    ("volume-hostpath-null", [_set(("spec", "volumes"), [{"name": "v", "hostPath": None}])]),
    ("volume-hostpath-empty", [_set(("spec", "volumes"), [{"name": "v", "hostPath": {}}])]),
    ("volume-hostpath-and-emptydir", [_set(("spec", "volumes"), [{"name": "v", "hostPath": {"path": "/"},
                                                                  "emptyDir": {}}])]),
    ("volume-nfs-and-gitrepo", [_set(("spec", "volumes"), [{"name": "v", "nfs": {"server": "s", "path": "/"},
                                                            "gitRepo": {"repository": "r"}}])]),
    ("volumes-mixed", [_set(("spec", "volumes"), [
        {"name": "c", "gitRepo": {"repository": "r"}}, {"name": "ok", "emptyDir": {}},
        {"name": "a", "nfs": {"server": "s", "path": "/"}}, {"name": "b", "hostPath": {"path": "/var/log"}},
        {"name": "d"}])]),
    ("volumes-same-type", [_set(("spec", "volumes"), [{"name": "n1", "nfs": {"server": "s", "path": "/"}},
                                                      {"name": "n2", "nfs": {"server": "t", "path": "/"}}])]),
    ("volumes-two-hostpaths", [_set(("spec", "volumes"), [{"name": "h1", "hostPath": {"path": "/a"}},
                                                          {"name": "h2", "hostPath": {"path": "/b"}}])]),
    *[(f"annotations-{i}", [_set(("metadata", "annotations"), a)]) for i, a in enumerate(_ANNOTATIONS)],
    # combinations the version rules single out
    ("windows-unhardened", [_set(("spec", "os"), {"name": "windows"}), _set(POD_SC, _DELETE),
                            _set(APP + ("securityContext",), {"allowPrivilegeEscalation": True,
                                                              "capabilities": {"add": ["SYS_ADMIN"]},
                                                              "seccompProfile": {"type": "Unconfined"}})]),
    ("windows-host-process", [_set(("spec", "os"), {"name": "windows"}), _set(("spec", "hostNetwork"), True),
                              _set(POD_SC + ("windowsOptions",), {"hostProcess": True}),
                              _set(APP + ("securityContext", "windowsOptions"), {"hostProcess": True})]),
    ("windows-run-as-non-root-unset", [_set(("spec", "os"), {"name": "windows"}),
                                       _set(POD_SC + ("runAsNonRoot",), _DELETE)]),
    ("userns-everything", [_set(("spec", "hostUsers"), False), _set(POD_SC + ("runAsNonRoot",), False),
                           _set(POD_SC + ("runAsUser",), 0),
                           _set(APP + ("securityContext", "procMount"), "Unmasked"),
                           _set(APP + ("securityContext", "runAsUser"), 0)]),
    ("userns-true-everything", [_set(("spec", "hostUsers"), True), _set(POD_SC + ("runAsNonRoot",), False),
                                _set(APP + ("securityContext", "procMount"), "Unmasked")]),
    ("userns-proc-mount-only", [_set(("spec", "hostUsers"), False),
                                _set(APP + ("securityContext", "procMount"), "Unmasked")]),
    ("pod-false-container-true", [_set(POD_SC + ("runAsNonRoot",), False),
                                  _set(APP + ("securityContext", "runAsNonRoot"), True)]),
    ("pod-unconfined-container-ok", [_set(POD_SC + ("seccompProfile",), {"type": "Unconfined"}),
                                     _set(APP + ("securityContext", "seccompProfile"), {"type": "RuntimeDefault"})]),
    ("no-containers", [_set(("spec",), {"containers": []})]),
    # Two containers with one name: the API server refuses such a pod before admission runs, and so does
    # the plugin (a usage error, test_duplicate_container_names_are_refused_before_any_check below).
    ("all-privileged", [_set(c + ("securityContext", "privileged"), True) for c in (INIT, APP, SIDE, EPH)]),
    ("probes-everywhere", [
        _set(INIT + ("livenessProbe",), {"httpGet": {"port": 80, "host": "b.example"}}),
        _set(APP + ("readinessProbe",), {"tcpSocket": {"port": 80, "host": "a.example"}}),
        _set(APP + ("lifecycle",), {"preStop": {"httpGet": {"port": 80, "host": "a.example"}}}),
        _set(EPH + ("startupProbe",), {"httpGet": {"port": 80, "host": "c.example"}})]),
    ("host-network-with-ports", [_set(("spec", "hostNetwork"), True),
                                 _set(APP + ("ports",), [{"containerPort": 80}])]),
    ("apparmor-everywhere", [_set(POD_SC + ("appArmorProfile",), {"type": "Bogus"}),
                             _set(SIDE + ("securityContext", "appArmorProfile"), {"type": "Unconfined"}),
                             _set(("metadata", "annotations"), {_AA + "a": "runtime/default2",
                                                                _AA + "c": "unconfined"})]),
    ("selinux-everywhere", [_set(POD_SC + ("seLinuxOptions",), {"type": "spc_t", "role": "r"}),
                            _set(INIT + ("securityContext", "seLinuxOptions"), {"type": "unconfined_t"}),
                            _set(EPH + ("securityContext", "seLinuxOptions"), {"user": "u"})]),
]


def _build_cases() -> dict[str, dict[str, Any]]:
    cases: dict[str, dict[str, Any]] = {}
    seen: set[str] = set()

    def add(name: str, pod: dict[str, Any]) -> None:
        key = json.dumps(pod, sort_keys=True)
        if key not in seen:
            seen.add(key)
            cases[name] = pod

    for base_name, base in BASES.items():
        for name, mutations in POD_MUTATIONS:
            pod = base()
            try:
                for m in mutations:
                    m(pod)
            except Missing:
                continue
            add(f"{base_name}/{name}", pod)
        targets = TARGETS if base_name == "restricted" else {"app": APP}
        for name, rel, value in CONTAINER_MUTATIONS:
            for target_name, target in targets.items():
                pod = base()
                _set(target + rel, value)(pod)
                add(f"{base_name}/{target_name}:{name}", pod)
    return cases


CASES = _build_cases()


# ------------------------------------------------------------------ oracle
@functools.cache
def _binary() -> str:
    # A cached binary needs no Go; without one, a missing toolchain skips (and nothing else does).
    from .builds import run_build

    build = run_build(ROOT / "scripts" / "build-psa-oracle.sh", "the Pod Security Standards oracle (k8s.io/pod-security-admission)", 2, timeout=900)
    if build.returncode != 0:
        if shutil.which("go") is None:
            pytest.skip("the Go toolchain is not installed, so the upstream PSS oracle cannot be built")
        pytest.fail(f"building the PSS oracle failed:\n{build.stderr[-3000:]}")
    return build.stdout.strip().splitlines()[-1]


def as_stored(pod: dict[str, Any]) -> dict[str, Any]:
    """``pod`` with the API server's defaults that the model applies (see ``model._apply_defaults``)."""
    w = Workload(K8sObject(copy.deepcopy(pod), Source("case.yaml", 1, 1)))
    return {**pod, "spec": w.pod_spec}


def run_oracle(version: str, pods: dict[str, dict[str, Any]]) -> dict[str, Any]:
    payload = {"version": version, "cases": [{"name": n, "pod": p} for n, p in pods.items()]}
    run = subprocess.run([_binary()], input=json.dumps(payload), capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    out["by_name"] = {r["name"]: r for r in out["results"]}
    return out


@functools.cache
def oracle(version: str) -> dict[str, Any]:
    """The oracle's whole answer for every case at ``version`` (one run per version per session)."""
    payload = {"version": version, "cases": [{"name": n, "pod": as_stored(p)} for n, p in CASES.items()]}
    run = subprocess.run([_binary()], input=json.dumps(payload), capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    out["by_name"] = {r["name"]: r for r in out["results"]}
    return out


@functools.cache
def list_checks() -> dict[str, Any]:
    run = subprocess.run([_binary(), "-list-checks"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def _workload(raw: dict[str, Any], kind: str = "Pod") -> Workload:
    if kind != "Pod":
        raw = wrap_pod_spec(kind, raw["spec"], raw["metadata"], name="p", namespace="ns")
    inv = Inventory([K8sObject(copy.deepcopy(raw), Source("case.yaml", 1, 1))])
    [w] = inv.all_workloads()
    return w


@functools.cache
def _ours(case: str, kind: str = "Pod") -> Workload:
    return _workload(CASES[case], kind)


def _describe(result: Any) -> str:
    if isinstance(result, NotApplicable):
        return f"not applicable ({result.reason})"
    if not result:
        return "allowed"
    return "forbidden: " + " | ".join(f.message for f in result)


# ------------------------------------------------------------------ tests
def test_duplicate_container_names_are_refused_before_any_check() -> None:
    pod = BASES["restricted"]()
    _set(("spec",), {"initContainers": [_container("app", {"privileged": True})],
                     "containers": [_container("app", {"privileged": True})]})(pod)
    with pytest.raises(InvalidObject, match=r"case\.yaml:1: Pod .*spec\.containers\[0\]\.name: duplicate container "
                                            r"name 'app' \(also spec\.initContainers\[0\]\)"):
        _workload(pod)


def test_corpus_is_large_and_valid() -> None:
    assert len(CASES) >= 150
    out = oracle("latest")  # the oracle decodes strictly, so every case is a valid v1 Pod
    assert len(out["results"]) == len(CASES)
    assert out["library"] == pss.UPSTREAM


def test_registry_matches_upstream() -> None:
    listed = list_checks()
    assert listed["library"] == pss.UPSTREAM
    assert listed["max_version"] == pss.format_version(pss.LATEST)
    assert listed["experimental_count"] == 0
    upstream = {c["id"]: c for c in listed["checks"]}
    assert sorted(upstream) == sorted(pss.CHECKS)
    for check_id, spec in pss.CHECKS.items():
        up = upstream[check_id]
        assert spec.level == up["level"], check_id
        assert [pss.format_version(v) for v in spec.versions] == [v["minimum_version"] for v in up["versions"]]
        overrides = {o for v in up["versions"] for o in v.get("overrides") or ()}
        # every variant of an overriding check declares the same override
        assert all(set(v.get("overrides") or ()) == overrides for v in up["versions"]), check_id
        ours = {b for b, s in pss.CHECKS.items() if s.overridden_by == check_id}
        assert ours == overrides, check_id


@pytest.mark.parametrize("version", VERSIONS + EXTRA_VERSIONS)
def test_version_selection_matches_upstream(version: str) -> None:
    payload = {"version": version, "cases": []}
    run = subprocess.run([_binary()], input=json.dumps(payload), capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert pss.format_version(pss.resolve_version(version)) == out["effective_version"]
    ours = {c: pss.check_version(c, version) for c in pss.CHECKS}
    assert sorted(c for c, v in ours.items() if v is None) == out["not_applicable"]
    assert {c: pss.format_version(v) for c, v in ours.items() if v is not None} == out["check_versions"]


@pytest.mark.parametrize("version", VERSIONS)
def test_every_check_agrees_with_upstream(version: str) -> None:
    """Every case, every check ID: verdict, reason and detail as upstream words them."""
    out = oracle(version)
    not_applicable = set(out["not_applicable"])
    disagreements: list[str] = []
    compared = 0
    for case in CASES:
        upstream = out["by_name"][case]["checks"]
        w = _ours(case)
        for check_id, spec in pss.CHECKS.items():
            ours = spec.function(w, version)
            compared += 1
            if check_id in not_applicable:
                if not isinstance(ours, NotApplicable):
                    disagreements.append(f"{case} {check_id}: upstream has no such check at {version}, "
                                         f"ours={_describe(ours)}")
                continue
            up = upstream[check_id]
            if isinstance(ours, NotApplicable):
                disagreements.append(f"{case} {check_id}: ours={_describe(ours)}, upstream={up}")
                continue
            if up["allowed"]:
                if ours:
                    disagreements.append(f"{case} {check_id}: ours={_describe(ours)}, upstream allowed")
                continue
            if len(ours) != 1:
                disagreements.append(f"{case} {check_id}: ours={_describe(ours)}, upstream forbidden "
                                     f"{up['reason']}: {up['detail']}")
                continue
            f = ours[0]
            if (f.reason, f.detail) != (up["reason"], up["detail"]) or f.message != f"{up['reason']}: {up['detail']}":
                disagreements.append(f"{case} {check_id}:\n  ours     {f.reason!r}: {f.detail!r}\n"
                                     f"  upstream {up['reason']!r}: {up['detail']!r}")
            if not f.field or not f.field.startswith(("spec.", "metadata.")):
                disagreements.append(f"{case} {check_id}: no usable field path ({f.field!r})")
    assert compared == len(CASES) * len(pss.CHECKS)
    assert not disagreements, f"{len(disagreements)} disagreements at {version}:\n" + "\n".join(disagreements[:40])


@pytest.mark.parametrize("version", VERSIONS)
def test_levels_agree_with_upstream(version: str) -> None:
    """Our checks combined with the override rules give upstream's baseline and restricted verdicts and messages."""
    out = oracle(version)
    disagreements = []
    for case in CASES:
        up = out["by_name"][case]
        w = _ours(case)
        for level in pss.LEVELS:
            allowed, reason, detail = pss.aggregate(pss.evaluate(w, level, version))
            want = up[level]
            if (allowed, reason, detail) != (want["allowed"], want["reason"], want["detail"]):
                disagreements.append(f"{case} {level}:\n  ours     {(allowed, reason, detail)}\n  upstream {want}")
            if allowed != up[f"{level}_allowed"]:
                disagreements.append(f"{case} {level}_allowed")
            # The suites' controls: run_check(level=...) over every check ID gives the same verdict,
            # so `-m pss_restricted` fails exactly the pods upstream's restricted level forbids.
            per_control = [pss.run_check(c, w, version, level=level) for c in pss.CHECKS]
            controls_allowed = all(isinstance(r, NotApplicable) or not r for r in per_control)
            if controls_allowed != want["allowed"]:
                disagreements.append(f"{case} {level}: controls say allowed={controls_allowed}, upstream {want}")
            found = sorted(f.message for r in per_control if not isinstance(r, NotApplicable) for f in r)
            expected = sorted(f.message for _, fs in pss.evaluate(w, level, version) for f in fs)
            if found != expected:
                disagreements.append(f"{case} {level}: controls report {found}, the level {expected}")
    assert not disagreements, f"{len(disagreements)} disagreements at {version}:\n" + "\n".join(disagreements[:40])


@pytest.mark.parametrize("kind", sorted(set(WORKLOAD_KINDS) - {"Pod"}))
@pytest.mark.parametrize("version", ["v1.0", "latest"])
def test_every_workload_kind_gets_the_pods_verdict(kind: str, version: str) -> None:
    """A controller is judged on its pod template exactly as the pod itself."""
    out = oracle(version)
    disagreements = []
    for case in CASES:
        w = _ours(case, kind)
        upstream = out["by_name"][case]["checks"]
        for check_id, spec in pss.CHECKS.items():
            ours = spec.function(w, version)
            if check_id not in upstream:
                assert isinstance(ours, NotApplicable)
                continue
            up = upstream[check_id]
            got = (True, "", "") if not ours else (False, ours[0].reason, ours[0].detail)
            if got != (up["allowed"], up["reason"], up["detail"]):
                disagreements.append(f"{case} as {kind} {check_id}: ours={_describe(ours)}, upstream={up}")
            elif ours and not ours[0].field.startswith(w.spec_path.rpartition(".")[0] or "metadata"):
                disagreements.append(f"{case} as {kind} {check_id}: field {ours[0].field} is outside the template")
    assert not disagreements, "\n".join(disagreements[:40])


def test_corpus_exercises_every_check_both_ways() -> None:
    """Each check is both allowed and forbidden somewhere in the corpus, at some version."""
    seen: dict[str, set[bool]] = {c: set() for c in pss.CHECKS}
    for version in VERSIONS:
        for result in oracle(version)["results"]:
            for check_id, r in result["checks"].items():
                seen[check_id].add(r["allowed"])
    assert {c: s for c, s in seen.items() if s != {True, False}} == {}


def test_defaults_change_upstream_verdicts_as_expected() -> None:
    """The library itself, given the pods as written and as stored: the defaults matter exactly here."""
    written = {n: CASES[f"bare/{n}"] for n in ("volume-no-source", "volume-hostpath-null", "host-network-with-ports")}
    stored = {n: as_stored(p) for n, p in written.items()}
    assert stored["volume-no-source"]["spec"]["volumes"] == [{"name": "v", "emptyDir": {}}]
    assert stored["host-network-with-ports"]["spec"]["containers"][0]["ports"] == [
        {"containerPort": 80, "hostPort": 80}]
    raw, defaulted = run_oracle("latest", written)["by_name"], run_oracle("latest", stored)["by_name"]
    for name in ("volume-no-source", "volume-hostpath-null"):
        assert not raw[name]["checks"]["restrictedVolumes"]["allowed"]
        assert '"unknown"' in raw[name]["checks"]["restrictedVolumes"]["detail"]
        assert defaulted[name]["checks"]["restrictedVolumes"]["allowed"]
    assert raw["host-network-with-ports"]["checks"]["hostPorts"]["allowed"]
    assert not defaulted["host-network-with-ports"]["checks"]["hostPorts"]["allowed"]
    assert defaulted["host-network-with-ports"]["checks"]["hostPorts"]["detail"] == 'container "app" uses hostPort 80'
    # and the written pods differ from the stored ones nowhere else in the corpus
    changed = {n for n, p in CASES.items() if as_stored(p) != p}
    assert {n.split("/", 1)[1] for n in changed} == {"volume-no-source", "volume-hostpath-null",
                                                    "host-network-with-ports", "volumes-mixed"}
