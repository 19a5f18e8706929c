"""Scanning a repository as users have it: charts, overlays, CI files, broken files.

The tree under tests/fixtures/shop-repo holds what real repositories hold
(research: real-inputs.md): a Helm chart with helpers and values, a chart with
missing dependencies, a library chart, a kustomize base with two overlays, a
patch and a component, CI and compose files, a dashboard and a schema, per-provider
variants of one Deployment, a CRD with the YAML 1.1 ``=`` value, and broken
files. Charts render with a real helm built from its Go module, overlays with
kubectl's kustomize.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_k8shardening.loader import ManifestError, parse_text
from pytest_k8shardening.repository import Renderers, Scan, scan

ROOT = Path(__file__).resolve().parents[1]
REPO = ROOT / "tests" / "fixtures" / "shop-repo"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of the fixture repository (tests may add links and files to it)."""
    dest = tmp_path / "shop-repo"
    shutil.copytree(REPO, dest, symlinks=True)
    return dest


@pytest.fixture
def scanned(repo: Path, helm_bin: str, kustomize_cmd: str, monkeypatch: pytest.MonkeyPatch) -> Scan:
    monkeypatch.chdir(repo.parent)
    return scan(["shop-repo"], renderers=Renderers.discover(helm=helm_bin, kustomize=kustomize_cmd))


def _by_ref(result: Scan) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for o in result.objects:
        out.setdefault(o.ref, []).append(o)
    return out


def _reasons(result: Scan) -> dict[str, str]:
    return {x.path: x.reason for x in result.left_out}


# -- every file accounted for ----------------------------------------------------

@pytest.mark.parametrize(("path", "reason"), [
    ("shop-repo/.github/", "dot-folder: not walked"),
    ("shop-repo/.gitlab-ci.yml", "not a Kubernetes manifest: a CI configuration"),
    ("shop-repo/cloudbuild.yaml", "not a Kubernetes manifest: a CI configuration"),
    ("shop-repo/docker-compose.yml", "not a Kubernetes manifest: a compose file"),
    ("shop-repo/SECURITY-INSIGHTS.yml", "not a Kubernetes manifest: YAML/JSON without apiVersion and kind"),
    ("shop-repo/docs/dashboard.json", "not a Kubernetes manifest: a dashboard"),
    ("shop-repo/docs/values.schema.json", "not a Kubernetes manifest: a JSON schema"),
    ("shop-repo/kustomize/base/deployment.yaml", "resource of the kustomization in shop-repo/kustomize/base"),
    ("shop-repo/kustomize/overlays/prod/hardening.yaml", "patch of the kustomization in shop-repo/kustomize/overlays/prod"),
    ("shop-repo/kustomize/components/debug/debug-patch.yaml",
     "patch of the kustomization in shop-repo/kustomize/components/debug"),
    ("shop-repo/charts/lib", "library chart: rendered by the charts that use it"),
])
def test_non_kubernetes_files_are_left_out_with_a_reason(scanned: Scan, path: str, reason: str) -> None:
    assert _reasons(scanned)[path].startswith(reason)


def test_every_yaml_file_is_scanned_rendered_left_out_or_an_error(scanned: Scan, repo: Path) -> None:
    accounted = set(scanned.files) | {x.path for x in scanned.left_out} | {e.path for e in scanned.errors}
    units = [u.path for u in scanned.units]
    hidden = [x.path for x in scanned.left_out if x.path.endswith("/")]
    for file in repo.rglob("*"):
        rel = os.path.join("shop-repo", file.relative_to(repo).as_posix())
        if not file.is_file() or not rel.endswith((".yaml", ".yml", ".json")):
            continue
        inside_unit = any(rel.startswith(u + "/") for u in units) or any(rel.startswith(h) for h in hidden)
        assert rel in accounted or inside_unit, rel


