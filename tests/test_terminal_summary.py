"""The terminal summary (issue 16): printed last, FAILED lines that carry the finding, a per-control table,
per-framework scores over objects, and nothing after a usage error."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from pytest_k8shardening.annotate import compact_finding, crash_message
from pytest_k8shardening.collector import ResultsCollector
from pytest_k8shardening.record import Batch, ControlFields, Result
from pytest_k8shardening.reporting.terminal import control_table, framework_line
from tests.output import counts_line

ROOT = Path(__file__).resolve().parents[1]
INSECURE = ROOT / "examples" / "insecure"

MANIFESTS = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  template:
    spec:
      containers:
        - {name: a, image: x, securityContext: {privileged: true}}
        - {name: b, image: x}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: good, namespace: shop}
spec: {template: {spec: {containers: [{name: c, image: x}]}}}
---
apiVersion: v1
kind: Pod
metadata: {name: lone, namespace: shop}
spec: {containers: [{name: d, image: x}]}
"""

#: Two frameworks whose objects and results differ on purpose (see test_per_framework_scores_count_objects).
CONTROLS = '''\
import pytest
from pytest_k8shardening import assert_compliant, control, Finding

POD = dict(category="pod_security", remediation="fix it")


@control("acme.nsa.priv", title="No privileged container", severity="critical", frameworks=["nsa"], **POD)
def test_nsa_priv(k8s_container):
    privileged = k8s_container.security_context.get("privileged")
    assert_compliant([Finding("spec.template.spec.containers[0].securityContext.privileged=true: privileged",
                              "spec.template.spec.containers[0].securityContext.privileged")] if privileged else [])


@control("acme.nsa.name", title="Not named good", severity="low", frameworks=["nsa"], **POD)
def test_nsa_name(k8s_workload):
    assert_compliant([Finding("named good"), Finding("really named good")] if k8s_workload.name == "good" else [])


@control("acme.pss.priv", title="No privileged pod", severity="high", frameworks=["pss_baseline"], **POD)
def test_pss_priv(k8s_workload):
    bad = [c.name for c in k8s_workload.containers if c.security_context.get("privileged")]
    assert_compliant([Finding(f"container {n} is privileged") for n in bad])


@control("acme.pss.crash", title="Crashes on the pod lone", severity="medium", frameworks=["pss_baseline"], **POD)
def test_pss_crash(k8s_workload):
    if k8s_workload.name == "lone":
        raise KeyError("spec.nothing")


@control("acme.both.manual", title="Checked by hand", severity="info", frameworks=["nsa", "pss_baseline"], **POD)
def test_both_manual(k8s_workload):
    pytest.skip("manual: look at it")
'''


def _env(**extra: str) -> dict[str, str]:
    """The environment, not on CI (pytest cuts FAILED lines to the terminal's width only off CI)."""
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "BUILD_NUMBER", "PYTEST_ADDOPTS")}
    return {**env, **extra}


def _run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=600, env=_env(**env))


@pytest.fixture
def custom(tmp_path: Path) -> Path:
    (tmp_path / "app.yaml").write_text(MANIFESTS)
    (tmp_path / "test_acme.py").write_text(CONTROLS)
    return tmp_path


def _custom(custom: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return _run(["--k8s-no-builtin", "--k8s-manifests=app.yaml", *args], custom, **env)


# -- 1: the compliance summary is the last thing printed --------------------------------------------------
@pytest.mark.parametrize("args", [
    pytest.param(["-q"], id="-q"),
    pytest.param(["-q", "-rA"], id="-q -rA"),
    pytest.param(["-q", "--tb=line"], id="-q --tb=line"),
    pytest.param(["-q", "-n", "2"], id="-q -n 2"),
    pytest.param([], id="default"),
    pytest.param(["-rA", "--tb=line"], id="-rA --tb=line"),
    pytest.param(["-n", "2"], id="-n 2"),
])
def test_the_compliance_summary_is_printed_last(custom: Path, args: list[str]) -> None:
    if "-n" in args:
        pytest.importorskip("xdist")
    proc = _custom(custom, "--k8s-fail-on", "high", *args)
    lines = proc.stdout.splitlines()
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-2000:]
    failed = [i for i, line in enumerate(lines) if line.startswith("FAILED ")]
    counts = lines.index(counts_line(proc.stdout))
    compliance = next(i for i, line in enumerate(lines) if line.startswith("compliance: "))
    scores = next(i for i, line in enumerate(lines) if line.startswith("scores by framework"))
    assert failed and max(failed) < counts < compliance < scores, proc.stdout[-3000:]
    assert re.search(r"\b3 failed\b", lines[counts]) and " in " in lines[counts]  # pytest's own counts line
    assert lines[-1] == "gate: FAILED: 2 finding(s) at or above --k8s-fail-on high; 1 error(s)", proc.stdout[-2000:]
    if "-q" not in args:
        header = lines.index(next(line for line in lines if "k8shardening summary" in line))
        assert counts < header < compliance
        assert "short test summary info" in "\n".join(lines[:counts])


