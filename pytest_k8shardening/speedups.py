"""Speed tricks, fenced here: each one trades pytest's general path for a measured gain.

None of them changes a verdict or a report's content; each can be removed
and the run gives the same output, slower. Figures from the commits that
added them, ``bench/results.md``, ``bench/live_read.md`` and the README
("Large clusters"):

* :meth:`FindingReports.pytest_runtest_makereport` (makereport bypass):
  pytest formats a traceback for every failure (frames filtered, source
  read), about 1 ms per failure, even with ``pytrace=False``; a finding's
  report is made directly. With 20,000 findings, default ``--tb`` then costs
  about what ``--tb=no`` does.
* :meth:`FindingReports.pytest_terminal_summary` (terminal-stats pruning):
  for each failure pytest scans every passing setup/teardown report for
  captured output, which is quadratic: minutes at 10,000 failures; linear
  once the reports without output are dropped.
* :meth:`FindingReports.pytest_report_to_serializable` (pickled reports):
  xdist sends a report as nested dicts that execnet serializes in pure
  Python, one object at a time, and the controller rebuilds the objects;
  one pickle per report is made and read in C. Part of what makes
  ``--k8s-group-by control -n 2`` at 2,000 workloads 2.4 s against 5.2 s
  serial (README table).
* :func:`encode_on_workers` / :func:`worker_encodes` (a ``workerinput``
  flag): in grouped mode the xdist workers send their items' records as
  JSON text (:meth:`.record.Batch.encoded`), so the controller, which
  handles every report serially, copies text instead of encoding one entry
  per object (334,820 entries at 10,000 workloads).
* :func:`scan_entries` (per-framework object scores from encoded
  records): the summary's scores by framework need each grouped record's
  outcome and object; the workers' JSON text is searched for the two keys
  instead of decoded: 0.24 s against 4.5 s for 125,000 entries (2,000
  workloads, ``--k8s-group-by control -n 2``); 0.13 s from records in a
  serial run.
* :func:`freeze` / :func:`unfreeze` (``gc.freeze``): the inventory is
  millions of small objects that live for the whole run; each full
  collection walks them again, 0.4 s each at 2,000 workloads grouped by
  namespace, three of them at the end of a run (pytest's two and the
  interpreter's). Frozen objects are still freed by reference counting.
* :func:`gc_paused` (``gc.disable`` while a live listing is parsed): parsing
  10,000 pods builds only live objects; the collector's passes over them
  cost more than the parsing (``json.loads`` of all pages 3.38 s, 0.79 s
  with the collector paused; ``bench/live_read.md``).
"""

from __future__ import annotations

import gc
import json
import pickle
import re
import sys
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from .controls import NonCompliant
from .grouping import GroupFailed

__all__ = ["WORKER_ENCODE_KEY", "FindingReports", "encode_on_workers", "freeze", "gc_paused", "scan_entries",
           "unfreeze", "worker_encodes"]

#: Set by the controller: workers send the records of grouped items as JSON text.
WORKER_ENCODE_KEY = "k8shardening_encode_results"
_PACKED = "k8shardening_packed"


