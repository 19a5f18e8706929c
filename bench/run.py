#!/usr/bin/env python3
"""Benchmark pytest-k8shardening against Checkov and a bare parametrized pytest test.

    python bench/run.py [--sizes 1000,2000,10000] [--no-checkov] [--out bench/results.md]

For each size it generates a synthetic cluster with ``bench/gen_cluster.py``
(or ``--gen``), then runs each case as a subprocess and measures wall time,
peak memory and the number of test items. See bench/README.md for what each
case means. ``--readme`` rewrites the figures in README.md (the blocks between
``<!-- bench:NAME -->`` and ``<!-- /bench -->``) from ``bench/results.json``,
so the README shows what this script measured.

Peak memory is reported two ways:
  * ``peak MiB``: the largest RSS of any single process of the run
    (``/usr/bin/time -v`` "Maximum resident set size", else
    ``getrusage(RUSAGE_CHILDREN).ru_maxrss``);
  * ``tree MiB``: the largest *sum* of RSS over the whole process tree,
    sampled from /proc every 0.2 s (this is what matters for ``-n 2`` and for
    Checkov, which both run several processes).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
DEFAULT_GEN = BENCH / "gen_cluster.py"
CHECKOV_VENV = BENCH / ".venv-checkov"
TIME = "/usr/bin/time"
PAGE = os.sysconf("SC_PAGE_SIZE")

OUTCOME_RE = re.compile(r"(\d+) (failed|passed|skipped|deselected|xfailed|xpassed|errors?|warnings?)\b")


# --------------------------------------------------------------------------- measuring
class TreeSampler(threading.Thread):
    """Samples the summed RSS of a process and all its descendants from /proc."""

    def __init__(self, root_pid: int, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.root = root_pid
        self.interval = interval
        self.peak_bytes = 0
        self.peak_procs = 0
        self._halt = threading.Event()

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=2)

    def _tree(self) -> list[int]:
        children: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", "rb") as fh:
                    stat = fh.read()
            except OSError:
                continue
            ppid = int(stat[stat.rfind(b")") + 2:].split()[1])
            children.setdefault(ppid, []).append(int(entry))
        out, todo = [], [self.root]
        while todo:
            pid = todo.pop()
            out.append(pid)
            todo.extend(children.get(pid, ()))
        return out

    def run(self) -> None:
        while not self._halt.is_set():
            total = 0
            pids = self._tree()
            for pid in pids:
                try:
                    with open(f"/proc/{pid}/statm", "rb") as fh:
                        total += int(fh.read().split()[1]) * PAGE
                except (OSError, IndexError, ValueError):
                    pass
            if total > self.peak_bytes:
                self.peak_bytes = total
                self.peak_procs = len(pids)
            self._halt.wait(self.interval)


def _busy_jiffies() -> int:
    with open("/proc/stat") as fh:
        f = [int(x) for x in fh.readline().split()[1:]]
    return sum(f) - f[3] - (f[4] if len(f) > 4 else 0)  # all but idle and iowait


@dataclass
class Measure:
    rc: int | None
    wall: float
    peak_mib: float | None  # largest single process
    tree_mib: float | None  # largest sum over the process tree
    timed_out: bool
    stdout_tail: str
    stderr_tail: str
    cpu_s: float | None = None  # user+sys of the measured process tree
    other_load: float | None = None  # average CPUs used by everything else during the case


def _tail(path: Path, n: int = 6000) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - n))
            return fh.read().decode("utf-8", "replace")
    except OSError:
        return ""


def measure(cmd: list[str], *, cwd: Path, stdout: Path, stderr: Path, timeout: float,
            env: dict[str, str] | None = None) -> Measure:
    """Run ``cmd``; return wall time, peak RSS (single process and tree) and output tails."""
    use_time = os.path.exists(TIME)
    tfile = stdout.with_suffix(".time")
    full = [TIME, "-v", "-o", str(tfile), *cmd] if use_time else cmd
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy0 = _busy_jiffies()
    with stdout.open("wb") as out, stderr.open("wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(full, cwd=cwd, stdout=out, stderr=err, env=env, start_new_session=True)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        timed_out = False
        try:
            rc: int | None = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)  # the session this function started
            proc.wait()
            rc = None
        wall = time.perf_counter() - t0
        busy = (_busy_jiffies() - busy0) / os.sysconf("SC_CLK_TCK")
        sampler.stop()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    peak_kib: float | None = None
    if use_time and not timed_out:
        text = tfile.read_text(errors="replace") if tfile.exists() else ""
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
        if m:
            peak_kib = float(m.group(1))
        m = re.search(r"Exit status: (\d+)", text)
        if m:
            rc = int(m.group(1))
    if peak_kib is None and not timed_out:
        # ru_maxrss of the children is a running maximum: only meaningful when it grew.
        peak_kib = float(after.ru_maxrss) if after.ru_maxrss > before.ru_maxrss else None
    other = max(0.0, busy - cpu_s) / wall if wall and not timed_out else None
    return Measure(rc=rc, wall=wall, peak_mib=peak_kib / 1024 if peak_kib else None,
                   tree_mib=sampler.peak_bytes / 2**20 if sampler.peak_bytes else None,
                   timed_out=timed_out, stdout_tail=_tail(stdout), stderr_tail=_tail(stderr),
                   cpu_s=cpu_s if not timed_out else None, other_load=other)


def pytest_counts(text: str) -> dict[str, int]:
    """Outcome counts from pytest's final summary line."""
    for line in reversed(text.splitlines()):
        if " in " in line and OUTCOME_RE.search(line):
            counts: dict[str, int] = {}
            for n, what in OUTCOME_RE.findall(line):
                what = {"error": "errors", "warning": "warnings"}.get(what, what)
                counts[what] = counts.get(what, 0) + int(n)
            return counts
    return {}


