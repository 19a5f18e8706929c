"""pytest-rerunfailures: a finding is a verdict, never a flake.

The checks are pure functions of the inventory read once per session, so a finding
comes back on every attempt: ``--reruns N`` would run the check N more times, report
each attempt as a rerun and make the results disagree with a run without reruns. The
exceptions that carry findings are added to rerunfailures' ``rerun_except`` patterns
(its public ``--rerun-except`` option, matched against ``"ExceptionName: message"``),
so a finding fails at once. A crash is not a finding: it is still rerun, as any error, and
only its last attempt is a result (:class:`Attempts`: the JSON, the summary and JUnit ignore
the attempts before).
"""

from __future__ import annotations

import pytest

__all__ = ["FINDING_PATTERNS", "Attempts", "never_rerun_findings"]

#: ``assert_compliant``'s findings, and a grouped item in which at least one object failed
#: (its message starts ``N of M objects failed``; a group in which objects only errored is a crash).
FINDING_PATTERNS: tuple[str, ...] = (r"^NonCompliant: ", r"^GroupFailed: \d+ of \d+ objects failed")


def never_rerun_findings(config: pytest.Config) -> None:
    """Add :data:`FINDING_PATTERNS` to the ``rerun_except`` patterns, keeping the user's.

    rerunfailures reads the command line's ``--rerun-except`` values if any were
    given, else the ini file's ``rerun_except`` lines: the patterns join whichever
    is in force. Without rerunfailures (or with ``-p no:rerunfailures``) nothing is done.
    """
    option = config.option
    if not hasattr(option, "rerun_except"):
        return
    current = list(option.rerun_except or config.getini("rerun_except") or ())
    option.rerun_except = current + [p for p in FINDING_PATTERNS if p not in current]


class Attempts:
    """Which reports belong to an attempt that pytest-rerunfailures discards (and runs again).

    Its failed phase comes as outcome ``"rerun"``; the attempt's later phases (its teardown) come
    as usual. Neither is a result: only the last attempt's reports are. Reports of one item arrive
    in order (under xdist too: an item runs on one worker), so the node id is key enough.
    """

    def __init__(self) -> None:
        self._open: set[str] = set()  # items whose discarded attempt's teardown is still to come

    def discarded(self, report: pytest.TestReport) -> bool:
        """Is ``report`` part of a discarded attempt? (Call it once per report, in order.)"""
        if report.outcome == "rerun":
            if report.when != "teardown":
                self._open.add(report.nodeid)
            else:
                self._open.discard(report.nodeid)
            return True
        if report.when == "teardown" and report.nodeid in self._open:
            self._open.discard(report.nodeid)
            return True
        return False
