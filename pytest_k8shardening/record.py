"""The result record: what one compliance item found about one object.

A :class:`Result` is built where the test runs (the only process, or an
xdist worker: :mod:`.annotate`), is the one thing that rides on a test
report (``report.k8s_result``) and crosses to the process that gathers
reports (:mod:`.collector`), and is what every writer reads
(:mod:`.reporting`). Its :meth:`Result.to_json` is an entry of the JSON
results (schema :data:`SCHEMA`), the only place that schema is spelled.

A grouped item (``--k8s-group-by namespace|control``) checks many objects
and yields a :class:`Batch`: one record per object, plus the counts the
summary and gates need.

This module imports neither pytest nor the model: it is plain data.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .checks import REFERENCE_KEYS

__all__ = ["OUTCOMES", "SCHEMA", "WIRE_ATTR", "Batch", "ControlFields", "Result", "WaiverHit", "entries_of",
           "finding_references", "next_outcome", "references_text", "resource_block", "with_container"]

SCHEMA = "k8shardening.results/v1"
OUTCOMES = ("passed", "failed", "waived", "skipped", "error")
#: The test report attribute a record (or a grouped item's batch) rides on, from worker to controller.
WIRE_ATTR = "k8s_result"
#: Longest message kept for a crash or a verdict.
MAX_MESSAGE = 4000

_ENCODE = json.JSONEncoder(separators=(",", ":")).encode  # the JSON writer's compact form


def resource_block(api_version: str | None, kind: str | None, namespace: str | None, name: str | None,
                   file: str | None, line: int | None, *, unit: str | None = None, group: str | None = None,
                   objects: int | None = None) -> dict[str, Any]:
    """The ``resource`` of a result entry: the one place its keys and their order are written.

    ``unit`` is the render (chart, kustomization) an object came from; ``group`` and ``objects``
    describe a grouped item's objects. A container is added by :func:`with_container`.
    """
    out: dict[str, Any] = {"apiVersion": api_version, "kind": kind, "namespace": namespace, "name": name,
                           "container": None, "file": file, "line": line}
    if group is not None:
        out["group"] = group
        out["objects"] = objects
    if unit is not None:
        out["unit"] = unit
    return out


def with_container(block: dict[str, Any], name: str, container_type: str) -> dict[str, Any]:
    """``block`` (a fresh copy is not made: pass one) narrowed to one container of the workload."""
    block["container"] = name
    block["containerType"] = container_type
    return block


@dataclass(frozen=True, slots=True)
class ControlFields:
    """The control's part of a result entry (shared by all the records of one control)."""

    control: str | None = None
    title: str | None = None
    severity: str | None = None
    category: str | None = None
    frameworks: list[str] = field(default_factory=list)
    references: dict[str, Any] = field(default_factory=lambda: {"kubescape": [], "trivy": [], "cis": [],
                                                                 "pss": None})
    remediation: str | None = None

    @classmethod
    def from_dict(cls, ctrl: dict[str, Any] | None) -> ControlFields:
        """From :meth:`Control.as_dict` (or nothing: a test without a control)."""
        if not ctrl:
            return cls()
        return cls(ctrl.get("control"), ctrl.get("title"), ctrl.get("severity"), ctrl.get("category"),
                   ctrl.get("frameworks", []),
                   ctrl.get("references", {"kubescape": [], "trivy": [], "cis": [], "pss": None}),
                   ctrl.get("remediation"))


@dataclass(frozen=True, slots=True)
class WaiverHit:
    """A waiver that matched a failed finding: which one, whether it expired, and what the reports say."""

    index: int  # 0-based, as Waiver.index; the JSON says "waiver #N" and N = index + 1, as the summary lists
    expired: bool
    text: str

    def to_json(self) -> dict[str, Any]:
        """A result's ``waiver_match``: the waiver (its number in the file and in the summary's lists),
        whether it had expired (the finding then fails) and the sentence the reports show."""
        return {"index": self.index + 1, "expired": self.expired, "text": self.text}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WaiverHit:
        return cls(int(data["index"]) - 1, bool(data["expired"]), str(data["text"]))


