"""pytest habits with the plugin: re-running a built-in node id (also with --deselect and
--lf), --strict-markers with custom frameworks and categories, and pytest-rerunfailures."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from pytest_k8shardening import nodeids, reruns
from pytest_k8shardening.catalog import suites_dir

ROOT = Path(__file__).resolve().parents[1]
INSECURE = ROOT / "examples" / "insecure"
SUITES = suites_dir()
PRIV = "k8shardening/nsa/test_pod_security.py::test_not_privileged"
PRIV_API = f"{PRIV}[shop/Deployment/api:container=web]"


# ------------------------------------------------------------------ node ids, as pure functions
@pytest.mark.parametrize(("arg", "expected"), [
    ("k8shardening", ""),
    ("k8shardening/", ""),
    ("k8shardening/nsa", "nsa"),
    ("k8shardening/nsa/test_rbac.py", "nsa/test_rbac.py"),
    ("k8shardening/nsa/test_rbac.py::test_no_wildcards", "nsa/test_rbac.py::test_no_wildcards"),
    # parameters may hold '/' and '::' and ':'
    ("k8shardening/nsa/test_pod_security.py::test_not_privileged[shop/Deployment/api:container=web]",
     "nsa/test_pod_security.py::test_not_privileged[shop/Deployment/api:container=web]"),
    ("k8shardening/pss/test_baseline.py::test_seccomp[a::b/c[d]]", "pss/test_baseline.py::test_seccomp[a::b/c[d]]"),
    ("./k8shardening/pss/../nsa", "nsa"),
])
def test_suite_ids_become_suite_paths(tmp_path: Path, arg: str, expected: str) -> None:
    assert nodeids.to_suite_args([arg], SUITES, tmp_path, tmp_path) == [f"{SUITES / expected}".rstrip("/")
                                                                        if expected else str(SUITES)]


@pytest.mark.parametrize("arg", [
    "k8shardening/nsa/test_nope.py::test_x",  # no such suite file: pytest says "not found"
    "k8shardening/nope",
    "tests/test_mine.py::test_x",
    "k8shardening.py",
    "k8shardeningx/nsa",
    "-k",
    "/elsewhere/k8shardening/nsa",
])
def test_other_arguments_are_left_alone(tmp_path: Path, arg: str) -> None:
    assert nodeids.to_suite_args([arg], SUITES, tmp_path, tmp_path) == [arg]


def test_ids_relative_to_a_subfolder_reach_the_rootdir(tmp_path: Path) -> None:
    """From a subfolder a FAILED line reads ``../k8shardening/...`` (relative to the current folder)."""
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    got = nodeids.to_suite_args(["../../k8shardening/nsa/test_rbac.py::t", "k8shardening/nsa"], SUITES, sub, tmp_path)
    assert got == [f"{SUITES}/nsa/test_rbac.py::t", f"{SUITES}/nsa"]


def test_a_real_k8shardening_folder_wins(tmp_path: Path) -> None:
    (tmp_path / "k8shardening" / "nsa").mkdir(parents=True)
    assert nodeids.to_suite_args(["k8shardening/nsa"], SUITES, tmp_path, tmp_path) == ["k8shardening/nsa"]


@pytest.mark.parametrize(("args", "expected"), [
    ([], False),
    (["tests"], False),
    ([str(SUITES)], True),
    ([f"{SUITES}/nsa/test_rbac.py::test_no_wildcards[x]"], True),
    (["tests", f"{SUITES}/pss"], True),
    ([str(SUITES.parent)], False),  # a folder holding the suites: the suites are still added (pytest dedupes)
    (["-x"], False),
])
def test_names_suites(tmp_path: Path, args: list[str], expected: bool) -> None:
    assert nodeids.names_suites(args, SUITES, tmp_path) is expected


@pytest.mark.parametrize(("given", "expected"), [
    ("k8shardening/nsa", "k8shardening/nsa"),
    (PRIV_API, PRIV_API),
    (f"{SUITES}/nsa/test_rbac.py::test_x[a/b]", "k8shardening/nsa/test_rbac.py::test_x[a/b]"),
    (str(SUITES), "k8shardening"),
    ("../k8shardening/pss/test_baseline.py::t", "k8shardening/pss/test_baseline.py::t"),
    ("tests/test_mine.py::test_x", "tests/test_mine.py::test_x"),
])
def test_deselect_ids(tmp_path: Path, given: str, expected: str) -> None:
    sub = tmp_path / "sub"
    sub.mkdir()
    assert nodeids.deselect_ids([given], SUITES, sub, tmp_path) == [expected]


def test_lastfailed_paths() -> None:
    got = nodeids.lastfailed_paths([PRIV_API, "k8shardening/pss/test_baseline.py::t", "tests/test_x.py::t",
                                    "k8shardening/nsa/test_gone.py::t"], SUITES)
    assert got == {SUITES / "nsa" / "test_pod_security.py", SUITES / "nsa", SUITES / "pss" / "test_baseline.py",
                   SUITES / "pss", SUITES}


# ------------------------------------------------------------------ node ids, end to end
def _failed_ids(result: pytest.RunResult) -> list[str]:
    return [m.group(1) for line in result.outlines if (m := re.match(r"FAILED (\S+)", line))]


def _ids(result: pytest.RunResult) -> list[str]:
    return [line for line in result.outlines if "::" in line and " " not in line]


@pytest.fixture
def failed_once(pytester: pytest.Pytester) -> list[str]:
    """The FAILED ids of a full run over the insecure example."""
    result = pytester.runpytest("--k8s-manifests", str(INSECURE), "-q", "-p", "no:randomly")
    ids = _failed_ids(result)
    assert len(ids) > 100 and all(i.startswith("k8shardening/") for i in ids)
    return ids


def test_a_failed_id_pasted_back_runs_exactly_that_test(pytester: pytest.Pytester, failed_once: list[str]) -> None:
    for nodeid in (failed_once[0], failed_once[-1], PRIV_API):
        result = pytester.runpytest(nodeid, "--k8s-manifests", str(INSECURE), "-q", "-p", "no:randomly")
        result.assert_outcomes(failed=1)
        assert _failed_ids(result) == [nodeid]


def test_id_prefixes(pytester: pytest.Pytester) -> None:
    """An id prefix (the suites, a suite, a file, a test) runs the same tests as the full run has under it."""
    everything = _ids(pytester.runpytest("--k8s-manifests", str(INSECURE), "--collect-only", "-q"))
    for arg, count in ((PRIV, 6), ("k8shardening/nsa/test_pod_security.py", None), ("k8shardening/pss", None),
                       ("k8shardening", len(everything))):
        ids = _ids(pytester.runpytest(arg, "--k8s-manifests", str(INSECURE), "--collect-only", "-q"))
        assert ids == [i for i in everything if i.startswith(arg)], arg  # the same tests, in the same order
        assert len(ids) == (count or len(ids)) > 0


def test_an_id_of_no_suite_file_is_not_found(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("k8shardening/nsa/test_nope.py", "--k8s-manifests", str(INSECURE))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*file or directory not found: k8shardening/nsa/test_nope.py*"])


def test_an_id_beside_own_tests_runs_only_that_id(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_mine="def test_mine():\n    pass\n")
    result = pytester.runpytest("test_mine.py", PRIV_API, "--k8s-manifests", str(INSECURE), "-v")
    result.assert_outcomes(passed=1, failed=1)
    assert "test_mine.py::test_mine PASSED" in result.stdout.str()
    assert f"{PRIV_API} FAILED" in result.stdout.str()


def test_the_real_suite_path_runs_only_that_file(pytester: pytest.Pytester) -> None:
    real = SUITES / "nsa" / "test_pod_security.py"
    ids = _ids(pytester.runpytest(f"{real}::test_not_privileged", "--k8s-manifests", str(INSECURE),
                                  "--collect-only", "-q"))
    assert len(ids) == 6 and all(i.startswith(PRIV) for i in ids), ids


def test_ids_from_a_subfolder(pytester: pytest.Pytester) -> None:
    """pytest prints ids relative to the current folder (``../k8shardening/...``): they run too."""
    pytester.makeini("[pytest]\n")
    sub = pytester.mkdir("sub")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(sub)
        first = pytester.runpytest("--k8s-manifests", str(INSECURE), "-q", "-p", "no:randomly", "-k", "privileged")
        shown = _failed_ids(first)
        assert shown and all(i.startswith("../k8shardening/") for i in shown)
        again = pytester.runpytest(shown[0], "--k8s-manifests", str(INSECURE), "-q")
        again.assert_outcomes(failed=1)
        assert _failed_ids(again) == [shown[0]]


def test_deselect_with_suite_ids(pytester: pytest.Pytester, failed_once: list[str]) -> None:
    full = pytester.runpytest("--k8s-manifests", str(INSECURE), "--collect-only", "-q")
    total = len(_ids(full))
    module = [i for i in _ids(full) if i.startswith("k8shardening/pss/test_baseline.py")]
    result = pytester.runpytest("--k8s-manifests", str(INSECURE), "--collect-only", "-q",
                                "--deselect", failed_once[0], "--deselect", "k8shardening/pss/test_baseline.py",
                                "--deselect", f"{SUITES}/pss/test_restricted.py")
    ids = _ids(result)
    assert failed_once[0] not in ids
    assert not [i for i in ids if i.startswith(("k8shardening/pss/test_baseline.py", "k8shardening/pss/test_restr"))]
    restricted = [i for i in _ids(full) if i.startswith("k8shardening/pss/test_restricted.py")]
    assert len(ids) == total - 1 - len(module) - len(restricted)


@pytest.mark.parametrize("own_failure", [False, True], ids=["suites-only", "with-own-failure"])
def test_last_failed(pytester: pytest.Pytester, own_failure: bool) -> None:
    """--lf reruns the suites' failures, also beside a failed test of the user's own (pytest then
    skips every file without a recorded failure, and a suite id names no file under the rootdir)."""
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(test_mine=f"def test_mine():\n    assert {not own_failure}\n")
    first = pytester.runpytest("--k8s-manifests", str(INSECURE), "-q", "-p", "no:randomly")
    failed = sorted(_failed_ids(first))
    assert len(failed) > 100 and ("test_mine.py::test_mine" in failed) is own_failure
    cache = json.loads((pytester.path / ".pytest_cache" / "v" / "cache" / "lastfailed").read_text())
    assert sorted(cache) == failed  # keys are the node ids
    again = pytester.runpytest("--k8s-manifests", str(INSECURE), "-q", "-p", "no:randomly", "--lf")
    again.assert_outcomes(failed=len(failed))
    assert sorted(_failed_ids(again)) == failed


# ------------------------------------------------------------------ --strict-markers
ORG_TEST = """
from pytest_k8shardening import Finding, assert_compliant, control

