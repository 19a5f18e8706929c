"""The plugin as users drive it: pytester runs in throwaway directories."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.output import counts_line

ROOT = Path(__file__).resolve().parents[1]
INSECURE = ROOT / "examples" / "insecure"
HARDENED = ROOT / "examples" / "hardened"
SECRET_VALUES = ("s3cr3t-Passw0rd", "sk_live_51HxExampleExampleExample", "sk_live_do_not_print_me")

APP = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  template:
    spec:
      initContainers:
        - {name: migrate, image: x, securityContext: {privileged: true}}
      containers:
        - {name: web, image: x}
---
apiVersion: v1
kind: Pod
metadata: {name: tool, namespace: kube-system}
spec:
  containers: [{name: sh, image: x}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: other}
data: {LEVEL: info}
"""


def _json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


@pytest.fixture
def app(pytester: pytest.Pytester) -> Path:
    return pytester.makefile(".yaml", app=APP)


def test_inert_without_a_target(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_plain():\n    assert True\n")
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*test_plain PASSED*"])
    result.stdout.no_fnmatch_line("*k8shardening summary*")
    result.stdout.no_fnmatch_line("*compliance*")
    assert "suites" not in result.stdout.str()


def test_builtin_suites_collected_from_any_directory(pytester: pytest.Pytester, app: Path) -> None:
    pytester.makepyfile("def test_mine():\n    pass\n")
    result = pytester.runpytest("--k8s-manifests", str(app), "--collect-only", "-q")
    out = result.stdout.str()
    assert "test_mine" in out
    # short, stable node ids wherever the package is installed
    assert "k8shardening/nsa/test_pod_security.py::test_not_privileged[shop/Deployment/api:container=web]" in out
    assert "test_not_privileged[shop/Deployment/api:initContainer=migrate]" in out
    assert "test_no_host_pid[shop/Deployment/api]" in out
    assert "test_no_credentials_in_configmaps[other/ConfigMap/settings]" in out
    # kube-system is out of scope for workload checks, but checked by the system-namespace control
    assert "test_not_privileged[kube-system/Pod/tool:container=sh]" not in out
    assert "test_no_user_workloads_in_system_namespaces[kube-system/Pod/tool]" in out


def test_verdicts_ids_and_k_selection(pytester: pytest.Pytester, app: Path) -> None:
    result = pytester.runpytest("--k8s-manifests", str(app), "-k", "privileged and migrate", "-v")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*nsa.pod.privileged [[]critical] Containers are not privileged",
        f"Deployment shop/api, initContainer \"migrate\"  ({app}:1)",
        "  - spec.template.spec.initContainers[[]0].securityContext.privileged=true: *",
        "How to fix: Remove securityContext.privileged or set it to false*",
    ])
    assert "Traceback" not in result.stdout.str() and "def test_" not in result.stdout.str()


def test_markers_select_and_are_registered(pytester: pytest.Pytester, app: Path) -> None:
    result = pytester.runpytest("--k8s-manifests", str(app), "--strict-markers", "-m", "nsa and critical",
                                "--collect-only", "-q")
    out = result.stdout.str()
    assert "test_not_privileged" in out and "test_no_runtime_socket" in out
    assert "test_seccomp_profile" not in out
    markers = pytester.runpytest("--markers").stdout.str()
    for name in ("nsa:", "pod_security:", "critical:", "high:", "manual:", "k8s_control(control)",
                 "k8s_select(kinds="):
        assert name in markers, name


def test_no_builtin_runs_only_user_tests_with_fixtures(pytester: pytest.Pytester, app: Path) -> None:
    pytester.makepyfile("""
        import pytest
        from pytest_k8shardening import control, assert_compliant, Finding

        def test_images(k8s_container):
            assert k8s_container.image == "x"

        def test_every_namespace(k8s_namespace):
            assert k8s_namespace.name

        @pytest.mark.k8s_select(kinds=["ConfigMap"])
        def test_configmaps(k8s_object, k8s_cluster):
            assert k8s_object.kind == "ConfigMap"
            assert k8s_cluster.get("ConfigMap", "other", "settings") is k8s_object

        @control("acme.labels.team", title="Workloads carry a team label", severity="low",
                 category="pod_security", frameworks=["org"], remediation="Add a team label.")
        def test_team_label(k8s_workload):
            if "team" not in k8s_workload.obj.labels:
                assert_compliant([Finding("metadata.labels.team is missing", "metadata.labels.team")])
    """)
    result = pytester.runpytest("--k8s-manifests", str(app), "--k8s-no-builtin", "-v", "--strict-markers")
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines([
        "*test_images?shop/Deployment/api:initContainer=migrate? PASSED*",
        "*test_every_namespace?shop? PASSED*",
        "*test_configmaps?other/ConfigMap/settings? PASSED*",
        "acme.labels.team [[]low] Workloads carry a team label",
        "  - metadata.labels.team is missing  (*app.yaml:3)",
    ])
    # namespace "other" holds only a ConfigMap: named, not owned by the application, so not judged
    result.stdout.no_fnmatch_line("*test_every_namespace?other?*")
    assert "test_not_privileged" not in result.stdout.str()


