"""Kubernetes Pod Security Standards, baseline level.

One test per upstream baseline check, run once per workload (upstream
evaluates whole pods, and a controller's pod template). The semantics are
those of k8s.io/pod-security-admission v0.36.3 at the version in the
``k8s_pss_version`` ini option (default ``latest``; e.g. ``v1.30``); the
checks live in :mod:`pytest_k8shardening.checks.pss`, and
``tests/test_pss_oracle.py`` compares them with the upstream library.

Every baseline control also belongs to ``pss_restricted``, except the four
a restricted check replaces there: capabilities, seccomp, hostPath volumes
and /proc mount type (see ``suites/pss/test_restricted.py``), so
``-m pss_restricted`` fails exactly the pods the restricted level forbids.
A failure reads as upstream's message (``privileged: container "web" must
not set securityContext.privileged=true``).
"""

from __future__ import annotations


from pytest_k8shardening import Workload, assert_compliant, control
from pytest_k8shardening.checks import CheckResult
from pytest_k8shardening.options import Settings

from ._evaluate import evaluate

BOTH = ["pss_baseline", "pss_restricted"]
ONLY_BASELINE = ["pss_baseline"]
GUIDE = "Pod Security Standards, Baseline"


def _evaluate(check_id: str, workload: Workload, settings: Settings) -> CheckResult:
    __tracebackhide__ = True
    return evaluate(check_id, workload, settings.pss_version, "baseline")


@control(
    "pss.baseline.host-process", title="Windows HostProcess containers are not used", severity="critical",
    category="pod_security", frameworks=BOTH, guide=f"{GUIDE}: HostProcess",
    references={"trivy": ["KSV-0103"], "cis": ["5.2.11"], "pss": "baseline"},
    remediation="Remove securityContext.windowsOptions.hostProcess (or set it to false) at pod and container "
                "level.",
)
def test_host_process(k8s_workload: Workload, k8s_settings: Settings) -> None:
    """A HostProcess container runs directly on the Windows node, with the node's privileges.

    Upstream check windowsHostProcess: pod- and container-level
    securityContext.windowsOptions.hostProcess must be unset or false. It
    applies to every pod, Linux ones too. Trivy KSV-0103 reads the same
    fields. Kubescape's twin, C-0202, judges namespaces (enforce label
    baseline or stricter), not pods: it sits on
    nsa.admission.pod-security-enforced.
    """
    assert_compliant(_evaluate("windowsHostProcess", k8s_workload, k8s_settings))


@control(
    "pss.baseline.host-namespaces", title="Pods do not share host namespaces", severity="high",
    category="pod_security", frameworks=BOTH, guide=f"{GUIDE}: Host Namespaces",
    references={"kubescape": ["C-0038", "C-0041"], "trivy": ["KSV-0008", "KSV-0009", "KSV-0010"],
                "cis": ["5.2.3", "5.2.4", "5.2.5"], "pss": "baseline"},
    remediation="Remove spec.hostNetwork, spec.hostPID and spec.hostIPC (or set them to false).",
)
def test_host_namespaces(k8s_workload: Workload, k8s_settings: Settings) -> None:
    """The host's network, process and IPC namespaces expose every other workload on the node.

    Upstream check hostNamespaces: spec.hostNetwork, spec.hostPID and
    spec.hostIPC must be unset or false. Trivy's PSS baseline compliance spec
    maps this control to KSV-0008 only, which checks hostIPC; hostPID
    (KSV-0010) and hostNetwork (KSV-0009) are separate Trivy checks outside
    that spec. The finding cites the rules of the fields it names (hostPID:
    Kubescape C-0038, Trivy KSV-0010, CIS 5.2.3; hostIPC: C-0038, KSV-0008,
    5.2.4; hostNetwork: C-0041, KSV-0009, 5.2.5). Note that an API server
    defaults each container's hostPort to its containerPort when hostNetwork
    is true, so a live pod then also fails pss.baseline.host-ports;
    manifests are judged as written.
    """
    assert_compliant(_evaluate("hostNamespaces", k8s_workload, k8s_settings))


@control(
    "pss.baseline.privileged", title="Containers are not privileged", severity="critical",
    category="pod_security", frameworks=BOTH, guide=f"{GUIDE}: Privileged Containers",
    references={"kubescape": ["C-0057"], "trivy": ["KSV-0017"], "cis": ["5.2.2"], "pss": "baseline"},
    remediation="Remove securityContext.privileged or set it to false on every container.",
)
def test_privileged(k8s_workload: Workload, k8s_settings: Settings) -> None:
    """A privileged container has every capability and all host devices: it is the node.

    Upstream check privileged: securityContext.privileged must be unset or
    false on every container, init and ephemeral ones included. Kubescape
    C-0057 also fails an added SYS_ADMIN; here that is
    pss.baseline.capabilities.
    """
    assert_compliant(_evaluate("privileged", k8s_workload, k8s_settings))


