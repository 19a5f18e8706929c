"""Reading the target: manifests and repositories, or a live cluster (a throwaway kind one included).

The process that starts the run reads the target here, once, into an
:class:`~pytest_k8shardening.model.Inventory` (pytest-xdist workers get it from
:mod:`.handoff` instead). Kept apart from the session so that what is read,
and how a bad read fails, is in one place: unreadable input is a usage error
naming it (exit 4), never a traceback; a live cluster that stops answering
mid-run ends the run the same way, never with a partial verdict. A live read
can also be saved (:func:`save_snapshot`) and replayed offline with
``--k8s-manifests``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from .loader import ManifestError, inventory_of
from .model import InvalidObject, Inventory, Source
from .options import Settings

if TYPE_CHECKING:
    from .live import LiveCluster
    from .repository import InputError, Scan

__all__ = ["LIVE_ERROR", "STDIN_KEY", "LiveTarget", "Target", "add_hook_objects", "load", "save_snapshot",
           "target_error"]

#: Every message of a failed live read starts so (a worker's stop reason is recognised by it).
LIVE_ERROR = "k8shardening: cannot read the cluster: "
#: Bytes of standard input, read before pytest's capturing replaces it.
STDIN_KEY = pytest.StashKey[bytes]()

Fetch = Callable[[str, Inventory], Any]


@dataclass
class Target:
    """What the run checks, as read."""

    inventory: Inventory | None = None
    scan: Scan | None = None  # the inputs of a manifest target (the process that read them only)
    input_errors: list[InputError] = field(default_factory=list)  # each becomes a failing item
    live: LiveTarget | None = None


def target_error(exc: ManifestError | InvalidObject) -> pytest.UsageError:
    return pytest.UsageError(f"k8shardening: cannot read the target: {exc}")


def load(config: pytest.Config, settings: Settings) -> Target:
    """Read the target ``settings`` name (nothing, when none is given), with the objects hooks add."""
    target = Target()
    try:
        if settings.live:
            target.live = LiveTarget(settings)
            target.inventory = target.live.open()
        elif settings.manifests:
            target = _read_manifests(config, settings)
        if target.inventory is not None:
            add_hook_objects(config, target.inventory)
    except (ManifestError, InvalidObject) as exc:
        _close(target)
        raise target_error(exc) from None
    except BaseException:
        _close(target)
        raise
    return target


def _close(target: Target) -> None:
    """A target that failed to load: no session will close it, so its kind cluster is deleted here."""
    if target.live is not None:
        target.live.close()


def _read_manifests(config: pytest.Config, settings: Settings) -> Target:
    """Read the manifest targets: files, folders, charts, kustomizations (repository.scan)."""
    from .repository import Renderers, scan

    if "-" in settings.manifests and STDIN_KEY not in config.stash and os.environ.get("PYTEST_XDIST_WORKER"):
        raise pytest.UsageError(
            "k8shardening: --k8s-manifests -: standard input was not read, because "
            "PYTEST_XDIST_WORKER is set in the environment (it marks a pytest-xdist worker, whose "
            "stdin belongs to xdist); unset it when starting pytest from inside an xdist test")
    renderers = Renderers.discover(helm=settings.helm, kustomize=settings.kustomize,
                                   helm_values=settings.helm_values, helm_set=settings.helm_set)
    result = scan(settings.manifests, max_bytes=settings.max_file_size, stdin=config.stash.get(STDIN_KEY, None),
                  renderers=renderers)
    return Target(inventory_of(result, list(settings.manifests), settings.scope), scan=result,
                  input_errors=list(result.errors))


def add_hook_objects(config: pytest.Config, inventory: Inventory) -> None:
    """Add the objects ``pytest_k8shardening_add_objects`` implementations return, checked as a file's are."""
    from .loader import make_object

    batches = config.hook.pytest_k8shardening_add_objects(config=config, inventory=inventory)
    for batch in batches:
        objs = [make_object(raw, f"pytest_k8shardening_add_objects, object {i + 1}",
                            Source("pytest_k8shardening_add_objects"))
                for i, raw in enumerate(batch or ())]
        inventory.add(objs)
    if any(batches):
        from .loader import validate

        validate(inventory)


def save_snapshot(inventory: Inventory, path: Path) -> None:
    """Everything a full scan reads, as a file ``--k8s-manifests`` can check offline.

    Private (0600), written all or nothing beside the target, and without
    the values the credential checks flag (each replaced by a stand-in they
    flag the same way, so the offline verdicts are the live ones).
    """
    from .live import DEFAULT_KINDS
    from .redact import redact_credentials
    from .safeio import atomic_write

    inventory.ensure(*DEFAULT_KINDS)
    doc = {"apiVersion": "v1", "kind": "List", "metadata": {},
           "items": [redact_credentials(o.raw) for o in inventory.objects] + [inventory.status_object()]}

    def write(fh: Any) -> None:
        if path.suffix == ".json":
            json.dump(doc, fh)
        else:
            yaml.dump(doc, fh, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False)

    atomic_write(path, write, private=True)