def test_fixture_without_target_skips_with_reason(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_c(k8s_container):\n    pass\n")
    result = pytester.runpytest("-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*no Kubernetes target: pass --k8s-manifests PATH*"])


def test_system_namespaces_scope(pytester: pytest.Pytester, app: Path) -> None:
    result = pytester.runpytest("--k8s-manifests", str(app), "-k", "not_privileged")
    result.stdout.fnmatch_lines(["*system namespaces (kube-system, kube-public, kube-node-lease) left out*",
                                 "out of scope: kube-system (1)"])
    result.assert_outcomes(passed=1, failed=1)
    result = pytester.runpytest("--k8s-manifests", str(app), "-k", "not_privileged",
                                "--k8s-include-system-namespaces", "-v")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*test_not_privileged?kube-system/Pod/tool:container=sh? PASSED*"])


def test_namespace_include_and_exclude(pytester: pytest.Pytester, app: Path) -> None:
    only = pytester.runpytest("--k8s-manifests", str(app), "--k8s-namespace", "oth*", "--collect-only", "-q")
    assert "shop/Deployment" not in only.stdout.str() and "other/ConfigMap/settings" in only.stdout.str()
    excl = pytester.runpytest("--k8s-manifests", str(app), "--k8s-exclude-namespace", "shop",
                              "--collect-only", "-q")
    assert "shop/Deployment" not in excl.stdout.str() and "other/ConfigMap" in excl.stdout.str()


def test_ini_setting_enables(pytester: pytest.Pytester, app: Path) -> None:
    pytester.makeini(f"[pytest]\nk8s_manifests = {app.name}\nk8s_builtin_suites = false\n")
    pytester.makepyfile("def test_w(k8s_workload):\n    assert k8s_workload.kind == 'Deployment'\n")
    pytester.runpytest().assert_outcomes(passed=1)


@pytest.mark.parametrize(("content", "message"), [
    ("kind: Pod\nmetadata: {name: [x\n", "bad.yaml:3: document 1: invalid YAML"),
    ("apiVersion: v1\nkind: Pod\n", "bad.yaml:1: document 1: Pod has no metadata mapping"),
    ("apiVersion: v1\nmetadata: {name: a}\n", "bad.yaml:1: document 1: object has no kind"),
    ("# nothing here\n", "no Kubernetes objects found in 1 file(s)"),
])
def test_bad_input_is_a_usage_error(pytester: pytest.Pytester, content: str, message: str) -> None:
    bad = pytester.makefile(".yaml", bad=content)
    result = pytester.runpytest("--k8s-manifests", str(bad))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"ERROR: k8shardening: cannot read the target: {bad}" in result.stderr.str() or \
        message.startswith("no Kubernetes") and "ERROR: k8shardening: cannot read the target:" in result.stderr.str()
    assert message in result.stderr.str()
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


