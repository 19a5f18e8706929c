"""Grouped mode (--k8s-group-by): fewer items, the same per-resource findings in every report."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.output import counts_line

ROOT = Path(__file__).resolve().parents[1]
INSECURE = ROOT / "examples" / "insecure"
FUTURE = (dt.date.today() + dt.timedelta(days=30)).isoformat()


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def _per_resource(path: Path) -> list[tuple[Any, ...]]:
    doc = json.loads(path.read_text())
    return sorted((r["control"], json.dumps(r["resource"], sort_keys=True), r["outcome"], r["message"] or "",
                   json.dumps(r["findings"])) for r in doc["results"] if r["resource"] and r["resource"].get("name"))


@pytest.mark.parametrize("mode", ["control", "namespace"])
def test_grouped_results_equal_per_resource_results(tmp_path: Path, mode: str) -> None:
    base = _run([f"--k8s-manifests={INSECURE}", "-m", "nsa or pss_restricted", "--k8s-report-json", "a.json"],
                tmp_path)
    grouped = _run([f"--k8s-manifests={INSECURE}", "-m", "nsa or pss_restricted", "--k8s-group-by", mode,
                    "--k8s-report-json", "b.json", "--k8s-report-sarif", "b.sarif"], tmp_path)
    assert base.returncode == grouped.returncode == 1, grouped.stdout[-2000:]
    a, b = _per_resource(tmp_path / "a.json"), _per_resource(tmp_path / "b.json")
    assert a and a == b
    items_a = sum(int(n) for n in re.findall(r"(\d+) (?:passed|failed|skipped)", counts_line(base.stdout)))
    items_b = sum(int(n) for n in re.findall(r"(\d+) (?:passed|failed|skipped)", counts_line(grouped.stdout)))
    assert items_b < items_a / 2
    sarif = json.loads((tmp_path / "b.sarif").read_text())["runs"][0]["results"]
    assert len(sarif) == sum(1 for r in a if r[2] == "failed")


def test_grouped_waivers_and_gates_act_per_object(pytester: pytest.Pytester) -> None:
    app = pytester.makefile(".yaml", app="""\
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec: {template: {spec: {containers: [{name: a, image: x, securityContext: {privileged: true}},
                                      {name: b, image: x, securityContext: {privileged: true}}]}}}
""")
    waivers = pytester.makefile(".yaml", waivers=f"""\
waivers:
  - {{control: nsa.pod.privileged, container: a, reason: needs raw devices for the demo, owner: lab,
     expires: {FUTURE}}}
