#!/usr/bin/env python3
"""Profile one run of the NSA suite: where does the time go?

    python bench/profile.py [--workloads 2000 | --manifests DIR] [--tb no] [--no-cprofile] [-- PYTEST ARGS]

Runs ``pytest -p no:cacheprovider -q -m nsa --k8s-manifests DIR --k8s-report-json X
--junitxml Y`` in-process (``pytest.main``) from an empty temporary directory and prints

1. a phase breakdown, from timestamps taken by a small plugin of this script:
   startup (imports, configure, reading the manifests), collection (with
   pytest_generate_tests and pytest_collection_modifyitems), the run loop
   (with the time pytest spends rendering failure tracebacks,
   ``Function.repr_failure``), and sessionfinish (JSON writer, JUnit writer,
   terminal summary with its failure sections);
2. with cProfile (the default; ``--no-cprofile`` for timings without the
   profiler's overhead), the top entries by cumulative and by own time, first
   for everything, then filtered to the plugin (``pytest_k8shardening`` and
   the built-in ``suites``).

The profile is saved to ``bench/profile-<N>.prof`` (gitignored) for
``python -m pstats`` or snakeviz.
"""

from __future__ import annotations

import os
import sys

# This file is named profile.py: keep its directory off sys.path, or it shadows
# the standard library's `profile` module that cProfile imports.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse  # noqa: E402
import cProfile
import io  # noqa: E402
import pstats  # noqa: E402
import subprocess  # noqa: E402
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
DEFAULT_GEN = BENCH / "gen_cluster.py"
T0 = time.perf_counter()

PLUGIN_RE = r"pytest_k8shardening|/suites/"
INTERESTING_RE = r"pytest_k8shardening|/suites/|_pytest|pluggy|yaml|json|xml|xdist|ast\.py"


class PhaseTimer:
    """Timestamps around pytest's phases, and per-implementation timings of a few hooks."""

    def __init__(self) -> None:
        self.marks: dict[str, float] = {}
        self.acc: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def _timed(self, key: str, fn: Any) -> Any:
        acc, calls = self.acc, self.calls

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                acc[key] += time.perf_counter() - t
                calls[key] += 1

        return wrapper

    def pytest_configure(self, config: Any) -> None:
        self.marks["configure"] = time.perf_counter()

    def pytest_sessionstart(self, session: Any) -> None:
        self.marks["sessionstart"] = time.perf_counter()
        config = session.config
        # Per-implementation timers on the non-wrapper hook implementations of a few hooks.
        for hook in ("pytest_generate_tests", "pytest_collection_modifyitems", "pytest_runtest_logreport",
                     "pytest_sessionfinish", "pytest_terminal_summary", "pytest_report_teststatus",
                     "pytest_runtest_setup", "pytest_runtest_call", "pytest_runtest_teardown"):
            for impl in getattr(config.hook, hook).get_hookimpls():
                if impl.hookwrapper or getattr(impl, "wrapper", False) or impl.plugin is self:
                    continue
                label = impl.plugin_name if not impl.plugin_name.isdigit() else type(impl.plugin).__name__
                name = f"{hook} [{label}]"
                impl.function = self._timed(name, impl.function)
        # Failure rendering by pytest, and the terminal reporter's summary sections.
        from _pytest import python

        python.Function.repr_failure = self._timed("Function.repr_failure (pytest traceback)",
                                                   python.Function.repr_failure)
        tr = config.pluginmanager.get_plugin("terminalreporter")
        if tr is not None:
            for meth in ("summary_failures", "summary_errors", "summary_warnings", "summary_passes",
                         "short_test_summary", "summary_stats"):
                if hasattr(tr, meth):
                    setattr(tr, meth, self._timed(f"TerminalReporter.{meth}", getattr(tr, meth)))

    snapshot: Any = None
    traced_at_finish: tuple[int, int] | None = None

    def _around(self, name: str) -> Any:
        if name == "pytest_sessionfinish":
            import tracemalloc

            if tracemalloc.is_tracing():  # every report is held now, JSON not yet written
                self.snapshot = tracemalloc.take_snapshot()
                self.traced_at_finish = tracemalloc.get_traced_memory()
        self.marks[name + ".start"] = time.perf_counter()
        try:
            return (yield)
        finally:
            self.marks[name + ".end"] = time.perf_counter()

    # tryfirst wrappers are the outermost: they see the whole hook.
    def _wrapper(name: str):  # type: ignore[misc]
        import pytest

        @pytest.hookimpl(wrapper=True, tryfirst=True)
        def hook(self: "PhaseTimer", *args: Any, **kwargs: Any) -> Any:
            return (yield from self._around(name))

        hook.__name__ = name
        return hook

    pytest_collection = _wrapper("pytest_collection")
    pytest_runtestloop = _wrapper("pytest_runtestloop")
    pytest_sessionfinish = _wrapper("pytest_sessionfinish")
    pytest_terminal_summary = _wrapper("pytest_terminal_summary")
    del _wrapper

    def pytest_unconfigure(self, config: Any) -> None:
        self.marks["unconfigure"] = time.perf_counter()

    def report(self, end: float, items: int) -> str:
        m = self.marks
        out = io.StringIO()

        def row(label: str, secs: float | None, extra: str = "") -> None:
            if secs is None:
                return
            per = f"{1e6 * secs / items:8.0f} µs/item" if items else ""
            out.write(f"  {label:58} {secs:9.2f} s {per} {extra}\n")

        def span(a: str, b: str) -> float | None:
            return m[b] - m[a] if a in m and b in m else None

        out.write(f"Phases ({items} test items run):\n")
        row("startup: interpreter+imports+plugins+configure (reads manifests)", m.get("sessionstart", end) - T0)
        row("collection (pytest_collection)", span("pytest_collection.start", "pytest_collection.end"))
        row("run loop (pytest_runtestloop)", span("pytest_runtestloop.start", "pytest_runtestloop.end"))
        row("sessionfinish (JSON, JUnit, terminal summary)", span("pytest_sessionfinish.start",
                                                                   "pytest_sessionfinish.end"))
        row("  of which pytest_terminal_summary", span("pytest_terminal_summary.start",
                                                       "pytest_terminal_summary.end"))
        if "pytest_sessionfinish.end" in m:
            row("after sessionfinish (unconfigure, exit)", end - m["pytest_sessionfinish.end"])
        row("total", end - T0)
        out.write("\nTimed hook implementations and methods (cumulative, calls):\n")
        for key, secs in sorted(self.acc.items(), key=lambda kv: -kv[1]):
            if secs < 0.005:
                continue
            out.write(f"  {key:78} {secs:9.3f} s {self.calls[key]:8d} calls\n")
        return out.getvalue()