def test_missing_and_empty_targets_are_usage_errors(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--k8s-manifests", "does-not-exist")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "does-not-exist: no such file or directory" in result.stderr.str()
    empty = pytester.mkdir("empty")
    result = pytester.runpytest("--k8s-manifests", str(empty))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "no manifest files (*.yaml, *.yml, *.json) found" in result.stderr.str()


def test_json_results(pytester: pytest.Pytester, app: Path) -> None:
    out = pytester.path / "reports" / "r.json"
    result = pytester.runpytest("--k8s-manifests", str(app), "--k8s-report-json", str(out), "-q")
    doc = _json(out)
    assert doc["schema"] == "k8shardening.results/v1"
    outcomes = result.parseoutcomes()
    s = doc["summary"]
    assert s["total"] == len(doc["results"]) == outcomes.get("passed", 0) + outcomes.get("failed", 0) \
        + outcomes.get("skipped", 0)
    assert (s["passed"], s["failed"]) == (outcomes.get("passed", 0), outcomes.get("failed", 0))
    assert s["exit_status"] == 1 and s["target"]["out_of_scope"] == {"kube-system": 1}
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's private 0600
    entry = next(r for r in doc["results"] if r["control"] == "nsa.pod.privileged"
                 and r["resource"]["container"] == "migrate")
    assert entry["outcome"] == "failed"
    assert entry["resource"] == {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "shop", "name": "api",
                                 "container": "migrate", "containerType": "initContainer",
                                 "file": str(app), "line": 1}
    assert entry["references"]["kubescape"] == ["C-0057"] and entry["references"]["pss"] == "baseline"
    assert entry["frameworks"] == ["nsa", "cis"] and entry["severity"] == "critical"  # cis: it cites CIS 5.2.2
    assert entry["message"].startswith("spec.template.spec.initContainers[0].securityContext.privileged=true")
    assert entry["findings"][0]["field"] == "spec.template.spec.initContainers[0].securityContext.privileged"
    assert entry["remediation"].startswith("Remove securityContext.privileged")
    assert {r["outcome"] for r in doc["results"]} <= {"passed", "failed", "skipped", "error"}
    assert len({r["nodeid"] for r in doc["results"]}) == len(doc["results"])


def test_json_records_skips_and_errors(pytester: pytest.Pytester, app: Path) -> None:
    pytester.makepyfile("""
        import pytest

        @pytest.fixture
        def broken():
            raise RuntimeError("fixture broke")

        def test_err(k8s_workload, broken):
            pass

        def test_skip(k8s_workload):
            pytest.skip("not today")
    """)
    out = pytester.path / "r.json"
    pytester.runpytest("--k8s-manifests", str(app), "--k8s-no-builtin", "--k8s-report-json", str(out))
    results = {r["nodeid"].split("::")[1]: r for r in _json(out)["results"]}
    assert results["test_err[shop/Deployment/api]"]["outcome"] == "error"
    assert "fixture broke" in results["test_err[shop/Deployment/api]"]["message"]
    assert results["test_skip[shop/Deployment/api]"]["outcome"] == "skipped"
    assert results["test_skip[shop/Deployment/api]"]["message"] == "not today"
    assert results["test_skip[shop/Deployment/api]"]["control"] is None


def test_inventory_frozen_through_pytests_final_gc_then_released(pytester: pytest.Pytester, app: Path) -> None:
    """The objects frozen after collection stay frozen through pytest's own gc.collect() passes at
    the end (they would walk the whole inventory again), and an in-process run leaves nothing frozen."""
    import gc

    pytester.makeconftest("""
        import gc, pytest

        def _note(config, when):
            with open(config.rootpath / "frozen.txt", "a") as fh:
                fh.write(f"{when} {gc.get_freeze_count()}\\n")

        @pytest.hookimpl(trylast=True)
        def pytest_unconfigure(config):  # after pytest's own (it runs gc.collect())
            _note(config, "unconfigure")
            config.add_cleanup(lambda: _note(config, "cleanup"))
    """)
    before = gc.get_freeze_count()
    result = pytester.runpytest_inprocess(f"--k8s-manifests={app}", "-q", "-m", "nsa", "--tb=no")
    assert result.ret == 1
    seen = dict(line.split() for line in (pytester.path / "frozen.txt").read_text().splitlines())
    assert int(seen["unconfigure"]) > before and int(seen["cleanup"]) > before, seen
    assert gc.get_freeze_count() == before


@pytest.mark.parametrize("xdist", [False, True])
def test_the_pytest_command_exits_with_the_inventory_still_frozen(pytester: pytest.Pytester, app: Path,
                                                                  xdist: bool) -> None:
    """``python -m pytest`` exits right after the run: unfreezing would only make the interpreter's
    last collection walk everything again. The xdist controller (which collects nothing) freezes too."""
    if xdist:
        pytest.importorskip("xdist")
    pytester.makepyfile(probe="""
        import atexit, gc, os

        @atexit.register
        def _note():
            if not os.environ.get("PYTEST_XDIST_WORKER"):
                with open("frozen.txt", "w") as fh:
                    fh.write(str(gc.get_freeze_count()))
    """)
    proc = _run(["-p", "probe", f"--k8s-manifests={app}", "-q", "-m", "nsa", "--tb=no",
                 *(["-n", "2"] if xdist else [])], pytester.path)
    assert proc.returncode == 1, proc.stdout[-2000:]
    assert int((pytester.path / "frozen.txt").read_text()) > 0


def test_help_lists_every_option(pytester: pytest.Pytester) -> None:
    """``pytest --help`` formats every option's help (argparse treats a bare % as a format)."""
    result = pytester.runpytest("--help")
    assert result.ret == 0, result.stderr.str()
    text = result.stdout.str()
    for option in ("--k8s-manifests", "--k8s-min-score", "--k8s-group-by", "--k8s-report-json", "k8s_min_score"):
        assert option in text
    result.stdout.fnmatch_lines(["*compliance score (passed*", "*(passed + failed), in %) is below N."])


def test_list_controls(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--k8s-list-controls")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["CONTROL*SEVERITY*FRAMEWORKS*REFERENCES*TITLE",
                                 "nsa.pod.privileged*critical*nsa,cis*C-0057 KSV-0017 CIS-5.2.2 PSS baseline*",
                                 "* controls; CIS-x.y.z ids are CIS Kubernetes Benchmark v1.10 recommendations*"])


