"""NSA/CISA Kubernetes Hardening Guide v1.2, "Kubernetes Pod security".

One test per recommendation. Each runs once per container or workload in
scope; the checks themselves live in :mod:`pytest_k8shardening.checks.pod`.
"""

from __future__ import annotations

import pytest

from pytest_k8shardening import Container, Workload, assert_compliant, control
from pytest_k8shardening.options import Settings
from pytest_k8shardening.checks import pod

SECTION = "Kubernetes Pod security"


# ------------------------------------------------------------------ non-root
@control(
    "nsa.pod.run-as-non-root", title="Containers run as a non-root user", severity="high",
    category="pod_security", frameworks=["nsa"], guide=f"{SECTION}: non-root containers",
    references={"kubescape": ["C-0013"], "trivy": ["KSV-0012", "KSV-0105"], "cis": ["5.2.7"], "pss": "restricted"},
    remediation="Set securityContext.runAsNonRoot: true and a non-zero runAsUser (pod or container level), "
                "and build the image with a non-root USER.",
)
def test_run_as_non_root(k8s_container: Container) -> None:
    """A process running as root in a container is root on the node once it escapes.

    Passes when the effective runAsUser is non-zero, or runAsNonRoot is true
    (the kubelet then refuses to start a root image). Container level wins
    over pod level. Differs from PSS restricted, which demands
    runAsNonRoot: true even when runAsUser is non-zero, and from Kubescape
    C-0013, which also fails an unset runAsGroup (here that is
    nsa.pod.run-as-non-root-group).
    """
    assert_compliant(pod.run_as_non_root(k8s_container))


@control(
    "nsa.pod.run-as-non-root-group", title="Containers run without the root group", severity="medium",
    category="pod_security", frameworks=["nsa"], guide=f"{SECTION}: non-root containers (runAsGroup, fsGroup)",
    references={"kubescape": ["C-0013"], "trivy": ["KSV-0116"]},
    remediation="Set securityContext.runAsGroup to a non-zero GID, and keep 0 out of fsGroup and "
                "supplementalGroups.",
)
def test_run_as_non_root_group(k8s_container: Container) -> None:
    """Membership of GID 0 gives access to files that are group-owned by root.

    The guide's example policy requires runAsGroup, supplementalGroups and
    fsGroup in 1-65535. An unset runAsGroup fails (as in Kubescape C-0013):
    most images' primary group is root. PSS has no group control.
    """
    assert_compliant(pod.run_as_non_root_group(k8s_container))


# ------------------------------------------------------------------ privileges
@control(
    "nsa.pod.privileged", title="Containers are not privileged", severity="critical",
    category="pod_security", frameworks=["nsa"], guide=f"{SECTION}: privileged containers",
    references={"kubescape": ["C-0057"], "trivy": ["KSV-0017"], "cis": ["5.2.2"], "pss": "baseline"},
    remediation="Remove securityContext.privileged or set it to false; grant only the capabilities needed.",
)
def test_not_privileged(k8s_container: Container) -> None:
    """A privileged container has every capability and the host's devices: it is the node.

    Same semantics as PSS baseline "privileged". Kubescape C-0057 also fails
    on an added SYS_ADMIN; here that is nsa.pod.dangerous-capabilities, whose
    SYS_ADMIN finding cites C-0057.
    """
    assert_compliant(pod.privileged(k8s_container))


@control(
    "nsa.pod.privilege-escalation", title="Privilege escalation is disallowed", severity="high",
    category="pod_security", frameworks=["nsa"], guide=f"{SECTION}: allowPrivilegeEscalation",
    references={"kubescape": ["C-0016"], "trivy": ["KSV-0001"], "cis": ["5.2.6"], "pss": "restricted"},
    remediation="Set securityContext.allowPrivilegeEscalation: false on every container.",
)
def test_no_privilege_escalation(k8s_container: Container) -> None:
    """Without no_new_privs, setuid binaries can turn a non-root process into root.

    The guide calls it "required to effectively enforce runAsUser:
    MustRunAsNonRoot". Unset means true, so the field must be false
    explicitly, as in PSS restricted. Not applicable to Windows pods.
    """
    assert_compliant(pod.allow_privilege_escalation(k8s_container))


