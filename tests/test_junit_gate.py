"""JUnit agrees with the gate; the JSON tells the whole story of a waiver (issue 16).

JUnit is read with junitparser, a JUnit consumer CI tooling uses, not with our own reading of the
format: a finding below ``--k8s-fail-on`` (or under a passing ``--k8s-min-score``) and a waived one
are ``<skipped>`` with the reason, a finding that fails the gate is a ``<failure>``, a crash an
``<error>``; the suite's counts equal the testcases' and the gate's. The JSON names the waiver that
matched a failed finding (waived or expired) and lists expired and stale waivers in its summary, in
per-object and grouped mode, serial and under ``-n 2``.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from pytest_k8shardening.collector import Gates
from pytest_k8shardening.reporting.junit import BELOW_GATE, below_gate

junitparser = pytest.importorskip("junitparser")

WORKLOADS = "---\n".join(f"""\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: shop}}
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec: {{containers: [{{name: c, image: registry.example.org/shop/{name}:1.0}}]}}
""" for name in ("good", "bad", "worse", "boom"))

#: One control per severity; a finding where the workload's name is in the set.
CONTROLS = '''\
from pytest_k8shardening import Finding, assert_compliant, control

def _fails_on(workload, names):
    assert_compliant([Finding(f"{workload.name} is not compliant", "spec")] if workload.name in names else [])

@control("acme.crit", title="critical control", severity="critical", category="pod_security",
         frameworks=["org"], remediation="fix")
def test_crit(k8s_workload):
    _fails_on(k8s_workload, {"bad"})

@control("acme.medium", title="medium control", severity="medium", category="pod_security",
         frameworks=["org"], remediation="fix")
def test_medium(k8s_workload):
    _fails_on(k8s_workload, {"bad", "worse"})

@control("acme.low", title="low control", severity="low", category="pod_security",
         frameworks=["org"], remediation="fix")
def test_low(k8s_workload):
    _fails_on(k8s_workload, {"bad", "worse", "boom"})

@control("acme.crash", title="a check with a bug", severity="low", category="pod_security",
         frameworks=["org"], remediation="fix")
def test_crash(k8s_workload):
    if k8s_workload.name == "boom":
        raise KeyError("spec.nothing")
'''

#: #1 waives acme.medium on worse; #2 matches acme.low on bad but has expired; #3 matches nothing.
WAIVERS = """\
waivers:
  - {control: acme.medium, name: worse, reason: a vendor chart we cannot change yet, owner: o@example.org,
     expires: 2099-01-01}
  - {control: acme.low, name: bad, reason: accepted until the migration ended, owner: o@example.org,
     expires: 2020-01-01}
  - {control: acme.crit, name: nothing-of-that-name, reason: left over from a removed service, owner: o@example.org,
     expires: 2099-01-01}
