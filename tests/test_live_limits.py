"""Issue 14, item 5 (live): no server behaviour hangs the run, fills its memory, or loops it.

A stub API server on 127.0.0.1 (tests/stub_apiserver.py) misbehaves on one
path and answers normally elsewhere, so each case hits the limit where it
would in a real scan: at the first contact (/version) or mid-run (a list).
Limits are set low (2 s, 1 MiB) so the suite stays fast; the default
deadline is measured in tests/live/test_live_limits.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pytest_k8shardening import live

from .stub_apiserver import kubeconfig_for, stub_apiserver

LIMITS = ["--k8s-request-timeout", "2", "--k8s-max-response-size", "1048576"]


def _scan(kubeconfig: Path, cwd: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-m", "nsa",
                           "--k8s-kubeconfig", str(kubeconfig), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)
    return proc, time.monotonic() - start


def _clear_exit_4(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 4, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "ERROR: k8shardening: cannot read the cluster: " in proc.stderr
    for needle in needles:
        assert needle in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr and "INTERNALERROR" not in proc.stdout + proc.stderr


@pytest.mark.parametrize(("behaviour", "target", "message"), [
    ("silent", "/version", "GET /version on http://127.0.0.1:"),
    ("drip", "/version", "GET /version on http://127.0.0.1:"),
    ("silent", "/api/v1/namespaces", "GET /api/v1/namespaces on"),
    ("drip", "/api/v1/pods", "GET /api/v1/pods on"),
])
def test_a_stalled_server_is_exit_4_within_the_request_deadline(tmp_path: Path, behaviour: str, target: str,
                                                                message: str) -> None:
    with stub_apiserver(behaviour, target) as srv:
        proc, took = _scan(kubeconfig_for(srv, tmp_path / "kc"), tmp_path, *LIMITS)
    _clear_exit_4(proc, message, "no complete answer within 2 s", "--k8s-request-timeout")
    assert took < 25, took  # 2 s deadline + pytest start-up; the drip would take minutes
    if target != "/version":  # mid-run: nothing more is asked once the server stalled
        assert [r for r in srv.requests if r.startswith(target)] == [target + "?limit=500"], srv.requests
        assert srv.requests[-1].startswith(target), srv.requests
        assert "the tests that needed it were skipped" in proc.stderr


@pytest.mark.parametrize(("behaviour", "target"), [
    ("endless", "/api/v1/pods"), ("huge_length", "/api/v1/nodes"), ("gzip_bomb", "/api/v1/pods")])
def test_an_oversized_answer_is_refused_at_the_cap(tmp_path: Path, behaviour: str, target: str) -> None:
    with stub_apiserver(behaviour, target) as srv:
        proc, took = _scan(kubeconfig_for(srv, tmp_path / "kc"), tmp_path, *LIMITS)
    _clear_exit_4(proc, f"GET {target} on", "the answer is larger than 1048576 bytes", "--k8s-max-response-size")
    assert took < 25, took


def test_a_repeated_continue_token_stops_the_listing(tmp_path: Path) -> None:
    with stub_apiserver("repeat_continue", "/apis/apps/v1/deployments") as srv:
        proc, _ = _scan(kubeconfig_for(srv, tmp_path / "kc"), tmp_path, *LIMITS)
    _clear_exit_4(proc, "repeated a continue token after 2 pages", "Deployment")
    assert srv.requests.count("/apis/apps/v1/deployments?limit=500") == 1
    assert len([r for r in srv.requests if r.startswith("/apis/apps/v1/deployments")]) == 2


def test_the_whole_read_has_a_deadline(tmp_path: Path) -> None:
    with stub_apiserver("slow", "/api") as srv:  # every list answers, a second late
        proc, took = _scan(kubeconfig_for(srv, tmp_path / "kc"), tmp_path, "--k8s-read-timeout", "2.5")
    _clear_exit_4(proc, "allowed for reading the cluster ran out", "--k8s-read-timeout")
    assert took < 25, took
    assert len([r for r in srv.requests if r.startswith("/api")]) <= 4


def test_under_xdist_the_controller_fails_the_run_once(tmp_path: Path) -> None:
    with stub_apiserver("silent", "/api/v1/pods") as srv:
        proc, took = _scan(kubeconfig_for(srv, tmp_path / "kc"), tmp_path, *LIMITS, "-p", "xdist", "-n", "2",
                           "--k8s-report-json", "r.json")
    _clear_exit_4(proc, "GET /api/v1/pods on", "no complete answer within 2 s")
    assert took < 40, took
    # the controller's read fails before any worker starts: a usage error, so no results were made; if a
    # report is written at all it must not look like a verdict
    if (tmp_path / "r.json").exists():
        summary = json.loads((tmp_path / "r.json").read_text())["summary"]
        assert summary["exit_status"] == 4 and summary["passed"] == 0
    assert srv.requests.count("/api/v1/pods?limit=500") == 1


def test_a_snapshot_of_an_incomplete_read_is_not_saved(tmp_path: Path) -> None:
    with stub_apiserver("silent", "/api/v1/configmaps") as srv:
        proc, _ = _scan(kubeconfig_for(srv, tmp_path / "kc"), tmp_path, *LIMITS, "--k8s-save-snapshot", "s.yaml")
    _clear_exit_4(proc, "--k8s-save-snapshot s.yaml: not saved, the read was incomplete")
    assert not (tmp_path / "s.yaml").exists()


@pytest.mark.parametrize(("option", "value"), [
    ("--k8s-request-timeout", "0"), ("--k8s-request-timeout", "soon"), ("--k8s-read-timeout", "-1"),
    ("--k8s-read-timeout", "nan"), ("--k8s-max-response-size", "1.5"), ("--k8s-max-response-size", "0")])
def test_bad_limits_are_usage_errors(tmp_path: Path, option: str, value: str) -> None:
    (tmp_path / "m.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--k8s-manifests",
                           "m.yaml", f"{option}={value}"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 4 and f"{option} takes a positive number" in proc.stderr, proc.stderr


def test_ini_twins_set_the_limits(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nk8s_request_timeout = 7.5\nk8s_read_timeout = 90\nk8s_max_response_size = 4096\n")
    config = pytester.parseconfig("--k8s-read-timeout", "45")
    from pytest_k8shardening.options import Settings

    s = Settings.from_config(config)
    assert (s.request_timeout, s.read_timeout, s.max_response_size) == (7.5, 45.0, 4096)
    default = Settings()
    assert (default.request_timeout, default.read_timeout) == (30.0, 1800.0)  # a stall ends within a minute


# -- the reader itself, without pytest around it ----------------------------------------------------------------

def _cluster(srv: Any, tmp_path: Path, **kw: Any) -> live.LiveCluster:
    return live.connect(kubeconfig=str(kubeconfig_for(srv, tmp_path / "kc")), **kw)


def test_reader_deadline_covers_retries(tmp_path: Path) -> None:
    with stub_apiserver("silent", "/api/v1/pods") as srv:
        cluster = _cluster(srv, tmp_path, request_timeout=1.5)
        start = time.monotonic()
        with pytest.raises(live.ClusterAccessError, match="no complete answer within 1.5 s"):
            cluster.list("Pod")
        assert time.monotonic() - start < 4
        assert srv.requests.count("/api/v1/pods?limit=500") == 1  # a stall is not retried past the deadline


def test_reader_reads_normal_pages_and_reuses_the_connection(tmp_path: Path) -> None:
    with stub_apiserver("silent", "/nothing") as srv:
        cluster = _cluster(srv, tmp_path, request_timeout=5, max_response_bytes=10_000)
        assert cluster.version()["gitVersion"] == "v1.33.1"
        assert cluster.list("Pod") == [] and cluster.list("Namespace") == []
        assert cluster.requests == 3 and 0 < cluster.spent < 5


def test_reader_body_cap_is_exact(tmp_path: Path) -> None:
    body = len(json.dumps({"major": "1", "minor": "33", "gitVersion": "v1.33.1", "platform": "linux/amd64"}))
    with stub_apiserver("silent", "/nothing") as srv:
        assert _cluster(srv, tmp_path, max_response_bytes=body).version()["minor"] == "33"
        with pytest.raises(live.ClusterAccessError, match=f"larger than {body - 1} bytes"):
            _cluster(srv, tmp_path, max_response_bytes=body - 1).version()


def test_one_kubelet_not_answering_skips_its_tests_and_the_run_goes_on(tmp_path: Path) -> None:
    with stub_apiserver("silent", "/api/v1/nodes/node-1/proxy/configz") as srv:
        proc, took = _scan(kubeconfig_for(srv, tmp_path / "kc"), tmp_path, *LIMITS, "--k8s-report-json", "r.json",
                           "-rs")
    assert proc.returncode in (0, 1), proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "cannot read the cluster" not in proc.stderr and "Traceback" not in proc.stdout + proc.stderr
    doc = json.loads((tmp_path / "r.json").read_text())
    kubelet = [r for r in doc["results"] if (r.get("resource") or {}).get("kind") == "KubeletConfiguration"]
    assert kubelet and all(r["outcome"] == "skipped" for r in kubelet)
    assert all("cannot read the kubelet configuration of node node-1: GET /api/v1/nodes/node-1/proxy/configz on "
               in r["message"] and "no complete answer within 2 s" in r["message"] for r in kubelet), kubelet[0]
    assert took < 25, took