@control(
    "nsa.pod.read-only-root-filesystem", title="Root filesystems are read-only", severity="medium",
    category="pod_security", frameworks=["nsa"], guide=f"{SECTION}: immutable container file systems",
    references={"kubescape": ["C-0017"], "trivy": ["KSV-0014"], "cis": ["5.7.3"]},
    remediation="Set securityContext.readOnlyRootFilesystem: true and mount emptyDir volumes where the "
                "application must write.",
)
def test_read_only_root_filesystem(k8s_container: Container) -> None:
    """An immutable filesystem stops an attacker from dropping tools or changing binaries.

    The field must be true on every container, init and ephemeral included.
    """
    assert_compliant(pod.read_only_root_filesystem(k8s_container))


@control(
    "nsa.pod.dangerous-capabilities", title="No dangerous capabilities are added", severity="high",
    category="pod_security", frameworks=["nsa"], guide=f"{SECTION}: Linux capabilities",
    references={"kubescape": ["C-0046", "C-0057"], "trivy": ["KSV-0022"], "cis": ["5.2.8", "5.2.9"],
                "pss": "baseline"},
    remediation="Remove capabilities such as SYS_ADMIN, NET_ADMIN, NET_RAW or SYS_PTRACE from "
                "securityContext.capabilities.add.",
)
def test_no_dangerous_capabilities(k8s_container: Container) -> None:
    """Capabilities like SYS_ADMIN or NET_ADMIN hand a container parts of root's power over the node.

    Anything outside the runtime's default set fails, as in PSS baseline.
    Kubescape C-0046 uses its own list, which also flags SETPCAP (in the
    default set) and misses e.g. DAC_READ_SEARCH and SYS_RESOURCE: those
    findings do not cite it. An added SYS_ADMIN also cites C-0057 (which
    counts it as privileged), an added NET_RAW CIS 5.2.8.
    """
    assert_compliant(pod.dangerous_capabilities(k8s_container))


@control(
    "nsa.pod.drop-all-capabilities", title="All capabilities are dropped", severity="medium",
    category="pod_security", frameworks=["nsa"], guide=f"{SECTION}: requiredDropCapabilities ALL",
    references={"trivy": ["KSV-0003", "KSV-0106"], "cis": ["5.2.10"], "pss": "restricted"},
    remediation="Set securityContext.capabilities.drop: [ALL] and add back only NET_BIND_SERVICE if needed.",
)
def test_drop_all_capabilities(k8s_container: Container) -> None:
    """Dropping every capability leaves nothing for an exploit to use.

    Same semantics as PSS restricted "capabilities": drop must list ALL
    (exactly), and only NET_BIND_SERVICE may be added. Not applicable to
    Windows pods.
    """
    assert_compliant(pod.capabilities_dropped(k8s_container))


# ------------------------------------------------------------------ host namespaces
@control(
    "nsa.pod.host-pid", title="Pods do not share the host PID namespace", severity="high",
    category="pod_security", frameworks=["nsa"], guide=f"{SECTION}: hostPID",
    references={"kubescape": ["C-0038"], "trivy": ["KSV-0010"], "cis": ["5.2.3"], "pss": "baseline"},
    remediation="Remove spec.hostPID or set it to false.",
)
def test_no_host_pid(k8s_workload: Workload) -> None:
    """With hostPID a pod sees every process on the node and can read their environment and memory."""
    assert_compliant(pod.host_pid(k8s_workload))


@control(
    "nsa.pod.host-ipc", title="Pods do not share the host IPC namespace", severity="high",
    category="pod_security", frameworks=["nsa"], guide=f"{SECTION}: hostIPC",
    references={"kubescape": ["C-0038"], "trivy": ["KSV-0008"], "cis": ["5.2.4"], "pss": "baseline"},
    remediation="Remove spec.hostIPC or set it to false.",
)
def test_no_host_ipc(k8s_workload: Workload) -> None:
    """With hostIPC a pod can read and write the shared memory of processes on the node."""
    assert_compliant(pod.host_ipc(k8s_workload))


