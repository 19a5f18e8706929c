"""Kubernetes Pod Security Standards, restricted level.

The restricted level is the baseline controls (``suites/pss/test_baseline.py``,
those marked ``pss_restricted`` too) plus the tests here, one per upstream
restricted check, run once per workload at the version in the
``k8s_pss_version`` ini option (default ``latest``). Semantics are those of
k8s.io/pod-security-admission v0.36.3 (:mod:`pytest_k8shardening.checks.pss`).

Four restricted checks replace a baseline one: volume types (hostPath
volumes), seccomp, capabilities and, from v1.35, /proc mount type. At a
version where such a check does not exist yet, upstream restricted runs
the baseline check instead, and so does the test here: ``-m pss_restricted``
at v1.21 still fails an added SYS_ADMIN. A check that does not exist at the
version and replaces nothing (run-as-user before v1.23, say) is skipped
with the reason.
"""

from __future__ import annotations


from pytest_k8shardening import Workload, assert_compliant, control
from pytest_k8shardening.checks import CheckResult
from pytest_k8shardening.options import Settings

from ._evaluate import evaluate

RESTRICTED = ["pss_restricted"]
GUIDE = "Pod Security Standards, Restricted"


def _evaluate(check_id: str, workload: Workload, settings: Settings) -> CheckResult:
    __tracebackhide__ = True
    return evaluate(check_id, workload, settings.pss_version, "restricted")


@control(
    "pss.restricted.volume-types", title="Only ephemeral, projected and claim volume types are used",
    severity="high", category="pod_security", frameworks=RESTRICTED, guide=f"{GUIDE}: Volume Types",
    references={"kubescape": ["C-0048"], "trivy": ["KSV-0028", "KSV-0023"], "pss": "restricted"},
    remediation="Use only configMap, csi, downwardAPI, emptyDir, ephemeral, image, persistentVolumeClaim, "
                "projected and secret volumes; reach other storage through a PersistentVolumeClaim.",
)
def test_volume_types(k8s_workload: Workload, k8s_settings: Settings) -> None:
    """Volume types like hostPath, nfs or gitRepo reach outside the pod's own storage.

    Upstream check restrictedVolumes (replaces hostPathVolumes): every
    volume must have one of configMap, csi, downwardAPI, emptyDir,
    ephemeral, image, persistentVolumeClaim, projected or secret; a volume
    with none of them (hostPath, nfs, or no source at all) fails. Trivy
    KSV-0028 leaves hostPath to KSV-0023, spells cephfs as cephFS (so it
    misses it), and does not list photonPersistentDisk or sourceless
    volumes: the finding cites KSV-0028 only for the types it flags, and
    Kubescape C-0048 and Trivy KSV-0023 only for a hostPath.
    """
    assert_compliant(_evaluate("restrictedVolumes", k8s_workload, k8s_settings))


@control(
    "pss.restricted.privilege-escalation", title="Privilege escalation is disallowed", severity="medium",
    category="pod_security", frameworks=RESTRICTED, guide=f"{GUIDE}: Privilege Escalation (v1.8+)",
    references={"kubescape": ["C-0016"], "trivy": ["KSV-0001"], "cis": ["5.2.6"], "pss": "restricted"},
    remediation="Set securityContext.allowPrivilegeEscalation: false on every container.",
)
def test_privilege_escalation(k8s_workload: Workload, k8s_settings: Settings) -> None:
    """Without no_new_privs, setuid binaries and file capabilities can make a process root again.

    Upstream check allowPrivilegeEscalation (from v1.8): every container
    must set it to false explicitly, since unset means true. From v1.25
    Windows pods (spec.os.name: windows) pass whatever they set. Trivy
    KSV-0001 has no Windows exemption.
    """
    assert_compliant(_evaluate("allowPrivilegeEscalation", k8s_workload, k8s_settings))


@control(
    "pss.restricted.run-as-non-root", title="Containers must run as non-root", severity="medium",
    category="pod_security", frameworks=RESTRICTED, guide=f"{GUIDE}: Running as Non-root",
    references={"kubescape": ["C-0013"], "trivy": ["KSV-0012"], "cis": ["5.2.7"], "pss": "restricted"},
    remediation="Set securityContext.runAsNonRoot: true at pod level (or on every container), and never false.",
)
def test_run_as_non_root(k8s_workload: Workload, k8s_settings: Settings) -> None:
    """With runAsNonRoot the kubelet refuses to start a container whose user is root.

    Upstream check runAsNonRoot: true at pod level, or on every container,
    and false nowhere (not even at pod level with every container setting
    true). A non-zero runAsUser does not count, and Windows pods are not
    exempt; from v1.35 pods with hostUsers: false pass, root there being
    unprivileged on the node. Trivy KSV-0012 lets a pod-level true cover a
    container that sets false; nsa.pod.run-as-non-root accepts a non-zero
    runAsUser instead.
    """
    assert_compliant(_evaluate("runAsNonRoot", k8s_workload, k8s_settings))


