"""Cross-references claim only what the check reads, and the `cis` marker follows the CIS references.

Issue 15, causes 3 and 7: a cited upstream id must belong to a control whose check reads that
setting on that object. Over the whole built-in catalog: an id cited by several controls is listed
here with the one setting all of them read (so a new shared claim has to be justified), the ids moved
off controls that read something else stay off them, and ``-m cis`` selects exactly the controls that
cite a CIS Kubernetes Benchmark recommendation.
"""

from __future__ import annotations

import inspect
import re
import sys
from collections import defaultdict

import pytest

from pytest_k8shardening.catalog import builtin_controls, markdown_table
from pytest_k8shardening.controls import (
    CIS_BENCHMARK,
    NOT_COUNTERPARTS,
    Control,
    ControlError,
    control,
)

CONTROLS = builtin_controls()
BY_ID = {c.id: c for c in CONTROLS}

# Ids cited by more than one control, with the setting every one of those controls reads. The NSA pod
# controls and the PSS controls judge the same pod fields with different semantics (PSS versions).
SHARED: dict[tuple[str, str], tuple[set[str], str]] = {
    ("cis", "1.2.1"): ({"nsa.cluster.anonymous-access", "nsa.cp.apiserver-anonymous-auth"},
                       "API server anonymous authentication (the flag, and the live server's answer to it)"),
    ("kubescape", "C-0113"): ({"nsa.cluster.anonymous-access", "nsa.cp.apiserver-anonymous-auth"},
                              "API server anonymous authentication (the flag, and the live server's answer)"),
    ("cis", "5.2.2"): ({"nsa.pod.privileged", "pss.baseline.privileged"}, "securityContext.privileged"),
    ("kubescape", "C-0057"): ({"nsa.pod.privileged", "pss.baseline.privileged", "nsa.pod.dangerous-capabilities",
                               "pss.baseline.capabilities", "pss.restricted.capabilities"},
                              "securityContext.privileged, or SYS_ADMIN in capabilities.add"),
    ("trivy", "KSV-0017"): ({"nsa.pod.privileged", "pss.baseline.privileged"}, "securityContext.privileged"),
    ("cis", "5.2.3"): ({"nsa.pod.host-pid", "pss.baseline.host-namespaces"}, "spec.hostPID"),
    ("trivy", "KSV-0010"): ({"nsa.pod.host-pid", "pss.baseline.host-namespaces"}, "spec.hostPID"),
    ("cis", "5.2.4"): ({"nsa.pod.host-ipc", "pss.baseline.host-namespaces"}, "spec.hostIPC"),
    ("trivy", "KSV-0008"): ({"nsa.pod.host-ipc", "pss.baseline.host-namespaces"}, "spec.hostIPC"),
    ("kubescape", "C-0038"): ({"nsa.pod.host-ipc", "nsa.pod.host-pid", "pss.baseline.host-namespaces"},
                              "spec.hostPID and spec.hostIPC"),
    ("cis", "5.2.5"): ({"nsa.pod.host-network", "pss.baseline.host-namespaces"}, "spec.hostNetwork"),
    ("kubescape", "C-0041"): ({"nsa.pod.host-network", "pss.baseline.host-namespaces"}, "spec.hostNetwork"),
    ("trivy", "KSV-0009"): ({"nsa.pod.host-network", "pss.baseline.host-namespaces"}, "spec.hostNetwork"),
    ("cis", "5.2.6"): ({"nsa.pod.privilege-escalation", "pss.restricted.privilege-escalation"},
                       "securityContext.allowPrivilegeEscalation"),
    ("kubescape", "C-0016"): ({"nsa.pod.privilege-escalation", "pss.restricted.privilege-escalation"},
                              "securityContext.allowPrivilegeEscalation"),
    ("trivy", "KSV-0001"): ({"nsa.pod.privilege-escalation", "pss.restricted.privilege-escalation"},
                            "securityContext.allowPrivilegeEscalation"),
    ("cis", "5.2.7"): ({"nsa.pod.run-as-non-root", "pss.restricted.run-as-non-root"},
                       "securityContext.runAsNonRoot / runAsUser"),
    ("trivy", "KSV-0012"): ({"nsa.pod.run-as-non-root", "pss.restricted.run-as-non-root"},
                            "securityContext.runAsNonRoot"),
    ("trivy", "KSV-0105"): ({"nsa.pod.run-as-non-root", "pss.restricted.run-as-user"}, "securityContext.runAsUser"),
    ("kubescape", "C-0013"): ({"nsa.pod.run-as-non-root", "nsa.pod.run-as-non-root-group",
                               "pss.restricted.run-as-non-root", "pss.restricted.run-as-user"},
                              "securityContext.runAsNonRoot / runAsUser / runAsGroup"),
    ("cis", "5.2.8"): ({"nsa.pod.dangerous-capabilities", "pss.baseline.capabilities",
                        "pss.restricted.capabilities"}, "capabilities.add"),
    ("cis", "5.2.9"): ({"nsa.pod.dangerous-capabilities", "pss.baseline.capabilities",
                        "pss.restricted.capabilities"}, "capabilities.add"),
    ("trivy", "KSV-0022"): ({"nsa.pod.dangerous-capabilities", "pss.baseline.capabilities",
                             "pss.restricted.capabilities"}, "capabilities.add"),
    ("kubescape", "C-0046"): ({"nsa.pod.dangerous-capabilities", "pss.baseline.capabilities",
                               "pss.restricted.capabilities"}, "capabilities.add"),
    ("cis", "5.2.10"): ({"nsa.pod.drop-all-capabilities", "pss.restricted.capabilities"},
                        "capabilities.drop / add"),
    ("trivy", "KSV-0003"): ({"nsa.pod.drop-all-capabilities", "pss.restricted.capabilities"}, "capabilities.drop"),
    ("trivy", "KSV-0106"): ({"nsa.pod.drop-all-capabilities", "pss.restricted.capabilities"},
                            "capabilities.drop / add"),
    ("cis", "5.2.12"): ({"nsa.pod.host-path", "pss.baseline.host-path"}, "spec.volumes[].hostPath"),
    ("kubescape", "C-0048"): ({"nsa.pod.host-path", "pss.baseline.host-path", "pss.restricted.volume-types"},
                              "spec.volumes[].hostPath"),
    ("trivy", "KSV-0023"): ({"nsa.pod.host-path", "pss.baseline.host-path", "pss.restricted.volume-types"},
                            "spec.volumes[].hostPath"),
    ("cis", "5.2.13"): ({"nsa.pod.host-port", "pss.baseline.host-ports"}, "ports[].hostPort"),
    ("kubescape", "C-0044"): ({"nsa.pod.host-port", "pss.baseline.host-ports"}, "ports[].hostPort"),
    ("trivy", "KSV-0024"): ({"nsa.pod.host-port", "pss.baseline.host-ports"}, "ports[].hostPort"),
    ("cis", "5.7.2"): ({"nsa.pod.seccomp", "pss.restricted.seccomp"}, "seccompProfile"),
    ("kubescape", "C-0055"): ({"nsa.pod.seccomp", "pss.restricted.seccomp"}, "seccompProfile"),
    ("kubescape", "C-0210"): ({"nsa.pod.seccomp", "pss.restricted.seccomp"}, "seccompProfile"),
    ("trivy", "KSV-0030"): ({"nsa.pod.seccomp", "pss.restricted.seccomp"}, "seccompProfile"),
    ("trivy", "KSV-0104"): ({"nsa.pod.seccomp", "pss.baseline.seccomp", "pss.restricted.seccomp"},
                            "seccompProfile"),
    ("trivy", "KSV-0002"): ({"nsa.pod.apparmor", "pss.baseline.apparmor"}, "AppArmor profile"),
    ("trivy", "KSV-0025"): ({"nsa.pod.selinux", "pss.baseline.selinux"}, "seLinuxOptions"),
    ("trivy", "KSV-0027"): ({"pss.baseline.proc-mount", "pss.restricted.proc-mount"}, "securityContext.procMount"),
    ("cis", "5.3.2"): ({"nsa.network.default-deny", "nsa.network.policy-exists"},
                       "the NetworkPolicies of each namespace"),
    ("kubescape", "C-0012"): ({"nsa.secrets.configmap-credentials", "nsa.secrets.env-credentials"},
                              "credential-like names and values (env[].value, ConfigMap data)"),
    ("kubescape", "C-0273"): ({"nsa.upgrades.kubelet-version", "nsa.upgrades.server-version"},
                              "the Kubernetes versions of the server and the kubelets"),
}

