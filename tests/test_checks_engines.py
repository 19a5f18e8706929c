"""Table-driven tests of pod security enforced by policy engines (issue 15, cause 4): Kyverno, Gatekeeper,
Kubewarden and ValidatingAdmissionPolicy, counted by nsa.admission.pod-security-enforced."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from pytest_k8shardening import live
from pytest_k8shardening.checks import Finding, NotApplicable, Undetermined, admission, engines
from pytest_k8shardening.model import Inventory, K8sObject, Namespace, Source

SHOP_LABELS = {"team": "shop", "kubernetes.io/metadata.name": "shop"}


# ----------------------------------------------------------------- builders
def namespace(name: str = "shop", labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": SHOP_LABELS if labels is None else labels}}


def kyverno(level: str = "baseline", action: str | None = "Enforce", *, kind: str = "ClusterPolicy",
            ns: str | None = None, match: dict[str, Any] | None = None, exclude: dict[str, Any] | None = None,
            validate: dict[str, Any] | None = None, name: str = "podsec") -> dict[str, Any]:
    """The upstream kyverno/policies pod-security shape: one podSecurity rule on Pods."""
    rule: dict[str, Any] = {
        "name": level, "match": match or {"any": [{"resources": {"kinds": ["Pod"]}}]},
        "validate": validate or {"message": "PSS", "podSecurity": {"level": level, "version": "latest"}}}
    if exclude:
        rule["exclude"] = exclude
    spec: dict[str, Any] = {"background": True, "rules": [rule]}
    if action:
        spec["validationFailureAction"] = action
    meta: dict[str, Any] = {"name": name, **({"namespace": ns} if ns else {})}
    return {"apiVersion": "kyverno.io/v1", "kind": kind, "metadata": meta, "spec": spec}


def constraint(kind: str, params: dict[str, Any] | None = None, *, action: str | None = None,
               match: dict[str, Any] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"match": match or {"kinds": [{"apiGroups": [""], "kinds": ["Pod"]}],
                                               "excludedNamespaces": ["kube-system"]}}
    if params is not None:
        spec["parameters"] = params
    if action:
        spec["enforcementAction"] = action
    return {"apiVersion": "constraints.gatekeeper.sh/v1beta1", "kind": kind,
            "metadata": {"name": kind.lower().removeprefix("k8spsp")}, "spec": spec}


#: the gatekeeper-library PSP constraints with baseline-strict parameters
GATEKEEPER_BASELINE: dict[str, dict[str, Any] | None] = {
    "K8sPSPPrivilegedContainer": None,
    "K8sPSPHostNamespace": None,
    "K8sPSPHostNetworkingPorts": {"hostNetwork": False, "min": 8000, "max": 8100},
    "K8sPSPHostFilesystem": {"allowedHostPaths": []},
    "K8sPSPCapabilities": {"allowedCapabilities": ["NET_BIND_SERVICE", "CHOWN"]},
    "K8sPSPAppArmor": {"allowedProfiles": ["runtime/default"]},
    "K8sPSPSELinuxV2": {"allowedSELinuxOptions": [{"type": "container_t"}]},
    "K8sPSPProcMount": {"procMount": "Default"},
    "K8sPSPSeccomp": {"allowedProfiles": ["runtime/default", "localhost/*"]},
    "K8sPSPForbiddenSysctls": {"forbiddenSysctls": ["*"], "allowedSysctls": ["net.ipv4.tcp_syncookies"]},
}


def gatekeeper(**changes: Any) -> list[dict[str, Any]]:
    """The baseline set; ``Kind=None``-style changes drop (``drop``) or replace parameters/action."""
    out = []
    for kind, params in GATEKEEPER_BASELINE.items():
        change = changes.get(kind, {})
        if change == "drop":
            continue
        out.append(constraint(kind, change.get("params", copy.deepcopy(params)), action=change.get("action"),
                              match=change.get("match")))
    return out


def kubewarden(module: str, settings: dict[str, Any] | None = None, *, mode: str | None = None,
               selector: dict[str, Any] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"module": f"registry://ghcr.io/kubewarden/policies/{module}:v1.0.0",
                            "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"],
                                       "operations": ["CREATE", "UPDATE"]}],
                            "settings": settings or {}, "mutating": False}
    if mode:
        spec["mode"] = mode
    if selector is not None:
        spec["namespaceSelector"] = selector
    return {"apiVersion": "policies.kubewarden.io/v1", "kind": "ClusterAdmissionPolicy",
            "metadata": {"name": module}, "spec": spec}


def vap(resources: tuple[str, ...] = ("pods",)) -> dict[str, Any]:
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": "no-privileged"},
            "spec": {"failurePolicy": "Fail", "matchConstraints": {"resourceRules": [
                {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
                 "resources": list(resources)}]},
                "validations": [{"expression": "object.spec.containers.all(c, !has(c.securityContext) || "
                                               "c.securityContext.privileged != true)"}]}}


def vap_binding(actions: tuple[str, ...] = ("Deny",), selector: dict[str, Any] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"policyName": "no-privileged", "validationActions": list(actions)}
    if selector is not None:
        spec["matchResources"] = {"namespaceSelector": selector}
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": "no-privileged"}, "spec": spec}


def cluster(*raws: dict[str, Any], labels: dict[str, str] | None = None, live_read: bool = True,
            unavailable: dict[str, str] | None = None) -> tuple[Namespace, Inventory]:
    objs = [K8sObject(r, Source("cluster.yaml", i + 1)) for i, r in enumerate((namespace(labels=labels), *raws))]
    inv = Inventory(objs, fetched=["Namespace"] if live_read else (), unavailable=unavailable)
    return Namespace("shop", inv.get("Namespace", None, "shop")), inv


def verdict(result: Any) -> str:
    if isinstance(result, NotApplicable):
        return "n/a"
    if isinstance(result, Undetermined):
        return "undetermined"
    assert all(isinstance(f, Finding) for f in result)
    return "fail" if result else "pass"


def text(result: Any) -> str:
    return result.reason if isinstance(result, (Undetermined, NotApplicable)) else "\n".join(
        f.message for f in result)


SEL_SHOP = {"matchLabels": {"team": "shop"}}
SEL_WEB = {"matchLabels": {"team": "web"}}
#: NotIn on a label the namespace lacks would select it, but In without values is rejected by the API server
SEL_BAD = {"matchExpressions": [{"key": "team", "operator": "In", "values": []}]}
ANY_POD = {"resources": {"kinds": ["Pod"]}}

CASES = [
    # id, objects, expected, words
    ("nothing", [], "fail", "has no pod-security.kubernetes.io/enforce label"),
    # Kyverno
    ("kyverno-baseline-enforce", [kyverno("baseline")], "pass", ""),
    ("kyverno-restricted-enforce", [kyverno("restricted")], "pass", ""),
    ("kyverno-lowercase-enforce", [kyverno("baseline", "enforce")], "pass", ""),
    ("kyverno-audit", [kyverno("baseline", "Audit")], "fail",
     "Kyverno ClusterPolicy podsec: rules[0] (baseline): failure action Audit (spec.validationFailureAction) only "
     "reports"),
    ("kyverno-action-unset-is-audit", [kyverno("baseline", None)], "fail", "the default (no failure action set)"),
    ("kyverno-rule-failure-action", [kyverno("baseline", "Audit", validate={
        "failureAction": "Enforce", "podSecurity": {"level": "baseline"}})], "pass", ""),
    ("kyverno-override-audit-here", [{**kyverno("baseline"), "spec": {
        **kyverno("baseline")["spec"], "validationFailureActionOverrides": [
            {"action": "Audit", "namespaces": ["shop"]}]}}], "fail", "failureActionOverrides"),
    ("kyverno-override-elsewhere", [{**kyverno("baseline"), "spec": {
        **kyverno("baseline")["spec"], "validationFailureActionOverrides": [
            {"action": "Audit", "namespaces": ["dev-*"]}]}}], "pass", ""),
    ("kyverno-background-only", [{**kyverno("baseline"), "spec": {**kyverno("baseline")["spec"], "admission": False}}],
     "fail", "spec.admission is false"),
    ("kyverno-privileged-level", [kyverno("privileged")], "fail", "podSecurity level privileged refuses nothing"),
    ("kyverno-bad-level", [kyverno("strict")], "undetermined", "'strict' is not a Pod Security level"),
    ("kyverno-other-namespace", [kyverno(match={"any": [{"resources": {"kinds": ["Pod"], "namespaces": ["web"]}}]})],
     "fail", "its namespaces do not include shop"),
    ("kyverno-namespace-glob", [kyverno(match={"any": [{"resources": {"kinds": ["Pod"], "namespaces": ["sh*"]}}]})],
     "pass", ""),
    ("kyverno-namespace-selector", [kyverno(match={"any": [{"resources": {"kinds": ["Pod"],
                                                                          "namespaceSelector": SEL_SHOP}}]})],
     "pass", ""),
    ("kyverno-namespace-selector-other", [kyverno(match={"any": [{"resources": {"kinds": ["Pod"],
                                                                                "namespaceSelector": SEL_WEB}}]})],
     "fail", "its namespaceSelector does not select shop"),
    ("kyverno-deployments-only", [kyverno(match={"any": [{"resources": {"kinds": ["Deployment"]}}]})], "fail",
     "it does not match Pods"),
    ("kyverno-versioned-kind", [kyverno(match={"any": [{"resources": {"kinds": ["v1/Pod"]}}]})], "pass", ""),
    ("kyverno-some-pods", [kyverno(match={"any": [{"resources": {"kinds": ["Pod"],
                                                                 "selector": {"matchLabels": {"a": "b"}}}}]})],
     "fail", "only some pods"),
    ("kyverno-legacy-match", [kyverno(match={"resources": {"kinds": ["Pod"]}})], "pass", ""),
    ("kyverno-match-all", [kyverno(match={"all": [ANY_POD, {"resources": {"kinds": ["Pod"],
                                                                          "namespaces": ["shop"]}}]})], "pass", ""),
    ("kyverno-match-all-one-misses", [kyverno(match={"all": [ANY_POD, {"resources": {"kinds": ["Pod"],
                                                                                     "namespaces": ["x"]}}]})],
     "fail", "its namespaces do not include shop"),
    ("kyverno-exclude-this-namespace", [kyverno(exclude={"any": [{"resources": {"namespaces": ["shop"]}}]})],
     "undetermined", "an exclude clause"),
    ("kyverno-exclude-other-namespace", [kyverno(exclude={"any": [{"resources": {"namespaces": ["kube-system"]}}]})],
     "pass", ""),
    ("kyverno-exclude-users", [kyverno(exclude={"any": [{"subjects": [{"kind": "Group", "name": "ops"}]}]})],
     "undetermined", "an exclude clause"),
    ("kyverno-exemptions", [kyverno(validate={"podSecurity": {"level": "baseline", "exclude": [
        {"controlName": "Capabilities", "images": ["ghcr.io/acme/*"]}]}})], "undetermined", "podSecurity.exclude"),
    ("kyverno-pattern-rule", [kyverno(validate={"pattern": {"spec": {"containers": [
        {"=(securityContext)": {"=(privileged)": "false"}}]}}})], "undetermined", "pattern or deny rule"),
    ("kyverno-cel-rule", [kyverno(validate={"cel": {"expressions": [{"expression": "true"}]}})], "undetermined",
     "CEL rule"),
    ("kyverno-pattern-rule-audit", [kyverno(action="Audit", validate={"pattern": {"spec": {}}})], "fail",
     "only reports"),
    ("kyverno-policy-own-namespace", [kyverno(kind="Policy", ns="shop")], "pass", ""),
    ("kyverno-policy-other-namespace", [kyverno(kind="Policy", ns="web")], "fail",
     "a Policy applies only in namespace web"),
    ("kyverno-one-rule-enough", [kyverno("baseline"), kyverno(action="Audit", name="other")], "pass", ""),
    ("kyverno-validating-policy", [{"apiVersion": "policies.kyverno.io/v1", "kind": "ValidatingPolicy",
                                    "metadata": {"name": "vp"}, "spec": {}}], "undetermined",
     "Kyverno ValidatingPolicy vp: its CEL validations are not modelled"),
    # Gatekeeper
    ("gatekeeper-baseline", gatekeeper(), "pass", ""),
    ("gatekeeper-warn", gatekeeper(K8sPSPPrivilegedContainer={"action": "warn"}), "fail",
     "no deny constraint covers privileged in shop"),
    ("gatekeeper-dryrun", gatekeeper(K8sPSPSeccomp={"action": "dryrun"}), "fail", "enforcementAction dryrun"),
    ("gatekeeper-missing-template", gatekeeper(K8sPSPForbiddenSysctls="drop"), "fail", "covers sysctls"),
    ("gatekeeper-seccomp-unset", gatekeeper(K8sPSPSeccomp={"params": {}}), "undetermined",
     "allowedProfiles is not set"),
    ("gatekeeper-unconfined-allowed", gatekeeper(K8sPSPSeccomp={"params": {"allowedProfiles": ["*"]}}), "fail",
     "covers seccomp"),
    ("gatekeeper-net-admin", gatekeeper(K8sPSPCapabilities={"params": {"allowedCapabilities": ["NET_ADMIN"]}}),
     "fail", "capabilities"),
    ("gatekeeper-host-paths-allowed", gatekeeper(K8sPSPHostFilesystem={"params": {"allowedHostPaths": [
        {"pathPrefix": "/var/log", "readOnly": True}]}}), "fail", "host paths"),
    ("gatekeeper-host-network-allowed", gatekeeper(K8sPSPHostNetworkingPorts={"params": {"hostNetwork": True,
                                                                                         "min": 1, "max": 2}}),
     "fail", "host network"),
    ("gatekeeper-excludes-namespace", gatekeeper(K8sPSPPrivilegedContainer={"params": None, "match": {
        "kinds": [{"apiGroups": [""], "kinds": ["Pod"]}], "excludedNamespaces": ["shop"]}}), "fail",
     "it excludes namespace shop"),
    ("gatekeeper-all-kinds", gatekeeper(K8sPSPPrivilegedContainer={"params": None, "match": {}}), "pass", ""),
    ("gatekeeper-other-kinds", gatekeeper(K8sPSPPrivilegedContainer={"params": None, "match": {
        "kinds": [{"apiGroups": ["apps"], "kinds": ["Deployment"]}]}}), "fail", "it does not match Pods"),
    ("gatekeeper-namespace-selector", gatekeeper(K8sPSPPrivilegedContainer={"params": None, "match": {
        "namespaceSelector": SEL_SHOP}}), "pass", ""),
    # Kubewarden
    ("kubewarden-partial", [kubewarden("pod-privileged"), kubewarden("host-namespaces-psp")], "fail",
     "no protect-mode policy covers host paths"),
    ("kubewarden-unmodelled-module", [kubewarden("pod-privileged"), kubewarden("hostpaths-psp")], "undetermined",
     "module hostpaths-psp is not modelled"),
    ("kubewarden-monitor", [kubewarden("hostpaths-psp", mode="monitor")], "fail", "mode monitor only reports"),
    ("kubewarden-other-namespace", [kubewarden("hostpaths-psp", selector=SEL_WEB)], "fail",
     "its namespaceSelector does not select shop"),
    # ValidatingAdmissionPolicy
    ("vap-deny", [vap(), vap_binding()], "undetermined",
     "ValidatingAdmissionPolicyBinding no-privileged (policy no-privileged): it denies pods in shop by CEL "
     "validations, which are not modelled"),
    ("vap-warn", [vap(), vap_binding(("Warn", "Audit"))], "fail", "do not refuse pods"),
    ("vap-other-namespace", [vap(), vap_binding(selector=SEL_WEB)], "fail", "does not select shop"),
    ("vap-not-pods", [vap(("deployments",)), vap_binding()], "fail", ""),
    ("vap-binding-without-policy", [vap_binding()], "fail", ""),
    # invalid namespaceSelectors (selectors.py): the policy is rejected, so it does not count as enforcing
    ("kyverno-invalid-selector", [kyverno(match={"any": [{"resources": {"kinds": ["Pod"], "namespaceSelector":
                                                                        SEL_BAD}}]})],
     "fail", "its namespaceSelector is invalid (matchExpressions[0]: In needs at least one value)"),
    ("kyverno-invalid-exclude-selector", [kyverno(exclude={"any": [{"resources": {"namespaceSelector": SEL_BAD}}]})],
     "fail", "rules[0].exclude: its namespaceSelector is invalid"),
    ("kyverno-invalid-override-selector", [{**kyverno("baseline"), "spec": {
        **kyverno("baseline")["spec"], "validationFailureActionOverrides": [
            {"action": "Enforce", "namespaceSelector": SEL_BAD}]}}], "fail", "validationFailureActionOverrides: its namespaceSelector is invalid"),
    ("kyverno-invalid-selector-in-any", [kyverno(match={"any": [ANY_POD, {"resources": {
        "kinds": ["Pod"], "namespaceSelector": SEL_BAD}}]})], "fail", "rules[0].match: its namespaceSelector"),
    ("gatekeeper-invalid-selector", gatekeeper(K8sPSPPrivilegedContainer={"params": None, "match": {
        "namespaceSelector": {"matchExpressions": [{"key": "team", "operator": "Gt", "values": ["1"]}]}}}), "fail",
     "operator 'Gt' is not one of"),
    ("kubewarden-invalid-selector", [kubewarden("hostpaths-psp", selector={"matchLabels": {"team": True}})], "fail",
     "must be a string"),
    ("vap-invalid-selector", [vap(), vap_binding(selector=SEL_BAD)], "fail", "its namespaceSelector is invalid"),
    # several engines: one that enforces is enough
    ("enforcing-and-undecided", [kyverno("baseline"), vap(), vap_binding()], "pass", ""),
]


@pytest.mark.parametrize(("raws", "expected", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_engines_on_a_cluster(raws: list[dict[str, Any]], expected: str, words: str) -> None:
    ns, inv = cluster(*raws)
    result = admission.pod_security_enforced(ns, inv)
    assert verdict(result) == expected, text(result)
    if words:
        assert words in text(result)


def test_the_label_still_decides_first() -> None:
    ns, inv = cluster(kyverno("baseline", "Audit"), labels={"pod-security.kubernetes.io/enforce": "restricted"})
    assert admission.pod_security_enforced(ns, inv) == []


def test_application_manifests_with_an_engine_policy_are_undetermined() -> None:
    ns, inv = cluster(kyverno("baseline"), live_read=False)
    assert not inv.is_cluster
    result = admission.pod_security_enforced(ns, inv)
    assert verdict(result) == "undetermined" and "application manifests, not a cluster" in result.reason
    # an inactive policy among manifests leaves the label verdict, with a note
    ns, inv = cluster(kyverno("baseline", "Audit"), live_read=False)
    result = admission.pod_security_enforced(ns, inv)
    assert verdict(result) == "fail" and "policy engines among the inputs do not enforce here" in text(result)


def test_namespace_labels_unknown_make_a_selector_undecided() -> None:
    inv = Inventory([K8sObject(kyverno(match={"any": [{"resources": {"kinds": ["Pod"],
                                                                      "namespaceSelector": SEL_SHOP}}]}),
                               Source("c.yaml", 1))], fetched=["Pod"])
    verdicts, _ = engines.judge(Namespace("shop", None), inv)
    assert [v.state for v in verdicts] == ["undecided"] and "labels of shop" in verdicts[0].why
    # a selector on the name label alone is decided without the Namespace object
    by_name = {"matchLabels": {"kubernetes.io/metadata.name": "shop"}}
    inv = Inventory([K8sObject(kyverno(match={"any": [{"resources": {"kinds": ["Pod"],
                                                                      "namespaceSelector": by_name}}]}),
                               Source("c.yaml", 1))], fetched=["Pod"])
    verdicts, _ = engines.judge(Namespace("shop", None), inv)
    assert [v.state for v in verdicts] == ["enforces"]


def test_forbidden_engine_kind_is_undetermined_not_failed() -> None:
    ns, inv = cluster(unavailable={"ClusterPolicy.kyverno.io": "403 clusterpolicies.kyverno.io is forbidden"})
    result = admission.pod_security_enforced(ns, inv)
    assert verdict(result) == "undetermined" and "403 clusterpolicies.kyverno.io is forbidden" in result.reason
    # an enforcing policy of another engine still passes it
    ns, inv = cluster(*gatekeeper(), unavailable={"ClusterPolicy.kyverno.io": "403 forbidden"})
    assert admission.pod_security_enforced(ns, inv) == []


# ----------------------------------------------------------------- live: engine kinds are optional
def test_live_reads_every_engine_kind_as_optional() -> None:
    assert set(engines.ENGINE_KINDS) <= live.OPTIONAL_KINDS
    assert engines.OPTIONAL_GROUPS == live.OPTIONAL_GROUPS


class _FakeCluster:
    """Serves a Gatekeeper template and its constraints; Kyverno's kinds are forbidden, Kubewarden's not served."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def list(self, kind: str) -> list[dict[str, Any]]:
        self.asked.append(kind)
        if kind == "Namespace":
            return [namespace()]
        if kind == "ConstraintTemplate.templates.gatekeeper.sh":
            return [{"apiVersion": "templates.gatekeeper.sh/v1", "kind": "ConstraintTemplate",
                     "metadata": {"name": k.lower()}, "spec": {"crd": {"spec": {"names": {"kind": k}}}}}
                    for k in (*GATEKEEPER_BASELINE, "K8sPSPVolumeTypes")]
        if kind.endswith(".constraints.gatekeeper.sh"):
            bare = kind.split(".", 1)[0]
            if bare == "K8sPSPVolumeTypes":  # a template whose CRD is not served yet
                raise live._Unavailable(f"no resource of kind {kind} is served", not_served=True)
            return [c for c in gatekeeper() if c["kind"] == bare]
        if kind.endswith(".kyverno.io"):
            raise live._Unavailable("403 Forbidden", not_served=False)
        raise live._Unavailable(f"no resource of kind {kind} is served", not_served=True)


