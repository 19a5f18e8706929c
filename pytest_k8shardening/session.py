"""The state of one compliance run: settings, inventory, and the plugin objects.

The process that starts the run reads the target once. Under pytest-xdist it
hands the inventory to its workers as a snapshot file (``workerinput``), so
every worker collects the same items from one read.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

from .loader import ManifestError, load_inventory
from .model import InvalidObject, Inventory, K8sObject, Source
from .options import Settings

__all__ = ["STDIN_KEY", "WORKER_INPUT_KEY", "K8sSession"]

WORKER_INPUT_KEY = "k8shardening_inventory"
#: Bytes of standard input, read before pytest's capturing replaces it.
STDIN_KEY = pytest.StashKey[bytes]()


def _snapshot(inv: Inventory, path: Path) -> None:
    doc = {
        "sources": inv.sources,
        "objects": [[o.raw, o.source.file, o.source.line, o.source.document] for o in inv.objects],
    }
    with path.open("w", encoding="utf-8") as fh:
        json.dump(doc, fh, separators=(",", ":"))


def _from_snapshot(path: str, settings: Settings) -> Inventory:
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    objects = [K8sObject(raw, Source(file, line, document)) for raw, file, line, document in doc["objects"]]
    return Inventory(objects, sources=doc["sources"], scope=settings.scope)


class K8sSession:
    """Registered as ``k8shardening-session`` when the plugin is asked to act."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        self._tmpdir: Path | None = None
        self.inventory: Inventory | None = None
        workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
        if workerinput is not None and WORKER_INPUT_KEY in workerinput:
            self.inventory = _from_snapshot(workerinput[WORKER_INPUT_KEY], settings)
        elif settings.manifests:
            try:
                self.inventory = load_inventory(settings.manifests, settings.scope,
                                                max_bytes=settings.max_file_size,
                                                stdin=config.stash.get(STDIN_KEY, None))
            except (ManifestError, InvalidObject) as exc:
                raise pytest.UsageError(f"k8shardening: cannot read the target: {exc}") from None

    def target_summary(self) -> dict[str, Any]:
        inv = self.inventory
        if inv is None:
            return {"sources": [], "objects": 0, "kinds": {}, "scope": self.settings.scope.describe(),
                    "out_of_scope": {}}
        return {
            "sources": inv.sources,
            "objects": len(inv.objects),
            "kinds": inv.kinds(),
            "scope": inv.scope.describe(),
            "out_of_scope": inv.out_of_scope(),
        }

    # -- xdist -----------------------------------------------------------
    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        if self.inventory is None:
            return
        if self._tmpdir is None:
            self._tmpdir = Path(tempfile.mkdtemp(prefix="k8shardening-"))
            _snapshot(self.inventory, self._tmpdir / "inventory.json")
        node.workerinput[WORKER_INPUT_KEY] = str(self._tmpdir / "inventory.json")

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None
