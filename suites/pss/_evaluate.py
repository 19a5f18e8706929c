"""What both PSS suites share: running one upstream check at the configured version."""

from __future__ import annotations

import pytest

from pytest_k8shardening import Workload
from pytest_k8shardening.checks import CheckResult, NotApplicable, pss
from pytest_k8shardening.model import InvalidObject


def evaluate(check_id: str, workload: Workload, raw: str, level: str) -> CheckResult:
    """Run upstream check ``check_id`` on ``workload`` at version ``raw`` (``Settings.pss_version``, the
    ``k8s_pss_version`` ini option), for ``level``."""
    __tracebackhide__ = True
    try:
        version = pss.parse_version(raw)
    except ValueError as exc:  # refused at startup already; kept for direct callers
        pytest.fail(f"k8s_pss_version: {exc}", pytrace=False)
    try:
        result = pss.run_check(check_id, workload, version, level=level)
    except InvalidObject as exc:  # a malformed object is an error, never a finding
        raise InvalidObject(f"{workload.describe()} ({workload.obj.source.describe()}): {exc}") from None
    if isinstance(result, NotApplicable):
        return NotApplicable(f"{result.reason} (k8s_pss_version = {raw})")
    return result