""")
    args = ["--k8s-manifests", str(app), "-m", "nsa", "-k", "not_privileged", "--k8s-group-by", "control",
            "--k8s-waivers", str(waivers), "--k8s-report-json", "r.json"]
    result = pytester.runpytest(*args)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["1 of 2 objects fail:", "shop/Deployment/api:container=b*"])
    doc = json.loads((pytester.path / "r.json").read_text())
    outcomes = {r["resource"]["container"]: r["outcome"] for r in doc["results"]}
    assert outcomes == {"a": "waived", "b": "failed"}
    assert doc["summary"]["waivers"]["applied"] == 1
    assert pytester.runpytest(*args, "--k8s-fail-on", "none").ret == 0


def test_grouped_derived_fixtures_and_xdist(pytester: pytest.Pytester) -> None:
    app = pytester.makefile(".yaml", app="""\
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {team: shop}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec: {template: {spec: {containers: [{name: web, image: x}, {name: side, image: x}]}}}
""")
    pytester.makepyfile(test_mine="""
        from pytest_k8shardening import Finding, assert_compliant, control

        @control("acme.team", title="t", severity="low", category="metadata", frameworks=["org"], remediation="r")
        def test_team(k8s_container, k8s_workload, k8s_namespace):
            assert k8s_container.workload is k8s_workload
            assert k8s_namespace.name == "shop" and k8s_namespace.labels == {"team": "shop"}
            if k8s_container.name == "side":
                assert_compliant([Finding("side has no team", None)])
    """)
    result = pytester.runpytest("--k8s-manifests", str(app), "--k8s-no-builtin", "--k8s-group-by", "namespace",
                                "-p", "xdist", "-n", "2", "--k8s-report-json", "r.json")
    result.assert_outcomes(failed=1)
    doc = json.loads((pytester.path / "r.json").read_text())
    assert sorted((r["resource"]["container"], r["outcome"]) for r in doc["results"]) == [
        ("side", "failed"), ("web", "passed")]
    assert doc["results"][0]["nodeid"].startswith("test_mine.py::test_team[shop]::shop/Deployment/api:container=")


def test_group_by_is_validated(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nk8s_group_by = cluster\n")
    app = pytester.makefile(".yaml", app="apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n")
    result = pytester.runpytest("--k8s-manifests", str(app))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "k8s_group_by takes auto, resource, namespace, control, not 'cluster'" in result.stderr.str()


@pytest.mark.parametrize(("requested", "workloads", "mode", "reason"), [
    ("auto", 0, "resource", "one test per object: 0 workloads is not above 300 (above it, tests are grouped by "
                            "control)"),
    ("auto", 1, "resource", "one test per object: 1 workload is not above 300 (above it, tests are grouped by "
                            "control)"),
    ("auto", 300, "resource", "one test per object: 300 workloads is not above 300 (above it, tests are grouped "
                              "by control)"),
    ("auto", 301, "control", "grouped by control: 301 workloads is above 300; pass --k8s-group-by resource for one "
                             "test per object"),
    ("auto", 2000, "control", "grouped by control: 2,000 workloads is above 300; pass --k8s-group-by resource for "
                              "one test per object"),
    # an explicit mode wins, whatever the size
    ("resource", 0, "resource", "one test per object: --k8s-group-by resource (or k8s_group_by) was given"),
    ("namespace", 0, "namespace", "grouped by namespace: --k8s-group-by namespace (or k8s_group_by) was given"),
    ("control", 0, "control", "grouped by control: --k8s-group-by control (or k8s_group_by) was given"),
])
def test_auto_grouping_chooses_by_workloads_in_scope(requested: str, workloads: int, mode: str,
                                                     reason: str) -> None:
    from pytest_k8shardening.grouping import AUTO_THRESHOLD, Grouping, choose_grouping

    assert AUTO_THRESHOLD == 300
    g = choose_grouping(requested, workloads)
    assert (g.mode, g.reason) == (mode, reason)
    assert Grouping.from_dict(g.as_dict()) == g  # what the xdist controller hands its workers


def _big_cluster() -> str:
    """312 workloads (above auto's threshold) in 6 namespaces, one in three privileged."""
    return _cluster(6, 52)


#: A few controls of each subject type (container, workload, namespace, RBAC), so a per-object run stays short.
_FEW = ["-m", "nsa", "-k", "not_privileged or no_host_pid or limit_range or no_wildcards"]


def _tests_line(out: str) -> str:
    return next(line for line in out.splitlines() if line.startswith("tests: "))


def test_auto_groups_large_inputs_by_control_with_the_same_results(tmp_path: Path) -> None:
    """Above 300 workloads no flag means grouped by control (said in the header, the summary and the JSON
    summary); the per-object results are those of --k8s-group-by resource; an explicit mode, on the command
    line or in the ini file, wins."""
    (tmp_path / "cluster.yaml").write_text(_big_cluster())
    auto = _run(["--k8s-manifests=cluster.yaml", *_FEW, "--k8s-report-json", "auto.json", "--tb=no"], tmp_path)
    per_object = _run(["--k8s-manifests=cluster.yaml", *_FEW, "--k8s-group-by", "resource",
                       "--k8s-report-json", "res.json", "--tb=no"], tmp_path)
    assert auto.returncode == per_object.returncode == 1, auto.stdout[-2000:] + auto.stderr[-2000:]
    a, r = _per_resource(tmp_path / "auto.json"), _per_resource(tmp_path / "res.json")
    assert len(a) > 600 and a == r
    assert sum(1 for x in a if x[2] == "failed") > 100
    why = "grouped by control: 312 workloads is above 300; pass --k8s-group-by resource for one test per object"
    assert _tests_line(auto.stdout) == f"tests: {why}"  # shown with -q too: the ids are not per object
    summary = json.loads((tmp_path / "auto.json").read_text())["summary"]
    assert summary["target"]["grouping"] == {"mode": "control", "requested": "auto", "workloads": 312,
                                             "threshold": 300, "reason": why}
    assert "::test_not_privileged[all]" in "".join(x["nodeid"] for x in
                                                   json.loads((tmp_path / "auto.json").read_text())["results"])
    items = [sum(int(n) for n in re.findall(r"(\d+) (?:passed|failed|skipped)", counts_line(out.stdout)))
             for out in (auto, per_object)]
    assert items[0] < 10 < 600 < items[1]
    assert json.loads((tmp_path / "res.json").read_text())["summary"]["target"]["grouping"]["mode"] == "resource"
    # the header says it too (not shown with -q)
    header = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--co",
                             "--k8s-manifests=cluster.yaml", *_FEW], cwd=tmp_path, capture_output=True, text=True,
                            timeout=300)
    assert f"k8shardening: {why}" in header.stdout.splitlines()[:6], header.stdout[:2000]
    (tmp_path / "pytest.ini").write_text("[pytest]\nk8s_group_by = resource\n")
    ini = _run(["--k8s-manifests=cluster.yaml", *_FEW, "--co"], tmp_path)
    assert "test_not_privileged[team-0/Deployment/app-0:container=c]" in ini.stdout
    assert "[all]" not in ini.stdout


