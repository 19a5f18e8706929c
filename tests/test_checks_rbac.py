"""Table-driven tests of the RBAC model and checks: pass, fail and edge cases,
a fresh cluster's default RBAC, our own scanner role, and the suite end to end."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from pytest_k8shardening.checks import Finding, NotApplicable, Undetermined, rbac
from pytest_k8shardening.loader import parse_text
from pytest_k8shardening.model import WORKLOAD_KINDS, Inventory, K8sObject, Source

from .k8s import wrap_pod_spec

ROOT = Path(__file__).resolve().parents[1]
RBAC = "rbac.authorization.k8s.io"
Check = Callable[[K8sObject, Inventory], Any]
CHECKS: dict[str, Check] = {
    "cluster_admin": rbac.cluster_admin, "wildcards": rbac.wildcards, "secrets_read": rbac.secrets_read,
    "exec_attach": rbac.exec_attach, "escalate_bind_impersonate": rbac.escalate_bind_impersonate,
    "nodes_proxy": rbac.nodes_proxy, "anonymous": rbac.anonymous, "authenticated": rbac.authenticated,
    "default_service_account": rbac.default_service_account,
    "admin_infra_separation": rbac.admin_infra_separation,
    "credential_minting": rbac.credential_minting, "kube_system_workloads": rbac.kube_system_workloads,
    "webhook_configuration_write": rbac.webhook_configuration_write, "csr_approval": rbac.csr_approval,
}


# ----------------------------------------------------------------- builders
def rule(verbs: str, resources: str = "", groups: Iterable[str] = ("",), names: str = "",
         urls: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"verbs": verbs.split()}
    if resources:
        out["apiGroups"] = list(groups)
        out["resources"] = resources.split()
    if names:
        out["resourceNames"] = names.split()
    if urls:
        out["nonResourceURLs"] = urls.split()
    return out


def role(name: str, *rules: dict[str, Any], namespace: str = "shop") -> dict[str, Any]:
    return {"apiVersion": f"{RBAC}/v1", "kind": "Role", "metadata": {"name": name, "namespace": namespace},
            "rules": list(rules)}


def crole(name: str, *rules: dict[str, Any], labels: dict[str, str] | None = None,
          selectors: list[Any] | None = None) -> dict[str, Any]:
    raw: dict[str, Any] = {"apiVersion": f"{RBAC}/v1", "kind": "ClusterRole",
                           "metadata": {"name": name, **({"labels": labels} if labels else {})}, "rules": list(rules)}
    if selectors is not None:
        raw["aggregationRule"] = {"clusterRoleSelectors": selectors}
    return raw


def user(name: str) -> dict[str, str]:
    return {"kind": "User", "apiGroup": RBAC, "name": name}


def group(name: str) -> dict[str, str]:
    return {"kind": "Group", "apiGroup": RBAC, "name": name}


def sa(name: str, namespace: str | None = None) -> dict[str, str]:
    return {"kind": "ServiceAccount", "name": name, **({"namespace": namespace} if namespace else {})}


def rb(name: str, role_name: str, *subjects: dict[str, str], kind: str = "Role",
       namespace: str = "shop") -> dict[str, Any]:
    return {"apiVersion": f"{RBAC}/v1", "kind": "RoleBinding", "metadata": {"name": name, "namespace": namespace},
            "roleRef": {"apiGroup": RBAC, "kind": kind, "name": role_name}, "subjects": list(subjects)}


def crb(name: str, role_name: str, *subjects: dict[str, str], kind: str = "ClusterRole") -> dict[str, Any]:
    raw = {"apiVersion": f"{RBAC}/v1", "kind": "ClusterRoleBinding", "metadata": {"name": name},
           "roleRef": {"apiGroup": RBAC, "kind": kind, "name": role_name}, "subjects": list(subjects)}
    if not subjects:
        del raw["subjects"]
    return raw


def deployment(name: str, namespace: str = "shop", service_account: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "x"}]}
    if service_account:
        spec["serviceAccountName"] = service_account
    return wrap_pod_spec("Deployment", spec, name=name, namespace=namespace)


def inv_of(*raws: dict[str, Any], fetched: Iterable[str] = (), unavailable: dict[str, str] | None = None) -> Inventory:
    return Inventory([K8sObject(r, Source("rbac.yaml", i + 1)) for i, r in enumerate(raws)],
                     fetched=fetched, unavailable=unavailable)


def bindings(inv: Inventory) -> list[K8sObject]:
    return inv.of_kind("RoleBinding", "ClusterRoleBinding")


def run(check: Check, *raws: dict[str, Any], **kw: Any) -> Any:
    """``check`` on the first binding among ``raws``."""
    inv = inv_of(*raws, **kw)
    return check(bindings(inv)[0], inv)


def verdict(result: Any) -> str:
    if isinstance(result, NotApplicable):
        return "n/a"
    if isinstance(result, Undetermined):
        return "undetermined"
    assert all(isinstance(f, Finding) for f in result)
    return "fail" if result else "pass"


def messages(result: Any) -> str:
    assert isinstance(result, list), result
    return "\n".join(f.message for f in result)


# ----------------------------------------------------------------- rule matching
MATCH = [
    # id, rule, verb, group, resource, name, allowed
    ("exact", rule("get", "pods"), "get", "", "pods", None, True),
    ("verb-star", rule("*", "pods"), "delete", "", "pods", None, True),
    ("verb-case", rule("GET", "pods"), "get", "", "pods", None, False),
    ("other-verb", rule("get", "pods"), "list", "", "pods", None, False),
    ("group-mismatch", rule("get", "deployments", ["apps"]), "get", "", "deployments", None, False),
    ("group-star", rule("get", "deployments", ["*"]), "get", "apps", "deployments", None, True),
    ("resource-star-covers-subresource", rule("create", "*"), "create", "", "pods/exec", None, True),
    ("resource-does-not-cover-subresource", rule("create", "pods"), "create", "", "pods/exec", None, False),
    ("pods-slash-star-is-literal", rule("create", "pods/*"), "create", "", "pods/exec", None, False),
    ("star-slash-subresource", rule("create", "*/exec"), "create", "", "pods/exec", None, True),
    ("star-slash-subresource-not-parent", rule("get", "*/exec"), "get", "", "pods", None, False),
    ("star-slash-other-subresource", rule("get", "*/scale"), "get", "", "pods/exec", None, False),
    ("star-scale", rule("update", "*/scale", ["*"]), "update", "apps", "deployments/scale", None, True),
    ("suffix-is-not-wildcard", rule("create", "xx/exec"), "create", "", "pods/exec", None, False),
    ("names-not-collection", rule("get", "secrets", names="a"), "get", "", "secrets", None, False),
    ("names-match", rule("get", "secrets", names="a b"), "get", "", "secrets", "b", True),
    ("names-other", rule("get", "secrets", names="a"), "get", "", "secrets", "c", False),
    ("non-resource-rule", rule("*", urls="*"), "get", "", "secrets", None, False),
    ("empty-verbs", rule("", "secrets"), "get", "", "secrets", None, False),
]


@pytest.mark.parametrize(("raw", "verb", "group_", "resource", "name", "allowed"), [m[1:] for m in MATCH],
                         ids=[m[0] for m in MATCH])
def test_rule_allows(raw: dict[str, Any], verb: str, group_: str, resource: str, name: str | None,
                     allowed: bool) -> None:
    assert rbac.Rule.parse(raw, "r", 0).allows(verb, group_, resource, name) is allowed


def test_rule_fields_given_as_strings_are_not_read_as_empty() -> None:
    r = rbac.Rule.parse({"verbs": "*", "apiGroups": "", "resources": "secrets"}, "r", 0)
    assert r.allows("get", "", "secrets")


SELECTORS = [
    ("match-labels", {"matchLabels": {"a": "1"}}, {"a": "1", "b": "2"}, True),
    ("match-labels-other-value", {"matchLabels": {"a": "1"}}, {"a": "2"}, False),
    ("match-labels-all", {"matchLabels": {"a": "1", "b": "2"}}, {"a": "1"}, False),
    ("in", {"matchExpressions": [{"key": "a", "operator": "In", "values": ["1", "2"]}]}, {"a": "2"}, True),
    ("in-missing", {"matchExpressions": [{"key": "a", "operator": "In", "values": ["1"]}]}, {}, False),
    ("notin", {"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, {"a": "2"}, True),
    ("notin-missing-key", {"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, {}, True),
    ("notin-hit", {"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, {"a": "1"}, False),
    ("exists", {"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {"a": ""}, True),
    ("exists-missing", {"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {}, False),
    ("does-not-exist", {"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {"b": "1"}, True),
    ("does-not-exist-hit", {"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {"a": "1"}, False),
    ("labels-and-expressions", {"matchLabels": {"a": "1"},
                                "matchExpressions": [{"key": "b", "operator": "Exists"}]}, {"a": "1"}, False),
    ("empty-selects-everything", {}, {"x": "y"}, True),
    # invalid (selectors.py): the API server rejects the ClusterRole, so nothing aggregates through it
    ("unknown-operator", {"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]}, {"a": "2"}, False),
    ("in-without-values", {"matchExpressions": [{"key": "a", "operator": "In", "values": []}]}, {"a": "1"}, False),
    ("notin-without-values", {"matchExpressions": [{"key": "a", "operator": "NotIn"}]}, {"a": "1"}, False),
    ("exists-with-values", {"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["1"]}]},
     {"a": "1"}, False),
    ("does-not-exist-with-values", {"matchExpressions": [{"key": "a", "operator": "DoesNotExist",
                                                          "values": ["1"]}]}, {}, False),
    ("bad-key", {"matchExpressions": [{"key": "a b", "operator": "DoesNotExist"}]}, {}, False),
    ("non-string-value", {"matchLabels": {"a": True}}, {"a": "true"}, False),
    ("not-a-mapping", "a=1", {"a": "1"}, False),
    ("null-entry", None, {"a": "1"}, False),
]


@pytest.mark.parametrize(("selector", "labels", "expected"), [s[1:] for s in SELECTORS],
                         ids=[s[0] for s in SELECTORS])
def test_aggregation_selects(selector: Any, labels: dict[str, str], expected: bool) -> None:
    assert rbac.aggregation_selects(selector, labels) is expected


# ----------------------------------------------------------------- role resolution
def test_aggregated_cluster_role_unions_selected_roles() -> None:
    parent = crole("monitoring", rule("get", "pods"), selectors=[
        {"matchExpressions": [{"key": "acme.io/aggregate-to-monitoring", "operator": "In", "values": ["true"]}]}])
    child = crole("secret-peek", rule("list", "secrets"), labels={"acme.io/aggregate-to-monitoring": "true"})
    other = crole("unrelated", rule("list", "configmaps"), labels={"acme.io/aggregate-to-monitoring": "false"})
    inv = inv_of(parent, child, other, crb("mon", "monitoring", user("alice")))
    b = rbac.resolve(bindings(inv)[0], inv)
    assert [(r.role, r.text()) for r in b.role.rules] == [("monitoring", "get on pods"),
                                                          ("secret-peek", "list on secrets")]
    [f] = rbac.secrets_read(bindings(inv)[0], inv)
    assert "rules[0] of ClusterRole secret-peek (list on secrets)" in f.message


def test_invalid_aggregation_selector_aggregates_nothing() -> None:
    """In with no values is rejected by the API server: no rules flow in, and the child counts as unused."""
    parent = crole("monitoring", rule("get", "pods"), selectors=[
        {"matchExpressions": [{"key": "acme.io/aggregate-to-monitoring", "operator": "In", "values": []}]}])
    child = crole("secret-peek", rule("list", "secrets"), labels={"acme.io/aggregate-to-monitoring": "true"})
    inv = inv_of(parent, child, crb("mon", "monitoring", user("alice")))
    b = rbac.resolve(bindings(inv)[0], inv)
    assert [r.role for r in b.role.rules] == ["monitoring"]
    assert rbac.secrets_read(bindings(inv)[0], inv) == []


def test_aggregation_is_transitive_and_survives_cycles() -> None:
    a = crole("a", rule("get", "pods"), labels={"agg": "b"}, selectors=[{"matchLabels": {"agg": "a"}}])
    b_ = crole("b", rule("get", "services"), labels={"agg": "a"}, selectors=[{"matchLabels": {"agg": "b"}}])
    c = crole("c", rule("get", "secrets"), labels={"agg": "b"})
    inv = inv_of(a, b_, c, crb("x", "a", user("alice")))
    b = rbac.resolve(bindings(inv)[0], inv)
    assert {r.text() for r in b.role.rules} == {"get on pods", "get on services", "get on secrets"}


def test_builtin_edit_aggregates_user_roles_in_manifests() -> None:
    extra = crole("crd-secrets", rule("get", "secrets"), labels={"rbac.authorization.k8s.io/aggregate-to-view": "true"})
    inv = inv_of(extra, rb("ro", "view", group("auditors"), kind="ClusterRole"))
    b = rbac.resolve(bindings(inv)[0], inv)
    assert b.role.state == "builtin" and b.role.describe() == "ClusterRole view (built-in)"
    assert verdict(rbac.secrets_read(bindings(inv)[0], inv)) == "fail"
    # the built-in view grants no Secrets by itself
    assert run(rbac.secrets_read, rb("ro", "view", group("auditors"), kind="ClusterRole")) == []


def test_builtin_admin_edit_view_effective_rules() -> None:
    inv = inv_of(rb("x", "admin", user("a"), kind="ClusterRole"))
    rules = rbac.resolve(bindings(inv)[0], inv).role.rules
    holders = {r.role for r in rules}
    assert holders == {"system:aggregate-to-admin", "system:aggregate-to-edit", "system:aggregate-to-view"}
    assert any(r.allows("create", "", "pods/exec") for r in rules)
    assert any(r.allows("create", RBAC, "rolebindings") for r in rules)
    assert not any(r.allows("bind", RBAC, "clusterroles") or r.allows("escalate", RBAC, "roles") for r in rules)


def test_live_aggregated_role_rules_are_read_as_stored() -> None:
    # on a cluster the controller has already copied the rules into the aggregated role
    stored = crole("edit", rule("get list watch", "secrets"), selectors=[
        {"matchLabels": {"rbac.authorization.k8s.io/aggregate-to-edit": "true"}}])
    raws = (stored, rb("e", "edit", user("a"), kind="ClusterRole"))
    result = run(rbac.secrets_read, *raws, fetched=["ClusterRole", "Role", "RoleBinding", "ClusterRoleBinding"])
    assert "ClusterRole edit, rules[0] (get, list, watch on secrets)" in messages(result)
    # and the built-ins are not used on a cluster: its own edit is what counts
    empty = crole("edit", selectors=[{"matchLabels": {"rbac.authorization.k8s.io/aggregate-to-edit": "true"}}])
    assert run(rbac.exec_attach, empty, rb("e", "edit", user("a"), kind="ClusterRole"),
               fetched=["ClusterRole"]) == []


MISSING = [
    # id, objects, inventory kwargs, expected verdict of secrets_read, words in the reason
    ("role-not-among-inputs", [rb("b", "gone", user("a"))], {}, "undetermined", "Role shop/gone is not among"),
    ("clusterrole-not-among-inputs", [crb("b", "gone", user("a"))], {}, "undetermined", "not a built-in role"),
    ("role-missing-live", [rb("b", "gone", user("a"))], {"fetched": ["Role"]}, "n/a", "grants nothing"),
    ("clusterrole-missing-live", [crb("b", "gone", user("a"))], {"fetched": ["ClusterRole"]}, "n/a",
     "ClusterRole gone does not exist"),
    ("builtin-missing-live", [crb("b", "view", user("a"))], {"fetched": ["ClusterRole"]}, "n/a", "does not exist"),
    ("crb-to-role", [crb("b", "r", user("a"), kind="Role"), role("r", rule("get", "secrets"))], {}, "n/a",
     "can only refer to a ClusterRole"),
    ("no-roleref", [{**rb("b", "x", user("a")), "roleRef": {}}], {}, "n/a", "does not name a Role"),
    ("role-unavailable", [rb("b", "r", user("a"))], {"unavailable": {"Role": "forbidden: no list"}}, "undetermined",
     "Roles cannot be read: forbidden: no list"),
    ("clusterrole-unavailable", [crb("b", "custom", user("a"))],
     {"unavailable": {"ClusterRole": "forbidden"}}, "undetermined", "ClusterRoles cannot be read: forbidden"),
    ("builtin-unavailable-no-finding", [crb("b", "view", user("a"))],
     {"unavailable": {"ClusterRole": "forbidden"}}, "undetermined", "ClusterRoles cannot be read"),
]


@pytest.mark.parametrize(("raws", "kw", "expected", "words"), [m[1:] for m in MISSING], ids=[m[0] for m in MISSING])
def test_missing_and_unreadable_roles(raws: list[dict[str, Any]], kw: dict[str, Any], expected: str,
                                      words: str) -> None:
    result = run(rbac.secrets_read, *raws, **kw)
    assert verdict(result) == expected
    assert words in result.reason


@pytest.mark.parametrize("check", sorted(set(CHECKS) - {"anonymous", "authenticated", "default_service_account"}))
def test_unreadable_role_is_never_a_pass(check: str) -> None:
    # (a User is never a workload's identity, so admin_infra_separation needs no role for it)
    for subject in (user("alice"), sa("deployer", "shop"))[check == "admin_infra_separation":]:
        raws = [crb("b", "custom", subject), deployment("api", service_account="deployer")]
        result = run(CHECKS[check], *raws, unavailable={"ClusterRole": "forbidden"})
        assert verdict(result) == "undetermined", (check, result)


def test_unreadable_builtin_role_fails_on_its_default_rules() -> None:
    result = run(rbac.cluster_admin, crb("ops", "cluster-admin", user("alice")),
                 unavailable={"ClusterRole": "clusterroles is forbidden"})
    [f] = result
    assert "ClusterRole cluster-admin (unreadable; judged on its upstream default rules)" in f.message


# ----------------------------------------------------------------- subjects
def test_service_account_namespace_defaults_to_the_rolebinding() -> None:
    inv = inv_of(rb("b", "r", sa("ci")), role("r", rule("get", "secrets")))
    b = rbac.resolve(bindings(inv)[0], inv)
    [s] = b.subjects
    assert (s.namespace, s.defaulted, s.describe()) == ("shop", True, "ServiceAccount shop/ci")


def test_service_account_without_namespace_in_cluster_role_binding_matches_no_one() -> None:
    raws = [crb("b", "r", sa("ci")), crole("r", rule("get", "secrets"))]
    inv = inv_of(*raws)
    b = rbac.resolve(bindings(inv)[0], inv)
    assert b.subjects == () and "matches no one" in b.ignored[0]
    assert run(rbac.secrets_read, *raws) == []


def test_unknown_subject_kinds_match_no_one() -> None:
    raws = [crb("b", "r", {"kind": "Robot", "name": "r2"}), crole("r", rule("get", "secrets"))]
    assert run(rbac.secrets_read, *raws) == []


@pytest.mark.parametrize(("subject", "system"), [
    (group("system:masters"), True), (group("kubeadm:cluster-admins"), True), (group("system:nodes"), True),
    (group("system:bootstrappers:kubeadm:default-node-token"), True), (user("system:kube-controller-manager"), True),
    (user("system:kube-proxy"), True), (sa("coredns", "kube-system"), True),
    (user("system:serviceaccount:kube-system:coredns"), True),
    (user("system:anonymous"), False), (group("system:authenticated"), False),
    (group("system:unauthenticated"), False), (group("system:serviceaccounts"), False),
    (group("system:serviceaccounts:kube-system"), False), (sa("default", "kube-system"), False),
    (user("system:serviceaccount:shop:ci"), False), (sa("ci", "shop"), False), (user("alice"), False),
    (group("admins"), False),
], ids=lambda v: f"{v['kind']}:{v.get('namespace', '')}/{v['name']}" if isinstance(v, dict) else str(v))
def test_system_subjects(subject: dict[str, str], system: bool) -> None:
    inv = inv_of(crb("b", "view", subject))
    [s] = rbac.resolve(bindings(inv)[0], inv).subjects
    assert (rbac.system_subject(s) is not None) is system


# ----------------------------------------------------------------- the checks
def _roleset(*rules: dict[str, Any]) -> dict[str, Any]:
    return crole("r", *rules)


CASES = [
    # id, check, binding, extra objects, expected, words in the message
    # cluster-admin
    ("admin-user", "cluster_admin", crb("ops", "cluster-admin", user("alice")), [], "fail",
     "User alice has full control of the cluster (every verb on every resource): ClusterRoleBinding ops binds "
     "ClusterRole cluster-admin (built-in), rules[0] (* on * in apiGroups *)"),
    ("admin-masters", "cluster_admin", crb("cluster-admin", "cluster-admin", group("system:masters")), [], "pass", ""),
    ("admin-kubeadm", "cluster_admin", crb("kubeadm:cluster-admins", "cluster-admin",
                                           group("kubeadm:cluster-admins")), [], "pass", ""),
    ("admin-kube-system-sa", "cluster_admin", crb("tiller", "cluster-admin", sa("tiller", "kube-system")), [],
     "fail", "ServiceAccount kube-system/tiller has full control"),
    ("admin-system-nodes", "cluster_admin", crb("oops", "cluster-admin", group("system:nodes")), [], "fail",
     "Group system:nodes"),
    ("admin-system-named-binding", "cluster_admin", crb("system:evil", "cluster-admin", user("mallory")), [], "fail",
     "ClusterRoleBinding system:evil"),
    ("admin-rolebinding", "cluster_admin", rb("ops", "cluster-admin", user("alice"), kind="ClusterRole"), [],
     "fail", "full control of namespace shop"),
    ("admin-own-wildcard", "cluster_admin", crb("x", "r", user("a")), [_roleset(rule("*", "*", ["*"]))], "fail",
     "rules[0] (* on * in apiGroups *)"),
    ("admin-core-group-only", "cluster_admin", crb("x", "r", user("a")), [_roleset(rule("*", "*"))], "pass", ""),
    ("admin-named", "cluster_admin", crb("x", "r", user("a")), [_roleset(rule("*", "*", ["*"], names="one"))],
     "pass", ""),
    ("admin-urls-only", "cluster_admin", crb("x", "r", user("a")), [_roleset(rule("*", urls="*"))], "pass", ""),
    # wildcards
    ("wild-verbs", "wildcards", rb("x", "r", user("a")), [role("r", rule("*", "pods"))], "fail",
     "User a gets wildcard permissions in namespace shop: RoleBinding shop/x binds Role shop/r, rules[0] (* on pods)"),
    ("wild-resources", "wildcards", crb("x", "r", user("a")), [_roleset(rule("get", "*", ["apps"]))], "fail",
     "in every namespace"),
    ("wild-subresources", "wildcards", crb("x", "r", user("a")), [_roleset(rule("get", "*/scale", ["*"]))], "fail",
     "*/scale"),
    ("wild-named", "wildcards", crb("x", "r", user("a")), [_roleset(rule("*", "configmaps", names="c"))], "fail",
     "named c"),
    ("wild-groups-only", "wildcards", crb("x", "r", user("a")), [_roleset(rule("get", "deployments", ["*"]))],
     "pass", ""),
    ("wild-urls", "wildcards", crb("x", "r", user("a")), [_roleset(rule("*", urls="*"))], "pass", ""),
    ("wild-system", "wildcards", crb("x", "r", sa("generic-garbage-collector", "kube-system")),
     [_roleset(rule("get delete", "*", ["*"]))], "pass", ""),
    ("wild-none", "wildcards", crb("x", "view", user("a")), [], "pass", ""),
    # secrets
    ("secrets-cluster", "secrets_read", crb("x", "r", user("a")), [_roleset(rule("get list watch", "secrets"))],
     "fail", "User a can get, list, watch Secrets in every namespace (cluster-wide): ClusterRoleBinding x binds "
             "ClusterRole r, rules[0] (get, list, watch on secrets)"),
    ("secrets-namespace", "secrets_read", rb("x", "r", user("a")), [role("r", rule("list", "secrets"))], "fail",
     "can list Secrets in namespace shop"),
    ("secrets-rolebinding-to-clusterrole", "secrets_read", rb("x", "r", user("a"), kind="ClusterRole"),
     [_roleset(rule("watch", "secrets"))], "fail", "can watch Secrets in namespace shop"),
    ("secrets-star", "secrets_read", crb("x", "r", user("a")), [_roleset(rule("get", "*"))], "fail",
     "can get Secrets"),
    ("secrets-named", "secrets_read", rb("x", "r", user("a")), [role("r", rule("get", "secrets", names="tls"))],
     "pass", ""),
    ("secrets-other-group", "secrets_read", crb("x", "r", user("a")),
     [_roleset(rule("get", "secrets", ["apps"]))], "pass", ""),
    ("secrets-write-only", "secrets_read", crb("x", "r", user("a")), [_roleset(rule("create update", "secrets"))],
     "pass", ""),
    ("secrets-system", "secrets_read", crb("x", "r", user("system:kube-controller-manager")),
     [_roleset(rule("list", "*", ["*"]))], "pass", ""),
    # exec / attach
    ("exec-create", "exec_attach", rb("x", "r", user("a")), [role("r", rule("create", "pods/exec"))], "fail",
     "User a can create pods/exec in namespace shop"),
    ("attach-create", "exec_attach", rb("x", "r", user("a")), [role("r", rule("create", "pods/attach"))], "fail",
     "pods/attach"),
    ("exec-get-websocket", "exec_attach", rb("x", "r", user("a")), [role("r", rule("get", "pods/exec"))], "fail",
     "can get pods/exec in namespace shop, which opens them over WebSocket on API servers before v1.35"),
    ("exec-star-subresource", "exec_attach", crb("x", "r", user("a")), [_roleset(rule("create", "*/exec"))],
     "fail", "in every namespace"),
    ("exec-pods-slash-star", "exec_attach", rb("x", "r", user("a")), [role("r", rule("create", "pods/*"))], "pass",
     ""),
    ("exec-pods-only", "exec_attach", rb("x", "r", user("a")), [role("r", rule("*", "pods"))], "pass", ""),
    ("exec-portforward", "exec_attach", rb("x", "r", user("a")), [role("r", rule("create", "pods/portforward"))],
     "pass", ""),
    ("exec-named-pod", "exec_attach", rb("x", "r", user("a")),
     [role("r", rule("create", "pods/exec", names="debug"))], "pass", ""),
    ("exec-edit", "exec_attach", rb("x", "edit", group("devs"), kind="ClusterRole"), [], "fail",
     "rules[2] of ClusterRole system:aggregate-to-edit"),
    # escalate / bind / impersonate
    ("escalate-roles", "escalate_bind_impersonate", rb("x", "r", user("a")),
     [role("r", rule("escalate", "roles", [RBAC]))], "fail", "User a can escalate roles in namespace shop"),
    ("escalate-clusterroles-rb", "escalate_bind_impersonate", rb("x", "r", user("a"), kind="ClusterRole"),
     [_roleset(rule("escalate", "clusterroles", [RBAC]))], "pass", ""),
    ("escalate-clusterroles-crb", "escalate_bind_impersonate", crb("x", "r", user("a")),
     [_roleset(rule("escalate", "clusterroles", [RBAC]))], "fail", "can escalate clusterroles cluster-wide"),
    ("bind-clusterroles-rb", "escalate_bind_impersonate", rb("x", "r", user("a"), kind="ClusterRole"),
     [_roleset(rule("bind", "clusterroles", [RBAC]))], "fail", "can bind clusterroles in namespace shop"),
    ("bind-named", "escalate_bind_impersonate", crb("x", "r", user("a")),
     [_roleset(rule("bind", "clusterroles", [RBAC], names="view"))], "fail", "clusterroles named view"),
    ("bind-wrong-group", "escalate_bind_impersonate", crb("x", "r", user("a")),
     [_roleset(rule("bind escalate", "clusterroles"))], "pass", ""),
    ("impersonate-users", "escalate_bind_impersonate", crb("x", "r", user("a")),
     [_roleset(rule("impersonate", "users groups"))], "fail",
     "can impersonate users, groups cluster-wide (act as other identities)"),
    ("impersonate-users-rb", "escalate_bind_impersonate", rb("x", "r", user("a"), kind="ClusterRole"),
     [_roleset(rule("impersonate", "users groups"))], "pass", ""),
    ("impersonate-sa-rb", "escalate_bind_impersonate", rb("x", "r", user("a")),
     [role("r", rule("impersonate", "serviceaccounts"))], "fail", "impersonate serviceaccounts in namespace shop"),
    ("escalate-star", "escalate_bind_impersonate", crb("x", "r", user("a")), [_roleset(rule("*", "*", ["*"]))],
     "fail", "can escalate roles in every namespace and clusterroles cluster-wide (grant permissions it does not "
             "hold); can bind roles, clusterroles in every namespace"),
    ("escalate-system", "escalate_bind_impersonate",
     crb("x", "r", sa("clusterrole-aggregation-controller", "kube-system")),
     [_roleset(rule("escalate get list watch update patch", "clusterroles", [RBAC]))], "pass", ""),
    ("create-rolebindings-only", "escalate_bind_impersonate", rb("x", "r", user("a")),
     [role("r", rule("create update", "rolebindings roles", [RBAC]))], "pass", ""),
    # nodes/proxy
    ("proxy-get", "nodes_proxy", crb("x", "r", user("a")), [_roleset(rule("get", "nodes/proxy"))], "fail",
     "User a can get nodes/proxy, the kubelet API of every node"),
    ("proxy-create", "nodes_proxy", crb("x", "r", user("a")), [_roleset(rule("create", "nodes/proxy"))], "fail",
     "can create nodes/proxy"),
    ("proxy-star-subresource", "nodes_proxy", crb("x", "r", user("a")), [_roleset(rule("get", "*/proxy"))],
     "fail", "nodes/proxy"),
    ("proxy-named-node", "nodes_proxy", crb("x", "r", user("a")),
     [_roleset(rule("get", "nodes/proxy", names="node-1"))], "fail", "the kubelet API of nodes node-1"),
    ("proxy-rolebinding", "nodes_proxy", rb("x", "r", user("a"), kind="ClusterRole"),
     [_roleset(rule("get", "nodes/proxy"))], "pass", ""),
    ("proxy-nodes-slash-star", "nodes_proxy", crb("x", "r", user("a")), [_roleset(rule("get", "nodes/*"))], "pass",
     ""),
    ("proxy-metrics", "nodes_proxy", crb("x", "r", user("a")), [_roleset(rule("get", "nodes/metrics nodes/stats"))],
     "pass", ""),
    ("proxy-kubelet-api-admin", "nodes_proxy", crb("x", "system:kubelet-api-admin", user("a")), [], "fail",
     "can get, create nodes/proxy"),
    ("proxy-apiserver", "nodes_proxy", crb("system:kubelet-api-admin", "system:kubelet-api-admin",
                                           user("kube-apiserver-kubelet-client")), [], "fail", ""),
    # anonymous
    ("anon-public-info", "anonymous", crb("system:public-info-viewer", "system:public-info-viewer",
                                          group("system:authenticated"), group("system:unauthenticated")), [],
     "pass", ""),
    ("anon-public-info-widened", "anonymous",
     crb("system:public-info-viewer", "system:public-info-viewer", group("system:unauthenticated")),
     [crole("system:public-info-viewer", rule("get", urls="/healthz /version"), rule("list", "secrets"))], "fail",
     "and the role holds more than its Kubernetes default: rules[1] (list on secrets)"),
    ("anon-view", "anonymous", crb("public", "view", group("system:unauthenticated")), [], "fail",
     "ClusterRoleBinding public grants ClusterRole view (built-in) to Group system:unauthenticated, that is to "
     "every unauthenticated request:"),
    ("anon-user", "anonymous", rb("peek", "r", user("system:anonymous")), [role("r", rule("get", "configmaps"))],
     "fail", "User system:anonymous, that is to every request without credentials"),
    ("anon-kubeadm-clusterinfo", "anonymous",
     rb("kubeadm:bootstrap-signer-clusterinfo", "kubeadm:bootstrap-signer-clusterinfo", user("system:anonymous"),
        namespace="kube-public"),
     [role("kubeadm:bootstrap-signer-clusterinfo", rule("get", "configmaps", names="cluster-info"),
           namespace="kube-public")], "pass", ""),
    ("anon-kubeadm-clusterinfo-widened", "anonymous",
     rb("kubeadm:bootstrap-signer-clusterinfo", "kubeadm:bootstrap-signer-clusterinfo", user("system:anonymous"),
        namespace="kube-public"),
     [role("kubeadm:bootstrap-signer-clusterinfo", rule("get", "configmaps"), namespace="kube-public")], "fail",
     "more than its Kubernetes default"),
    ("anon-missing-role", "anonymous", crb("later", "gone", user("system:anonymous")), [], "fail",
     "ClusterRole gone is not among the inputs"),
    ("anon-user-named-like-group", "anonymous", crb("x", "view", user("system:unauthenticated")), [], "pass", ""),
    ("anon-nothing", "anonymous", crb("x", "view", user("alice")), [], "pass", ""),
    # authenticated
    ("authn-discovery", "authenticated", crb("system:discovery", "system:discovery", group("system:authenticated")),
     [], "pass", ""),
    ("authn-basic-user", "authenticated",
     crb("system:basic-user", "system:basic-user", group("system:authenticated")), [], "pass", ""),
    ("authn-view", "authenticated", crb("all-view", "view", group("system:authenticated")), [], "fail",
     "ClusterRoleBinding all-view grants ClusterRole view (built-in) to Group system:authenticated, that is to "
     "every authenticated user and ServiceAccount:"),
    ("authn-discovery-widened", "authenticated",
     crb("system:discovery", "system:discovery", group("system:authenticated")),
     [crole("system:discovery", rule("get", urls="/api /apis/*"), rule("get", "secrets"))], "fail",
     "rules[1] (get on secrets)"),
    ("authn-discovery-narrowed", "authenticated",
     crb("system:discovery", "system:discovery", group("system:authenticated")),
     [crole("system:discovery", rule("get", urls="/api"))], "pass", ""),
    ("authn-rolebinding", "authenticated", rb("x", "r", group("system:authenticated")),
     [role("r", rule("get", "configmaps"))], "fail", "RoleBinding shop/x grants Role shop/r"),
    # default service account
    ("default-sa", "default_service_account", rb("x", "r", sa("default")), [role("r", rule("get", "configmaps"))],
     "fail", "RoleBinding shop/x grants Role shop/r to ServiceAccount shop/default, that is to every pod in "
             "namespace shop that names no ServiceAccount: rules[0] (get on configmaps)"),
    ("default-sa-other-namespace", "default_service_account", crb("x", "view", sa("default", "web")), [], "fail",
     "ServiceAccount web/default"),
    ("default-sa-as-user", "default_service_account", crb("x", "view", user("system:serviceaccount:web:default")),
     [], "fail", "User system:serviceaccount:web:default (ServiceAccount web/default)"),
    ("default-sa-kube-system", "default_service_account", crb("tiller", "cluster-admin", sa("default", "kube-system")),
     [], "fail", "every pod in namespace kube-system"),
    ("default-sa-group-namespace", "default_service_account", rb("x", "view", group("system:serviceaccounts:shop"),
                                                                kind="ClusterRole"), [],
     "fail", "every ServiceAccount in namespace shop, default included"),
    ("default-sa-group-all", "default_service_account", crb("x", "view", group("system:serviceaccounts")), [],
     "fail", "every ServiceAccount in the cluster"),
    ("default-sa-issuer-discovery", "default_service_account",
     crb("system:service-account-issuer-discovery", "system:service-account-issuer-discovery",
         group("system:serviceaccounts")), [], "pass", ""),
    ("default-sa-missing-role", "default_service_account", rb("x", "gone", sa("default")), [], "fail",
     "is not among the inputs"),
    ("default-sa-named", "default_service_account", rb("x", "view", sa("api"), kind="ClusterRole"), [], "pass", ""),
    # administrator / infrastructure separation
    ("infra-admin-sa", "admin_infra_separation", crb("deployer", "cluster-admin", sa("deployer", "shop")),
     [deployment("api", service_account="deployer")], "fail",
     "ServiceAccount shop/deployer holds cluster administrator rights (ClusterRoleBinding deployer binds ClusterRole "
     "cluster-admin (built-in), rules[0] (* on * in apiGroups *)) and Deployment shop/api runs with it: workloads "
     "run with administrator rights"),
    ("infra-admin-default-sa", "admin_infra_separation", crb("x", "cluster-admin", sa("default", "shop")),
     [deployment("api")], "fail", "Deployment shop/api runs with it"),
    ("infra-admin-group", "admin_infra_separation", crb("x", "cluster-admin", group("system:serviceaccounts:shop")),
     [deployment("api", service_account="whatever")], "fail", "Group system:serviceaccounts:shop"),
    ("infra-admin-sa-user", "admin_infra_separation",
     crb("x", "cluster-admin", user("system:serviceaccount:shop:deployer")),
     [deployment("api", service_account="deployer")], "fail", "Deployment shop/api"),
    ("infra-unused-sa", "admin_infra_separation", crb("x", "cluster-admin", sa("deployer", "shop")),
     [deployment("api", service_account="other")], "pass", ""),
    ("infra-other-namespace", "admin_infra_separation", crb("x", "cluster-admin", sa("deployer", "shop")),
     [deployment("api", namespace="web", service_account="deployer")], "pass", ""),
    ("infra-rolebinding", "admin_infra_separation", rb("x", "cluster-admin", sa("deployer"), kind="ClusterRole"),
     [deployment("api", service_account="deployer")], "pass", ""),
    ("infra-not-admin", "admin_infra_separation", crb("x", "edit", sa("deployer", "shop")),
     [deployment("api", service_account="deployer")], "pass", ""),
    ("infra-kube-system", "admin_infra_separation", crb("x", "cluster-admin", sa("addon", "kube-system")),
     [deployment("addon", namespace="kube-system", service_account="addon")], "pass", ""),
    ("infra-user", "admin_infra_separation", crb("x", "cluster-admin", user("alice")), [deployment("api")], "pass",
     ""),
]


ADM = ["admissionregistration.k8s.io"]
CERTS = ["certificates.k8s.io"]
CASES += [
    # credential minting: create secrets, create serviceaccounts/token
    ("mint-secrets", "credential_minting", rb("x", "r", user("a")), [role("r", rule("create", "secrets"))], "fail",
     "User a can create Secrets in namespace shop, including ServiceAccount token Secrets"),
    ("mint-token", "credential_minting", rb("x", "r", user("a")),
     [role("r", rule("create", "serviceaccounts/token"))], "fail",
     "can create serviceaccounts/token in namespace shop (a token for any ServiceAccount)"),
    ("mint-token-named", "credential_minting", rb("x", "r", user("a")),
     [role("r", rule("create", "serviceaccounts/token", names="builder"))], "fail",
     "(a token for ServiceAccounts named builder)"),
    ("mint-secrets-named-is-no-create", "credential_minting", rb("x", "r", user("a")),
     [role("r", rule("create", "secrets", names="tls"))], "pass", ""),
    ("mint-star-subresource", "credential_minting", crb("x", "r", user("a")), [_roleset(rule("create", "*/token"))],
     "fail", "serviceaccounts/token in every namespace"),
    ("mint-star", "credential_minting", crb("x", "r", user("a")), [_roleset(rule("*", "*"))], "fail",
     "can create Secrets in every namespace"),
    ("mint-serviceaccounts-only", "credential_minting", rb("x", "r", user("a")),
     [role("r", rule("create", "serviceaccounts"))], "pass", ""),
    ("mint-other-group", "credential_minting", rb("x", "r", user("a")),
     [role("r", rule("create", "secrets", ["apps"]))], "pass", ""),
    ("mint-update-only", "credential_minting", rb("x", "r", user("a")),
     [role("r", rule("update patch get", "secrets"))], "pass", ""),
    ("mint-edit-rolebinding", "credential_minting", rb("x", "edit", group("devs"), kind="ClusterRole"), [], "fail",
     "of ClusterRole system:aggregate-to-edit"),
    ("mint-aggregated", "credential_minting", crb("x", "parent", user("a")),
     [crole("parent", selectors=[{"matchLabels": {"acme/agg": "true"}}]),
      crole("child", rule("create", "serviceaccounts/token"), labels={"acme/agg": "true"})], "fail",
     "rules[0] of ClusterRole child (create on serviceaccounts/token)"),
    ("mint-system", "credential_minting", crb("x", "r", sa("token-controller", "kube-system")),
     [_roleset(rule("create", "secrets"))], "pass", ""),
    # workloads in kube-system
    ("ks-rolebinding", "kube_system_workloads", rb("x", "r", user("a"), namespace="kube-system"),
     [role("r", rule("create", "pods"), namespace="kube-system")], "fail",
     "User a can create pods in namespace kube-system"),
    ("ks-other-namespace", "kube_system_workloads", rb("x", "r", user("a")), [role("r", rule("create", "pods"))],
     "pass", ""),
    ("ks-crb-deployments", "kube_system_workloads", crb("x", "r", user("a")),
     [_roleset(rule("patch update", "deployments daemonsets", ["apps"]))], "fail",
     "can update deployments, daemonsets; patch deployments, daemonsets in every namespace, kube-system included"),
    ("ks-crb-jobs", "kube_system_workloads", crb("x", "r", user("a")),
     [_roleset(rule("create", "jobs cronjobs", ["batch"]))], "fail", "create jobs, cronjobs"),
    ("ks-named", "kube_system_workloads", rb("x", "r", user("a"), namespace="kube-system"),
     [role("r", rule("patch", "deployments", ["apps"], names="coredns"), namespace="kube-system")], "fail",
     "patch deployments named coredns"),
    ("ks-named-create-grants-nothing", "kube_system_workloads", rb("x", "r", user("a"), namespace="kube-system"),
     [role("r", rule("create", "pods", names="p"), namespace="kube-system")], "pass", ""),
    ("ks-wrong-group", "kube_system_workloads", crb("x", "r", user("a")),
     [_roleset(rule("create", "deployments"))], "pass", ""),
    ("ks-read-only", "kube_system_workloads", crb("x", "view", user("a")), [], "pass", ""),
    ("ks-scale-only", "kube_system_workloads", crb("x", "r", user("a")),
     [_roleset(rule("update patch", "deployments/scale", ["apps"]))], "pass", ""),
    ("ks-edit-cluster-wide", "kube_system_workloads", crb("x", "edit", group("devs")), [], "fail",
     "in every namespace, kube-system included"),
    ("ks-rolebinding-to-clusterrole", "kube_system_workloads",
     rb("x", "r", user("a"), kind="ClusterRole", namespace="kube-system"),
     [_roleset(rule("create", "pods"))], "fail", "in namespace kube-system"),
    ("ks-system-controller", "kube_system_workloads", crb("x", "r", sa("daemon-set-controller", "kube-system")),
     [_roleset(rule("create", "pods"))], "pass", ""),
    # webhook configurations
    ("wh-patch", "webhook_configuration_write", crb("x", "r", user("a")),
     [_roleset(rule("patch update", "validatingwebhookconfigurations", ADM))], "fail",
     "User a can update validatingwebhookconfigurations; patch validatingwebhookconfigurations"),
    ("wh-named", "webhook_configuration_write", crb("x", "r", user("a")),
     [_roleset(rule("update", "mutatingwebhookconfigurations", ADM, names="cert-manager-webhook"))], "fail",
     "update mutatingwebhookconfigurations named cert-manager-webhook"),
    ("wh-delete", "webhook_configuration_write", crb("x", "r", user("a")),
     [_roleset(rule("delete", "validatingwebhookconfigurations", ADM))], "fail", "delete"),
    ("wh-read-only", "webhook_configuration_write", crb("x", "r", user("a")),
     [_roleset(rule("get list watch", "validatingwebhookconfigurations mutatingwebhookconfigurations", ADM))],
     "pass", ""),
    ("wh-rolebinding", "webhook_configuration_write", rb("x", "r", user("a"), kind="ClusterRole"),
     [_roleset(rule("update", "validatingwebhookconfigurations", ADM))], "pass", ""),
    ("wh-wrong-group", "webhook_configuration_write", crb("x", "r", user("a")),
     [_roleset(rule("update", "validatingwebhookconfigurations"))], "pass", ""),
    ("wh-star", "webhook_configuration_write", crb("x", "r", user("a")), [_roleset(rule("*", "*", ["*"]))], "fail",
     "create validatingwebhookconfigurations, mutatingwebhookconfigurations"),
    # CSR approval
    ("csr-both", "csr_approval", crb("x", "r", user("a")),
     [_roleset(rule("update", "certificatesigningrequests/approval", CERTS),
               rule("approve", "signers", CERTS, names="kubernetes.io/kube-apiserver-client"))], "fail",
     "User a can approve certificate signing requests for signers named kubernetes.io/kube-apiserver-client"),
    ("csr-every-signer", "csr_approval", crb("x", "r", user("a")),
     [_roleset(rule("patch", "certificatesigningrequests/approval", CERTS), rule("approve", "signers", CERTS))],
     "fail", "for every signer"),
    ("csr-approval-only", "csr_approval", crb("x", "r", user("a")),
     [_roleset(rule("update", "certificatesigningrequests/approval", CERTS))], "pass", ""),
    ("csr-signers-only", "csr_approval", crb("x", "r", user("a")),
     [_roleset(rule("approve", "signers", CERTS, names="kubernetes.io/*"))], "pass", ""),
    ("csr-csr-not-approval", "csr_approval", crb("x", "r", user("a")),
     [_roleset(rule("update", "certificatesigningrequests", CERTS), rule("approve", "signers", CERTS))], "pass", ""),
    ("csr-rolebinding", "csr_approval", rb("x", "r", user("a"), kind="ClusterRole"),
     [_roleset(rule("update", "certificatesigningrequests/approval", CERTS), rule("approve", "signers", CERTS))],
     "pass", ""),
    ("csr-star", "csr_approval", crb("x", "cluster-admin", user("a")), [], "fail", "for every signer"),
    ("csr-controller", "csr_approval", crb("x", "r", sa("certificate-controller", "kube-system")),
     [_roleset(rule("update", "certificatesigningrequests/approval", CERTS), rule("approve", "signers", CERTS))],
     "pass", ""),
]


@pytest.mark.parametrize(("check", "binding", "others", "expected", "words"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_checks(check: str, binding: dict[str, Any], others: list[dict[str, Any]], expected: str,
                words: str) -> None:
    result = run(CHECKS[check], binding, *others)
    assert verdict(result) == expected, result
    if words:
        assert words in messages(result)


def test_findings_name_subject_binding_and_role_for_each_subject() -> None:
    raws = [crb("readers", "secret-reader", user("alice"), group("auditors"), sa("ci", "build"),
                group("system:masters")),
            crole("secret-reader", rule("get list", "secrets"))]
    result = run(rbac.secrets_read, *raws)
    assert [f.field for f in result] == ["subjects[0]", "subjects[1]", "subjects[2]"]
    for f, who in zip(result, ("User alice", "Group auditors", "ServiceAccount build/ci")):
        assert f.message.startswith(f"{who} can get, list Secrets in every namespace (cluster-wide): ")
        assert "ClusterRoleBinding readers binds ClusterRole secret-reader" in f.message


def test_workloads_unreadable_make_admin_separation_undetermined() -> None:
    result = run(rbac.admin_infra_separation, crb("x", "cluster-admin", sa("deployer", "shop")),
                 unavailable={"Pod": "pods is forbidden", "Deployment": "deployments is forbidden"})
    assert verdict(result) == "undetermined"
    assert "Pod: pods is forbidden" in result.reason


def test_public_grant_with_unreadable_role_is_undetermined() -> None:
    result = run(rbac.anonymous, crb("system:public-info-viewer", "system:public-info-viewer",
                                     group("system:unauthenticated")), unavailable={"ClusterRole": "forbidden"})
    assert verdict(result) == "undetermined" and "cannot be compared" in result.reason
    # any other binding to anonymous fails whatever the role holds
    result = run(rbac.anonymous, crb("x", "custom", user("system:anonymous")), unavailable={"ClusterRole": "forbidden"})
    assert verdict(result) == "fail" and "ClusterRoles cannot be read" in messages(result)


# ----------------------------------------------------------------- a fresh cluster
def _controller(name: str, *rules: dict[str, Any]) -> list[dict[str, Any]]:
    full = f"system:controller:{name}"
    return [crole(full, *rules), crb(full, full, sa(name, "kube-system"))]


def bootstrap_rbac() -> list[dict[str, Any]]:
    """A fresh kubeadm/kind cluster's RBAC (the parts that matter here)."""
    builtin = [r for name, r in rbac.BUILTIN_CLUSTER_ROLES.items()]
    boot_group = group("system:bootstrappers:kubeadm:default-node-token")
    rules_kcm = [rule("create patch update", "events", ["", "events.k8s.io"]),
                 rule("create delete get update", "secrets serviceaccounts"),
                 rule("list watch", "*", ["*"]), rule("create", "serviceaccounts/token"),
                 rule("create", "tokenreviews", ["authentication.k8s.io"])]
    return [
        *builtin,
        crole("system:kube-controller-manager", *rules_kcm),
        crole("system:kube-scheduler", rule("get list watch", "nodes pods"), rule("create", "pods/binding bindings")),
        crole("system:node", rule("get list watch", "configmaps secrets"), rule("create", "serviceaccounts/token")),
        crole("system:coredns", rule("list watch", "endpoints services pods namespaces"),
              rule("list watch", "endpointslices", ["discovery.k8s.io"])),
        crole("kubeadm:get-nodes", rule("get", "nodes")),
        crole("kindnet", rule("list watch patch", "nodes"), rule("list watch", "pods namespaces"),
              rule("list watch", "networkpolicies", ["networking.k8s.io"])),
        crole("local-path-provisioner-role", rule("get list watch", "nodes persistentvolumeclaims configmaps pods"),
              rule("get list watch create patch update delete", "persistentvolumes"),
              rule("create patch", "events"), rule("get list watch", "storageclasses", ["storage.k8s.io"])),
        # upstream ClusterRoleBindings
        crb("cluster-admin", "cluster-admin", group("system:masters")),
        crb("system:basic-user", "system:basic-user", group("system:authenticated")),
        crb("system:discovery", "system:discovery", group("system:authenticated")),
        crb("system:public-info-viewer", "system:public-info-viewer", group("system:authenticated"),
            group("system:unauthenticated")),
        crb("system:monitoring", "system:monitoring", group("system:monitoring")),
        crb("system:node-proxier", "system:node-proxier", user("system:kube-proxy")),
        crb("system:kube-controller-manager", "system:kube-controller-manager", user("system:kube-controller-manager")),
        crb("system:kube-scheduler", "system:kube-scheduler", user("system:kube-scheduler")),
        crb("system:volume-scheduler", "system:volume-scheduler", user("system:kube-scheduler")),
        crb("system:kube-dns", "system:kube-dns", sa("kube-dns", "kube-system")),
        crb("system:node", "system:node"),
        crb("system:service-account-issuer-discovery", "system:service-account-issuer-discovery",
            group("system:serviceaccounts")),
        *_controller("generic-garbage-collector", rule("delete get list patch update watch", "*", ["*"])),
        *_controller("namespace-controller", rule("delete deletecollection get list watch", "*", ["*"])),
        *_controller("resourcequota-controller", rule("list watch", "*", ["*"])),
        *_controller("horizontal-pod-autoscaler", rule("get update", "*/scale", ["*"]),
                     rule("get list watch", "*", ["custom.metrics.k8s.io"])),
        *_controller("clusterrole-aggregation-controller",
                     rule("escalate get list patch update watch", "clusterroles", [RBAC])),
        *_controller("service-account-controller", rule("create", "serviceaccounts")),
        # upstream Roles in kube-system and kube-public
        role("system:controller:token-cleaner", rule("delete get list watch", "secrets"), namespace="kube-system"),
        rb("system:controller:token-cleaner", "system:controller:token-cleaner", sa("token-cleaner", "kube-system"),
           namespace="kube-system"),
        role("system:controller:bootstrap-signer", rule("get list watch", "secrets"), namespace="kube-system"),
        rb("system:controller:bootstrap-signer", "system:controller:bootstrap-signer",
           sa("bootstrap-signer", "kube-system"), namespace="kube-system"),
        role("system:controller:bootstrap-signer", rule("get list watch", "configmaps"),
             rule("update", "configmaps", names="cluster-info"), namespace="kube-public"),
        rb("system:controller:bootstrap-signer", "system:controller:bootstrap-signer",
           sa("bootstrap-signer", "kube-system"), namespace="kube-public"),
        role("extension-apiserver-authentication-reader",
             rule("get list watch", "configmaps", names="extension-apiserver-authentication"), namespace="kube-system"),
        rb("system::extension-apiserver-authentication-reader", "extension-apiserver-authentication-reader",
           user("system:kube-controller-manager"), user("system:kube-scheduler"), namespace="kube-system"),
        # kubeadm
        crb("kubeadm:cluster-admins", "cluster-admin", group("kubeadm:cluster-admins")),
        crb("kubeadm:get-nodes", "kubeadm:get-nodes", boot_group),
        crb("kubeadm:kubelet-bootstrap", "system:node-bootstrapper", boot_group),
        crb("kubeadm:node-autoapprove-bootstrap", "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
            boot_group),
        crb("kubeadm:node-autoapprove-certificate-rotation",
            "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient", group("system:nodes")),
        crb("kubeadm:node-proxier", "system:node-proxier", sa("kube-proxy", "kube-system")),
        crb("system:coredns", "system:coredns", sa("coredns", "kube-system")),
        role("kubeadm:bootstrap-signer-clusterinfo", rule("get", "configmaps", names="cluster-info"),
             namespace="kube-public"),
        rb("kubeadm:bootstrap-signer-clusterinfo", "kubeadm:bootstrap-signer-clusterinfo", user("system:anonymous"),
           namespace="kube-public"),
        role("kubeadm:kubelet-config", rule("get", "configmaps", names="kubelet-config"), namespace="kube-system"),
        rb("kubeadm:kubelet-config", "kubeadm:kubelet-config", group("system:nodes"), boot_group,
           namespace="kube-system"),
        role("kube-proxy", rule("get", "configmaps", names="kube-proxy"), namespace="kube-system"),
        rb("kube-proxy", "kube-proxy", boot_group, namespace="kube-system"),
        # kind
        crb("kindnet", "kindnet", sa("kindnet", "kube-system")),
        crb("local-path-provisioner-bind", "local-path-provisioner-role",
            sa("local-path-provisioner-service-account", "local-path-storage")),
        # the workloads that run with these identities
        deployment("coredns", "kube-system", "coredns"),
        wrap_pod_spec("DaemonSet", {"serviceAccountName": "kube-proxy", "containers": [{"name": "p", "image": "x"}]},
                      name="kube-proxy", namespace="kube-system"),
        wrap_pod_spec("DaemonSet", {"serviceAccountName": "kindnet", "containers": [{"name": "c", "image": "x"}]},
                      name="kindnet", namespace="kube-system"),
        deployment("local-path-provisioner", "local-path-storage", "local-path-provisioner-service-account"),
    ]


