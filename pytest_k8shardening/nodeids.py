"""The built-in suites' node ids as command-line arguments.

The suites live inside the installed package, so pytest would name their tests by
a path into site-packages; the plugin names them ``k8shardening/nsa/test_rbac.py::...``
instead (see ``pytest_collect_directory`` in plugin.py). pytest reads a positional
argument as a path from the current folder, though, and ``--lf`` maps node ids to
files under the rootdir: an id pasted from a ``FAILED`` line would not be found.
These functions map such ids to the suites' real paths (arguments, ``--lf``) or to
the node id form (``--deselect``), leaving every other argument as it is.

A ``FAILED`` line shows a node id relative to the current folder: ``k8shardening/...``
when pytest runs from the rootdir, ``../ROOT/k8shardening/...`` otherwise. Both
forms are understood. A real file or folder named ``k8shardening`` always wins.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest

__all__ = ["PREFIX", "deselect_ids", "lastfailed_paths", "names_suites", "teach_lastfailed", "to_suite_args"]

#: The first path segment of every built-in suite node id.
PREFIX = "k8shardening"


def _split(arg: str) -> tuple[str, str]:
    """``(path, rest)`` of ``path::names[params]``, split the way pytest splits it.

    The parameters may contain ``/`` and ``::`` (``[shop/Deployment/api:container=web]``),
    so the bracket is cut off first, as ``resolve_collection_argument`` does.
    """
    base, bracket, params = arg.partition("[")
    path, sep, names = base.partition("::")
    return path, f"{sep}{names}{bracket}{params}"


def _absolute(base: Path, path: str) -> Path:
    return Path(os.path.normpath(os.path.join(base, path)))


def _prefix_relative(path: str, invocation_dir: Path, rootpath: Path) -> str | None:
    """``nsa/test_rbac.py`` for ``path`` (from the current folder) naming a place under
    ``k8shardening/`` of the current folder or of the rootdir that is not on disk (``""``
    for the prefix itself), else None."""
    full = _absolute(invocation_dir, path)
    for base in dict.fromkeys((invocation_dir, rootpath)):
        prefix = _absolute(base, PREFIX)
        if prefix.exists():  # the user's own folder: never shadowed
            continue
        if full == prefix:
            return ""
        if prefix in full.parents:
            return full.relative_to(prefix).as_posix()
    return None


def to_suite_args(args: Sequence[str], suites: Path, invocation_dir: Path, rootpath: Path) -> list[str]:
    """``args`` with every built-in suite node id (or id prefix) replaced by the real path.

    ``k8shardening/nsa/test_x.py::test_y[p]`` becomes ``SUITES/nsa/test_x.py::test_y[p]``,
    which pytest collects (it matches the ``::`` parts by name, not by node id). An id
    naming a file the suites do not have is left alone: pytest then says it is not found.
    """
    out = []
    for arg in args:
        path, rest = _split(arg)
        rel = _prefix_relative(path, invocation_dir, rootpath) if not arg.startswith("-") else None
        real = suites / rel if rel else suites
        out.append(f"{real}{rest}" if rel is not None and real.exists() else arg)
    return out


def names_suites(args: Iterable[str], suites: Path, invocation_dir: Path) -> bool:
    """Does an argument name the suites or a part of them? Then only that part runs."""
    for arg in args:
        if arg.startswith("-"):
            continue
        full = (invocation_dir / _split(arg)[0]).resolve()
        if full == suites or suites in full.parents:
            return True
    return False


def deselect_ids(prefixes: Sequence[str], suites: Path, invocation_dir: Path, rootpath: Path) -> list[str]:
    """``--deselect`` values as node id prefixes: a suite file given by its real path, or an id
    relative to the current folder, becomes ``k8shardening/...`` (pytest compares node ids)."""
    out = []
    for prefix in prefixes:
        path, rest = _split(prefix)
        if path == PREFIX or path.startswith(f"{PREFIX}/"):
            out.append(prefix)
            continue
        rel = _prefix_relative(path, invocation_dir, rootpath)
        if rel is None:
            full = (invocation_dir / path).resolve()
            if full == suites:
                rel = ""
            elif suites in full.parents:
                rel = full.relative_to(suites).as_posix()
        out.append(prefix if rel is None else f"{PREFIX}/{rel}".rstrip("/") + rest)
    return out


def lastfailed_paths(nodeids: Iterable[object], suites: Path) -> set[Path]:
    """The suite files (and their folders up to the suites) that recorded failures belong to."""
    paths: set[Path] = set()
    for nodeid in nodeids:
        path = str(nodeid).partition("::")[0]
        if not path.startswith(f"{PREFIX}/"):
            continue
        real = suites / path.removeprefix(f"{PREFIX}/")
        if real.exists():
            paths.add(real)
            paths.update(p for p in real.parents if p == suites or suites in p.parents)
    return paths


def teach_lastfailed(config: pytest.Config, suites: Path) -> None:
    """Let ``--lf`` collect the suite files whose tests failed last time.

    pytest's last-failed plugin (``lfplugin``) keeps the files of the recorded
    failures, as ``rootdir / node id path``, in its private ``_last_failed_paths``;
    once it has found one failed test in such a file it skips every file not in
    that set, which would drop the suites' failures (their node ids name no file
    under the rootdir). The one use of pytest internals in this module: without
    the attribute (another pytest) nothing is done and ``--lf`` only collects more.
    """
    lf = config.pluginmanager.get_plugin("lfplugin")
    known = getattr(lf, "_last_failed_paths", None)
    if isinstance(known, set):
        known.update(lastfailed_paths(getattr(lf, "lastfailed", None) or (), suites))