def test_auto_grouping_under_xdist_equals_serial(tmp_path: Path) -> None:
    """The controller chooses once and hands the choice to its workers: they collect the same grouped items,
    and the results are those of a serial run."""
    pytest.importorskip("xdist")
    (tmp_path / "cluster.yaml").write_text(_big_cluster())
    serial = _run(["--k8s-manifests=cluster.yaml", *_FEW, "--k8s-report-json", "s.json", "--tb=no"], tmp_path)
    par = _run(["--k8s-manifests=cluster.yaml", *_FEW, "-n", "2", "--k8s-report-json", "p.json", "--tb=no"],
               tmp_path)
    assert serial.returncode == par.returncode == 1, par.stdout[-2000:] + par.stderr[-2000:]
    assert "Different tests were collected" not in par.stdout + par.stderr
    assert _per_resource(tmp_path / "s.json") == _per_resource(tmp_path / "p.json")
    assert _tests_line(par.stdout) == _tests_line(serial.stdout)
    assert json.loads((tmp_path / "p.json").read_text())["summary"]["target"]["grouping"]["mode"] == "control"
    outcomes = [dict((k, n) for n, k in re.findall(r"(\d+) (passed|failed|skipped)", counts_line(out.stdout)))
                for out in (serial, par)]
    assert outcomes[0] == outcomes[1] and outcomes[0]["failed"]


@pytest.mark.parametrize("where", ["examples/insecure", "examples/hardened"])
def test_small_inputs_keep_one_test_per_object(where: str, tmp_path: Path) -> None:
    """The shipped examples (and every other small input) keep readable per-object ids without a flag."""
    result = _run([f"--k8s-manifests={ROOT / where}", "-m", "nsa", "--co", "-v"], tmp_path)
    assert result.returncode == 0, result.stdout[-2000:]
    assert re.search(r"test_not_privileged\[\w[\w-]*/Deployment/[\w-]+:container=[\w-]+\]", result.stdout)
    assert "[all]" not in result.stdout
    assert re.search(r"^tests: one test per object: \d+ workloads? is not above 300", result.stdout, re.M)


@pytest.mark.parametrize(("group_by", "hint"), [("resource", True), ("control", False)])
def test_many_findings_hint_only_where_findings_are_printed(pytester: pytest.Pytester, group_by: str,
                                                           hint: bool) -> None:
    """Above 2,000 failed findings printed in full, the summary suggests --tb=line or grouping;
    grouped items list objects (at most 50 each), so the hint would be wrong there."""
    items = ",".join(f'{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"c{i}","namespace":"a"}}}}'
                     for i in range(2001))
    cluster = pytester.makefile(".json", cluster=f'{{"apiVersion":"v1","kind":"List","items":[{items}]}}')
    pytester.makepyfile(test_mine="""
        from pytest_k8shardening import Finding, assert_compliant, control

        @control("acme.owner", title="t", severity="low", category="metadata", frameworks=["org"], remediation="r")
        def test_owner(k8s_object):
            assert_compliant([Finding(f"{k8s_object.name} has no owner label", None)])
    """)
    result = pytester.runpytest("--k8s-manifests", str(cluster), "--k8s-no-builtin", "--k8s-group-by", group_by,
                                "-p", "no:randomly")
    assert result.ret == 1
    assert ("hint: 2001 findings were printed in full" in result.stdout.str()) is hint


def _cluster(n_namespaces: int, per_namespace: int) -> str:
    docs = []
    for i in range(n_namespaces):
        docs.append(f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: team-{i}}}\n")
        for j in range(per_namespace):
            ctx = "{privileged: true}" if j % 3 == 0 else "{runAsNonRoot: true, allowPrivilegeEscalation: false}"
            docs.append(f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: app-{j}, namespace: team-{i}}}\n"
                        f"spec: {{template: {{spec: {{containers: [{{name: c, image: reg.example/app:{j}, "
                        f"securityContext: {ctx}}}]}}}}}}\n")
    return "---\n".join(docs)


