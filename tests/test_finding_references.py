"""Every finding carries the upstream ids of the rule that reads its setting (issue 15, cause 2).

A control citing several upstream rules that read different settings gives each finding only the ids of
its own setting. Table-driven over the narrowed controls: each case is a realistic input that fails exactly
one setting, with the ids its findings must carry; together the cases must claim every id the control
cites, and no finding may carry an id its control does not cite. Then end to end: the JSON results
filtered by an upstream id give that rule's verdict per object, and SARIF and JUnit carry the ids.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import pytest

from pytest_k8shardening.catalog import builtin_controls
from pytest_k8shardening.checks import REFERENCE_KEYS, Finding, pod, rbac
from pytest_k8shardening.checks import control_plane as cp
from pytest_k8shardening.annotate import group_batch
from pytest_k8shardening.record import ControlFields, Result, finding_references

from .k8s import container
from .test_checks_rbac import bindings, crb, crole, group, inv_of, rule
from .test_checks_control_plane import KUBEADM_APISERVER, KUBEADM_ETCD, static_pod, without

BY_ID = {c.id: c for c in builtin_controls()}
CM = ["--kubeconfig=/etc/kubernetes/controller-manager.conf", "--profiling=false", "--bind-address=127.0.0.1"]


def _ids(**kw: list[str]) -> set[tuple[str, str]]:
    return {(key, ref) for key, refs in kw.items() for ref in refs}


def _binding_check(check: Callable[[Any, Any], Any]) -> Callable[[Any], Any]:
    """An RBAC check on the first binding among the objects."""
    def run(raws: tuple[dict[str, Any], ...]) -> Any:
        inv = inv_of(*raws)
        return check(bindings(inv)[0], inv)
    return run


# (case id, control, check, subject, the (tool, id) pairs its findings carry)
CASES: list[tuple[str, str, Callable[[Any], Any], Callable[[], Any], set[tuple[str, str]]]] = [
    ("audit-no-policy", "nsa.cp.audit-logging", cp.apiserver_audit_logging,
     lambda: static_pod("kube-apiserver", without(KUBEADM_APISERVER, "audit-policy-file")),
     _ids(kubescape=["C-0067"], cis=["3.2.1"])),
    ("audit-no-log-path", "nsa.cp.audit-logging", cp.apiserver_audit_logging,
     lambda: static_pod("kube-apiserver", without(KUBEADM_APISERVER, "audit-log-path")),
     _ids(kubescape=["C-0130"], trivy=["KCV-0019"], cis=["1.2.16"])),
    ("audit-maxage", "nsa.cp.audit-retention", cp.apiserver_audit_retention,
     lambda: static_pod("kube-apiserver", [*KUBEADM_APISERVER, "--audit-log-maxage=7"]),
     _ids(kubescape=["C-0131"], trivy=["KCV-0020"], cis=["1.2.17"])),
    ("audit-maxbackup", "nsa.cp.audit-retention", cp.apiserver_audit_retention,
     lambda: static_pod("kube-apiserver", without(KUBEADM_APISERVER, "audit-log-maxbackup")),
     _ids(kubescape=["C-0132"], trivy=["KCV-0021"], cis=["1.2.18"])),
    ("audit-maxsize", "nsa.cp.audit-retention", cp.apiserver_audit_retention,
     lambda: static_pod("kube-apiserver", [*KUBEADM_APISERVER, "--audit-log-maxsize=10"]),
     _ids(kubescape=["C-0133"], trivy=["KCV-0022"], cis=["1.2.19"])),
    ("etcd-client-cert", "nsa.cp.apiserver-etcd-tls", cp.apiserver_etcd_tls,
     lambda: static_pod("kube-apiserver", without(KUBEADM_APISERVER, "etcd-keyfile")),
     _ids(kubescape=["C-0137"], trivy=["KCV-0026"], cis=["1.2.23"])),
    ("etcd-ca", "nsa.cp.apiserver-etcd-tls", cp.apiserver_etcd_tls,
     lambda: static_pod("kube-apiserver", without(KUBEADM_APISERVER, "etcd-cafile")),
     _ids(kubescape=["C-0140"], trivy=["KCV-0029"], cis=["1.2.26"])),
    ("etcd-plain-http", "nsa.cp.apiserver-etcd-tls", cp.apiserver_etcd_tls,
     lambda: static_pod("kube-apiserver", [*KUBEADM_APISERVER, "--etcd-servers=http://127.0.0.1:2379"]),
     set()),
    ("kubelet-client-cert", "nsa.cp.apiserver-kubelet-tls", cp.apiserver_kubelet_tls,
     lambda: static_pod("kube-apiserver", without(KUBEADM_APISERVER, "kubelet-client-key")),
     _ids(kubescape=["C-0116"], trivy=["KCV-0005"], cis=["1.2.4"])),
    ("kubelet-ca", "nsa.cp.apiserver-kubelet-tls", cp.apiserver_kubelet_tls,
     lambda: static_pod("kube-apiserver", without(KUBEADM_APISERVER, "kubelet-certificate-authority")),
     _ids(kubescape=["C-0117"], trivy=["KCV-0006"], cis=["1.2.5"])),
    ("etcd-cert-files", "nsa.cp.etcd-client-tls", cp.etcd_client_tls,
     lambda: static_pod("etcd", without(KUBEADM_ETCD, "cert-file")),
     _ids(kubescape=["C-0153"], trivy=["KCV-0042"], cis=["2.1"])),
    ("etcd-client-cert-auth", "nsa.cp.etcd-client-tls", cp.etcd_client_tls,
     lambda: static_pod("etcd", without(KUBEADM_ETCD, "client-cert-auth")),
     _ids(kubescape=["C-0154"], trivy=["KCV-0043"], cis=["2.2"])),
    ("etcd-auto-tls", "nsa.cp.etcd-client-tls", cp.etcd_client_tls,
     lambda: static_pod("etcd", [*KUBEADM_ETCD, "--auto-tls=true"]),
     _ids(kubescape=["C-0155"], trivy=["KCV-0044"], cis=["2.3"])),
    ("etcd-peer-cert-files", "nsa.cp.etcd-peer-tls", cp.etcd_peer_tls,
     lambda: static_pod("etcd", without(KUBEADM_ETCD, "peer-key-file")),
     _ids(kubescape=["C-0156"], trivy=["KCV-0045"], cis=["2.4"])),
    ("etcd-peer-client-cert-auth", "nsa.cp.etcd-peer-tls", cp.etcd_peer_tls,
     lambda: static_pod("etcd", [*KUBEADM_ETCD, "--peer-client-cert-auth=false"]),
     _ids(kubescape=["C-0157"], trivy=["KCV-0046"], cis=["2.5"])),
    ("etcd-peer-auto-tls", "nsa.cp.etcd-peer-tls", cp.etcd_peer_tls,
     lambda: static_pod("etcd", [*KUBEADM_ETCD, "--peer-auto-tls=true"]),
     _ids(kubescape=["C-0158"], trivy=["KCV-0047"], cis=["2.6"])),
    ("cm-profiling", "nsa.cp.controller-manager-exposure", cp.controller_manager_exposure,
     lambda: static_pod("kube-controller-manager", without(CM, "profiling")),
     _ids(kubescape=["C-0145"], cis=["1.3.2"])),
    ("cm-bind-address", "nsa.cp.controller-manager-exposure", cp.controller_manager_exposure,
     lambda: static_pod("kube-controller-manager", [*CM, "--bind-address=0.0.0.0"]),
     _ids(kubescape=["C-0150"], trivy=["KCV-0039"], cis=["1.3.7"])),
    ("scheduler-profiling", "nsa.cp.scheduler-exposure", cp.scheduler_exposure,
     lambda: static_pod("kube-scheduler", [*CM, "--profiling=true"]),
     _ids(kubescape=["C-0151"], trivy=["KCV-0040"], cis=["1.4.1"])),
    ("scheduler-bind-address", "nsa.cp.scheduler-exposure", cp.scheduler_exposure,
     lambda: static_pod("kube-scheduler", without(CM, "bind-address")),
     _ids(kubescape=["C-0152"], trivy=["KCV-0041"], cis=["1.4.2"])),
    ("add-sys-admin", "nsa.pod.dangerous-capabilities", pod.dangerous_capabilities,
     lambda: container({"capabilities": {"drop": ["ALL"], "add": ["SYS_ADMIN"]}}),
     _ids(kubescape=["C-0046", "C-0057"], trivy=["KSV-0022"], cis=["5.2.9"])),
    ("add-net-raw", "nsa.pod.dangerous-capabilities", pod.dangerous_capabilities,
     lambda: container({"capabilities": {"add": ["NET_RAW"]}}),
     _ids(kubescape=["C-0046"], trivy=["KSV-0022"], cis=["5.2.8", "5.2.9"])),
    ("add-outside-kubescapes-list", "nsa.pod.dangerous-capabilities", pod.dangerous_capabilities,
     lambda: container({"capabilities": {"add": ["DAC_READ_SEARCH", "SYS_RESOURCE"]}}),
     _ids(trivy=["KSV-0022"], cis=["5.2.9"])),
    ("authenticated-takeover", "nsa.rbac.authenticated", _binding_check(rbac.authenticated),
     lambda: (crb("everyone-edits", "edit", group("system:authenticated")),),
     _ids(kubescape=["C-0265"])),
    ("authenticated-configmaps", "nsa.rbac.authenticated", _binding_check(rbac.authenticated),
     lambda: (crb("everyone-reads-config", "config-reader", group("system:authenticated")),
              crole("config-reader", rule("get list watch", "configmaps"))),
     set()),  # no takeover resource: C-0265 passes it, and it cites no other rule
    ("drop-not-all", "nsa.pod.drop-all-capabilities", pod.capabilities_dropped,
     lambda: container({"capabilities": {"drop": ["NET_RAW"]}}),
     _ids(trivy=["KSV-0003", "KSV-0106"], cis=["5.2.10"])),
    ("drop-all-but-adds", "nsa.pod.drop-all-capabilities", pod.capabilities_dropped,
     lambda: container({"capabilities": {"drop": ["ALL"], "add": ["NET_ADMIN"]}}),
     _ids(trivy=["KSV-0106"], cis=["5.2.10"])),
    ("seccomp-unset", "nsa.pod.seccomp", pod.seccomp_profile, lambda: container(),
     _ids(kubescape=["C-0055", "C-0210"], trivy=["KSV-0030"], cis=["5.7.2"])),
    ("seccomp-unconfined", "nsa.pod.seccomp", pod.seccomp_profile,
     lambda: container({"seccompProfile": {"type": "Unconfined"}}),
     _ids(kubescape=["C-0210"], trivy=["KSV-0030", "KSV-0104"], cis=["5.7.2"])),
    ("seccomp-pod-unconfined-overridden", "nsa.pod.seccomp", pod.seccomp_profile,
     lambda: container({"seccompProfile": {"type": "RuntimeDefault"}}, {"seccompProfile": {"type": "Unconfined"}}),
     _ids(trivy=["KSV-0104"])),
]

NARROWED = sorted({c[1] for c in CASES})


def _finding_ids(f: Finding) -> set[tuple[str, str]]:
    assert f.references is not None, f"{f.message}: no references of its own"
    return {(key, ref) for key in REFERENCE_KEYS for ref in f.references.get(key, ())}


def _cited(control_id: str) -> set[tuple[str, str]]:
    refs = BY_ID[control_id].references
    return {(key, ref) for key in REFERENCE_KEYS for ref in refs.get(key) or ()}


@pytest.mark.parametrize(("control_id", "check", "subject", "expected"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_each_finding_cites_only_the_rule_of_its_setting(control_id: str, check: Callable[[Any], Any],
                                                         subject: Callable[[], Any],
                                                         expected: set[tuple[str, str]]) -> None:
    findings = check(subject())
    assert isinstance(findings, list) and len(findings) == 1, findings
    ids = _finding_ids(findings[0])
    assert ids == expected
    assert ids <= _cited(control_id), f"{control_id} does not cite {sorted(ids - _cited(control_id))}"


@pytest.mark.parametrize("control_id", NARROWED)
def test_every_id_a_narrowed_control_cites_is_claimed_by_one_of_its_findings(control_id: str) -> None:
    claimed: set[tuple[str, str]] = set()
    for _, cid, check, subject, _expected in CASES:
        if cid == control_id:
            for f in check(subject()):
                claimed |= _finding_ids(f)
    assert claimed == _cited(control_id)


def test_hardened_inputs_have_no_findings() -> None:
    assert cp.apiserver_audit_logging(static_pod("kube-apiserver", KUBEADM_APISERVER)) == []
    assert cp.etcd_client_tls(static_pod("etcd", KUBEADM_ETCD)) == []
    assert cp.scheduler_exposure(static_pod("kube-scheduler", CM)) == []
    assert pod.seccomp_profile(container({"seccompProfile": {"type": "Localhost", "localhostProfile": "p"}})) == []


CONTROL_REFS = {"kubescape": ["C-0067", "C-0130"], "trivy": ["KCV-0019"], "cis": ["1.2.16", "3.2.1"], "pss": None}


def test_findings_without_own_ids_share_the_controls_and_own_ids_keep_its_other_keys() -> None:
    refs = {**CONTROL_REFS, "not_counterparts": ["trivy:KSV-9999"]}
    plain = Finding("--x is not set", "spec.x").as_dict()
    own = Finding("--audit-log-path is not set", "f", references=cp.FLAG_REFERENCES["audit-log-path"]).as_dict()
    assert plain["references"] is None and own["references"] == {"kubescape": ["C-0130"], "trivy": ["KCV-0019"],
                                                                  "cis": ["1.2.16"]}
    a, b = finding_references([plain, own], refs)
    assert a["references"] == refs
    assert b["references"] == {"kubescape": ["C-0130"], "trivy": ["KCV-0019"], "cis": ["1.2.16"], "pss": None,
                               "not_counterparts": ["trivy:KSV-9999"]}
    assert finding_references([a, b], refs) == [a, b]  # resolving twice changes nothing


def test_grouped_batch_encodes_finding_references_as_the_entries_do() -> None:
    ctrl = {"control": "nsa.cp.audit-logging", "title": "t", "severity": "high", "category": "audit_logging",
            "frameworks": ["nsa"], "references": CONTROL_REFS, "remediation": "r"}
    own = Finding("--audit-policy-file is not set", "f", references=cp.FLAG_REFERENCES["audit-policy-file"])
    res = {"kind": "Pod", "name": "kube-apiserver-cp1", "namespace": "kube-system"}
    subs = [{"id": "kube-system/Pod/a", "outcome": "failed", "message": "m", "resource": res,
             "findings": [own.as_dict(), Finding("other").as_dict()]},
            {"id": "kube-system/Pod/b", "outcome": "passed"}]
    fields = ControlFields.from_dict(ctrl)
    batch = group_batch("suite.py::test_x", fields, subs, lambda ident: {"name": ident}).encoded()
    entries = [Result(f"suite.py::test_x::{s['id']}", fields, s.get("resource", {"name": s["id"]}), s["outcome"],
                      s.get("message"), finding_references(s.get("findings", []), fields.references)).to_json()
               for s in subs]
    assert batch.text == ",".join(json.dumps(e, separators=(",", ":")) for e in entries)
    assert [f["references"]["kubescape"] for f in batch.entries()[0]["findings"]] == [["C-0067"],
                                                                                       ["C-0067", "C-0130"]]


# ------------------------------------------------------------------ end to end
def _apiserver(name: str, flags: list[str]) -> str:
    lines = "\n".join(f"        - {f}" for f in ["kube-apiserver", *flags])
    return f"""\
apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: kube-system, labels: {{component: kube-apiserver, tier: control-plane}}}}
spec:
  containers:
    - name: kube-apiserver
      image: registry.k8s.io/kube-apiserver:v1.36.3
      command:
{lines}
"""


def _verdicts(results: list[dict[str, Any]], tool: str, ref: str) -> dict[str, str]:
    """What filtering the JSON results by one upstream id gives: per object, fail if a finding cites it."""
    out: dict[str, str] = {}
    for r in results:
        if ref not in (r["references"].get(tool) or ()) or r["outcome"] not in ("passed", "failed"):
            continue
        name = r["resource"]["name"]
        failed = any(ref in (f["references"].get(tool) or ()) for f in r["findings"])
        out[name] = "fail" if failed or out.get(name) == "fail" else "pass"
    return out


@pytest.mark.parametrize("group", [None, "control"])
def test_filtering_the_json_by_an_upstream_id_gives_that_rules_verdict(pytester: pytest.Pytester,
                                                                       group: str | None) -> None:
    manifests = pytester.makefile(".yaml", cp="---\n".join([
        _apiserver("no-policy", without(KUBEADM_APISERVER, "audit-policy-file")),
        _apiserver("no-log-path", without(KUBEADM_APISERVER, "audit-log-path")),
        _apiserver("hardened", KUBEADM_APISERVER),
    ]))
    args = ["--k8s-manifests", str(manifests), "-k", "test_audit_logging", "--k8s-report-json", "r.json",
            "--k8s-report-sarif", "r.sarif", "--junitxml", "j.xml", "-p", "no:randomly"]
    if group:
        args += ["--k8s-group-by", group]
    pytester.runpytest(*args)
    results = json.loads((pytester.path / "r.json").read_text())["results"]
    assert {r["control"] for r in results} == {"nsa.cp.audit-logging"}
    # Kubescape C-0067 reads --audit-policy-file only; C-0130, Trivy KCV-0019 and CIS 1.2.16 the log path.
    assert _verdicts(results, "kubescape", "C-0067") == {"no-policy": "fail", "no-log-path": "pass", "hardened": "pass"}
    for tool, ref in [("kubescape", "C-0130"), ("trivy", "KCV-0019"), ("cis", "1.2.16")]:
        assert _verdicts(results, tool, ref) == {"no-policy": "pass", "no-log-path": "fail", "hardened": "pass"}
    assert _verdicts(results, "cis", "3.2.1") == {"no-policy": "fail", "no-log-path": "pass", "hardened": "pass"}
    for r in results:  # every finding's references are shaped like its result's
        assert all(f["references"].keys() == r["references"].keys() for f in r["findings"])

    sarif = json.loads((pytester.path / "r.sarif").read_text())["runs"][0]["results"]
    by_object = {s["locations"][0]["logicalLocations"][0]["name"]: s["properties"]["references"] for s in sarif}
    assert by_object["kube-system/Pod/no-policy"]["kubescape"] == ["C-0067"]
    assert by_object["kube-system/Pod/no-log-path"] == {"kubescape": ["C-0130"], "trivy": ["KCV-0019"],
                                                        "cis": ["1.2.16"], "pss": None}

    if group is None:  # JUnit: one k8s_finding_references property per finding of a per-object testcase
        props = {case.get("name", ""): [p.get("value") for p in case.iter("property")
                                        if p.get("name") == "k8s_finding_references"]
                 for case in ET.parse(pytester.path / "j.xml").iter("testcase")}
        assert [v for name, v in props.items() if "no-policy" in name] == [["kubescape:C-0067 cis:3.2.1"]]
        assert [v for name, v in props.items() if "no-log-path" in name] == [["kubescape:C-0130 trivy:KCV-0019 "
                                                                              "cis:1.2.16"]]
        assert [v for name, v in props.items() if "hardened" in name] == [[]]


def _deployment(name: str, security_context: str) -> str:
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: shop}}
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers:
        - name: web
          image: registry.example.com/web:1.4.2
          securityContext: {security_context}
"""