@dataclass(frozen=True, slots=True)
class Result:
    """One result: an item's (or one object of a grouped item's) outcome, with its control and resource.

    ``waiver`` is the text of the waiver that waived the finding (``outcome`` "waived"; the JSON's
    ``waiver``, kept as it always was); ``waiver_hit`` is the waiver that matched a failed finding,
    waived or expired (the JSON's ``waiver_match``; the summary's applied/expired/stale lists).
    """

    nodeid: str
    control: ControlFields
    resource: dict[str, Any] | None
    outcome: str | None = None  # None while an item's phases are still being folded (see next_outcome)
    message: str | None = None
    findings: list[dict[str, Any]] = field(default_factory=list)
    waiver: str | None = None
    waiver_hit: WaiverHit | None = None

    def to_json(self) -> dict[str, Any]:
        """The entry of the JSON results (and of SARIF, and of the result hook)."""
        c = self.control
        entry = {
            "nodeid": self.nodeid,
            "control": c.control,
            "title": c.title,
            "severity": c.severity,
            "category": c.category,
            "frameworks": c.frameworks,
            "references": c.references,
            "resource": self.resource,
            "outcome": self.outcome or "passed",
            "message": self.message,
            "findings": self.findings,
            "remediation": c.remediation,
        }
        if self.waiver:
            entry["waiver"] = self.waiver
        if self.waiver_hit is not None:
            entry["waiver_match"] = self.waiver_hit.to_json()
        return entry

    @classmethod
    def from_json(cls, entry: dict[str, Any]) -> Result:
        """The record of an entry written by :meth:`to_json`."""
        ctrl = ControlFields(entry.get("control"), entry.get("title"), entry.get("severity"), entry.get("category"),
                             entry.get("frameworks", []), entry.get("references", ControlFields().references),
                             entry.get("remediation"))
        match = entry.get("waiver_match")
        return cls(entry["nodeid"], ctrl, entry.get("resource"), entry.get("outcome"), entry.get("message"),
                   entry.get("findings", []), entry.get("waiver"), WaiverHit.from_json(match) if match else None)

    def to_wire(self) -> dict[str, Any]:
        """JSON-able form for pytest's own report serialization (:meth:`to_json`, and the outcome still
        being folded: None until a phase decides it, which the entry writes as "passed")."""
        return {"result": self.to_json(), "outcome": self.outcome}

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Result:
        rec = cls.from_json(data["result"])
        return cls(rec.nodeid, rec.control, rec.resource, data.get("outcome"), rec.message, rec.findings,
                   rec.waiver, rec.waiver_hit)

    def row(self) -> tuple[str, str | None, str | None, str | None, list[str], str | None, int]:
        """(outcome, control, severity, category, frameworks, message, count): what the summary counts."""
        c = self.control
        return self.outcome or "passed", c.control, c.severity, c.category, c.frameworks, self.message, 1


def next_outcome(outcome: str | None, when: str, report_outcome: str, *, error: bool = False,
                 waived: bool = False) -> str | None:
    """An item's outcome after one more phase report (setup, call, teardown), in that order.

    A failed setup or teardown is an error (as pytest says); a failed call is a finding unless the
    control crashed (``error``); a skipped call is waived when a waiver turned the failure into a skip.
    """
    if when == "call":
        if report_outcome == "passed":
            return outcome or "passed"
        if report_outcome == "failed":
            return "error" if error else "failed"
        return "waived" if waived else "skipped"
    if when == "setup":
        return "error" if report_outcome == "failed" else "skipped" if report_outcome == "skipped" else outcome
    if report_outcome == "failed" and outcome in (None, "passed"):
        return "error"
    return outcome


_OWN_KEYS = frozenset(REFERENCE_KEYS)


def finding_references(findings: list[dict[str, Any]], references: dict[str, Any]) -> list[dict[str, Any]]:
    """``findings`` with their references resolved: the finding's own ids, else the control's.

    Own ids replace the control's ``kubescape``, ``trivy`` and ``cis`` lists; the other keys (``pss``,
    ``not_counterparts``) are the control's. A finding without own ids shares the control's
    references, so every ``findings[].references`` is shaped like the result's ``references``.
    """
    out = []
    for f in findings:
        own = f.get("references")
        if own is None:
            f = {**f, "references": references}
        elif own.keys() == _OWN_KEYS:  # a finding's own ids, not yet resolved (resolving twice is a no-op)
            f = {**f, "references": {**references, **own}}
        out.append(f)
    return out