class FindingReports:
    """Reports of failed findings made without Python tracebacks, and crossing xdist as one pickle.

    A finding is not a crash and its text replaces the traceback anyway, so
    the report of a call that raised :class:`NonCompliant` (or a grouped
    item's :class:`GroupFailed`) is made here directly; any other failure
    keeps pytest's own report. The wrappers of other plugins (xfail,
    pytest-html, ours) still see and may change the report.
    """

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport | None:
        if call.when != "call" or call.excinfo is None \
                or not isinstance(call.excinfo.value, (NonCompliant, GroupFailed)):
            return None
        sections = [(f"Captured {key} {rwhen}", content) for rwhen, key, content in item._report_sections]
        return pytest.TestReport(item.nodeid, item.location, dict.fromkeys(item.keywords, 1), "failed",
                                 str(call.excinfo.value), "call", sections, call.duration, call.start, call.stop,
                                 user_properties=item.user_properties)

    @pytest.hookimpl(tryfirst=True)
    def pytest_report_to_serializable(self, config: pytest.Config, report: Any) -> dict[str, Any] | None:
        """xdist: a test report crosses from a worker to the controller as one pickle.

        Only on workers (the data goes to this run's own controller; elsewhere,
        e.g. pytest-reportlog, the form must stay JSON); a report that cannot
        be pickled (a plugin's attribute) takes pytest's path.
        """
        if type(report) is not pytest.TestReport or not hasattr(config, "workerinput"):
            return None
        try:
            blob = pickle.dumps(report, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 - any unpicklable attribute: pytest's own serialization
            return None
        return {"$report_type": "TestReport", _PACKED: blob}

    @pytest.hookimpl(tryfirst=True)
    def pytest_report_from_serializable(self, config: pytest.Config, data: Any) -> pytest.TestReport | None:
        packed = data.get(_PACKED) if isinstance(data, dict) else None
        if packed is None:
            return None
        report = pickle.loads(packed)  # noqa: S301 - made by this run's own worker
        if not isinstance(report, pytest.TestReport):
            return None
        for key, value in data.items():  # what xdist adds (worker_id, item_index, testrun_uid), as pytest does
            if key not in (_PACKED, "$report_type"):
                setattr(report, key, value)
        return report

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> Any:
        """Keep pytest's failure sections linear in the number of tests: drop the passing
        setup/teardown reports (``stats[""]``) without captured output, which show nothing."""
        stats = getattr(terminalreporter, "stats", None)
        if isinstance(stats, dict) and len(stats.get("", ())) > 1000:
            stats[""] = [r for r in stats[""] if getattr(r, "sections", None)]
        return (yield)


_OUTCOME_KEY = re.compile(r'"outcome":"(\w+)"')
_RESOURCE_KEY = re.compile(r'"resource":(\{[^{}]*\})')


def scan_entries(text: str, count: int, key_of: Callable[[dict[str, Any], str], Any],
                 blocks: dict[str, Any]) -> list[tuple[str, Any]] | None:
    """(outcome, ``key_of(resource)``) of each of a batch's ``count`` entries, from their JSON text (an xdist
    worker's :meth:`~.record.Batch.encoded`) without decoding it: decoding every entry costs seconds at
    thousands of workloads (4.5 s against 0.2 s for 125,000 entries), and only the outcome and the
    resource block (flat, its keys in any order) are needed. A key written inside a string value is
    escaped (``\\"outcome\\"``), so the two searches below find only the entries' own keys. None when
    the text is not as expected (a count that differs, a block that does not parse): the caller decodes.
    ``blocks`` keeps the key of each block's text already seen (shared by the batches of a run)."""
    outcomes = _OUTCOME_KEY.findall(text)
    keys = []
    for block in _RESOURCE_KEY.findall(text):
        key = blocks.get(block)
        if key is None:
            try:
                res = json.loads(block)
            except ValueError:
                return None
            key = blocks[block] = key_of(res, "")
        keys.append(key)
    if not len(outcomes) == len(keys) == count:
        return None
    return list(zip(outcomes, keys))


def encode_on_workers(config: pytest.Config, workerinput: dict[str, Any], grouping_mode: str) -> None:
    """Controller, per xdist node: let workers encode grouped records, unless a result hook wants to
    see each entry where reports arrive."""
    workerinput[WORKER_ENCODE_KEY] = grouping_mode != "resource" and \
        not config.hook.pytest_k8shardening_result.get_hookimpls()


def worker_encodes(config: pytest.Config) -> bool:
    """Is this process an xdist worker told to encode grouped records?"""
    return bool((getattr(config, "workerinput", None) or {}).get(WORKER_ENCODE_KEY))


def freeze() -> None:
    """Exempt what exists now (inventory, items) from the cyclic garbage collector."""
    gc.freeze()


def unfreeze(config: pytest.Config) -> None:
    """Give the objects back to the collector, unless this process exits now.

    An in-process run (pytester, ``pytest.main``) must leak nothing. An xdist
    worker, and the ``pytest`` command (``console_main`` ends in
    ``sys.exit``), exit: there the interpreter's last collection would walk
    everything again, for nothing. Call it from a config cleanup, which runs
    after pytest's own final collections.
    """
    if not hasattr(config, "workerinput") and not _exiting():
        gc.unfreeze()


def _exiting() -> bool:
    """Was this pytest run started by the ``pytest`` command, whose process exits when it returns?

    The innermost ``pytest.main`` on the stack was called by pytest's console
    entry point, not by a program (pytester, a script) that goes on running.
    """
    import _pytest.config as pc

    mains = {c for c in (getattr(getattr(pc, n, None), "__code__", None) for n in ("main", "_main")) if c}
    entries = {c for c in (getattr(getattr(pc, n, None), "__code__", None)
                           for n in ("_console_main", "console_main")) if c}
    frame: types.FrameType | None = sys._getframe(1)
    while frame is not None and frame.f_code not in mains:
        frame = frame.f_back
    while frame is not None and frame.f_code in mains:  # main() calls _main()
        frame = frame.f_back
    return frame is not None and frame.f_code in entries


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic collector off for the block (a live listing being parsed), as it was after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
