"""The JSON results file (``--k8s-report-json``, schema :data:`~..record.SCHEMA`), and the file writing
SARIF shares: atomic, a failure is one error line and exit 4, large documents compact and streamed.

Each result is :meth:`Result.to_json <..record.Result.to_json>` (a grouped
item's :class:`~..record.Batch` may arrive already encoded by its xdist
worker; its text is copied).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..record import SCHEMA, Batch, Result, entries_of
from ..waivers import Waiver

__all__ = ["write_results", "write_sarif"]

_PRETTY_LIMIT = 2000  # results above which the files are written compact
_PLACEHOLDER = "__k8shardening_items__"
_JSON_CHUNK = 2000  # list items encoded at a time: few calls, bounded extra memory
_ENCODE = json.JSONEncoder(separators=(",", ":")).encode  # the compact form


def write_results(session: pytest.Session, path: Path, summary: dict[str, Any],
                  results: list[Result | Batch | dict[str, Any]]) -> None:
    """The JSON results: the summary, then every result."""
    doc = {"schema": SCHEMA, "summary": summary, "results": _PLACEHOLDER}
    pretty = summary["total"] <= _PRETTY_LIMIT
    items: list[Any] = entries_of(results) if pretty else results
    _write_report(session, "--k8s-report-json", path, doc, pretty=pretty, items=items)


def write_sarif(session: pytest.Session, path: Path, entries: list[dict[str, Any]], waivers: list[Waiver],
                incomplete: list[str], *, root: Path | None = None, snapshot: Path | None = None,
                warnings: list[str] | None = None) -> None:
    """SARIF (:mod:`.sarif` builds the document from the entries; ``warnings`` gets what it leaves out)."""
    from .sarif import sarif_document

    sarif = sarif_document(entries, waivers, incomplete=incomplete, root=root, snapshot=snapshot, warnings=warnings)
    found = sarif["runs"][0]["results"]
    sarif["runs"][0]["results"] = _PLACEHOLDER
    _write_report(session, "--k8s-report-sarif", path, sarif, pretty=len(found) <= _PRETTY_LIMIT, items=found)


def _json_parts(items: list[Any]) -> Iterator[str]:
    """The compact JSON of ``items`` as comma-separated runs: entries encoded a chunk at a time,
    a grouped item's batch as its text."""
    run: list[Any] = []
    for item in items:
        if isinstance(item, Batch):
            if run:
                yield _ENCODE(run)[1:-1]
                run = []
            yield item.json_text()
        else:
            run.append(item.to_json() if isinstance(item, Result) else item)
            if len(run) >= _JSON_CHUNK:
                yield _ENCODE(run)[1:-1]
                run = []
    if run:
        yield _ENCODE(run)[1:-1]


def _write_report(session: pytest.Session, option: str, path: Path, doc: Any, **kwargs: Any) -> None:
    """Write one report; a failure is a one-line error and exit 4, and the other reports are still written."""
    try:
        _write_json(path, doc, **kwargs)
    except OSError as exc:
        from ..safeio import write_error

        write_error(option, path, exc)
        session.exitstatus = pytest.ExitCode.USAGE_ERROR


def _write_json(path: Path, doc: Any, *, pretty: bool = True, items: list[Any] | None = None) -> None:
    """Write ``doc`` atomically; ``items`` replaces the placeholder string in it, streamed.

    Indented output goes through json's pure-Python encoder, ~10x slower than
    the C one, so large documents are written compact, one list item at a time
    (building the whole text first would double the peak memory).
    """
    from ..safeio import atomic_write

    def write(fh: Any) -> None:
        nonlocal doc
        if pretty:
            if items is not None:
                doc = json.loads(json.dumps(doc).replace(json.dumps(_PLACEHOLDER), json.dumps(items)))
            fh.write(json.dumps(doc, indent=1))
        else:
            head, _, tail = json.dumps(doc, separators=(",", ":")).partition(json.dumps(_PLACEHOLDER))
            fh.write(head)
            if items is not None:
                fh.write("[")
                first = True
                for part in _json_parts(items):
                    if part:
                        fh.write(part if first else "," + part)
                        first = False
                fh.write("]")
            fh.write(tail)
        fh.write("\n")

    atomic_write(path, write)  # exclusive temp file beside the target; removed if anything fails
