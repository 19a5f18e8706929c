"""Cross-references claim only what the check reads, and the `cis` marker follows the CIS references.

Issue 15, causes 3 and 7: a cited upstream id must belong to a control whose check reads that
setting on that object. Over the whole built-in catalog: an id cited by several controls is listed
here with the one setting all of them read (so a new shared claim has to be justified), the ids moved
off controls that read something else stay off them, and ``-m cis`` selects exactly the controls that
cite a CIS Kubernetes Benchmark recommendation.
"""

from __future__ import annotations

import re
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
])
def test_wrong_claims_are_gone(key: str, ref: str, former: str) -> None:
    assert ref not in (BY_ID[former].references.get(key) or ())


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
