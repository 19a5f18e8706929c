"""Reading inputs and writing outputs without hanging, overreading or destroying files.

Inputs: only regular files are read (a symlink to one is fine). A FIFO would
block the run forever, a device (``/dev/zero``) reads without end while
``stat`` reports 0 bytes, so the size limit counts the bytes actually read.

Outputs (reports, snapshots): checked before the scan, so a bad path is a
usage error and not a lost run; written to a temporary file created
exclusively beside the target and renamed over it, so a planted symlink is
never followed, a failed write leaves nothing behind, and a reader never
sees half a file.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO

__all__ = ["InputRefused", "OutputRefused", "atomic_write", "check_outputs", "ensure_regular", "read_regular_file",
           "write_error"]

_CHUNK = 1024 * 1024


class InputRefused(OSError):
    """A file that is not read: not a regular file, or larger than the limit.

    An :class:`OSError` whose ``strerror`` says why, so callers that report
    ``cannot read: <strerror>`` need no change.
    """


class OutputRefused(Exception):
    """An output path that would destroy an input or cannot be written."""


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a directory")):
        if test(mode):
            return name
    return "not a regular file"


def read_regular_file(path: str | os.PathLike[str], max_bytes: int) -> bytes:
    """The bytes of the regular file at ``path``, at most ``max_bytes`` of them.

    Raises :class:`InputRefused` for anything else (FIFO, device, socket,
    directory) and for a file longer than ``max_bytes``, counted as read:
    ``stat`` is not trusted (a device says 0, a file may grow meanwhile).
    ``O_NONBLOCK`` makes opening a FIFO with no writer return at once, so the
    type check after ``fstat`` is reached instead of blocking in ``open``.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise InputRefused(errno.EINVAL, f"{_kind(mode)}, not a regular file; only regular files are read")
        chunks: list[bytes] = []
        total = 0
        while total <= max_bytes:
            chunk = os.read(fd, min(_CHUNK, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > max_bytes:
            raise InputRefused(errno.EFBIG, f"file is larger than the limit of {max_bytes} bytes "
                                            "(raise it with the k8s_max_file_size ini option)")
        return b"".join(chunks)
    finally:
        os.close(fd)


def ensure_regular(path: str | os.PathLike[str]) -> None:
    """Raise :class:`InputRefused` when ``path`` exists and is not a regular file (for files another
    library opens: a kubeconfig that is a FIFO would block it, a device feed it without end)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return  # missing or unreadable: the reader says so in its own words
    if not stat.S_ISREG(mode):
        raise InputRefused(errno.EINVAL, f"{_kind(mode)}, not a regular file; only regular files are read")


def _same(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def check_outputs(outputs: Iterable[tuple[str, Path]], input_files: Iterable[str | os.PathLike[str]],
                  input_dirs: Iterable[tuple[str | os.PathLike[str], tuple[str, ...]]] = ()) -> None:
    """Refuse output paths that would destroy an input, or cannot be written, before anything runs.

    ``outputs`` are ``(option, path)`` pairs; ``input_files`` the files the run
    reads (manifests, kubeconfig, waivers, ini file); ``input_dirs`` folders it
    walks, each with the file suffixes it reads there. Raises
    :class:`OutputRefused` naming the option and the path.
    """
    inputs: list[os.stat_result] = []
    for f in input_files:
        try:
            inputs.append(os.stat(f))
        except OSError:
            continue
    dirs: list[tuple[Path, tuple[str, ...]]] = []
    for d, suffixes in input_dirs:
        try:
            if Path(d).is_dir():
                dirs.append((Path(os.path.realpath(d)), suffixes))
        except OSError:
            continue
    seen: dict[Path, str] = {}
    for option, path in outputs:
        real = Path(os.path.realpath(path))
        if real in seen:
            raise OutputRefused(f"{option} {path}: the same file as {seen[real]}; give each output its own path")
        seen[real] = f"{option} {path}"
        try:
            st: os.stat_result | None = os.stat(path)
        except FileNotFoundError:
            st = None
        except OSError as exc:
            raise OutputRefused(f"{option} {path}: cannot use this path: {exc.strerror}") from None
        if st is not None:
            if not stat.S_ISREG(st.st_mode):
                raise OutputRefused(f"{option} {path}: is {_kind(st.st_mode)}; give the path of a regular file "
                                    "(it is replaced)")
            if any(_same(st, i) for i in inputs):
                raise OutputRefused(f"{option} {path}: is an input of this run; writing it would destroy it")
            for d, suffixes in dirs:
                if d in real.parents and real.name.endswith(suffixes) and not _hidden(real, d):
                    raise OutputRefused(f"{option} {path}: is an input of this run (a manifest in {d}); "
                                        "writing it would destroy it")
        folder = real.parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if not folder.is_dir():
            raise OutputRefused(f"{option} {path}: {folder} is not a directory")
        try:  # what the write will do: create a file there (os.access is wrong for root, ACLs, read-only mounts)
            fd, probe = tempfile.mkstemp(prefix=".k8shardening-probe-", dir=folder)
        except OSError as exc:
            raise OutputRefused(f"{option} {path}: cannot create a file in {folder}: {exc.strerror}") from None
        os.close(fd)
        os.unlink(probe)


def atomic_write(path: Path, write: Callable[[IO[str]], None], *, private: bool = False) -> None:
    """Write a text file through ``write(fh)``, all or nothing.

    The temporary file is created exclusively (``mkstemp``: ``O_EXCL``, a
    random name, mode 0600) in the target's own folder, so ``os.replace`` is
    atomic and no planted symlink is followed; it is removed when anything
    fails. ``private`` keeps the result 0600 (snapshots); otherwise it gets the
    usual 0666 less the umask. A target that exists and is not a regular file
    (a device, a FIFO) is refused rather than replaced.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        pass
    else:
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EEXIST, f"{path} is {_kind(st.st_mode)}, not replaced")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            write(fh)
        if not private:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_error(option: str, path: Path, exc: OSError) -> None:
    """Say on stderr, in one line, that an output could not be written (the caller sets exit 4)."""
    why = exc.strerror or str(exc)
    sys.stderr.write(f"ERROR: k8shardening: cannot write {option} {path}: {why}\n")
    sys.stderr.flush()
