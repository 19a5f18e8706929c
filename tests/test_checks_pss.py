"""Table-driven tests of the Pod Security Standards checks (pytest_k8shardening.checks.pss).

Each table row is a pod spec (and annotations), a version and the expected
outcome: "pass", "n/a" (the check does not exist at that version) or
upstream's exact ``reason: detail`` message. tests/test_pss_oracle.py
compares the same functions with the upstream library on a generated
corpus; these tables pin the behaviour case by case, with readable names.
"""

from __future__ import annotations

import dataclasses

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_k8shardening import catalog
from pytest_k8shardening.checks import NotApplicable, pss
from pytest_k8shardening.model import WORKLOAD_KINDS, InvalidObject

from .k8s import inventory, workload, wrap_pod_spec

WINDOWS = {"os": {"name": "windows"}}
USERNS = {"hostUsers": False}


def ctr(name: str = "app", sc: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    c: dict[str, Any] = {"name": name, "image": "registry.example/app:1", **fields}
    if sc is not None:
        c["securityContext"] = sc
    return c


def spec(*containers: dict[str, Any], init: list[dict[str, Any]] | None = None,
         eph: list[dict[str, Any]] | None = None, **pod: Any) -> dict[str, Any]:
    s: dict[str, Any] = {"containers": list(containers) or [ctr()], **pod}
    if init:
        s["initContainers"] = init
    if eph:
        s["ephemeralContainers"] = eph
    return s


def run(check_id: str, pod_spec: dict[str, Any], version: Any = "latest", *, kind: str = "Deployment",
        annotations: dict[str, str] | None = None) -> str:
    w = workload(pod_spec, kind, pod_meta={"annotations": annotations} if annotations is not None else None)
    result = pss.CHECKS[check_id].function(w, version)
    if isinstance(result, NotApplicable):
        return "n/a"
    if not result:
        return "pass"
    [finding] = result
    assert isinstance(finding, pss.PSSFinding) and finding.check == check_id
    assert finding.message == f"{finding.reason}: {finding.detail}"
    return finding.message


Row = tuple[str, dict[str, Any], Any, str]  # id, spec, version, expected


def table(check_id: str, rows: list[Row], annotations: dict[str, dict[str, str]] | None = None) -> Any:
    """Parametrize a test over ``rows`` for ``check_id``."""
    return pytest.mark.parametrize(("pod_spec", "version", "expected", "annotations"),
                                   [(r[1], r[2], r[3], (annotations or {}).get(r[0])) for r in rows],
                                   ids=[r[0] for r in rows])


# =========================================================================== versions
@pytest.mark.parametrize(("value", "expected"), [
    ("latest", None), ("v1.0", (1, 0)), ("v1.30", (1, 30)), ("1.30", (1, 30)), ("v1.36", (1, 36)),
    ("v1.99", (1, 99)), ("1.0", (1, 0)),
])
def test_parse_version(value: str, expected: Any) -> None:
    assert pss.parse_version(value) == expected


@pytest.mark.parametrize(("value", "words"), [
    ("", "use 'latest'"), ("garbage", "use 'latest'"), ("v1", "use 'latest'"), ("v1.30.1", "no patch number"),
    ("v2.0", "only Kubernetes 1.x"), ("v0.9", "only Kubernetes 1.x"), ("v1.030", "leading zero"),
    ("V1.30", "use 'latest'"), ("Latest", "use 'latest'"), (" v1.30", "use 'latest'"), ("v1.-1", "use 'latest'"),
    ("v01.30", "only Kubernetes 1.x"), ("v1.3O", "use 'latest'"), ("v1.٣", "use 'latest'"),
])
def test_parse_version_rejects_garbage_clearly(value: str, words: str) -> None:
    with pytest.raises(ValueError) as exc:
        pss.parse_version(value)
    assert repr(value) in str(exc.value) and words in str(exc.value)


def test_parse_version_rejects_non_strings() -> None:
    with pytest.raises(ValueError, match="must be a string"):
        pss.parse_version(1.30)  # type: ignore[arg-type]


@pytest.mark.parametrize(("value", "expected"), [
    ("latest", (1, 35)), (None, (1, 35)), ("v1.36", (1, 35)), ("v1.99", (1, 35)), ("v1.35", (1, 35)),
    ("v1.34", (1, 34)), ((1, 20), (1, 20)), ((1, 40), (1, 35)), ("1.8", (1, 8)),
])
def test_resolve_version_clamps_to_the_newest_check(value: Any, expected: Any) -> None:
    assert pss.resolve_version(value) == expected
    assert pss.format_version(expected) == f"v{expected[0]}.{expected[1]}"


@pytest.mark.parametrize("value", [(2, 0), (1,), (1, -1), (1, True), [1, 30], 1.3])
def test_resolve_version_rejects_other_types(value: Any) -> None:
    with pytest.raises(ValueError):
        pss.resolve_version(value)


# =========================================================================== registry and levels
BASELINE_IDS = ["appArmorProfile", "capabilities_baseline", "hostNamespaces", "hostPathVolumes", "hostPorts",
                "hostProbesAndHostLifecycle", "privileged", "procMount", "seLinuxOptions",
                "seccompProfile_baseline", "sysctls", "windowsHostProcess"]
RESTRICTED_IDS = ["allowPrivilegeEscalation", "capabilities_restricted", "procMount_restricted", "restrictedVolumes",
                  "runAsNonRoot", "runAsUser", "seccompProfile_restricted"]


def test_registry() -> None:
    assert sorted(pss.CHECKS) == sorted(BASELINE_IDS + RESTRICTED_IDS)
    for check_id, spec_ in pss.CHECKS.items():
        assert spec_.level == ("baseline" if check_id in BASELINE_IDS else "restricted")
        assert spec_.function.check_id == check_id  # type: ignore[attr-defined]
        assert list(spec_.versions) == sorted(spec_.versions)
        assert spec_.function.__doc__ and "Allowed values" in spec_.function.__doc__, check_id
    overridden = {c: s.overridden_by for c, s in pss.CHECKS.items() if s.overridden_by}
    assert overridden == {"capabilities_baseline": "capabilities_restricted", "hostPathVolumes": "restrictedVolumes",
                          "procMount": "procMount_restricted",
                          "seccompProfile_baseline": "seccompProfile_restricted"}


@pytest.mark.parametrize(("version", "baseline", "restricted"), [
    ("v1.0",
     "appArmorProfile capabilities_baseline hostNamespaces hostPathVolumes hostPorts privileged procMount "
     "seLinuxOptions seccompProfile_baseline sysctls windowsHostProcess",
     "appArmorProfile capabilities_baseline hostNamespaces hostPorts privileged procMount seLinuxOptions "
     "seccompProfile_baseline sysctls windowsHostProcess restrictedVolumes runAsNonRoot"),
    ("v1.8", None,
     "appArmorProfile capabilities_baseline hostNamespaces hostPorts privileged procMount seLinuxOptions "
     "seccompProfile_baseline sysctls windowsHostProcess allowPrivilegeEscalation restrictedVolumes runAsNonRoot"),
    ("v1.19", None,
     "appArmorProfile capabilities_baseline hostNamespaces hostPorts privileged procMount seLinuxOptions "
     "sysctls windowsHostProcess allowPrivilegeEscalation restrictedVolumes runAsNonRoot seccompProfile_restricted"),
    ("v1.23", None,
     "appArmorProfile hostNamespaces hostPorts privileged procMount seLinuxOptions sysctls windowsHostProcess "
     "allowPrivilegeEscalation capabilities_restricted restrictedVolumes runAsNonRoot runAsUser "
     "seccompProfile_restricted"),
    ("v1.34",
     "appArmorProfile capabilities_baseline hostNamespaces hostPathVolumes hostPorts hostProbesAndHostLifecycle "
     "privileged procMount seLinuxOptions seccompProfile_baseline sysctls windowsHostProcess", None),
    ("latest", None,
     "appArmorProfile hostNamespaces hostPorts hostProbesAndHostLifecycle privileged seLinuxOptions sysctls "
     "windowsHostProcess allowPrivilegeEscalation capabilities_restricted procMount_restricted restrictedVolumes "
     "runAsNonRoot runAsUser seccompProfile_restricted"),
])
def test_level_checks_in_upstream_order(version: str, baseline: str | None, restricted: str | None) -> None:
    if baseline is not None:
        assert pss.level_checks("baseline", version) == baseline.split()
    if restricted is not None:
        assert pss.level_checks("restricted", version) == restricted.split()


def test_level_checks_rejects_unknown_level() -> None:
    with pytest.raises(ValueError, match="privileged"):
        pss.level_checks("privileged", "latest")  # type: ignore[arg-type]


@pytest.mark.parametrize(("check_id", "version", "expected"), [
    ("sysctls", "v1.26", (1, 0)), ("sysctls", "v1.27", (1, 27)), ("sysctls", "v1.31", (1, 29)),
    ("sysctls", "latest", (1, 32)), ("runAsUser", "v1.22", None), ("runAsUser", "v1.34", (1, 23)),
    ("runAsUser", "v1.35", (1, 35)), ("allowPrivilegeEscalation", "v1.7", None),
    ("allowPrivilegeEscalation", "v1.24", (1, 8)), ("seLinuxOptions", "v1.30", (1, 0)),
    ("seLinuxOptions", "v1.31", (1, 31)), ("hostProbesAndHostLifecycle", "v1.33", None),
    ("procMount_restricted", "v1.36", (1, 35)),
])
def test_check_version(check_id: str, version: str, expected: Any) -> None:
    assert pss.check_version(check_id, version) == expected


# =========================================================================== baseline checks
PRIVILEGED: list[Row] = [
    ("no-security-context", spec(ctr()), "latest", "pass"),
    ("empty-security-context", spec(ctr(sc={})), "latest", "pass"),
    ("false", spec(ctr(sc={"privileged": False})), "latest", "pass"),
    ("null", spec(ctr(sc={"privileged": None})), "latest", "pass"),
    ("true", spec(ctr("web", {"privileged": True})), "latest",
     'privileged: container "web" must not set securityContext.privileged=true'),
    ("init", spec(ctr(), init=[ctr("init", {"privileged": True})]), "v1.0",
     'privileged: container "init" must not set securityContext.privileged=true'),
    ("ephemeral", spec(ctr(), eph=[ctr("dbg", {"privileged": True})]), "latest",
     'privileged: container "dbg" must not set securityContext.privileged=true'),
    ("visit-order-init-containers-ephemeral",
     spec(ctr("b", {"privileged": True}), ctr("a", {"privileged": True}), init=[ctr("z", {"privileged": True})],
          eph=[ctr("e", {"privileged": True})]), "latest",
     'privileged: containers "z", "b", "a", "e" must not set securityContext.privileged=true'),
    # duplicate names never get here: the API server refuses them, and so does the model (tests/test_failclosed_io.py)
    ("windows-not-exempt", spec(ctr(sc={"privileged": True}), **WINDOWS), "latest",
     'privileged: container "app" must not set securityContext.privileged=true'),
    ("pod-level-key-ignored", spec(ctr(), securityContext={"runAsUser": 5}), "latest", "pass"),
]


@table("privileged", PRIVILEGED)
def test_privileged(pod_spec: Any, version: Any, expected: str, annotations: Any) -> None:
    assert run("privileged", pod_spec, version, annotations=annotations) == expected


HOST_NAMESPACES: list[Row] = [
    ("unset", spec(), "latest", "pass"),
    ("all-false", spec(hostNetwork=False, hostPID=False, hostIPC=False), "latest", "pass"),
    ("host-pid", spec(hostPID=True), "latest", "host namespaces: hostPID=true"),
    ("fixed-order", spec(hostIPC=True, hostNetwork=True), "v1.0", "host namespaces: hostNetwork=true, hostIPC=true"),
    ("all", spec(hostIPC=True, hostPID=True, hostNetwork=True), "latest",
     "host namespaces: hostNetwork=true, hostPID=true, hostIPC=true"),
    ("windows-not-exempt", spec(hostNetwork=True, **WINDOWS), "latest", "host namespaces: hostNetwork=true"),
    ("userns-not-exempt", spec(hostPID=True, **USERNS), "latest", "host namespaces: hostPID=true"),
]


@table("hostNamespaces", HOST_NAMESPACES)
def test_host_namespaces(pod_spec: Any, version: Any, expected: str, annotations: Any) -> None:
    assert run("hostNamespaces", pod_spec, version) == expected


WINDOWS_HOST_PROCESS: list[Row] = [
    ("unset", spec(), "latest", "pass"),
    ("false", spec(ctr(sc={"windowsOptions": {"hostProcess": False}}),
                   securityContext={"windowsOptions": {"hostProcess": False}}), "latest", "pass"),
    ("other-windows-options", spec(ctr(sc={"windowsOptions": {"runAsUserName": "x"}})), "latest", "pass"),
    ("pod", spec(securityContext={"windowsOptions": {"hostProcess": True}}, **WINDOWS), "latest",
     "hostProcess: pod must not set securityContext.windowsOptions.hostProcess=true"),
    ("pod-and-containers", spec(ctr("a", {"windowsOptions": {"hostProcess": True}}),
                                init=[ctr("i", {"windowsOptions": {"hostProcess": True}})],
                                securityContext={"windowsOptions": {"hostProcess": True}}), "v1.0",
     'hostProcess: pod and containers "i", "a" must not set securityContext.windowsOptions.hostProcess=true'),
    ("linux-pod-too", spec(ctr(sc={"windowsOptions": {"hostProcess": True}})), "latest",
     'hostProcess: container "app" must not set securityContext.windowsOptions.hostProcess=true'),
]


@table("windowsHostProcess", WINDOWS_HOST_PROCESS)
def test_windows_host_process(pod_spec: Any, version: Any, expected: str, annotations: Any) -> None:
    assert run("windowsHostProcess", pod_spec, version) == expected


CAPABILITIES_BASELINE: list[Row] = [
    ("unset", spec(), "latest", "pass"),
    ("drop-only", spec(ctr(sc={"capabilities": {"drop": ["ALL"]}})), "latest", "pass"),
    ("default-set", spec(ctr(sc={"capabilities": {"add": sorted(pss.BASELINE_CAPABILITIES)}})), "latest", "pass"),
    ("sys-admin", spec(ctr(sc={"capabilities": {"add": ["SYS_ADMIN"]}})), "latest",
     'non-default capabilities: container "app" must not include "SYS_ADMIN" in securityContext.capabilities.add'),
    ("net-raw-not-default", spec(ctr(sc={"capabilities": {"add": ["NET_RAW", "CHOWN"]}})), "v1.0",
     'non-default capabilities: container "app" must not include "NET_RAW" in securityContext.capabilities.add'),
    ("exact-names", spec(ctr(sc={"capabilities": {"add": ["chown", "CAP_CHOWN"]}})), "latest",
     'non-default capabilities: container "app" must not include "CAP_CHOWN", "chown" in '
     "securityContext.capabilities.add"),
    ("sorted-distinct-over-containers",
     spec(ctr("a", {"capabilities": {"add": ["SYS_TIME", "NET_ADMIN"]}}),
          eph=[ctr("e", {"capabilities": {"add": ["NET_ADMIN", "BPF"]}})]), "latest",
     'non-default capabilities: containers "a", "e" must not include "BPF", "NET_ADMIN", "SYS_TIME" in '
     "securityContext.capabilities.add"),
    ("windows-not-exempt", spec(ctr(sc={"capabilities": {"add": ["ALL"]}}), **WINDOWS), "latest",
     'non-default capabilities: container "app" must not include "ALL" in securityContext.capabilities.add'),
]


@table("capabilities_baseline", CAPABILITIES_BASELINE)
def test_capabilities_baseline(pod_spec: Any, version: Any, expected: str, annotations: Any) -> None:
    assert run("capabilities_baseline", pod_spec, version) == expected


HOST_PATH: list[Row] = [
    ("no-volumes", spec(), "latest", "pass"),
    ("safe-volumes", spec(volumes=[{"name": "e", "emptyDir": {}}, {"name": "c", "configMap": {"name": "x"}}]),
     "latest", "pass"),
    ("null-host-path", spec(volumes=[{"name": "h", "hostPath": None}]), "latest", "pass"),
    ("one", spec(volumes=[{"name": "h", "hostPath": {"path": "/etc", "type": "Directory"}}]), "latest",
     'hostPath volumes: volume "h"'),
    ("empty-host-path", spec(volumes=[{"name": "h", "hostPath": {}}]), "v1.0", 'hostPath volumes: volume "h"'),
    ("two-in-order", spec(volumes=[{"name": "b", "hostPath": {"path": "/b"}}, {"name": "e", "emptyDir": {}},
                                   {"name": "a", "hostPath": {"path": "/a"}, "emptyDir": {}}]), "latest",
     'hostPath volumes: volumes "b", "a"'),
]


@table("hostPathVolumes", HOST_PATH)
def test_host_path_volumes(pod_spec: Any, version: Any, expected: str, annotations: Any) -> None:
    assert run("hostPathVolumes", pod_spec, version) == expected


HOST_PORTS: list[Row] = [
    ("no-ports", spec(), "latest", "pass"),
    ("container-port", spec(ctr(ports=[{"containerPort": 80}])), "latest", "pass"),
    ("host-port-zero", spec(ctr(ports=[{"containerPort": 80, "hostPort": 0}])), "latest", "pass"),
    ("host-port", spec(ctr(ports=[{"containerPort": 80, "hostPort": 8080}])), "latest",
     'hostPort: container "app" uses hostPort 8080'),
    ("sorted-as-strings-distinct",
     spec(ctr("a", ports=[{"containerPort": 1, "hostPort": 8080}, {"containerPort": 2, "hostPort": 10000}]),
          ctr("b", ports=[{"containerPort": 3, "hostPort": 8080}])), "latest",
     'hostPort: containers "a", "b" use hostPorts 10000, 8080'),
    ("negative", spec(ctr(ports=[{"containerPort": 1, "hostPort": -1}])), "latest",
     'hostPort: container "app" uses hostPort -1'),
    ("init-and-ephemeral", spec(ctr(), init=[ctr("i", ports=[{"containerPort": 1, "hostPort": 53}])],
                                eph=[ctr("e", ports=[{"containerPort": 1, "hostPort": 53}])]), "v1.0",
     'hostPort: containers "i", "e" use hostPort 53'),
    # the API server defaults hostPort to containerPort in a hostNetwork pod (defaultHostNetworkPorts)
    ("host-network-defaulted", spec(ctr(ports=[{"containerPort": 80}]), hostNetwork=True), "latest",
     'hostPort: container "app" uses hostPort 80'),
    ("host-network-init-defaulted", spec(ctr(), init=[ctr("i", ports=[{"containerPort": 53, "hostPort": 0}])],
                                         hostNetwork=True), "latest", 'hostPort: container "i" uses hostPort 53'),
    ("host-network-explicit-wins", spec(ctr(ports=[{"containerPort": 80, "hostPort": 8080}]), hostNetwork=True),
     "latest", 'hostPort: container "app" uses hostPort 8080'),
    ("host-network-false-not-defaulted", spec(ctr(ports=[{"containerPort": 80}]), hostNetwork=False), "latest",
     "pass"),
]


@table("hostPorts", HOST_PORTS)
def test_host_ports(pod_spec: Any, version: Any, expected: str, annotations: Any) -> None:
    assert run("hostPorts", pod_spec, version) == expected


def _probe(host: str, action: str = "httpGet") -> dict[str, Any]:
    return {action: {"port": 80, "host": host}}


HOST_PROBES: list[Row] = [
    ("before-1.34", spec(ctr(livenessProbe=_probe("evil.example"))), "v1.33", "n/a"),
    ("no-probes", spec(), "latest", "pass"),
    ("probe-without-host", spec(ctr(livenessProbe={"httpGet": {"port": 80}})), "v1.34", "pass"),
    ("empty-host", spec(ctr(readinessProbe=_probe(""))), "latest", "pass"),
    ("exec-grpc-sleep", spec(ctr(livenessProbe={"exec": {"command": ["true"]}}, startupProbe={"grpc": {"port": 1}},
                                 lifecycle={"preStop": {"sleep": {"seconds": 1}}})), "latest", "pass"),
    ("liveness-http", spec(ctr(livenessProbe=_probe("evil.example"))), "v1.34",
     'probe or lifecycle host: container "app" uses probe or lifecycle host "evil.example"'),
    ("localhost-too", spec(ctr(startupProbe=_probe("localhost", "tcpSocket"))), "latest",
     'probe or lifecycle host: container "app" uses probe or lifecycle host "localhost"'),
    ("lifecycle-hooks", spec(ctr(lifecycle={"postStart": _probe("b"), "preStop": _probe("a", "tcpSocket")})),
     "latest", 'probe or lifecycle host: container "app" uses probe or lifecycle hosts "a", "b"'),
    ("names-sorted-and-distinct",
     spec(ctr("z", livenessProbe=_probe("h"), readinessProbe=_probe("h")), init=[ctr("m", livenessProbe=_probe("h"))],
          eph=[ctr("a", startupProbe=_probe("g"))]), "latest",
     'probe or lifecycle host: containers "a", "m", "z" use probe or lifecycle hosts "g", "h"'),
]


@table("hostProbesAndHostLifecycle", HOST_PROBES)
def test_host_probes_and_host_lifecycle(pod_spec: Any, version: Any, expected: str, annotations: Any) -> None:
    assert run("hostProbesAndHostLifecycle", pod_spec, version) == expected


AA = "container.apparmor.security.beta.kubernetes.io/"
APPARMOR: list[Row] = [
    ("unset", spec(), "latest", "pass"),
    ("allowed-types", spec(ctr(sc={"appArmorProfile": {"type": "Localhost", "localhostProfile": "p"}}),
                           securityContext={"appArmorProfile": {"type": "RuntimeDefault"}}), "latest", "pass"),
    ("pod-unconfined", spec(securityContext={"appArmorProfile": {"type": "Unconfined"}}), "latest",
     'forbidden AppArmor profile: pod must not set AppArmor profile type to "Unconfined"'),
    ("empty-profile", spec(ctr(sc={"appArmorProfile": {}})), "latest",
     'forbidden AppArmor profile: container "app" must not set AppArmor profile type to ""'),
    ("annotations-allowed", spec(), "latest", "pass"),
    ("annotation-unconfined", spec(), "v1.0",
     'forbidden AppArmor profile: annotation must not set AppArmor profile type to '
     '"container.apparmor.security.beta.kubernetes.io/app="unconfined""'),
    ("annotation-for-unknown-container", spec(), "latest",
     'forbidden AppArmor profile: annotation must not set AppArmor profile type to '
     '"container.apparmor.security.beta.kubernetes.io/ghost="docker/default""'),
    ("everything", spec(ctr("c"), ctr("d", {"appArmorProfile": {"type": "Unconfined"}}),
                        securityContext={"appArmorProfile": {"type": "Bogus"}}), "latest",
     'forbidden AppArmor profiles: pod and container "d" and annotations must not set AppArmor profile type to '
     '"Bogus", "Unconfined", "container.apparmor.security.beta.kubernetes.io/a="runtime/default2"", '
     '"container.apparmor.security.beta.kubernetes.io/c="say \\"hi\\"\\n""'),
]
APPARMOR_ANNOTATIONS = {
    "annotations-allowed": {AA + "a": "", AA + "b": "runtime/default", AA + "c": "localhost/prof",
                            "other.example/x": "unconfined"},
    "annotation-unconfined": {AA + "app": "unconfined"},
    "annotation-for-unknown-container": {AA + "ghost": "docker/default"},
    "everything": {AA + "c": 'say "hi"\n', AA + "a": "runtime/default2", AA + "ok": "localhost/x"},
}


@table("appArmorProfile", APPARMOR, APPARMOR_ANNOTATIONS)
def test_app_armor_profile(pod_spec: Any, version: Any, expected: str, annotations: Any) -> None:
    assert run("appArmorProfile", pod_spec, version, annotations=annotations) == expected


SELINUX: list[Row] = [
    ("unset", spec(), "latest", "pass"),
    ("allowed", spec(ctr(sc={"seLinuxOptions": {"type": "container_init_t", "level": "s0:c1,c2"}}),
                     securityContext={"seLinuxOptions": {"type": "container_t"}}), "latest", "pass"),
    ("empty-options", spec(ctr(sc={"seLinuxOptions": {"type": "", "user": "", "role": ""}})), "latest", "pass"),
    ("engine-from-1.31", spec(ctr(sc={"seLinuxOptions": {"type": "container_engine_t"}})), "v1.31", "pass"),
    ("engine-before-1.31", spec(ctr(sc={"seLinuxOptions": {"type": "container_engine_t"}})), "v1.30",
     'seLinuxOptions: container "app" set forbidden securityContext.seLinuxOptions: type "container_engine_t"'),
    ("user-role", spec(ctr(sc={"seLinuxOptions": {"user": "system_u", "role": "system_r"}})), "latest",
     'seLinuxOptions: container "app" set forbidden securityContext.seLinuxOptions: user may not be set; '
     "role may not be set"),
    ("pod-and-containers", spec(ctr("c", {"seLinuxOptions": {"type": "unconfined_t"}}),
                                init=[ctr("i", {"seLinuxOptions": {"role": "r"}})],
                                securityContext={"seLinuxOptions": {"type": "spc_t", "user": "u"}}), "latest",
     'seLinuxOptions: pod and containers "i", "c" set forbidden securityContext.seLinuxOptions: '
     'types "spc_t", "unconfined_t"; user may not be set; role may not be set'),
]


@table("seLinuxOptions", SELINUX)
def test_se_linux_options(pod_spec: Any, version: Any, expected: str, annotations: Any) -> None:
    assert run("seLinuxOptions", pod_spec, version) == expected


PROC_MOUNT = [
    ("unset", spec(), "latest", "pass", "pass"),
    ("default", spec(ctr(sc={"procMount": "Default"})), "latest", "pass", "pass"),
    ("unmasked", spec(ctr(sc={"procMount": "Unmasked"})), "latest",
     'procMount: container "app" must not set securityContext.procMount to "Unmasked"',
     'procMount: container "app" must not set securityContext.procMount to "Unmasked"'),
    ("empty-string", spec(ctr(sc={"procMount": ""})), "v1.0",
     'procMount: container "app" must not set securityContext.procMount to ""', "n/a"),
    ("userns-from-1.35", spec(ctr(sc={"procMount": "Unmasked"}), **USERNS), "v1.35", "pass",
     'procMount: container "app" must not set securityContext.procMount to "Unmasked"'),
    ("userns-before-1.35", spec(ctr(sc={"procMount": "Unmasked"}), **USERNS), "v1.34",
     'procMount: container "app" must not set securityContext.procMount to "Unmasked"', "n/a"),
    ("host-users-true", spec(ctr(sc={"procMount": "Unmasked"}), hostUsers=True), "latest",
     'procMount: container "app" must not set securityContext.procMount to "Unmasked"',
     'procMount: container "app" must not set securityContext.procMount to "Unmasked"'),
    ("sorted-values", spec(ctr("b", {"procMount": "Weird"}), ctr("a", {"procMount": "Unmasked"}),
                           eph=[ctr("e", {"procMount": "Unmasked"})]), "latest",
     'procMount: containers "b", "a", "e" must not set securityContext.procMount to "Unmasked", "Weird"',
     'procMount: containers "b", "a", "e" must not set securityContext.procMount to "Unmasked", "Weird"'),
]


@pytest.mark.parametrize(("pod_spec", "version", "baseline", "restricted"), [r[1:] for r in PROC_MOUNT],
                         ids=[r[0] for r in PROC_MOUNT])
def test_proc_mount(pod_spec: Any, version: Any, baseline: str, restricted: str) -> None:
    assert run("procMount", pod_spec, version) == baseline
    assert run("procMount_restricted", pod_spec, version) == restricted


SC_POD = "seccomp.security.alpha.kubernetes.io/pod"
SC_C = "container.seccomp.security.alpha.kubernetes.io/"
SECCOMP_BASELINE: list[Row] = [
    ("unset", spec(), "latest", "pass"),
    ("allowed-fields", spec(ctr(sc={"seccompProfile": {"type": "Localhost", "localhostProfile": "p"}}),
                            securityContext={"seccompProfile": {"type": "RuntimeDefault"}}), "latest", "pass"),
    ("pod-unconfined", spec(securityContext={"seccompProfile": {"type": "Unconfined"}}), "v1.19",
     'seccompProfile: pod must not set securityContext.seccompProfile.type to "Unconfined"'),
    ("empty-profile-and-container", spec(ctr(sc={"seccompProfile": {"type": "Unconfined"}}),
                                         securityContext={"seccompProfile": {}}), "latest",
     'seccompProfile: pod and container "app" must not set securityContext.seccompProfile.type to "", "Unconfined"'),
    ("fields-ignored-before-1.19", spec(securityContext={"seccompProfile": {"type": "Unconfined"}}), "v1.18", "pass"),
    ("annotations-ignored-from-1.19", spec(), "v1.19", "pass"),
    ("annotations-allowed", spec(), "v1.18", "pass"),
    ("pod-annotation", spec(), "v1.0",
     'seccompProfile: forbidden annotation seccomp.security.alpha.kubernetes.io/pod="unconfined"'),
    ("empty-annotation-forbidden", spec(), "v1.0",
     'seccompProfile: forbidden annotation container.seccomp.security.alpha.kubernetes.io/app=""'),
    ("unknown-container-ignored", spec(), "v1.0", "pass"),
    ("annotations-sorted", spec(ctr(), init=[ctr("init")]), "v1.18",
     "seccompProfile: forbidden annotations container.seccomp.security.alpha.kubernetes.io/init=\"x\\ty\", "
     'seccomp.security.alpha.kubernetes.io/pod="Unconfined"'),
]
SECCOMP_ANNOTATIONS = {
    "annotations-ignored-from-1.19": {SC_POD: "unconfined"},
    "annotations-allowed": {SC_POD: "docker/default", SC_C + "app": "runtime/default"},
    "pod-annotation": {SC_POD: "unconfined"},
    "empty-annotation-forbidden": {SC_C + "app": ""},
    "unknown-container-ignored": {SC_C + "ghost": "unconfined"},
    "annotations-sorted": {SC_POD: "Unconfined", SC_C + "init": "x\ty", SC_C + "app": "localhost/ok"},
}


@table("seccompProfile_baseline", SECCOMP_BASELINE, SECCOMP_ANNOTATIONS)
def test_seccomp_profile_baseline(pod_spec: Any, version: Any, expected: str, annotations: Any) -> None:
    assert run("seccompProfile_baseline", pod_spec, version, annotations=annotations) == expected


def _sysctls(*names: str) -> dict[str, Any]:
    return spec(securityContext={"sysctls": [{"name": n, "value": "1"} for n in names]})


SYSCTLS: list[Row] = [
    ("unset", spec(), "latest", "pass"),
    ("v1.0-set", _sysctls("kernel.shm_rmid_forced", "net.ipv4.ip_unprivileged_port_start"), "v1.0", "pass"),
    ("reserved-ports-before-1.27", _sysctls("net.ipv4.ip_local_reserved_ports"), "v1.26",
     "forbidden sysctls: net.ipv4.ip_local_reserved_ports"),
    ("reserved-ports-from-1.27", _sysctls("net.ipv4.ip_local_reserved_ports"), "v1.27", "pass"),
    ("keepalive-before-1.29", _sysctls("net.ipv4.tcp_keepalive_time"), "v1.28",
     "forbidden sysctls: net.ipv4.tcp_keepalive_time"),
    ("keepalive-from-1.29", _sysctls("net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_fin_timeout"), "v1.29", "pass"),
    ("rmem-before-1.32", _sysctls("net.ipv4.tcp_rmem"), "v1.31", "forbidden sysctls: net.ipv4.tcp_rmem"),
    ("rmem-from-1.32", _sysctls("net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"), "v1.32", "pass"),
    ("input-order-with-duplicates", _sysctls("net.core.somaxconn", "kernel.shm_rmid_forced", "kernel.msgmax",
                                             "net.core.somaxconn"), "latest",
     "forbidden sysctls: net.core.somaxconn, kernel.msgmax, net.core.somaxconn"),
    ("slash-form", _sysctls("net/ipv4/tcp_syncookies"), "latest", "forbidden sysctls: net/ipv4/tcp_syncookies"),
]


@table("sysctls", SYSCTLS)
def test_sysctls(pod_spec: Any, version: Any, expected: str, annotations: Any) -> None:
    assert run("sysctls", pod_spec, version) == expected


# =========================================================================== restricted checks
RESTRICTED_VOLUMES: list[Row] = [
    ("none", spec(), "latest", "pass"),
    ("allowed-types", spec(volumes=[{"name": k, k: {}} for k in pss.RESTRICTED_VOLUME_SOURCES]), "v1.0", "pass"),
    ("host-path", spec(volumes=[{"name": "h", "hostPath": {"path": "/"}}]), "latest",
     'restricted volume types: volume "h" uses restricted volume type "hostPath"'),
    # the API server defaults a volume without a source to emptyDir (SetDefaults_Volume)
    ("no-source-is-empty-dir", spec(volumes=[{"name": "x"}]), "latest", "pass"),
    ("null-source-is-empty-dir", spec(volumes=[{"name": "x", "hostPath": None}]), "latest", "pass"),
    ("unknown-source", spec(volumes=[{"name": "x", "futureSource": {}}]), "latest",
     'restricted volume types: volume "x" uses restricted volume type "unknown"'),
    ("allowed-source-wins", spec(volumes=[{"name": "h", "hostPath": {"path": "/"}, "emptyDir": {}}]), "latest",
     "pass"),
    ("first-type-named", spec(volumes=[{"name": "v", "nfs": {"server": "s", "path": "/"},
                                        "gitRepo": {"repository": "r"}}]), "latest",
     'restricted volume types: volume "v" uses restricted volume type "gitRepo"'),
    ("several", spec(volumes=[{"name": "c", "gitRepo": {"repository": "r"}}, {"name": "ok", "secret": {}},
                              {"name": "a", "nfs": {"server": "s", "path": "/"}},
                              {"name": "b", "hostPath": {"path": "/"}}]), "latest",
     'restricted volume types: volumes "c", "a", "b" use restricted volume types "gitRepo", "hostPath", "nfs"'),
    ("same-type-twice", spec(volumes=[{"name": "a", "nfs": {"server": "s", "path": "/"}},
                                      {"name": "b", "nfs": {"server": "s", "path": "/"}}]), "latest",
     'restricted volume types: volumes "a", "b" use restricted volume type "nfs"'),
]


@table("restrictedVolumes", RESTRICTED_VOLUMES)
def test_restricted_volumes(pod_spec: Any, version: Any, expected: str, annotations: Any) -> None:
    assert run("restrictedVolumes", pod_spec, version) == expected


@pytest.mark.parametrize("source", ["gcePersistentDisk", "awsElasticBlockStore", "iscsi", "glusterfs", "rbd",
                                    "flexVolume", "cinder", "cephfs", "flocker", "fc", "azureFile", "vsphereVolume",
                                    "quobyte", "azureDisk", "photonPersistentDisk", "portworxVolume", "scaleIO",
                                    "storageos"])
def test_restricted_volumes_names_every_type(source: str) -> None:
    assert run("restrictedVolumes", spec(volumes=[{"name": "v", source: {}}])) == \
        f'restricted volume types: volume "v" uses restricted volume type "{source}"'


APE = "allowPrivilegeEscalation"
ALLOW_PRIVILEGE_ESCALATION: list[Row] = [
    ("before-1.8", spec(), "v1.7", "n/a"),
    ("false", spec(ctr(sc={APE: False})), "v1.8", "pass"),
    ("unset", spec(ctr()), "latest",
     'allowPrivilegeEscalation != false: container "app" must set securityContext.allowPrivilegeEscalation=false'),
    ("true-and-unset", spec(ctr("a", {APE: True}), ctr("b", {APE: False}), init=[ctr("i", {})]), "latest",
     'allowPrivilegeEscalation != false: containers "i", "a" must set securityContext.allowPrivilegeEscalation=false'),
    ("ephemeral-unset", spec(ctr(sc={APE: False}), eph=[ctr("dbg")]), "latest",
     'allowPrivilegeEscalation != false: container "dbg" must set securityContext.allowPrivilegeEscalation=false'),
    ("windows-from-1.25", spec(ctr(sc={APE: True}), **WINDOWS), "v1.25", "pass"),
    ("windows-before-1.25", spec(ctr(), **WINDOWS), "v1.24",
     'allowPrivilegeEscalation != false: container "app" must set securityContext.allowPrivilegeEscalation=false'),
    ("windows-name-is-case-sensitive", spec(ctr(), os={"name": "Windows"}), "latest",
     'allowPrivilegeEscalation != false: container "app" must set securityContext.allowPrivilegeEscalation=false'),
]


@table("allowPrivilegeEscalation", ALLOW_PRIVILEGE_ESCALATION)
def test_allow_privilege_escalation(pod_spec: Any, version: Any, expected: str, annotations: Any) -> None:
    assert run("allowPrivilegeEscalation", pod_spec, version) == expected


RNR = "runAsNonRoot"
RUN_AS_NON_ROOT: list[Row] = [
    ("pod-true", spec(ctr(), securityContext={RNR: True}), "v1.0", "pass"),
    ("every-container-true", spec(ctr(sc={RNR: True}), init=[ctr("i", {RNR: True})]), "latest", "pass"),
    ("no-containers", {"containers": []}, "latest", "pass"),
    ("unset", spec(ctr()), "latest",
     'runAsNonRoot != true: pod or container "app" must set securityContext.runAsNonRoot=true'),
    ("run-as-user-does-not-count", spec(ctr(sc={"runAsUser": 1000}), securityContext={"runAsUser": 1000}), "latest",
     'runAsNonRoot != true: pod or container "app" must set securityContext.runAsNonRoot=true'),
    ("some-unset", spec(ctr("a", {RNR: True}), ctr("b"), eph=[ctr("e")]), "latest",
     'runAsNonRoot != true: pod or containers "b", "e" must set securityContext.runAsNonRoot=true'),
    ("container-false-beats-pod-true", spec(ctr("a", {RNR: False}), securityContext={RNR: True}), "latest",
     'runAsNonRoot != true: container "a" must not set securityContext.runAsNonRoot=false'),
    ("pod-false-containers-true", spec(ctr("a", {RNR: True}), securityContext={RNR: False}), "latest",
     "runAsNonRoot != true: pod must not set securityContext.runAsNonRoot=false"),
    ("explicit-hides-implicit", spec(ctr("a", {RNR: False}), ctr("b"), securityContext={RNR: False}), "latest",
     'runAsNonRoot != true: pod and container "a" must not set securityContext.runAsNonRoot=false'),
    ("windows-not-exempt", spec(ctr(), **WINDOWS), "latest",
     'runAsNonRoot != true: pod or container "app" must set securityContext.runAsNonRoot=true'),
    ("userns-from-1.35", spec(ctr(sc={RNR: False}), **USERNS), "v1.35", "pass"),
    ("userns-before-1.35", spec(ctr(), **USERNS), "v1.34",
     'runAsNonRoot != true: pod or container "app" must set securityContext.runAsNonRoot=true'),
    ("host-users-true", spec(ctr(), hostUsers=True), "latest",
     'runAsNonRoot != true: pod or container "app" must set securityContext.runAsNonRoot=true'),
]


@table("runAsNonRoot", RUN_AS_NON_ROOT)
def test_run_as_non_root(pod_spec: Any, version: Any, expected: str, annotations: Any) -> None:
    assert run("runAsNonRoot", pod_spec, version) == expected


RUN_AS_USER: list[Row] = [
    ("before-1.23", spec(ctr(sc={"runAsUser": 0})), "v1.22", "n/a"),
    ("unset", spec(), "v1.23", "pass"),
    ("non-zero", spec(ctr(sc={"runAsUser": 1000}), securityContext={"runAsUser": 1}), "latest", "pass"),
    ("pod-zero-container-overrides", spec(ctr(sc={"runAsUser": 1000}), securityContext={"runAsUser": 0}), "latest",
     "runAsUser=0: pod must not set runAsUser=0"),
    ("pod-and-containers", spec(ctr("a", {"runAsUser": 0}), init=[ctr("i", {"runAsUser": 0})],
                                securityContext={"runAsUser": 0}), "latest",
     'runAsUser=0: pod and containers "i", "a" must not set runAsUser=0'),
    ("userns-from-1.35", spec(ctr(sc={"runAsUser": 0}), **USERNS), "latest", "pass"),
    ("userns-before-1.35", spec(ctr(sc={"runAsUser": 0}), **USERNS), "v1.34",
     'runAsUser=0: container "app" must not set runAsUser=0'),
    ("windows-not-exempt", spec(ctr(sc={"runAsUser": 0}), **WINDOWS), "latest",
     'runAsUser=0: container "app" must not set runAsUser=0'),
]


@table("runAsUser", RUN_AS_USER)
def test_run_as_user(pod_spec: Any, version: Any, expected: str, annotations: Any) -> None:
    assert run("runAsUser", pod_spec, version) == expected


RD = {"seccompProfile": {"type": "RuntimeDefault"}}
SECCOMP_RESTRICTED: list[Row] = [
    ("before-1.19", spec(), "v1.18", "n/a"),
    ("pod-level", spec(ctr(), init=[ctr("i")], securityContext=RD), "v1.19", "pass"),
    ("every-container", spec(ctr(sc={"seccompProfile": {"type": "Localhost", "localhostProfile": "p"}}),
                             eph=[ctr("e", RD)]), "latest", "pass"),
    ("unset", spec(ctr(), ctr("b", RD)), "latest",
     'seccompProfile: pod or container "app" must set securityContext.seccompProfile.type to '
     '"RuntimeDefault" or "Localhost"'),
    ("annotation-does-not-count", spec(), "latest",
     'seccompProfile: pod or container "app" must set securityContext.seccompProfile.type to '
     '"RuntimeDefault" or "Localhost"'),
    ("container-unconfined", spec(ctr(sc={"seccompProfile": {"type": "Unconfined"}}), securityContext=RD), "latest",
     'seccompProfile: container "app" must not set securityContext.seccompProfile.type to "Unconfined"'),
    ("pod-unconfined-even-if-containers-set", spec(ctr(sc=RD), securityContext={"seccompProfile":
                                                                                 {"type": "Unconfined"}}), "latest",
     'seccompProfile: pod must not set securityContext.seccompProfile.type to "Unconfined"'),
    ("explicit-hides-implicit", spec(ctr("a", {"seccompProfile": {}}), ctr("b"),
                                     securityContext={"seccompProfile": {"type": "Unconfined"}}), "latest",
     'seccompProfile: pod and container "a" must not set securityContext.seccompProfile.type to "", "Unconfined"'),
    ("windows-from-1.25", spec(ctr(sc={"seccompProfile": {"type": "Unconfined"}}), **WINDOWS), "v1.25", "pass"),
    ("windows-before-1.25", spec(ctr(), **WINDOWS), "v1.24",
     'seccompProfile: pod or container "app" must set securityContext.seccompProfile.type to '
     '"RuntimeDefault" or "Localhost"'),
]


@table("seccompProfile_restricted", SECCOMP_RESTRICTED, {"annotation-does-not-count": {SC_POD: "runtime/default"}})
def test_seccomp_profile_restricted(pod_spec: Any, version: Any, expected: str, annotations: Any) -> None:
    assert run("seccompProfile_restricted", pod_spec, version, annotations=annotations) == expected


DROP_ALL = {"capabilities": {"drop": ["ALL"]}}
CAPABILITIES_RESTRICTED: list[Row] = [
    ("before-1.22", spec(), "v1.21", "n/a"),
    ("drop-all", spec(ctr(sc=DROP_ALL), init=[ctr("i", DROP_ALL)]), "v1.22", "pass"),
    ("net-bind-service", spec(ctr(sc={"capabilities": {"drop": ["NET_RAW", "ALL"], "add": ["NET_BIND_SERVICE"]}})),
     "latest", "pass"),
    ("no-security-context", spec(ctr()), "latest",
     'unrestricted capabilities: container "app" must set securityContext.capabilities.drop=["ALL"]'),
    ("lower-case-all", spec(ctr(sc={"capabilities": {"drop": ["all"]}})), "latest",
     'unrestricted capabilities: container "app" must set securityContext.capabilities.drop=["ALL"]'),
    ("default-caps-not-allowed", spec(ctr(sc={"capabilities": {"drop": ["ALL"], "add": ["CHOWN"]}})), "latest",
     'unrestricted capabilities: container "app" must not include "CHOWN" in securityContext.capabilities.add'),
    ("both-parts", spec(ctr("c", {"capabilities": {"add": ["SYS_ADMIN", "NET_RAW", "CHOWN", "NET_BIND_SERVICE"]}}),
                        ctr("d"), eph=[ctr("e", DROP_ALL)]), "latest",
     'unrestricted capabilities: containers "c", "d" must set securityContext.capabilities.drop=["ALL"]; '
     'container "c" must not include "CHOWN", "NET_RAW", "SYS_ADMIN" in securityContext.capabilities.add'),
    ("windows-from-1.25", spec(ctr(), **WINDOWS), "v1.25", "pass"),
    ("windows-before-1.25", spec(ctr(), **WINDOWS), "v1.24",
     'unrestricted capabilities: container "app" must set securityContext.capabilities.drop=["ALL"]'),
]


@table("capabilities_restricted", CAPABILITIES_RESTRICTED)
def test_capabilities_restricted(pod_spec: Any, version: Any, expected: str, annotations: Any) -> None:
    assert run("capabilities_restricted", pod_spec, version) == expected


# =========================================================================== fields, kinds, malformed input
@pytest.mark.parametrize(("check_id", "pod_spec", "field"), [
    ("privileged", spec(ctr(), init=[ctr("i", {"privileged": True})]),
     "spec.template.spec.initContainers[0].securityContext.privileged"),
    ("hostNamespaces", spec(hostIPC=True, hostPID=True), "spec.template.spec.hostPID"),
    ("windowsHostProcess", spec(ctr(sc={"windowsOptions": {"hostProcess": True}})),
     "spec.template.spec.containers[0].securityContext.windowsOptions.hostProcess"),
    ("hostPorts", spec(ctr(ports=[{"containerPort": 1}, {"containerPort": 2, "hostPort": 2}])),
     "spec.template.spec.containers[0].ports[1].hostPort"),
    ("hostProbesAndHostLifecycle", spec(ctr(lifecycle={"preStop": _probe("h", "tcpSocket")})),
     "spec.template.spec.containers[0].lifecycle.preStop.tcpSocket.host"),
    ("hostPathVolumes", spec(volumes=[{"name": "e", "emptyDir": {}}, {"name": "h", "hostPath": {}}]),
     "spec.template.spec.volumes[1].hostPath"),
    ("restrictedVolumes", spec(volumes=[{"name": "n", "nfs": {}}]), "spec.template.spec.volumes[0].nfs"),
    ("restrictedVolumes", spec(volumes=[{"name": "n", "futureSource": {}}]), "spec.template.spec.volumes[0]"),
    ("sysctls", _sysctls("kernel.shm_rmid_forced", "kernel.msgmax"),
     "spec.template.spec.securityContext.sysctls[1].name"),
    ("seLinuxOptions", spec(ctr(sc={"seLinuxOptions": {"role": "r"}})),
     "spec.template.spec.containers[0].securityContext.seLinuxOptions.role"),
    ("appArmorProfile", spec(securityContext={"appArmorProfile": {"type": "Unconfined"}}),
     "spec.template.spec.securityContext.appArmorProfile.type"),
    ("capabilities_baseline", spec(ctr(sc={"capabilities": {"add": ["BPF"]}})),
     "spec.template.spec.containers[0].securityContext.capabilities.add"),
    ("capabilities_restricted", spec(ctr()), "spec.template.spec.containers[0].securityContext.capabilities.drop"),
    ("allowPrivilegeEscalation", spec(ctr(), eph=[ctr("e")]),
     "spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation"),
    ("runAsNonRoot", spec(ctr()), "spec.template.spec.securityContext.runAsNonRoot"),
    ("runAsNonRoot", spec(ctr(sc={"runAsNonRoot": False})),
     "spec.template.spec.containers[0].securityContext.runAsNonRoot"),
    ("runAsUser", spec(securityContext={"runAsUser": 0}), "spec.template.spec.securityContext.runAsUser"),
    ("seccompProfile_restricted", spec(ctr()), "spec.template.spec.securityContext.seccompProfile.type"),
    ("procMount", spec(ctr(sc={"procMount": "Unmasked"})),
     "spec.template.spec.containers[0].securityContext.procMount"),
])
def test_finding_field_points_at_the_first_offender(check_id: str, pod_spec: Any, field: str) -> None:
    [finding] = pss.CHECKS[check_id].function(workload(pod_spec, "Deployment"), "latest")  # type: ignore[misc]
    assert finding.field == field


@pytest.mark.parametrize(("kind", "prefix"), [
    ("Pod", "metadata"), ("PodTemplate", "template.metadata"), ("Deployment", "spec.template.metadata"),
    ("CronJob", "spec.jobTemplate.spec.template.metadata"),
])
def test_annotation_fields_name_the_pod_template(kind: str, prefix: str) -> None:
    w = workload(spec(), kind, pod_meta={"annotations": {AA + "app": "unconfined", SC_POD: "unconfined"}})
    [aa] = pss.app_armor_profile(w)  # type: ignore[misc]
    assert aa.field == f"{prefix}.annotations[{AA}app]"
    [sc] = pss.seccomp_profile_baseline(w, "v1.18")  # type: ignore[misc]
    assert sc.field == f"{prefix}.annotations[{SC_POD}]"


BAD_POD = spec(ctr("web", {"privileged": True, "procMount": "Unmasked"}, ports=[{"containerPort": 1, "hostPort": 9}]),
               hostPID=True, volumes=[{"name": "h", "hostPath": {"path": "/"}}],
               securityContext={"sysctls": [{"name": "kernel.msgmax", "value": "1"}]})


@pytest.mark.parametrize("kind", sorted(WORKLOAD_KINDS))
def test_every_workload_kind(kind: str) -> None:
    """Every kind with a pod template is judged on it, with paths inside the template."""
    w = workload(BAD_POD, kind)
    for level in pss.LEVELS:
        pod_level = pss.evaluate(workload(BAD_POD, "Pod"), level)
        ours = pss.evaluate(w, level)
        assert [(c, [f.message for f in fs]) for c, fs in ours] == [(c, [f.message for f in fs]) for c, fs in pod_level]
        for _, findings in ours:
            for f in findings:
                assert f.field is not None and f.field.startswith(w.spec_path + "."), (kind, f)
    allowed, _, detail = pss.aggregate(pss.evaluate(w, "baseline"))
    assert not allowed and detail == (
        'host namespaces (hostPID=true), hostPath volumes (volume "h"), '
        'hostPort (container "web" uses hostPort 9), privileged (container "web" must not set '
        'securityContext.privileged=true), procMount (container "web" must not set securityContext.procMount to '
        '"Unmasked"), forbidden sysctls (kernel.msgmax)')


def test_clean_pod_passes_both_levels_everywhere() -> None:
    sc = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    w = workload(spec(ctr(sc=sc), init=[ctr("i", sc)], securityContext={"runAsNonRoot": True, **RD},
                      volumes=[{"name": "e", "emptyDir": {}}]), "StatefulSet")
    for version in ("v1.0", "v1.19", "v1.25", "v1.35", "latest"):
        for level in pss.LEVELS:
            assert pss.aggregate(pss.evaluate(w, level, version)) == (True, "", "")


@pytest.mark.parametrize(("pod_spec", "message"), [
    (spec(hostNetwork="true"), "spec.template.spec.hostNetwork must be true or false"),
    (spec(hostUsers="false"), "spec.template.spec.hostUsers must be true or false"),
    (spec(ctr(ports=[{"containerPort": 1, "hostPort": "80"}])), "ports[0].hostPort must be an integer"),
    (spec(ctr(ports={"containerPort": 1})), "containers[0].ports must be a list"),
    (spec(ctr(sc={"capabilities": {"add": "SYS_ADMIN"}})), "capabilities.add must be a list"),
    (spec(ctr(sc={"capabilities": {"add": [1]}})), "capabilities.add[0] must be a string"),
    (spec(ctr(sc={"procMount": 1})), "securityContext.procMount must be a string"),
    (spec(volumes={"name": "x"}), "spec.template.spec.volumes must be a list"),
    (spec(volumes=[{"name": "h", "hostPath": "/etc"}]), "volumes[0].hostPath must be a mapping"),
    (spec(securityContext={"sysctls": ["kernel.msgmax"]}), "sysctls[0] must be a mapping"),
    (spec(ctr(livenessProbe={"httpGet": {"host": 5}})), "livenessProbe.httpGet.host must be a string"),
    (spec(ctr(sc={"windowsOptions": {"hostProcess": "yes"}})), "windowsOptions.hostProcess must be true or false"),
    (spec(ctr(sc={"seLinuxOptions": {"type": ["spc_t"]}})), "seLinuxOptions.type must be a string"),
    (spec(os="windows"), "spec.template.spec.os must be a mapping"),
])
def test_malformed_fields_are_invalid_objects_not_passes(pod_spec: Any, message: str) -> None:
    with pytest.raises(InvalidObject, match=message.replace("[", r"\[").replace("]", r"\]")):
        w = workload(pod_spec, "Deployment")  # pod-level booleans are refused when the object is read
        for level in pss.LEVELS:
            pss.evaluate(w, level)


def test_malformed_annotation_value() -> None:
    # refused when the workload is built, before any check reads it
    with pytest.raises(InvalidObject, match=r"metadata.annotations\[container.apparmor.*must be a string"):
        workload(spec(), "Pod", pod_meta={"annotations": {AA + "app": 1}})


# =========================================================================== levels, run_check, aggregate
def test_aggregate_wording() -> None:
    w = workload(spec(ctr("c", {"privileged": True})), "Pod")
    allowed, reason, detail = pss.aggregate(pss.evaluate(w, "restricted"))
    assert not allowed
    assert reason == ("privileged, allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, "
                      "seccompProfile")
    assert detail.startswith('privileged (container "c" must not set securityContext.privileged=true), '
                             'allowPrivilegeEscalation != false (container "c" must set '
                             "securityContext.allowPrivilegeEscalation=false), ")


@pytest.mark.parametrize(("check_id", "version", "level", "expected"), [
    # a restricted check that does not exist yet stands in for the baseline check it will replace
    ("capabilities_restricted", "v1.21", "restricted",
     'non-default capabilities: container "app" must not include "SYS_ADMIN" in securityContext.capabilities.add'),
    ("capabilities_restricted", "v1.22", "restricted",
     'unrestricted capabilities: container "app" must set securityContext.capabilities.drop=["ALL"]; container '
     '"app" must not include "SYS_ADMIN" in securityContext.capabilities.add'),
    ("capabilities_baseline", "v1.21", "restricted", "n/a"),
    ("capabilities_baseline", "latest", "restricted", "n/a"),
    ("capabilities_baseline", "latest", "baseline",
     'non-default capabilities: container "app" must not include "SYS_ADMIN" in securityContext.capabilities.add'),
    ("capabilities_restricted", "latest", "baseline", "n/a"),
    ("seccompProfile_restricted", "v1.18", "restricted",
     'seccompProfile: forbidden annotation seccomp.security.alpha.kubernetes.io/pod="unconfined"'),
    ("procMount_restricted", "v1.34", "restricted",
     'procMount: container "app" must not set securityContext.procMount to "Unmasked"'),
    ("procMount", "v1.35", "restricted", "n/a"),
    ("procMount", "v1.35", "baseline", "pass"),  # user namespace
    ("hostPathVolumes", "v1.0", "restricted", "n/a"),
    ("restrictedVolumes", "v1.0", "restricted", 'restricted volume types: volume "h" uses restricted volume type '
                                                '"hostPath"'),
    ("runAsUser", "v1.22", "restricted", "n/a"),
    ("privileged", "v1.0", "restricted", "pass"),
])
def test_run_check_by_level(check_id: str, version: str, level: Any, expected: str) -> None:
    w = workload(spec(ctr(sc={"capabilities": {"add": ["SYS_ADMIN"]}, "procMount": "Unmasked"}), **USERNS,
                      volumes=[{"name": "h", "hostPath": {"path": "/"}}]), "Pod",
                 pod_meta={"annotations": {SC_POD: "unconfined"}})
    result = pss.run_check(check_id, w, version, level=level)
    if isinstance(result, NotApplicable):
        got = "n/a"
    else:
        got = " | ".join(f.message for f in result) or "pass"
    assert got == expected


def test_run_check_rejects_unknown_ids_and_levels() -> None:
    w = workload(spec(), "Pod")
    with pytest.raises(KeyError):
        pss.run_check("nope", w)
    with pytest.raises(ValueError):
        pss.run_check("privileged", w, level="strict")  # type: ignore[arg-type]


def test_not_applicable_reason_names_check_and_versions() -> None:
    result = pss.run_as_user(workload(spec(), "Pod"), "v1.22")
    assert result == NotApplicable("Pod Security Standards v1.22 have no runAsUser check (it exists from v1.23)")


@pytest.mark.parametrize(("value", "quoted"), [
    ("plain", '"plain"'), ('a"b\\c', '"a\\"b\\\\c"'), ("\n\t\r\a\b\f\v", '"\\n\\t\\r\\a\\b\\f\\v"'),
    ("\x01\x7f", '"\\x01\\x7f"'), ("é✓", '"é✓"'), ("\u200b", '"\\u200b"'), ("\U000e0001", '"\\U000e0001"'),
])
def test_go_quote(value: str, quoted: str) -> None:
    assert pss._go_quote(value) == quoted


# =========================================================================== the suites
def _pss_controls() -> dict[str, Any]:
    return {c.id: c for c in catalog.builtin_controls() if c.id.startswith("pss.")}


def test_suite_controls_metadata() -> None:
    controls = _pss_controls()
    baseline = {i for i in controls if i.startswith("pss.baseline.")}
    restricted = {i for i in controls if i.startswith("pss.restricted.")}
    assert len(baseline) == len(BASELINE_IDS) and len(restricted) == len(RESTRICTED_IDS)
    replaced = {"pss.baseline.capabilities", "pss.baseline.seccomp", "pss.baseline.host-path",
                "pss.baseline.proc-mount"}
    for cid, c in controls.items():
        assert c.category == "pod_security" and c.rationale and c.remediation and c.guide.startswith(
            "Pod Security Standards"), cid
        assert ("cis" in c.frameworks) is bool(c.references.get("cis")), cid  # -m cis follows the references
        c = dataclasses.replace(c, frameworks=tuple(f for f in c.frameworks if f != "cis"))
        if cid in restricted:
            assert c.frameworks == ("pss_restricted",) and c.references["pss"] == "restricted", cid
        elif cid in replaced:
            assert c.frameworks == ("pss_baseline",) and c.references["pss"] == "baseline", cid
        else:
            assert c.frameworks == ("pss_baseline", "pss_restricted") and c.references["pss"] == "baseline", cid
    for cid in ("pss.baseline.privileged", "pss.baseline.host-process"):
        assert controls[cid].severity == "critical"
    for cid in ("pss.baseline.host-namespaces", "pss.baseline.host-path", "pss.restricted.volume-types"):
        assert controls[cid].severity == "high"


SUITE_MANIFEST = [
    wrap_pod_spec("Deployment", spec(
        ctr("web", {"privileged": True, "capabilities": {"add": ["SYS_ADMIN"]}, "procMount": "Unmasked"},
            ports=[{"containerPort": 80, "hostPort": 80}]),
        hostUsers=False, volumes=[{"name": "h", "hostPath": {"path": "/"}}],
        securityContext={"sysctls": [{"name": "kernel.msgmax", "value": "1"}]}),
        {"annotations": {SC_POD: "unconfined"}}, name="bad"),
    wrap_pod_spec("Pod", spec(ctr("ok", {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}),
                              securityContext={"runAsNonRoot": True, **RD}), name="clean"),
    wrap_pod_spec("Job", spec(ctr("win", {"runAsUser": 0}), **WINDOWS), name="windows"),
]


@pytest.mark.parametrize("version", ["v1.0", "v1.18", "v1.21", "v1.34", "latest"])
@pytest.mark.parametrize("level", ["baseline", "restricted"])
def test_suite_reports_exactly_the_level(pytester: pytest.Pytester, version: str, level: str) -> None:
    """``-m pss_<level>`` fails each workload with exactly the findings upstream's level gives it."""
    manifest = pytester.path / "app.json"
    manifest.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": SUITE_MANIFEST}))
    report = pytester.path / "out.json"
    pytester.makeini(f"[pytest]\nk8s_pss_version = {version}\n")
    result = pytester.runpytest("--k8s-manifests", str(manifest), "-m", f"pss_{level}", "-p", "no:cacheprovider",
                                "--k8s-report-json", str(report))
    assert "Traceback" not in result.stdout.str()
    entries = json.loads(report.read_text())["results"]
    assert entries and all(e["control"].startswith("pss.") for e in entries)
    assert all(e["outcome"] in ("passed", "failed", "skipped") for e in entries)
    got: dict[str, list[str]] = {}
    for e in entries:
        got.setdefault(e["resource"]["name"], [])
        got[e["resource"]["name"]] += [f["message"] for f in e.get("findings") or ()]
    inv = inventory(*SUITE_MANIFEST)
    for w in inv.all_workloads():
        expected = [f.message for _, fs in pss.evaluate(w, level, version) for f in fs]  # type: ignore[arg-type]
        assert sorted(got[w.name]) == sorted(expected), (w.name, version, level)
    failed = {e["resource"]["name"] for e in entries if e["outcome"] == "failed"}
    assert failed == {w.name for w in inv.all_workloads()
                      if not pss.aggregate(pss.evaluate(w, level, version))[0]}  # type: ignore[arg-type]


def test_suite_skips_checks_missing_at_the_version(pytester: pytest.Pytester) -> None:
    manifest = pytester.path / "app.json"
    manifest.write_text(json.dumps(SUITE_MANIFEST[0]))
    pytester.makeini("[pytest]\nk8s_pss_version = v1.22\n")
    result = pytester.runpytest("--k8s-manifests", str(manifest), "-m", "pss_restricted", "-rs", "-k", "run_as_user")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*not applicable: Pod Security Standards v1.22 have no runAsUser check (it exists "
                                 "from v1.23) (k8s_pss_version = v1.22)*"])