@control(
    "pss.baseline.capabilities", title="No capabilities beyond the default set are added", severity="high",
    category="pod_security", frameworks=ONLY_BASELINE, guide=f"{GUIDE}: Capabilities",
    references={"kubescape": ["C-0046", "C-0057"], "trivy": ["KSV-0022"], "cis": ["5.2.8", "5.2.9"],
                "pss": "baseline"},
    remediation="Remove capabilities other than AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD, "
                "NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID and SYS_CHROOT from "
                "securityContext.capabilities.add.",
)
def test_capabilities(k8s_workload: Workload, k8s_settings: Settings) -> None:
    """Capabilities such as SYS_ADMIN, NET_ADMIN or NET_RAW give a container parts of root's power over the node.

    Upstream check capabilities_baseline: capabilities.add may only name the
    container runtime's default set, compared exactly (CAP_CHOWN or chown
    are not CHOWN). At restricted, pss.restricted.capabilities replaces it
    (from v1.22; before, that control runs this check). Trivy KSV-0022
    allows no added capability at all, the default set included. The
    finding cites the rules of the capabilities it names: Kubescape C-0046
    those of its list, C-0057 an added SYS_ADMIN (which it counts as
    privileged), CIS 5.2.8 NET_RAW.
    """
    assert_compliant(_evaluate("capabilities_baseline", k8s_workload, k8s_settings))


@control(
    "pss.baseline.host-path", title="Pods do not mount hostPath volumes", severity="high",
    category="pod_security", frameworks=ONLY_BASELINE, guide=f"{GUIDE}: HostPath Volumes",
    references={"kubescape": ["C-0048"], "trivy": ["KSV-0023"], "cis": ["5.2.12"], "pss": "baseline"},
    remediation="Replace hostPath volumes with emptyDir, configMap, secret or persistentVolumeClaim volumes.",
)
def test_host_path(k8s_workload: Workload, k8s_settings: Settings) -> None:
    """A hostPath volume exposes the node's filesystem, the usual first step of a container escape.

    Upstream check hostPathVolumes: no volume may set hostPath, read-only
    or not, whatever the path. At restricted, pss.restricted.volume-types
    replaces it and forbids hostPath too.
    """
    assert_compliant(_evaluate("hostPathVolumes", k8s_workload, k8s_settings))


@control(
    "pss.baseline.host-ports", title="Containers do not bind host ports", severity="medium",
    category="pod_security", frameworks=BOTH, guide=f"{GUIDE}: Host Ports",
    references={"kubescape": ["C-0044"], "trivy": ["KSV-0024"], "cis": ["5.2.13"], "pss": "baseline"},
    remediation="Remove ports[].hostPort (or set it to 0); expose the container through a Service.",
)
def test_host_ports(k8s_workload: Workload, k8s_settings: Settings) -> None:
    """A hostPort opens a port on the node itself and bypasses network policy on many CNIs.

    Upstream check hostPorts: every container's ports[].hostPort must be
    unset or 0. Trivy KSV-0024 also fails an explicit hostPort: 0.
    """
    assert_compliant(_evaluate("hostPorts", k8s_workload, k8s_settings))


@control(
    "pss.baseline.host-probes", title="Probes and lifecycle hooks do not target other hosts", severity="medium",
    category="pod_security", frameworks=BOTH, guide=f"{GUIDE}: Host Probes / Lifecycle Hooks (v1.34+)",
    references={"pss": "baseline"},
    remediation="Remove the host field of httpGet and tcpSocket probes and lifecycle handlers; the kubelet then "
                "targets the pod's own IP.",
)
def test_host_probes(k8s_workload: Workload, k8s_settings: Settings) -> None:
    """A probe or hook with a host makes the kubelet send requests anywhere: a server-side request forgery.

    Upstream check hostProbesAndHostLifecycle (from v1.34; skipped at older
    versions): the host of httpGet and tcpSocket in liveness, readiness and
    startup probes and in postStart/preStop handlers must be unset or
    empty; localhost counts as a host. Neither Trivy nor Kubescape has this
    control.
    """
    assert_compliant(_evaluate("hostProbesAndHostLifecycle", k8s_workload, k8s_settings))