def test_owned_pods_are_checked_on_their_owner(pytester: pytest.Pytester) -> None:
    f = pytester.makefile(".yaml", live="""\
apiVersion: v1
kind: List
items:
- apiVersion: apps/v1
  kind: ReplicaSet
  metadata: {name: api-5d4, namespace: shop, uid: rs-1}
  spec: {template: {spec: {containers: [{name: web, image: x}]}}}
- apiVersion: v1
  kind: Pod
  metadata:
    name: api-5d4-abc
    namespace: shop
    ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: api-5d4, uid: rs-1, controller: true}]
  spec: {containers: [{name: web, image: x}]}
- apiVersion: v1
  kind: Pod
  metadata:
    name: orphan
    namespace: shop
    ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: gone, uid: rs-2, controller: true}]
  spec: {containers: [{name: web, image: x}]}
""")
    out = pytester.runpytest("--k8s-manifests", str(f), "-k", "host_pid", "--collect-only", "-q").stdout.str()
    assert "shop/ReplicaSet/api-5d4]" in out and "shop/Pod/orphan]" in out
    assert "api-5d4-abc" not in out


def test_examples_insecure_fails_hardened_passes(pytester: pytest.Pytester) -> None:
    bad = pytester.runpytest("--k8s-manifests", str(INSECURE), "-m", "nsa", "-q",
                             "--k8s-report-json", "bad.json")
    assert bad.ret == pytest.ExitCode.TESTS_FAILED
    failed = {r["control"] for r in _json(pytester.path / "bad.json")["results"] if r["outcome"] == "failed"}
    assert {"nsa.pod.privileged", "nsa.pod.runtime-socket", "nsa.pod.host-path", "nsa.pod.host-pid",
            "nsa.pod.host-network", "nsa.pod.host-port", "nsa.pod.dangerous-capabilities",
            "nsa.secrets.env-credentials", "nsa.secrets.configmap-credentials",
            "nsa.namespaces.no-user-workloads-in-system", "nsa.pod.service-account-token",
            "nsa.cp.apiserver-authorization-mode", "nsa.cp.apiserver-anonymous-auth", "nsa.cp.apiserver-no-token-file",
            "nsa.cp.audit-logging", "nsa.cp.encryption-at-rest", "nsa.cp.apiserver-etcd-tls",
            "nsa.cp.apiserver-tls-version", "nsa.cp.etcd-client-tls", "nsa.cp.etcd-peer-tls",
            "nsa.kubelet.anonymous-auth", "nsa.kubelet.authorization", "nsa.kubelet.read-only-port"} <= failed
    good = pytester.runpytest("--k8s-manifests", str(HARDENED), "-m", "nsa", "-q",
                              "--k8s-report-json", "good.json")
    assert good.ret == pytest.ExitCode.OK, good.stdout.str()
    doc = _json(pytester.path / "good.json")
    summary = doc["summary"]
    assert summary["failed"] == 0 and summary["passed"] > 90 and summary["score"] == 100.0
    passed = {r["control"] for r in doc["results"] if r["outcome"] == "passed"}
    assert {"nsa.cp.etcd-separate-ca", "nsa.cp.scheduler-exposure", "nsa.kubelet.client-ca"} <= passed
    # only what needs a live cluster is left, and it says so
    skipped = [r for r in doc["results"] if r["outcome"] == "skipped"]
    # (and the controls whose option is off, and the cluster-level ones, saying so)
    allowed = ("live cluster", "application manifests, not a cluster", "k8s_min_run_as_id is 0 (off)",
               "k8s_require_image_digest is off")
    assert skipped and all(any(a in r["message"] for a in allowed) or r["message"].startswith("manual:")
                           for r in skipped), [r["message"] for r in skipped]


