"""The state of one compliance run: settings, inventory, and the plugin objects.

The process that starts the run reads the target. Under pytest-xdist it
hands the inventory to its workers as a snapshot file (``workerinput``), so
every worker collects the same items from one read of the cluster.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
import yaml

from .grouping import Grouping, choose_grouping
from .loader import ManifestError, inventory_of
from .model import InvalidObject, Inventory, K8sObject, Source
from .options import Settings
from .record import resource_block, with_container
from .collector import USAGE_ERROR_KEY
from .speedups import encode_on_workers, freeze, unfreeze, worker_encodes

__all__ = ["STDIN_KEY", "WORKER_INPUT_KEY", "K8sSession"]

WORKER_INPUT_KEY = "k8shardening_inventory"
WORKER_KUBECONFIG_KEY = "k8shardening_kubeconfig"
_LIVE_ERROR = "k8shardening: cannot read the cluster: "
#: The grouping the controller chose: every worker collects the same items.
WORKER_GROUPING_KEY = "k8shardening_grouping"
#: Bytes of standard input, read before pytest's capturing replaces it.
STDIN_KEY = pytest.StashKey[bytes]()


def _write_worker_snapshot(inv: Inventory, path: Path, input_errors: list[Any]) -> None:
    """The inventory as JSON for the xdist workers; an object JSON cannot carry is a usage error
    naming it (a workers' verdict must be about the same object the controller read)."""
    encode = json.JSONEncoder(separators=(",", ":")).encode
    parts = []
    for o in inv.objects:
        try:
            parts.append(encode([o.raw, o.source.file, o.source.line, o.source.document, o.source.unit]))
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


def _read_worker_snapshot(path: str, settings: Settings, fetch: Any) -> tuple[Inventory, list[Any]]:
    from .repository import InputError

    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    errors = [InputError(e["path"], e["message"], e["line"]) for e in doc.get("input_errors", ())]
    objects = [K8sObject(raw, Source(file, line, document, unit)) for raw, file, line, document, unit in doc["objects"]]
    from .live import DEFAULT_KINDS

    return Inventory(objects, sources=doc["sources"], scope=settings.scope, fetch=fetch,
                     default_kinds=DEFAULT_KINDS if fetch else (), fetched=doc["fetched"],
                     unavailable=doc["unavailable"]), errors


class K8sSession:
    """Registered as ``k8shardening-session`` when the plugin is asked to act."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        self._tmpdir: Path | None = None
        self._kind_cluster: str | None = None
        self.kubeconfig = settings.kubeconfig
        self.cluster: Any = None
        self.read_error: str | None = None  # the cluster stopped answering mid-run: exit 4
        self.inventory: Inventory | None = None
        self.scan: Any = None  # repository.Scan of a manifest target (controller only)
        self.input_errors: list[Any] = []  # repository.InputError: each becomes a failing item
        self.waivers: list[Any] = []
        self.encode_results = worker_encodes(config)
        self._grouping: Grouping | None = None
        self._frozen = False
        self._collecting = False
        self._collected = False  # collection has begun (after it, a live failure ends the run with pytest.exit)
        self.live_error: str | None = None  # the cluster stopped answering properly, mid-run
        # Registered now, before pytest's own unraisable-exception cleanup: cleanups run last
        # registered first, so this one runs after pytest's final gc.collect() passes.
        config.add_cleanup(self._unfreeze)
        workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
        try:
            if workerinput is not None and WORKER_INPUT_KEY in workerinput:
                self.kubeconfig = workerinput.get(WORKER_KUBECONFIG_KEY) or self.kubeconfig
                fetch = self._lazy_fetch() if settings.live else None
                self.inventory, self.input_errors = _read_worker_snapshot(workerinput[WORKER_INPUT_KEY], settings,
                                                                          fetch)
            elif settings.live:
                self._open_live()
            elif settings.manifests:
                if "-" in settings.manifests and STDIN_KEY not in config.stash \
                        and os.environ.get("PYTEST_XDIST_WORKER"):
                    raise pytest.UsageError(
                        "k8shardening: --k8s-manifests -: standard input was not read, because "
                        "PYTEST_XDIST_WORKER is set in the environment (it marks a pytest-xdist worker, whose "
                        "stdin belongs to xdist); unset it when starting pytest from inside an xdist test")
                self.inventory = self._scan_manifests(config, settings)
            if self.inventory is not None and not (workerinput and WORKER_INPUT_KEY in workerinput):
                self._add_hook_objects()
            if self.input_errors:
                from .inputerrors import InputErrorsPlugin

                config.pluginmanager.register(InputErrorsPlugin(self.input_errors), "k8shardening-input-errors")
        except (ManifestError, InvalidObject) as exc:
            raise pytest.UsageError(f"k8shardening: cannot read the target: {exc}") from None

    def _scan_manifests(self, config: pytest.Config, settings: Settings) -> Inventory:
        """Read the manifest targets: files, folders, charts, kustomizations (repository.scan)."""
        from .repository import Renderers, scan

        renderers = Renderers.discover(helm=settings.helm, kustomize=settings.kustomize,
                                       helm_values=settings.helm_values, helm_set=settings.helm_set)
        result = scan(settings.manifests, max_bytes=settings.max_file_size, stdin=config.stash.get(STDIN_KEY, None),
                      renderers=renderers)
        self.scan = result
        self.input_errors = list(result.errors)
        return inventory_of(result, list(settings.manifests), settings.scope)

    def _add_hook_objects(self) -> None:
        from .loader import make_object

        assert self.inventory is not None
        batches = self.config.hook.pytest_k8shardening_add_objects(config=self.config, inventory=self.inventory)
        for batch in batches:
            objs = [make_object(raw, f"pytest_k8shardening_add_objects, object {i + 1}",
                                Source("pytest_k8shardening_add_objects"))
                    for i, raw in enumerate(batch or ())]
            self.inventory.add(objs)
        if any(batches):
            from .loader import validate

            validate(self.inventory)

    @property
    def grouping(self) -> Grouping:
        """The grouping mode of this run, chosen once (``auto``: from the workloads in scope).

        An xdist worker takes the controller's choice, so every worker collects the same items.
        """
        if self._grouping is None:
            workerinput = getattr(self.config, "workerinput", None) or {}
            if WORKER_GROUPING_KEY in workerinput:
                self._grouping = Grouping.from_dict(workerinput[WORKER_GROUPING_KEY])
            else:
                requested = self.settings.group_by
                inv = self.inventory
                workloads = len(inv.workloads()) if requested == "auto" and inv is not None else 0
                self._grouping = choose_grouping(requested, workloads)
        return self._grouping

    # -- live ------------------------------------------------------------
    def _connect(self) -> Any:
        from .live import ClusterAccessError, connect

        try:
            cluster = connect(kubeconfig=self.kubeconfig, context=self.settings.context,
                              in_cluster=self.settings.in_cluster, request_timeout=self.settings.request_timeout,
                              read_timeout=self.settings.read_timeout,
                              max_response_bytes=self.settings.max_response_size)
            cluster.version()  # fail now, clearly, if the server is unreachable or refuses us
        except ClusterAccessError as exc:
            raise pytest.UsageError(f"{_LIVE_ERROR}{exc}") from None
        return cluster

    def _lazy_fetch(self) -> Any:
        from .live import fetcher

        def fetch(kind: str, inventory: Inventory) -> Any:
            if self.cluster is None:
                self.cluster = self._connect()
            return fetcher(self.cluster)(kind, inventory)

        return self._guarded(fetch)

    def _guarded(self, fetch: Any) -> Any:
        """A live read that fails after the start (a 500 or 401 mid-run, a malformed answer) ends the
        run as a usage error (exit 4) in one line: never a traceback, never a partial verdict.

        While pytest collects, an exception would become a collection error with a traceback:
        there the error is recorded and :meth:`pytest_collection_modifyitems` stops the run.
        """
        from .live import ClusterAccessError

        def guarded(kind: str, inventory: Inventory) -> Any:
            if self.live_error is not None:
                return self._stop()
            try:
                return fetch(kind, inventory)
            except pytest.UsageError as exc:
                self.live_error = str(exc)
            except ClusterAccessError as exc:  # deadlines, oversized or looping answers included
                self.live_error = f"{_LIVE_ERROR}{exc}"
                self.read_error = f"cannot read the cluster: {exc}"
            except (AttributeError, KeyError, TypeError, ValueError) as exc:  # an answer of the wrong shape
                self.live_error = (f"{_LIVE_ERROR}reading {kind}: the API server's answer "
                                   f"has an unexpected shape ({type(exc).__name__}: {exc})")
            return self._stop()

        return guarded

    def _stop(self) -> Any:
        assert self.live_error is not None
        if self._collecting:
            return [], None  # pytest_collection_modifyitems stops the run, before any test runs
        if not self._collected:  # before collection (the grouping choice, the header): one usage error line
            raise pytest.UsageError(self.live_error)
        pytest.exit(self.live_error, returncode=pytest.ExitCode.USAGE_ERROR)

    def pytest_collectstart(self) -> None:
        self._collecting = self._collected = True  # (the xdist controller collects nothing: it never gets here)

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self) -> None:
        self._collecting = False
        if self.live_error is not None and not hasattr(self.config, "workerinput"):
            raise pytest.UsageError(self.live_error)  # (a worker runs nothing: pytest_runtestloop)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool | None:
        """An xdist worker whose live read failed while it collected runs nothing: it stops, and its
        controller ends the run with the worker's message as a usage error."""
        if self.live_error is not None and hasattr(self.config, "workerinput"):
            session.shouldstop = self.live_error
            return True
        return None

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        stop = (getattr(node, "workeroutput", None) or {}).get("shouldstop")
        if isinstance(stop, str) and stop.startswith(_LIVE_ERROR) and self.live_error is None:
            self.live_error = stop
            self.config.stash[USAGE_ERROR_KEY] = stop

    def _open_live(self) -> None:
        from .live import DEFAULT_KINDS, fetcher

        if self.settings.kind:
            self._create_kind_cluster()
        self.cluster = self._connect()
        self.inventory = Inventory([], sources=[f"cluster {self.cluster.server}"], scope=self.settings.scope,
                                   fetch=self._guarded(fetcher(self.cluster)), default_kinds=DEFAULT_KINDS)

    def _create_kind_cluster(self) -> None:
        kind = shutil.which("kind")
        if kind is None:
            raise pytest.UsageError("k8shardening: --k8s-kind needs the `kind` command on PATH "
                                    "(https://kind.sigs.k8s.io), and a running Docker or Podman")
        engines = [e for e in ("docker", "podman") if shutil.which(e)]
        running = any(subprocess.run([e, "info"], capture_output=True, timeout=60).returncode == 0 for e in engines)
        if not running:
            raise pytest.UsageError("k8shardening: --k8s-kind needs a running container engine (Docker or Podman); "
                                    + ("none answers `info`" if engines else "neither docker nor podman is installed"))
        self._tmpdir = self._tmpdir or Path(tempfile.mkdtemp(prefix="k8shardening-"))
        name = f"k8sh-{uuid.uuid4().hex[:8]}"
        kubeconfig = self._tmpdir / "kind.kubeconfig"
        cmd = [kind, "create", "cluster", "--name", name, "--kubeconfig", str(kubeconfig), "--wait", "180s"]
        if self.settings.kind_config:
            cmd += ["--config", self.settings.kind_config]
        self._kind_cluster = name
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        if proc.returncode != 0:
            self._delete_kind_cluster()
            raise pytest.UsageError(f"k8shardening: `kind create cluster` failed:\n{proc.stderr[-2000:]}")
        self.kubeconfig = str(kubeconfig)

    def _delete_kind_cluster(self) -> None:
        if self._kind_cluster:
            subprocess.run(["kind", "delete", "cluster", "--name", self._kind_cluster], capture_output=True,
                           timeout=300)
            self._kind_cluster = None

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
        if self.cluster is not None:
            summary["requests"] = self.cluster.requests
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

    def save_snapshot(self, path: Path) -> None:
        """Everything a full scan reads, as a file ``--k8s-manifests`` can check offline.

        Private (0600), written all or nothing beside the target, and without
        the values the credential checks flag (each replaced by a stand-in they
        flag the same way, so the offline verdicts are the live ones).
        """
        from .live import DEFAULT_KINDS
        from .redact import redact_credentials
        from .safeio import atomic_write

        inv = self.inventory
        assert inv is not None
        inv.ensure(*DEFAULT_KINDS)
        doc = {"apiVersion": "v1", "kind": "List", "metadata": {},
               "items": [redact_credentials(o.raw) for o in inv.objects] + [inv.status_object()]}

        def write(fh: Any) -> None:
            if path.suffix == ".json":
                json.dump(doc, fh)
            else:
                yaml.dump(doc, fh, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False)

        atomic_write(path, write, private=True)

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
            if self.settings.live:
                from .live import DEFAULT_KINDS

                try:
                    self.inventory.ensure(*DEFAULT_KINDS)
                except pytest.exit.Exception:  # the cluster failed: before any worker starts, a usage error
                    raise pytest.UsageError(self.live_error) from None
            self._tmpdir = self._tmpdir or Path(tempfile.mkdtemp(prefix="k8shardening-"))
            _write_worker_snapshot(self.inventory, self._tmpdir / "inventory.json", self.input_errors)
        node.workerinput[WORKER_INPUT_KEY] = str(self._tmpdir / "inventory.json")
        # Grouped items: the workers build their result entries (the controller has every report to
        # process, serially), unless a result hook wants to see each entry where reports arrive.
        node.workerinput[WORKER_GROUPING_KEY] = self.grouping.as_dict()
        encode_on_workers(self.config, node.workerinput, self.grouping.mode)
        if self.kubeconfig:
            node.workerinput[WORKER_KUBECONFIG_KEY] = self.kubeconfig

    @pytest.hookimpl(wrapper=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> Generator[None, None, None]:
        controller = not hasattr(self.config, "workerinput")
        if controller:
            self._fail_on_read_error(session)  # before the reports and gates are made
        result = yield
        path = self.settings.save_snapshot
        if path and controller and self.inventory is not None:  # after everything else, as trylast did
            from .live import DEFAULT_KINDS
            from .safeio import write_error

            self.inventory.ensure(*DEFAULT_KINDS)
            if self._fail_on_read_error(session):
                sys.stderr.write(f"ERROR: k8shardening: --k8s-save-snapshot {path}: not saved, the read was "
                                 "incomplete\n")
            else:
                try:
                    self.save_snapshot(path)
                except OSError as exc:
                    write_error("--k8s-save-snapshot", path, exc)
                    session.exitstatus = pytest.ExitCode.USAGE_ERROR
        return result

    def _fail_on_read_error(self, session: pytest.Session) -> bool:
        if self.read_error is None:
            return False
        if session.exitstatus != pytest.ExitCode.USAGE_ERROR:
            session.exitstatus = pytest.ExitCode.USAGE_ERROR
            sys.stderr.write(f"ERROR: k8shardening: {self.read_error}; the tests that needed it were skipped\n")
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
        self._delete_kind_cluster()
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None