@control(
    "pss.restricted.run-as-user", title="Containers do not set runAsUser to 0", severity="medium",
    category="pod_security", frameworks=RESTRICTED, guide=f"{GUIDE}: Running as Non-root user (v1.23+)",
    references={"kubescape": ["C-0013"], "trivy": ["KSV-0105"], "pss": "restricted"},
    remediation="Remove runAsUser: 0 from the pod and container securityContext; use a non-zero UID.",
)
def test_run_as_user(k8s_workload: Workload, k8s_settings: Settings) -> None:
    """An explicit runAsUser: 0 runs the process as root whatever the image says.

    Upstream check runAsUser (from v1.23; skipped at older versions): pod-
    and container-level runAsUser must not be 0. From v1.35 pods with
    hostUsers: false pass. Trivy KSV-0105 reads the same fields, without
    the user-namespace relaxation.
    """
    assert_compliant(_evaluate("runAsUser", k8s_workload, k8s_settings))


@control(
    "pss.restricted.seccomp", title="A seccomp profile is enforced", severity="medium",
    category="pod_security", frameworks=RESTRICTED, guide=f"{GUIDE}: Seccomp (v1.19+)",
    references={"kubescape": ["C-0055", "C-0210"], "trivy": ["KSV-0030", "KSV-0104"], "cis": ["5.7.2"],
                "pss": "restricted"},
    remediation="Set securityContext.seccompProfile.type: RuntimeDefault (or Localhost) at pod level.",
)
def test_seccomp(k8s_workload: Workload, k8s_settings: Settings) -> None:
    """Without a seccomp profile a container may make every system call, the kernel's whole attack surface.

    Upstream check seccompProfile_restricted (from v1.19; replaces
    seccompProfile_baseline): seccompProfile.type must be RuntimeDefault or
    Localhost at pod level or on every container, and no other value may
    be set anywhere. From v1.25 Windows pods pass. Before v1.19 restricted
    runs the baseline annotation check instead, and so does this test.
    Trivy KSV-0030 still reads the seccomp pod annotation and, when it is
    present, stops requiring the field. The finding cites what the
    containers' effective profiles fail: unset, Kubescape C-0055 and C-0210,
    Trivy KSV-0030, CIS 5.7.2; an explicit weak type, C-0210, KSV-0030,
    KSV-0104 and 5.7.2 (C-0055 counts any profile as set); a weak pod-level
    type every container overrides, KSV-0104 only.
    """
    assert_compliant(_evaluate("seccompProfile_restricted", k8s_workload, k8s_settings))


@control(
    "pss.restricted.capabilities", title="All capabilities are dropped", severity="medium",
    category="pod_security", frameworks=RESTRICTED, guide=f"{GUIDE}: Capabilities (v1.22+)",
    references={"kubescape": ["C-0046", "C-0057"], "trivy": ["KSV-0106", "KSV-0003", "KSV-0022"],
                "cis": ["5.2.8", "5.2.9", "5.2.10"], "pss": "restricted"},
    remediation="Set securityContext.capabilities.drop: [ALL] on every container, and add back only "
                "NET_BIND_SERVICE if needed.",
)
def test_capabilities(k8s_workload: Workload, k8s_settings: Settings) -> None:
    """Dropping every capability leaves an exploit nothing to use.

    Upstream check capabilities_restricted (from v1.22; replaces
    capabilities_baseline): every container's capabilities.drop must list
    ALL, exactly (all does not count), and add may hold only
    NET_BIND_SERVICE. From v1.25 Windows pods pass. Before v1.22 restricted
    runs capabilities_baseline instead, and so does this test. Trivy
    KSV-0106 accepts a lower-case all. The finding cites what it reports:
    a missing drop ALL, Trivy KSV-0003, KSV-0106 and CIS 5.2.10; added
    capabilities, KSV-0106 and 5.2.10 plus each capability's own rules
    (Trivy KSV-0022 and CIS 5.2.9 any, Kubescape C-0046 its list, C-0057
    SYS_ADMIN, CIS 5.2.8 NET_RAW).
    """
    assert_compliant(_evaluate("capabilities_restricted", k8s_workload, k8s_settings))


@control(
    "pss.restricted.proc-mount", title="The default /proc masks are kept, user namespace or not",
    severity="medium", category="pod_security", frameworks=RESTRICTED, guide=f"{GUIDE}: /proc Mount Type (v1.35+)",
    references={"trivy": ["KSV-0027"], "pss": "restricted"},
    remediation="Remove securityContext.procMount or set it to Default.",
)
def test_proc_mount(k8s_workload: Workload, k8s_settings: Settings) -> None:
    """An unmasked /proc exposes kernel interfaces the runtime normally hides.

    Upstream check procMount_restricted (from v1.35; replaces procMount):
    securityContext.procMount must be unset or Default, also in pods with
    hostUsers: false, which baseline relaxes. Before v1.35 restricted runs
    the baseline procMount check, then unconditional, and so does this
    test. Trivy KSV-0027 fails any procMount, Default included.
    """
    assert_compliant(_evaluate("procMount_restricted", k8s_workload, k8s_settings))
