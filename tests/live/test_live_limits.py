"""Issue 14, item 5: with the default settings, a stalled API server ends the run within a minute.

Slow by nature (it waits out the real default deadline), so it lives with the
live tests; the fast variants with low limits are in tests/test_live_limits.py.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_k8shardening.live import DEFAULT_REQUEST_TIMEOUT

from ..stub_apiserver import kubeconfig_for, stub_apiserver


@pytest.mark.parametrize(("behaviour", "target"), [("silent", "/version"), ("drip", "/api/v1/pods")])
def test_default_deadline_ends_a_stalled_run_within_a_minute(tmp_path: Path, behaviour: str, target: str) -> None:
    with stub_apiserver(behaviour, target) as srv:
        start = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-m", "nsa",
                               "--k8s-kubeconfig", str(kubeconfig_for(srv, tmp_path / "kc"))], cwd=tmp_path,
                              capture_output=True, text=True, timeout=180)
        took = time.monotonic() - start
    assert proc.returncode == 4, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert f"no complete answer within {DEFAULT_REQUEST_TIMEOUT:g} s" in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert DEFAULT_REQUEST_TIMEOUT <= took < 60, took
