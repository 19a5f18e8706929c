"""Organization tests beside the built-in ones: API, hooks, settings, reports."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_k8shardening.checks import NotApplicable, org
from pytest_k8shardening.model import Image
from pytest_k8shardening.policy import OrgPolicy

from .k8s import container, workload

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "custom-org-tests"
FUTURE = (dt.date.today() + dt.timedelta(days=30)).isoformat()

MANIFESTS = """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop}
spec: {rules: [{host: a.example.org}]}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: web-tls, namespace: shop}
spec: {duration: 9000h}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop, labels: {team: shop}}
spec: {template: {spec: {containers: [{name: web, image: "nginx:latest"}]}}}
"""

CUSTOM = """
import pytest
from pytest_k8shardening import Finding, assert_compliant, control

@control("acme.ingress.tls", title="Ingresses use TLS", severity="high", category="network",
         frameworks=["org"], remediation="Add spec.tls.", references={"trivy": ["KSV-9999"]})
@pytest.mark.k8s_select(kinds=["Ingress"])
def test_ingress_tls(k8s_object):
    '''Plain HTTP leaks sessions.'''
    if not k8s_object.raw["spec"].get("tls"):
        assert_compliant([Finding("spec.tls is missing", "spec.tls")])

@control("acme.certs.lifetime", title="Short certificates", severity="low", category="network",
         frameworks=["org"], remediation="Shorten spec.duration.")
@pytest.mark.k8s_select(kinds=["Certificate"])
def test_cert(k8s_object):
    '''Short-lived certificates.'''
    assert_compliant([Finding("spec.duration is over 90 days", "spec.duration")])
"""


def _json(p: Path) -> dict[str, Any]:
    return json.loads(p.read_text())


@pytest.fixture
def target(pytester: pytest.Pytester) -> Path:
    return pytester.makefile(".yaml", target=MANIFESTS)


def test_custom_tests_parametrize_over_custom_kinds_and_report_like_builtins(pytester: pytest.Pytester,
                                                                           target: Path) -> None:
    pytester.makepyfile(test_acme=CUSTOM)
    out = pytester.path / "r.json"
    result = pytester.runpytest("--k8s-manifests", str(target), "--k8s-no-builtin", "-v", "--junitxml", "j.xml",
                                "--k8s-report-json", str(out), "--k8s-report-sarif", "r.sarif")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*test_ingress_tls?shop/Ingress/web? FAILED*",
                                 "*test_cert?shop/Certificate/web-tls? FAILED*",
                                 "acme.ingress.tls [[]high] Ingresses use TLS", "  - spec.tls is missing  (*.yaml:*)",
                                 "How to fix: Add spec.tls."])
    entry = next(r for r in _json(out)["results"] if r["control"] == "acme.ingress.tls")
    assert entry["frameworks"] == ["org"] and entry["severity"] == "high"
    assert entry["references"]["trivy"] == ["KSV-9999"] and entry["resource"]["kind"] == "Ingress"
    assert '<property name="k8s_control" value="acme.ingress.tls"' in (pytester.path / "j.xml").read_text()
    rules = _json(pytester.path / "r.sarif")["runs"][0]["tool"]["driver"]["rules"]
    assert {r["id"] for r in rules} == {"acme.ingress.tls", "acme.certs.lifetime"}
    listing = pytester.runpytest("--k8s-list-controls")
    listing.stdout.fnmatch_lines(["acme.ingress.tls*high*org*KSV-9999*Ingresses use TLS"])


def test_custom_controls_can_be_waived_and_gated(pytester: pytest.Pytester, target: Path) -> None:
    pytester.makepyfile(test_acme=CUSTOM)
    waivers = pytester.makefile(".yaml", waivers=f"""\
waivers:
  - {{control: acme.ingress.tls, kind: Ingress, name: web, reason: TLS ends at the load balancer in front,
     owner: web-team, expires: {FUTURE}}}
