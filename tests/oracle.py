"""The upstream Pod Security Standards oracle, shared by tests/test_pss_oracle.py and tests/test_psa_oracle.py.

``scripts/build-psa-oracle.sh`` builds tests/psa_oracle (a small Go program around
k8s.io/pod-security-admission) into ``${K8SH_CACHE:-~/.cache/pytest-k8shardening}``; a cached binary
needs no Go. The oracle is the main evidence that the PSS checks are right, so it must never turn
silently into skips where it matters: without a usable binary the oracle tests skip, saying why, on a
developer's machine without Go, and FAIL when the ``CI`` environment variable is set (CI builds the
oracle; ``.ci/run`` does so whenever Go is there). A failed build with Go present always fails.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "scripts" / "build-psa-oracle.sh"

#: The one build attempt of this process: ("ok", binary path) or (why the tests cannot run, go found?).
_built: list[tuple[str, str]] = []


def in_ci() -> bool:
    """``CI`` set to anything but empty, ``0`` or ``false`` (GitHub, GitLab and most runners set ``true``)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false")


def _build() -> tuple[str, str]:
    from .builds import run_build

    build = run_build(BUILD, "the Pod Security Standards oracle (k8s.io/pod-security-admission)", 2, timeout=900)
    if build.returncode == 0:
        return "ok", build.stdout.strip().splitlines()[-1]
    if shutil.which("go") is None:
        return "no-go", ("the Go toolchain is not installed and no cached oracle was found, so the upstream PSS "
                         f"oracle cannot be built ({BUILD.name}: {build.stderr.strip()[-3000:]})")
    return "failed", f"building the PSS oracle failed ({BUILD.name}: {build.stderr.strip()[-3000:]})"


def psa_oracle_binary() -> str:
    """The oracle binary's path, built (or found in the cache) once per process; else skip or fail (see above)."""
    if not _built:
        _built.append(_build())
    state, value = _built[0]
    if state == "ok":
        return value
    if in_ci():
        pytest.fail(f"CI is set, so the upstream-oracle tests must run, but {value}", pytrace=False)
    if state == "no-go":
        pytest.skip(value)
    pytest.fail(value, pytrace=False)
