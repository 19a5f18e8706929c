"""allure-pytest bridge: controls as Allure labels, links, parameters and descriptions.

epic = framework, feature = category, story = control id, severity mapped
onto Allure's scale, a link to the guide and to each cited upstream page,
parameters for namespace/kind/name/container, and a description with the
rationale, remediation and each finding's own references. The results
folder also gets ``environment.properties`` (target, versions, the options
that change verdicts) and ``categories.json`` (findings, waived findings,
errors and skips apart). Registered only when ``--alluredir`` is given.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from .metadata import GUIDE_URL, PSS_URL, reference_links, scan_metadata

__all__ = ["ALLURE_SEVERITY", "CATEGORIES", "AllureBridge", "properties_text"]

#: Our severities on Allure's scale.
ALLURE_SEVERITY = {"critical": "blocker", "high": "critical", "medium": "normal", "low": "minor", "info": "trivial"}

#: Allure's categories (first match wins). allure-pytest marks a finding ``failed`` (a ``pytest.fail``), a
#: crash inside a control or a fixture ``broken``, and a skip or a waived finding (an xfail) ``skipped``;
#: a waived finding's message starts with the waiver that covers it.
CATEGORIES: list[dict[str, Any]] = [
    {"name": "Compliance findings", "matchedStatuses": ["failed"],
     "description": "A resource does not meet a control: fix it, or waive it with a reason, owner and expiry."},
    {"name": "Waived findings", "matchedStatuses": ["skipped"], "messageRegex": "(?s)waived by waiver #.*",
     "description": "Findings a waiver covers until its expiry date."},
    {"name": "Errors (not findings)", "matchedStatuses": ["broken"],
     "description": "A check or fixture crashed: nothing was decided about the resource."},
    {"name": "Not evaluated (skipped)", "matchedStatuses": ["skipped"],
     "description": "The control does not apply, needs data that could not be read, or cannot be checked by "
                    "software."},
]


def _escape_property(text: str, *, key: bool) -> str:
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif key and ch in " :=#!":
            out.append("\\" + ch)
        elif ord(ch) > 126 or ord(ch) < 32:  # Java reads .properties as ISO 8859-1: \uXXXX is exact
            out.extend(f"\\u{unit:04x}" for unit in _utf16_units(ch))
        else:
            out.append(ch)
    return "".join(out)


def _utf16_units(ch: str) -> list[int]:
    data = ch.encode("utf-16-be")
    return [int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2)]


def properties_text(rows: dict[str, str]) -> str:
    """``rows`` as a Java .properties file (Allure's environment.properties)."""
    return "".join(f"{_escape_property(k, key=True)}={_escape_property(v, key=False)}\n" for k, v in rows.items())


def _listener_result(config: pytest.Config) -> Any:
    """allure-pytest's result of the test now running, or None (allure-pytest's internals moved)."""
    listener = config.pluginmanager.get_plugin("allure_listener")
    logger = getattr(listener, "allure_logger", None)
    try:
        return logger.get_test(None) if logger is not None else None
    except Exception:  # noqa: BLE001 - a different allure-pytest: leave its result as it made it
        return None


def _references_line(refs: dict[str, Any]) -> str:
    return "; ".join(f"{k}: {', '.join(v) if isinstance(v, (list, tuple)) else v}" for k, v in refs.items() if v)


class AllureBridge:
    """Translates control metadata into Allure's vocabulary."""

    started: _dt.datetime | None = None

    def pytest_sessionstart(self) -> None:
        self.started = _dt.datetime.now(_dt.timezone.utc)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        from ..annotate import control_of

        label = pytest.mark.allure_label
        link = pytest.mark.allure_link
        for item in items:
            ctrl = control_of(item)
            if ctrl is None:
                continue
            for fw in ctrl.frameworks:
                item.add_marker(label(fw, label_type="epic"))
            item.add_marker(label(ctrl.category, label_type="feature"))
            item.add_marker(label(ctrl.id, label_type="story"))
            item.add_marker(label(ALLURE_SEVERITY[ctrl.severity], label_type="severity"))
            # allure-pytest already makes a tag of every marker (frameworks, severity, category): add only the
            # PSS level of a control outside the pss suites.
            pss = ctrl.references.get("pss")
            if pss and item.get_closest_marker(f"pss_{pss}") is None:
                item.add_marker(label(f"pss-{pss}", label_type="tag"))
            if "nsa" in ctrl.frameworks:
                item.add_marker(link(GUIDE_URL, link_type="link", name="NSA/CISA Kubernetes Hardening Guide"))
            for name, url in reference_links(dict(ctrl.references)):
                item.add_marker(link(url, link_type="link",
                                     name="Pod Security Standards" if url == PSS_URL else name))

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_call(self, item: pytest.Item) -> None:
        import allure

        from ..annotate import control_of, item_info

        info = item_info(item)
        ctrl = control_of(item)
        if info is None:
            return
        res: dict[str, Any] = info.get("resource") or {}
        for key in ("namespace", "kind", "name", "container"):
            if res.get(key):
                allure.dynamic.parameter(key, res[key])
        if ctrl is not None:
            from .html import _resource_ref

            ref = _resource_ref(res)
            allure.dynamic.title(f"{ctrl.id}: {ctrl.title}" + (f" [{ref}]" if ref else ""))
            allure.dynamic.description(
                f"**{ctrl.title}** ({ctrl.severity})\n\n**Why:** {ctrl.rationale}\n\n"
                f"**How to fix:** {ctrl.remediation}\n\n**Guide:** {ctrl.guide or '-'}\n\n"
                f"**References:** {_references_line(dict(ctrl.references)) or '-'}")

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]
                                  ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        """Tidy allure-pytest's result once it has read the report (this wrapper runs after its own)."""
        report = yield
        result = _listener_result(item.config)
        if result is None:
            return report
        if report.when == "teardown":  # allure-pytest has added its labels by now
            self._dedupe(result)
            return report
        from ..annotate import result_of

        rec = result_of(report)
        message = rec.message if rec is not None else None
        details = getattr(result, "statusDetails", None)
        if call.excinfo is not None and message and details is not None and details.message:
            # "pytest_k8shardening.controls.NonCompliant: ..." -> the finding as the terminal says it
            waived = rec is not None and rec.waiver_hit is not None and not rec.waiver_hit.expired
            details.message = f"{report.wasxfail}\n\n{message}" if waived else message
        findings = rec.findings if rec is not None else None
        if findings and report.when == "call" and getattr(result, "description", None):
            lines = [f"- {f.get('message', '')}" + (f" ({_references_line(f.get('references') or {})})"
                                                     if _references_line(f.get("references") or {}) else "")
                     for f in findings]
            result.description += "\n\n**Findings** (each with the upstream ids it matches):\n\n" + "\n".join(lines)
        return report

    @staticmethod
    def _dedupe(result: Any) -> None:
        """One label per (name, value), and no raw fixture parameter beside the resource's own ones."""
        from ..params import TARGET_FIXTURES

        seen: set[tuple[str, str]] = set()
        labels = []
        for lb in getattr(result, "labels", None) or ():
            key = (lb.name, lb.value)
            if key not in seen:
                seen.add(key)
                labels.append(lb)
        result.labels[:] = labels
        params = getattr(result, "parameters", None) or []
        if any(p.name in ("namespace", "kind", "name") for p in params):
            result.parameters[:] = [p for p in params if p.name not in TARGET_FIXTURES]

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """environment.properties and categories.json, written once (by the xdist controller, not workers)."""
        config = session.config
        folder = getattr(config.option, "allure_report_dir", None)
        k8s = config.pluginmanager.get_plugin("k8shardening-session")
        if hasattr(config, "workerinput") or not folder or k8s is None:
            return
        rows = scan_metadata(k8s.settings, self.started)
        collector = config.pluginmanager.get_plugin("k8shardening-results")
        target = getattr(collector, "target", None) or {}
        if target:
            rows["Objects checked"] = str(target.get("objects", 0))
        rows["pytest"] = pytest.__version__
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        (out / "environment.properties").write_text(properties_text(rows), encoding="iso-8859-1")
        (out / "categories.json").write_text(json.dumps(CATEGORIES, indent=2) + "\n", encoding="utf-8")
