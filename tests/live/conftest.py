"""A real kube-apiserver + etcd for the live tests, started once per session.

The binaries come from KUBEBUILDER_ASSETS, the build cache, or PATH; when
none has them and Go is installed they are built from their Go modules
(scripts/build-control-plane.sh, about 6 minutes once, cached afterwards).
The tests skip, saying why, only where the binaries cannot be had at all.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from .apiserver import ControlPlane, find_binaries

ROOT = Path(__file__).resolve().parents[2]


def _binaries() -> Path:
    found = find_binaries()
    if found is not None:
        return found
    if shutil.which("go") is None:
        pytest.skip("kube-apiserver and etcd are not available (KUBEBUILDER_ASSETS, build cache, PATH) and Go "
                    "is not installed to build them")
    from ..builds import run_build

    proc = run_build(ROOT / "scripts" / "build-control-plane.sh", "kube-apiserver and etcd from their Go modules", 6,
                     timeout=3000)
    if proc.returncode != 0:
        pytest.fail(f"building kube-apiserver and etcd failed:\n{proc.stderr[-3000:]}")
    return Path(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    with ControlPlane(_binaries(), tmp_path_factory.mktemp("control-plane")) as cp:
        yield cp


@pytest.fixture(scope="session")
def admin(control_plane: ControlPlane) -> Any:
    """An admin API client (the kubernetes package's ApiClient)."""
    from kubernetes import config

    return config.new_client_from_config(config_file=str(control_plane.admin_kubeconfig))


def apply(api: Any, *docs: dict[str, Any]) -> None:
    """Create objects as the admin (the tests' only writer; the plugin never writes)."""
    from kubernetes import utils

    for doc in docs:
        utils.create_from_dict(api, doc)


def run_plugin(args: list[str], cwd: Path, timeout: float = 600) -> tuple[subprocess.CompletedProcess[str],
                                                                         dict[str, Any] | None]:
    """Run pytest with the plugin in a subprocess; return it and the JSON results, if written."""
    out = cwd / "results.json"
    out.unlink(missing_ok=True)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                           "--k8s-report-json", str(out), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)
    return proc, (json.loads(out.read_text()) if out.exists() else None)


def load_yaml(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]
