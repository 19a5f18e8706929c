"""The state of one compliance run: settings, inventory, and the plugin objects.

Reading the target is :mod:`.target`'s; handing it to pytest-xdist workers
is :mod:`.handoff`'s. What stays here is what one run holds (the inventory,
the input errors, the waivers, the grouping) and the hooks that follow the
run's phases with it.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from . import handoff
from .grouping import Grouping, choose_grouping
from .loader import ManifestError
from .model import InvalidObject, Inventory
from .options import Settings
from .collector import USAGE_ERROR_KEY
from .record import resource_block, with_container
from .speedups import encode_on_workers, freeze, unfreeze, worker_encodes
from .target import LIVE_ERROR, load, save_snapshot, target_error

__all__ = ["K8sSession"]

class K8sSession:
    """Registered as ``k8shardening-session`` when the plugin is asked to act."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        self._tmpdir: Path | None = None  # the controller's snapshot for its xdist workers
        self.waivers: list[Any] = []
        self.encode_results = worker_encodes(config)
        self._grouping: Grouping | None = None
        self._frozen = False
        # Registered now, before pytest's own unraisable-exception cleanup: cleanups run last
        # registered first, so this one runs after pytest's final gc.collect() passes.
        config.add_cleanup(self._unfreeze)
        try:
            target = handoff.received(config, settings) or load(config, settings)
        except (ManifestError, InvalidObject) as exc:
            raise target_error(exc) from None
        self.inventory: Inventory | None = target.inventory
        self.scan = target.scan  # repository.Scan of a manifest target (controller only)
        self.input_errors: list[Any] = target.input_errors  # repository.InputError: each becomes a failing item
        self.live = target.live  # a live target: its cluster, and a read that failed mid-run
        if self.input_errors:
            from .inputerrors import InputErrorsPlugin

            config.pluginmanager.register(InputErrorsPlugin(self.input_errors), "k8shardening-input-errors")

    @property
    def grouping(self) -> Grouping:
        """The grouping mode of this run, chosen once (``auto``: from the workloads in scope).

        An xdist worker takes the controller's choice, so every worker collects the same items.
        """
        if self._grouping is None:
            self._grouping = handoff.received_grouping(self.config)
        if self._grouping is None:
            requested = self.settings.group_by
            inv = self.inventory
            workloads = len(inv.workloads()) if requested == "auto" and inv is not None else 0
            self._grouping = choose_grouping(requested, workloads)
        return self._grouping

    # -- a live read that fails mid-run ----------------------------------
    def pytest_collectstart(self) -> None:
        if self.live is not None:  # (the xdist controller collects nothing: it never gets here)
            self.live.collecting = self.live.collected = True

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self) -> None:
        if self.live is None:
            return
        self.live.collecting = False
        if self.live.error is not None and not hasattr(self.config, "workerinput"):
            raise pytest.UsageError(self.live.error)  # (a worker runs nothing: pytest_runtestloop)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool | None:
        """An xdist worker whose live read failed while it collected runs nothing: it stops, and its
        controller ends the run with the worker's message as a usage error."""
        if self.live is not None and self.live.error is not None and hasattr(self.config, "workerinput"):
            session.shouldstop = self.live.error
            return True
        return None

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        stop = (getattr(node, "workeroutput", None) or {}).get("shouldstop")
        if isinstance(stop, str) and stop.startswith(LIVE_ERROR) and self.live is not None \
                and self.live.error is None:
            self.live.error = stop
            self.config.stash[USAGE_ERROR_KEY] = stop

    # -- reporting -------------------------------------------------------
    def target_summary(self) -> dict[str, Any]:
        inv = self.inventory
        if inv is None:
            return {"sources": [], "objects": 0, "kinds": {}, "scope": self.settings.scope.describe(),
                    "out_of_scope": {}, "unavailable": {}, "grouping": self.grouping.as_dict()}
        summary = {
            "sources": inv.sources,
            "objects": len(inv.objects),
            "kinds": inv.kinds(),
            "scope": inv.scope.describe(),
            "out_of_scope": inv.out_of_scope(),
            "unavailable": inv.unavailable_kinds,
            "variants": inv.variants(),
            **inv.owners.as_dict(),
        }
        if self.scan is not None:
            summary["inputs"] = self.scan.as_dict()
        if self.live is not None and self.live.cluster is not None:
            summary["requests"] = self.live.cluster.requests
        summary["grouping"] = self.grouping.as_dict()
        return summary

    def resource_for(self, ident: str) -> dict[str, Any]:
        """The resource block of a test id (``ns/Kind/name[@variant]:container=web``), from the inventory.

        Ids are looked up whole (a variant suffix may hold any character), never split on ``/``.
        """
        base, container = ident, ""
        head, sep, tail = ident.rpartition(":")
        if sep and tail.partition("=")[0] in ("container", "initContainer", "ephemeralContainer"):
            base, container = head, tail
        inv = self.inventory
        obj = inv.by_id(base) if inv is not None else None
        res: dict[str, Any] | None = obj.resource() if obj is not None else None
        if res is None and inv is not None and "/" not in base.partition("@")[0]:
            view = next((v for v in inv.namespace_views(base.partition("@")[0]) if v.id == base), None)
            res = view.resource() if view is not None else None
        if res is None:
            parts = base.split("/")
            ns, kind, name = (parts if len(parts) == 3 else
                              (None, *parts) if len(parts) == 2 else (None, "Namespace", base))
            res = resource_block(None, kind, ns if kind != "Namespace" else None, name, None, None)
        if container:
            ctype, _, cname = container.partition("=")
            res = with_container(res, cname, ctype)
        return res

    # -- hooks -----------------------------------------------------------
    def pytest_report_header(self, config: pytest.Config) -> str | None:
        if self.inventory is None:
            return None
        return f"k8shardening: {self.grouping.reason}"

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """xdist: read the cluster once, here, and hand the result to every worker."""
        if self.inventory is None:
            return
        if self._tmpdir is None or not (self._tmpdir / "inventory.json").exists():
            if self.live is not None:
                self.live.read_all(self.inventory)
            self._tmpdir = self._tmpdir or Path(tempfile.mkdtemp(prefix="k8shardening-"))
            handoff.write_snapshot(self.inventory, self._tmpdir / "inventory.json", self.input_errors)
        handoff.hand_over(node, self._tmpdir / "inventory.json", self.grouping,
                          self.live.kubeconfig if self.live is not None else None)
        # Grouped items: the workers build their result records (the controller has every report to
        # process, serially), unless a result hook wants to see each entry where reports arrive.
        encode_on_workers(self.config, node.workerinput, self.grouping.mode)

    @pytest.hookimpl(wrapper=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> Generator[None, None, None]:
        controller = not hasattr(self.config, "workerinput")
        if controller:
            self._fail_on_read_error(session)  # before the reports and gates are made
        path = self.settings.save_snapshot
        if path and controller and self.inventory is not None:  # before the reports: SARIF points into it
            from .live import DEFAULT_KINDS
            from .safeio import write_error

            self.inventory.ensure(*DEFAULT_KINDS)
            if self._fail_on_read_error(session):
                sys.stderr.write(f"ERROR: k8shardening: --k8s-save-snapshot {path}: not saved, the read was "
                                 "incomplete\n")
            else:
                try:
                    save_snapshot(self.inventory, path)
                except OSError as exc:
                    write_error("--k8s-save-snapshot", path, exc)
                    session.exitstatus = pytest.ExitCode.USAGE_ERROR
        return (yield)

    def _fail_on_read_error(self, session: pytest.Session) -> bool:
        read_error = self.live.read_error if self.live is not None else None
        if read_error is None:
            return False
        if session.exitstatus != pytest.ExitCode.USAGE_ERROR:
            session.exitstatus = pytest.ExitCode.USAGE_ERROR
            sys.stderr.write(f"ERROR: k8shardening: {read_error}; the tests that needed it were skipped\n")
        return True

    @pytest.hookimpl(trylast=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self._freeze()  # the xdist controller collects nothing: its inventory is frozen here

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self._freeze()

    def _freeze(self) -> None:
        """Exempt what lives until the end (inventory, items) from the garbage collector.

        A cluster snapshot is millions of small dicts and lists that live for
        the whole run; every full collection would walk them again: pytest
        runs two at the end (for unraisable exceptions), and the interpreter
        one more when it exits (0.4 s each at 2,000 workloads grouped by
        namespace). Frozen objects are still freed by reference counting.
        :meth:`_unfreeze` runs after pytest's own collections (speedups.py: what it buys).
        """
        freeze()
        self._frozen = True

    def _unfreeze(self) -> None:
        """Give the objects back to the collector, unless this process exits now.

        An in-process run (pytester, ``pytest.main``) must leak nothing. An
        xdist worker, and the ``pytest`` command (``console_main`` ends in
        ``sys.exit``), exit: there the interpreter's last collection would
        walk everything again, for nothing.
        """
        if self._frozen:
            unfreeze(self.config)
        self._frozen = False

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self.live is not None:
            self.live.close()
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None
