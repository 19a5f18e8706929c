"""JUnit XML (pytest's ``--junitxml``) that agrees with the gate, as CI systems read it.

pytest's writer makes every failed call a ``<failure>``: a medium finding under
``--k8s-fail-on high`` would mark a Jenkins build unstable and a GitLab merge
request red while the run exits 0. :class:`JunitReport` fixes up pytest's
testcases as their reports arrive and, before pytest writes the file, at the
end of the session:

* a finding that fails the gate stays a ``<failure>``; one below the gate is
  ``<skipped type="k8shardening.below-gate">`` with the reason (the finding's
  text stays as the element's text); a waived finding is pytest's xfail
  ``<skipped>`` with the waiver's sentence; a crash inside a control is an
  ``<error>``. The rule (:func:`below_gate`): with no gate every finding fails;
  ``--k8s-fail-on S`` fails findings at or above S; ``--k8s-min-score`` fails
  every finding when the score is below it (each one pulled it down) and none
  when the score meets it. The suite's ``failures``, ``skipped`` and
  ``errors`` counts follow.
* each compliance testcase has a ``k8s_verdict`` property: ``passed``,
  ``failed``, ``below-gate``, ``waived``, ``skipped`` or ``error``.
* the classname is ``k8shardening.<control id>`` (after ``--junit-prefix``):
  CI views that ignore properties (GitLab) show the control, and Jenkins
  groups by its dotted parts (package ``k8shardening.nsa.pod``, class
  ``privileged``). The name is pytest's: the test function and its
  parameter, which is the object's id (``test_not_privileged[shop/Deployment/
  api:container=web]``); one function implements a control, so names are unique
  within a classname and stable between runs.
* a session that did not run every selected item (it never exits 0) has a
  failing testcase ``k8shardening`` / ``incomplete`` with the reasons.
* an attempt pytest-rerunfailures discards (a crash it runs again) leaves no
  testcase: only the last attempt is a result, as in the JSON.

The control, severity, resource and each finding's upstream ids are written
as testcase properties where the test runs (:mod:`..annotate`). Tests that are
not compliance items are left as pytest writes them.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any

import pytest

from ..annotate import is_error, result_of
from ..record import Result
from ..reruns import Attempts

if TYPE_CHECKING:
    from ..collector import Gates, ResultsCollector

__all__ = ["BELOW_GATE", "JunitReport", "below_gate"]

#: The ``type`` of the ``<skipped>`` element of a finding below the gate.
BELOW_GATE = "k8shardening.below-gate"
VERDICT = "k8s_verdict"


def below_gate(gates: Gates, severity: str | None, score: float | None) -> str | None:
    """Why a finding of ``severity`` does not fail the gate (its ``<skipped>`` message), or None when it does.

    The gate's own rule (:meth:`Gates.blocks`, :meth:`Gates.score_fails`): a finding fails when its
    severity is at or above ``--k8s-fail-on`` (every finding when no gate is set; an unknown severity
    too), or when the score is below ``--k8s-min-score``.
    """
    if gates.blocks(severity) or gates.score_fails(score):
        return None
    sev = severity or "unrated"
    score_met = f"score {score:g} meets --k8s-min-score {gates.min_score:g}" if gates.min_score is not None \
        and score is not None else None
    if gates.fail_on is not None:
        return f"below the gate: {sev} finding, --k8s-fail-on {gates.fail_on}" + (f"; {score_met}" if score_met
                                                                                    else "")
    return f"below the gate: {sev} finding, {score_met} (the only gate)"


class JunitReport:
    """Fix-ups of pytest's JUnit testcases for compliance items (see the module's docstring).

    Registered only with ``--junitxml``, where reports arrive (the only process, or the xdist
    controller). Works on pytest's own writer (``_pytest.junitxml``): a testcase's reporter is
    changed while its reports arrive, and a finding's finished element at the end of the session
    (its verdict may wait for the score); if pytest's internals move, the file is left as pytest
    wrote it.
    """

    def __init__(self, config: pytest.Config, collector: ResultsCollector) -> None:
        self.config = config
        self.collector = collector
        self._attempts = Attempts()
        self._findings: list[tuple[Any, Result]] = []  # (testcase reporter, record) of each failed finding

    def _xml(self) -> Any:
        from _pytest.junitxml import xml_key

        return self.config.stash.get(xml_key, None)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> Any:
        xml = self._xml()
        if xml is None or report.when not in ("setup", "call", "teardown"):
            return (yield)
        discarded = self._attempts.discarded(report)
        rec = result_of(report)
        reporter = None
        if report.when == "teardown" and rec is not None:
            reporter = _reporter(xml, report)  # the testcase pytest is about to finish with this report
            if reporter is not None and not discarded:
                self._mark(xml, reporter, rec)
        result = yield
        if discarded and reporter is not None:  # a rerun attempt: pytest has written an empty testcase
            try:
                xml.node_reporters_ordered.remove(reporter)
            except (AttributeError, ValueError):  # pragma: no cover - pytest's internals moved
                pass
        elif is_error(report):
            _retag(xml, report, "error")
        return result

    def _mark(self, xml: Any, reporter: Any, rec: Result) -> None:
        """A compliance item's classname and verdict (a finding's verdict waits for the end)."""
        control = rec.control.control
        if control:
            prefix = getattr(xml, "prefix", None)
            reporter.add_attribute("classname", f"{prefix}.k8shardening.{control}" if prefix
                                   else f"k8shardening.{control}")
        if rec.outcome == "failed":
            self._findings.append((reporter, rec))
        else:
            reporter.add_property(VERDICT, rec.outcome or "passed")

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Before pytest writes the file: each finding a failure or, below the gate, skipped; an
        incomplete session's testcase."""
        xml = self._xml()
        if xml is None:
            return
        incomplete = self.collector.incomplete(session)
        if incomplete:
            _incomplete_case(xml, incomplete)
        if not self._findings:
            return
        gates = self.collector.gates
        score = self.collector.score() if gates.min_score is not None else None
        for reporter, rec in self._findings:
            reason = below_gate(gates, rec.control.severity, score)
            hit = rec.waiver_hit
            if reason is not None and hit is not None and hit.expired:
                reason += f" ({hit.text})"
            _finding_verdict(xml, reporter, reason)
        self._findings.clear()