def test_live_engine_kinds_through_the_fetcher() -> None:
    fake = _FakeCluster()
    inv = Inventory([], fetch=live.fetcher(fake))  # type: ignore[arg-type]
    ns = Namespace("shop", inv.get("Namespace", None, "shop"))
    verdicts, problems = engines.judge(ns, inv)
    assert "K8sPSPSeccomp.constraints.gatekeeper.sh" in fake.asked
    assert [v.state for v in verdicts] == ["enforces"]
    assert problems == ["ClusterPolicy.kyverno.io cannot be read: 403 Forbidden",
                        "Policy.kyverno.io cannot be read: 403 Forbidden",
                        "ValidatingPolicy.policies.kyverno.io cannot be read: 403 Forbidden"]
    assert "ClusterAdmissionPolicy.policies.kubewarden.io" not in inv.unavailable_kinds  # not installed
    assert "K8sPSPVolumeTypes.constraints.gatekeeper.sh" not in inv.unavailable_kinds
    assert admission.pod_security_enforced(ns, inv) == []  # Gatekeeper enforces, whatever Kyverno holds


def test_constraint_of_another_template_denying_pods_is_undecided() -> None:
    labels = constraint("K8sRequiredProbes", {"probes": ["readinessProbe"]})
    ns, inv = cluster(*gatekeeper(K8sPSPSeccomp="drop"), labels)
    result = admission.pod_security_enforced(ns, inv)
    assert verdict(result) == "undetermined" and "K8sRequiredProbes k8srequiredprobes: not a Pod Security library " \
                                                 "template" in result.reason
    # with the baseline set complete, the unknown one does not matter
    ns, inv = cluster(*gatekeeper(), labels)
    assert admission.pod_security_enforced(ns, inv) == []