"""

# Without acme.crash: 12 results: 6 passed; failed: crit 1 (bad), medium 1 (bad), low 3 (bad: its waiver
# expired, worse, boom); waived: medium on worse. Score 6 / (6 + 5) = 54.5.


# ------------------------------------------------------------------ the rule, as a pure function
@pytest.mark.parametrize(("fail_on", "min_score", "severity", "score", "expected"), [
    # no gate: every finding fails (exit 1, as pytest says)
    (None, None, "info", None, None),
    (None, None, "critical", 50.0, None),
    # --k8s-fail-on: at or above it fails, below it does not
    ("high", None, "critical", None, None),
    ("high", None, "high", None, None),
    ("high", None, "medium", None, "below the gate: medium finding, --k8s-fail-on high"),
    ("critical", None, "low", None, "below the gate: low finding, --k8s-fail-on critical"),
    ("none", None, "critical", None, "below the gate: critical finding, --k8s-fail-on none"),
    # an unknown severity fails closed
    ("high", None, None, None, None),
    ("high", None, "severe", None, None),
    # --k8s-min-score alone: the score decides for every finding
    (None, 50.0, "critical", 54.5, "below the gate: critical finding, score 54.5 meets --k8s-min-score 50 "
                                   "(the only gate)"),
    (None, 60.0, "info", 54.5, None),
    (None, 60.0, "info", None, None),  # nothing decided: no score, the gate fails closed
    (None, 54.5, "low", 54.5, "below the gate: low finding, score 54.5 meets --k8s-min-score 54.5 (the only gate)"),
    # both: a failing score fails every finding; a passing one leaves --k8s-fail-on to decide
    ("critical", 60.0, "low", 54.5, None),
    ("high", 50.0, "critical", 54.5, None),
    ("high", 50.0, "medium", 54.5, "below the gate: medium finding, --k8s-fail-on high; score 54.5 meets "
                                   "--k8s-min-score 50"),
])
def test_below_gate_rule(fail_on: str | None, min_score: float | None, severity: str | None, score: float | None,
                         expected: str | None) -> None:
    gates = Gates(fail_on, min_score)
    assert below_gate(gates, severity, score) == expected
    # the rule is the gate's: a finding that fails in JUnit is one that fails the session
    blocks = gates.blocks(severity) or gates.score_fails(score)
    assert (expected is None) is blocks


# ------------------------------------------------------------------ real runs, read by junitparser
@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".yaml", workloads=WORKLOADS, waivers=WAIVERS)
    pytester.makepyfile(test_acme=CONTROLS)
    return pytester


def _run(pytester: pytest.Pytester, *args: str) -> tuple[int, Any, dict[str, Any]]:
    result = pytester.runpytest_subprocess(
        "--k8s-no-builtin", "--k8s-manifests=workloads.yaml", "--k8s-waivers=waivers.yaml", "-p", "no:randomly",
        "-p", "no:cacheprovider", "--junitxml", "j.xml", "--k8s-report-json", "r.json", "-q", *args)
    return (int(result.ret), junitparser.JUnitXml.fromfile(str(pytester.path / "j.xml")),
            json.loads((pytester.path / "r.json").read_text()))


def _props(case: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for prop in case._elem.iter("property"):
        out.setdefault(prop.get("name"), []).append(prop.get("value"))
    return out


def _status(case: Any) -> str:
    """A testcase's status as junitparser reads it."""
    if case.is_passed:
        return "passed"
    (result,) = case.result
    return {"Failure": "failure", "Error": "error", "Skipped": "skipped"}[type(result).__name__]


def _check_counts(xml: Any) -> tuple[Any, list[Any]]:
    """The suite's counts are its testcases' (what Jenkins and GitLab count); one testcase per item."""
    (suite,) = list(xml)
    cases = list(suite)
    statuses = Counter(_status(c) for c in cases)
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == \
        (len(cases), statuses["failure"], statuses["error"], statuses["skipped"])
    keys = [(c.classname, c.name) for c in cases]
    assert len(keys) == len(set(keys)), keys  # unique names within each classname
    return suite, cases


def _verdicts(cases: list[Any]) -> Counter[tuple[str, str]]:
    """(status, k8s_verdict) of each testcase."""
    return Counter((_status(c), _props(c)["k8s_verdict"][0]) for c in cases)