def references_text(references: dict[str, Any]) -> str:
    """A finding's upstream ids on one line: ``kubescape:C-0130 trivy:KCV-0019 cis:1.2.16`` (JUnit)."""
    return " ".join(f"{key}:{ref}" for key in REFERENCE_KEYS for ref in references.get(key) or ())


Row = tuple[str, "str | None", "str | None", "str | None", "list[str]", "str | None", int]


@dataclass(frozen=True, slots=True)
class Batch:
    """The records of one grouped item, one per object it checked.

    Under xdist the worker that ran the item may send them already encoded
    (:meth:`encoded`): the controller receives every report serially, and the
    entries of grouped items are most of what it would otherwise encode. The
    text is ``json`` of :meth:`Result.to_json`, so it is the same bytes by
    construction. ``tally`` and the waiver indexes are what the summary,
    gates and terminal need without decoding it.
    """

    control: ControlFields
    tally: dict[tuple[str, str | None], int]  # (outcome, skip message or None) -> records
    used_waivers: tuple[int, ...]
    expired_waivers: tuple[int, ...]
    records: tuple[Result, ...] | None = None
    text: str | None = None  # the entries as compact JSON, comma-separated (an array without its brackets)
    item: Result | None = None  # the grouped item's own record (its status, for JUnit, pytest-html, the terminal)

    @classmethod
    def of(cls, control: ControlFields, records: Iterable[Result]) -> Batch:
        records = tuple(records)
        tally: Counter[tuple[str, str | None]] = Counter()
        used: set[int] = set()
        expired: set[int] = set()
        for r in records:
            outcome = r.outcome or "passed"
            tally[(outcome, r.message if outcome == "skipped" else None)] += 1
            if r.waiver_hit is not None:
                (expired if r.waiver_hit.expired else used).add(r.waiver_hit.index)
        return cls(control, dict(tally), tuple(sorted(used)), tuple(sorted(expired)), records)

    def encoded(self) -> Batch:
        """The same batch carrying its entries as JSON text instead of records."""
        if self.records is None:
            return self
        text = ",".join(_ENCODE(r.to_json()) for r in self.records)
        return Batch(self.control, self.tally, self.used_waivers, self.expired_waivers, None, text, self.item)

    def to_wire(self) -> dict[str, Any]:
        """JSON-able form for pytest's own report serialization."""
        c = self.control
        return {"batch": {"control": [c.control, c.title, c.severity, c.category, c.frameworks, c.references,
                                      c.remediation],
                          "tally": [[outcome, message, n] for (outcome, message), n in self.tally.items()],
                          "used": list(self.used_waivers), "expired": list(self.expired_waivers),
                          "text": self.json_text(), "item": self.item.to_wire() if self.item else None}}

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Batch:
        b = data["batch"]
        return cls(ControlFields(*b["control"]), {(o, m): n for o, m, n in b["tally"]}, tuple(b["used"]),
                   tuple(b["expired"]), None, b["text"], Result.from_wire(b["item"]) if b["item"] else None)

    @property
    def count(self) -> int:
        return sum(self.tally.values())

    def entries(self) -> list[dict[str, Any]]:
        """The entries, as dicts."""
        if self.records is not None:
            return [r.to_json() for r in self.records]
        return json.loads(f"[{self.text}]") if self.text else []

    def json_text(self) -> str:
        """The entries as compact JSON, comma-separated."""
        if self.text is not None:
            return self.text
        return ",".join(_ENCODE(r.to_json()) for r in self.records or ())

    def rows(self) -> Iterator[Row]:
        c = self.control
        for (outcome, message), n in self.tally.items():
            yield outcome, c.control, c.severity, c.category, c.frameworks, message, n


def entries_of(results: Iterable[Result | Batch | dict[str, Any]]) -> list[dict[str, Any]]:
    """The JSON entries of gathered results: a batch's every record, a record's entry, a dict as it is."""
    out: list[dict[str, Any]] = []
    for r in results:
        if isinstance(r, Batch):
            out.extend(r.entries())
        elif isinstance(r, Result):
            out.append(r.to_json())
        else:
            out.append(r)
    return out
