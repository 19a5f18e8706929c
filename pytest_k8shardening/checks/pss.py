"""Pod Security Standards (baseline and restricted), exactly as upstream evaluates them.

One pure function per check of ``k8s.io/pod-security-admission`` (v0.36.3,
Kubernetes 1.36), named after the upstream check ID. The contract:

* ``check(workload, version="latest") -> list[Finding] | NotApplicable``.
  ``workload`` is a :class:`~pytest_k8shardening.model.Workload`; the check
  reads its pod template as upstream reads a Pod (the admission plugin
  evaluates ``spec.template`` of controllers the same way). ``version`` is
  ``"latest"``, ``"v1.N"``, ``"1.N"``, a ``(1, N)`` tuple or ``None`` (latest).
* An empty list means upstream allows the pod. A forbidden pod gives exactly
  one :class:`PSSFinding`, as upstream gives one result per check: its
  ``message`` is upstream's ``reason: detail``
  (``privileged: container "web" must not set securityContext.privileged=true``),
  ``reason`` and ``detail`` are upstream's ``ForbiddenReason`` and
  ``ForbiddenDetail`` verbatim, and ``field`` is the JSON path of the first
  offending field in upstream's order (pod level, then init containers,
  containers and ephemeral containers). Where the controls citing a check
  cite upstream rules that read different settings, ``references`` holds
  the ids of the rules that fail on what the finding names
  (``pod_references.py``); it is the plugin's, not upstream's.
* :class:`~pytest_k8shardening.checks.NotApplicable` when the check does not
  exist at that version (``runAsUser`` before v1.23, say).
* A field of the wrong type (``hostNetwork: "true"``) raises
  :class:`~pytest_k8shardening.model.InvalidObject`: the API server would
  reject the pod, and guessing would give a silent pass.

Versions work as upstream's registry: a check's active variant is the last
one whose minimum version is <= the requested version, and a version newer
than every variant (``latest``, v1.36, v1.99) is clamped to :data:`LATEST`
(v1.35, the newest variant in v0.36.3). The checks see the pod as the API
server stores it, which is what admission judges: the
:class:`~pytest_k8shardening.model.Workload` applies the two defaults that
change verdicts (a volume naming no source is an ``emptyDir``; with
``hostNetwork`` each unset ``hostPort`` is its ``containerPort``), where the
library alone, given the pod as written, would forbid the first and allow
the second.

:data:`CHECKS` maps each check ID to its level, function, overriding check
and versions; :func:`level_checks`, :func:`evaluate` and :func:`aggregate`
reproduce how upstream combines them into the baseline and restricted
levels (at restricted, a restricted check replaces the baseline check it
overrides whenever it exists at the version); :func:`run_check` gives what
one control contributes to a level.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from ..model import Container, InvalidObject, Workload
from . import CheckResult, Finding, NotApplicable, refs
from . import pod_references as ids

__all__ = [
    "APPARMOR_ANNOTATION_PREFIX",
    "BASELINE_CAPABILITIES",
    "CHECKS",
    "LATEST",
    "LEVELS",
    "PROFILE_TYPES",
    "RESTRICTED_ADDABLE_CAPABILITIES",
    "RESTRICTED_VOLUME_SOURCES",
    "SELINUX_TYPES",
    "SYSCTLS",
    "UPSTREAM",
    "PSSCheck",
    "PSSFinding",
    "aggregate",
    "allow_privilege_escalation",
    "allowed_sysctls",
    "app_armor_profile",
    "apparmor_annotation_allowed",
    "capabilities_baseline",
    "capabilities_restricted",
    "check_version",
    "evaluate",
    "format_version",
    "host_namespaces",
    "host_path_volumes",
    "host_ports",
    "host_probes_and_host_lifecycle",
    "level_checks",
    "parse_version",
    "privileged",
    "proc_mount",
    "proc_mount_restricted",
    "resolve_version",
    "restricted_volumes",
    "run_as_non_root",
    "run_as_user",
    "run_check",
    "se_linux_options",
    "selinux_types",
    "seccomp_profile_baseline",
    "seccomp_profile_restricted",
    "sysctls",
    "windows_host_process",
]

#: The upstream library these checks reproduce.
UPSTREAM = "k8s.io/pod-security-admission v0.36.3"

Version = tuple[int, int]
VersionLike = str | Version | None
Level = Literal["baseline", "restricted"]
CheckFn = Callable[[Workload, VersionLike], CheckResult]

#: The levels, weakest first (``privileged`` has no checks).
LEVELS: tuple[Level, ...] = ("baseline", "restricted")

#: The newest check variant upstream has; ``latest`` and newer versions mean this one.
LATEST: Version = (1, 35)

#: Capabilities baseline allows in ``capabilities.add`` (exact, case-sensitive, no ``CAP_`` prefix).
BASELINE_CAPABILITIES: frozenset[str] = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
    "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
})

#: Allowed ``seLinuxOptions.type`` values by check version.
SELINUX_TYPES: dict[Version, frozenset[str]] = {
    (1, 0): frozenset({"", "container_t", "container_init_t", "container_kvm_t"}),
    (1, 31): frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}),
}

_SYSCTLS_1_0 = frozenset({
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start",
})
_SYSCTLS_1_27 = _SYSCTLS_1_0 | {"net.ipv4.ip_local_reserved_ports"}
_SYSCTLS_1_29 = _SYSCTLS_1_27 | {"net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
                                 "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes"}
#: Allowed sysctl names by check version (exact names; the slash form is not accepted).
SYSCTLS: dict[Version, frozenset[str]] = {
    (1, 0): _SYSCTLS_1_0,
    (1, 27): _SYSCTLS_1_27,
    (1, 29): _SYSCTLS_1_29,
    (1, 32): _SYSCTLS_1_29 | {"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"},
}

#: Volume sources restricted allows; a volume with any of them passes.
RESTRICTED_VOLUME_SOURCES: tuple[str, ...] = (
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image", "persistentVolumeClaim",
    "projected", "secret",
)
#: Other sources, in the order upstream names the first one a volume has.
_RESTRICTED_VOLUME_TYPES: tuple[str, ...] = (
    "hostPath", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "nfs", "iscsi", "glusterfs", "rbd",
    "flexVolume", "cinder", "cephfs", "flocker", "fc", "azureFile", "vsphereVolume", "quobyte", "azureDisk",
    "photonPersistentDisk", "portworxVolume", "scaleIO", "storageos",
)

#: The beta AppArmor annotation, one per container: ``<prefix><container name>``.
APPARMOR_ANNOTATION_PREFIX = "container.apparmor.security.beta.kubernetes.io/"
_SECCOMP_POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod"
_SECCOMP_CONTAINER_ANNOTATION_PREFIX = "container.seccomp.security.alpha.kubernetes.io/"
#: The ``seccompProfile.type`` restricted allows and the ``appArmorProfile.type`` baseline allows.
PROFILE_TYPES: tuple[str, ...] = ("RuntimeDefault", "Localhost")
#: What restricted lets ``capabilities.add`` name, once ``drop`` holds ``ALL``.
RESTRICTED_ADDABLE_CAPABILITIES: frozenset[str] = frozenset({"NET_BIND_SERVICE"})


# =========================================================================== versions
_VERSION_RE = re.compile(r"v?([0-9]+)\.([0-9]+)")


def parse_version(value: str) -> Version | None:
    """``"latest"`` -> None; ``"v1.30"`` or ``"1.30"`` -> ``(1, 30)``.

    Raises ValueError, with a message that says what is accepted, for
    anything else: a patch version, a major version other than 1, leading
    zeros (``v1.030``), or garbage. Upstream accepts only ``latest`` and
    ``v1.N``; the ``v`` is optional here.
    """
    if not isinstance(value, str):
        raise ValueError(f"a Pod Security Standards version must be a string such as 'latest' or 'v1.30', "
                         f"not {value!r}")
    if value == "latest":
        return None
    m = _VERSION_RE.fullmatch(value)
    if m is None:
        raise ValueError(f"{value!r} is not a Pod Security Standards version: use 'latest' or v1.<minor> "
                         f"such as v1.30 (no patch number)")
    major, minor = m.groups()
    if major != "1":
        raise ValueError(f"{value!r} is not a Pod Security Standards version: only Kubernetes 1.x versions exist "
                         f"(use 'latest' or v1.<minor> such as v1.30)")
    if len(minor) > 1 and minor.startswith("0"):
        raise ValueError(f"{value!r} is not a Pod Security Standards version: the minor version has a leading zero "
                         f"(write v1.{int(minor)})")
    return (1, int(minor))


def resolve_version(version: VersionLike) -> Version:
    """The version the checks run at: parsed, and clamped to :data:`LATEST` as upstream does."""
    if version is None:
        return LATEST
    if isinstance(version, str):
        parsed = parse_version(version)
        return LATEST if parsed is None else min(parsed, LATEST)
    if (isinstance(version, tuple) and len(version) == 2 and version[0] == 1
            and isinstance(version[1], int) and not isinstance(version[1], bool) and version[1] >= 0):
        return min(version, LATEST)
    raise ValueError(f"{version!r} is not a Pod Security Standards version: give 'latest', 'v1.N' or (1, N)")


def format_version(version: Version) -> str:
    """``(1, 30)`` -> ``"v1.30"``."""
    return f"v{version[0]}.{version[1]}"


# =========================================================================== registry
class PSSCheck(NamedTuple):
    """One upstream check: its level, our function, and how versions select it."""

    level: Level
    function: CheckFn
    #: The restricted check that replaces this baseline check at restricted
    #: (whenever that check exists at the version), or None.
    overridden_by: str | None
    #: Minimum Kubernetes version of each variant, oldest first.
    versions: tuple[Version, ...]


#: Every upstream check, keyed by its ID (``policy.DefaultChecks()``).
CHECKS: dict[str, PSSCheck] = {}


def _register(check_id: str, level: Level, versions: Sequence[Version],
              overridden_by: str | None = None) -> Callable[[CheckFn], CheckFn]:
    def decorate(fn: CheckFn) -> CheckFn:
        CHECKS[check_id] = PSSCheck(level, fn, overridden_by, tuple(versions))
        fn.check_id = check_id  # type: ignore[attr-defined]
        return fn
    return decorate


def check_version(check_id: str, version: VersionLike) -> Version | None:
    """The minimum version of ``check_id``'s variant active at ``version``; None if it does not exist then."""
    v = resolve_version(version)
    active = [m for m in CHECKS[check_id].versions if m <= v]
    return active[-1] if active else None