@pytest.mark.parametrize(("path", "line", "message"), [
    ("shop-repo/broken/bad-indent.yaml", 5, "invalid YAML: did not find expected key"),
    ("shop-repo/broken/nameless.yaml", 1, "ConfigMap has no metadata.name"),
    ("shop-repo/broken/stray-template.yaml", 4, "a Helm template outside a chart"),
    ("shop-repo/charts/needs-deps", None, "helm dependency build shop-repo/charts/needs-deps"),
])
def test_every_unreadable_input_is_reported_in_one_run(scanned: Scan, path: str, line: int | None,
                                                       message: str) -> None:
    [err] = [e for e in scanned.errors if e.path == path]
    assert err.line == line and message in err.message
    assert len(scanned.errors) == 4


def test_render_units_and_their_roles(scanned: Scan) -> None:
    roles = {(u.tool, u.path): (u.role, u.rendered) for u in scanned.units}
    assert roles == {
        ("helm", "shop-repo/charts/web"): ("chart", True),
        ("helm", "shop-repo/charts/needs-deps"): ("chart", False),
        ("helm", "shop-repo/charts/lib"): ("library chart", False),
        ("kustomize", "shop-repo/kustomize/base"): ("base", True),
        ("kustomize", "shop-repo/kustomize/overlays/prod"): ("overlay", True),
        ("kustomize", "shop-repo/kustomize/overlays/staging"): ("overlay", True),
        ("kustomize", "shop-repo/kustomize/components/debug"): ("component", False),
    }


# -- Helm --------------------------------------------------------------------------

def test_chart_objects_are_attributed_to_their_template(scanned: Scan) -> None:
    [dep] = _by_ref(scanned)["default/Deployment/shop-web-shop-web"] if "default/Deployment/shop-web-shop-web" in \
        _by_ref(scanned) else _by_ref(scanned)["default/Deployment/web-shop-web"]
    assert dep.source.file == "shop-repo/charts/web/templates/deployment.yaml"
    assert dep.source.line == 2  # its `kind: Deployment` line
    assert dep.source.unit == "helm:shop-repo/charts/web"
    container = dep.raw["spec"]["template"]["spec"]["containers"][0]
    assert container["securityContext"]["runAsNonRoot"] is True  # the chart's default values
    assert container["image"] == "registry.example.com/shop/web:1.0"