class LiveTarget:
    """A live cluster: the connection, the kind cluster made for the run, and its failed reads.

    The inventory of a live target reads kinds when a test first needs them,
    so a read can fail at any point of the run. :meth:`guarded` turns such a
    failure into one line, recorded in :attr:`error`, and the run ends as a
    usage error (exit 4). The session tells it where pytest is
    (:attr:`collecting`, :attr:`collected`): before collection the error is
    raised, during collection it is only recorded (an exception would become a
    collection error with a traceback), after it the run exits.
    """

    def __init__(self, settings: Settings, kubeconfig: str | None = None) -> None:
        self.settings = settings
        self.kubeconfig = kubeconfig or settings.kubeconfig
        self.cluster: LiveCluster | None = None
        self.error: str | None = None  # the cluster stopped answering properly, mid-run
        self.read_error: str | None = None  # the cluster stopped answering mid-run: exit 4
        self.collecting = False
        self.collected = False  # collection has begun (after it, a failure ends the run with pytest.exit)
        self._kind_cluster: str | None = None
        self._tmpdir: Path | None = None

    def open(self) -> Inventory:
        """Connect (first creating the kind cluster, with ``--k8s-kind``); kinds are read when needed."""
        from .live import DEFAULT_KINDS, fetcher

        if self.settings.kind:
            self._create_kind_cluster()
        cluster = self.cluster = self.connect()
        return Inventory([], sources=[f"cluster {cluster.server}"], scope=self.settings.scope,
                         fetch=self.guarded(fetcher(cluster)), default_kinds=DEFAULT_KINDS)

    def connect(self) -> LiveCluster:
        from .live import ClusterAccessError, connect

        settings = self.settings
        try:
            cluster = connect(kubeconfig=self.kubeconfig, context=settings.context,
                              in_cluster=settings.in_cluster, request_timeout=settings.request_timeout,
                              read_timeout=settings.read_timeout, max_response_bytes=settings.max_response_size)
            cluster.version()  # fail now, clearly, if the server is unreachable or refuses us
        except ClusterAccessError as exc:
            raise pytest.UsageError(f"{LIVE_ERROR}{exc}") from None
        return cluster

    def lazy_fetch(self) -> Fetch:
        """A fetch that connects on its first read (an xdist worker: most never read the cluster)."""
        from .live import fetcher

        def fetch(kind: str, inventory: Inventory) -> Any:
            if self.cluster is None:
                self.cluster = self.connect()
            return fetcher(self.cluster)(kind, inventory)

        return self.guarded(fetch)

    def guarded(self, fetch: Fetch) -> Fetch:
        """A live read that fails after the start (a 500 or 401 mid-run, a malformed answer) ends the
        run as a usage error (exit 4) in one line: never a traceback, never a partial verdict.

        While pytest collects, an exception would become a collection error with a traceback:
        there the error is recorded and the session stops the run when collection ends.
        """
        from .live import ClusterAccessError

        def guarded(kind: str, inventory: Inventory) -> Any:
            if self.error is not None:
                return self._stop()
            try:
                return fetch(kind, inventory)
            except pytest.UsageError as exc:
                self.error = str(exc)
            except ClusterAccessError as exc:  # deadlines, oversized or looping answers included
                self.error = f"{LIVE_ERROR}{exc}"
                self.read_error = f"cannot read the cluster: {exc}"
            except (AttributeError, KeyError, TypeError, ValueError) as exc:  # an answer of the wrong shape
                self.error = (f"{LIVE_ERROR}reading {kind}: the API server's answer "
                              f"has an unexpected shape ({type(exc).__name__}: {exc})")
            return self._stop()

        return guarded

    def _stop(self) -> Any:
        assert self.error is not None
        if self.collecting:
            return [], None  # the session stops the run when collection ends, before any test runs
        if not self.collected:  # before collection (the grouping choice, the header): one usage error line
            raise pytest.UsageError(self.error)
        pytest.exit(self.error, returncode=pytest.ExitCode.USAGE_ERROR)

    def read_all(self, inventory: Inventory) -> None:
        """Read every default kind now (before xdist workers start: a failure is a usage error)."""
        from .live import DEFAULT_KINDS

        try:
            inventory.ensure(*DEFAULT_KINDS)
        except pytest.exit.Exception:  # the cluster failed: before any worker starts, a usage error
            raise pytest.UsageError(self.error) from None

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
            self.close()
            raise pytest.UsageError(f"k8shardening: `kind create cluster` failed:\n{proc.stderr[-2000:]}")
        self.kubeconfig = str(kubeconfig)

    def close(self) -> None:
        """Delete the kind cluster made for the run, and its kubeconfig."""
        if self._kind_cluster:
            subprocess.run(["kind", "delete", "cluster", "--name", self._kind_cluster], capture_output=True,
                           timeout=300)
            self._kind_cluster = None
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None