def items_of(counts: dict[str, int]) -> int:
    return sum(counts.get(k, 0) for k in ("failed", "passed", "skipped", "xfailed", "xpassed", "errors"))


# --------------------------------------------------------------------------- cases
@dataclass
class Row:
    case: str
    workloads: int
    items: int | None
    wall: float | None
    peak_mib: float | None
    tree_mib: float | None
    rc: int | None
    timed_out: bool = False
    cpu_s: float | None = None
    other_load: float | None = None
    code: str = ""
    note: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    ratio_checkov: float | None = None
    ratio_bare: float | None = None
    run: str | None = None  # the invocation that measured it (its start time)
    grouping: str | None = None  # the mode the plugin chose (JSON summary.target.grouping.mode)

    @property
    def items_per_s(self) -> float | None:
        return self.items / self.wall if self.items and self.wall else None

    @property
    def us_per_item(self) -> float | None:
        return 1e6 * self.wall / self.items if self.items and self.wall else None


def snapshot_code(dest: Path, reuse: bool = False) -> str:
    """Copy the plugin and its suites to ``dest`` (laid out like the installed wheel) and return a fingerprint.

    Every case then imports this copy (``PYTHONPATH=dest``), so one benchmark run measures one version of
    the code even while the working tree changes under it.
    """
    import hashlib

    pkg = dest / "pytest_k8shardening"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    if not (reuse and pkg.is_dir()):
        shutil.copytree(REPO / "pytest_k8shardening", pkg, ignore=ignore)
        shutil.rmtree(pkg / "suites", ignore_errors=True)
        shutil.copytree(REPO / "suites", pkg / "suites", ignore=ignore)
    # As an installed wheel is: compiled (this machine may set PYTHONDONTWRITEBYTECODE, and
    # every process of every case would otherwise compile the plugin again).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(pkg)], check=False, capture_output=True)
    h = hashlib.sha1()
    for f in sorted(pkg.rglob("*")):
        if f.is_file() and "__pycache__" not in f.parts:
            h.update(str(f.relative_to(dest)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:10]


def generate(gen: Path, workloads: int, namespaces: int, out: Path, seed: int) -> None:
    subprocess.run([sys.executable, str(gen), "--workloads", str(workloads), "--namespaces", str(namespaces),
                    "--seed", str(seed), "--out", str(out)], check=True)


def ours_cmd(manifests: Path, work: Path, tag: str, extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-m", "nsa",
            "--k8s-manifests", str(manifests),
            "--k8s-report-json", str(work / f"{tag}.json"), "--junitxml", str(work / f"{tag}.xml"), *extra]


BARE_TEMPLATE = '''\
import pytest

N = {n}
FAILED = {failed}
SKIPPED = {skipped}


@pytest.mark.parametrize("i", range(N))
def test_item(i):
    if i < FAILED:
        assert False
    if i < FAILED + SKIPPED:
        pytest.skip("skipped")
'''


def write_bare(dirpath: Path, n: int, failed: int, skipped: int) -> Path:
    dirpath.mkdir(parents=True, exist_ok=True)
    f = dirpath / "test_bare.py"
    f.write_text(BARE_TEMPLATE.format(n=n, failed=failed, skipped=skipped))
    return f


def bare_cmd(testfile: Path, work: Path, tag: str, extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:k8shardening", "-q",
            "--junitxml", str(work / f"{tag}.xml"), str(testfile), *extra]


def checkov_exe(explicit: str | None) -> str:
    if explicit:  # the cases run in other directories: a relative path would not be found there
        return str(Path(explicit).resolve()) if os.sep in explicit else shutil.which(explicit) or explicit
    exe = CHECKOV_VENV / "bin" / "checkov"
    if not exe.exists():
        print(f"installing Checkov into {CHECKOV_VENV} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(CHECKOV_VENV)], check=True)
        subprocess.run([str(CHECKOV_VENV / "bin" / "pip"), "install", "-q", "checkov"], check=True)
    return str(exe)


# --------------------------------------------------------------------------- table
HEADER = ["case", "workloads", "items", "wall s", "CPU s", "other load", "peak MiB", "tree MiB", "items/s",
          "µs/item", "× Checkov", "per-item × bare", "outcomes / note"]


def _f(v: float | None, fmt: str) -> str:
    return "–" if v is None else format(v, fmt)


def table(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for r in rows:
        wall = (f">{r.wall:.0f} (timeout)" if r.timed_out else _f(r.wall, ".1f"))
        outcomes = ", ".join(f"{v} {k}" for k, v in r.counts.items() if k not in ("warnings",))
        note = "; ".join(x for x in (outcomes, r.note) if x)
        lines.append("| " + " | ".join([
            r.case, str(r.workloads), "–" if r.items is None else str(r.items), wall,
            _f(r.cpu_s, ".1f"), _f(r.other_load, ".2f"), _f(r.peak_mib, ".0f"), _f(r.tree_mib, ".0f"),
            "–" if r.timed_out else _f(r.items_per_s, ".0f"),
            ("≥" + _f(r.us_per_item, ".0f")) if r.timed_out else _f(r.us_per_item, ".0f"),
            (("≥" if r.timed_out else "") + _f(r.ratio_checkov, ".2f")) if r.ratio_checkov else "–",
            (("≥" if r.timed_out else "") + _f(r.ratio_bare, ".2f")) if r.ratio_bare else "–",
            note,
        ]) + " |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- README figures
README = REPO / "README.md"
_LABELS = {
    "checkov": "Checkov `--framework kubernetes`",
    "ours-noflag": "**no flag**",
    "ours-n2-noflag": "no flag, `-n 2`",
    "ours": "`--k8s-group-by resource`",
    "ours-tbno": "`--k8s-group-by resource`, `--tb=no`",
    "ours-n2-tbno": "`--k8s-group-by resource`, `--tb=no`, `-n 2`",
    "ours-group-ns": "`--k8s-group-by namespace`",
    "ours-group-control": "`--k8s-group-by control`",
    "ours-n2-group-control": "`--k8s-group-by control`, `-n 2`",
    "ours-n2-group-ns": "`--k8s-group-by namespace`, `-n 2`",
    "bare-tbno": "bare parametrized pytest test, `--tb=no`",
}
#: The README's large-cluster table: the cases shown at each size, in this order (missing rows are left out).
_LARGE = ("checkov", "ours-noflag", "ours-n2-noflag", "ours", "ours-group-ns", "ours-group-control",
          "ours-n2-group-control", "ours-n2-group-ns", "ours-tbno", "bare-tbno")
_LARGE_SIZES = (1000, 2000, 10000)
_MANY_PROCESSES = ("checkov", "-n2")


def _label(r: Row) -> str:
    label = _LABELS.get(r.case, f"`{r.case}`")
    if r.case.endswith("-noflag") and r.grouping:
        label += f" (auto: {'per resource' if r.grouping == 'resource' else 'grouped by ' + r.grouping})"
    return label


def _memory(r: Row) -> str:
    if any(m in r.case for m in _MANY_PROCESSES):
        return f"{r.tree_mib:,.0f} MiB (all processes)" if r.tree_mib else "–"
    return f"{r.peak_mib:,.0f} MiB" if r.peak_mib else "–"


def _vs_checkov(r: Row, ck: Row | None) -> str:
    if r.case == "checkov":
        return "1"
    if ck is None or not r.wall or r.timed_out:
        return "–"
    if ck.timed_out:
        return f"under {r.wall / ck.wall:.3f}"
    text = f"{r.wall / ck.wall:.2f}"
    return f"**{text}**" if r.case.endswith("-noflag") else text


def _cpu(r: Row) -> str:
    return f"{r.cpu_s:.1f} s" if r.cpu_s is not None else "–"


def _load(r: Row) -> str:
    return f"{r.other_load:.1f}" if r.other_load is not None else "–"


def _wall(r: Row) -> str:
    return f"over {r.wall:,.0f} s (stopped)" if r.timed_out else f"{r.wall:.1f} s"


def readme_blocks(rows: list[Row]) -> dict[str, str]:
    """The Markdown of each generated README block, by name."""
    by = {(r.case, r.workloads): r for r in rows}
    large = ["| run (`-m nsa`, JSON + JUnit on) | workloads | test items | wall | CPU | other load | peak memory "
             "| × Checkov |", "|---|---|---|---|---|---|---|---|"]
    for n in _LARGE_SIZES:
        ck = by.get(("checkov", n))
        for case in _LARGE:
            r = by.get((case, n))
            if r is None or (case == "ours-tbno" and ("ours", n) in by):
                continue
            items = f"({r.items:,} checks)" if case == "checkov" and r.items else f"{r.items:,}" if r.items else "–"
            large.append(f"| {_label(r)} | {n:,} | {items} | {_wall(r)} | {_cpu(r)} | {_load(r)} | {_memory(r)} "
                         f"| {_vs_checkov(r, ck)} |")
    small = sorted({r.workloads for r in rows if r.workloads < min(_LARGE_SIZES)})
    threshold = [("| workloads | Checkov | `--k8s-group-by resource` (items) | `--k8s-group-by control` | "
                  "no flag (auto chose) |"), "|---|---|---|---|---|",
                 "| | wall (CPU) | wall (CPU) | wall (CPU) | wall (CPU) |"]
    for n in small:
        cells = []
        for case in ("checkov", "ours", "ours-group-control", "ours-noflag"):
            r = by.get((case, n))
            if r is None or not r.wall:
                cells.append("–")
            else:
                cell = f"{_wall(r)} ({_cpu(r)})"
                if case == "ours" and r.items:
                    cell += f", {r.items:,} items"
                elif case == "ours-noflag":
                    cell += f": {r.grouping or '?'}"
                cells.append(cell)
        threshold.append(f"| {n:,} | " + " | ".join(cells) + " |")
    return {"large": "\n".join(large), "threshold": "\n".join(threshold)}


def write_readme(rows: list[Row], path: Path = README) -> list[str]:
    """Replace each ``<!-- bench:NAME -->`` ... ``<!-- /bench -->`` block of ``path``; return the names done."""
    text = path.read_text(encoding="utf-8")
    done = []
    for name, body in readme_blocks(rows).items():
        m = re.search(rf"(<!-- bench:{name} -->\n).*?(<!-- /bench -->)", text, flags=re.DOTALL)
        if m:
            text = text[:m.start()] + m.group(1) + body + "\n" + m.group(2) + text[m.end():]
            done.append(name)
    path.write_text(text, encoding="utf-8")
    return done


def load_rows(path: Path) -> list[Row]:
    return [Row(**r) for r in json.loads(path.read_text()).get("rows", [])]


# --------------------------------------------------------------------------- main
ALL_CASES = ("ours-noflag", "ours-n2-noflag", "ours-tbno", "ours-tbline", "ours-group-ns", "ours-group-control",
             "ours-n2-group-control", "ours-n2-group-ns", "bare-tbno", "bare-tbline", "checkov", "ours-n2-tbno",
             "bare-n2-tbno", "ours", "bare", "ours-n2")
TB = {"-tbno": ["--tb=no"], "-tbline": ["--tb=line"]}


def per_object(case: str, grouping: str | None) -> bool:
    """Did (or will) this ``ours*`` case run one item per object? (rows from before ``grouping`` was kept: by name)"""
    if grouping is not None:
        return grouping == "resource"
    return "-group" not in case and not case.endswith("-noflag")


def group_flag(case: str) -> list[str]:
    """``--k8s-group-by`` of an ``ours*`` case: none for ``-noflag`` (the plugin chooses), else explicit."""
    if case.endswith("-noflag"):
        return []
    mode = "namespace" if "-group-ns" in case else "control" if "-group-control" in case else "resource"
    return ["--k8s-group-by", mode]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,2000,10000", help="workload counts, comma-separated")
    ap.add_argument("--namespaces", default="auto",
                    help="namespaces per cluster: a number, or auto = workloads/20 (2000 -> 100, as in the issue)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--gen", default=None, help=f"path to gen_cluster.py (default {DEFAULT_GEN})")
    ap.add_argument("--no-checkov", action="store_true", help="do not run Checkov")
    ap.add_argument("--checkov", default=None, help="checkov executable (default: bench/.venv-checkov, "
                                                    "created with pip on first use)")
    ap.add_argument("--checkov-max", type=int, default=None,
                    help="run Checkov only for sizes up to this many workloads")
    ap.add_argument("--xdist-sizes", default="2000", help="sizes that also run with -n 2 (comma-separated)")
    ap.add_argument("--cases", default=",".join(ALL_CASES),
                    help=f"cases to run, comma-separated, from: {', '.join(ALL_CASES)}")
    ap.add_argument("--skip", default="", help="cases to leave out at one size, e.g. bare@10000,bare-tbline@10000")
    ap.add_argument("--timeout", default="1800",
                    help="seconds before a case is killed: one number, or per size, e.g. 1000:1800,2000:1200,10000:900")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run each case up to N times and keep the run with the median wall time (only cases "
                         "whose first run is shorter than --repeat-under)")
    ap.add_argument("--repeat-under", type=float, default=60.0, metavar="SECONDS")
    ap.add_argument("--out", default=str(BENCH / "results.md"), help="Markdown table (and .json beside it)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (clusters, outputs)")
    ap.add_argument("--no-snapshot", action="store_true",
                    help="run the working tree's plugin instead of a copy taken at start (the copy keeps one run "
                         "on one version of the code while others edit it)")
    ap.add_argument("--code", default=None, metavar="DIR",
                    help="use (or create, if missing) the code snapshot in DIR, so that several invocations "
                         "(--append) measure the same code")
    ap.add_argument("--append", action="store_true",
                    help="keep the rows of other sizes already in --out's .json (e.g. to run 10000 separately "
                         "with another --timeout)")
    ap.add_argument("--readme", action="store_true",
                    help="afterwards, rewrite the generated figures in README.md from --out's .json")
    ap.add_argument("--readme-only", action="store_true",
                    help="only rewrite README.md's generated figures from --out's .json; measure nothing")
    a = ap.parse_args(argv)
    if a.readme_only:
        done = write_readme(load_rows(Path(a.out).with_suffix(".json")))
        print(f"README.md: rewrote the blocks {', '.join(done) or '(none found)'}")
        return 0

    gen = Path(a.gen) if a.gen else DEFAULT_GEN
    if not gen.exists():
        ap.error(f"{gen} not found: pass --gen PATH/TO/gen_cluster.py")
    sizes = [int(s) for s in a.sizes.split(",") if s]
    timeouts: dict[int, float] = {}
    for part in a.timeout.split(","):
        if ":" in part:
            k, v = part.split(":")
            timeouts[int(k)] = float(v)
        else:
            timeouts.update({n: float(part) for n in sizes if n not in timeouts})
    missing = [n for n in sizes if n not in timeouts]
    if missing:
        ap.error(f"--timeout: no value for size(s) {missing}")
    xdist_sizes = {int(s) for s in a.xdist_sizes.split(",") if s}
    cases = [c for c in a.cases.split(",") if c]
    for c in cases:
        if c not in ALL_CASES:
            ap.error(f"unknown case {c!r}")
    if a.no_checkov and "checkov" in cases:
        cases.remove("checkov")
    ckv = checkov_exe(a.checkov) if "checkov" in cases else None
    out_md = Path(a.out)
    out_json = out_md.with_suffix(".json")

    tmp = Path(tempfile.mkdtemp(prefix="k8sh-bench-"))
    print(f"work dir: {tmp}", flush=True)
    env = dict(os.environ)
    code = ""
    if not a.no_snapshot:
        snap = Path(a.code).resolve() if a.code else tmp / "snapshot"
        code = snapshot_code(snap, reuse=bool(a.code))
        env["PYTHONPATH"] = os.pathsep.join([str(snap), *filter(None, [env.get("PYTHONPATH")])])
        where = subprocess.run([sys.executable, "-c", "import pytest_k8shardening.catalog as c, pytest_k8shardening "
                                "as p; print(p.__file__, c.suites_dir())"], env=env, capture_output=True,
                               text=True, cwd=tmp).stdout.strip()
        if where.count(str(snap)) < 2:
            sys.exit(f"the code snapshot is not what gets imported: {where}")
        print(f"code snapshot {code}: {where}", flush=True)
    rows: list[Row] = []
    earlier_runs: list[dict] = []
    if a.append and out_json.exists():
        # Keep earlier rows; a case run again at the same size replaces its row.
        old_doc = json.loads(out_json.read_text())
        for r in old_doc.get("rows", []):
            rows.append(Row(**r))
        earlier_runs = old_doc.get("runs") or ([old_doc["env"]] if "env" in old_doc else [])
    env_info = {"python": sys.version.split()[0], "cpus": os.cpu_count(), "timeout_s": timeouts,
                "cases": ",".join(cases) + (f" (skip {a.skip})" if a.skip else "") +
                (f"; cases shorter than {a.repeat_under:g} s run {a.repeat} times (median kept)" if a.repeat > 1 else ""),
                "time": TIME if os.path.exists(TIME) else "getrusage", "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "pytest_k8shardening",
                                "suites"], capture_output=True, text=True).stdout.count("\n")
        env_info["plugin"] = f"commit {head}" + (f" + {dirty} uncommitted plugin/suite files" if dirty else "") \
            + (f", snapshot {code}" if code else " (working tree, no snapshot)")
    except OSError:
        pass
    try:
        import pytest as _pytest
        env_info["pytest"] = _pytest.__version__
    except ImportError:
        pass

    def save() -> None:
        order = {c: i for i, c in enumerate(ALL_CASES)}
        rows.sort(key=lambda r: (r.workloads, order.get(r.case, len(order))))
        # The invocations that measured a row still in the table (rows replaced by a later run drop theirs).
        used = {r.run for r in rows}
        runs = [e for e in [*earlier_runs, env_info] if e.get("started") in used or None in used]
        md = ["# pytest-k8shardening benchmark", ""]
        for e in runs:
            md.append(f"* Python {e.get('python')}, pytest {e.get('pytest')}, {e.get('cpus')} CPUs, "
                      f"peak RSS via {e.get('time')}, per-case timeout "
                      f"{', '.join(f'{t:.0f} s at {n}' for n, t in (e.get('timeout_s') or {}).items())} workloads, "
                      f"cases {e.get('cases', '?')}, started {e.get('started')}, plugin at {e.get('plugin', '?')}.")
        md += [
              "", "Code measured: " + "; ".join(
                  f"snapshot {c or 'working tree'} for {', '.join(sorted({str(r.workloads) for r in rows if r.code == c}, key=int))} workloads"
                  for c in dict.fromkeys(r.code for r in rows)) + ".",
              "", table(rows), "",
              "`peak MiB`: largest single process; `tree MiB`: largest sum of RSS over the process tree "
              "(sampled every 0.2 s). `CPU s`: user+sys of the case's processes. `other load`: average number of CPUs "
              "busy with *other* processes during the case (should be ~0; higher means the timing is disturbed). "
              "`× Checkov`: wall time / Checkov's wall time on the same manifests. "
              "`per-item × bare`: our µs/item / bare pytest's µs/item with the same --tb and the same number of "
              "items and failures. `-tbno` cases pass `--tb=no`, `-tbline` `--tb=line`; the others use pytest's "
              "default (`--tb=auto`). `ours-noflag` passes no `--k8s-group-by` (the plugin chooses; the note says what it chose), "
              "`ours-group-ns` passes `--k8s-group-by namespace`, `ours-group-control` `--k8s-group-by control` (fewer, "
              "grouped items), the other `ours` cases `--k8s-group-by resource`. "
              "A timed-out case shows its wall as a lower bound and items as the count expected from the "
              "completed run of the same size.", ""]
        out_md.parent.mkdir(parents=True, exist_ok=True)
        out_md.write_text("\n".join(md))
        out_json.write_text(json.dumps({"env": env_info, "runs": runs, "rows": [asdict(r) for r in rows]}, indent=1))

    try:
        for n in sizes:
            nns = max(1, n // 20) if a.namespaces == "auto" else int(a.namespaces)
            cluster = tmp / f"cluster-{n}"
            t0 = time.perf_counter()
            generate(gen, n, nns, cluster, a.seed)
            print(f"\n== {n} workloads, {nns} namespaces: generated in {time.perf_counter() - t0:.1f} s "
                  f"({sum(f.stat().st_size for f in cluster.iterdir()) / 2**20:.1f} MiB)", flush=True)
            empty = tmp / f"run-{n}"
            empty.mkdir()
            work = tmp / f"out-{n}"
            work.mkdir()
            size_rows: dict[str, Row] = {r.case: r for r in rows if r.workloads == n}  # with --append
            reference: dict[str, int] = {}  # outcome counts of our suite at this size
            for r in size_rows.values():
                if r.case.startswith("ours") and per_object(r.case, r.grouping) and r.counts and not r.timed_out:
                    reference = {k: v for k, v in r.counts.items() if k != "deselected"}
                    break

            for case in cases:
                if f"{case}@{n}" in a.skip.split(","):
                    continue
                if "-n2" in case and n not in xdist_sizes:
                    continue
                if case == "checkov" and a.checkov_max is not None and n > a.checkov_max:
                    continue
                tb = next((v for k, v in TB.items() if case.endswith(k)), [])
                note = ""
                if case.startswith("ours"):
                    extra = tb + (["-n", "2"] if "-n2" in case else []) + group_flag(case)
                    cmd = ours_cmd(cluster, work, case, extra)
                    cwd = empty
                elif case.startswith("bare"):
                    if not reference:
                        print(f"  {case}: skipped (no completed run of our suite to match)", flush=True)
                        continue
                    bare_dir = tmp / f"bare-{n}"
                    testfile = write_bare(bare_dir, items_of(reference), reference.get("failed", 0),
                                          reference.get("skipped", 0))
                    cmd = bare_cmd(testfile, work, case, tb + (["-n", "2"] if "-n2" in case else []))
                    cwd = bare_dir
                else:
                    cmd = [ckv, "-d", str(cluster), "--framework", "kubernetes", "--quiet", "--compact",
                           "--skip-download", "-o", "json"]
                    cwd = empty
                print(f"  {case}: {' '.join(cmd[:3])} ... ", end="", flush=True)
                m = measure(cmd, cwd=cwd, stdout=work / f"{case}.out", stderr=work / f"{case}.err",
                            timeout=timeouts[n], env=env)
                if a.repeat > 1 and not m.timed_out and m.wall < a.repeat_under:
                    # Short cases: the row is the run with the median wall time, and says how far the others
                    # were (on a 2-core machine, a few tenths of a second vary from run to run).
                    runs = [m] + [measure(cmd, cwd=cwd, stdout=work / f"{case}.out{i}",
                                          stderr=work / f"{case}.err{i}", timeout=timeouts[n], env=env)
                                  for i in range(1, a.repeat)]
                    runs.sort(key=lambda r: r.wall)
                    m = runs[len(runs) // 2]
                    repeat_note = f"median of {len(runs)} runs ({runs[0].wall:.2f}–{runs[-1].wall:.2f} s);"
                else:
                    repeat_note = ""
                counts: dict[str, int] = {}
                items: int | None = None
                grouping: str | None = None
                if case == "checkov":
                    try:
                        doc = json.loads((work / f"{case}.out").read_text())
                        doc = doc[0] if isinstance(doc, list) else doc
                        s = doc["summary"]
                        counts = {"failed": s["failed"], "passed": s["passed"], "skipped": s["skipped"]}
                        items = s["failed"] + s["passed"] + s["skipped"]
                        note = f"{s['resource_count']} resources; items = checks evaluated"
                    except (OSError, ValueError, KeyError, IndexError) as exc:
                        note = f"could not read Checkov's JSON: {exc}"
                    if m.rc not in (0, 1, None):
                        note += f"; exit status {m.rc}"
                else:
                    counts = pytest_counts(m.stdout_tail)
                    items = items_of(counts) or None
                    if m.rc not in (0, 1, None):
                        note = f"exit status {m.rc}: {m.stderr_tail[-300:] or m.stdout_tail[-300:]}"
                    if case.startswith("ours") and not m.timed_out:
                        try:
                            res = json.loads((work / f"{case}.json").read_text())
                            grouping = (res["summary"]["target"].get("grouping") or {}).get("mode")
                            if case.endswith("-noflag"):
                                note += f" chose {grouping};"
                            if grouping != "resource":
                                note += f" JSON has {len(res['results'])} per-object results"
                            elif len(res["results"]) != items:
                                note += f" JSON has {len(res['results'])} results"
                        except (OSError, ValueError, KeyError) as exc:
                            note += f" no JSON report: {exc}"
                        if "Different tests were collected" in m.stdout_tail + m.stderr_tail:
                            note += " xdist: workers collected different tests!"
                        if not reference and items and grouping == "resource":
                            reference = counts
                        elif reference and items and items != items_of(reference) and grouping == "resource":
                            note += f" item count differs from {items_of(reference)}"
                if m.timed_out:
                    items = items_of(reference) if reference and case.startswith("ours") and per_object(case, None) \
                        else None
                    counts = {}
                    note = (note + " killed at timeout; items = expected count").strip()
                row = Row(case=case, workloads=n, items=items, wall=m.wall, peak_mib=m.peak_mib,
                          tree_mib=m.tree_mib, rc=m.rc, timed_out=m.timed_out, cpu_s=m.cpu_s,
                          other_load=m.other_load, code=code, note=f"{repeat_note} {note.strip()}".strip(),
                          counts=counts, run=env_info["started"], grouping=grouping)
                old = size_rows.get(case)
                if old is not None and old in rows:
                    rows[rows.index(old)] = row
                else:
                    rows.append(row)
                size_rows[case] = row
                print(f"{'TIMEOUT ' if m.timed_out else ''}{m.wall:.1f} s, peak {_f(m.peak_mib, '.0f')} MiB, "
                      f"tree {_f(m.tree_mib, '.0f')} MiB, items {items} {counts}", flush=True)
                # ratios
                for r in size_rows.values():
                    ck = size_rows.get("checkov")
                    if ck and not ck.timed_out and ck.items and r.case != "checkov" and r.wall:
                        r.ratio_checkov = r.wall / ck.wall
                    if r.case.startswith("ours") and per_object(r.case, r.grouping):
                        suffix = next((k for k in TB if r.case.endswith(k)), "")
                        bare = size_rows.get("bare" + ("-n2" if "-n2" in r.case else "") + suffix)
                        if bare and not bare.timed_out and bare.us_per_item and r.us_per_item:
                            r.ratio_bare = r.us_per_item / bare.us_per_item
                save()
    finally:
        if a.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print()
    print(table(rows))
    print(f"\nwritten: {out_md} and {out_json}")
    if a.readme:
        print(f"README.md: rewrote the blocks {', '.join(write_readme(rows)) or '(none found)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