def test_the_gate_line_is_last_when_it_passes(custom: Path) -> None:
    """A gate that passes with findings below it: pytest's counts line says failed, the last line says why the
    exit status is 0."""
    proc = _custom(custom, "-q", "--k8s-fail-on", "none", "-k", "not crash")
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert "3 failed" in counts_line(proc.stdout)
    assert proc.stdout.splitlines()[-1] == "gate: passed; 3 finding(s) below the threshold are reported only"


# -- 2: FAILED lines carry the finding -------------------------------------------------------------------
@pytest.mark.parametrize(("ctrl", "first", "more", "expected"), [
    pytest.param({"control": "nsa.pod.privileged", "severity": "critical"},
                 "spec.template.spec.containers[0].securityContext.privileged=true: a privileged container", 0,
                 "[critical] securityContext.privileged=true: a privileged container (nsa.pod.privileged)",
                 id="container field of a workload: the pod template's path dropped"),
    pytest.param({"control": "c", "severity": "high"}, "spec.jobTemplate.spec.template.spec.hostPID=true", 0,
                 "[high] hostPID=true (c)", id="a CronJob's pod field"),
    pytest.param({"control": "c", "severity": "high"}, "runs as root: spec.securityContext.runAsUser=0", 0,
                 "[high] runs as root: securityContext.runAsUser=0 (c)", id="a Pod's field, inside the message"),
    pytest.param({"control": "c", "severity": "low"}, "resources.limits.cpu is not set", 2,
                 "[low] resources.limits.cpu is not set; and 2 more (c)", id="more findings are counted"),
    pytest.param({"control": "c", "severity": "low"}, "podspec.template.x is odd", 0,
                 "[low] podspec.template.x is odd (c)", id="only a path that starts at spec"),
    pytest.param({"control": "c", "severity": "medium"}, "first line\nsecond line", 0,
                 "[medium] first line (c)", id="the first line only"),
    pytest.param(None, "no control", 0, "no control", id="a test without a control"),
])
def test_crash_message(ctrl: dict[str, Any] | None, first: str, more: int, expected: str) -> None:
    assert crash_message(ctrl, first, more) == expected


def test_an_errors_text_is_kept() -> None:
    assert crash_message({"control": "c", "severity": "low"}, "KeyError: 'spec.nothing'", finding=False) == \
        "[low] KeyError: 'spec.nothing' (c)"


def test_compact_finding_keeps_a_line_short() -> None:
    long = "x" * 400
    assert compact_finding(long) == "x" * 157 + "..."
    assert len(crash_message({"control": "c", "severity": "low"}, long)) == len("[low] ") + 160 + len(" (c)")