@control(
    "nsa.pod.host-network", title="Pods do not use the host network", severity="high",
    category="pod_security", frameworks=["nsa"], guide=f"{SECTION}: hostNetwork",
    references={"kubescape": ["C-0041"], "trivy": ["KSV-0009"], "cis": ["5.2.5"], "pss": "baseline"},
    remediation="Remove spec.hostNetwork or set it to false; expose the pod through a Service.",
)
def test_no_host_network(k8s_workload: Workload) -> None:
    """On the host network a pod can sniff node traffic, reach node-local services, and escape NetworkPolicies."""
    assert_compliant(pod.host_network(k8s_workload))


@control(
    "nsa.pod.host-path", title="Pods do not mount hostPath volumes", severity="high",
    category="pod_security", frameworks=["nsa"], guide=f"{SECTION}: allowedHostPaths",
    references={"kubescape": ["C-0048"], "trivy": ["KSV-0023"], "cis": ["5.2.12"], "pss": "baseline"},
    remediation="Replace hostPath volumes with emptyDir, configMap, secret or persistentVolumeClaim volumes.",
)
def test_no_host_path(k8s_workload: Workload) -> None:
    """A hostPath volume exposes the node's filesystem, the usual first step of a container escape.

    Every hostPath fails, read-only or not, as in PSS baseline (the guide
    allows a narrow read-only allow-list; grant one with a waiver).
    """
    assert_compliant(pod.host_path_volumes(k8s_workload))


@control(
    "nsa.pod.runtime-socket", title="Container runtime sockets are not mounted", severity="critical",
    category="pod_security", frameworks=["nsa"], guide=f"{SECTION}: allowedHostPaths",
    references={"kubescape": ["C-0074"], "trivy": ["KSV-0006"], "pss": "baseline"},
    remediation="Remove the hostPath volume for the runtime socket; use the Kubernetes API instead of "
                "talking to the container runtime.",
)
def test_no_runtime_socket(k8s_workload: Workload) -> None:
    """Whoever reaches the runtime socket can start a privileged container: root on the node.

    Fails for docker, containerd, CRI-O, cri-dockerd, k3s and podman
    sockets, and for any directory above one (/var/run, /run, /): Trivy
    KSV-0006 only matches the docker socket itself.
    """
    assert_compliant(pod.runtime_socket_mounts(k8s_workload))


@control(
    "nsa.pod.host-port", title="Containers do not bind host ports", severity="medium",
    category="pod_security", frameworks=["nsa"], guide=f"{SECTION}: host ports",
    references={"kubescape": ["C-0044"], "trivy": ["KSV-0024"], "cis": ["5.2.13"], "pss": "baseline"},
    remediation="Remove ports[].hostPort; expose the container through a Service.",
)
def test_no_host_port(k8s_container: Container) -> None:
    """A hostPort opens the node's network to the pod and bypasses network policy on many CNIs."""
    assert_compliant(pod.host_ports(k8s_container))


# ------------------------------------------------------------------ kernel profiles
@control(
    "nsa.pod.seccomp", title="A seccomp profile is enforced", severity="medium",
    category="pod_security", frameworks=["nsa"], guide=f"{SECTION}: seccomp",
    references={"kubescape": ["C-0055", "C-0210"], "trivy": ["KSV-0030", "KSV-0104"], "cis": ["5.7.2"],
                "pss": "restricted"},
    remediation="Set securityContext.seccompProfile.type: RuntimeDefault (or Localhost with a profile) at pod "
                "level.",
)
def test_seccomp_profile(k8s_container: Container) -> None:
    """seccomp filters the system calls a container can make, cutting the kernel's attack surface.

    Same semantics as PSS restricted "seccompProfile": the effective
    profile (container, else pod) must be RuntimeDefault or Localhost.
    Kubescape C-0055 passes any profile, Unconfined included.
    """
    assert_compliant(pod.seccomp_profile(k8s_container))


