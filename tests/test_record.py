"""The result record: the outcome fold over an item's phases, the resource block, the entry schema."""

from __future__ import annotations

import pickle

import pytest

from pytest_k8shardening.record import Batch, ControlFields, Result, WaiverHit, next_outcome, resource_block, \
    with_container

# (phase reports in order: (when, pytest outcome, crashed control, waived), final outcome)
FOLDS = [
    ([("setup", "passed", False, False), ("call", "passed", False, False), ("teardown", "passed", False, False)],
     "passed"),
    ([("setup", "passed", False, False), ("call", "failed", False, False), ("teardown", "passed", False, False)],
     "failed"),
    ([("setup", "passed", False, False), ("call", "failed", True, False), ("teardown", "passed", False, False)],
     "error"),
    ([("setup", "passed", False, False), ("call", "skipped", False, True), ("teardown", "passed", False, False)],
     "waived"),
    ([("setup", "passed", False, False), ("call", "skipped", False, False), ("teardown", "passed", False, False)],
     "skipped"),
    ([("setup", "failed", False, False), ("teardown", "passed", False, False)], "error"),
    ([("setup", "skipped", False, False), ("teardown", "passed", False, False)], "skipped"),
    # a failing teardown makes a passed item an error, but keeps a finding a finding
    ([("setup", "passed", False, False), ("call", "passed", False, False), ("teardown", "failed", False, False)],
     "error"),
    ([("setup", "passed", False, False), ("call", "failed", False, False), ("teardown", "failed", False, False)],
     "failed"),
    ([("setup", "skipped", False, False), ("teardown", "failed", False, False)], "skipped"),
    ([("setup", "passed", False, False), ("teardown", "passed", False, False)], None),  # no call: passed
]


@pytest.mark.parametrize(("phases", "expected"), FOLDS)
def test_item_outcome_folds_its_phase_reports(phases: list[tuple[str, str, bool, bool]], expected: str | None
                                              ) -> None:
    outcome = None
    for when, report_outcome, error, waived in phases:
        outcome = next_outcome(outcome, when, report_outcome, error=error, waived=waived)
    assert outcome == expected
    rec = Result("t.py::t", ControlFields(), None, outcome)
    assert rec.to_json()["outcome"] == (expected or "passed")


@pytest.mark.parametrize(("block", "keys"), [
    (resource_block("v1", "Pod", "ns", "p", "a.yaml", 3),
     ["apiVersion", "kind", "namespace", "name", "container", "file", "line"]),
    (resource_block("v1", "Pod", "ns", "p", "a.yaml", 3, unit="charts/x"),
     ["apiVersion", "kind", "namespace", "name", "container", "file", "line", "unit"]),
    (with_container(resource_block("v1", "Pod", "ns", "p", None, None, unit="u"), "web", "initContainer"),
     ["apiVersion", "kind", "namespace", "name", "container", "file", "line", "unit", "containerType"]),
    (resource_block(None, None, "ns", None, None, None, group="ns", objects=4),
     ["apiVersion", "kind", "namespace", "name", "container", "file", "line", "group", "objects"]),
])
def test_resource_block_keys_keep_the_schemas_order(block: dict[str, object], keys: list[str]) -> None:
    assert list(block) == keys


def test_record_round_trips_through_json_pickle_and_wire_form() -> None:
    fields = ControlFields("nsa.x", "X", "high", "pod_security", ["nsa"],
                           {"kubescape": ["C-1"], "trivy": [], "cis": [], "pss": None}, "fix")
    hit = WaiverHit(3, False, "waived by waiver #3: r (owner o, expires 2099-01-01)")
    rec = Result("t.py::t[a]", fields, resource_block("v1", "Pod", "ns", "a", "a.yaml", 1), "waived", "m",
                 [{"message": "f", "references": fields.references}], hit.text, hit)
    entry = rec.to_json()
    assert list(entry) == ["nodeid", "control", "title", "severity", "category", "frameworks", "references",
                           "resource", "outcome", "message", "findings", "remediation", "waiver", "waiver_match"]
    assert entry["waiver_match"] == {"index": 4, "expired": False, "text": hit.text}  # waiver #4 of the file
    assert Result.from_json(entry).to_json() == entry
    assert Result.from_json(entry) == rec  # the waiver's index and expiry travel in the entry
    assert Result.from_wire(rec.to_wire()) == rec == pickle.loads(pickle.dumps(rec))
    batch = Batch.of(fields, [rec, Result("t.py::t[b]", fields, None, "skipped", "why")])
    assert batch.tally == {("waived", None): 1, ("skipped", "why"): 1} and batch.used_waivers == (3,)
    assert [r[0] for r in batch.rows()] == ["waived", "skipped"]
    with pytest.raises(AttributeError):
        rec.outcome = "passed"  # type: ignore[misc]  # frozen: a writer cannot change what others read
