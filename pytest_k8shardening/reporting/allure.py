"""allure-pytest bridge: controls as Allure labels, links, parameters and descriptions.

epic = framework, feature = category, story = control id, severity mapped
onto Allure's scale, tags for frameworks and the PSS level, a link to the
guide, parameters for namespace/kind/name/container, and a description with
the rationale and remediation. Registered only when ``--alluredir`` is given.
"""

from __future__ import annotations

from typing import Any

import pytest

__all__ = ["ALLURE_SEVERITY", "AllureBridge"]

#: Our severities on Allure's scale.
ALLURE_SEVERITY = {"critical": "blocker", "high": "critical", "medium": "normal", "low": "minor", "info": "trivial"}
GUIDE_URL = ("https://media.defense.gov/2022/Aug/29/2003066362/-1/-1/0/"
             "CTR_KUBERNETES_HARDENING_GUIDANCE_1.2_20220829.PDF")
PSS_URL = "https://kubernetes.io/docs/concepts/security/pod-security-standards/"


class AllureBridge:
    """Translates control metadata into Allure's vocabulary."""

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
            tags = [*ctrl.frameworks, ctrl.severity]
            if ctrl.references.get("pss"):
                tags.append(f"pss-{ctrl.references['pss']}")
            item.add_marker(label(*tags, label_type="tag"))
            if "nsa" in ctrl.frameworks:
                item.add_marker(link(GUIDE_URL, link_type="link", name="NSA/CISA Kubernetes Hardening Guide"))
            if ctrl.references.get("pss"):
                item.add_marker(link(PSS_URL, link_type="link", name="Pod Security Standards"))

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
            refs = "; ".join(f"{k}: {', '.join(v) if isinstance(v, (list, tuple)) else v}"
                             for k, v in ctrl.references.items() if v)
            allure.dynamic.description(
                f"**{ctrl.title}** ({ctrl.severity})\n\n**Why:** {ctrl.rationale}\n\n"
                f"**How to fix:** {ctrl.remediation}\n\n**Guide:** {ctrl.guide or '-'}\n\n"
                f"**References:** {refs or '-'}")
