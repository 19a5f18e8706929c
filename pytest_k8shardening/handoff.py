"""The pytest-xdist hand-off: the controller reads the target once, and its workers replay that read.

Every worker must collect the same items (ids, grouping) from the same
objects: workers that each read a cluster, or standard input, could see
different objects (a cluster changes; stdin can be read once). So the
controller writes its inventory, with the input errors that become failing
items, as a JSON snapshot file, and names it in each worker's
``workerinput`` together with its grouping choice and the kubeconfig of a
live target (a worker may still read a kind no test needed before).
"""

from __future__ import annotations

import json
from array import array
from pathlib import Path
from typing import Any

import pytest

from .grouping import Grouping
from .model import Inventory, K8sObject, Source
from .options import Settings
from .target import LiveTarget, Target

__all__ = ["WORKER_GROUPING_KEY", "WORKER_INPUT_KEY", "WORKER_KUBECONFIG_KEY", "hand_over", "received",
           "received_grouping", "write_snapshot"]

WORKER_INPUT_KEY = "k8shardening_inventory"
WORKER_KUBECONFIG_KEY = "k8shardening_kubeconfig"
#: The grouping the controller chose: every worker collects the same items.
WORKER_GROUPING_KEY = "k8shardening_grouping"


def write_snapshot(inv: Inventory, path: Path, input_errors: list[Any]) -> None:
    """The inventory as JSON for the xdist workers; an object JSON cannot carry is a usage error
    naming it (a workers' verdict must be about the same object the controller read)."""
    encode = json.JSONEncoder(separators=(",", ":")).encode
    parts = []
    for o in inv.objects:
        try:
            parts.append(encode([o.raw, o.source.file, o.source.line, o.source.document, o.source.unit,
                                 None if o.lines is None else o.lines.tolist()]))
        except (TypeError, ValueError, RecursionError) as exc:
            where = f"{o.describe()} ({o.source.describe()})"
            problem = "it is nested too deeply" if isinstance(exc, RecursionError) else str(exc).partition("\n")[0]
            raise pytest.UsageError(f"k8shardening: cannot hand {where} to the pytest-xdist workers, which read "
                                    f"the inventory as JSON: {problem}") from None
    head = encode({"sources": inv.sources, "fetched": sorted(inv.fetched), "unavailable": inv.unavailable_kinds,
                   "input_errors": [e.as_dict() for e in input_errors]})
    with path.open("w", encoding="utf-8") as fh:
        fh.write(head[:-1] + ',"objects":[')
        fh.write(",".join(parts))
        fh.write("]}")


def _read_snapshot(path: str, settings: Settings, fetch: Any) -> tuple[Inventory, list[Any]]:
    from .live import DEFAULT_KINDS
    from .repository import InputError

    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    errors = [InputError(e["path"], e["message"], e["line"]) for e in doc.get("input_errors", ())]
    objects = [K8sObject(raw, Source(file, line, document, unit), None if lines is None else array("I", lines))
               for raw, file, line, document, unit, lines in doc["objects"]]
    return Inventory(objects, sources=doc["sources"], scope=settings.scope, fetch=fetch,
                     default_kinds=DEFAULT_KINDS if fetch else (), fetched=doc["fetched"],
                     unavailable=doc["unavailable"]), errors


def received(config: pytest.Config, settings: Settings) -> Target | None:
    """In an xdist worker, the target its controller read; None elsewhere.

    The hook objects are in the snapshot already: they are not added again.
    """
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput is None or WORKER_INPUT_KEY not in workerinput:
        return None
    live = LiveTarget(settings, workerinput.get(WORKER_KUBECONFIG_KEY)) if settings.live else None
    inventory, errors = _read_snapshot(workerinput[WORKER_INPUT_KEY], settings,
                                       live.lazy_fetch() if live is not None else None)
    return Target(inventory, input_errors=errors, live=live)


def received_grouping(config: pytest.Config) -> Grouping | None:
    """In an xdist worker, the grouping its controller chose; None elsewhere."""
    workerinput = getattr(config, "workerinput", None) or {}
    return Grouping.from_dict(workerinput[WORKER_GROUPING_KEY]) if WORKER_GROUPING_KEY in workerinput else None


def hand_over(node: Any, snapshot: Path, grouping: Grouping, kubeconfig: str | None) -> None:
    """Name the snapshot, the grouping and a live target's kubeconfig in the worker's ``workerinput``."""
    node.workerinput[WORKER_INPUT_KEY] = str(snapshot)
    node.workerinput[WORKER_GROUPING_KEY] = grouping.as_dict()
    if kubeconfig:
        node.workerinput[WORKER_KUBECONFIG_KEY] = kubeconfig