def _run(args: list[str], cwd: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=cwd,
                          input=stdin, capture_output=True, timeout=300)


def test_secret_values_never_printed_or_stored(pytester: pytest.Pytester) -> None:
    proc = _run(["--k8s-manifests", str(INSECURE), "-vv", "-rA", "--k8s-report-json", "r.json",
                 "--junitxml", "j.xml"], pytester.path)
    blob = proc.stdout + proc.stderr + (pytester.path / "r.json").read_bytes() + \
        (pytester.path / "j.xml").read_bytes()
    assert b"STRIPE_API_KEY" in blob and b"DB_PASSWORD" in blob
    for value in SECRET_VALUES:
        assert value.encode() not in blob, value


def test_stdin_target(pytester: pytest.Pytester) -> None:
    proc = _run(["--k8s-manifests", "-", "-q", "-k", "privileged"], pytester.path, stdin=APP.encode())
    assert proc.returncode == 1, proc.stderr
    assert b"<stdin>:1" in proc.stdout


def test_stdin_with_inherited_xdist_marker_is_a_clear_error(pytester: pytest.Pytester) -> None:
    """A pytest started from inside an xdist worker inherits PYTEST_XDIST_WORKER; stdin is then
    not read (a real worker's stdin is xdist's channel), and the run says why instead of
    reporting an empty target."""
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--k8s-manifests", "-", "-q"],
                          cwd=pytester.path, input=APP.encode(), capture_output=True, timeout=300,
                          env={**os.environ, "PYTEST_XDIST_WORKER": "gw7"})
    assert proc.returncode == 4, proc.stdout
    assert b"PYTEST_XDIST_WORKER is set" in proc.stderr, proc.stderr


def test_junit_properties(pytester: pytest.Pytester, app: Path) -> None:
    pytester.runpytest("--k8s-manifests", str(app), "-k", "privileged and migrate", "--junitxml", "j.xml")
    xml = (pytester.path / "j.xml").read_text()
    assert '<property name="k8s_control" value="nsa.pod.privileged"' in xml
    assert '<property name="k8s_severity" value="critical"' in xml
    assert '<property name="k8s_resource" value="shop/Deployment/api:initContainer=migrate"' in xml


def _normalised(path: Path) -> list[tuple[str, str, str | None]]:
    return sorted((r["nodeid"], r["outcome"], r["message"]) for r in _json(path)["results"])