LIVE_KINDS = ["Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding", *WORKLOAD_KINDS]


@pytest.mark.parametrize("mode", ["manifests", "live"])
@pytest.mark.parametrize("check", sorted(CHECKS))
def test_default_cluster_rbac_passes(check: str, mode: str) -> None:
    inv = inv_of(*bootstrap_rbac(), fetched=LIVE_KINDS if mode == "live" else ())
    results = {b.ref: CHECKS[check](b, inv) for b in bindings(inv)}
    assert len(results) == 34
    assert {ref: r for ref, r in results.items() if r != []} == {}


def test_default_cluster_with_one_mistake() -> None:
    raws = bootstrap_rbac() + [crb("dashboard", "cluster-admin", sa("kubernetes-dashboard", "kube-system"))]
    inv = inv_of(*raws)
    failed = {(name, b.ref) for b in bindings(inv) for name, check in CHECKS.items() if check(b, inv)}
    assert failed == {("cluster_admin", "ClusterRoleBinding/dashboard")}


# ----------------------------------------------------------------- our own scanner
def test_scanner_rbac_is_flagged_only_for_nodes_proxy() -> None:
    """deploy/scanner-rbac.yaml needs get nodes/proxy for the kubelets' /configz, and nothing flagged else."""
    path = ROOT / "deploy" / "scanner-rbac.yaml"
    objs = parse_text(path.read_text(), str(path))
    objs.append(K8sObject(crb("scanner-user", "k8shardening-scanner", user("jane")), Source("extra.yaml", 1)))
    inv = Inventory(objs)
    outcomes = {(name, b.ref): verdict(check(b, inv)) for b in bindings(inv) for name, check in CHECKS.items()}
    assert {k for k, v in outcomes.items() if v != "pass"} == {
        ("nodes_proxy", "ClusterRoleBinding/k8shardening-scanner"), ("nodes_proxy", "ClusterRoleBinding/scanner-user")}
    [f] = rbac.nodes_proxy(inv.get("ClusterRoleBinding", None, "scanner-user"), inv)
    assert f.message.startswith("User jane can get nodes/proxy, the kubelet API of every node")
    assert "ClusterRoleBinding scanner-user binds ClusterRole k8shardening-scanner" in f.message