def test_failed_lines_carry_severity_and_finding(custom: Path) -> None:
    """Off CI pytest cuts ``FAILED <id> - <message>`` to the terminal's width: what is left starts with the
    severity and the finding, not with the control's id (the test name already says it)."""
    proc = _custom(custom, "-q", COLUMNS="110")
    failed = {line.partition(" - ")[0].split(" ", 1)[1]: line.partition(" - ")[2]
              for line in proc.stdout.splitlines() if line.startswith(("FAILED ", "ERROR "))}
    priv = failed["test_acme.py::test_nsa_priv[shop/Deployment/api:container=a]"]
    assert priv.startswith("[critical] securityContext.privileged"), failed
    assert len(proc.stdout.splitlines()[0]) <= 110
    # on CI, the whole line
    ci = _custom(custom, "-q", "-rfE", CI="true")
    lines = ci.stdout.splitlines()
    assert ("FAILED test_acme.py::test_nsa_priv[shop/Deployment/api:container=a] - [critical] "
            "securityContext.privileged=true: privileged (acme.nsa.priv)") in lines, ci.stdout[-3000:]
    assert ("FAILED test_acme.py::test_nsa_name[shop/Deployment/good] - [low] named good; and 1 more "
            "(acme.nsa.name)") in lines
    # a crash inside a control is an error: its line is the exception's
    assert "ERROR test_acme.py::test_pss_crash[shop/Pod/lone] - KeyError: 'spec.nothing'" in lines


def test_grouped_failed_lines_name_the_count_and_the_first_object(custom: Path) -> None:
    proc = _custom(custom, "-q", "--k8s-group-by", "control", CI="true")
    lines = proc.stdout.splitlines()
    assert ("FAILED test_acme.py::test_nsa_priv[all] - [critical] 1/4 failed: shop/Deployment/api:container=a: "
            "securityContext.privileged=true: privileged (acme.nsa.priv)") in lines, proc.stdout[-3000:]
    assert ("FAILED test_acme.py::test_nsa_name[all] - [low] 1/3 failed: shop/Deployment/good: named good "
            "(acme.nsa.name)") in lines
    assert ("ERROR test_acme.py::test_pss_crash[all] - [medium] 1/3 errored: shop/Pod/lone: KeyError: "
            "'spec.nothing' (acme.pss.crash)") in lines


def test_builtin_failed_lines_on_the_insecure_example(tmp_path: Path) -> None:
    proc = _run([f"--k8s-manifests={INSECURE}", "-q", "-k", "privileged"], tmp_path, CI="true")
    lines = proc.stdout.splitlines()
    assert ("FAILED k8shardening/nsa/test_pod_security.py::test_not_privileged[shop/Deployment/api:container=web] - "
            "[critical] securityContext.privileged=true: a privileged container has every capability and all host "
            "devices (nsa.pod.privileged)") in lines, proc.stdout[-3000:]


# -- 3: per-control table, per-framework scores ------------------------------------------------------------
def test_controls_table_matches_the_json(custom: Path) -> None:
    proc = _custom(custom, "--k8s-controls-table", "--k8s-report-json", "r.json")
    by_control = json.loads((custom / "r.json").read_text())["summary"]["by_control"]
    lines = proc.stdout.splitlines()
    start = lines.index("controls:")
    assert lines[start + 1].split() == ["control", "severity", "passed", "failed", "waived", "skipped", "errors"]
    rows = [line.split() for line in lines[start + 2:start + 2 + len(by_control)]]
    # most severe first
    assert [r[0] for r in rows] == ["acme.nsa.priv", "acme.pss.priv", "acme.pss.crash", "acme.nsa.name",
                                    "acme.both.manual"]
    for cid, sev, *counts in rows:
        v = by_control[cid]
        assert [sev, *map(int, counts)] == [v["severity"], v["passed"], v["failed"], v["waived"], v["skipped"],
                                            v["error"]]
    assert by_control["acme.nsa.priv"] == {"severity": "critical", "frameworks": ["nsa"], "passed": 3, "failed": 1,
                                           "waived": 0, "skipped": 0, "error": 0, "score": 75.0}
    assert by_control["acme.pss.crash"]["error"] == 1 and by_control["acme.both.manual"]["skipped"] == 3
    # the table only on request
    assert "controls:" not in _custom(custom).stdout.splitlines()