# Claims issue 15 found on controls that read something else, and where they belong now.
MOVED = [
    ("kubescape", "C-0277", "nsa.cp.apiserver-tls-ciphers"),  # --tls-cipher-suites, not --tls-min-version
    ("cis", "1.2.29", "nsa.cp.apiserver-tls-ciphers"),
    ("kubescape", "C-0184", "nsa.kubelet.tls-ciphers"),
    ("cis", "4.2.12", "nsa.kubelet.tls-ciphers"),
    ("kubescape", "C-0202", "nsa.admission.pod-security-enforced"),  # a namespace's enforce label, not pods
    ("cis", "5.4.1", "cis.secrets.secrets-as-env"),  # secretKeyRef in env, not literal credentials
    ("kubescape", "C-0207", "cis.secrets.secrets-as-env"),
    ("trivy", "KSV-0109", "nsa.secrets.configmap-credentials"),  # a ConfigMap check, not container env
    ("trivy", "KSV-0015", "nsa.pod.cpu-requests"),  # "CPU requests not specified", not probes
    ("kubescape", "C-0182", "nsa.kubelet.certificate-rotation"),  # rotateCertificates, not tlsCertFile
    ("trivy", "KCV-0090", "nsa.kubelet.certificate-rotation"),
]

KEYS = ("kubescape", "trivy", "cis")
ID_SHAPES = {"kubescape": re.compile(r"^C-\d{4}$"), "trivy": re.compile(r"^K(SV|CV)-\d{4,5}$"),
             "cis": re.compile(r"^\d+(\.\d+)+$")}