@control(
    "nsa.pod.apparmor", title="AppArmor is not disabled", severity="medium",
    category="pod_security", frameworks=["nsa"], guide=f"{SECTION}: AppArmor",
    references={"trivy": ["KSV-0002"], "pss": "baseline"},
    remediation="Remove Unconfined AppArmor profiles; use RuntimeDefault or a Localhost profile.",
)
def test_apparmor_not_disabled(k8s_container: Container) -> None:
    """AppArmor confines what a process may touch; turning it off removes that layer.

    Same semantics as PSS baseline "appArmorProfile" (fields and legacy
    annotation). Trivy's NSA spec maps this control to the seccomp check.
    """
    assert_compliant(pod.apparmor_not_weakened(k8s_container))


@control(
    "nsa.pod.selinux", title="SELinux options are not weakened", severity="medium",
    category="pod_security", frameworks=["nsa"], guide=f"{SECTION}: SELinux",
    references={"trivy": ["KSV-0025"], "pss": "baseline"},
    remediation="Remove custom seLinuxOptions user and role, and use a container_* type.",
)
def test_selinux_not_weakened(k8s_container: Container) -> None:
    """A custom SELinux user, role or type can lift the confinement SELinux gives containers.

    Same semantics as PSS baseline "seLinuxOptions".
    """
    assert_compliant(pod.selinux_not_weakened(k8s_container))


# ------------------------------------------------------------------ tokens and resources
@control(
    "nsa.pod.service-account-token", title="Service-account tokens are not auto-mounted", severity="medium",
    category="pod_security", frameworks=["nsa"], guide=f"{SECTION}: protecting Pod service account tokens",
    references={"kubescape": ["C-0034"], "trivy": ["KSV-0036"], "cis": ["5.1.6"]},
    remediation="Set automountServiceAccountToken: false on the pod spec (or its ServiceAccount) unless the "
                "pod calls the Kubernetes API.",
)
def test_service_account_token_not_mounted(k8s_workload: Workload) -> None:
    """A mounted token lets anyone who compromises the pod call the API server as its ServiceAccount.

    The pod's field wins; when unset, the ServiceAccount's decides, and one
    that is not among the inputs counts as mounting (the API default), as
    in Kubescape C-0034. Trivy KSV-0036 passes an unset field.
    """
    assert_compliant(pod.service_account_token(k8s_workload))


@control(
    "nsa.pod.cpu-limits", title="Containers have CPU limits", severity="medium",
    category="pod_security", frameworks=["nsa"], guide="Network separation and hardening: resource policies",
    references={"kubescape": ["C-0270"], "trivy": ["KSV-0011"]},
    remediation="Set resources.limits.cpu on every container, or a LimitRange with a default CPU limit.",
)
@pytest.mark.k8s_select(container_types=["container", "initContainer"])
def test_cpu_limits(k8s_container: Container) -> None:
    """Without a CPU limit one compromised or runaway pod can starve the node.

    A LimitRange default in the namespace, or a pod-level limit, counts.
    Ephemeral containers cannot set resources and are not checked.
    """
    assert_compliant(pod.cpu_limits(k8s_container))


@control(
    "nsa.pod.memory-limits", title="Containers have memory limits", severity="medium",
    category="pod_security", frameworks=["nsa"], guide="Network separation and hardening: resource policies",
    references={"kubescape": ["C-0271"], "trivy": ["KSV-0018"]},
    remediation="Set resources.limits.memory on every container, or a LimitRange with a default memory limit.",
)
@pytest.mark.k8s_select(container_types=["container", "initContainer"])
def test_memory_limits(k8s_container: Container) -> None:
    """Without a memory limit one pod can exhaust the node's memory and evict its neighbours.

    A LimitRange default in the namespace, or a pod-level limit, counts.
    """
    assert_compliant(pod.memory_limits(k8s_container))


