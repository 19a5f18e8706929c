"""ACME's additions to pytest-k8shardening: policy data and one severity override."""

from __future__ import annotations

import dataclasses

import pytest

from pytest_k8shardening import Control

#: Teams allowed to own workloads, with their on-call addresses.
TEAMS = {"shop": "shop-oncall@example.org", "platform": "platform-oncall@example.org"}


@pytest.fixture(scope="session")
def acme_teams() -> dict[str, str]:
    """The teams of ACME that may own workloads."""
    return TEAMS


def pytest_k8shardening_adjust_control(config: pytest.Config, control: Control) -> Control | None:
    """Our auditors treat writable root filesystems as high, not medium."""
    if control.id == "nsa.pod.read-only-root-filesystem":
        return dataclasses.replace(control, severity="high")
    return None
