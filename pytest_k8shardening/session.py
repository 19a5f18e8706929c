"""The state of one compliance run: settings, inventory, and the plugin objects.

The process that starts the run reads the target. Under pytest-xdist it
hands the inventory to its workers as a snapshot file (``workerinput``), so
every worker collects the same items from one read of the cluster.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from .grouping import Grouping, choose_grouping
from .loader import ManifestError, load_inventory
from .model import InvalidObject, Inventory, K8sObject, Source
from .options import Settings

__all__ = ["STDIN_KEY", "WORKER_INPUT_KEY", "K8sSession"]

WORKER_INPUT_KEY = "k8shardening_inventory"
WORKER_KUBECONFIG_KEY = "k8shardening_kubeconfig"
#: Set by the controller: workers build and encode the result entries of grouped items.
WORKER_ENCODE_KEY = "k8shardening_encode_results"
#: The grouping the controller chose: every worker collects the same items.
WORKER_GROUPING_KEY = "k8shardening_grouping"
#: Bytes of standard input, read before pytest's capturing replaces it.
STDIN_KEY = pytest.StashKey[bytes]()


def _write_worker_snapshot(inv: Inventory, path: Path) -> None:
    doc = {
        "sources": inv.sources,
        "fetched": sorted(inv.fetched),
        "unavailable": inv.unavailable_kinds,
        "objects": [[o.raw, o.source.file, o.source.line, o.source.document, o.source.unit] for o in inv.objects],
    }
    with path.open("w", encoding="utf-8") as fh:
        json.dump(doc, fh, separators=(",", ":"))


def _read_worker_snapshot(path: str, settings: Settings, fetch: Any) -> Inventory:
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    objects = [K8sObject(raw, Source(file, line, document, unit)) for raw, file, line, document, unit in doc["objects"]]
    from .live import DEFAULT_KINDS

    return Inventory(objects, sources=doc["sources"], scope=settings.scope, fetch=fetch,
                     default_kinds=DEFAULT_KINDS if fetch else (), fetched=doc["fetched"],
                     unavailable=doc["unavailable"])


def _exiting() -> bool:
    """Was this pytest run started by the ``pytest`` command, whose process exits when it returns?

    The innermost ``pytest.main`` on the stack was called by pytest's console
    entry point, not by a program (pytester, a script) that goes on running.
    """
    import _pytest.config as pc

    mains = {c for c in (getattr(getattr(pc, n, None), "__code__", None) for n in ("main", "_main")) if c}
    entries = {c for c in (getattr(getattr(pc, n, None), "__code__", None)
                           for n in ("_console_main", "console_main")) if c}
    frame = sys._getframe(1)
    while frame is not None and frame.f_code not in mains:
        frame = frame.f_back
    while frame is not None and frame.f_code in mains:  # main() calls _main()
        frame = frame.f_back
    return frame is not None and frame.f_code in entries


class K8sSession:
    """Registered as ``k8shardening-session`` when the plugin is asked to act."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        self._tmpdir: Path | None = None
        self._kind_cluster: str | None = None
        self.kubeconfig = settings.kubeconfig
        self.cluster: Any = None
        self.inventory: Inventory | None = None
        self.waivers: list[Any] = []
        self.encode_results = bool((getattr(config, "workerinput", None) or {}).get(WORKER_ENCODE_KEY))
        self.resource_json: dict[str, str] = {}  # a grouped object's resource block as JSON, by id (workers)
        self._grouping: Grouping | None = None
        self._frozen = False
        # Registered now, before pytest's own unraisable-exception cleanup: cleanups run last
        # registered first, so this one runs after pytest's final gc.collect() passes.
        config.add_cleanup(self._unfreeze)
        workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
        try:
            if workerinput is not None and WORKER_INPUT_KEY in workerinput:
                self.kubeconfig = workerinput.get(WORKER_KUBECONFIG_KEY) or self.kubeconfig
                fetch = self._lazy_fetch() if settings.live else None
                self.inventory = _read_worker_snapshot(workerinput[WORKER_INPUT_KEY], settings, fetch)
            elif settings.live:
                self._open_live()
            elif settings.manifests:
                if "-" in settings.manifests and STDIN_KEY not in config.stash \
                        and os.environ.get("PYTEST_XDIST_WORKER"):
                    raise pytest.UsageError(
                        "k8shardening: --k8s-manifests -: standard input was not read, because "
                        "PYTEST_XDIST_WORKER is set in the environment (it marks a pytest-xdist worker, whose "
                        "stdin belongs to xdist); unset it when starting pytest from inside an xdist test")
                self.inventory = load_inventory(settings.manifests, settings.scope,
                                                max_bytes=settings.max_file_size,
                                                stdin=config.stash.get(STDIN_KEY, None))
            if self.inventory is not None and not (workerinput and WORKER_INPUT_KEY in workerinput):
                self._add_hook_objects()
        except (ManifestError, InvalidObject) as exc:
            raise pytest.UsageError(f"k8shardening: cannot read the target: {exc}") from None

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
                              in_cluster=self.settings.in_cluster)
            cluster.version()  # fail now, clearly, if the server is unreachable or refuses us
        except ClusterAccessError as exc:
            raise pytest.UsageError(f"k8shardening: cannot read the cluster: {exc}") from None
        return cluster

    def _lazy_fetch(self) -> Any:
        from .live import fetcher

        def fetch(kind: str, inventory: Inventory) -> Any:
            if self.cluster is None:
                self.cluster = self._connect()
            return fetcher(self.cluster)(kind, inventory)

        return fetch

    def _open_live(self) -> None:
        from .live import DEFAULT_KINDS, fetcher

        if self.settings.kind:
            self._create_kind_cluster()
        self.cluster = self._connect()
        self.inventory = Inventory([], sources=[f"cluster {self.cluster.server}"], scope=self.settings.scope,
                                   fetch=fetcher(self.cluster), default_kinds=DEFAULT_KINDS)

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
        }
        if self.cluster is not None:
            summary["requests"] = self.cluster.requests
        summary["grouping"] = self.grouping.as_dict()
        return summary

    def resource_for(self, ident: str) -> dict[str, Any]:
        """The resource block of a test id (``ns/Kind/name:container=web``), from the inventory."""
        base, _, container = ident.partition(":")
        parts = base.split("/")
        ns, kind, name = (parts if len(parts) == 3 else
                          (None, *parts) if len(parts) == 2 else (None, "Namespace", base))
        obj = self.inventory.get(kind, ns, name) if self.inventory is not None else None
        if obj is not None:
            res = obj.resource()
        else:
            res = {"apiVersion": None, "kind": kind, "namespace": ns if kind != "Namespace" else None,
                   "name": name, "container": None, "file": None, "line": None}
        if container:
            ctype, _, cname = container.partition("=")
            res["container"], res["containerType"] = cname, ctype
        return res

    def save_snapshot(self, path: Path) -> None:
        """Everything a full scan reads, as a file ``--k8s-manifests`` can check offline."""
        from .live import DEFAULT_KINDS

        inv = self.inventory
        assert inv is not None
        inv.ensure(*DEFAULT_KINDS)
        doc = {"apiVersion": "v1", "kind": "List", "metadata": {},
               "items": [o.raw for o in inv.objects] + [inv.status_object()]}
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            if path.suffix == ".json":
                json.dump(doc, fh)
            else:
                yaml.dump(doc, fh, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False)
        os.replace(tmp, path)

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

                self.inventory.ensure(*DEFAULT_KINDS)
            self._tmpdir = self._tmpdir or Path(tempfile.mkdtemp(prefix="k8shardening-"))
            _write_worker_snapshot(self.inventory, self._tmpdir / "inventory.json")
        node.workerinput[WORKER_INPUT_KEY] = str(self._tmpdir / "inventory.json")
        # Grouped items: the workers build their result entries (the controller has every report to
        # process, serially), unless a result hook wants to see each entry where reports arrive.
        node.workerinput[WORKER_GROUPING_KEY] = self.grouping.as_dict()
        node.workerinput[WORKER_ENCODE_KEY] = self.grouping.mode != "resource" and \
            not self.config.hook.pytest_k8shardening_result.get_hookimpls()
        if self.kubeconfig:
            node.workerinput[WORKER_KUBECONFIG_KEY] = self.kubeconfig

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.settings.save_snapshot and not hasattr(self.config, "workerinput") and self.inventory is not None:
            self.save_snapshot(self.settings.save_snapshot)

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
        :meth:`_unfreeze` runs after pytest's own collections.
        """
        gc.freeze()
        self._frozen = True

    def _unfreeze(self) -> None:
        """Give the objects back to the collector, unless this process exits now.

        An in-process run (pytester, ``pytest.main``) must leak nothing. An
        xdist worker, and the ``pytest`` command (``console_main`` ends in
        ``sys.exit``), exit: there the interpreter's last collection would
        walk everything again, for nothing.
        """
        if self._frozen and not hasattr(self.config, "workerinput") and not _exiting():
            gc.unfreeze()
        self._frozen = False

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self._delete_kind_cluster()
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None