def print_stats(prof: cProfile.Profile | pstats.Stats, sort: str, restrict: str, n: int, title: str) -> None:
    s = io.StringIO()
    st = pstats.Stats(prof, stream=s) if not isinstance(prof, pstats.Stats) else prof
    st.stream = s
    st.sort_stats(sort).print_stats(restrict, n)
    text = s.getvalue()
    # Drop pstats' preamble up to the column header; shorten long paths.
    start = text.find("   ncalls")
    text = text[start:] if start >= 0 else text
    for prefix in (str(REPO) + "/", os.path.dirname(os.__file__) + "/site-packages/", os.path.dirname(os.__file__) + "/"):
        text = text.replace(prefix, "")
    print(f"\n=== {title} ===")
    print(text.rstrip())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workloads", type=int, default=2000)
    ap.add_argument("--namespaces", type=int, default=None, help="default: workloads/20")
    ap.add_argument("--manifests", default=None, help="use this directory instead of generating one")
    ap.add_argument("--gen", default=str(DEFAULT_GEN))
    ap.add_argument("--tb", default=None, help="pytest --tb style (default: pytest's own, auto)")
    ap.add_argument("--no-cprofile", action="store_true", help="phase timings only, without the profiler")
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--tracemalloc", action="store_true",
                    help="instead of cProfile: trace allocations and print the largest live allocation sites "
                         "at the start of sessionfinish (when every report is held), and the traced peak")
    ap.add_argument("--prof", default=None, help="where to save the cProfile data")
    ap.add_argument("--no-snapshot", action="store_true",
                    help="profile the working tree's plugin instead of a copy taken at start")
    ap.add_argument("--bare", default=None, metavar="ITEMS:FAILED:SKIPPED",
                    help="profile the bare baseline instead (bench/run.py's one parametrized test, plugin not "
                         "loaded) with these counts, e.g. 67224:20058:39 for 2000 workloads")
    ap.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    a = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="k8sh-profile-"))
    code = "working tree"
    if not a.no_snapshot:
        sys.path.insert(0, str(BENCH))
        from run import snapshot_code  # bench/run.py

        sys.path.pop(0)
        code = "snapshot " + snapshot_code(tmp / "snapshot")
        sys.path.insert(0, str(tmp / "snapshot"))
        # xdist workers are new interpreters: they need the copy on their path too.
        os.environ["PYTHONPATH"] = os.pathsep.join([str(tmp / "snapshot"),
                                                    *filter(None, [os.environ.get("PYTHONPATH")])])
    manifests = a.manifests
    if a.bare:
        manifests = "(none)"
    elif manifests is None:
        manifests = str(tmp / "cluster")
        nns = a.namespaces or max(1, a.workloads // 20)
        subprocess.run([sys.executable, a.gen, "--workloads", str(a.workloads), "--namespaces", str(nns),
                        "--out", manifests], check=True)
    if not a.bare:
        empty = tmp / "run"
        empty.mkdir()
    if a.bare:
        sys.path.insert(0, str(BENCH))
        from run import write_bare  # bench/run.py

        sys.path.pop(0)
        n, failed, skipped = (int(x) for x in a.bare.split(":"))
        empty = tmp / "bare"
        testfile = write_bare(empty, n, failed, skipped)
        args = ["-p", "no:cacheprovider", "-p", "no:k8shardening", "-q", "--junitxml", str(tmp / "junit.xml"),
                str(testfile)]
    else:
        args = ["-p", "no:cacheprovider", "-q", "-m", "nsa", "--k8s-manifests", manifests,
                "--k8s-report-json", str(tmp / "results.json"), "--junitxml", str(tmp / "junit.xml")]
    if a.tb:
        args.append(f"--tb={a.tb}")
    args += a.pytest_args
    os.chdir(empty)

    import pytest

    timer = PhaseTimer()
    prof = None if (a.no_cprofile or a.tracemalloc) else cProfile.Profile()
    if a.tracemalloc:
        import tracemalloc

        tracemalloc.start(1)
    # Terminal output goes to a file: thousands of failure sections are not worth reading here.
    out_path = tmp / "pytest.out"
    real_stdout = sys.stdout
    with open(out_path, "w") as fh:
        sys.stdout = fh
        try:
            if prof is not None:
                prof.enable()
            rc = pytest.main(args, plugins=[timer])
        finally:
            if prof is not None:
                prof.disable()
            sys.stdout = real_stdout
    end = time.perf_counter()
    tail = out_path.read_text(errors="replace").splitlines()[-1:] or [""]
    import re

    counts = {w: int(n) for n, w in re.findall(r"(\d+) (failed|passed|skipped|xfailed|xpassed|errors?)", tail[0])}
    items = sum(counts.values())
    print(f"pytest {' '.join(args)}")
    import pytest_k8shardening

    print(f"exit status {int(rc)}; {tail[0]}")
    print(f"code: {code} ({os.path.dirname(pytest_k8shardening.__file__)})")
    print(f"profiler: {'cProfile (times inflated by its overhead)' if prof else 'off'}\n")
    print(timer.report(end, items))
    if a.tracemalloc:
        import tracemalloc

        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"traced Python memory: peak {peak / 2**20:.0f} MiB over the run"
              + (f"; {timer.traced_at_finish[0] / 2**20:.0f} MiB live at sessionfinish"
                 if timer.traced_at_finish else ""))
        if timer.snapshot is not None:
            snap = timer.snapshot.filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
            stats = snap.statistics("lineno")
            total = sum(st.size for st in stats)
            print(f"\n=== top {a.top} live allocation sites at sessionfinish ({total / 2**20:.0f} MiB traced) ===")
            for st in stats[: a.top]:
                frame = st.traceback[0]
                fname = frame.filename
                for prefix in (str(REPO) + "/", os.path.dirname(os.__file__) + "/site-packages/",
                               os.path.dirname(os.__file__) + "/"):
                    fname = fname.replace(prefix, "")
                per = f"{st.size / items:7.0f} B/item" if items else ""
                print(f"  {st.size / 2**20:8.1f} MiB {per} {st.count:9d} blocks  {fname}:{frame.lineno}")
            by_file: dict[str, int] = defaultdict(int)
            for st in stats:
                f = st.traceback[0].filename
                key = ("pytest_k8shardening/" + os.path.basename(f) if "pytest_k8shardening" in f else
                       "_pytest/" + os.path.basename(f) if "_pytest" in f else
                       "xdist" if "xdist" in f else "execnet" if "execnet" in f else
                       "pluggy" if "pluggy" in f else os.path.basename(f))
                by_file[key] += st.size
            print("\n=== live memory at sessionfinish by module ===")
            for key, size in sorted(by_file.items(), key=lambda kv: -kv[1])[:20]:
                print(f"  {size / 2**20:8.1f} MiB  {key}")
    if prof is not None:
        label = f"bare-{a.bare.split(':')[0]}" if a.bare else a.workloads if a.manifests is None else "custom"
        path = Path(a.prof) if a.prof else BENCH / f"profile-{label}.prof"
        prof.dump_stats(str(path))
        st = pstats.Stats(str(path))
        print_stats(st, "cumulative", INTERESTING_RE, a.top, f"top {a.top} by cumulative time (all interesting modules)")
        print_stats(st, "tottime", INTERESTING_RE, a.top, f"top {a.top} by own time (all interesting modules)")
        print_stats(st, "cumulative", PLUGIN_RE, a.top, f"top {a.top} by cumulative time, plugin code only")
        print_stats(st, "tottime", PLUGIN_RE, a.top, f"top {a.top} by own time, plugin code only")
        print(f"\nprofile saved to {path}")
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
