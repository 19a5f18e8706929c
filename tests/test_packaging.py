"""The wheel ships the suites, and the README's control table is generated, not hand-kept."""

from __future__ import annotations

import email
import json
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from pytest_k8shardening import catalog
from pytest_k8shardening.controls import Control

ROOT = Path(__file__).resolve().parents[1]


def test_readme_control_table_is_current() -> None:
    assert catalog.main(["--check", str(ROOT / "README.md")]) == 0


def test_every_builtin_control_is_complete() -> None:
    controls = catalog.builtin_controls()
    assert len(controls) >= 20
    for c in controls:
        assert c.rationale and c.remediation and c.title and c.guide, c.id
        assert c.frameworks and c.category, c.id


def test_wheel_contains_plugin_and_suites(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                           "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0 and "No module named" in proc.stderr and "setuptools" in proc.stderr:
        pytest.skip("setuptools is not installed here (pip install '.[test]' brings it)")
    assert proc.returncode == 0, proc.stderr[-2000:]
    [wheel] = tmp_path.glob("pytest_k8shardening-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "pytest_k8shardening/plugin.py" in names
    assert "pytest_k8shardening/suites/nsa/test_pod_security.py" in names
    assert "pytest_k8shardening/suites/nsa/test_secrets_and_namespaces.py" in names
    assert "pytest_k8shardening/suites/pss/test_restricted.py" in names
    assert "pytest_k8shardening/suites/org/test_org_policy.py" in names
    assert "pytest_k8shardening/data/kubernetes-releases.json" in names
    assert "pytest_k8shardening/data/removed-apis.json" in names
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "k8shardening = pytest_k8shardening.plugin" in zipfile.ZipFile(wheel).read(entry).decode()
    # what an index shows: the licence, its text, the classifiers and the project URLs
    meta = email.message_from_string(zipfile.ZipFile(wheel).read(
        next(n for n in names if n.endswith(".dist-info/METADATA"))).decode())
    assert meta["License-Expression"] == "Apache-2.0"
    assert meta.get_all("License-File") == ["LICENSE"]
    licence = next(n for n in names if n.endswith(".dist-info/licenses/LICENSE"))
    assert "Apache License" in zipfile.ZipFile(wheel).read(licence).decode()
    classifiers = meta.get_all("Classifier") or []
    assert "Framework :: Pytest" in classifiers and "Typing :: Typed" in classifiers
    urls = [u.partition(", ")[2] for u in meta.get_all("Project-URL") or []]
    assert urls and all(u.startswith("https://") for u in urls), urls


def test_classifiers_are_known_to_the_index() -> None:
    """PyPI refuses an upload with an unknown classifier; check against its canonical list."""
    trove = pytest.importorskip("trove_classifiers", reason="pip install '.[test]' brings trove-classifiers")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    unknown = [c for c in project["classifiers"] if c not in trove.classifiers]
    assert not unknown, unknown
    # a licence expression (PEP 639) and a "License ::" classifier may not be given together
    assert project["license"] == "Apache-2.0" and not any(c.startswith("License ::") for c in project["classifiers"])
    assert (ROOT / "LICENSE").read_text().lstrip().startswith("Apache License")


# ------------------------------------------------------------------ --k8s-list-controls
def _control(cid: str, severity: str, title: str, **refs: object) -> Control:
    return Control(id=cid, title=title, severity=severity, category="pod_security", remediation="fix",
                   frameworks=("nsa", "cis"), references=refs)


LONG_REFS = {"kubescape": ["C-0118", "C-0120"], "trivy": ["KCV-0007", "KCV-0008", "KCV-0009"],
             "cis": ["1.2.6", "1.2.7", "1.2.8"], "not_counterparts": ["trivy:KSV-0041"]}


@pytest.mark.parametrize(("controls", "rows"), [
    # a long reference list is printed whole, and the columns after it stay aligned
    ([_control("a.short", "low", "Short"), _control("a.much-longer-control-id", "critical", "Long", **LONG_REFS)],
     [("a.much-longer-control-id", "critical", "nsa,cis",
       "C-0118 C-0120 KCV-0007 KCV-0008 KCV-0009 CIS-1.2.6 CIS-1.2.7 CIS-1.2.8 (not trivy:KSV-0041)", "Long"),
      ("a.short", "low", "nsa,cis", "-", "Short")]),
    ([_control("p.x", "high", "PSS one", pss="baseline")], [("p.x", "high", "nsa,cis", "PSS baseline", "PSS one")]),
])
def test_list_controls_columns_are_aligned_and_whole(controls: list[Control], rows: list[tuple[str, ...]]) -> None:
    lines = catalog.listing_lines(controls)
    header, body, footer = lines[0], lines[1:-1], lines[-1]
    starts = [header.index(h) for h in ("SEVERITY", "FRAMEWORKS", "REFERENCES", "TITLE")]
    assert len(body) == len(rows)
    for line, row in zip(body, rows):
        cells = [line[:starts[0]], *(line[a:b] for a, b in zip(starts, starts[1:])), line[starts[-1]:]]
        assert tuple(c.strip() for c in cells) == row, line
        assert all(c.endswith("  ") for c in cells[:-1]), line  # never run into the next column
    assert footer.startswith(f"{len(rows)} controls; CIS-x.y.z ids are CIS Kubernetes Benchmark")


def test_list_controls_json_is_the_whole_stdout_and_matches_the_text(pytester: pytest.Pytester) -> None:
    target = pytester.makefile(".yaml", app="apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n")
    text = pytester.runpytest("--k8s-manifests", str(target), "--k8s-list-controls")
    as_json = pytester.runpytest("--k8s-manifests", str(target), "--k8s-list-controls-format", "json")
    assert text.ret == as_json.ret == 0
    doc = json.loads(as_json.stdout.str())  # nothing else on stdout: no header, no summary line
    assert doc["schema"] == "k8shardening.controls/v1" and doc["count"] == len(doc["controls"]) > 50
    assert doc["cis_benchmark"].startswith("CIS Kubernetes Benchmark")
    listed = re.findall(r"^(\S+\.\S+)\s+(?:critical|high|medium|low|info)\s", text.stdout.str(), re.MULTILINE)
    assert [c["control"] for c in doc["controls"]] == listed
    privileged = next(c for c in doc["controls"] if c["control"] == "nsa.pod.privileged")
    assert privileged["references"]["kubescape"] == ["C-0057"] and privileged["references"]["pss"] == "baseline"
    assert privileged["rationale"] and privileged["remediation"] and privileged["manual"] is False
    bad = pytester.runpytest("--k8s-manifests", str(target), "--k8s-list-controls-format", "yaml")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR and "invalid choice: 'yaml'" in bad.stderr.str()


@pytest.mark.parametrize("args", [["--k8s-list-controls"], ["--collect-only"], ["--collect-only", "-q"]])
def test_no_compliance_line_when_nothing_is_checked(pytester: pytest.Pytester, args: list[str]) -> None:
    target = pytester.makefile(".yaml", app="apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n")
    result = pytester.runpytest("--k8s-manifests", str(target), *args)
    assert result.ret == 0
    assert "compliance:" not in result.stdout.str() and "score" not in result.stdout.str()


def test_list_controls_fails_on_a_collection_error(pytester: pytest.Pytester) -> None:
    target = pytester.makefile(".yaml", app="apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n")
    pytester.makepyfile(test_broken="import nowhere_to_be_found\n")
    result = pytester.runpytest("--k8s-manifests", str(target), "--k8s-list-controls")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*ModuleNotFoundError*nowhere_to_be_found*"])


# ------------------------------------------------------------------ first-run build messages
SLOW_BUILD = """
import sys
sys.path.insert(0, {root!r})
from tests import builds

builds.QUIET_SECONDS = {quiet}

def pytest_configure(config):
    builds.bind(config)

def test_build(tmp_path):
    script = tmp_path / "build-thing.sh"
    script.write_text("sleep {sleep}; echo built >&2; echo /cache/thing/bin")
    proc = builds.run_build(script, "thing v1 from its Go module", 2, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == "/cache/thing/bin" and "built" in proc.stderr
    print("captured output of the test")
"""


@pytest.mark.parametrize(("sleep", "announced"), [(1.5, True), (0, False)])
def test_a_real_build_is_announced_past_capture(pytester: pytest.Pytester, sleep: float, announced: bool) -> None:
    pytester.makeconftest(SLOW_BUILD.format(root=str(ROOT), quiet=0.5, sleep=sleep).split("def test_build")[0])
    pytester.makepyfile(test_x="from conftest import builds\n\ndef test_build" + SLOW_BUILD.format(
        root=str(ROOT), quiet=0.5, sleep=sleep).split("def test_build")[1])
    result = pytester.runpytest_subprocess("-p", "no:randomly")  # pytest's own fd capture, as in a real run
    assert result.ret == 0, result.stdout.str() + result.stderr.str()
    err = result.stderr.str()
    message = ("[tests] building thing v1 from its Go module into ${K8SH_CACHE:-~/.cache/pytest-k8shardening} "
               "(first run only, about 2 min; build-thing.sh)...")
    assert (message in err) is announced, err
    assert ("[tests] built thing v1 from its Go module in" in err) is announced
    assert "captured output of the test" not in result.stdout.str() + err  # capture itself is untouched