# ----------------------------------------------------------------- the suite, end to end
MANIFEST = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: admins}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
  - {kind: User, apiGroup: rbac.authorization.k8s.io, name: alice}
  - {kind: Group, apiGroup: rbac.authorization.k8s.io, name: system:masters}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: pod-reader, namespace: shop}
rules:
  - {apiGroups: [""], resources: [pods, pods/log], verbs: [get, list, watch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: readers, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-reader}
subjects:
  - {kind: ServiceAccount, name: monitor}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: dev-edit, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
subjects:
  - {kind: Group, apiGroup: rbac.authorization.k8s.io, name: shop-devs}
"""


def test_suite_on_a_small_rbac_manifest(pytester: pytest.Pytester) -> None:
    f = pytester.makefile(".yaml", rbac=MANIFEST)
    out = pytester.path / "r.json"
    result = pytester.runpytest("--k8s-manifests", str(f), "-m", "nsa", "-k", "rbac", "-v",
                                "--k8s-report-json", str(out))
    text = result.stdout.str()
    assert "test_no_cluster_admin[ClusterRoleBinding/admins] FAILED" in text
    assert "test_no_cluster_admin[shop/RoleBinding/readers] PASSED" in text
    assert "test_no_secrets_read[shop/RoleBinding/dev-edit] FAILED" in text
    assert "test_nothing_bound_to_anonymous[shop/RoleBinding/dev-edit] PASSED" in text
    result.stdout.fnmatch_lines([
        "nsa.rbac.cluster-admin [[]high] Only administrators hold cluster-admin or full wildcards",
        f"ClusterRoleBinding admins  ({f}:1)",
        "  - User alice has full control of the cluster (every verb on every resource): ClusterRoleBinding admins "
        "binds ClusterRole cluster-admin (built-in), rules[[]0] (* on * in apiGroups *)  (*:6)",
        "How to fix: *",
    ])
    assert "Group system:masters" not in text
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    doc = json.loads(out.read_text())
    failed = {(r["control"], r["resource"]["name"]) for r in doc["results"] if r["outcome"] == "failed"}
    assert failed == {
        ("nsa.rbac.cluster-admin", "admins"), ("nsa.rbac.wildcards", "admins"),
        ("nsa.rbac.secrets-read", "admins"), ("nsa.rbac.exec-attach", "admins"),
        ("nsa.rbac.escalate-bind-impersonate", "admins"), ("nsa.rbac.nodes-proxy", "admins"),
        ("nsa.rbac.secrets-read", "dev-edit"), ("nsa.rbac.exec-attach", "dev-edit"),
        ("nsa.rbac.escalate-bind-impersonate", "dev-edit"),
        ("nsa.rbac.credential-minting", "admins"), ("nsa.rbac.credential-minting", "dev-edit"),
        ("nsa.rbac.kube-system-workloads", "admins"), ("nsa.rbac.webhook-configurations", "admins"),
        ("nsa.rbac.csr-approval", "admins"),
    }
    entry = next(r for r in doc["results"] if r["control"] == "nsa.rbac.secrets-read" and r["outcome"] == "failed"
                 and r["resource"]["name"] == "dev-edit")
    assert entry["severity"] == "high" and entry["category"] == "authn_authz"
    assert entry["references"]["kubescape"] == ["C-0015", "C-0186"] and entry["references"]["cis"] == ["5.1.2"]
    assert entry["findings"] == [{
        "message": "Group shop-devs can get, list, watch Secrets in namespace shop: RoleBinding shop/dev-edit binds "
                   "ClusterRole edit (built-in), rules[0] of ClusterRole system:aggregate-to-edit (get, list, watch "
                   "on pods/attach, pods/exec, pods/portforward, pods/proxy, secrets, services/proxy)",
        "field": "subjects[0]", "line": MANIFEST.splitlines().index("subjects:", 20) + 2,  # the subject's line
        "references": entry["references"]}]  # the control's ids: it does not split them
    controls = {r["control"] for r in doc["results"]}
    assert {"nsa.rbac.anonymous", "nsa.rbac.authenticated", "nsa.rbac.default-service-account",
            "nsa.rbac.admin-infra-separation"} <= controls
    assert len(doc["results"]) == 43  # fourteen controls on three bindings, one on the Role
    [unused] = [r for r in doc["results"] if r["control"] == "nsa.rbac.unused-roles"]
    assert unused["outcome"] == "skipped" and "application manifests, not a cluster" in json.dumps(unused)


def test_suite_without_bindings_skips_with_reason(pytester: pytest.Pytester) -> None:
    f = pytester.makefile(".yaml", app="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\n")
    result = pytester.runpytest("--k8s-manifests", str(f), "-k", "rbac", "-rs")
    result.assert_outcomes(skipped=15)
    result.stdout.fnmatch_lines(["*no RoleBinding or ClusterRoleBinding among the inputs: give the RBAC manifests, "
                                 "or scan a live cluster*"])


def test_suite_markers_select_controls(pytester: pytest.Pytester) -> None:
    f = pytester.makefile(".yaml", rbac=MANIFEST)
    out = pytester.runpytest("--k8s-manifests", str(f), "-m", "authn_authz and critical", "--collect-only", "-q",
                             "--strict-markers").stdout.str()
    assert "test_nothing_bound_to_anonymous[ClusterRoleBinding/admins]" in out
    assert "test_no_secrets_read" not in out


# ----------------------------------------------------------------- roles bound nowhere
CLUSTER = ["Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"]
UNUSED = [
    # id, objects (the first is the role judged), inventory kwargs, expected, words
    ("role-bound", [role("r"), rb("b", "r", user("a"))], {"fetched": CLUSTER}, "pass", ""),
    ("role-unbound", [role("r"), rb("b", "other", user("a"))], {"fetched": CLUSTER}, "fail",
     "Role shop/r is bound by no RoleBinding in namespace shop: unused"),
    ("role-bound-in-other-namespace", [role("r"), rb("b", "r", user("a"), namespace="web")], {"fetched": CLUSTER},
     "fail", "Role shop/r is bound by no RoleBinding"),
    ("role-name-clash-with-clusterrole", [role("r"), rb("b", "r", user("a"), kind="ClusterRole")],
     {"fetched": CLUSTER}, "fail", "unused"),
    ("clusterrole-by-crb", [crole("c"), crb("b", "c", user("a"))], {"fetched": CLUSTER}, "pass", ""),
    ("clusterrole-by-rolebinding", [crole("c"), rb("b", "c", user("a"), kind="ClusterRole")], {"fetched": CLUSTER},
     "pass", ""),
    ("clusterrole-unbound", [crole("c")], {"fetched": CLUSTER}, "fail",
     "ClusterRole c is bound by no RoleBinding or ClusterRoleBinding in the cluster and aggregated into no other "
     "ClusterRole"),
    ("clusterrole-aggregated", [crole("c", labels={"acme/agg": "true"}),
                                crole("p", selectors=[{"matchLabels": {"acme/agg": "true"}}])],
     {"fetched": CLUSTER}, "pass", ""),
    ("clusterrole-aggregated-into-builtin", [crole("c", labels={"rbac.authorization.k8s.io/aggregate-to-view": "true"}),
                                             rbac.BUILTIN_CLUSTER_ROLES["view"]], {"fetched": CLUSTER}, "pass", ""),
    ("clusterrole-label-not-selected", [crole("c", labels={"acme/agg": "false"}),
                                        crole("p", selectors=[{"matchLabels": {"acme/agg": "true"}}])],
     {"fetched": CLUSTER}, "fail", "unused"),
    ("builtin-view", [rbac.BUILTIN_CLUSTER_ROLES["view"]], {"fetched": CLUSTER}, "n/a", "default roles"),
    ("system-role", [role("system:controller:x", namespace="kube-system")], {"fetched": CLUSTER}, "n/a",
     "default roles"),
    ("manifests", [role("r")], {}, "undetermined", "application manifests, not a cluster"),
    ("bindings-forbidden", [role("r")], {"fetched": CLUSTER, "unavailable": {"RoleBinding": "forbidden"}},
     "undetermined", "RoleBinding: forbidden"),
    ("crb-forbidden-does-not-matter-for-role", [role("r"), rb("b", "r", user("a"))],
     {"fetched": CLUSTER, "unavailable": {"ClusterRoleBinding": "forbidden"}}, "pass", ""),
    ("crb-forbidden-clusterrole", [crole("c")], {"fetched": CLUSTER, "unavailable": {"ClusterRoleBinding": "x"}},
     "undetermined", "ClusterRoleBinding: x"),
]


@pytest.mark.parametrize(("raws", "kw", "expected", "words"), [u[1:] for u in UNUSED], ids=[u[0] for u in UNUSED])
def test_unused_roles(raws: list[dict[str, Any]], kw: dict[str, Any], expected: str, words: str) -> None:
    inv = inv_of(*raws, **kw)
    first = inv.objects[0]
    result = rbac.unused_role(first, inv)
    assert verdict(result) == expected, result
    if words:
        assert words in (messages(result) if isinstance(result, list) else result.reason)


def test_unused_roles_on_kubectl_output_are_judged() -> None:
    """Objects read back from an API server (with a uid) are a cluster, even without a live scan."""
    raws = [{**role("r"), "metadata": {"name": "r", "namespace": "shop", "uid": "1"}},
            {**crb("b", "view", user("a")), "metadata": {"name": "b", "uid": "2"}}]
    inv = inv_of(*raws)
    assert verdict(rbac.unused_role(inv.objects[0], inv)) == "fail"


def test_default_cluster_roles_are_all_used_or_defaults() -> None:
    inv = inv_of(*bootstrap_rbac(), fetched=LIVE_KINDS)
    verdicts = {o.ref: verdict(rbac.unused_role(o, inv)) for o in inv.of_kind("Role", "ClusterRole")}
    assert {ref for ref, v in verdicts.items() if v == "fail"} == set()
    assert verdicts["ClusterRole/kindnet"] == "pass"