@pytest.mark.parametrize("mode", ["control", "namespace"])
def test_grouped_results_under_xdist_equal_serial(tmp_path: Path, mode: str) -> None:
    """Under xdist the workers build and encode grouped items' result entries: the JSON results,
    summary, SARIF, waivers and gate are the same as in a serial run (and the JSON is large enough to be
    written compact)."""
    pytest.importorskip("xdist")
    (tmp_path / "cluster.yaml").write_text(_cluster(3, 40))
    past = (dt.date.today() - dt.timedelta(days=3)).isoformat()
    (tmp_path / "waivers.yaml").write_text(f"""\
waivers:
  - {{control: nsa.pod.privileged, namespace: team-0, reason: lab nodes need raw devices, owner: lab, expires: {FUTURE}}}
  - {{control: nsa.pod.privileged, namespace: team-1, reason: an old vendor exception, owner: x, expires: {past}}}
  - {{control: nsa.pod.host-pid, namespace: nowhere, reason: a cluster that is gone, owner: y, expires: {FUTURE}}}
""")
    (tmp_path / "probe.py").write_text(  # which path the entries took, noted where reports arrive
        "import os\n"
        "from pytest_k8shardening.record import Batch\n"
        "def pytest_runtest_logreport(report):\n"
        "    if report.when == 'teardown' and not os.environ.get('PYTEST_XDIST_WORKER'):\n"
        "        rec = getattr(report, 'k8s_result', None)\n"
        "        with open('paths.txt', 'a') as fh:\n"
        "            if isinstance(rec, Batch):  # a grouped item that checked objects: encoded by its worker?\n"
        "                fh.write(('batch' if rec.text is not None else 'dicts') + '\\n')\n")
    common = ["-p", "probe", "--k8s-manifests=cluster.yaml", "-m", "nsa", "--k8s-group-by", mode,
              "--k8s-waivers", "waivers.yaml",
              "--k8s-fail-on", "high", "--tb=no"]
    serial = _run([*common, "--k8s-report-json", "s.json", "--k8s-report-sarif", "s.sarif"], tmp_path)
    assert "batch" not in (paths := (tmp_path / "paths.txt").read_text().split()) and "dicts" in paths
    (tmp_path / "paths.txt").unlink()
    par = _run([*common, "-n", "2", "--k8s-report-json", "p.json", "--k8s-report-sarif", "p.sarif"], tmp_path)
    paths = (tmp_path / "paths.txt").read_text().split()
    assert paths.count("batch") > 20 and "dicts" not in paths
    assert serial.returncode == par.returncode == 1, par.stdout[-2000:] + par.stderr[-2000:]
    s_text, p_text = (tmp_path / "s.json").read_text(), (tmp_path / "p.json").read_text()
    assert "\n " not in p_text  # compact: more than 2,000 entries
    s, p = json.loads(s_text), json.loads(p_text)
    assert s["summary"]["total"] > 2000 and s["summary"]["waived"] == 14 and s["summary"]["failed"]
    assert sorted(s["results"], key=lambda r: r["nodeid"]) == sorted(p["results"], key=lambda r: r["nodeid"])
    for key in ("started", "finished"):
        del s["summary"][key], p["summary"][key]
    assert s["summary"] == p["summary"]
    assert [w["index"] for w in p["summary"]["waivers"]["expired"]] == [2]
    sarif = [sorted((json.dumps({k: v for k, v in r.items() if k != "ruleIndex"}, sort_keys=True)  # rule order
                     for r in json.loads((tmp_path / f).read_text())["runs"][0]["results"]))  # is arrival order
             for f in ("s.sarif", "p.sarif")]
    assert sarif[0] and sarif[0] == sarif[1]
    compliance = [next(line for line in out.stdout.splitlines() if line.startswith("compliance:"))
                  for out in (serial, par)]
    assert compliance[0] == compliance[1]


def test_grouped_result_hook_under_xdist_sees_every_entry(tmp_path: Path) -> None:
    """With a result hook, the entries of grouped items are built where reports arrive, as documented."""
    pytest.importorskip("xdist")
    (tmp_path / "cluster.yaml").write_text(_cluster(2, 3))
    (tmp_path / "conftest.py").write_text(
        "def pytest_k8shardening_result(config, result):\n"
        "    result['seen_by'] = 'worker' if hasattr(config, 'workerinput') else 'controller'\n")
    par = _run(["--k8s-manifests=cluster.yaml", "-m", "nsa", "--k8s-group-by", "namespace", "-n", "2",
                "--k8s-report-json", "p.json", "--tb=no"], tmp_path)
    assert par.returncode == 1, par.stdout[-2000:]
    results = json.loads((tmp_path / "p.json").read_text())["results"]
    assert len(results) > 20 and {r.get("seen_by") for r in results} == {"controller"}