@control("acme.ingress.tls", title="Ingresses serve TLS", severity="high", category="acme_edge",
         frameworks=["acme", "nsa"], remediation="Add spec.tls.")
def test_tls(k8s_object):
    assert_compliant([] if k8s_object.raw.get("spec", {}).get("tls") else [Finding("no TLS", "spec.tls")])
test_tls = __import__("pytest").mark.k8s_select(kinds=["Ingress"])(test_tls)

@control("acme.labels.team", title="Workloads name a team", severity="low", category="metadata",
         frameworks=["acme_base"], remediation="Add a team label.")
def test_team(k8s_workload):
    assert_compliant([])
"""


def test_strict_markers_accept_custom_frameworks_and_categories(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_acme=ORG_TEST)
    result = pytester.runpytest("--k8s-manifests", str(INSECURE), "--k8s-no-builtin", "--strict-markers", "-v")
    result.assert_outcomes(failed=1, passed=4)
    by_marker = pytester.runpytest("--k8s-manifests", str(INSECURE), "--k8s-no-builtin", "--strict-markers",
                                   "-m", "acme and acme_edge", "-q")
    by_marker.assert_outcomes(failed=1)
    assert pytester.runpytest("--k8s-manifests", str(INSECURE), "--k8s-no-builtin", "--strict-markers",
                              "-m", "acme_base", "-q").parseoutcomes() == {"passed": 4, "deselected": 1}
    # without a target the controls are skipped, not refused
    pytester.runpytest("--strict-markers").assert_outcomes(skipped=2)
    # with the built-in suites too, and with the ini's strict_markers
    pytester.makeini("[pytest]\nstrict_markers = true\n")
    both = pytester.runpytest("--k8s-manifests", str(INSECURE), "-m", "acme or acme_base", "-q")
    outcomes = both.parseoutcomes()
    assert (outcomes["failed"], outcomes["passed"], outcomes["deselected"] > 300) == (1, 4, True)


def test_strict_markers_still_refuse_a_misspelt_marker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_acme=ORG_TEST + "\n@__import__('pytest').mark.acme_typo\ndef test_other():\n    pass\n")
    result = pytester.runpytest("--k8s-manifests", str(INSECURE), "--k8s-no-builtin", "--strict-markers")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*'acme_typo' not found in `markers` configuration option*"])


def test_custom_markers_are_listed_once(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_acme=ORG_TEST, test_acme2=ORG_TEST.replace("acme.", "acme2."))
    pytester.makeconftest("""