@pytest.mark.parametrize("bad", ["v1.30.2", "garbage"])
def test_suite_bad_version_fails_clearly(pytester: pytest.Pytester, bad: str) -> None:
    manifest = pytester.path / "app.json"
    manifest.write_text(json.dumps(SUITE_MANIFEST[1]))
    pytester.makeini(f"[pytest]\nk8s_pss_version = {bad}\n")
    result = pytester.runpytest("--k8s-manifests", str(manifest), "-m", "pss_baseline or pss_restricted")
    err = result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR  # refused before anything runs
    assert f"k8shardening: k8s_pss_version: '{bad}' is not a Pod Security Standards version" in err
    assert "Traceback" not in err + result.stdout.str()


def test_suite_malformed_field_fails_without_traceback(pytester: pytest.Pytester) -> None:
    manifest = pytester.path / "app.yaml"
    manifest.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\n"
                        "spec:\n  hostNetwork: 'yes'\n  containers: [{name: c, image: x}]\n")
    result = pytester.runpytest("--k8s-manifests", str(manifest), "-m", "pss_baseline", "-k", "host_namespaces")
    err = result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR  # a malformed object is refused when it is read
    assert "spec.hostNetwork must be true or false, not 'yes'" in err
    assert "Traceback" not in err + result.stdout.str()


def test_examples_are_judged(pytester: pytest.Pytester) -> None:
    root = Path(__file__).resolve().parents[1] / "examples"
    hardened = pytester.runpytest("--k8s-manifests", str(root / "hardened"), "-m", "pss_baseline or pss_restricted")
    assert hardened.ret == 0
    insecure = pytester.runpytest("--k8s-manifests", str(root / "insecure"), "-m", "pss_restricted")
    assert insecure.ret == pytest.ExitCode.TESTS_FAILED and "Traceback" not in insecure.stdout.str()