@control(
    "pss.baseline.apparmor", title="AppArmor is not disabled", severity="medium",
    category="pod_security", frameworks=BOTH, guide=f"{GUIDE}: AppArmor",
    references={"trivy": ["KSV-0002"], "pss": "baseline"},
    remediation="Set appArmorProfile.type to RuntimeDefault or Localhost, or leave it unset; remove "
                "container.apparmor.security.beta.kubernetes.io annotations other than runtime/default and "
                "localhost/*.",
)
def test_apparmor(k8s_workload: Workload, k8s_settings: Settings) -> None:
    """AppArmor confines what a process may touch; Unconfined removes that layer.

    Upstream check appArmorProfile: pod and container appArmorProfile.type
    must be RuntimeDefault or Localhost when set, and the legacy
    container.apparmor.security.beta.kubernetes.io/* annotations must be
    empty, runtime/default or localhost/*, whichever container they name.
    Trivy KSV-0002 reads only the annotations and passes only
    runtime/default (an empty or localhost/* value fails there).
    """
    assert_compliant(_evaluate("appArmorProfile", k8s_workload, k8s_settings))


@control(
    "pss.baseline.selinux", title="SELinux options are not weakened", severity="medium",
    category="pod_security", frameworks=BOTH, guide=f"{GUIDE}: SELinux",
    references={"trivy": ["KSV-0025"], "pss": "baseline"},
    remediation="Remove seLinuxOptions.user and .role, and use no type or container_t, container_init_t, "
                "container_kvm_t or container_engine_t.",
)
def test_selinux(k8s_workload: Workload, k8s_settings: Settings) -> None:
    """A custom SELinux user, role or type (spc_t, say) lifts the confinement SELinux gives containers.

    Upstream check seLinuxOptions: pod and container seLinuxOptions.type
    must be empty, container_t, container_init_t, container_kvm_t, or from
    v1.31 container_engine_t; user and role must be empty; level is free.
    Trivy KSV-0025 also fails an empty type or an empty user/role key, and
    container_engine_t.
    """
    assert_compliant(_evaluate("seLinuxOptions", k8s_workload, k8s_settings))


@control(
    "pss.baseline.proc-mount", title="The default /proc masks are kept", severity="medium",
    category="pod_security", frameworks=ONLY_BASELINE, guide=f"{GUIDE}: /proc Mount Type",
    references={"trivy": ["KSV-0027"], "pss": "baseline"},
    remediation="Remove securityContext.procMount or set it to Default.",
)
def test_proc_mount(k8s_workload: Workload, k8s_settings: Settings) -> None:
    """An unmasked /proc exposes kernel interfaces the runtime normally hides.

    Upstream check procMount: securityContext.procMount must be unset or
    Default; from v1.35 a pod in its own user namespace (hostUsers: false)
    may set any value. At restricted, pss.restricted.proc-mount takes its
    place, without that relaxation. Trivy KSV-0027 fails any procMount,
    Default included.
    """
    assert_compliant(_evaluate("procMount", k8s_workload, k8s_settings))


@control(
    "pss.baseline.seccomp", title="Seccomp is not disabled", severity="medium",
    category="pod_security", frameworks=ONLY_BASELINE, guide=f"{GUIDE}: Seccomp",
    references={"trivy": ["KSV-0104"], "pss": "baseline"},
    remediation="Set seccompProfile.type to RuntimeDefault or Localhost, or leave it unset.",
)
def test_seccomp(k8s_workload: Workload, k8s_settings: Settings) -> None:
    """seccomp filters the system calls a container can make; Unconfined turns the filter off.

    Upstream check seccompProfile_baseline: from v1.19, pod and container
    seccompProfile.type must be RuntimeDefault or Localhost when set (unset
    passes); before v1.19 only the seccomp.security.alpha.kubernetes.io
    annotations are read. At restricted, pss.restricted.seccomp replaces it.
    Trivy KSV-0104 also fails an unset profile.
    """
    assert_compliant(_evaluate("seccompProfile_baseline", k8s_workload, k8s_settings))


@control(
    "pss.baseline.sysctls", title="Only safe sysctls are set", severity="medium",
    category="pod_security", frameworks=BOTH, guide=f"{GUIDE}: Sysctls",
    references={"trivy": ["KSV-0026"], "pss": "baseline"},
    remediation="Remove sysctls outside the safe set from spec.securityContext.sysctls.",
)
def test_sysctls(k8s_workload: Workload, k8s_settings: Settings) -> None:
    """Unsafe sysctls change kernel settings shared with every pod on the node.

    Upstream check sysctls: spec.securityContext.sysctls may only name the
    namespaced, safe set of the version (5 names at v1.0, 12 from v1.32).
    Trivy KSV-0026 allows only 4 names (not even
    net.ipv4.ip_unprivileged_port_start), so it fails pods PSS allows.
    """
    assert_compliant(_evaluate("sysctls", k8s_workload, k8s_settings))