def pytest_collection_finish(session):
    lines = [l for l in session.config.getini("markers") if l.startswith(("acme", "acme_edge", "metadata:"))]
    print("MARKERS", sorted(l.split(":")[0] for l in lines))
""")
    result = pytester.runpytest("--k8s-manifests", str(INSECURE), "--k8s-no-builtin", "--strict-markers", "-s")
    result.stdout.fnmatch_lines(["MARKERS ['acme', 'acme_base', 'acme_edge', 'metadata']"])


# ------------------------------------------------------------------ pytest-rerunfailures
def _junit(path: Path) -> dict[str, int]:
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    return {"tests": len(cases), "failures": sum(c.find("failure") is not None for c in cases),
            "errors": sum(c.find("error") is not None for c in cases),
            "skipped": sum(c.find("skipped") is not None for c in cases)}


def _run(pytester: pytest.Pytester, name: str, *args: str) -> tuple[dict[str, Any], dict[str, int], dict[str, int]]:
    result = pytester.runpytest("--k8s-manifests", str(INSECURE), "-p", "no:randomly", "-q",
                                "--k8s-report-json", f"{name}.json", "--junitxml", f"{name}.xml", *args)
    report = json.loads((pytester.path / f"{name}.json").read_text())
    results = sorted((r["nodeid"], r["outcome"], r.get("resource") and r["resource"].get("id"))
                     for r in report["results"])
    summary = {k: v for k, v in report["summary"].items() if k not in ("started", "finished")}
    return {"summary": summary, "results": results}, _junit(pytester.path / f"{name}.xml"), result.parseoutcomes()


@pytest.mark.parametrize("group_by", ["resource", "control"])
def test_reruns_do_not_rerun_findings(pytester: pytest.Pytester, group_by: str) -> None:
    pytest.importorskip("pytest_rerunfailures")
    plain = _run(pytester, "plain", "--k8s-group-by", group_by)
    rerun = _run(pytester, "rerun", "--k8s-group-by", group_by, "--reruns", "2")
    assert rerun == plain
    assert "rerun" not in rerun[2] and rerun[2]["failed"] > 10


def test_reruns_keep_the_users_patterns_and_rerun_crashes(pytester: pytest.Pytester) -> None:
    """A check that crashes (not a finding) is still rerun; a finding runs its check once."""
    pytest.importorskip("pytest_rerunfailures")
    calls = pytester.path / "calls.txt"
    pytester.makepyfile(test_acme=f"""
