"""Shared setup for the plugin's own tests."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True, scope="session")
def _no_inherited_xdist_marker() -> None:
    """Under ``pytest -n``, the subprocesses our tests start would inherit
    PYTEST_XDIST_WORKER and believe they are xdist workers (which never read
    stdin). They are not: drop the variables from this process's environment."""
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
        os.environ.pop(name, None)


def pytest_configure(config: pytest.Config) -> None:
    from .builds import bind

    bind(config)  # the build announcements print past pytest's capture


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="session")
def helm_bin() -> str:
    """A real helm (v3.22.0), built from its Go module by scripts/build-helm.sh and cached.

    Skipped, saying why, where Go is missing, except under CI, where a missing
    renderer must fail the run rather than turn the chart tests into skips.
    """
    import shutil

    if shutil.which("go") is None and not os.path.exists("/usr/local/go/bin/go"):
        from pytest_k8shardening.repository import HELM_CACHE

        if os.access(HELM_CACHE / "helm", os.X_OK):
            return str(HELM_CACHE / "helm")
        if os.environ.get("CI"):
            pytest.fail("CI is set but Go is missing: cannot build helm for the chart-rendering tests")
        pytest.skip("Go is not installed: cannot build helm for the chart-rendering tests")
    from .builds import run_build

    proc = run_build(os.path.join(ROOT, "scripts", "build-helm.sh"), "helm v3.22.0 from its Go module", 3,
                     timeout=1500)
    if proc.returncode != 0:
        pytest.fail(f"scripts/build-helm.sh failed:\n{proc.stderr[-3000:]}")
    return proc.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def kustomize_cmd() -> str:
    """kubectl's embedded kustomize (or a kustomize binary) for the overlay tests."""
    import shutil

    found = shutil.which("kustomize") or shutil.which("kubectl")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("CI is set but neither kustomize nor kubectl is installed")
        pytest.skip("neither kustomize nor kubectl is installed")
    return found