@control(
    "nsa.pod.cpu-requests", title="Containers have CPU requests", severity="low",
    category="pod_security", frameworks=["nsa"], guide="Network separation and hardening: resource policies",
    references={"kubescape": ["C-0268"], "trivy": ["KSV-0015"]},
    remediation="Set resources.requests.cpu on every container, or a LimitRange with a default CPU request.",
)
@pytest.mark.k8s_select(container_types=["container", "initContainer"])
def test_cpu_requests(k8s_container: Container) -> None:
    """Without a CPU request the scheduler places the pod blind, and the node is overcommitted under load.

    Counts as set: the container's CPU limit (the API server copies it into
    a missing request), a pod-level request, or a LimitRange of type
    Container giving a default. Kubescape C-0268 and Trivy KSV-0015 read
    the container's own field only, so they fail where a limit or a
    LimitRange supplies the request.
    """
    assert_compliant(pod.cpu_requests(k8s_container))


@control(
    "nsa.pod.memory-requests", title="Containers have memory requests", severity="low",
    category="pod_security", frameworks=["nsa"], guide="Network separation and hardening: resource policies",
    references={"kubescape": ["C-0269"], "trivy": ["KSV-0016"]},
    remediation="Set resources.requests.memory on every container, or a LimitRange with a default memory request.",
)
@pytest.mark.k8s_select(container_types=["container", "initContainer"])
def test_memory_requests(k8s_container: Container) -> None:
    """Pods without memory requests are the first evicted, and let the node be overcommitted.

    Same alternatives as nsa.pod.cpu-requests; Kubescape C-0269 and Trivy
    KSV-0016 read the container's own field only.
    """
    assert_compliant(pod.memory_requests(k8s_container))


@control(
    "nsa.pod.default-namespace", title="Workloads do not run in the default namespace", severity="low",
    category="network", frameworks=["nsa"], guide="Network separation and hardening: namespaces",
    references={"kubescape": ["C-0061"], "trivy": ["KSV-0110"]},
    remediation="Create a namespace for the application and set metadata.namespace (or deploy with -n).",
)
def test_not_in_default_namespace(k8s_workload: Workload) -> None:
    """Namespaces separate teams and applications; default is shared by everyone who forgot to choose one.

    Fails metadata.namespace: default. A manifest without a namespace goes
    wherever it is applied, and is skipped saying so (Trivy KSV-0110 passes
    it; Kubescape C-0061 reads the namespace as given).
    """
    assert_compliant(pod.default_namespace(k8s_workload))


@control(
    "nsa.pod.image-digest", title="Images are pinned by digest (option k8s_require_image_digest)", severity="low",
    category="images", frameworks=["nsa"], guide=f"{SECTION}: build secure container images",
    remediation="Reference the image as name@sha256:<digest> (the tag may stay before it); let the pipeline "
                "resolve tags to digests.",
)
def test_image_digest(k8s_container: Container, k8s_settings: Settings) -> None:
    """The image that was scanned and signed is only the one that runs if it is named by its digest.

    Off by default (skipped as not applicable): turn it on with the ini
    option k8s_require_image_digest = true. Init and ephemeral containers
    are checked too. Kubescape and Trivy have no digest control (Trivy
    KSV-0013 only rejects the latest tag).
    """
    assert_compliant(pod.image_digest(k8s_container, k8s_settings.require_image_digest))


@control(
    "nsa.pod.high-run-as-ids", title="Containers run with high UIDs and GIDs (option k8s_min_run_as_id)",
    severity="low", category="pod_security", frameworks=["nsa"], guide=f"{SECTION}: non-root containers",
    references={"trivy": ["KSV-0020", "KSV-0021"]},
    remediation="Set securityContext.runAsUser and runAsGroup (pod or container level) to IDs at or above "
                "k8s_min_run_as_id, and build the image with such a USER.",
)
def test_high_run_as_ids(k8s_container: Container, k8s_settings: Settings) -> None:
    """A UID or GID the host also uses gives an escaped process that user's or group's files on the node.

    Off by default (skipped as not applicable): set the ini option
    k8s_min_run_as_id, e.g. to 10001, which is what Trivy KSV-0020 (UID) and
    KSV-0021 (GID) require (they fail 10000 and below). Container level
    wins over pod level; an unset value fails, as in Trivy.
    """
    assert_compliant(pod.high_run_as_ids(k8s_container, k8s_settings.min_run_as_id))