def test_per_framework_scores_count_objects(custom: Path) -> None:
    """NSA: api fails (container a), good fails (its name), lone passes: 1 of 3 objects, though 5 of its 7
    decided results passed. PSS: api fails, good passes, lone errored (neither). The headline score stays
    over all results (the --k8s-min-score gate's)."""
    proc = _custom(custom, "-q", "--k8s-report-json", "r.json")
    summary = json.loads((custom / "r.json").read_text())["summary"]
    nsa, pss = summary["by_framework"]["nsa"], summary["by_framework"]["pss_baseline"]
    assert nsa["objects"] == {"passed": 1, "failed": 2, "error": 0} and nsa["score"] == 33.3
    assert (nsa["passed"], nsa["failed"], nsa["skipped"]) == (5, 2, 3)
    assert pss["objects"] == {"passed": 1, "failed": 1, "error": 1} and pss["score"] == 50.0
    assert summary["score"] == 75.0  # 9 of 12 results
    assert ("scores by framework (objects with no failed control of it): nsa 33.3% (1/3), "
            "pss_baseline 50.0% (1/2, 1 errored)") in proc.stdout.splitlines()
    # one framework: no per-framework line (the headline says it)
    one = _custom(custom, "-q", "-m", "nsa and not pss_baseline")
    assert "scores by framework" not in one.stdout and "compliance: " in one.stdout


def _rec(control: str, frameworks: list[str], name: str | None, outcome: str, container: str | None = None,
         file: str = "a.yaml") -> Result:
    resource = None if name is None else {"kind": "Deployment", "namespace": "shop", "name": name,
                                          "container": container, "file": file}
    return Result(f"t::{control}[{name}:{container}]", ControlFields(control, "t", "high", "pod_security",
                                                                     frameworks), resource, outcome)


@pytest.mark.parametrize(("records", "expected"), [
    pytest.param([_rec("n1", ["nsa"], "api", "passed", "a"), _rec("n1", ["nsa"], "api", "failed", "b")],
                 {"nsa": {"failed": 1}}, id="one failed container fails the object, counted once"),
    pytest.param([_rec("n1", ["nsa"], "api", "passed"), _rec("n2", ["nsa"], "api", "waived")],
                 {"nsa": {"passed": 1}}, id="a waived finding does not fail the object"),
    pytest.param([_rec("n1", ["nsa"], "api", "waived"), _rec("n2", ["nsa"], "api", "skipped")],
                 {}, id="an object only waived or skipped is not scored"),
    pytest.param([_rec("n1", ["nsa"], "api", "passed"), _rec("n2", ["nsa"], "api", "error")],
                 {"nsa": {"error": 1}}, id="an error and no failure: errored"),
    pytest.param([_rec("n1", ["nsa"], "api", "failed"), _rec("n2", ["nsa"], "api", "error")],
                 {"nsa": {"failed": 1}}, id="a failure outweighs an error"),
    pytest.param([_rec("n1", ["nsa", "cis"], "api", "failed"), _rec("p1", ["pss_baseline"], "api", "passed")],
                 {"nsa": {"failed": 1}, "cis": {"failed": 1}, "pss_baseline": {"passed": 1}},
                 id="each framework judges the object by its own controls"),
    pytest.param([_rec("n1", ["nsa"], "api", "passed", file="a.yaml"), _rec("n1", ["nsa"], "api", "failed",
                                                                             file="b.yaml")],
                 {"nsa": {"passed": 1, "failed": 1}}, id="two variants are two objects"),
    pytest.param([_rec("n1", ["nsa"], None, "passed"), _rec("n2", ["nsa"], None, "failed")],
                 {"nsa": {"passed": 1, "failed": 1}}, id="a result without a resource is its own object"),
    pytest.param([_rec("n1", [], "api", "failed")], {}, id="a control of no framework"),
])
def test_framework_objects(records: list[Result], expected: dict[str, dict[str, int]]) -> None:
    for as_batch in (False, True):
        c = ResultsCollector(SimpleNamespace(), dict, None)  # type: ignore[arg-type]  # no hook is asked
        if as_batch:  # a grouped item's records, as an xdist worker sends them (JSON text)
            for r in records:
                c.results.append(Batch.of(r.control, [r]).encoded())
        else:
            c.results.extend(records)
        assert {fw: dict(n) for fw, n in c.framework_objects().items()} == expected