def selinux_types(version: VersionLike = "latest") -> frozenset[str]:
    """The ``seLinuxOptions.type`` values baseline allows at ``version`` ("" is the runtime's default)."""
    return SELINUX_TYPES[check_version("seLinuxOptions", version) or min(SELINUX_TYPES)]


def allowed_sysctls(version: VersionLike = "latest") -> frozenset[str]:
    """The sysctl names baseline allows at ``version`` (the safe set)."""
    return SYSCTLS[check_version("sysctls", version) or min(SYSCTLS)]


def _active(check_id: str, version: VersionLike) -> Version | NotApplicable:
    v = resolve_version(version)
    active = check_version(check_id, v)
    if active is None:
        first = CHECKS[check_id].versions[0]
        return NotApplicable(f"Pod Security Standards {format_version(v)} have no {check_id} check "
                             f"(it exists from {format_version(first)})")
    return active


def _overriding(version: Version) -> dict[str, str]:
    """Baseline check ID -> the restricted check replacing it at ``version``."""
    out = {}
    for check_id, spec in CHECKS.items():
        if spec.overridden_by is not None and check_version(spec.overridden_by, version) is not None:
            out[check_id] = spec.overridden_by
    return out


def level_checks(level: Level, version: VersionLike = "latest") -> list[str]:
    """The check IDs upstream runs for ``level`` at ``version``, in upstream's order.

    Baseline: every baseline check that exists at the version. Restricted:
    those, minus the ones a restricted check overrides, then every restricted
    check that exists. Each group is sorted by ID (byte order), as upstream
    orders its results.
    """
    if level not in LEVELS:
        raise ValueError(f"unknown Pod Security Standards level {level!r}: use one of {', '.join(LEVELS)}")
    v = resolve_version(version)
    exists = [c for c in CHECKS if check_version(c, v) is not None]
    baseline = sorted(c for c in exists if CHECKS[c].level == "baseline")
    if level == "baseline":
        return baseline
    overridden = _overriding(v)
    return [c for c in baseline if c not in overridden] + sorted(c for c in exists if CHECKS[c].level == "restricted")


def evaluate(workload: Workload, level: Level, version: VersionLike = "latest") -> list[tuple[str, list[Finding]]]:
    """Run every check of ``level`` at ``version``: ``(check ID, findings)`` in upstream's order."""
    out = []
    for check_id in level_checks(level, version):
        result = CHECKS[check_id].function(workload, version)
        assert not isinstance(result, NotApplicable), check_id  # level_checks only lists existing checks
        out.append((check_id, list(result)))  # type: ignore[arg-type]
    return out


