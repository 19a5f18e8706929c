"""The benchmark runs from a clone: its cluster generator and the README figures it writes."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("as_list", [False, True])
def test_generated_cluster_is_deterministic_and_readable(tmp_path: Path, as_list: bool) -> None:
    gen = _module("gen_cluster")
    for out in ("a", "b"):
        assert gen.main(["--workloads", "40", "--namespaces", "4", "--seed", "7", "--out", str(tmp_path / out)]
                        + (["--list"] if as_list else [])) == 0
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files == (["cluster.yaml"] if as_list else ["cluster-scoped.yaml", "ns-0.yaml", "ns-1.yaml", "ns-2.yaml",
                                                       "ns-3.yaml"])
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files)
    docs = [d for f in files for d in yaml.safe_load_all((tmp_path / "a" / f).read_text())]
    objs = docs[0]["items"] if as_list else docs
    kinds = [o["kind"] for o in objs]
    workloads = [k for k in kinds if k in ("Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job")]
    assert len(workloads) == 40 and len(set(workloads)) == 5
    assert kinds.count("Namespace") == 4 and kinds.count("ClusterRoleBinding") == 1
    other = gen.generate(40, 4, seed=8)
    assert other != gen.generate(40, 4, seed=7)


def test_generator_refuses_an_empty_namespace_count(capsys: pytest.CaptureFixture[str]) -> None:
    gen = _module("gen_cluster")
    with pytest.raises(SystemExit):
        gen.main(["--workloads", "5", "--namespaces", "0", "--out", "x"])
    assert "namespaces >= 1" in capsys.readouterr().err


def test_readme_blocks_come_from_the_rows(tmp_path: Path) -> None:
    """README figures are written from the measured rows: only between the markers, with the mode the
    plugin chose and the ratio to Checkov."""
    run = _module("run")
    rows = [run.Row(case="checkov", workloads=1000, items=88693, wall=10.0, peak_mib=400, tree_mib=490, rc=1,
                    cpu_s=11.0, other_load=0.0),
            run.Row(case="ours-noflag", workloads=1000, items=77, wall=1.5, peak_mib=100, tree_mib=98, rc=1,
                    cpu_s=1.5, other_load=0.0, grouping="control"),
            run.Row(case="ours", workloads=100, items=3521, wall=3.3, peak_mib=93, tree_mib=95, rc=1, cpu_s=3.1,
                    other_load=0.0, grouping="resource"),
            run.Row(case="ours-noflag", workloads=100, items=3521, wall=3.4, peak_mib=93, tree_mib=95, rc=1,
                    cpu_s=3.1, other_load=0.0, grouping="resource")]
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- bench:large -->\nold figures\n<!-- /bench -->\nmiddle\n"
                      "<!-- bench:threshold -->\n<!-- /bench -->\nend\n")
    assert sorted(run.write_readme(rows, readme)) == ["large", "threshold"]
    text = readme.read_text()
    assert "old figures" not in text and text.startswith("intro\n") and text.endswith("end\n")
    assert "| **no flag** (auto: grouped by control) | 1,000 | 77 | 1.5 s | 1.5 s | 0.0 | 100 MiB | **0.15** |" in text
    assert "| Checkov `--framework kubernetes` | 1,000 | (88,693 checks) | 10.0 s |" in text
    assert "| 100 | – | 3.3 s (3.1 s), 3,521 items | – | 3.4 s (3.1 s): resource |" in text
    assert run.write_readme(rows, readme) and readme.read_text() == text  # idempotent