def test_kubescape_privileged_rule_verdict_includes_an_added_sys_admin(pytester: pytest.Pytester) -> None:
    manifests = pytester.makefile(".yaml", app="---\n".join([
        _deployment("privileged", "{privileged: true}"),
        _deployment("sys-admin", "{capabilities: {add: [SYS_ADMIN]}}"),
        _deployment("net-admin", "{capabilities: {add: [NET_ADMIN]}}"),
        _deployment("plain", "{}"),
    ]))
    pytester.runpytest("--k8s-manifests", str(manifests), "-m", "nsa", "-k", "not_privileged or dangerous_cap",
                       "--k8s-report-json", "r.json", "-p", "no:randomly")
    results = json.loads((pytester.path / "r.json").read_text())["results"]
    assert {r["control"] for r in results} == {"nsa.pod.privileged", "nsa.pod.dangerous-capabilities"}
    # Kubescape C-0057: securityContext.privileged, or SYS_ADMIN in capabilities.add.
    assert _verdicts(results, "kubescape", "C-0057") == {"privileged": "fail", "sys-admin": "fail",
                                                         "net-admin": "pass", "plain": "pass"}
    assert _verdicts(results, "kubescape", "C-0046") == {"privileged": "pass", "sys-admin": "fail",
                                                         "net-admin": "fail", "plain": "pass"}