def test_scanner_role_reads_the_engine_kinds() -> None:
    from pathlib import Path

    from pytest_k8shardening.loader import parse_text

    path = Path(__file__).resolve().parents[1] / "deploy" / "scanner-rbac.yaml"
    role = next(o for o in parse_text(path.read_text(), str(path)) if o.kind == "ClusterRole")
    from pytest_k8shardening.checks.rbac import Rule

    rules = [Rule.parse(r, role.name, i) for i, r in enumerate(role.raw["rules"])]
    plural = {"ClusterPolicy.kyverno.io": ("kyverno.io", "clusterpolicies"),
              "Policy.kyverno.io": ("kyverno.io", "policies"),
              "ValidatingPolicy.policies.kyverno.io": ("policies.kyverno.io", "validatingpolicies"),
              "ConstraintTemplate.templates.gatekeeper.sh": ("templates.gatekeeper.sh", "constrainttemplates"),
              "ClusterAdmissionPolicy.policies.kubewarden.io": ("policies.kubewarden.io", "clusteradmissionpolicies"),
              "AdmissionPolicy.policies.kubewarden.io": ("policies.kubewarden.io", "admissionpolicies")}
    assert set(plural) == set(engines.ENGINE_KINDS)
    wanted = [*plural.values(), *(("constraints.gatekeeper.sh", k.lower()) for k in engines.GATEKEEPER_RULES)]
    for group, resource in wanted:
        assert any(r.allows("list", group, resource) for r in rules), (group, resource)