def _incomplete_case(xml: Any, reasons: list[str]) -> None:
    """A failing testcase ``k8shardening`` / ``incomplete`` saying what was not checked.

    A session cut short (``-x``, ``--maxfail``, an interrupt, a crashed worker) never exits 0, but
    what it ran may show no failure (a finding below the gate stops ``-x`` too): without this
    testcase a CI view would be green for a run that failed.
    """
    from _pytest.junitxml import bin_xml_escape

    try:
        reporter = xml.node_reporter("k8shardening::incomplete")
        reporter.attrs.update(classname="k8shardening", name="incomplete")
        reporter.add_property(VERDICT, "incomplete")
        text = "run incomplete: " + "; ".join(reasons)
        node = ET.Element("failure", message=bin_xml_escape(text))
        node.text = bin_xml_escape(text + "\nWhat was not run was not checked: the gate fails.")
        reporter.append(node)
    except (AttributeError, TypeError):  # pragma: no cover - pytest's internals moved
        pass


def _reporter(xml: Any, report: pytest.TestReport) -> Any:
    try:
        return xml.node_reporter(report)
    except (AttributeError, TypeError):  # pragma: no cover - pytest's internals moved
        return None


def _retag(xml: Any, report: pytest.TestReport, tag: str) -> None:
    """The ``<failure>`` the writer has just added for ``report`` becomes ``tag``; the suite's counts follow."""
    reporter = _reporter(xml, report)
    for node in reversed(getattr(reporter, "nodes", None) or ()):
        if node.tag == "failure":
            node.tag = tag
            xml.stats["failure"] -= 1
            xml.stats[tag] += 1
            return


def _finding_verdict(xml: Any, reporter: Any, reason: str | None) -> None:
    """A finding's testcase: ``<failure>`` kept (``reason`` None), or ``<skipped>`` below the gate."""
    verdict = "failed" if reason is None else "below-gate"
    if "nodes" in vars(reporter):  # not finished (a report still to come): pytest builds the element later
        nodes, add = reporter.nodes, lambda: reporter.add_property(VERDICT, verdict)
    else:  # finished: pytest keeps the testcase element it will write
        testcase = reporter.to_xml()
        nodes = list(testcase)

        def add() -> None:
            props = testcase.find("properties")
            if props is None:
                props = ET.Element("properties")
                testcase.insert(0, props)
            props.append(ET.Element("property", name=VERDICT, value=verdict))
    add()
    if reason is None:
        return
    for node in nodes:
        if node.tag == "failure":
            node.tag = "skipped"
            from _pytest.junitxml import bin_xml_escape

            node.attrib = {"type": BELOW_GATE, "message": bin_xml_escape(reason)}
            xml.stats["failure"] -= 1
            xml.stats["skipped"] += 1
            return
