"""Hooks for extending pytest-k8shardening from a conftest.py or a plugin.

Implement them like any pytest hook::

    # conftest.py
    def pytest_k8shardening_adjust_control(config, control):
        if control.id == "nsa.pod.read-only-root-filesystem":
            return dataclasses.replace(control, severity="high")

.. versionadded:: 0.1
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .controls import Control
    from .model import Inventory


@pytest.hookspec
def pytest_k8shardening_add_objects(config: pytest.Config, inventory: Inventory) -> list[dict[str, Any]] | None:
    """Add objects to the inventory from another data source.

    Called once, after the target is read (before any test is collected).
    Return Kubernetes objects as dicts (``apiVersion``, ``kind``,
    ``metadata.name`` at least); they are validated like manifests, and
    Secrets among them are redacted. Under pytest-xdist it runs on the
    controller only, and the workers receive the objects with the inventory.

    :param config: the pytest config.
    :param inventory: what was read so far.

    Use in conftest plugins
    =======================

    Only the root conftest.py (or a plugin) can implement it: the hook runs
    before collection.
    """


@pytest.hookspec(firstresult=True)
def pytest_k8shardening_adjust_control(config: pytest.Config, control: Control) -> Control | None:
    """Return a changed copy of ``control`` (e.g. another severity), or None to keep it.

    Called once per control, at collection. The returned control is what the
    severity markers, the reports, waivers and gates see. Stops at the first
    non-None result.

    :param config: the pytest config.
    :param control: the control as its test defines it.
    """


@pytest.hookspec
def pytest_k8shardening_result(config: pytest.Config, result: dict[str, Any]) -> None:
    """Inspect or extend one result entry before the reports are written.

    ``result`` is the dict written to the JSON results (and the source of
    SARIF); add keys to it to carry your own data. Runs where reports are
    gathered (the xdist controller).
    """


@pytest.hookspec
def pytest_k8shardening_summary(config: pytest.Config, summary: dict[str, Any]) -> None:
    """Inspect or extend the ``summary`` block of the JSON results before it is written."""
