"""The PSS suites' findings carry the upstream ids of what they report (issue 15, cause 2), as the NSA
suite's do (tests/test_finding_references.py).

Upstream's PSS checks report one finding per check, naming every offending field, so a finding's ids are
the union of the rules that fail on what it names. Table-driven: each case is a pod that fails one check
in one way, with the ids its finding carries; together the cases claim every id the control cites, no
finding carries an id its control does not cite, and (at restricted) a baseline check run in the place of
a restricted one keeps within the restricted control's ids. End to end, a ``-m pss_baseline`` or
``-m pss_restricted`` run filtered by Kubescape C-0057 (privileged) gives Kubescape's verdict, an added
SYS_ADMIN included.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from pytest_k8shardening.checks import pss

from .k8s import workload
from .test_finding_references import _cited, _deployment, _finding_ids, _ids, _verdicts


def ctr(sc: dict[str, Any] | None = None, name: str = "app") -> dict[str, Any]:
    return {"name": name, "image": "registry.example.com/app:1", **({"securityContext": sc} if sc else {})}


def spec(*containers: dict[str, Any], **pod: Any) -> dict[str, Any]:
    return {"containers": list(containers) or [ctr()], **pod}


DROP_ALL = {"capabilities": {"drop": ["ALL"]}}
UNSET_SECCOMP = _ids(kubescape=["C-0055", "C-0210"], trivy=["KSV-0030"], cis=["5.7.2"])
WEAK_SECCOMP = _ids(kubescape=["C-0210"], trivy=["KSV-0030", "KSV-0104"], cis=["5.7.2"])

# (case id, control, PSS check, pod spec, the (tool, id) pairs its one finding carries)
CASES: list[tuple[str, str, str, dict[str, Any], set[tuple[str, str]]]] = [
    ("host-pid", "pss.baseline.host-namespaces", "hostNamespaces", spec(hostPID=True),
     _ids(kubescape=["C-0038"], trivy=["KSV-0010"], cis=["5.2.3"])),
    ("host-ipc", "pss.baseline.host-namespaces", "hostNamespaces", spec(hostIPC=True),
     _ids(kubescape=["C-0038"], trivy=["KSV-0008"], cis=["5.2.4"])),
    ("host-network", "pss.baseline.host-namespaces", "hostNamespaces", spec(hostNetwork=True),
     _ids(kubescape=["C-0041"], trivy=["KSV-0009"], cis=["5.2.5"])),
    ("host-network-and-pid", "pss.baseline.host-namespaces", "hostNamespaces", spec(hostNetwork=True, hostPID=True),
     _ids(kubescape=["C-0041", "C-0038"], trivy=["KSV-0009", "KSV-0010"], cis=["5.2.5", "5.2.3"])),
    ("baseline-add-sys-admin", "pss.baseline.capabilities", "capabilities_baseline",
     spec(ctr({"capabilities": {"add": ["SYS_ADMIN"]}})),
     _ids(kubescape=["C-0046", "C-0057"], trivy=["KSV-0022"], cis=["5.2.9"])),
    ("baseline-add-net-raw", "pss.baseline.capabilities", "capabilities_baseline",
     spec(ctr({"capabilities": {"add": ["NET_RAW"]}})),
     _ids(kubescape=["C-0046"], trivy=["KSV-0022"], cis=["5.2.8", "5.2.9"])),
    ("baseline-add-outside-kubescapes-list", "pss.baseline.capabilities", "capabilities_baseline",
     spec(ctr({"capabilities": {"add": ["DAC_READ_SEARCH"]}})), _ids(trivy=["KSV-0022"], cis=["5.2.9"])),
    ("baseline-add-two-containers", "pss.baseline.capabilities", "capabilities_baseline",
     spec(ctr({"capabilities": {"add": ["SYS_ADMIN"]}}), ctr({"capabilities": {"add": ["NET_RAW"]}}, "side")),
     _ids(kubescape=["C-0046", "C-0057"], trivy=["KSV-0022"], cis=["5.2.8", "5.2.9"])),
    ("restricted-no-drop", "pss.restricted.capabilities", "capabilities_restricted", spec(),
     _ids(trivy=["KSV-0003", "KSV-0106"], cis=["5.2.10"])),
    ("restricted-add-default-cap", "pss.restricted.capabilities", "capabilities_restricted",
     spec(ctr({"capabilities": {"drop": ["ALL"], "add": ["CHOWN"]}})),
     _ids(trivy=["KSV-0106", "KSV-0022"], cis=["5.2.10", "5.2.9"])),
    ("restricted-add-sys-admin", "pss.restricted.capabilities", "capabilities_restricted",
     spec(ctr({"capabilities": {"drop": ["ALL"], "add": ["SYS_ADMIN"]}})),
     _ids(kubescape=["C-0046", "C-0057"], trivy=["KSV-0106", "KSV-0022"], cis=["5.2.10", "5.2.9"])),
    ("restricted-add-net-raw-no-drop", "pss.restricted.capabilities", "capabilities_restricted",
     spec(ctr({"capabilities": {"add": ["NET_RAW"]}})),
     _ids(kubescape=["C-0046"], trivy=["KSV-0003", "KSV-0106", "KSV-0022"], cis=["5.2.10", "5.2.8", "5.2.9"])),
    ("volume-host-path", "pss.restricted.volume-types", "restrictedVolumes",
     spec(volumes=[{"name": "h", "hostPath": {"path": "/var/log"}}]), _ids(kubescape=["C-0048"], trivy=["KSV-0023"])),
    ("volume-nfs", "pss.restricted.volume-types", "restrictedVolumes",
     spec(volumes=[{"name": "n", "nfs": {"server": "nfs.example.com", "path": "/x"}}]), _ids(trivy=["KSV-0028"])),
    ("volume-cephfs-trivy-misses", "pss.restricted.volume-types", "restrictedVolumes",
     spec(volumes=[{"name": "c", "cephfs": {"monitors": ["10.0.0.1:6789"]}}]), set()),
    ("volume-host-path-and-nfs", "pss.restricted.volume-types", "restrictedVolumes",
     spec(volumes=[{"name": "h", "hostPath": {"path": "/x"}}, {"name": "n", "nfs": {"server": "s", "path": "/"}}]),
     _ids(kubescape=["C-0048"], trivy=["KSV-0023", "KSV-0028"])),
    ("seccomp-unset", "pss.restricted.seccomp", "seccompProfile_restricted", spec(), UNSET_SECCOMP),
    ("seccomp-container-unconfined", "pss.restricted.seccomp", "seccompProfile_restricted",
     spec(ctr({"seccompProfile": {"type": "Unconfined"}})), WEAK_SECCOMP),
    ("seccomp-pod-unconfined", "pss.restricted.seccomp", "seccompProfile_restricted",
     spec(securityContext={"seccompProfile": {"type": "Unconfined"}}), WEAK_SECCOMP),
    ("seccomp-pod-unconfined-overridden", "pss.restricted.seccomp", "seccompProfile_restricted",
     spec(ctr({"seccompProfile": {"type": "RuntimeDefault"}}), securityContext={"seccompProfile": {"type": "Unconfined"}}),
     _ids(trivy=["KSV-0104"])),
    ("seccomp-one-weak-one-unset", "pss.restricted.seccomp", "seccompProfile_restricted",
     spec(ctr({"seccompProfile": {"type": "Unconfined"}}), ctr(None, "side")), UNSET_SECCOMP | WEAK_SECCOMP),
    ("seccomp-baseline-unconfined", "pss.baseline.seccomp", "seccompProfile_baseline",
     spec(ctr({"seccompProfile": {"type": "Unconfined"}})), _ids(trivy=["KSV-0104"])),
]

NARROWED = sorted({c[1] for c in CASES})


def _finding(check_id: str, pod_spec: dict[str, Any], version: str = "latest") -> Any:
    result = pss.run_check(check_id, workload(pod_spec), version)
    assert isinstance(result, list) and len(result) == 1, result
    return result[0]


@pytest.mark.parametrize(("control_id", "check_id", "pod_spec", "expected"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_each_pss_finding_cites_only_the_rules_of_what_it_reports(control_id: str, check_id: str,
                                                                  pod_spec: dict[str, Any],
                                                                  expected: set[tuple[str, str]]) -> None:
    ids = _finding_ids(_finding(check_id, pod_spec))
    assert ids == expected
    assert ids <= _cited(control_id), f"{control_id} does not cite {sorted(ids - _cited(control_id))}"


@pytest.mark.parametrize("control_id", NARROWED)
def test_every_id_a_narrowed_pss_control_cites_is_claimed_by_one_of_its_findings(control_id: str) -> None:
    claimed: set[tuple[str, str]] = set()
    for _, cid, check_id, pod_spec, _expected in CASES:
        if cid == control_id:
            claimed |= _finding_ids(_finding(check_id, pod_spec))
    assert claimed == _cited(control_id)


@pytest.mark.parametrize(("control_id", "check_id", "version", "pod_spec", "annotations"), [
    # before the restricted check existed, restricted runs the baseline check in its place
    ("pss.restricted.capabilities", "capabilities_restricted", "v1.21",
     spec(ctr({"capabilities": {"add": ["SYS_ADMIN", "NET_RAW"]}})), None),
    ("pss.restricted.seccomp", "seccompProfile_restricted", "v1.18", spec(),
     {"seccomp.security.alpha.kubernetes.io/pod": "unconfined"}),
], ids=["capabilities-v1.21", "seccomp-annotation-v1.18"])
def test_a_stand_in_baseline_finding_keeps_within_the_restricted_controls_ids(
        control_id: str, check_id: str, version: str, pod_spec: dict[str, Any],
        annotations: dict[str, str] | None) -> None:
    w = workload(pod_spec, pod_meta={"annotations": annotations} if annotations else None)
    result = pss.run_check(check_id, w, version, level="restricted")
    assert isinstance(result, list) and len(result) == 1, result
    ids = _finding_ids(result[0])
    assert ids and ids <= _cited(control_id)


def test_checks_whose_controls_read_one_setting_keep_the_controls_ids() -> None:
    """Privileged reads one field, every id of its control with it: its finding names no ids of its own."""
    finding = _finding("privileged", spec(ctr({"privileged": True})))
    assert finding.references is None
    assert _cited("pss.baseline.privileged") == _ids(kubescape=["C-0057"], trivy=["KSV-0017"], cis=["5.2.2"])


@pytest.mark.parametrize("marker", ["pss_baseline", "pss_restricted"])
def test_kubescape_privileged_verdict_from_a_pss_run_includes_an_added_sys_admin(pytester: pytest.Pytester,
                                                                                marker: str) -> None:
    manifests = pytester.makefile(".yaml", app="---\n".join([
        _deployment("privileged", "{privileged: true}"),
        _deployment("sys-admin", "{capabilities: {add: [SYS_ADMIN]}}"),
        _deployment("net-admin", "{capabilities: {add: [NET_ADMIN]}}"),
        _deployment("host-pid", "{}").replace("    spec:\n", "    spec:\n      hostPID: true\n"),
        _deployment("plain", "{}"),
    ]))
    pytester.runpytest("--k8s-manifests", str(manifests), "-m", marker, "--k8s-report-json", "r.json",
                       "-p", "no:randomly")
    results = json.loads((pytester.path / "r.json").read_text())["results"]
    # Kubescape C-0057: securityContext.privileged, or SYS_ADMIN in capabilities.add.
    assert _verdicts(results, "kubescape", "C-0057") == {"privileged": "fail", "sys-admin": "fail",
                                                         "net-admin": "pass", "host-pid": "pass", "plain": "pass"}
    assert _verdicts(results, "kubescape", "C-0046") == {"privileged": "pass", "sys-admin": "fail",
                                                         "net-admin": "fail", "host-pid": "pass", "plain": "pass"}
    # host namespaces: hostPID fails C-0038 and Trivy KSV-0010, not C-0041 (hostNetwork) or KSV-0008 (hostIPC)
    assert _verdicts(results, "kubescape", "C-0038")["host-pid"] == "fail"
    assert _verdicts(results, "trivy", "KSV-0010")["host-pid"] == "fail"
    assert _verdicts(results, "kubescape", "C-0041")["host-pid"] == "pass"
    assert _verdicts(results, "trivy", "KSV-0008")["host-pid"] == "pass"
    for r in results:
        assert all(f["references"].keys() == r["references"].keys() for f in r["findings"])