#: (args, exit status, per-object testcases by (status, k8s_verdict), grouped-by-control testcases)
SCENARIOS = {
    "no-gate": ([], 1,
                {("passed", "passed"): 6, ("failure", "failed"): 5, ("skipped", "waived"): 1},
                {("failure", "failed"): 3}),
    "fail-on-high": (["--k8s-fail-on", "high"], 1,
                     {("passed", "passed"): 6, ("failure", "failed"): 1, ("skipped", "below-gate"): 4,
                      ("skipped", "waived"): 1},
                     {("failure", "failed"): 1, ("skipped", "below-gate"): 2}),
    "fail-on-critical-no-crit": (["--k8s-fail-on", "critical", "-k", "not crit and not crash"], 0,
                                 {("passed", "passed"): 3, ("skipped", "below-gate"): 4, ("skipped", "waived"): 1},
                                 {("skipped", "below-gate"): 2}),
    "fail-on-none": (["--k8s-fail-on", "none"], 0,
                     {("passed", "passed"): 6, ("skipped", "below-gate"): 5, ("skipped", "waived"): 1},
                     {("skipped", "below-gate"): 3}),
    "min-score-met": (["--k8s-min-score", "50"], 0,
                      {("passed", "passed"): 6, ("skipped", "below-gate"): 5, ("skipped", "waived"): 1},
                      {("skipped", "below-gate"): 3}),
    "min-score-missed": (["--k8s-min-score", "60"], 1,
                         {("passed", "passed"): 6, ("failure", "failed"): 5, ("skipped", "waived"): 1},
                         {("failure", "failed"): 3}),
    "fail-on-critical-min-score-missed": (["--k8s-fail-on", "critical", "--k8s-min-score", "60"], 1,
                                          {("passed", "passed"): 6, ("failure", "failed"): 5,
                                           ("skipped", "waived"): 1},
                                          {("failure", "failed"): 3}),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.parametrize("mode", ["resource", "control"])
def test_junit_agrees_with_the_gate(project: pytest.Pytester, scenario: str, mode: str) -> None:
    args, status, per_object, grouped = SCENARIOS[scenario]
    k = [] if "-k" in args else ["-k", "not crash"]
    ret, xml, doc = _run(project, "--k8s-group-by", mode, *k, *args)
    assert ret == status
    gate = doc["summary"]["gate"]  # None: no gate option, every finding fails the run
    assert gate is None or gate["passed"] is (status == 0)
    suite, cases = _check_counts(xml)
    assert _verdicts(cases) == Counter(per_object if mode == "resource" else grouped)
    assert suite.errors == 0
    if mode == "resource":  # one testcase per object: failures are the findings that fail the gate
        failed = doc["summary"]["failed"]
        if gate is None or any("below --k8s-min-score" in r for r in gate["reasons"]):
            assert suite.failures == failed
        else:
            assert suite.failures == failed - gate["reported_only"]  # those at or above --k8s-fail-on
        below = [c for c in cases if _props(c)["k8s_verdict"] == ["below-gate"]]
        assert len(below) == failed - suite.failures
    for case in cases:
        props = _props(case)
        control = props["k8s_control"][0]
        assert case.classname == f"k8shardening.{control}"  # the control in every CI view
        if mode == "resource":
            assert case.name.endswith(f"[{props['k8s_resource'][0]}]")  # and the object
        verdict = props["k8s_verdict"][0]
        (result,) = case.result or [None]
        if verdict == "below-gate":
            assert result.type == BELOW_GATE
            assert result.message.startswith("below the gate: ")
            assert f"{props['k8s_severity'][0]} finding" in result.message
            assert "is not compliant" in (result.text or "")  # the finding itself is kept
        elif verdict == "waived":
            assert result.message.startswith("waived by waiver #1 (acme.medium: name=worse): a vendor chart")


def test_below_gate_messages_name_the_gate_and_an_expired_waiver(project: pytest.Pytester) -> None:
    ret, xml, _ = _run(project, "-k", "not crash", "--k8s-fail-on", "high")
    assert ret == 1
    _, cases = _check_counts(xml)
    by = {(c.classname, c.name): c for c in cases}
    medium = by[("k8shardening.acme.medium", "test_medium[shop/Deployment/bad]")].result[0]
    assert medium.message == "below the gate: medium finding, --k8s-fail-on high"
    low = by[("k8shardening.acme.low", "test_low[shop/Deployment/bad]")].result[0]
    assert low.message.startswith("below the gate: low finding, --k8s-fail-on high (waiver expired: waiver #2 "
                                  "(acme.low: name=bad) expired on 2020-01-01")
    crit = by[("k8shardening.acme.crit", "test_crit[shop/Deployment/bad]")].result[0]
    assert type(crit).__name__ == "Failure" and "bad is not compliant" in crit.message


def test_min_score_alone_says_the_score_met_it(project: pytest.Pytester) -> None:
    _, xml, doc = _run(project, "-k", "not crash", "--k8s-min-score", "50")
    assert doc["summary"]["score"] == 54.5
    _, cases = _check_counts(xml)
    messages = {(c.name, c.result[0].message) for c in cases if _props(c)["k8s_verdict"] == ["below-gate"]}
    gate = "score 54.5 meets --k8s-min-score 50 (the only gate)"
    assert messages == {
        ("test_crit[shop/Deployment/bad]", f"below the gate: critical finding, {gate}"),
        ("test_medium[shop/Deployment/bad]", f"below the gate: medium finding, {gate}"),
        ("test_low[shop/Deployment/bad]", f"below the gate: low finding, {gate} (waiver expired: waiver #2 (acme.low: "
                                          "name=bad) expired on 2020-01-01 (owner o@example.org): accepted until the "
                                          "migration ended)"),
        ("test_low[shop/Deployment/worse]", f"below the gate: low finding, {gate}"),
        ("test_low[shop/Deployment/boom]", f"below the gate: low finding, {gate}")}


@pytest.mark.parametrize("mode", ["resource", "control"])
def test_a_crash_stays_an_error_below_any_gate(project: pytest.Pytester, mode: str) -> None:
    ret, xml, doc = _run(project, "--k8s-group-by", mode, "-k", "crash or low", "--k8s-fail-on", "none")
    assert ret == 1  # no gate passes a crash
    suite, cases = _check_counts(xml)
    assert suite.errors == 1 and suite.failures == 0
    (crashed,) = [c for c in cases if _status(c) == "error"]
    assert _props(crashed)["k8s_verdict"] == ["error"]
    # the one-line message leads with the severity and what broke, the control last (annotate._crash_message)
    assert crashed.result[0].message == ("KeyError: 'spec.nothing'" if mode == "resource"
                                         else "[low] 1/4 errored: shop/Deployment/boom: KeyError: 'spec.nothing' "
                                              "(acme.crash)")
    assert doc["summary"]["error"] == 1


def test_the_junit_prefix_is_kept(project: pytest.Pytester) -> None:
    _, xml, _ = _run(project, "-k", "crit", "--junit-prefix", "ci")
    _, cases = _check_counts(xml)
    assert {c.classname for c in cases} == {"ci.k8shardening.acme.crit"}


def test_other_tests_keep_pytests_names_and_verdicts(project: pytest.Pytester) -> None:
    project.makepyfile(test_plain="def test_plain():\n    assert False\n")
    ret, xml, _ = _run(project, "-k", "plain or crit", "--k8s-fail-on", "none")
    assert ret == 1  # a failing test that is not a control still fails the run
    _, cases = _check_counts(xml)
    (plain,) = [c for c in cases if c.name == "test_plain"]
    assert plain.classname == "test_plain" and _status(plain) == "failure" and "k8s_verdict" not in _props(plain)


@pytest.mark.parametrize("mode", ["resource", "control"])
def test_xdist_gives_the_same_junit_and_waivers(project: pytest.Pytester, mode: str) -> None:
    pytest.importorskip("xdist")
    args = ["--k8s-group-by", mode, "-k", "not crash", "--k8s-fail-on", "high"]
    _, serial_xml, serial = _run(project, *args)
    _, par_xml, par = _run(project, *args, "-n", "2")

    def view(xml: Any) -> list[tuple[str, str, str, list[str]]]:
        _, cases = _check_counts(xml)
        return sorted((c.classname, c.name, _status(c), _props(c)["k8s_verdict"]) for c in cases)

    assert view(par_xml) == view(serial_xml)

    def waivers(doc: dict[str, Any]) -> list[tuple[str, Any, Any]]:
        return sorted((r["nodeid"], r.get("waiver"), r.get("waiver_match")) for r in doc["results"])

    assert waivers(par) == waivers(serial)
    assert par["summary"]["waivers"] == serial["summary"]["waivers"]


# ------------------------------------------------------------------ the JSON tells the whole story
@pytest.mark.parametrize("extra", [[], ["-n", "2"], ["--k8s-group-by", "control"],
                                   ["--k8s-group-by", "namespace", "-n", "2"]],
                         ids=["resource", "resource-xdist", "control", "namespace-xdist"])
def test_json_names_the_waiver_of_every_waived_or_expired_result(project: pytest.Pytester,
                                                                  extra: list[str]) -> None:
    if "-n" in extra:
        pytest.importorskip("xdist")
    _, _, doc = _run(project, "-k", "not crash", *extra)
    by = {(r["control"], r["resource"]["name"]): r for r in doc["results"]}
    assert len(by) == len(doc["results"]) == 12
    waived = by[("acme.medium", "worse")]
    assert waived["outcome"] == "waived"
    assert waived["waiver"].startswith("waived by waiver #1 (acme.medium: name=worse): a vendor chart")  # as before
    assert waived["waiver_match"] == {"index": 1, "expired": False, "text": waived["waiver"]}
    expired = by[("acme.low", "bad")]
    assert expired["outcome"] == "failed" and "waiver" not in expired  # an expired waiver waives nothing...
    assert expired["waiver_match"]["index"] == 2 and expired["waiver_match"]["expired"] is True  # ...but says so
    assert expired["waiver_match"]["text"].startswith("waiver expired: waiver #2 (acme.low: name=bad) expired on "
                                                      "2020-01-01 (owner o@example.org): accepted until")
    others = [r for key, r in by.items() if key not in (("acme.medium", "worse"), ("acme.low", "bad"))]
    assert not any("waiver" in r or "waiver_match" in r for r in others)
    # the summary lists the expired and the stale waiver by the same number
    summary = doc["summary"]["waivers"]
    assert summary["applied"] == 1
    assert [(w["index"], w["control"], w["expires"]) for w in summary["expired"]] == [(2, "acme.low", "2020-01-01")]
    assert [(w["index"], w["control"], w["name"]) for w in summary["stale"]] == \
        [(3, "acme.crit", "nothing-of-that-name")]


def test_an_expired_waiver_that_matches_nothing_is_stale(project: pytest.Pytester) -> None:
    """Expired lists the waivers that matched a finding they no longer waive; one that matched nothing is stale."""
    _, _, doc = _run(project, "-k", "crit")
    summary = doc["summary"]["waivers"]
    assert summary["applied"] == 0 and summary["expired"] == []
    assert [w["index"] for w in summary["stale"]] == [1, 2, 3]


@pytest.mark.parametrize("extra", [["-x"], ["--maxfail", "1", "-n", "2"]], ids=["x", "maxfail-xdist"])
def test_an_incomplete_run_fails_in_junit_too(project: pytest.Pytester, extra: list[str]) -> None:
    """-x stops at a finding below the gate: every testcase run is skipped or passed, yet the run fails
    (what was not run was not checked). A failing testcase says so."""
    if "-n" in extra:
        pytest.importorskip("xdist")
    ret, xml, doc = _run(project, "-k", "medium", "--k8s-fail-on", "none", *extra)
    assert ret == (2 if "-n" in extra else 1)  # xdist stops as an interrupt
    assert doc["summary"]["gate"]["status"] == "incomplete"
    suite, cases = _check_counts(xml)
    (gate,) = [c for c in cases if _status(c) == "failure"]
    assert (gate.classname, gate.name, _props(gate)) == ("k8shardening", "incomplete", {"k8s_verdict": ["incomplete"]})
    assert gate.result[0].message == "run incomplete: " + "; ".join(doc["summary"]["incomplete"])
    assert suite.failures == 1 and suite.errors == 0
    assert {_props(c)["k8s_verdict"][0] for c in cases if c is not gate} <= {"passed", "below-gate", "waived"}
