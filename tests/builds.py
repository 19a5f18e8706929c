"""Run a scripts/build-*.sh for the tests, saying so on the terminal when it is a real build.

A cold build (helm, the PSS oracle, kube-apiserver and etcd) takes minutes and
pytest captures everything a test or fixture prints: without a word the first
run looks hung. A build still running after a few seconds (a cached binary
answers at once) is announced past pytest's capture, on the main process and
on xdist workers alike (a worker's real stderr is the controller's terminal).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["CACHE_HINT", "bind", "announce", "run_build"]

#: Where the scripts put what they build.
CACHE_HINT = "${K8SH_CACHE:-~/.cache/pytest-k8shardening}"
#: A cached binary is found in well under this; a build still running after it is a real build.
QUIET_SECONDS = 3.0

_config: Any = None


def bind(config: Any) -> None:
    """Remember the pytest config (tests/conftest.py's pytest_configure), for its capture manager."""
    global _config
    _config = config


def announce(text: str) -> None:
    """Print ``text`` on the terminal now, whatever pytest captures."""
    capman = _config.pluginmanager.getplugin("capturemanager") if _config is not None else None
    if capman is None:  # outside a pytest run
        print(text, file=sys.stderr, flush=True)
        return
    with capman.global_and_fixture_disabled():
        sys.stderr.write(text + "\n")
        sys.stderr.flush()


def run_build(script: Path | str, what: str, minutes: int, *, timeout: float) -> subprocess.CompletedProcess[str]:
    """``bash script`` like ``subprocess.run(capture_output=True, text=True)``, announcing a real build.

    ``what`` names the product (``helm v3.22.0 from its Go module``), ``minutes`` a cold build's usual time.
    """
    args = ["bash", str(script)]
    start = time.monotonic()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        try:
            out, err = proc.communicate(timeout=QUIET_SECONDS)
        except subprocess.TimeoutExpired:
            announce(f"\n[tests] building {what} into {CACHE_HINT} (first run only, about {minutes} min; "
                     f"{Path(script).name})...")
            out, err = proc.communicate(timeout=max(timeout - QUIET_SECONDS, 1.0))
            state = "built" if proc.returncode == 0 else "FAILED to build"
            announce(f"[tests] {state} {what} in {time.monotonic() - start:.0f}s")
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    return subprocess.CompletedProcess(args, proc.returncode, out, err)