def test_worker_encoded_records_are_the_entry_dicts_json_byte_for_byte() -> None:
    """A worker sends a grouped item's records as JSON text: it must be what encoding the entry dicts
    gives, for every kind of object result, and read back as the same entries (also through pytest's
    own JSON form of a report)."""
    from pytest_k8shardening.annotate import group_batch
    from pytest_k8shardening.record import Batch, ControlFields, Result, WaiverHit

    encode = json.JSONEncoder(separators=(",", ":")).encode

    ctrl = {"control": "nsa.pod.privileged", "title": "Containers are not \"privileged\"", "severity": "critical",
            "category": "pod_security", "frameworks": ["nsa", "pss_baseline"],
            "references": {"kubescape": ["C-0057"], "trivy": [], "cis": ["5.2.2"], "pss": "baseline"},
            "remediation": "Remove privileged: true — use capabilities\n instead."}
    resources = {i: {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "ns", "name": i,
                     "container": "c", "containerType": "container", "file": "a/b ü.yaml", "line": 3}
                 for i in ("ns/Deployment/ok:container=c", "ns/Deployment/ünï\"code:container=c")}
    failing = dict(resources["ns/Deployment/ok:container=c"], name="bad")
    subresults = [
        {"id": "ns/Deployment/ok:container=c", "outcome": "passed"},
        {"id": "ns/Deployment/ünï\"code:container=c", "outcome": "passed"},
        {"id": "ns/Deployment/bad:container=c", "outcome": "failed", "message": "privileged: true\n\tsecond",
         "findings": [{"message": "privileged", "field": "spec.x", "value": True}], "resource": failing},
        {"id": "ns/Deployment/w:container=c", "outcome": "waived", "message": "m", "findings": [],
         "resource": failing, "waiver": WaiverHit(1, False, "waived by waiver #1: lab")},
        {"id": "ns/Deployment/x:container=c", "outcome": "failed", "message": "m", "findings": [],
         "resource": failing, "waiver": WaiverHit(2, True, "waiver expired: waiver #3 (x)")},
        {"id": "ns/Deployment/s:container=c", "outcome": "skipped", "message": "not readable", "resource": failing},
        {"id": "ns/Deployment/e:container=c", "outcome": "error", "message": "KeyError: 'x'", "resource": failing},
    ]
    nodeid = "k8shardening/nsa/test_pod_security.py::test_privileged[ns]"
    looked_up: list[str] = []

    def resolve(ident: str) -> dict[str, object]:
        looked_up.append(ident)
        return resources[ident]

    for ctrl_fields in (ctrl, {"control": None}):  # a control with every field, and a bare one
        fields = ControlFields.from_dict(ctrl_fields)
        records = group_batch(nodeid, fields, subresults, resolve)
        assert records.records is not None
        dicts = [r.to_json() for r in records.records]
        assert list(dicts[3]) == ["nodeid", "control", "title", "severity", "category", "frameworks", "references",
                                  "resource", "outcome", "message", "findings", "remediation", "waiver",
                                  "waiver_match"]
        assert "waiver" not in dicts[4]  # an expired waiver does not waive: no "waiver" text, as per object...
        assert dicts[4]["waiver_match"] == {"index": 3, "expired": True,  # ...but it is named
                                            "text": "waiver expired: waiver #3 (x)"}
        assert [Result.from_json(d).to_json() for d in dicts] == dicts
        batch = records.encoded()
        assert batch.records is None and batch.text == encode(dicts)[1:-1] == records.json_text()
        assert batch.entries() == dicts and batch.count == len(dicts)
        back = Batch.from_wire(json.loads(json.dumps(batch.to_wire())))
        assert back.entries() == dicts and back.tally == batch.tally
    assert sorted(looked_up) == sorted([*resources, *resources])  # only passing objects travel as their id
    assert batch.tally == {("passed", None): 2, ("failed", None): 2, ("waived", None): 1,
                           ("skipped", "not readable"): 1, ("error", None): 1}
    assert (batch.used_waivers, batch.expired_waivers) == ((1,), (2,))