def test_helm_values_files_and_set_pairs_apply(repo: Path, helm_bin: str, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    values = tmp_path / "prod-values.yaml"
    values.write_text("image:\n  tag: '2.0'\n")
    other = tmp_path / "other.yaml"
    other.write_text("image:\n  tag: 'not-for-this-chart'\n")
    monkeypatch.chdir(repo.parent)
    result = scan(["shop-repo/charts/web"], renderers=Renderers.discover(
        helm=helm_bin, helm_values=[f"shop-repo/charts/web={values}", f"shop-repo/charts/other={other}"],
        helm_set=["hostNetwork=true"]))
    [dep] = [o for o in result.objects if o.kind == "Deployment"]
    spec = dep.raw["spec"]["template"]["spec"]
    assert spec["hostNetwork"] is True
    assert spec["containers"][0]["image"].endswith(":2.0")


def test_no_helm_is_an_error_naming_the_chart_and_the_fix(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo.parent)
    result = scan(["shop-repo/charts/web"], renderers=Renderers(helm=None, kustomize=None))
    [err] = result.errors
    assert err.path == "shop-repo/charts/web"
    assert "`helm` is not installed; install helm" in err.message


def test_naming_chart_yaml_renders_its_chart(repo: Path, helm_bin: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo.parent)
    result = scan(["shop-repo/charts/web/Chart.yaml"], renderers=Renderers.discover(helm=helm_bin))
    assert sorted(o.kind for o in result.objects) == ["Deployment", "Service"]


# -- kustomize ------------------------------------------------------------------------

def test_overlays_and_base_each_render_and_patches_apply(scanned: Scan) -> None:
    refs = _by_ref(scanned)
    [prod] = refs["shop-prod/Deployment/api"]
    [staging] = refs["shop-staging/Deployment/api"]
    [base] = refs["default/Deployment/api"]
    pod = prod.raw["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True  # the overlay's patch
    assert staging.raw["spec"]["template"]["spec"]["containers"][0]["securityContext"] == {"privileged": True}
    assert "securityContext" not in base.raw["spec"]["template"]["spec"]
    # attributed to the file each object was written in, and to its render unit
    assert {o.source.file for o in (prod, staging, base)} == {"shop-repo/kustomize/base/deployment.yaml"}
    assert [o.source.unit for o in (prod, staging, base)] == [
        "kustomize:shop-repo/kustomize/overlays/prod", "kustomize:shop-repo/kustomize/overlays/staging",
        "kustomize:shop-repo/kustomize/base"]
    assert prod.source.line == 1
    assert "config.kubernetes.io/origin" not in prod.annotations


def test_patches_and_components_are_never_objects_of_their_own(scanned: Scan) -> None:
    files = {o.source.file for o in scanned.objects}
    assert not any(f and ("hardening.yaml" in f or "debug-patch.yaml" in f) for f in files)


def test_generated_objects_point_at_their_kustomization(scanned: Scan) -> None:
    [cm] = [o for o in scanned.objects if o.kind == "ConfigMap"]
    assert cm.name.startswith("api-config-") and cm.source.file == "shop-repo/kustomize/overlays/prod/kustomization.yaml"


def test_no_kustomize_is_an_error_naming_the_unit(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo.parent)
    result = scan(["shop-repo/kustomize/base"], renderers=Renderers(helm=None, kustomize=None))
    assert [e.path for e in result.errors] == ["shop-repo/kustomize/base"]
    assert "neither `kustomize` nor `kubectl` is installed" in result.errors[0].message


def test_a_kustomization_that_does_not_build_is_an_error(tmp_path: Path, kustomize_cmd: str) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources:\n  - missing.yaml\n")
    result = scan([str(tmp_path)], renderers=Renderers.discover(kustomize=kustomize_cmd))
    [err] = result.errors
    assert err.path == str(tmp_path) and err.message.startswith("kustomize build failed:")
    assert "missing.yaml" in err.message


# -- walking rules --------------------------------------------------------------------

POD = "apiVersion: v1\nkind: Pod\nmetadata: {name: %s}\nspec:\n  containers: [{name: c, image: x}]\n"


def test_dot_folders_and_symlinked_folders_are_listed_not_read(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "pod.yaml").write_text(POD % "a")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "pod.yaml").write_text(POD % "hidden")
    (tmp_path / ".dotfile.yaml").write_text(POD % "dotfile")
    elsewhere = tmp_path.parent / f"{tmp_path.name}-elsewhere"
    elsewhere.mkdir()
    (elsewhere / "pod.yaml").write_text(POD % "linked")
    (tmp_path / "linked").symlink_to(elsewhere, target_is_directory=True)
    (tmp_path / "app" / "link.yaml").symlink_to(elsewhere / "pod.yaml")
    result = scan([str(tmp_path)])
    assert sorted(o.name for o in result.objects) == ["a", "dotfile", "linked"]  # the symlinked *file* is read
    reasons = _reasons(result)
    assert reasons[f"{tmp_path}/.hidden/"] == "dot-folder: not walked"
    assert reasons[f"{tmp_path}/linked/"].startswith("symlinked folder: not followed")
    # named explicitly, a symlinked folder is read
    assert [o.name for o in scan([str(tmp_path / "linked")]).objects] == ["linked"]


def test_a_named_target_that_does_not_exist_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="nope: no such file or directory"):
        scan([str(tmp_path / "nope")])
    with pytest.raises(ManifestError, match="an empty path"):
        scan([""])