def _claims() -> dict[tuple[str, str], set[str]]:
    claims: dict[tuple[str, str], set[str]] = defaultdict(set)
    for c in CONTROLS:
        for key in KEYS:
            for ref in c.references.get(key) or ():
                claims[(key, ref)].add(c.id)
    return claims


def test_every_id_cited_by_several_controls_names_the_one_setting_they_read() -> None:
    shared = {k: v for k, v in _claims().items() if len(v) > 1}
    undocumented = {k: sorted(v) for k, v in shared.items() if k not in SHARED}
    assert not undocumented, f"ids claimed by several controls without a documented common setting: {undocumented}"
    for key, (controls, setting) in SHARED.items():
        assert shared.get(key) == controls, f"{key} ({setting}): claimed by {sorted(shared.get(key, ()))}"


@pytest.mark.parametrize(("key", "ref", "owner"), MOVED, ids=lambda v: str(v))
def test_moved_claims_sit_only_on_the_control_that_reads_the_setting(key: str, ref: str, owner: str) -> None:
    assert _claims()[(key, ref)] == {owner}


@pytest.mark.parametrize(("key", "ref", "former"), [
    ("kubescape", "C-0277", "nsa.cp.apiserver-tls-version"),
    ("cis", "1.2.29", "nsa.cp.apiserver-tls-version"),
    ("kubescape", "C-0202", "pss.baseline.host-process"),
    ("cis", "5.4.1", "nsa.secrets.env-credentials"),
    ("cis", "5.4.1", "nsa.secrets.configmap-credentials"),
    ("trivy", "KSV-0109", "nsa.secrets.env-credentials"),
    ("trivy", "KSV-01010", "nsa.secrets.configmap-credentials"),
    ("kubescape", "C-0181", "nsa.kubelet.certificate-rotation"),
    ("trivy", "KCV-0088", "nsa.kubelet.certificate-rotation"),
    ("trivy", "KSV-01011", "nsa.rbac.authenticated"),  # fires only for a GKE cluster version, never on manifests
])
def test_wrong_claims_are_gone(key: str, ref: str, former: str) -> None:
    assert ref not in (BY_ID[former].references.get(key) or ())


