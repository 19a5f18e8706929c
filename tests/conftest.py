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
