"""Pod security checks (NSA/CISA guide, "Kubernetes Pod security").

Each function documents the fields it reads and the values it allows, in
the manner of kubernetes/pod-security-admission. Where a control mirrors a
Pod Security Standards control, the semantics are the upstream ones
(v1.36); the test in ``suites/`` says where other tools read it differently.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

from ..model import Container, Workload, mapping
from . import REFERENCE_KEYS, CheckResult, Finding, NotApplicable, Undetermined, pss
from .pod_references import (ADD_ONLY_NET_BIND_REFERENCES, DROP_ALL_REFERENCES, SECCOMP_POD_OVERRIDDEN_REFERENCES,
                             SECCOMP_UNSET_REFERENCES, SECCOMP_WEAK_REFERENCES, added_capability_references)
from .pss import BASELINE_CAPABILITIES  # the checks claiming PSS semantics read its constants (issue 17)

__all__ = [
    "RUNTIME_SOCKETS",
    "allow_privilege_escalation",
    "apparmor_not_weakened",
    "capabilities_dropped",
    "cpu_limits",
    "cpu_requests",
    "dangerous_capabilities",
    "default_namespace",
    "high_run_as_ids",
    "host_ipc",
    "host_network",
    "host_path_volumes",
    "host_pid",
    "host_ports",
    "image_digest",
    "memory_limits",
    "memory_requests",
    "privileged",
    "read_only_root_filesystem",
    "run_as_non_root",
    "run_as_non_root_group",
    "runtime_socket_mounts",
    "seccomp_profile",
    "selinux_not_weakened",
    "service_account_token",
]

#: Host paths of container runtime sockets. Mounting one of them, or any
#: directory above one, gives the pod control of every container on the node.
RUNTIME_SOCKETS: tuple[str, ...] = (
    "/var/run/docker.sock", "/run/docker.sock",
    "/var/run/containerd/containerd.sock", "/run/containerd/containerd.sock",
    "/var/run/crio/crio.sock", "/run/crio/crio.sock",
    "/var/run/cri-dockerd.sock", "/run/cri-dockerd.sock",
    "/var/run/dockershim.sock", "/run/k3s/containerd/containerd.sock",
    "/var/run/k3s/containerd/containerd.sock", "/var/run/podman/podman.sock", "/run/podman/podman.sock",
)

_LINUX_ONLY = "the pod declares spec.os.name=windows; this Linux setting does not apply"


def _windows(c: Container) -> NotApplicable | None:
    return NotApplicable(_LINUX_ONLY) if c.workload.is_windows else None


# --------------------------------------------------------------- users, groups
def run_as_non_root(c: Container) -> CheckResult:
    """The container must not run as UID 0.

    Fields: ``securityContext.runAsNonRoot`` and ``securityContext.runAsUser``,
    container level first, then pod level.
    Compliant: effective ``runAsUser`` > 0, or effective ``runAsNonRoot: true``
    with no ``runAsUser: 0``. An explicit ``runAsUser: 0`` always fails.
    Windows pods are checked too, as upstream does.
    """
    user = c.setting("runAsUser")
    non_root = c.setting("runAsNonRoot")
    if user.is_set and user.value == 0:
        return [Finding(f"runs as root: {user.describe()}", user.path)]
    if non_root.value is True or (user.is_set and user.value > 0):
        return []
    if non_root.is_set:
        return [Finding(f"{non_root.describe()} and no non-zero runAsUser is set, so the image's "
                        "user (often root) is used", non_root.path)]
    return [Finding("neither runAsNonRoot: true nor a non-zero runAsUser is set at container or pod level, "
                    "so the image's user (root by default) is used", f"{c.path}.securityContext.runAsNonRoot")]


def run_as_non_root_group(c: Container) -> CheckResult:
    """The container's groups must not include GID 0.

    Fields: ``runAsGroup`` (container, then pod level) must be set and > 0;
    pod-level ``fsGroup`` must not be 0; ``supplementalGroups`` must not
    contain 0. An unset ``runAsGroup`` fails: the process then gets the
    image's primary group, which is root's group in most images.
    """
    if na := _windows(c):
        return na
    findings = []
    group = c.setting("runAsGroup")
    if not group.is_set:
        findings.append(Finding("runAsGroup is not set at container or pod level, so the image's primary group "
                                "(GID 0 in most images) is used", f"{c.path}.securityContext.runAsGroup"))
    elif group.value == 0:
        findings.append(Finding(f"runs with root group: {group.describe()}", group.path))
    pod_sc = c.workload.pod_security_context
    base = f"{c.workload.spec_path}.securityContext"
    if pod_sc.get("fsGroup") == 0:
        findings.append(Finding(f"{base}.fsGroup=0 gives volumes to the root group", f"{base}.fsGroup"))
    if 0 in (pod_sc.get("supplementalGroups") or ()):
        findings.append(Finding(f"{base}.supplementalGroups contains 0 (root group)", f"{base}.supplementalGroups"))
    return findings


# --------------------------------------------------------------- privileges
def privileged(c: Container) -> CheckResult:
    """``securityContext.privileged`` must be false or unset (PSS baseline ``privileged``)."""
    s = c.container_setting("privileged")
    if s.value is True:
        return [Finding(f"{s.describe()}: a privileged container has every capability and all host devices",
                        s.path)]
    return []


def allow_privilege_escalation(c: Container) -> CheckResult:
    """``securityContext.allowPrivilegeEscalation`` must be explicitly false.

    Unset means true: setuid binaries and file capabilities can raise the
    process's privileges (PSS restricted ``allowPrivilegeEscalation``).
    """
    if na := _windows(c):
        return na
    s = c.container_setting("allowPrivilegeEscalation")
    if s.value is False:
        return []
    if s.is_set:
        return [Finding(f"{s.describe()}", s.path)]
    return [Finding("allowPrivilegeEscalation is not set, and defaults to true",
                    f"{c.path}.securityContext.allowPrivilegeEscalation")]


def read_only_root_filesystem(c: Container) -> CheckResult:
    """``securityContext.readOnlyRootFilesystem`` must be true.

    Writable paths the application needs belong on ``emptyDir`` volumes.
    """
    if na := _windows(c):
        return na
    s = c.container_setting("readOnlyRootFilesystem")
    if s.value is True:
        return []
    if s.is_set:
        return [Finding(f"{s.describe()}: the root filesystem is writable", s.path)]
    return [Finding("readOnlyRootFilesystem is not set, so the root filesystem is writable",
                    f"{c.path}.securityContext.readOnlyRootFilesystem")]


def _capabilities(c: Container) -> tuple[list[Any], list[Any], str]:
    caps = mapping(c.security_context.get("capabilities"))
    add = caps.get("add") or []
    drop = caps.get("drop") or []
    return (add if isinstance(add, list) else [add]), (drop if isinstance(drop, list) else [drop]), \
        f"{c.path}.securityContext.capabilities"


def dangerous_capabilities(c: Container) -> CheckResult:
    """``capabilities.add`` may only name capabilities of the baseline set.

    Allowed (PSS baseline ``capabilities_baseline``): AUDIT_WRITE, CHOWN,
    DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD, NET_BIND_SERVICE, SETFCAP,
    SETGID, SETPCAP, SETUID, SYS_CHROOT. Names are compared exactly, as the
    API does (``CAP_SYS_ADMIN`` is not ``SYS_ADMIN``, and is not allowed).
    """
    add, _, path = _capabilities(c)
    bad = [str(cap) for cap in add if cap not in BASELINE_CAPABILITIES]
    groups: dict[tuple[tuple[str, ...], ...], list[str]] = {}
    for cap in bad:  # one finding per set of upstream rules that fail these capabilities
        cited = added_capability_references(cap)
        groups.setdefault(tuple(cited[k] for k in REFERENCE_KEYS), []).append(cap)
    return [Finding(f"adds capabilities outside the baseline set: {', '.join(caps)}", f"{path}.add",
                    references=dict(zip(REFERENCE_KEYS, key))) for key, caps in groups.items()]


def capabilities_dropped(c: Container) -> CheckResult:
    """``capabilities.drop`` must contain ALL; only NET_BIND_SERVICE may be added back.

    Mirrors PSS restricted ``capabilities_restricted``: ``ALL`` is matched
    exactly (``all`` does not count).
    """
    if na := _windows(c):
        return na
    add, drop, path = _capabilities(c)
    findings = []
    if "ALL" not in drop:
        shown = ", ".join(map(str, drop)) if drop else "nothing"
        findings.append(Finding(f"capabilities.drop does not contain ALL (drops {shown})", f"{path}.drop",
                                references=DROP_ALL_REFERENCES))
    extra = [str(cap) for cap in add if cap not in pss.RESTRICTED_ADDABLE_CAPABILITIES]
    if extra:
        findings.append(Finding(f"adds capabilities other than NET_BIND_SERVICE: {', '.join(extra)}", f"{path}.add",
                                references=ADD_ONLY_NET_BIND_REFERENCES))
    return findings


# --------------------------------------------------------------- host access
def _host_flag(w: Workload, key: str, what: str) -> CheckResult:
    value = w.pod_spec.get(key)
    if value is True:
        return [Finding(f"{w.spec_path}.{key}=true: {what}", f"{w.spec_path}.{key}")]
    return []


def host_pid(w: Workload) -> CheckResult:
    """``spec.hostPID`` must be false or unset (PSS baseline ``hostNamespaces``)."""
    return _host_flag(w, "hostPID", "the pod sees and can signal every process on the node")


def host_ipc(w: Workload) -> CheckResult:
    """``spec.hostIPC`` must be false or unset (PSS baseline ``hostNamespaces``)."""
    return _host_flag(w, "hostIPC", "the pod shares the node's IPC namespace (shared memory, semaphores)")


def host_network(w: Workload) -> CheckResult:
    """``spec.hostNetwork`` must be false or unset (PSS baseline ``hostNamespaces``)."""
    return _host_flag(w, "hostNetwork", "the pod uses the node's network stack and bypasses NetworkPolicies")


def _mounts_of(w: Workload, volume: str) -> list[str]:
    out = []
    for c in w.containers:
        for m in c.raw.get("volumeMounts") or ():
            if isinstance(m, dict) and m.get("name") == volume:
                mode = "read-only" if m.get("readOnly") is True else "writable"
                out.append(f'{c.type} "{c.name}" at {m.get("mountPath")} ({mode})')
    return out


def _host_paths(w: Workload) -> list[tuple[int, dict[str, Any], str]]:
    out = []
    for i, vol in enumerate(w.volumes()):
        hp = vol.get("hostPath")
        if hp is not None:
            out.append((i, vol, str(mapping(hp).get("path", ""))))
    return out


def host_path_volumes(w: Workload) -> CheckResult:
    """``spec.volumes[*].hostPath`` must not be used (PSS baseline ``hostPathVolumes``).

    Every hostPath is reported with the containers that mount it and whether
    the mount is writable.
    """
    findings = []
    for i, vol, path in _host_paths(w):
        mounts = _mounts_of(w, vol.get("name", ""))
        where = "; mounted by " + ", ".join(mounts) if mounts else "; not mounted by any container"
        findings.append(Finding(f'volume "{vol.get("name")}" is hostPath {path}{where}',
                                f"{w.spec_path}.volumes[{i}].hostPath"))
    return findings


def _exposes_socket(path: str) -> str | None:
    if not path.startswith("/"):
        return None
    norm = posixpath.normpath(path)
    for sock in RUNTIME_SOCKETS:
        if norm == sock or norm == "/" or sock.startswith(norm.rstrip("/") + "/"):
            return sock
    return None


def runtime_socket_mounts(w: Workload) -> CheckResult:
    """No hostPath volume may expose a container runtime socket.

    Fails for a socket path (``/var/run/docker.sock``, containerd, CRI-O,
    cri-dockerd, k3s, podman) or any directory above one (``/var/run``,
    ``/run``, ``/``), since the socket is reachable through it.
    """
    findings = []
    for i, vol, path in _host_paths(w):
        sock = _exposes_socket(path)
        if sock:
            via = "" if posixpath.normpath(path) == sock else f" (through the directory {path})"
            findings.append(Finding(f'volume "{vol.get("name")}" exposes the runtime socket {sock}{via}',
                                    f"{w.spec_path}.volumes[{i}].hostPath.path"))
    return findings


def host_ports(c: Container) -> CheckResult:
    """``ports[*].hostPort`` must be unset or 0 (PSS baseline ``hostPorts``).

    Read as the API server stores the pod: with ``hostNetwork: true`` every
    port's hostPort defaults to its containerPort, and the message says so.
    """
    findings = []
    for i, port in enumerate(c.raw.get("ports") or ()):
        hp = mapping(port).get("hostPort")
        if hp not in (None, 0):
            field = f"{c.path}.ports[{i}].hostPort"
            why = c.workload.defaults.get(field)
            findings.append(Finding(f"ports[{i}].hostPort={hp} binds a port on the node" + (f" ({why})" if why else ""),
                                    field))
    return findings


# --------------------------------------------------------------- kernel profiles
def seccomp_profile(c: Container) -> CheckResult:
    """The effective seccomp profile must be RuntimeDefault or Localhost.

    Fields: ``securityContext.seccompProfile.type``, container level first,
    then pod level (PSS restricted ``seccompProfile_restricted``). Unset
    fails: without the kubelet's ``seccompDefault`` the container runs
    Unconfined. As upstream, a pod-level profile other than RuntimeDefault
    or Localhost fails even where the container overrides it.
    """
    if na := _windows(c):
        return na
    findings = []
    s = c.setting("seccompProfile")
    pod_profile = c.workload.pod_security_context.get("seccompProfile")
    if s.level == "container" and pod_profile is not None \
            and mapping(pod_profile).get("type") not in pss.PROFILE_TYPES:
        # Upstream forbids a weak pod-level profile even where containers override it.
        path = f"{c.workload.spec_path}.securityContext.seccompProfile.type"
        findings.append(Finding(f"{path}={mapping(pod_profile).get('type')} at pod level", path,
                                references=SECCOMP_POD_OVERRIDDEN_REFERENCES))
    if not s.is_set:
        return [Finding("seccompProfile is not set at container or pod level, so the container runs "
                        "Unconfined unless the kubelet enables seccompDefault",
                        f"{c.path}.securityContext.seccompProfile", references=SECCOMP_UNSET_REFERENCES)]
    kind = mapping(s.value).get("type")
    if kind not in pss.PROFILE_TYPES:
        findings.append(Finding(f"{s.path}.type={kind}: system calls are not filtered", f"{s.path}.type",
                                references=SECCOMP_WEAK_REFERENCES))
    return findings


def apparmor_not_weakened(c: Container) -> CheckResult:
    """AppArmor must not be set to Unconfined or to an unknown profile.

    Fields (PSS baseline ``appArmorProfile``): pod and container
    ``securityContext.appArmorProfile.type`` may be unset, RuntimeDefault or
    Localhost; the annotation
    ``container.apparmor.security.beta.kubernetes.io/<container>`` may be
    unset, empty, ``runtime/default`` or ``localhost/*``. An annotation is
    attributed to the container it names; upstream fails the whole pod for a
    bad annotation even when it names no container of the pod (where it has
    no effect).
    """
    findings = []
    w = c.workload
    for sc, path in ((w.pod_security_context, f"{w.spec_path}.securityContext"),
                     (c.security_context, f"{c.path}.securityContext")):
        profile = sc.get("appArmorProfile")
        if profile is not None:
            kind = mapping(profile).get("type")
            if kind not in pss.PROFILE_TYPES:
                findings.append(Finding(f"{path}.appArmorProfile.type={kind}", f"{path}.appArmorProfile.type"))
    key = f"{pss.APPARMOR_ANNOTATION_PREFIX}{c.name}"
    value = w.annotations.get(key)
    if value is not None and not pss.apparmor_annotation_allowed(str(value)):
        findings.append(Finding(f"annotation {key}={value}", f"metadata.annotations[{key}]"))
    return findings


def selinux_not_weakened(c: Container) -> CheckResult:
    """SELinux options must not set a custom user or role, or an unsafe type.

    Fields (PSS baseline ``seLinuxOptions``): pod and container
    ``securityContext.seLinuxOptions``; ``type`` may be unset, container_t,
    container_init_t, container_kvm_t or container_engine_t; ``user`` and
    ``role`` must be unset.
    """
    findings = []
    w = c.workload
    for sc, path in ((w.pod_security_context, f"{w.spec_path}.securityContext"),
                     (c.security_context, f"{c.path}.securityContext")):
        opts = mapping(sc.get("seLinuxOptions"))
        se_type = opts.get("type")
        if se_type is not None and se_type not in pss.selinux_types():
            findings.append(Finding(f"{path}.seLinuxOptions.type={se_type}", f"{path}.seLinuxOptions.type"))
        for key in ("user", "role"):
            if opts.get(key) not in (None, ""):
                findings.append(Finding(f"{path}.seLinuxOptions.{key}={opts[key]} sets a custom SELinux {key}",
                                        f"{path}.seLinuxOptions.{key}"))
    return findings


# --------------------------------------------------------------- service accounts
def service_account_token(w: Workload) -> CheckResult:
    """The service-account token must not be mounted automatically.

    Fields: the pod's ``automountServiceAccountToken``; when unset, the
    ServiceAccount's field decides. Compliant when the pod sets false, or
    leaves it unset and its ServiceAccount (found among the inputs) sets
    false. A ServiceAccount that is not among the inputs counts as mounting
    the token, since that is the API's default.
    """
    spec = w.pod_spec
    path = f"{w.spec_path}.automountServiceAccountToken"
    pod_value = spec.get("automountServiceAccountToken")
    if pod_value is False:
        return []
    sa_name = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    if pod_value is True:
        return [Finding(f"{path}=true mounts the token of ServiceAccount {sa_name}", path)]
    inv = w.inventory
    sa = inv.service_account(w.namespace or "default", sa_name, origin=w.obj) if inv is not None else None
    if sa is None and inv is not None and (why := inv.unavailable("ServiceAccount")):
        return Undetermined(f"the pod leaves automountServiceAccountToken to its ServiceAccount, and "
                            f"ServiceAccounts cannot be read: {why}")
    if sa is None:
        return [Finding(f"{path} is not set and ServiceAccount {w.namespace}/{sa_name} is not among the inputs; "
                        "the token is mounted by default", path)]
    sa_value = sa.raw.get("automountServiceAccountToken")
    if sa_value is False:
        return []
    state = "sets it to true" if sa_value is True else "does not set it"
    return [Finding(f"{path} is not set and ServiceAccount {w.namespace}/{sa_name} ({sa.source.describe()}) "
                    f"{state}, so the token is mounted", path)]


# --------------------------------------------------------------- resources
def _limit(c: Container, resource: str) -> CheckResult:
    limits = mapping(mapping(c.raw.get("resources")).get("limits"))
    if limits.get(resource) not in (None, ""):
        return []
    w = c.workload
    pod_limits = mapping(mapping(w.pod_spec.get("resources")).get("limits"))
    if pod_limits.get(resource) not in (None, ""):
        return []  # pod-level resources bound every container
    inv = w.inventory
    if inv is not None and w.namespace:
        for lr in inv.in_namespace("LimitRange", w.namespace, origin=w.obj):
            for item in mapping(lr.raw.get("spec")).get("limits") or ():
                item = mapping(item)
                if item.get("type") == "Container" and mapping(item.get("default")).get(resource) not in (None, ""):
                    return []  # the LimitRange admission plugin fills it in
        if why := inv.unavailable("LimitRange"):
            return Undetermined(f"resources.limits.{resource} is not set, and LimitRanges (which could give a "
                                f"default) cannot be read: {why}")
    return [Finding(f"resources.limits.{resource} is not set, and no LimitRange in namespace {w.namespace} "
                    f"gives a default {resource} limit", f"{c.path}.resources.limits.{resource}")]


def cpu_limits(c: Container) -> CheckResult:
    """``resources.limits.cpu`` must be set on the container.

    Also compliant: a pod-level ``spec.resources.limits.cpu``, or a
    LimitRange of type Container with ``default.cpu`` in the same namespace
    (the LimitRanger admission plugin then sets the limit).
    """
    return _limit(c, "cpu")


def memory_limits(c: Container) -> CheckResult:
    """``resources.limits.memory`` must be set (same alternatives as :func:`cpu_limits`)."""
    return _limit(c, "memory")


def _request(c: Container, resource: str) -> CheckResult:
    resources = mapping(c.raw.get("resources"))
    if mapping(resources.get("requests")).get(resource) not in (None, ""):
        return []
    if mapping(resources.get("limits")).get(resource) not in (None, ""):
        return []  # the API server sets a missing request to the container's limit
    w = c.workload
    if mapping(mapping(w.pod_spec.get("resources")).get("requests")).get(resource) not in (None, ""):
        return []  # pod-level requests reserve for every container
    inv = w.inventory
    if inv is not None and w.namespace:
        for lr in inv.in_namespace("LimitRange", w.namespace, origin=w.obj):
            for item in mapping(lr.raw.get("spec")).get("limits") or ():
                item = mapping(item)
                if item.get("type") != "Container":
                    continue
                # LimitRange defaulting: defaultRequest, else default (itself defaulted from max), else min
                if any(mapping(item.get(k)).get(resource) not in (None, "")
                       for k in ("defaultRequest", "default", "max", "min")):
                    return []
        if why := inv.unavailable("LimitRange"):
            return Undetermined(f"resources.requests.{resource} is not set, and LimitRanges (which could give a "
                                f"default) cannot be read: {why}")
    return [Finding(f"resources.requests.{resource} is not set (nor a {resource} limit it would default to), and "
                    f"no LimitRange in namespace {w.namespace} gives a default {resource} request",
                    f"{c.path}.resources.requests.{resource}")]


def cpu_requests(c: Container) -> CheckResult:
    """``resources.requests.cpu`` must be set, or defaulted.

    Defaulted: from the container's own ``limits.cpu`` (the API server copies a
    limit into a missing request), a pod-level ``spec.resources.requests.cpu``,
    or a LimitRange of type Container in the namespace with ``defaultRequest``,
    ``default``, ``max`` or ``min`` for cpu (each gives a default request
    through the LimitRange's own defaulting).
    """
    return _request(c, "cpu")


def memory_requests(c: Container) -> CheckResult:
    """``resources.requests.memory`` must be set, or defaulted (as :func:`cpu_requests`)."""
    return _request(c, "memory")


# --------------------------------------------------------------- namespaces and images
def default_namespace(w: Workload) -> CheckResult:
    """The workload must not run in the ``default`` namespace.

    Field: ``metadata.namespace``. ``default`` fails. A manifest without a
    namespace goes wherever it is applied (kubectl's context namespace,
    ``default`` unless set; Helm's release namespace): undetermined.
    """
    if not w.obj.metadata.get("namespace"):
        return Undetermined("the manifest sets no metadata.namespace: it runs in whatever namespace it is applied "
                            "to (kubectl's context namespace, default unless set; Helm's release namespace)")
    if w.namespace == "default":
        return [Finding(f"{w.describe()} runs in namespace default, which every user and tool falls back to: no "
                        "namespace of its own for its RBAC, network policies, quotas and Pod Security level",
                        "metadata.namespace")]
    return []


#: ``algorithm:encoded``, the digest of a content-addressed reference (OCI image spec digest grammar).
_DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}")


def image_digest(c: Container, required: bool) -> CheckResult:
    """The image must be referenced by digest (``image@sha256:...``), when ``k8s_require_image_digest`` is on.

    A tag can be moved to other content at any time; only a digest names the
    image that was scanned and signed. ``name:tag@sha256:...`` counts (the
    digest wins). Off by default: not applicable then.
    """
    if not required:
        return NotApplicable("k8s_require_image_digest is off (set it to true in the ini file to require digests)")
    image = c.image
    if not image:
        return [Finding("the container names no image", f"{c.path}.image")]
    digest = c.image_ref.digest
    if digest is None:
        return [Finding(f"image {image!r} is referenced by tag, not by digest: the registry may serve other "
                        "content under the same name", f"{c.path}.image")]
    if not _DIGEST.fullmatch(digest):
        return [Finding(f"image {image!r}: {digest!r} is not a digest (algorithm:hex, e.g. sha256:<64 hex>), so "
                        "the image cannot be pulled by it", f"{c.path}.image")]
    return []


def high_run_as_ids(c: Container, minimum: int) -> CheckResult:
    """The effective ``runAsUser`` and ``runAsGroup`` must be at least ``minimum`` (ini ``k8s_min_run_as_id``).

    IDs below the range the host uses (10000 and below on most
    distributions) may match a host user or group, which matters once a
    process escapes the container. Fields: ``securityContext.runAsUser`` and
    ``runAsGroup``, container level first, then pod level; an unset value
    fails (the image decides, and most images use low IDs). ``minimum`` 0
    (the default) turns the control off: not applicable.
    """
    if minimum <= 0:
        return NotApplicable("k8s_min_run_as_id is 0 (off); set it, e.g. to 10001, to require high UIDs and GIDs")
    if na := _windows(c):
        return na
    findings = []
    for key, what in (("runAsUser", "UID"), ("runAsGroup", "GID")):
        s = c.setting(key)
        if not s.is_set:
            findings.append(Finding(f"{key} is not set at container or pod level, so the image's {what} is used "
                                    f"(k8s_min_run_as_id requires {minimum} or above)",
                                    f"{c.path}.securityContext.{key}"))
        elif not isinstance(s.value, int) or isinstance(s.value, bool) or s.value < minimum:
            findings.append(Finding(f"{s.describe()} is below k8s_min_run_as_id ({minimum})", s.path))
    return findings