def aggregate(results: Iterable[tuple[str, Sequence[Finding]]]) -> tuple[bool, str, str]:
    """``(allowed, reason, detail)`` as upstream's ``AggregateCheckResults`` words them.

    ``reason`` joins the forbidden checks' reasons with ``", "``; ``detail``
    joins ``reason (detail)`` the same way, the text of upstream's
    ``violates PodSecurity "restricted:latest": ...`` messages.
    """
    reasons, details = [], []
    for _, findings in results:
        for f in findings:
            reason = f.reason if isinstance(f, PSSFinding) else f.message
            detail = f.detail if isinstance(f, PSSFinding) else ""
            reasons.append(reason or "unknown forbidden reason")
            details.append(f"{reasons[-1]} ({detail})" if detail else reasons[-1])
    return (not reasons, ", ".join(reasons), ", ".join(details))


def run_check(check_id: str, workload: Workload, version: VersionLike = "latest", *,
              level: Level | None = None) -> CheckResult:
    """Run one check; with ``level``, return what it contributes to that level.

    At ``level="restricted"``, a baseline check that some restricted check
    overrides is never run by itself: the restricted check covers it. Where
    the restricted check replaces it at the version, that is upstream's
    rule; where the restricted check does not exist yet, upstream restricted
    runs the baseline check instead, and so the restricted check's result
    is the baseline check's (``capabilities_restricted`` at v1.21 runs
    ``capabilities_baseline``, ``seccompProfile_restricted`` at v1.18 the
    annotation check ``seccompProfile_baseline``, ``procMount_restricted``
    at v1.34 ``procMount``). So the findings of every check ID at a level
    are exactly those of :func:`evaluate` at that level, each reported once.
    At ``level="baseline"`` restricted checks do not apply.
    """
    if check_id not in CHECKS:
        raise KeyError(f"unknown Pod Security Standards check {check_id!r}")
    spec = CHECKS[check_id]
    if level is None:
        return spec.function(workload, version)
    if level not in LEVELS:
        raise ValueError(f"unknown Pod Security Standards level {level!r}: use one of {', '.join(LEVELS)}")
    v = resolve_version(version)
    if spec.level == "restricted" and level == "baseline":
        return NotApplicable(f"{check_id} is a restricted check, not part of the baseline level")
    if level == "restricted" and spec.level == "baseline":
        if spec.overridden_by is None:
            return spec.function(workload, v)
        if check_version(spec.overridden_by, v) is not None:
            return NotApplicable(f"at the restricted level of {format_version(v)}, {spec.overridden_by} replaces "
                                 f"{check_id}")
        return NotApplicable(f"at the restricted level, {check_id} is reported by {spec.overridden_by}, which "
                             f"runs it in its place at {format_version(v)}")
    result = spec.function(workload, v)
    if not isinstance(result, NotApplicable):
        return result
    stand_ins = [b for b, s in CHECKS.items() if s.overridden_by == check_id]
    if not stand_ins:
        return result
    findings: list[Finding] = []
    for b in stand_ins:
        findings.extend(CHECKS[b].function(workload, v))  # type: ignore[arg-type]  # baseline checks exist from v1.0
    return findings


# =========================================================================== findings and wording
@dataclass(frozen=True, slots=True)
class PSSFinding(Finding):
    """A forbidden check: ``message`` is ``reason: detail``; the parts are upstream's words."""

    check: str = ""
    reason: str = ""
    detail: str = ""


def _forbid(check_id: str, reason: str, detail: str, field: str | None,
            references: Mapping[str, tuple[str, ...]] | None = None) -> list[Finding]:
    """Upstream's one finding for a forbidden check; ``references``: the upstream ids of what it reports
    (``pod_references.py``), where the controls citing the check cite rules that read different settings."""
    return [PSSFinding(f"{reason}: {detail}", field, check_id, reason, detail, references=references)]


def _pl(singular: str, plural: str, n: int) -> str:
    return singular if n == 1 else plural


def _join_quote(items: Sequence[str]) -> str:
    return '"' + '", "'.join(items) + '"' if items else ""


def _containers_phrase(names: Sequence[str]) -> str:
    return f"{_pl('container', 'containers', len(names))} {_join_quote(names)}"


_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def _go_quote(s: str) -> str:
    """Go's ``%q`` (``strconv.Quote``): how upstream quotes annotation values."""
    out = ['"']
    for ch in s:
        code = ord(ch)
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        elif ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif 0xD800 <= code <= 0xDFFF:
            out.append("\\ufffd")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


# =========================================================================== typed reads
# The library sees typed Go structs; these reads give the same view of the
# JSON (null is "unset", a missing string is ""), and refuse wrong types.
def _mapping(value: Any, path: str) -> dict[str, Any] | None:
    if value is None or isinstance(value, dict):
        return value
    raise InvalidObject(f"{path} must be a mapping, not {value!r}")


def _list(value: Any, path: str) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    raise InvalidObject(f"{path} must be a list, not {value!r}")