from pytest_k8shardening import Finding, assert_compliant, control

def _count(what):
    with open({str(calls)!r}, "a") as f:
        f.write(what + "\\n")

@control("acme.finding", title="t", severity="low", category="metadata", remediation="r")
def test_finding(k8s_workload):
    _count("finding")
    assert_compliant([Finding("bad", "spec")])

@control("acme.crash", title="t", severity="low", category="metadata", remediation="r")
def test_crash(k8s_namespace):
    _count("crash")
    raise KeyError("flaky API")

def test_plain_assert():
    _count("plain")
    assert False
""")
    result = pytester.runpytest("--k8s-manifests", str(INSECURE), "--k8s-no-builtin", "--reruns", "2",
                                "--rerun-except", "ValueError", "-q")
    # 4 findings once; the crash and the plain test 3 times each
    assert result.parseoutcomes() == {"failed": 5, "errors": 1, "rerun": 4}
    counts = calls.read_text().split()
    assert (counts.count("finding"), counts.count("crash"), counts.count("plain")) == (4, 3, 3)
    # the user's --rerun-except patterns still apply
    calls.unlink()
    result = pytester.runpytest("--k8s-manifests", str(INSECURE), "--k8s-no-builtin", "--reruns", "2",
                                "--rerun-except", "KeyError", "-q")
    assert result.parseoutcomes() == {"failed": 5, "errors": 1, "rerun": 2}
    assert calls.read_text().split().count("crash") == 1


def test_reruns_ini_patterns_are_kept(pytester: pytest.Pytester) -> None:
    pytest.importorskip("pytest_rerunfailures")
    pytester.makeini("[pytest]\nrerun_except =\n    AssertionError\n")
    pytester.makepyfile("def test_plain():\n    assert False\n")
    result = pytester.runpytest("--k8s-manifests", str(INSECURE), "--k8s-no-builtin", "--reruns", "2", "-q")
    result.assert_outcomes(failed=1)  # not rerun: the ini's pattern is still in force


@pytest.mark.parametrize(("message", "finding"), [
    ("NonCompliant: container web is privileged", True),
    ("GroupFailed: 3 of 10 objects failed", True),
    ("GroupFailed: 3 of 10 objects failed, 1 of 10 objects errored", True),
    ("GroupFailed: 1 of 10 objects errored", False),  # only crashes: may be transient
    ("KeyError: 'spec'", False),
    ("AssertionError: NonCompliant: x", False),
])
def test_finding_patterns(message: str, finding: bool) -> None:
    assert any(re.search(p, message) for p in reruns.FINDING_PATTERNS) is finding


def test_group_failed_message_matches_the_pattern() -> None:
    """The pattern reads GroupFailed's message: pin the message's shape."""
    from pytest_k8shardening.grouping import GroupFailed

    def msg(*outcomes: str) -> str:
        exc = GroupFailed([{"outcome": o} for o in outcomes])
        return f"{type(exc).__name__}: {exc}"

    pattern = reruns.FINDING_PATTERNS[1]
    assert re.search(pattern, msg("failed", "passed", "error"))
    assert not re.search(pattern, msg("error", "passed"))


FLAKY = """
import os
from pytest_k8shardening import control