def test_xdist_gives_the_same_results_as_serial(pytester: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    serial = _run(["--k8s-manifests", str(INSECURE), "--k8s-report-json", "serial.json", "-q"], pytester.path)
    assert serial.returncode == 1, serial.stderr
    par = _run(["--k8s-manifests", str(INSECURE), "--k8s-report-json", "par.json", "-q", "-n", "2"],
               pytester.path)
    assert par.returncode == 1, par.stderr
    assert _normalised(pytester.path / "serial.json") == _normalised(pytester.path / "par.json")
    # everything else of each result (resource, findings, control fields) crossed the process boundary too
    full = [sorted(_json(pytester.path / f)["results"], key=lambda r: r["nodeid"]) for f in ("serial.json", "par.json")]
    assert full[0] == full[1]
    s, p = _json(pytester.path / "serial.json")["summary"], _json(pytester.path / "par.json")["summary"]
    assert (s["passed"], s["failed"], s["total"]) == (p["passed"], p["failed"], p["total"])
    # and the failure texts read the same
    texts = [sorted(line for line in out.decode().splitlines() if line.startswith(("  - ", "How to fix:")))
             for out in (serial.stdout, par.stdout)]
    assert texts[0] and texts[0] == texts[1]


@pytest.mark.parametrize("text", ["x", "a\nb\n", "  lead\n\ttrail  \n", "", "\n\n", "ü \x1b[31mred",
                                  "nsa.x [high] T\nns/Deployment/a: bad\nHow to fix: do"])
def test_finding_repr_str_is_what_pytest_renders(text: str) -> None:
    """JUnit and pytest-html call str() on each failure: the quick path gives pytest's own rendering."""
    from types import SimpleNamespace

    from _pytest._code.code import TerminalRepr

    from pytest_k8shardening.annotate import failure_repr

    rep = failure_repr(SimpleNamespace(nodeid="k8shardening/nsa/t.py::t[a]", location=("t.py", 3, "t")), text, "c")
    assert str(rep) == TerminalRepr.__str__(rep)
    rep.addsection("Captured stdout call", "out")  # anything else: pytest's own path
    assert str(rep) == TerminalRepr.__str__(rep) and "out" in str(rep)


def test_worker_reports_cross_as_one_pickle_and_keep_xdists_fields() -> None:
    """On an xdist worker a report is pickled whole; the controller gets the same report back, with
    the fields xdist adds to the data (worker_id...) as attributes, as pytest's own form gives them."""
    import threading
    from types import SimpleNamespace

    from pytest_k8shardening.annotate import failure_repr
    from pytest_k8shardening.record import ControlFields, Result
    from pytest_k8shardening.speedups import FindingReports

    hooks = FindingReports()
    item = SimpleNamespace(nodeid="k8shardening/nsa/test_x.py::test_y[a]", location=("x.py", 3, "test_y[a]"))
    report = pytest.TestReport(item.nodeid, item.location, {"nsa": 1}, "failed",
                               failure_repr(item, "nsa.x [high] X\nfinding", "nsa.x: finding"), "call",
                               [("Captured stdout call", "out")], 0.5, user_properties=[("k", "v")])
    vars(report)["k8s_result"] = Result(item.nodeid, ControlFields("nsa.x"), {"id": "a"}, "failed", "finding")
    worker = SimpleNamespace(workerinput={})
    data = hooks.pytest_report_to_serializable(worker, report)
    assert data is not None and data["$report_type"] == "TestReport"
    data.update(worker_id="gw1", item_index=7)
    back = hooks.pytest_report_from_serializable(worker, data)
    assert back is not None
    assert (back.nodeid, back.outcome, back.when, back.sections, back.user_properties, back.k8s_result) == (
        report.nodeid, "failed", "call", report.sections, [("k", "v")], report.k8s_result)
    assert str(back.longrepr) == str(report.longrepr) and back.head_line == report.head_line
    assert (back.worker_id, back.item_index) == ("gw1", 7)
    # not on the controller or without xdist (pytest-reportlog needs pytest's JSON form there)
    assert hooks.pytest_report_to_serializable(SimpleNamespace(), report) is None
    # a report a plugin made unpicklable takes pytest's own path
    report.lock = threading.Lock()
    assert hooks.pytest_report_to_serializable(worker, report) is None
    # data in pytest's own form is left to pytest
    assert hooks.pytest_report_from_serializable(worker, {"$report_type": "TestReport", "nodeid": "x"}) is None


@pytest.mark.parametrize("grouped", [False, True])
def test_record_crosses_in_pytests_own_json_form(grouped: bool) -> None:
    """Where a report takes pytest's JSON form (the controller under pytest-reportlog, or a report a
    plugin made unpicklable), the record travels as JSON and comes back equal (a grouped item's batch as
    its text, with its tally and waivers)."""
    from types import SimpleNamespace

    from _pytest.reports import _report_to_json

    from pytest_k8shardening.annotate import Annotator, group_batch
    from pytest_k8shardening.record import ControlFields, Result, WaiverHit

    fields = ControlFields("nsa.x", "X", "high", "pod_security", ["nsa"],
                           {"kubescape": ["C-1"], "trivy": [], "cis": [], "pss": None}, "fix it")
    item = Result("t.py::t[a]", fields, {"name": "a"}, "waived", "m", [{"message": "f", "references": {}}],
                  "waived by waiver #1", WaiverHit(1, False, "waived by waiver #1"))
    rec: object = item
    if grouped:
        rec = group_batch("t.py::t[all]", fields, [
            {"id": "a", "outcome": "passed"},
            {"id": "b", "outcome": "failed", "message": "m", "findings": [{"message": "f"}],
             "resource": {"name": "b"}, "waiver": WaiverHit(2, True, "waiver expired: #2")}],
            lambda ident: {"name": ident})
    report = pytest.TestReport("t.py::t[a]", ("t.py", 1, "t"), {}, "skipped", None, "teardown")
    vars(report)["k8s_result"] = rec
    hooks, config = Annotator([], False, lambda ident: {}, False), SimpleNamespace()

    def through(gen: Any, value: Any) -> Any:
        next(gen)
        try:
            gen.send(value)
        except StopIteration as stop:
            return stop.value
        raise AssertionError("the wrapper did not return")

    data = through(hooks.pytest_report_to_serializable(config, report), _report_to_json(report))
    data = json.loads(json.dumps(data))  # what execnet or pytest-reportlog carries
    back = through(hooks.pytest_report_from_serializable(config, data), pytest.TestReport._from_json(data))
    got = back.k8s_result
    if grouped:
        assert got.entries() == rec.entries() and got.tally == rec.tally
        assert (got.used_waivers, got.expired_waivers) == ((), (2,))
    else:
        assert got == item


def _project_and_elsewhere(base: Path) -> tuple[Path, Path]:
    """A project whose pytest.ini matters (strict markers, pythonpath, addopts), and a folder of
    manifests beside it that has a pytest configuration of its own (which must not be used)."""
    project, elsewhere = base / "project", base / "elsewhere"
    (project / "tests").mkdir(parents=True)
    (project / "lib").mkdir()
    (project / "lib" / "teams.py").write_text("OWNER = 'shop-team'\n")
    (project / "pytest.ini").write_text(
        "[pytest]\naddopts = --strict-markers -p no:randomly\nmarkers = team: our own checks\n"
        "pythonpath = lib\nk8s_builtin_suites = false\n")
    (project / "tests" / "test_team.py").write_text(
        "import pytest\nimport teams\n\n\n"
        "@pytest.mark.team\n"
        "def test_team(k8s_workload):\n"
        "    assert teams.OWNER and k8s_workload.name\n")
    elsewhere.mkdir()
    (elsewhere / "app.yaml").write_text(APP)
    (elsewhere / "pyproject.toml").write_text('[tool.pytest.ini_options]\naddopts = "-k nothing_matches"\n')
    return project, elsewhere


@pytest.mark.parametrize("spelling", ["space", "equals", "absolute", "absolute-equals", "xdist"])
def test_manifests_outside_the_project_keep_its_rootdir_and_ini(tmp_path: Path, spelling: str) -> None:
    """pytest chooses its rootdir and ini file before plugins load, reading the value of
    ``--k8s-manifests ../elsewhere`` as a test path (pytest #8846). Every spelling keeps the project's rootdir
    and pytest.ini (its addopts, markers and pythonpath), warns about nothing, and no node id leaves the
    project; xdist workers (which parse the same command line) agree."""
    project, elsewhere = _project_and_elsewhere(tmp_path)
    value = str(elsewhere) if spelling.startswith("absolute") else "../elsewhere"
    manifests = [f"--k8s-manifests={value}"] if "equals" in spelling else ["--k8s-manifests", value]
    extra = ["-n", "2"] if spelling == "xdist" else []
    if extra:
        pytest.importorskip("xdist")
    result = subprocess.run([sys.executable, "-m", "pytest", "-v", *manifests, *extra], cwd=project,
                            capture_output=True, text=True, timeout=300)
    out = result.stdout
    assert result.returncode == 0, out[-3000:] + result.stderr[-2000:]
    assert f"rootdir: {project}" in out and "configfile: pytest.ini" in out, out[:1500]
    assert any("tests/test_team.py::test_team[shop/Deployment/api]" in line and "PASSED" in line
               for line in out.splitlines()), out[-3000:]
    assert "warning" not in out.lower(), out[-3000:]
    assert "../" not in "\n".join(line for line in out.splitlines() if "::" in line)
    assert re.search(r"\b1 passed\b", counts_line(out)), out[-1000:]


def test_manifests_outside_the_project_next_to_test_paths(tmp_path: Path) -> None:
    """With test paths as well, the rootdir comes from them alone."""
    project, _ = _project_and_elsewhere(tmp_path)
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "--co", "tests", "--k8s-manifests",
                             "../elsewhere", "tests/test_team.py"], cwd=project, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert result.stdout.splitlines()[0] == "tests/test_team.py::test_team[shop/Deployment/api]"