# Which cited Trivy ids Trivy runs on Kubernetes manifests (issue 15, cause 3). Trivy (0.6x, 0.7x) evaluates every
# .rego module of the trivy-checks bundle whose package starts with builtin, defsec or appshield
# (pkg/iac/rego/load.go builtinNamespaces, copied into the scanner's ruleNamespaces), except modules under a
# directory ending in advanced/optional (pkg/iac/rego/embed.go isOptionalChecks) and, without
# --include-deprecated-checks, modules whose metadata says deprecated: true (IncludeDeprecatedFilter). Since
# trivy-checks PR #414 (May 2025) every Kubernetes check sits flat in checks/kubernetes/; the former
# advanced/optional checks (registries KSV-0032..0035, say) are now the deprecated ones, and none of them is cited.
# The ids suspected of sitting in a package Trivy does not load, with where they sit now:
TRIVY_RUN_ON_MANIFESTS: dict[str, str] = {
    "KSV-0036": "checks/kubernetes/protecting_pod_service_account_tokens.rego",  # was advanced/
    "KSV-0037": "checks/kubernetes/protect_core_components_namespace.rego",  # was advanced/
    "KSV-0039": "checks/kubernetes/use_limit_range.rego",  # was advanced/optional/ (skipped until early 2025)
    "KSV-0040": "checks/kubernetes/use_resource_quota.rego",  # was advanced/optional/ (skipped until early 2025)
    "KSV-0110": "checks/kubernetes/default_namespace_should_not_be_used.rego",  # was advanced/
    "KSV-0109": "checks/kubernetes/configMap_with_secrets.rego",  # was aquacommercial/
    "KSV-0041": "checks/kubernetes/manage_secrets.rego",  # RBAC: selector type kubernetes (no longer rbac)
    "KSV-0043": "checks/kubernetes/impersonate_privileged_groups.rego",
    "KSV-0044": "checks/kubernetes/any_any.rego",
    "KSV-0045": "checks/kubernetes/any_verb.rego",
    "KSV-0046": "checks/kubernetes/manage_all_resources.rego",
    "KSV-0047": "checks/kubernetes/privilege_escalation_from_node_proxy.rego",
    "KSV-0050": "checks/kubernetes/manage_kubernetes_rbac_resources.rego",
    "KSV-0053": "checks/kubernetes/get_shell_on_pod.rego",
    "KSV-0111": "checks/kubernetes/cluster_admin_role_is_only_used_where_required.rego",
    "KSV-0113": "checks/kubernetes/manage_namespace_secrets.rego",
    "KSV-0122": "checks/kubernetes/anonymous_user_bind.rego",  # package appshield.kubernetes: a builtin namespace
}
# Cited ids Trivy never runs on manifests, with where they sit and why; they may only be disowned.
TRIVY_NOT_RUN_ON_MANIFESTS: dict[str, tuple[str, str]] = {
    "KSV-01011": ("checks/kubernetes/authenticate_group_bind.rego",
                  "deny needs data.k8s.version to contain -gke; Trivy writes k8s.version only for trivy k8s"),
}


def test_trivy_ids_suspected_of_not_running_are_claimed_where_trivy_runs_them() -> None:
    claims = _claims()
    disowned = {r.partition(":")[2] for c in CONTROLS for r in c.references.get(NOT_COUNTERPARTS) or ()
                if r.startswith("trivy:")}
    for rid, path in TRIVY_RUN_ON_MANIFESTS.items():
        assert claims.get(("trivy", rid)), f"{rid} ({path}) runs on manifests but no control claims it"
        assert rid not in disowned, f"{rid} ({path}) runs on manifests: it is no 'not counterpart'"
        assert path.startswith("checks/kubernetes/") and "optional" not in path


@pytest.mark.parametrize("rid", sorted(TRIVY_NOT_RUN_ON_MANIFESTS))
def test_trivy_ids_that_never_run_on_manifests_are_only_disowned(rid: str) -> None:
    path, why = TRIVY_NOT_RUN_ON_MANIFESTS[rid]
    assert ("trivy", rid) not in _claims(), f"{rid} is claimed, but {why} ({path})"
    assert any(f"trivy:{rid}" in (c.references.get(NOT_COUNTERPARTS) or ()) for c in CONTROLS), (
        f"{rid}: no control marks it as not a counterpart")


def _docstrings() -> dict[str, str]:
    """Each built-in control's test docstring (builtin_controls() imported the suite modules)."""
    out: dict[str, str] = {}
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] == "suites" or name.startswith("pytest_k8shardening.suites."):
            for obj in vars(module).values():
                ctrl = getattr(obj, "_k8s_control", None)
                if isinstance(ctrl, Control):
                    out[ctrl.id] = inspect.getdoc(obj) or ""
    return out