@control("acme.crash", title="t", severity="low", category="metadata", remediation="r")
def test_crash(k8s_workload):
    raise KeyError("flaky API")

@control("acme.flaky", title="t", severity="low", category="metadata", remediation="r")
def test_flaky(k8s_workload):
    # crashes on the first attempt of each object, passes on the next
    mark = os.path.join({tmp!r}, "attempt-" + k8s_workload.name.replace("/", "_"))
    if not os.path.exists(mark):
        open(mark, "w").close()
        raise KeyError("flaky API")
"""


@pytest.mark.parametrize("extra", [[], ["--k8s-group-by", "control"], ["-n", "2"],
                                   ["--k8s-group-by", "control", "-n", "2"]],
                         ids=["resource", "control", "resource-xdist", "control-xdist"])
def test_a_rerun_crash_is_counted_once(pytester: pytest.Pytester, extra: list[str]) -> None:
    """Only the last attempt of a rerun item is a result: in the JSON, its summary and JUnit alike."""
    pytest.importorskip("pytest_rerunfailures")
    if "-n" in extra:
        pytest.importorskip("xdist")
    tmp = pytester.mkdir("attempts")
    pytester.makepyfile(test_acme=FLAKY.format(tmp=str(tmp)))
    plain = _run(pytester, "plain", "--k8s-no-builtin", "-k", "crash", *extra)
    rerun = _run(pytester, "rerun", "--k8s-no-builtin", "--reruns", "2", *extra)
    workloads = plain[0]["summary"]["total"]  # one result per object, grouped or not
    doc = rerun[0]
    crash = [r for r in doc["results"] if "test_crash" in r[0]]
    flaky = [r for r in doc["results"] if "test_flaky" in r[0]]
    assert len(crash) == len(flaky) == workloads > 1  # each object once, grouped or not
    assert len(set(doc["results"])) == len(doc["results"])
    assert {r[1] for r in crash} == {"error"} and {r[1] for r in flaky} == {"passed"}  # the last attempt's verdict
    summary = doc["summary"]
    assert (summary["total"], summary["error"], summary["passed"], summary["skipped"]) == \
        (2 * workloads, workloads, workloads, 0)
    assert summary["items"]["selected"] == summary["items"]["run"] and summary["incomplete"] == []
    assert [r for r in doc["results"] if "test_crash" in r[0]] == plain[0]["results"]
    # JUnit: one testcase per item, the last attempt's (no empty testcase for a discarded attempt)
    items = 2 if "control" in extra else 2 * workloads
    assert rerun[1] == {"tests": items, "failures": 0, "errors": items // 2, "skipped": 0}
    assert rerun[2]["rerun"] == 3 * items // 2  # the crash twice per item, the flaky check once


@pytest.mark.parametrize(("reports", "discarded"), [
    # an attempt without reruns: every report counts
    ([("setup", "passed"), ("call", "failed"), ("teardown", "passed")], [False, False, False]),
    # a crashed call rerun once: the first attempt's call and teardown are discarded
    ([("setup", "passed"), ("call", "rerun"), ("teardown", "passed"),
      ("setup", "passed"), ("call", "failed"), ("teardown", "passed")], [False, True, True, False, False, False]),
    # a failed setup rerun: its teardown too
    ([("setup", "rerun"), ("teardown", "passed"), ("setup", "passed"), ("call", "passed"), ("teardown", "passed")],
     [True, True, False, False, False]),
    # a failed teardown rerun (after a rerun call, rerunfailures marks it rerun too)
    ([("setup", "passed"), ("call", "rerun"), ("teardown", "rerun"), ("setup", "passed"), ("call", "passed"),
      ("teardown", "passed")], [False, True, True, False, False, False]),
    ([("setup", "passed"), ("call", "passed"), ("teardown", "rerun"), ("setup", "passed"), ("call", "passed"),
      ("teardown", "passed")], [False, False, True, False, False, False]),
])
def test_rerun_attempts_are_not_results(reports: list[tuple[str, str]], discarded: list[bool]) -> None:
    attempts = reruns.Attempts()
    other = pytest.TestReport("t.py::other", ("t.py", 1, "other"), {}, "passed", None, "teardown")
    got = []
    for when, outcome in reports:
        got.append(attempts.discarded(pytest.TestReport("t.py::t", ("t.py", 1, "t"), {}, outcome, None, when)))
        assert not attempts.discarded(other)  # another item's reports, interleaved (xdist), are its own
    assert got == discarded