@pytest.mark.parametrize("records", [
    pytest.param([_rec("n1", ["nsa"], "api", "failed", file="we}ird.yaml"), _rec("n2", ["nsa"], "ok", "passed")],
                 id="a } in a file name"),
    pytest.param([_rec("n1", ["nsa"], "api", "failed", file="we{ird.yaml"), _rec("n2", ["nsa"], "ok", "passed")],
                 id="a { in a file name"),
    pytest.param([_rec("n1", ["nsa"], None, "failed"), _rec("n1", ["nsa"], "ok", "passed")],
                 id="a record without a resource"),
    pytest.param([Result("t::x", ControlFields("n1", "t", "high", "pod_security", ["nsa"]),
                         {"kind": "Pod", "namespace": "a", "name": "b", "file": 'x"outcome":"failed".yaml'},
                         "passed", 'says "outcome":"failed" and "resource":{"name":"z"}')],
                 id="the keys written inside string values"),
])
def test_encoded_batches_count_as_their_records(records: list[Result]) -> None:
    """The workers' JSON text is searched, not decoded (speedups.scan_entries); where it is not as expected
    it is decoded, so the objects are the records' either way."""
    plain = ResultsCollector(SimpleNamespace(), dict, None)  # type: ignore[arg-type]
    plain.results.extend(records)
    encoded = ResultsCollector(SimpleNamespace(), dict, None)  # type: ignore[arg-type]
    encoded.results.append(Batch.of(records[0].control, records).encoded())
    assert encoded.framework_objects() == plain.framework_objects()


def test_framework_line_and_control_table_text() -> None:
    assert framework_line({"nsa": {"score": None, "objects": {"passed": 0, "failed": 0, "error": 2}}}) == \
        "scores by framework (objects with no failed control of it): nsa n/a (0/0, 2 errored)"
    table = control_table({"b.x": {"severity": "low", "passed": 1}, "a.long-name": {"severity": None, "failed": 2}})
    assert table == ["controls:",
                     "  control      severity  passed  failed  waived skipped  errors",
                     "  b.x          low            1       0       0       0       0",
                     "  a.long-name  -              0       2       0       0       0"]


def test_html_summary_has_the_controls_and_framework_tables(custom: Path) -> None:
    pytest.importorskip("pytest_html")
    _custom(custom, "--html", "report.html", "--self-contained-html", "--k8s-report-json", "r.json")
    html = (custom / "report.html").read_text()
    summary = json.loads((custom / "r.json").read_text())["summary"]
    table = re.search(r'<table id="k8sh-controls">.*?<tbody>(.*?)</tbody>', html)
    assert table, html[:3000]
    rows = re.findall(r"<tr><td>([^<]+)</td><td[^>]*>(?:<span[^>]*>\d</span>)?([a-z]*)</td>"
                      r"<td>(\d+)</td><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td></tr>", table.group(1))
    assert len(rows) == len(summary["by_control"]) == 5
    for cid, sev, *counts in rows:
        v = summary["by_control"][cid]
        assert [sev, *map(int, counts)] == [v["severity"], v["passed"], v["failed"], v["waived"], v["skipped"],
                                            v["error"]]
    frameworks = re.search(r'<table id="k8sh-frameworks">.*?<tbody>(.*?)</tbody>', html)
    assert frameworks and "<tr><td>nsa</td><td>1</td><td>2</td><td>0</td><td>33.3%</td></tr>" in frameworks.group(1)


# -- 4: no summary after a usage error; an incomplete run says so -------------------------------------------
@pytest.mark.parametrize("target", ["test_acme.py::test_nope", "nothere.py", "k8shardening/nsa/test_nope.py"])
def test_no_compliance_line_after_a_usage_error(custom: Path, target: str) -> None:
    proc = _custom(custom, target)
    assert proc.returncode == 4, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "not found" in proc.stderr
    assert "compliance:" not in proc.stdout and "k8shardening summary" not in proc.stdout, proc.stdout


def test_a_collection_error_says_incomplete_without_counts(custom: Path) -> None:
    (custom / "test_broken.py").write_text("def test_x(:\n")
    proc = _custom(custom, "-q")
    assert proc.returncode == 2, proc.stdout[-2000:]
    assert "compliance:" not in proc.stdout, proc.stdout
    assert proc.stdout.splitlines()[-1].startswith("run incomplete: 16 of 16 selected items not run"), proc.stdout