def test_every_not_counterpart_is_explained_in_its_controls_docstring() -> None:
    docs = _docstrings()
    assert set(docs) == set(BY_ID)
    for c in CONTROLS:
        for ref in c.references.get(NOT_COUNTERPARTS) or ():
            tool, _, rid = ref.partition(":")
            assert rid in docs[c.id] and "not a counterpart" in docs[c.id], f"{c.id} disowns {ref} without saying why"


def test_references_are_well_formed() -> None:
    for c in CONTROLS:
        unknown = set(c.references) - {*KEYS, "pss", NOT_COUNTERPARTS}
        assert not unknown, f"{c.id}: unknown reference keys {unknown}"
        for key in KEYS:
            for ref in c.references.get(key) or ():
                assert ID_SHAPES[key].match(ref), f"{c.id}: {key} id {ref!r}"
        for ref in c.references.get(NOT_COUNTERPARTS) or ():
            tool, _, rid = ref.partition(":")
            assert tool in ("kubescape", "trivy") and ID_SHAPES[tool].match(rid), f"{c.id}: {ref!r}"
            assert rid not in (c.references.get(tool) or ()), f"{c.id}: {ref} is both claimed and disowned"


def test_controls_with_cis_references_carry_the_cis_framework_and_only_they() -> None:
    for c in CONTROLS:
        assert ("cis" in c.frameworks) is bool(c.references.get("cis")), c.id


def test_cis_framework_is_added_by_the_decorator_and_names_the_benchmark_version() -> None:
    @control("t.cis-added", title="t", severity="low", category="secrets", remediation="r",
             frameworks=["nsa"], references={"cis": ["5.4.1"]})
    def test_x() -> None:
        pass

    @control("t.cis-absent", title="t", severity="low", category="secrets", remediation="r",
             frameworks=["nsa"], references={"kubescape": ["C-0012"]})
    def test_y() -> None:
        pass

    assert test_x._k8s_control.frameworks == ("nsa", "cis")  # type: ignore[attr-defined]
    assert test_y._k8s_control.frameworks == ("nsa",)  # type: ignore[attr-defined]
    assert {m.name for m in test_x.pytestmark} >= {"cis", "nsa"}  # type: ignore[attr-defined]
    assert "cis" not in {m.name for m in test_y.pytestmark}  # type: ignore[attr-defined]
    assert CIS_BENCHMARK == "CIS Kubernetes Benchmark v1.10"


def test_bad_control_metadata_is_still_refused() -> None:
    with pytest.raises(ControlError):
        control("t.bad", title="t", severity="urgent", category="x", remediation="r", references={"cis": ["1.1"]})


def test_generated_table_shows_not_counterparts() -> None:
    table = markdown_table([BY_ID["nsa.secrets.configmap-credentials"]])
    assert "Trivy KSV-0109" in table and "not counterparts: trivy:KSV-01010" in table


MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  template:
    spec:
      containers:
        - name: web
          image: nginx
          env: [{name: DB_PASSWORD, valueFrom: {secretKeyRef: {name: db, key: password}}}]
"""


def test_dash_m_cis_selects_exactly_the_controls_with_cis_references(pytester: pytest.Pytester) -> None:
    target = pytester.makefile(".yaml", app=MANIFEST)
    listing = pytester.runpytest("--k8s-manifests", str(target), "--k8s-list-controls", "-m", "cis")
    assert listing.ret == 0
    out = listing.stdout.str()
    listed = set(re.findall(r"^(\S+\.\S+)\s+(?:critical|high|medium|low|info)\s", out, re.MULTILINE))
    expected = {c.id for c in CONTROLS if c.references.get("cis")}
    assert listed == expected
    assert CIS_BENCHMARK in out
    listing.stdout.fnmatch_lines(["cis.secrets.secrets-as-env*low*cis*C-0207 CIS-5.4.1*"])


def test_dash_m_cis_runs_the_secrets_as_env_control(pytester: pytest.Pytester) -> None:
    target = pytester.makefile(".yaml", app=MANIFEST)
    result = pytester.runpytest("--k8s-manifests", str(target), "-m", "cis and secrets", "-v", "-p", "no:randomly")
    result.stdout.fnmatch_lines(["*test_secrets_not_in_env*shop/Deployment/api*FAILED*"])
    assert "test_no_credentials_in_env" not in result.stdout.str()  # no cis reference: not selected


def test_every_control_is_a_control() -> None:
    assert all(isinstance(c, Control) for c in CONTROLS) and len(BY_ID) == len(CONTROLS)