""")
    result = pytester.runpytest("--k8s-manifests", str(target), "--k8s-no-builtin", "--k8s-waivers", str(waivers),
                                "--k8s-fail-on", "medium")
    result.assert_outcomes(failed=1, xfailed=1)
    assert result.ret == 0  # the remaining finding is low, below the gate
    result.stdout.fnmatch_lines(["*gate: passed; 1 finding(s) below the threshold are reported only*"])


def test_wrong_metadata_fails_clearly(pytester: pytest.Pytester, target: Path) -> None:
    pytester.makepyfile("""
        from pytest_k8shardening import control

        @control("acme.x", title="t", severity="severe", category="pod_security", remediation="r")
        def test_x(k8s_workload):
            pass
    """)
    result = pytester.runpytest("--k8s-manifests", str(target), "--k8s-no-builtin")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*ControlError: control 'acme.x': severity 'severe' is not one of critical, high, "
                                 "medium, low, info"])
    pytester.makepyfile(test_two="""
        from pytest_k8shardening import control

        @control("acme.same", title="t", severity="low", category="pod_security", remediation="r")
        def test_a(k8s_workload):
            pass

        @control("acme.same", title="t", severity="low", category="pod_security", remediation="r")
        def test_b(k8s_workload):
            pass
    """)
    result = pytester.runpytest("--k8s-manifests", str(target), "--k8s-no-builtin", "test_two.py")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "control id 'acme.same' is used by both test_two.py::test_a and test_two.py::test_b" in \
        result.stderr.str()


def test_adjust_control_hook_changes_severity_everywhere(pytester: pytest.Pytester, target: Path) -> None:
    pytester.makeconftest("""
        import dataclasses

        def pytest_k8shardening_adjust_control(config, control):
            if control.id == "nsa.pod.read-only-root-filesystem":
                return dataclasses.replace(control, severity="critical")
    """)
    out = pytester.path / "r.json"
    result = pytester.runpytest("--k8s-manifests", str(target), "-m", "critical", "--k8s-report-json", str(out),
                                "--collect-only", "-q")
    assert "test_read_only_root_filesystem[shop/Deployment/api:container=web]" in result.stdout.str()
    medium = pytester.runpytest("--k8s-manifests", str(target), "-m", "medium", "--collect-only", "-q")
    assert "test_read_only_root_filesystem" not in medium.stdout.str()
    pytester.runpytest("--k8s-manifests", str(target), "-k", "read_only_root", "--k8s-report-json", str(out))
    [entry] = _json(out)["results"]
    assert entry["severity"] == "critical"


def test_add_objects_result_and_summary_hooks(pytester: pytest.Pytester, target: Path) -> None:
    pytester.makeconftest("""
        def pytest_k8shardening_add_objects(config, inventory):
            return [{"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": "from-cmdb", "namespace": "shop"}, "data": {"PASSWORD": "hunter2x"}}]

        def pytest_k8shardening_result(config, result):
            result["ticket"] = "SEC-1"

        def pytest_k8shardening_summary(config, summary):
            summary["cmdb"] = "synced"
    """)
    out = pytester.path / "r.json"
    result = pytester.runpytest("--k8s-manifests", str(target), "-k", "configmaps", "--k8s-report-json", str(out))
    result.assert_outcomes(failed=1)
    doc = _json(out)
    assert doc["summary"]["cmdb"] == "synced"
    [entry] = doc["results"]
    assert entry["ticket"] == "SEC-1" and entry["resource"]["name"] == "from-cmdb"
    assert entry["resource"]["file"] == "pytest_k8shardening_add_objects"


def test_bad_objects_from_a_hook_are_usage_errors(pytester: pytest.Pytester, target: Path) -> None:
    pytester.makeconftest("""
        def pytest_k8shardening_add_objects(config, inventory):
            return [{"apiVersion": "v1", "metadata": {"name": "x"}}]
    """)
    result = pytester.runpytest("--k8s-manifests", str(target))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "pytest_k8shardening_add_objects, object 1: object has no kind" in result.stderr.str()


def test_org_suite_only_when_enabled_and_reads_ini_settings(pytester: pytest.Pytester, target: Path) -> None:
    off = pytester.runpytest("--k8s-manifests", str(target), "--collect-only", "-q")
    assert "test_org_policy" not in off.stdout.str()
    pytester.makeini("[pytest]\nk8s_org_checks = true\nk8s_allowed_registries = registry.example.org/*\n"
                     "k8s_required_labels = team owner\n")
    result = pytester.runpytest("--k8s-manifests", str(target), "-m", "org", "-v")
    result.stdout.fnmatch_lines([
        "*test_allowed_registry?shop/Deployment/api:container=web? FAILED*",
        "*test_image_pinned?shop/Deployment/api:container=web? FAILED*",
        "*test_required_labels?shop/Deployment/api? FAILED*",
        "*test_probes?shop/Deployment/api:container=web? FAILED*",
    ])
    result.stdout.fnmatch_lines(["*docker.io/library/nginx, which is not in k8s_allowed_registries*",
                                 "*metadata.labels lacks owner*"])


@pytest.mark.parametrize(("ref", "expected"), [
    ("nginx", ("docker.io", "library/nginx", None, None)),
    ("nginx:1.27", ("docker.io", "library/nginx", "1.27", None)),
    ("acme/api:2", ("docker.io", "acme/api", "2", None)),
    ("ghcr.io/acme/api:1.4@sha256:abc", ("ghcr.io", "acme/api", "1.4", "sha256:abc")),
    ("localhost:5000/app", ("localhost:5000", "app", None, None)),
    ("registry.example.org:443/team/app@sha256:def", ("registry.example.org:443", "team/app", None, "sha256:def")),
])
def test_image_parse(ref: str, expected: tuple[Any, ...]) -> None:
    i = Image.parse(ref)
    assert (i.registry, i.repository, i.tag, i.digest) == expected


@pytest.mark.parametrize(("image", "allowed", "verdict"), [
    ("registry.example.org/shop/api:1", ("registry.example.org/*",), "pass"),
    ("ghcr.io/acme/api:1", ("registry.example.org/*",), "fail"),
    ("ghcr.io/acme/api:1", ("ghcr.io",), "pass"),
    ("postgres:16", ("docker.io/library/postgres",), "pass"),
    ("postgres:16", (), "n/a"),
])
def test_allowed_registry(image: str, allowed: tuple[str, ...], verdict: str) -> None:
    result = org.allowed_registry(container(None, extra={"image": image}), OrgPolicy(True, allowed, ()))
    got = "n/a" if isinstance(result, NotApplicable) else ("fail" if result else "pass")
    assert got == verdict


@pytest.mark.parametrize(("image", "verdict"), [
    ("nginx", "fail"), ("nginx:latest", "fail"), ("nginx:1.27", "pass"), ("nginx@sha256:abc", "pass"),
    ("nginx:latest@sha256:abc", "pass"), ("", "fail"),
])
def test_image_pinned(image: str, verdict: str) -> None:
    result = org.image_pinned_or_tagged(container(None, extra={"image": image}))
    assert ("fail" if result else "pass") == verdict


def test_probes_apply_to_long_running_containers_only() -> None:
    job = workload({"containers": [{"name": "c", "image": "x"}]}, "Job")
    assert isinstance(org.probes(job.containers[0]), NotApplicable)
    dep = workload({"containers": [{"name": "c", "image": "x", "readinessProbe": {"exec": {"command": ["a"]}}}]})
    [f] = org.probes(dep.containers[0])
    assert f.message == "livenessProbe is not set"


def test_custom_org_example_runs_against_the_shipped_examples(tmp_path: Path) -> None:
    work = tmp_path / "acme"
    shutil.copytree(EXAMPLE, work)
    good = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                           f"--k8s-manifests={ROOT / 'examples' / 'hardened'}"], cwd=work, capture_output=True,
                          text=True, timeout=300)
    assert good.returncode == 0, good.stdout[-3000:]
    bad = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                          f"--k8s-manifests={ROOT / 'examples' / 'insecure'}", "--k8s-report-json", "r.json"],
                         cwd=work, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1
    failed = {r["control"] for r in _json(work / "r.json")["results"] if r["outcome"] == "failed"}
    assert {"acme.ingress.tls", "acme.certificates.lifetime", "acme.services.no-node-ports",
            "org.reliability.probes", "nsa.pod.privileged"} <= failed
    rofs = [r for r in _json(work / "r.json")["results"] if r["control"] == "nsa.pod.read-only-root-filesystem"]
    assert rofs and all(r["severity"] == "high" for r in rofs)  # the example's conftest raises it