def _bool(value: Any, path: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise InvalidObject(f"{path} must be true or false, not {value!r}")


def _int(value: Any, path: str) -> int | None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise InvalidObject(f"{path} must be an integer, not {value!r}")


def _str(value: Any, path: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise InvalidObject(f"{path} must be a string, not {value!r}")


def _field(node: dict[str, Any] | None, key: str, path: str, read: Callable[[Any, str], Any]) -> Any:
    return read(node.get(key), f"{path}.{key}") if node is not None else None


def _pod_sc(w: Workload) -> tuple[dict[str, Any] | None, str]:
    path = f"{w.spec_path}.securityContext"
    return _mapping(w.pod_spec.get("securityContext"), path), path


def _sc(c: Container) -> tuple[dict[str, Any] | None, str]:
    path = f"{c.path}.securityContext"
    return _mapping(c.raw.get("securityContext"), path), path


def _is_windows(w: Workload) -> bool:
    os_ = _mapping(w.pod_spec.get("os"), f"{w.spec_path}.os")
    return os_ is not None and _field(os_, "name", f"{w.spec_path}.os", _str) == "windows"


def _user_namespaced(w: Workload) -> bool:
    """``spec.hostUsers: false`` explicitly (unset means the host's user namespace)."""
    return _bool(w.pod_spec.get("hostUsers"), f"{w.spec_path}.hostUsers") is False


def _annotations(w: Workload) -> tuple[dict[str, str], str]:
    prefix = w.spec_path.rpartition(".")[0]
    meta = f"{prefix}.metadata" if prefix else "metadata"
    raw = _mapping(w.pod_meta.get("annotations"), f"{meta}.annotations") or {}
    for key, value in raw.items():
        _str(value, f"{meta}.annotations[{key}]")
    return raw, f"{meta}.annotations"


def _volumes(w: Workload) -> list[tuple[int, dict[str, Any], str, str]]:
    """``(index, volume, name, path)`` for each volume (a null item is an empty volume, as in Go)."""
    path = f"{w.spec_path}.volumes"
    out = []
    for i, vol in enumerate(_list(w.pod_spec.get("volumes"), path)):
        vpath = f"{path}[{i}]"
        vol = _mapping(vol, vpath) or {}
        out.append((i, vol, _str(vol.get("name"), f"{vpath}.name") or "", vpath))
    return out


def _profile_type(sc: dict[str, Any] | None, key: str, path: str) -> str | None:
    """``sc[key].type`` when ``sc[key]`` is set ("" for a profile without type), else None."""
    profile = _field(sc, key, path, _mapping)
    if profile is None:
        return None
    return _field(profile, "type", f"{path}.{key}", _str) or ""

def _bad_profile_types(w: Workload, key: str) -> tuple[list[str], list[str], set[str]]:
    """Pod and containers setting ``key`` (appArmorProfile, seccompProfile) to a type other
    than RuntimeDefault/Localhost: (setters, field paths, bad types), in upstream's order."""
    setters: list[str] = []
    fields: list[str] = []
    values: set[str] = set()
    psc, ppath = _pod_sc(w)
    t = _profile_type(psc, key, ppath)
    if t is not None and t not in PROFILE_TYPES:
        setters.append("pod")
        values.add(t)
        fields.append(f"{ppath}.{key}.type")
    bad = []
    for c in w.containers:
        sc, path = _sc(c)
        t = _profile_type(sc, key, path)
        if t is not None and t not in PROFILE_TYPES:
            bad.append(c.name)
            values.add(t)
            fields.append(f"{path}.{key}.type")
    if bad:
        setters.append(_containers_phrase(bad))
    return setters, fields, values



# =========================================================================== baseline checks
@_register("windowsHostProcess", "baseline", [(1, 0)])
def windows_host_process(w: Workload, version: VersionLike = "latest") -> CheckResult:
    """Windows HostProcess containers must not be used (baseline, v1.0+).

    Restricted fields: ``spec.securityContext.windowsOptions.hostProcess``,
    ``spec.{initContainers,containers,ephemeralContainers}[*].securityContext.windowsOptions.hostProcess``.
    Allowed values: undefined/null, false. Windows pods get no exemption.
    """
    if isinstance(active := _active("windowsHostProcess", version), NotApplicable):
        return active
    setters: list[str] = []
    fields: list[str] = []
    psc, ppath = _pod_sc(w)
    wo = _field(psc, "windowsOptions", ppath, _mapping)
    if _field(wo, "hostProcess", f"{ppath}.windowsOptions", _bool) is True:
        setters.append("pod")
        fields.append(f"{ppath}.windowsOptions.hostProcess")
    bad = []
    for c in w.containers:
        sc, path = _sc(c)
        wo = _field(sc, "windowsOptions", path, _mapping)
        if _field(wo, "hostProcess", f"{path}.windowsOptions", _bool) is True:
            bad.append(c.name)
            fields.append(f"{path}.windowsOptions.hostProcess")
    if bad:
        setters.append(_containers_phrase(bad))
    if not setters:
        return []
    return _forbid("windowsHostProcess", "hostProcess",
                   f"{' and '.join(setters)} must not set securityContext.windowsOptions.hostProcess=true", fields[0])


@_register("hostNamespaces", "baseline", [(1, 0)])
def host_namespaces(w: Workload, version: VersionLike = "latest") -> CheckResult:
    """Sharing the host namespaces must be disallowed (baseline, v1.0+).

    Restricted fields: ``spec.hostNetwork``, ``spec.hostPID``, ``spec.hostIPC``.
    Allowed values: undefined/null, false.
    """
    if isinstance(active := _active("hostNamespaces", version), NotApplicable):
        return active
    found = [(key, f"{w.spec_path}.{key}") for key in ("hostNetwork", "hostPID", "hostIPC")
             if _bool(w.pod_spec.get(key), f"{w.spec_path}.{key}") is True]
    if not found:
        return []
    return _forbid("hostNamespaces", "host namespaces", ", ".join(f"{k}=true" for k, _ in found), found[0][1],
                   ids.union(ids.HOST_NAMESPACE_REFERENCES[k] for k, _ in found))


@_register("privileged", "baseline", [(1, 0)])
def privileged(w: Workload, version: VersionLike = "latest") -> CheckResult:
    """Privileged containers are disallowed (baseline, v1.0+).

    Restricted fields:
    ``spec.{initContainers,containers,ephemeralContainers}[*].securityContext.privileged``.
    Allowed values: undefined/null, false.
    """
    if isinstance(active := _active("privileged", version), NotApplicable):
        return active
    bad, fields = [], []
    for c in w.containers:
        sc, path = _sc(c)
        if _field(sc, "privileged", path, _bool) is True:
            bad.append(c.name)
            fields.append(f"{path}.privileged")
    if not bad:
        return []
    return _forbid("privileged", "privileged",
                   f"{_containers_phrase(bad)} must not set securityContext.privileged=true", fields[0])


def _capabilities(c: Container) -> tuple[dict[str, Any] | None, str]:
    sc, path = _sc(c)
    return _field(sc, "capabilities", path, _mapping), f"{path}.capabilities"


def _cap_list(caps: dict[str, Any] | None, key: str, path: str) -> list[str]:
    items = _list(caps.get(key) if caps is not None else None, f"{path}.{key}")
    return [_str(x, f"{path}.{key}[{i}]") or "" for i, x in enumerate(items)]


@_register("capabilities_baseline", "baseline", [(1, 0)], overridden_by="capabilities_restricted")
def capabilities_baseline(w: Workload, version: VersionLike = "latest") -> CheckResult:
    """Adding capabilities beyond the default set is disallowed (baseline, v1.0+).

    Restricted fields:
    ``spec.{initContainers,containers,ephemeralContainers}[*].securityContext.capabilities.add``.
    Allowed values: undefined/empty, or only AUDIT_WRITE, CHOWN, DAC_OVERRIDE,
    FOWNER, FSETID, KILL, MKNOD, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP,
    SETUID, SYS_CHROOT (exact names: ``CAP_CHOWN`` and ``chown`` are not
    allowed). ``drop`` is not inspected. Replaced at restricted by
    ``capabilities_restricted`` from v1.22.
    """
    if isinstance(active := _active("capabilities_baseline", version), NotApplicable):
        return active
    bad, fields, caps_bad = [], [], set()
    for c in w.containers:
        caps, path = _capabilities(c)
        if caps is None:
            continue
        extra = [cap for cap in _cap_list(caps, "add", path) if cap not in BASELINE_CAPABILITIES]
        if extra:
            bad.append(c.name)
            fields.append(f"{path}.add")
            caps_bad.update(extra)
    if not bad:
        return []
    return _forbid("capabilities_baseline", "non-default capabilities",
                   f"{_containers_phrase(bad)} must not include {_join_quote(sorted(caps_bad))} in "
                   "securityContext.capabilities.add", fields[0],
                   ids.union(ids.added_capability_references(cap) for cap in sorted(caps_bad)))


@_register("hostPathVolumes", "baseline", [(1, 0)], overridden_by="restrictedVolumes")
def host_path_volumes(w: Workload, version: VersionLike = "latest") -> CheckResult:
    """HostPath volumes are forbidden (baseline, v1.0+).

    Restricted fields: ``spec.volumes[*].hostPath``.
    Allowed values: undefined/null (any hostPath, even ``{}``, is forbidden).
    Replaced at restricted by ``restrictedVolumes``, which forbids it too.
    """
    if isinstance(active := _active("hostPathVolumes", version), NotApplicable):
        return active
    bad = [(name, f"{path}.hostPath") for _, vol, name, path in _volumes(w)
           if _mapping(vol.get("hostPath"), f"{path}.hostPath") is not None]
    if not bad:
        return []
    names = [n for n, _ in bad]
    return _forbid("hostPathVolumes", "hostPath volumes",
                   f"{_pl('volume', 'volumes', len(names))} {_join_quote(names)}", bad[0][1])


@_register("hostPorts", "baseline", [(1, 0)])
def host_ports(w: Workload, version: VersionLike = "latest") -> CheckResult:
    """HostPorts must be disallowed (baseline, v1.0+).

    Restricted fields:
    ``spec.{initContainers,containers,ephemeralContainers}[*].ports[*].hostPort``.
    Allowed values: undefined/null, 0. ``containerPort`` is not inspected.
    """
    if isinstance(active := _active("hostPorts", version), NotApplicable):
        return active
    bad, fields, ports = [], [], set()
    for c in w.containers:
        valid = True
        for i, port in enumerate(_list(c.raw.get("ports"), f"{c.path}.ports")):
            ppath = f"{c.path}.ports[{i}]"
            hp = _field(_mapping(port, ppath) or {}, "hostPort", ppath, _int) or 0
            if hp != 0:
                valid = False
                ports.add(str(hp))
                fields.append(f"{ppath}.hostPort")
        if not valid:
            bad.append(c.name)
    if not bad:
        return []
    # upstream sorts the port numbers as strings: 10000 before 8080
    return _forbid("hostPorts", "hostPort",
                   f"{_containers_phrase(bad)} {_pl('uses', 'use', len(bad))} "
                   f"{_pl('hostPort', 'hostPorts', len(ports))} {', '.join(sorted(ports))}", fields[0])


_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
_LIFECYCLE_HANDLERS = ("postStart", "preStop")


def _handler_hosts(handler: dict[str, Any] | None, path: str) -> list[tuple[str, str]]:
    if handler is None:
        return []
    out = []
    for action in ("httpGet", "tcpSocket"):
        a = _field(handler, action, path, _mapping)
        host = _field(a, "host", f"{path}.{action}", _str)
        if host:
            out.append((host, f"{path}.{action}.host"))
    return out


@_register("hostProbesAndHostLifecycle", "baseline", [(1, 34)])
def host_probes_and_host_lifecycle(w: Workload, version: VersionLike = "latest") -> CheckResult:
    """Probes and lifecycle hooks must not send traffic to another host (baseline, v1.34+).

    Restricted fields, for ``spec.{initContainers,containers,ephemeralContainers}[*]``:
    ``{livenessProbe,readinessProbe,startupProbe}.{httpGet,tcpSocket}.host`` and
    ``lifecycle.{postStart,preStop}.{httpGet,tcpSocket}.host``.
    Allowed values: undefined, "" (``localhost`` and ``127.0.0.1`` are forbidden too).
    Does not exist before v1.34.
    """
    if isinstance(active := _active("hostProbesAndHostLifecycle", version), NotApplicable):
        return active
    bad: set[str] = set()
    hosts: set[str] = set()
    fields: list[str] = []
    for c in w.containers:
        found: list[tuple[str, str]] = []
        for probe in _PROBES:
            found += _handler_hosts(_mapping(c.raw.get(probe), f"{c.path}.{probe}"), f"{c.path}.{probe}")
        lifecycle = _mapping(c.raw.get("lifecycle"), f"{c.path}.lifecycle")
        for hook in _LIFECYCLE_HANDLERS:
            found += _handler_hosts(_field(lifecycle, hook, f"{c.path}.lifecycle", _mapping),
                                    f"{c.path}.lifecycle.{hook}")
        if found:
            bad.add(c.name)
            hosts.update(h for h, _ in found)
            fields += [f for _, f in found]
    if not bad:
        return []
    return _forbid("hostProbesAndHostLifecycle", "probe or lifecycle host",
                   f"{_containers_phrase(sorted(bad))} {_pl('uses', 'use', len(bad))} "
                   f"{_pl('probe or lifecycle host', 'probe or lifecycle hosts', len(hosts))} "
                   f"{_join_quote(sorted(hosts))}", fields[0])


def apparmor_annotation_allowed(value: str) -> bool:
    """An AppArmor annotation value baseline allows: "", ``runtime/default`` or ``localhost/*``."""
    return value == "" or value == "runtime/default" or value.startswith("localhost/")


@_register("appArmorProfile", "baseline", [(1, 0)])
def app_armor_profile(w: Workload, version: VersionLike = "latest") -> CheckResult:
    """AppArmor must not be disabled or overridden with an unknown profile (baseline, v1.0+).

    Restricted fields: ``spec.securityContext.appArmorProfile.type``,
    ``spec.{initContainers,containers,ephemeralContainers}[*].securityContext.appArmorProfile.type``,
    ``metadata.annotations["container.apparmor.security.beta.kubernetes.io/*"]``.
    Allowed values: appArmorProfile undefined/null, or type RuntimeDefault or
    Localhost (``Unconfined`` and ``appArmorProfile: {}`` are forbidden);
    annotations undefined, "", ``runtime/default`` or ``localhost/*``. Every
    annotation with the prefix is checked, whether or not it names a
    container of the pod. Annotations are checked at every version.
    """
    if isinstance(active := _active("appArmorProfile", version), NotApplicable):
        return active
    setters, fields, bad_values = _bad_profile_types(w, "appArmorProfile")
    annotations, apath = _annotations(w)
    forbidden = sorted((f"{k}={_go_quote(v)}", k) for k, v in annotations.items()
                       if k.startswith(APPARMOR_ANNOTATION_PREFIX) and not apparmor_annotation_allowed(v))
    values = sorted(bad_values)
    if forbidden:
        values += [item for item, _ in forbidden]
        setters.append(_pl("annotation", "annotations", len(forbidden)))
        fields.append(f"{apath}[{forbidden[0][1]}]")
    if not setters:
        return []
    return _forbid("appArmorProfile",
                   _pl("forbidden AppArmor profile", "forbidden AppArmor profiles", len(values)),
                   f"{' and '.join(setters)} must not set AppArmor profile type to {_join_quote(values)}", fields[0])


@_register("seLinuxOptions", "baseline", [(1, 0), (1, 31)])
def se_linux_options(w: Workload, version: VersionLike = "latest") -> CheckResult:
    """Setting a custom SELinux user or role, or an unsafe type, is forbidden (baseline, v1.0+).

    Restricted fields: ``spec.securityContext.seLinuxOptions`` and
    ``spec.{initContainers,containers,ephemeralContainers}[*].securityContext.seLinuxOptions``:
    ``.type``, ``.user``, ``.role`` (``.level`` is not inspected).
    Allowed values: type undefined/"", container_t, container_init_t,
    container_kvm_t, and from v1.31 container_engine_t; user and role
    undefined/"".
    """
    if isinstance(active := _active("seLinuxOptions", version), NotApplicable):
        return active
    allowed = SELINUX_TYPES[active]
    bad_types: set[str] = set()
    set_user = set_role = False
    fields: list[str] = []

    def valid(opts: dict[str, Any], path: str) -> bool:
        nonlocal set_user, set_role
        ok = True
        t = _field(opts, "type", path, _str) or ""
        if t not in allowed:
            ok = False
            bad_types.add(t)
            fields.append(f"{path}.type")
        if _field(opts, "user", path, _str):
            ok = False
            set_user = True
            fields.append(f"{path}.user")
        if _field(opts, "role", path, _str):
            ok = False
            set_role = True
            fields.append(f"{path}.role")
        return ok

    setters: list[str] = []
    psc, ppath = _pod_sc(w)
    opts = _field(psc, "seLinuxOptions", ppath, _mapping)
    if opts is not None and not valid(opts, f"{ppath}.seLinuxOptions"):
        setters.append("pod")
    bad = []
    for c in w.containers:
        sc, path = _sc(c)
        opts = _field(sc, "seLinuxOptions", path, _mapping)
        if opts is not None and not valid(opts, f"{path}.seLinuxOptions"):
            bad.append(c.name)
    if bad:
        setters.append(_containers_phrase(bad))
    if not setters:
        return []
    data = []
    if bad_types:
        data.append(f"{_pl('type', 'types', len(bad_types))} {_join_quote(sorted(bad_types))}")
    if set_user:
        data.append("user may not be set")
    if set_role:
        data.append("role may not be set")
    return _forbid("seLinuxOptions", "seLinuxOptions",
                   f"{' and '.join(setters)} set forbidden securityContext.seLinuxOptions: {'; '.join(data)}",
                   fields[0])


def _proc_mount_1_0(check_id: str, w: Workload) -> CheckResult:
    bad, fields, values = [], [], set()
    for c in w.containers:
        sc, path = _sc(c)
        pm = _field(sc, "procMount", path, _str)
        if pm is not None and pm != "Default":
            bad.append(c.name)
            values.add(pm)
            fields.append(f"{path}.procMount")
    if not bad:
        return []
    return _forbid(check_id, "procMount",
                   f"{_containers_phrase(bad)} must not set securityContext.procMount to "
                   f"{_join_quote(sorted(values))}", fields[0])


@_register("procMount", "baseline", [(1, 0), (1, 35)], overridden_by="procMount_restricted")
def proc_mount(w: Workload, version: VersionLike = "latest") -> CheckResult:
    """The default /proc masks must be kept (baseline, v1.0+).

    Restricted fields:
    ``spec.{initContainers,containers,ephemeralContainers}[*].securityContext.procMount``.
    Allowed values: undefined/null, ``Default`` (``Unmasked`` and ``""`` are
    forbidden). From v1.35 any value is allowed when the pod sets
    ``spec.hostUsers: false`` (its own user namespace). Replaced at
    restricted from v1.35 by ``procMount_restricted``, which has no such
    relaxation.
    """
    if isinstance(active := _active("procMount", version), NotApplicable):
        return active
    if active >= (1, 35) and _user_namespaced(w):
        return []
    return _proc_mount_1_0("procMount", w)


#: Only Trivy KSV-0104 reads what seccompProfile_baseline does (an explicitly weak profile); stated on the
#: finding because seccompProfile_restricted runs it in its place before v1.19, under a control citing more.
_SECCOMP_BASELINE_REFERENCES = refs(trivy=["KSV-0104"])


@_register("seccompProfile_baseline", "baseline", [(1, 0), (1, 19)], overridden_by="seccompProfile_restricted")
def seccomp_profile_baseline(w: Workload, version: VersionLike = "latest") -> CheckResult:
    """Seccomp must not be explicitly set to Unconfined (baseline, v1.0+).

    v1.0-v1.18, annotations only.
    Restricted fields:
    ``metadata.annotations["seccomp.security.alpha.kubernetes.io/pod"]`` and
    ``metadata.annotations["container.seccomp.security.alpha.kubernetes.io/<container name>"]``
    (for the pod's own containers).
    Allowed values: undefined, ``runtime/default``, ``docker/default``,
    ``localhost/*`` ("" is forbidden).

    v1.19+, fields only.
    Restricted fields: ``spec.securityContext.seccompProfile.type`` and
    ``spec.{initContainers,containers,ephemeralContainers}[*].securityContext.seccompProfile.type``.
    Allowed values: seccompProfile undefined/null, or type RuntimeDefault or
    Localhost. Replaced at restricted from v1.19 by ``seccompProfile_restricted``.
    """
    if isinstance(active := _active("seccompProfile_baseline", version), NotApplicable):
        return active
    if active < (1, 19):
        annotations, apath = _annotations(w)

        def ok(value: str) -> bool:
            return value in ("runtime/default", "docker/default") or value.startswith("localhost/")
        forbidden: dict[str, str] = {}
        keys = [_SECCOMP_POD_ANNOTATION] + [_SECCOMP_CONTAINER_ANNOTATION_PREFIX + c.name for c in w.containers]
        for key in keys:
            if key in annotations and not ok(annotations[key]):
                forbidden.setdefault(f"{key}={_go_quote(annotations[key])}", key)
        if not forbidden:
            return []
        items = sorted(forbidden)
        return _forbid("seccompProfile_baseline", "seccompProfile",
                       f"forbidden {_pl('annotation', 'annotations', len(items))} {', '.join(items)}",
                       f"{apath}[{forbidden[items[0]]}]", _SECCOMP_BASELINE_REFERENCES)
    setters, fields, values = _bad_profile_types(w, "seccompProfile")
    if not setters:
        return []
    return _forbid("seccompProfile_baseline", "seccompProfile",
                   f"{' and '.join(setters)} must not set securityContext.seccompProfile.type to "
                   f"{_join_quote(sorted(values))}", fields[0], _SECCOMP_BASELINE_REFERENCES)


@_register("sysctls", "baseline", [(1, 0), (1, 27), (1, 29), (1, 32)])
def sysctls(w: Workload, version: VersionLike = "latest") -> CheckResult:
    """Only the safe, namespaced sysctls may be set (baseline, v1.0+).

    Restricted field: ``spec.securityContext.sysctls[*].name`` (``value`` is not inspected).
    Allowed values: v1.0: kernel.shm_rmid_forced, net.ipv4.ip_local_port_range,
    net.ipv4.tcp_syncookies, net.ipv4.ping_group_range,
    net.ipv4.ip_unprivileged_port_start; v1.27: also
    net.ipv4.ip_local_reserved_ports; v1.29: also net.ipv4.tcp_keepalive_time,
    net.ipv4.tcp_fin_timeout, net.ipv4.tcp_keepalive_intvl,
    net.ipv4.tcp_keepalive_probes; v1.32: also net.ipv4.tcp_rmem,
    net.ipv4.tcp_wmem. Forbidden names are reported in input order.
    """
    if isinstance(active := _active("sysctls", version), NotApplicable):
        return active
    allowed = SYSCTLS[active]
    psc, ppath = _pod_sc(w)
    bad = []
    for i, item in enumerate(_list(psc.get("sysctls") if psc is not None else None, f"{ppath}.sysctls")):
        ipath = f"{ppath}.sysctls[{i}]"
        name = _field(_mapping(item, ipath) or {}, "name", ipath, _str) or ""
        if name not in allowed:
            bad.append((name, f"{ipath}.name"))
    if not bad:
        return []
    return _forbid("sysctls", "forbidden sysctls", ", ".join(n for n, _ in bad), bad[0][1])


# =========================================================================== restricted checks
@_register("restrictedVolumes", "restricted", [(1, 0)])
def restricted_volumes(w: Workload, version: VersionLike = "latest") -> CheckResult:
    """Only ephemeral and projected-style volume types may be used (restricted, v1.0+).

    Restricted field: ``spec.volumes[*]``.
    Allowed values: every volume must have one of ``configMap``, ``csi``,
    ``downwardAPI``, ``emptyDir``, ``ephemeral``, ``image``,
    ``persistentVolumeClaim``, ``projected``, ``secret`` set (a volume with
    one of them passes whatever else it sets). Any other source, or none at
    all (``unknown``), is forbidden. Replaces ``hostPathVolumes`` at restricted.
    """
    if isinstance(active := _active("restrictedVolumes", version), NotApplicable):
        return active
    bad, fields, types = [], [], set()
    for _, vol, name, path in _volumes(w):
        if any(_mapping(vol.get(k), f"{path}.{k}") is not None for k in RESTRICTED_VOLUME_SOURCES):
            continue
        bad.append(name)
        kind = next((k for k in _RESTRICTED_VOLUME_TYPES if vol.get(k) is not None), None)
        types.add(kind or "unknown")
        fields.append(f"{path}.{kind}" if kind else path)
    if not bad:
        return []
    return _forbid("restrictedVolumes", "restricted volume types",
                   f"{_pl('volume', 'volumes', len(bad))} {_join_quote(bad)} {_pl('uses', 'use', len(bad))} "
                   f"{_pl('restricted volume type', 'restricted volume types', len(types))} "
                   f"{_join_quote(sorted(types))}", fields[0],
                   ids.union(ids.volume_type_references(t) for t in sorted(types)))


@_register("allowPrivilegeEscalation", "restricted", [(1, 8), (1, 25)])
def allow_privilege_escalation(w: Workload, version: VersionLike = "latest") -> CheckResult:
    """Privilege escalation (setuid, file capabilities) must be disallowed (restricted, v1.8+).

    Restricted field:
    ``spec.{initContainers,containers,ephemeralContainers}[*].securityContext.allowPrivilegeEscalation``.
    Allowed values: false (unset counts as true). From v1.25 Windows pods
    (``spec.os.name: windows``) are allowed whatever they set. Does not exist
    before v1.8.
    """
    if isinstance(active := _active("allowPrivilegeEscalation", version), NotApplicable):
        return active
    if active >= (1, 25) and _is_windows(w):
        return []
    bad, fields = [], []
    for c in w.containers:
        sc, path = _sc(c)
        if _field(sc, "allowPrivilegeEscalation", path, _bool) is not False:
            bad.append(c.name)
            fields.append(f"{path}.allowPrivilegeEscalation")
    if not bad:
        return []
    return _forbid("allowPrivilegeEscalation", "allowPrivilegeEscalation != false",
                   f"{_containers_phrase(bad)} must set securityContext.allowPrivilegeEscalation=false", fields[0])


@_register("runAsNonRoot", "restricted", [(1, 0), (1, 35)])
def run_as_non_root(w: Workload, version: VersionLike = "latest") -> CheckResult:
    """Containers must be required to run as non-root users (restricted, v1.0+).

    Restricted fields: ``spec.securityContext.runAsNonRoot`` and
    ``spec.{initContainers,containers,ephemeralContainers}[*].securityContext.runAsNonRoot``.
    Allowed values: true at pod level (containers may leave it unset), or
    true on every container; false anywhere is forbidden, the pod level
    included. A non-zero ``runAsUser`` does not satisfy it, and Windows pods
    are not exempt. From v1.35 pods with ``spec.hostUsers: false`` are
    allowed whatever they set.
    """
    if isinstance(active := _active("runAsNonRoot", version), NotApplicable):
        return active
    if active >= (1, 35) and _user_namespaced(w):
        return []
    setters: list[str] = []
    fields: list[str] = []
    psc, ppath = _pod_sc(w)
    pod_value = _field(psc, "runAsNonRoot", ppath, _bool)
    if pod_value is False:
        setters.append("pod")
        fields.append(f"{ppath}.runAsNonRoot")
    explicit, implicit = [], []
    for c in w.containers:
        sc, path = _sc(c)
        value = _field(sc, "runAsNonRoot", path, _bool)
        if value is False:
            explicit.append(c.name)
            fields.append(f"{path}.runAsNonRoot")
        elif value is None and pod_value is not True:
            implicit.append(c.name)
    if explicit:
        setters.append(_containers_phrase(explicit))
    if setters:
        return _forbid("runAsNonRoot", "runAsNonRoot != true",
                       f"{' and '.join(setters)} must not set securityContext.runAsNonRoot=false", fields[0])
    if implicit:
        return _forbid("runAsNonRoot", "runAsNonRoot != true",
                       f"pod or {_containers_phrase(implicit)} must set securityContext.runAsNonRoot=true",
                       f"{ppath}.runAsNonRoot")
    return []


@_register("runAsUser", "restricted", [(1, 23), (1, 35)])
def run_as_user(w: Workload, version: VersionLike = "latest") -> CheckResult:
    """Containers must not set runAsUser to 0 (restricted, v1.23+).

    Restricted fields: ``spec.securityContext.runAsUser`` and
    ``spec.{initContainers,containers,ephemeralContainers}[*].securityContext.runAsUser``.
    Allowed values: undefined/null, any non-zero value. From v1.35 pods with
    ``spec.hostUsers: false`` are allowed whatever they set. Does not exist
    before v1.23.
    """
    if isinstance(active := _active("runAsUser", version), NotApplicable):
        return active
    if active >= (1, 35) and _user_namespaced(w):
        return []
    setters: list[str] = []
    fields: list[str] = []
    psc, ppath = _pod_sc(w)
    if _field(psc, "runAsUser", ppath, _int) == 0:
        setters.append("pod")
        fields.append(f"{ppath}.runAsUser")
    bad = []
    for c in w.containers:
        sc, path = _sc(c)
        if _field(sc, "runAsUser", path, _int) == 0:
            bad.append(c.name)
            fields.append(f"{path}.runAsUser")
    if bad:
        setters.append(_containers_phrase(bad))
    if not setters:
        return []
    return _forbid("runAsUser", "runAsUser=0", f"{' and '.join(setters)} must not set runAsUser=0", fields[0])


@_register("seccompProfile_restricted", "restricted", [(1, 19), (1, 25)])
def seccomp_profile_restricted(w: Workload, version: VersionLike = "latest") -> CheckResult:
    """Seccomp must be set to RuntimeDefault or Localhost (restricted, v1.19+).

    Restricted fields: ``spec.securityContext.seccompProfile.type`` and
    ``spec.{initContainers,containers,ephemeralContainers}[*].securityContext.seccompProfile.type``.
    Allowed values: RuntimeDefault or Localhost at pod level (containers may
    leave seccompProfile unset, or set an allowed type), or on every
    container; anything else set anywhere (``Unconfined``, ``{}``) is
    forbidden, a pod-level value included even when every container sets
    its own. Annotations are not inspected. From v1.25 Windows pods are
    allowed. Replaces ``seccompProfile_baseline`` at restricted; does not
    exist before v1.19.
    """
    if isinstance(active := _active("seccompProfile_restricted", version), NotApplicable):
        return active
    if active >= (1, 25) and _is_windows(w):
        return []
    setters: list[str] = []
    fields: list[str] = []
    values: set[str] = set()
    psc, ppath = _pod_sc(w)
    pod_type = _profile_type(psc, "seccompProfile", ppath)
    pod_ok = pod_type in PROFILE_TYPES
    if pod_type is not None and not pod_ok:
        setters.append("pod")
        values.add(pod_type)
        fields.append(f"{ppath}.seccompProfile.type")
    explicit, implicit = [], []
    cited = [ids.SECCOMP_POD_OVERRIDDEN_REFERENCES] if pod_type is not None and not pod_ok else []
    for c in w.containers:
        sc, path = _sc(c)
        t = _profile_type(sc, "seccompProfile", path)
        if t is not None:
            if t not in PROFILE_TYPES:
                explicit.append(c.name)
                values.add(t)
                fields.append(f"{path}.seccompProfile.type")
                cited.append(ids.SECCOMP_WEAK_REFERENCES)
        elif not pod_ok:
            implicit.append(c.name)
            cited.append(ids.SECCOMP_WEAK_REFERENCES if pod_type is not None else ids.SECCOMP_UNSET_REFERENCES)
    references = ids.union(cited)  # what every container's effective profile fails, whatever the message names
    if explicit:
        setters.append(_containers_phrase(explicit))
    if setters:
        return _forbid("seccompProfile_restricted", "seccompProfile",
                       f"{' and '.join(setters)} must not set securityContext.seccompProfile.type to "
                       f"{_join_quote(sorted(values))}", fields[0], references)
    if implicit:
        return _forbid("seccompProfile_restricted", "seccompProfile",
                       f"pod or {_containers_phrase(implicit)} must set securityContext.seccompProfile.type to "
                       '"RuntimeDefault" or "Localhost"', f"{ppath}.seccompProfile.type", references)
    return []


@_register("capabilities_restricted", "restricted", [(1, 22), (1, 25)])
def capabilities_restricted(w: Workload, version: VersionLike = "latest") -> CheckResult:
    """Containers must drop ALL capabilities and may add back only NET_BIND_SERVICE (restricted, v1.22+).

    Restricted fields:
    ``spec.{initContainers,containers,ephemeralContainers}[*].securityContext.capabilities.drop``
    and ``...capabilities.add``.
    Allowed values: ``drop`` must contain ``ALL`` (exactly; ``all`` does not
    count); ``add`` undefined/empty or only ``NET_BIND_SERVICE``. From v1.25
    Windows pods are allowed. Replaces ``capabilities_baseline`` at
    restricted; does not exist before v1.22.
    """
    if isinstance(active := _active("capabilities_restricted", version), NotApplicable):
        return active
    if active >= (1, 25) and _is_windows(w):
        return []
    missing, adding, fields, forbidden = [], [], [], set()
    for c in w.containers:
        caps, path = _capabilities(c)
        if caps is None:
            missing.append(c.name)
            fields.append(f"{path}.drop")
            continue
        if "ALL" not in _cap_list(caps, "drop", path):
            missing.append(c.name)
            fields.append(f"{path}.drop")
        extra = [cap for cap in _cap_list(caps, "add", path) if cap not in RESTRICTED_ADDABLE_CAPABILITIES]
        if extra:
            adding.append(c.name)
            forbidden.update(extra)
            fields.append(f"{path}.add")
    details = []
    if missing:
        details.append(f'{_containers_phrase(missing)} must set securityContext.capabilities.drop=["ALL"]')
    if adding:
        details.append(f"{_containers_phrase(adding)} must not include {_join_quote(sorted(forbidden))} in "
                       "securityContext.capabilities.add")
    if not details:
        return []
    cited = [ids.DROP_ALL_REFERENCES] if missing else []
    if adding:
        cited.append(ids.ADD_ONLY_NET_BIND_REFERENCES)
        cited += [ids.added_capability_references(cap) for cap in sorted(forbidden)]
    return _forbid("capabilities_restricted", "unrestricted capabilities", "; ".join(details), fields[0],
                   ids.union(cited))


@_register("procMount_restricted", "restricted", [(1, 35)])
def proc_mount_restricted(w: Workload, version: VersionLike = "latest") -> CheckResult:
    """The default /proc masks must be kept, user namespace or not (restricted, v1.35+).

    Restricted fields:
    ``spec.{initContainers,containers,ephemeralContainers}[*].securityContext.procMount``.
    Allowed values: undefined/null, ``Default``, also with ``hostUsers: false``.
    Replaces ``procMount`` at restricted; does not exist before v1.35
    (restricted then runs ``procMount``, which was unconditional before v1.35).
    """
    if isinstance(active := _active("procMount_restricted", version), NotApplicable):
        return active
    return _proc_mount_1_0("procMount_restricted", w)