def test_rootdir_kept_in_process(pytester: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The same in an in-process run (pytest.main), where the config is built by the caller's process."""
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (elsewhere / "app.yaml").write_text(APP)
    (elsewhere / "tox.ini").write_text("[pytest]\naddopts = -k nothing_matches\n")
    pytester.makeini("[pytest]\nmarkers = team: ours\naddopts = --strict-markers\nk8s_builtin_suites = false\n")
    pytester.makepyfile(test_team="import pytest\n\n@pytest.mark.team\ndef test_team(k8s_workload):\n"
                                  "    assert k8s_workload.name\n")
    result = pytester.runpytest("--k8s-manifests", str(elsewhere))
    result.assert_outcomes(passed=1)
    assert result.parseoutcomes().get("warnings") is None


def test_findings_fail_without_a_python_traceback(pytester: pytest.Pytester, app: Path) -> None:
    """A finding is not a crash: no traceback is formatted for it (pytest would spend about a
    millisecond per failure on one), and --tb=line / -rf name the control and the finding.
    Any other failure keeps pytest's own report."""
    pytester.makeconftest("""
        import pytest

        CALLS = []

        @pytest.hookimpl(wrapper=True)
        def pytest_runtest_makereport(item, call):
            report = yield
            if call.when == "call" and report.failed:
                CALLS.append(item.nodeid)
            return report

        def pytest_terminal_summary(terminalreporter):
            terminalreporter.write_line(f"repr_failure calls: {pytest.Function.repr_failure.calls}")

        _orig = pytest.Function.repr_failure

        def _counting(self, excinfo):
            _counting.calls += 1
            return _orig(self, excinfo)

        _counting.calls = 0
        pytest.Function.repr_failure = _counting
    """)
    pytester.makepyfile(test_plain="def test_plain():\n    assert 1 + 1 == 3\n")
    result = pytester.runpytest("--k8s-manifests", str(app), "-k", "privileged or plain", "--tb=line", "-rf")
    out = result.stdout.str()
    assert "repr_failure calls: 1" in out  # the plain assert only
    assert "test_plain.py:2: assert (1 + 1) == 3" in out or "test_plain.py:2: assert 2 == 3" in out
    crash = [line for line in result.stdout.lines if line.endswith(" (nsa.pod.privileged)")]
    assert crash and crash[0].startswith("k8shardening/nsa/test_pod_security.py:"), out
    # severity first, then the finding without the pod template's path, the control last
    assert crash[0].partition(": ")[2] == ("[critical] securityContext.privileged=true: a privileged container has "
                                           "every capability and all host devices (nsa.pod.privileged)"), out
    assert "Traceback" not in out and "def test_" not in out


def test_captured_teardown_output_still_shown_in_large_runs(pytester: pytest.Pytester, app: Path) -> None:
    """The terminal summary drops passing setup/teardown reports before writing failures (pytest
    scans them all per failure); one with captured teardown output must still be printed."""
    pytester.makepyfile(test_many="""
        import pytest

        @pytest.fixture
        def noisy():
            yield
            print("TEARDOWN-SAYS-HELLO")

        @pytest.mark.parametrize("i", range(600))
        def test_many(i):
            pass

        def test_fails(noisy):
            assert False
    """)
    result = pytester.runpytest("--k8s-manifests", str(app), "--k8s-no-builtin", "-p", "no:randomly")
    result.assert_outcomes(passed=600, failed=1)
    assert "Captured stdout teardown" in result.stdout.str()
    assert "TEARDOWN-SAYS-HELLO" in result.stdout.str()


def test_xdist_with_stdin_reads_once(pytester: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    proc = _run(["--k8s-manifests", "-", "-n", "2", "-q", "--k8s-report-json", "r.json"], pytester.path,
                stdin=APP.encode())
    assert proc.returncode == 1, proc.stderr
    results = _json(pytester.path / "r.json")["results"]
    assert any(r["resource"] and r["resource"]["file"] == "<stdin>" for r in results)


@pytest.mark.parametrize(("args", "message"), [
    (["--k8s-kind"], "--k8s-kind needs"),
    (["--k8s-in-cluster"], "cannot load the cluster credentials (in-cluster)"),
    (["--k8s-context", "a", "--k8s-in-cluster"], "choose one live target"),
    (["--k8s-context", "a", "--k8s-manifests", "x.yaml"], "choose either --k8s-manifests or a live cluster"),
    (["--k8s-kind-config", "k.yaml"], "--k8s-kind-config needs --k8s-kind"),
    (["--k8s-save-snapshot", "s.yaml", "--k8s-manifests", "x.yaml"], "--k8s-save-snapshot needs a live cluster"),
])
def test_live_option_errors(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, args: list[str],
                            message: str) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    if args == ["--k8s-kind"]:
        monkeypatch.setenv("PATH", str(pytester.path))  # neither kind nor a container engine
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()
    assert "Traceback" not in result.stderr.str() + result.stdout.str()
