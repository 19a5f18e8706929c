"""JUnit XML (pytest's ``--junitxml``): a crash inside a control is an ``<error>``, not a ``<failure>``.

The control, severity, resource and each finding's upstream ids are written
as testcase properties where the test runs (:mod:`..annotate`).
"""

from __future__ import annotations

from typing import Any

import pytest

from ..annotate import is_error

__all__ = ["JunitErrors"]


class JunitErrors:
    """pytest's JUnit writer makes every failed call a failure (errors are
    failures of setup and teardown). After it has handled a crashed call's
    report, the element it added is renamed and the suite's counts follow.
    Registered only with ``--junitxml``, where reports arrive.
    """

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> Any:
        result = yield
        if is_error(report):
            self._to_error(report)
        return result

    def _to_error(self, report: pytest.TestReport) -> None:
        from _pytest.junitxml import xml_key

        xml = self.config.stash.get(xml_key, None)
        if xml is None:
            return
        try:  # the testcase the writer has just filled for this report
            reporter = xml.node_reporter(report)
        except (AttributeError, TypeError):  # pragma: no cover - pytest's internals moved
            return
        for node in reversed(getattr(reporter, "nodes", None) or ()):
            if node.tag == "failure":
                node.tag = "error"
                xml.stats["failure"] -= 1
                xml.stats["error"] += 1
                return