def test_the_same_target_twice_is_read_once(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(POD % "a")
    assert len(scan([str(tmp_path / "p.yaml"), str(tmp_path / "p.yaml")]).objects) == 1


def test_mixed_file_keeps_objects_and_counts_other_documents(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(POD % "a" + "---\nfoo: bar\n")
    result = scan([str(tmp_path)])
    assert [o.name for o in result.objects] == ["a"]
    assert _reasons(result)[str(tmp_path / "m.yaml")] == "1 document(s) without apiVersion/kind"


# -- YAML as the API server reads it -----------------------------------------------------

def test_crd_with_the_yaml_value_key_is_read(scanned: Scan) -> None:
    [crd] = [o for o in scanned.objects if o.kind == "CustomResourceDefinition"]
    enum = crd.raw["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"][
        "matchType"]["enum"]
    assert enum == ["=", "!=", "=~"]


@pytest.mark.parametrize(("value", "read_as"), [
    ("2024-01-01", "2024-01-01"),
    ("2024-13-45", "2024-13-45"),  # not a date: PyYAML's date constructor would raise
    ("2001-12-14t21:59:43.10-05:00", "2001-12-14t21:59:43.10-05:00"),
    ("'2024-01-01'", "2024-01-01"),
    ("0x1F", 31),
    ("yes", True),  # YAML 1.1, as go-yaml v2 reads it
    ("=", "="),
])
def test_scalars_are_read_as_the_api_server_reads_them(value: str, read_as: Any) -> None:
    [o] = parse_text(f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c}}\ndata:\n  v: {value}\n", "c.yaml")
    assert o.raw["data"]["v"] == read_as


def test_duplicate_keys_are_warned_about_and_the_last_wins(scanned: Scan) -> None:
    [cache] = _by_ref(scanned)["shop/StatefulSet/cache"]
    assert cache.annotations["shop.example.com/owner"] == "team-b"
    assert cache.annotations["shop.example.com/reviewed"] == "2024-13-45"
    [warning] = scanned.warnings
    assert warning.startswith("shop-repo/manifests/cache.yaml:9: key 'shop.example.com/owner' is given twice")


# -- end to end: one run, a verdict, every input accounted for -------------------------------

def _pytest(args: list[str], cwd: Path, helm: str) -> subprocess.CompletedProcess[str]:
    ini = cwd / "pytest.ini"
    ini.write_text(f"[pytest]\nk8s_helm = {helm}\n")
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def test_whole_repository_scans_to_a_verdict_in_one_run(repo: Path, helm_bin: str, kustomize_cmd: str) -> None:
    proc = _pytest(["-m", "nsa and critical", "--k8s-manifests", "shop-repo", "--k8s-report-json", "out.json",
                    "-rf", "--tb=line"], repo.parent, helm_bin)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "Traceback" not in out and "INTERNALERROR" not in out
    # the input errors are failing items even under -m: no selection hides an unread input
    for path in ("broken/bad-indent.yaml:5", "broken/nameless.yaml:1", "broken/stray-template.yaml:4",
                 "charts/needs-deps"):
        assert f"FAILED k8shardening/inputs::shop-repo/{path}" in out, out
    doc = json.loads((repo.parent / "out.json").read_text())
    inputs = doc["summary"]["target"]["inputs"]
    assert len(inputs["errors"]) == 4 and len(inputs["left_out"]) == 12
    assert {(u["path"], u["role"]) for u in inputs["units"] if u["rendered"]} == {
        ("shop-repo/charts/web", "chart"), ("shop-repo/kustomize/base", "base"),
        ("shop-repo/kustomize/overlays/prod", "overlay"), ("shop-repo/kustomize/overlays/staging", "overlay")}
    deny = {r["resource"]["name"]: r["outcome"] for r in doc["results"] if r["control"] == "nsa.network.default-deny"}
    assert deny.get("ingress", "not run") in ("passed", "not run")  # the cluster-wide Cilium policy covers it
    privileged = [r for r in doc["results"] if r["control"] == "nsa.pod.privileged"]
    failed = {r["resource"]["namespace"] for r in privileged if r["outcome"] == "failed"}
    assert failed == {"shop-staging"}  # the component's patch, through the staging overlay only
    assert {r["resource"]["file"] for r in privileged} >= {"shop-repo/kustomize/base/deployment.yaml",
                                                          "shop-repo/charts/web/templates/deployment.yaml"}


def test_cluster_wide_cni_policy_in_the_repository_counts(repo: Path, helm_bin: str, kustomize_cmd: str) -> None:
    proc = _pytest(["-m", "nsa", "--k8s-manifests", "shop-repo", "-k", "default_deny", "--k8s-report-json",
                    "deny.json", "-q", "--tb=no"], repo.parent, helm_bin)
    doc = json.loads((repo.parent / "deny.json").read_text())
    deny = {r["resource"]["name"]: r["outcome"] for r in doc["results"] if r["control"] == "nsa.network.default-deny"}
    assert deny["ingress"] == "passed" and deny["shop"] == "failed", proc.stdout


def test_summary_lists_what_was_rendered_and_left_out(repo: Path, helm_bin: str, kustomize_cmd: str) -> None:
    proc = _pytest(["-m", "nsa and critical", "--k8s-manifests", "shop-repo", "-v", "--tb=no"], repo.parent,
                   helm_bin)
    out = proc.stdout
    assert "inputs: 10 file(s) with objects, 1 Helm chart(s) rendered (chart: shop-repo/charts/web), " \
           "3 kustomization(s) rendered (base: shop-repo/kustomize/base; overlay: shop-repo/kustomize/overlays/prod, " \
           "shop-repo/kustomize/overlays/staging), 12 left out, 4 could not be read" in out, out
    assert "left out: shop-repo/docker-compose.yml: not a Kubernetes manifest: a compose file" in out
    assert "warning: shop-repo/manifests/cache.yaml:9: key 'shop.example.com/owner' is given twice" in out


def test_only_broken_inputs_is_a_usage_error_listing_all(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("kind: Pod\n metadata: x\n  bad")
    (tmp_path / "b.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {}\n")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--k8s-manifests", "."],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 4
    assert "a.yaml:" in proc.stderr and "(2 inputs could not be read, nothing else to scan)" in proc.stderr and "b.yaml:1: document 1: Pod has no metadata.name" \
        in proc.stderr
    assert "Traceback" not in proc.stderr


def test_only_non_kubernetes_files_is_a_usage_error_saying_what_was_left_out(tmp_path: Path) -> None:
    (tmp_path / "docker-compose.yml").write_text("services:\n  web: {image: x}\n")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--k8s-manifests", "."],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 4
    assert "no Kubernetes objects found in 1 file(s) (left out: docker-compose.yml: not a Kubernetes manifest: " \
           "a compose file)" in proc.stderr


def test_input_errors_fail_the_run_under_xdist_too(repo: Path, helm_bin: str, kustomize_cmd: str) -> None:
    proc = _pytest(["-n", "2", "-m", "nsa and critical", "--k8s-manifests", "shop-repo", "-q", "--tb=no",
                    "--k8s-fail-on", "critical"], repo.parent, helm_bin)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert out.count("FAILED k8shardening/inputs::") == 4, out
    assert "gate: passed" not in out


def test_a_template_named_on_its_own_points_at_its_chart(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo.parent)
    result = scan(["shop-repo/charts/web/templates/deployment.yaml"], renderers=Renderers(helm=None, kustomize=None))
    [err] = result.errors
    assert err.message.startswith("a template of the Helm chart in shop-repo/charts/web: name the chart's folder")


def test_a_fifo_inside_a_chart_is_an_error_not_a_hang(repo: Path, helm_bin: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    os.mkfifo(repo / "charts" / "web" / "templates" / "pipe.yaml")
    os.mkfifo(repo / "kustomize" / "base" / "pipe.yaml")
    monkeypatch.chdir(repo.parent)
    result = scan(["shop-repo/charts/web", "shop-repo/kustomize/base"],
                  renderers=Renderers.discover(helm=helm_bin))
    # the units are not rendered, and the walked FIFO is an input error of its own (safeio)
    assert sorted(e.path for e in result.errors) == ["shop-repo/charts/web", "shop-repo/kustomize/base",
                                                     "shop-repo/kustomize/base/pipe.yaml"]
    assert all("not a regular file" in e.message or "FIFO" in e.message for e in result.errors), result.errors
