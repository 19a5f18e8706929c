"""Table-driven tests of the network-separation checks, and the network suite run by pytester."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_k8shardening.checks import NotApplicable, Undetermined, network
from pytest_k8shardening.model import Inventory, K8sObject, Namespace, Source

from .k8s import inventory, obj, wrap_pod_spec

POD = {"containers": [{"name": "c", "image": "x"}]}
DENY_ALL = {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
DNS = {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}
FORBIDDEN = '403 networkpolicies.networking.k8s.io is forbidden: User "scanner" cannot list resource'


def verdict(result: Any) -> str:
    if isinstance(result, NotApplicable):
        return "n/a"
    if isinstance(result, Undetermined):
        return "undetermined"
    return "fail" if result else "pass"


def netpol(spec: dict[str, Any], name: str = "p", namespace: str = "shop",
           api_version: str = "networking.k8s.io/v1", kind: str = "NetworkPolicy") -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": namespace},
            "spec": spec}


def app(name: str, labels: dict[str, str] | None, kind: str = "Deployment", namespace: str = "shop",
        **spec: Any) -> dict[str, Any]:
    return wrap_pod_spec(kind, {**POD, **spec}, {"labels": labels} if labels is not None else {}, name=name,
                         namespace=namespace)


def ns(name: str = "shop") -> Namespace:
    return Namespace(name, None)


def live(*raws: dict[str, Any], forbidden: tuple[str, ...] = ()) -> Inventory:
    """An inventory that reads like a live scan: kinds are fetched on demand, some answer 403."""
    def fetch(kind: str, _inv: Inventory) -> tuple[list[dict[str, Any]], str | None]:
        if kind in forbidden:
            return [], FORBIDDEN
        return [r for r in raws if r["kind"] == kind], None
    return Inventory([], fetch=fetch)


# ------------------------------------------------------------------ label selectors
LABELS = {"app": "api", "tier": "web", "env": "prod"}
SELECTORS = [
    ("none", None, True),
    ("empty", {}, True),
    ("empty-match-labels", {"matchLabels": {}}, True),
    ("labels-match", {"matchLabels": {"app": "api"}}, True),
    ("labels-all-must-match", {"matchLabels": {"app": "api", "tier": "db"}}, False),
    ("labels-missing-key", {"matchLabels": {"team": "a"}}, False),
    ("empty-expressions-list", {"matchLabels": {"app": "api"}, "matchExpressions": []}, True),
    ("in-hit", {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web", "api"]}]}, True),
    ("in-miss", {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["db"]}]}, False),
    ("in-absent-key", {"matchExpressions": [{"key": "team", "operator": "In", "values": ["a"]}]}, False),
    ("notin-hit", {"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]}, False),
    ("notin-other", {"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["dev"]}]}, True),
    ("notin-absent-key", {"matchExpressions": [{"key": "team", "operator": "NotIn", "values": ["a"]}]}, True),
    ("exists", {"matchExpressions": [{"key": "app", "operator": "Exists"}]}, True),
    ("exists-absent", {"matchExpressions": [{"key": "team", "operator": "Exists"}]}, False),
    ("does-not-exist", {"matchExpressions": [{"key": "team", "operator": "DoesNotExist"}]}, True),
    ("does-not-exist-present", {"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}, False),
    ("labels-and-expressions", {"matchLabels": {"app": "api"},
                                "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod"]},
                                                     {"key": "legacy", "operator": "DoesNotExist"}]}, True),
    ("labels-ok-expression-fails", {"matchLabels": {"app": "api"},
                                    "matchExpressions": [{"key": "env", "operator": "In", "values": ["dev"]}]}, False),
]


@pytest.mark.parametrize(("selector", "expected"), [c[1:] for c in SELECTORS], ids=[c[0] for c in SELECTORS])
def test_selector_matches(selector: Any, expected: bool) -> None:
    assert network.selector_matches(selector, LABELS) is expected


def test_selector_values_must_be_strings() -> None:
    """``version: 2`` is a number: the API server does not decode it into a label value (selectors.py)."""
    with pytest.raises(network.InvalidSelector, match="must be a string"):
        network.selector_matches({"matchLabels": {"version": 2}}, {"version": "2"})
    assert network.selector_matches({"matchLabels": {"version": "2"}}, {"version": "2"})


@pytest.mark.parametrize("selector", [
    {"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]},
    {"matchExpressions": [{"key": "a", "operator": "In", "values": []}]},
    {"matchExpressions": [{"key": "a", "operator": "NotIn"}]},
    {"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]},
    {"matchExpressions": [{"operator": "Exists"}]},
    {"matchLabels": ["app"]},
    "app=api",
], ids=["unknown-operator", "in-without-values", "notin-without-values", "exists-with-values", "no-key",
        "labels-not-mapping", "string"])
def test_invalid_selectors_raise(selector: Any) -> None:
    with pytest.raises(network.InvalidSelector):
        network.selector_matches(selector, LABELS)


def test_describe_selector() -> None:
    assert network.describe_selector({}) == "{} (every pod)"
    assert network.describe_selector({"matchLabels": {"app": "api"}, "matchExpressions": [
        {"key": "tier", "operator": "In", "values": ["web", "api"]}, {"key": "legacy", "operator": "DoesNotExist"}]}) \
        == "app=api, tier in (web,api), !legacy"


# ------------------------------------------------------------------ policy types, as the API defaults them
@pytest.mark.parametrize(("spec", "types", "defaulted"), [
    ({"podSelector": {}}, ("Ingress",), True),
    ({"podSelector": {}, "egress": [{}]}, ("Ingress", "Egress"), True),
    ({"podSelector": {}, "egress": []}, ("Ingress",), True),
    ({"podSelector": {}, "policyTypes": []}, ("Ingress",), True),
    ({"podSelector": {}, "policyTypes": ["Egress"]}, ("Egress",), False),
    ({"podSelector": {}, "policyTypes": ["Egress"], "ingress": [{}]}, ("Egress",), False),
], ids=["no-types", "no-types-with-egress-rules", "no-types-empty-egress", "empty-types", "egress-only",
        "egress-only-ignores-ingress-rules"])
def test_policy_types_default(spec: dict[str, Any], types: tuple[str, ...], defaulted: bool) -> None:
    p = network.Policy.of(K8sObject(netpol(spec), Source("np.yaml", 1)))
    assert (p.types, p.types_defaulted) == (types, defaulted)


# ------------------------------------------------------------------ policy exists
@pytest.mark.parametrize(("raws", "expected"), [
    ((), "fail"),
    ((netpol({"podSelector": {}}),), "pass"),
    ((netpol({"podSelector": {}}, namespace="other"),), "fail"),
    ((netpol({"podSelector": {}}, api_version="extensions/v1beta1"),), "pass"),
    ((netpol({"selector": "all()"}, api_version="projectcalico.org/v3"),), "pass"),
    ((netpol({"endpointSelector": {}}, kind="CiliumNetworkPolicy", api_version="cilium.io/v2"),), "pass"),
], ids=["none", "one", "other-namespace", "legacy-extensions-group", "calico-only", "cilium-only"])
def test_network_policy_exists(raws: tuple[dict[str, Any], ...], expected: str) -> None:
    assert verdict(network.network_policy_exists(ns(), inventory(*raws))) == expected


def test_policy_exists_message_and_unavailable() -> None:
    [f] = network.network_policy_exists(ns(), inventory())
    assert f.message.startswith("namespace shop has no NetworkPolicy")
    result = network.network_policy_exists(ns(), live(forbidden=("NetworkPolicy",)))
    assert isinstance(result, Undetermined) and "NetworkPolicies cannot be read: 403" in result.reason
    assert network.network_policy_exists(ns(), live(netpol(DENY_ALL))) == []
    assert verdict(network.network_policy_exists(ns(), live())) == "fail"


# ------------------------------------------------------------------ default deny
DEFAULT_DENY = [
    ("one-policy-both", [DENY_ALL], "pass", ""),
    ("split-policies", [{"podSelector": {}, "policyTypes": ["Ingress"]},
                        {"podSelector": {}, "policyTypes": ["Egress"]}], "pass", ""),
    ("split-egress-without-types", [{"podSelector": {}, "policyTypes": ["Ingress"]}, {"podSelector": {}}],
     "fail", "no policyTypes, which the API defaults to [Ingress]"),
    ("no-types-is-ingress-only", [{"podSelector": {}}], "fail", "denies all egress"),
    ("no-pod-selector-means-all", [{"policyTypes": ["Ingress", "Egress"]}], "pass", ""),
    ("match-labels-empty-means-all", [{"podSelector": {"matchLabels": {}}, "policyTypes": ["Ingress", "Egress"]}],
     "pass", ""),
    ("selects-some-pods", [{"podSelector": {"matchLabels": {"app": "api"}}, "policyTypes": ["Ingress", "Egress"]}],
     "fail", "denies all ingress"),
    ("egress-with-dns-rule", [{"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "egress": [DNS]}],
     "fail", "allows 1 egress rule(s)"),
    ("ingress-allow-all", [{"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "ingress": [{}]}],
     "fail", "denies all ingress"),
    ("deny-plus-allow-policies", [DENY_ALL, {"podSelector": {"matchLabels": {"app": "api"}},
                                             "ingress": [{"from": [{"podSelector": {}}]}]}], "pass", ""),
    ("egress-types-only-listed", [{"podSelector": {}, "policyTypes": ["Egress"]}], "fail",
     "lists policyTypes [Egress] only"),
    ("invalid-selector-ignored", [{"podSelector": {"matchExpressions": [{"key": "a", "operator": "Bad"}]},
                                   "policyTypes": ["Ingress", "Egress"]}], "fail", "the API server would reject"),
]


@pytest.mark.parametrize(("specs", "expected", "text"), [c[1:] for c in DEFAULT_DENY],
                         ids=[c[0] for c in DEFAULT_DENY])
def test_default_deny(specs: list[dict[str, Any]], expected: str, text: str) -> None:
    inv = inventory(*(netpol(s, name=f"p{i}") for i, s in enumerate(specs)))
    result = network.default_deny(ns(), inv)
    assert verdict(result) == expected
    if text:
        assert any(text in f.message for f in result), [f.message for f in result]


def test_default_deny_reports_each_missing_direction() -> None:
    result = network.default_deny(ns(), inventory())
    assert [f.message.split(" by default")[0] for f in result] == [
        "no NetworkPolicy in namespace shop denies all ingress", "no NetworkPolicy in namespace shop denies all egress"]


def test_default_deny_other_namespace_and_unavailable() -> None:
    assert verdict(network.default_deny(ns(), inventory(netpol(DENY_ALL, namespace="other")))) == "fail"
    assert verdict(network.default_deny(ns(), live(netpol(DENY_ALL), forbidden=("NetworkPolicy",)))) == \
        "undetermined"
    assert network.default_deny(ns(), live(netpol(DENY_ALL))) == []
    cilium = netpol({}, kind="CiliumNetworkPolicy", api_version="cilium.io/v2")
    assert verdict(network.default_deny(ns(), inventory(cilium))) == "undetermined"


# ------------------------------------------------------------------ workload isolation
ISOLATION = [
    ("deny-all", {"app": "api"}, [DENY_ALL], "pass", []),
    ("labels-both", {"app": "api"}, [{"podSelector": {"matchLabels": {"app": "api"}},
                                      "policyTypes": ["Ingress", "Egress"]}], "pass", []),
    ("no-types-ingress-only", {"app": "api"}, [{"podSelector": {"matchLabels": {"app": "api"}}}], "fail",
     ["Egress"]),
    ("no-types-with-egress-rules", {"app": "api"}, [{"podSelector": {"matchLabels": {"app": "api"}},
                                                     "egress": [DNS]}], "pass", []),
    ("split-by-direction", {"app": "api", "tier": "web"},
     [{"podSelector": {"matchLabels": {"app": "api"}}, "policyTypes": ["Ingress"]},
      {"podSelector": {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web"]}]},
       "policyTypes": ["Egress"]}], "pass", []),
    ("expression-notin-excludes", {"app": "api", "tier": "web"},
     [{"podSelector": {"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["web"]}]},
       "policyTypes": ["Ingress", "Egress"]}], "fail", ["Ingress", "Egress"]),
    ("expression-exists", {"app": "api"},
     [{"podSelector": {"matchExpressions": [{"key": "app", "operator": "Exists"}]},
       "policyTypes": ["Ingress", "Egress"]}], "pass", []),
    ("other-labels", {"app": "api"}, [{"podSelector": {"matchLabels": {"app": "db"}},
                                       "policyTypes": ["Ingress", "Egress"]}], "fail", ["Ingress", "Egress"]),
    ("no-labels-only-empty-selector", None, [DENY_ALL], "pass", []),
    ("no-labels", None, [{"podSelector": {"matchLabels": {"app": "api"}}, "policyTypes": ["Ingress"]}], "fail",
     ["Ingress", "Egress"]),
    ("no-policies", {"app": "api"}, [], "fail", ["Ingress", "Egress"]),
    # invalid podSelectors (selectors.py) select no pod, even where a lenient reading would select this one
    ("invalid-notin-without-values", {"app": "api"},
     [{"podSelector": {"matchExpressions": [{"key": "tier", "operator": "NotIn"}]},
       "policyTypes": ["Ingress", "Egress"]}], "fail", ["Ingress", "Egress"]),
    ("invalid-exists-with-values", {"app": "api"},
     [{"podSelector": {"matchExpressions": [{"key": "app", "operator": "Exists", "values": ["api"]}]},
       "policyTypes": ["Ingress", "Egress"]}], "fail", ["Ingress", "Egress"]),
    ("invalid-key", {"app": "api"},
     [{"podSelector": {"matchExpressions": [{"key": "bad key", "operator": "DoesNotExist"}]},
       "policyTypes": ["Ingress", "Egress"]}], "fail", ["Ingress", "Egress"]),
]


@pytest.mark.parametrize(("labels", "specs", "expected", "missing"), [c[1:] for c in ISOLATION],
                         ids=[c[0] for c in ISOLATION])
def test_workload_isolated(labels: dict[str, str] | None, specs: list[dict[str, Any]], expected: str,
                           missing: list[str]) -> None:
    inv = inventory(app("api", labels), *(netpol(s, name=f"p{i}") for i, s in enumerate(specs)))
    result = network.workload_isolated(inv.all_workloads()[0], inv)
    assert verdict(result) == expected
    if expected == "fail":
        assert [d for d in ("Ingress", "Egress") if any(f"for {d}," in f.message for f in result)] == missing


@pytest.mark.parametrize(("kind", "path"), [
    ("Deployment", "spec.template.metadata.labels"), ("Pod", "metadata.labels"),
    ("CronJob", "spec.jobTemplate.spec.template.metadata.labels"), ("StatefulSet", "spec.template.metadata.labels"),
])
def test_workload_isolated_reads_pod_template_labels(kind: str, path: str) -> None:
    policy = netpol({"podSelector": {"matchLabels": {"app": "api"}}, "policyTypes": ["Ingress", "Egress"]})
    inv = inventory(app("api", {"app": "api"}, kind=kind), policy)
    assert network.workload_isolated(inv.all_workloads()[0], inv) == []
    inv = inventory(app("api", {"app": "other"}, kind=kind), policy)
    result = network.workload_isolated(inv.all_workloads()[0], inv)
    assert result and all(f.field == path for f in result)
    assert "selects its pods (app=other) for Ingress" in result[0].message


def test_workload_isolated_other_namespace_host_network_and_unavailable() -> None:
    inv = inventory(app("api", {"app": "api"}), netpol(DENY_ALL, namespace="other"))
    assert verdict(network.workload_isolated(inv.all_workloads()[0], inv)) == "fail"
    inv = inventory(app("agent", {"app": "agent"}, kind="DaemonSet", hostNetwork=True), netpol(DENY_ALL))
    [f] = network.workload_isolated(inv.all_workloads()[0], inv)
    assert "hostNetwork=true" in f.message and f.field == "spec.template.spec.hostNetwork"
    inv = live(app("api", {"app": "api"}), forbidden=("NetworkPolicy",))
    assert verdict(network.workload_isolated(inv.all_workloads()[0], inv)) == "undetermined"


# ------------------------------------------------------------------ LimitRange
def limit_range(*items: dict[str, Any], name: str = "defaults") -> dict[str, Any]:
    return obj("LimitRange", name, "shop", spec={"limits": list(items)})


FULL = {"type": "Container", "default": {"cpu": "500m", "memory": "256Mi"},
        "defaultRequest": {"cpu": "100m", "memory": "128Mi"}}
LIMIT_RANGES = [
    ("none", [], "fail", "has no LimitRange"),
    ("full", [limit_range(FULL)], "pass", ""),
    ("no-memory", [limit_range({"type": "Container", "default": {"cpu": "1"}, "defaultRequest": {"cpu": "1"}})],
     "fail", "set no default.memory, defaultRequest.memory"),
    ("no-default-request", [limit_range({"type": "Container", "default": {"cpu": "1", "memory": "1Gi"}})],
     "pass", ""),
    ("max-stands-in", [limit_range({"type": "Container", "max": {"cpu": "2", "memory": "2Gi"}})], "pass", ""),
    ("min-for-request-only", [limit_range({"type": "Container", "min": {"cpu": "1", "memory": "1Gi"}})], "fail",
     "set no default.cpu, default.memory"),
    ("request-only", [limit_range({"type": "Container", "defaultRequest": {"cpu": "1", "memory": "1Gi"}})],
     "fail", "set no default.cpu, default.memory"),
    ("pod-type-only", [limit_range({"type": "Pod", "max": {"cpu": "2", "memory": "2Gi"}})], "fail",
     "has no item of type Container"),
    ("split-across-two", [limit_range({"type": "Container", "default": {"cpu": "1"}}, name="cpu"),
                          limit_range({"type": "Container", "default": {"memory": "1Gi"}}, name="mem")], "pass", ""),
    ("empty-value", [limit_range({"type": "Container", "default": {"cpu": "1", "memory": ""}})], "fail",
     "default.memory"),
    ("other-namespace", [{**limit_range(FULL), "metadata": {"name": "d", "namespace": "other"}}], "fail",
     "has no LimitRange"),
]


@pytest.mark.parametrize(("raws", "expected", "text"), [c[1:] for c in LIMIT_RANGES],
                         ids=[c[0] for c in LIMIT_RANGES])
def test_limit_range_defaults(raws: list[dict[str, Any]], expected: str, text: str) -> None:
    result = network.limit_range_defaults(ns(), inventory(*raws))
    assert verdict(result) == expected
    if text:
        assert text in result[0].message, result[0].message


def test_limit_range_unavailable() -> None:
    result = network.limit_range_defaults(ns(), live(forbidden=("LimitRange",)))
    assert isinstance(result, Undetermined) and "LimitRanges cannot be read" in result.reason


# ------------------------------------------------------------------ ResourceQuota
def quota(hard: dict[str, Any], name: str = "q", **spec: Any) -> dict[str, Any]:
    return obj("ResourceQuota", name, "shop", spec={"hard": hard, **spec})


ALL_KEYS = {"requests.cpu": "1", "requests.memory": "1Gi", "limits.cpu": "2", "limits.memory": "2Gi"}
QUOTAS = [
    ("none", [], "fail", "has no ResourceQuota"),
    ("full", [quota(ALL_KEYS)], "pass", ""),
    ("short-forms", [quota({"cpu": "1", "memory": "1Gi", "limits.cpu": "2", "limits.memory": "2Gi"})], "pass", ""),
    ("no-limits", [quota({"requests.cpu": "1", "requests.memory": "1Gi"})], "fail",
     "sets no limits.cpu, limits.memory"),
    ("pods-only", [quota({"pods": "10"})], "fail", "requests.cpu, requests.memory, limits.cpu, limits.memory"),
    ("split-across-two", [quota({"cpu": "1", "limits.cpu": "2"}, name="cpu"),
                          quota({"memory": "1Gi", "limits.memory": "2Gi"}, name="mem")], "pass", ""),
    ("scoped-does-not-count", [quota(ALL_KEYS, scopes=["NotBestEffort"])], "fail", "has scopes"),
    ("scope-selector-does-not-count", [quota(ALL_KEYS, scopeSelector={"matchExpressions": [
        {"scopeName": "PriorityClass", "operator": "In", "values": ["high"]}]})], "fail", "no unscoped"),
]


@pytest.mark.parametrize(("raws", "expected", "text"), [c[1:] for c in QUOTAS], ids=[c[0] for c in QUOTAS])
def test_resource_quota(raws: list[dict[str, Any]], expected: str, text: str) -> None:
    result = network.resource_quota(ns(), inventory(*raws))
    assert verdict(result) == expected
    if text:
        assert text in result[0].message, result[0].message


def test_resource_quota_unavailable() -> None:
    assert verdict(network.resource_quota(ns(), live(forbidden=("ResourceQuota",)))) == "undetermined"
    assert network.resource_quota(ns(), live(quota(ALL_KEYS))) == []


# ------------------------------------------------------------------ cloud metadata
def egress_policy(*rules: dict[str, Any], selector: dict[str, Any] | None = None,
                  name: str = "allow") -> dict[str, Any]:
    return netpol({"podSelector": selector or {}, "policyTypes": ["Egress"], "egress": list(rules)}, name=name)


EXCEPT_METADATA = {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}}]}
METADATA = [
    ("no-policies", [], "fail", "restricts egress"),
    ("ingress-only", [netpol({"podSelector": {}})], "fail", "restricts egress"),
    ("default-deny-egress", [netpol(DENY_ALL)], "pass", ""),
    ("deny-plus-dns-without-to", [netpol(DENY_ALL), egress_policy(DNS)], "pass", ""),
    ("allow-all-rule", [netpol(DENY_ALL), egress_policy({})], "fail", "has no `to`"),
    ("https-only-without-to", [netpol(DENY_ALL), egress_policy({"ports": [{"port": 443}]})], "pass", ""),
    ("port-range-covers-80", [netpol(DENY_ALL), egress_policy({"ports": [{"port": 1, "endPort": 1024}]})], "fail",
     "on TCP 80"),
    ("port-80-as-string", [netpol(DENY_ALL), egress_policy({"ports": [{"port": "80"}]})], "fail", "no `to`"),
    ("named-port", [netpol(DENY_ALL), egress_policy({"ports": [{"port": "http"}]})], "pass", ""),
    ("udp-80", [netpol(DENY_ALL), egress_policy({"ports": [{"port": 80, "protocol": "UDP"}]})], "pass", ""),
    ("protocol-only", [netpol(DENY_ALL), egress_policy({"ports": [{"protocol": "TCP"}]})], "fail", "no `to`"),
    ("ipblock-except-metadata", [netpol(DENY_ALL), egress_policy(EXCEPT_METADATA)], "pass", ""),
    ("ipblock-except-link-local", [netpol(DENY_ALL), egress_policy(
        {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.0.0/16"]}}]})], "pass", ""),
    ("ipblock-except-private-only", [netpol(DENY_ALL), egress_policy(
        {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8", "192.168.0.0/16"]}}]})], "fail",
     "does not cover it"),
    ("ipblock-metadata-itself", [netpol(DENY_ALL), egress_policy(
        {"to": [{"ipBlock": {"cidr": "169.254.169.254/32"}}]})], "fail", "contains 169.254.169.254"),
    ("ipblock-elsewhere", [netpol(DENY_ALL), egress_policy({"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]})],
     "pass", ""),
    ("ipblock-ipv6-all", [netpol(DENY_ALL), egress_policy({"to": [{"ipBlock": {"cidr": "::/0"}}]})], "pass", ""),
    ("second-peer-opens", [netpol(DENY_ALL), egress_policy({"to": [{"podSelector": {}},
                                                                   {"ipBlock": {"cidr": "169.254.0.0/16"}}]})],
     "fail", "to[1].ipBlock.cidr 169.254.0.0/16"),
    ("selector-peers-only", [netpol(DENY_ALL), egress_policy({"to": [{"namespaceSelector": {}}]})], "pass", ""),
    ("egress-rules-of-ingress-only-policy-ignored", [netpol(DENY_ALL), netpol(
        {"podSelector": {}, "policyTypes": ["Ingress"], "egress": [{}]}, name="in")], "pass", ""),
    ("no-types-with-egress-rule-counts", [netpol(DENY_ALL), netpol({"podSelector": {}, "egress": [{}]}, name="x")],
     "fail", "has no `to`"),
    ("opened-for-some-pods-only", [netpol(DENY_ALL), egress_policy({}, selector={"matchLabels": {"app": "x"}})],
     "fail", "selecting app=x"),
    ("ipblock-bad-cidr-ignored", [netpol(DENY_ALL), egress_policy({"to": [{"ipBlock": {"cidr": "nonsense"}}]})],
     "pass", ""),
]


@pytest.mark.parametrize(("raws", "expected", "text"), [c[1:] for c in METADATA], ids=[c[0] for c in METADATA])
def test_cloud_metadata_blocked(raws: list[dict[str, Any]], expected: str, text: str) -> None:
    result = network.cloud_metadata_blocked(ns(), inventory(app("api", {"app": "api"}), *raws))
    assert verdict(result) == expected
    if text:
        assert any(text in f.message for f in result), [f.message for f in result]


def test_cloud_metadata_finding_names_policy_and_rule() -> None:
    inv = inventory(netpol(DENY_ALL), egress_policy(DNS, {}, name="wide-open"))
    [f] = network.cloud_metadata_blocked(ns(), inv)
    assert f.message.startswith("NetworkPolicy wide-open (test.yaml:2), selecting {} (every pod), allows egress "
                                "to 169.254.169.254: spec.egress[1] has no `to`")
    assert f.field == "NetworkPolicy/wide-open spec.egress[1]"


def test_cloud_metadata_coverage_without_default_deny() -> None:
    restrict_api = egress_policy(DNS, selector={"matchLabels": {"app": "api"}})
    inv = inventory(app("api", {"app": "api"}), app("db", {"app": "db"}, kind="StatefulSet"), restrict_api)
    [f] = network.cloud_metadata_blocked(ns(), inv)
    assert f.message.startswith("StatefulSet shop/db (app=db) is selected by no NetworkPolicy restricting egress")
    both = egress_policy(DNS, selector={"matchExpressions": [{"key": "app", "operator": "In",
                                                              "values": ["api", "db"]}]})
    inv = inventory(app("api", {"app": "api"}), app("db", {"app": "db"}, kind="StatefulSet"), both)
    assert network.cloud_metadata_blocked(ns(), inv) == []
    # no workload among the inputs, and no policy covering every pod: pods created later are not covered
    assert verdict(network.cloud_metadata_blocked(ns(), inventory(restrict_api))) == "fail"


def test_cloud_metadata_host_network_pods_escape_default_deny() -> None:
    inv = inventory(app("agent", {"app": "agent"}, kind="DaemonSet", hostNetwork=True), netpol(DENY_ALL))
    [f] = network.cloud_metadata_blocked(ns(), inv)
    assert "DaemonSet shop/agent uses the host network" in f.message


def test_cloud_metadata_unavailable_kinds() -> None:
    assert verdict(network.cloud_metadata_blocked(ns(), live(forbidden=("NetworkPolicy",)))) == "undetermined"
    # default deny decides without the workloads
    assert network.cloud_metadata_blocked(ns(), live(netpol(DENY_ALL), forbidden=("Deployment",))) == []
    # without it, coverage needs every workload kind
    partial = egress_policy(DNS, selector={"matchLabels": {"app": "api"}})
    result = network.cloud_metadata_blocked(ns(), live(partial, forbidden=("Deployment",)))
    assert isinstance(result, Undetermined) and "Deployment: 403" in result.reason
    assert verdict(network.cloud_metadata_blocked(ns(), live(partial, app("api", {"app": "api"})))) == "pass"


def test_rule_reaches_describes_why() -> None:
    assert network.rule_reaches({}) == "has no `to`, so it allows every destination on every port"
    assert network.rule_reaches({"to": []}) == "has no `to`, so it allows every destination on every port"
    assert network.rule_reaches(DNS) is None


# ------------------------------------------------------------------ kube-system egress
def ks(*raws: dict[str, Any]) -> Any:
    inv = inventory(*raws)
    return network.kube_system_egress(Namespace("kube-system", None), inv)


def ks_policy(spec: dict[str, Any], name: str = "p") -> dict[str, Any]:
    return netpol(spec, name=name, namespace="kube-system")


COREDNS = app("coredns", {"k8s-app": "kube-dns"}, namespace="kube-system")
STATIC = app("kube-apiserver-cp1", {"component": "kube-apiserver"}, kind="Pod", namespace="kube-system",
             hostNetwork=True)
KUBE_SYSTEM = [
    ("no-policies", [COREDNS], "fail", "restricts egress"),
    ("ingress-only", [COREDNS, ks_policy({"podSelector": {}})], "fail", "restricts egress"),
    ("host-network-only", [STATIC], "n/a", "live cluster"),
    ("namespace-empty", [], "fail", "restricts egress"),
    ("egress-deny-all", [COREDNS, ks_policy({"podSelector": {}, "policyTypes": ["Egress"]})], "pass", ""),
    ("egress-dns-and-apiserver", [COREDNS, ks_policy({
        "podSelector": {}, "policyTypes": ["Egress"],
        "egress": [DNS, {"to": [{"ipBlock": {"cidr": "10.0.0.1/32"}}]}]})], "pass", ""),
    ("egress-allow-all", [COREDNS, ks_policy({"podSelector": {}, "policyTypes": ["Egress"], "egress": [{}]})],
     "fail", "allows all of it"),
    ("egress-ipblock-everything", [COREDNS, ks_policy({"podSelector": {}, "policyTypes": ["Egress"], "egress": [
        {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]})], "fail", "p spec.egress[0]"),
    ("egress-ipblock-everything-but-private", [COREDNS, ks_policy({"podSelector": {}, "policyTypes": ["Egress"],
                                                                   "egress": [{"to": [{"ipBlock": {
                                                                       "cidr": "0.0.0.0/0",
                                                                       "except": ["10.0.0.0/8"]}}]}]})], "pass", ""),
    ("one-limiting-one-open", [COREDNS, ks_policy({"podSelector": {}, "policyTypes": ["Egress"]}, name="a"),
                               ks_policy({"podSelector": {"matchLabels": {"x": "y"}}, "policyTypes": ["Egress"],
                                          "egress": [{}]}, name="b")], "pass", ""),
]


@pytest.mark.parametrize(("raws", "expected", "text"), [c[1:] for c in KUBE_SYSTEM],
                         ids=[c[0] for c in KUBE_SYSTEM])
def test_kube_system_egress(raws: list[dict[str, Any]], expected: str, text: str) -> None:
    result = ks(*raws)
    assert verdict(result) == expected
    if text:
        message = result.reason if isinstance(result, NotApplicable) else result[0].message
        assert text in message, message


def test_kube_system_egress_unavailable() -> None:
    result = network.kube_system_egress(Namespace("kube-system", None), live(COREDNS, forbidden=("NetworkPolicy",)))
    assert verdict(result) == "undetermined"


# ------------------------------------------------------------------ the suite, run by pytester
NAMESPACE = """\
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {pod-security.kubernetes.io/enforce: restricted}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api, tier: web}}
    spec:
      containers: [{name: web, image: x}]
"""
ISOLATED = NAMESPACE + """\
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all-ingress, namespace: shop}
spec: {podSelector: {}, policyTypes: [Ingress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all-egress, namespace: shop}
spec: {podSelector: {}, policyTypes: [Egress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-dns, namespace: shop}
spec:
  podSelector: {matchExpressions: [{key: tier, operator: In, values: [web]}]}
  policyTypes: [Egress]
  egress:
    - to: [{ipBlock: {cidr: 0.0.0.0/0, except: [169.254.169.254/32]}}]
      ports: [{port: 53, protocol: UDP}]
---
apiVersion: v1
kind: LimitRange
metadata: {name: defaults, namespace: shop}
spec:
  limits: [{type: Container, default: {cpu: 500m, memory: 256Mi}, defaultRequest: {cpu: 100m, memory: 128Mi}}]
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: compute, namespace: shop}
spec: {hard: {cpu: "4", memory: 8Gi, limits.cpu: "8", limits.memory: 16Gi}}
"""
NETWORK_CONTROLS = {"nsa.network.policy-exists", "nsa.network.default-deny", "nsa.network.workload-isolated",
                    "nsa.network.limit-range", "nsa.network.resource-quota", "nsa.network.cloud-metadata"}


def _outcomes(pytester: pytest.Pytester, manifest: str) -> dict[str, str]:
    path = pytester.makefile(".yaml", manifest=manifest)
    pytester.runpytest("--k8s-manifests", str(path), "-m", "network and not manual", "--k8s-report-json", "r.json")
    doc = json.loads((pytester.path / "r.json").read_text())
    return {r["control"]: r["outcome"] for r in doc["results"] if r["control"].startswith("nsa.network.")}


def test_suite_passes_an_isolated_namespace(pytester: pytest.Pytester) -> None:
    outcomes = _outcomes(pytester, ISOLATED)
    assert {c: outcomes[c] for c in NETWORK_CONTROLS} == {c: "passed" for c in NETWORK_CONTROLS}
    # no kube-system among the inputs: one skipped item that says why
    assert outcomes["nsa.network.kube-system-egress"] == "skipped"


def test_suite_fails_an_open_namespace(pytester: pytest.Pytester) -> None:
    outcomes = _outcomes(pytester, NAMESPACE)
    assert {c: outcomes[c] for c in NETWORK_CONTROLS} == {c: "failed" for c in NETWORK_CONTROLS}


def test_suite_reports_policy_mistakes_readably(pytester: pytest.Pytester) -> None:
    manifest = NAMESPACE + """\
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: shop}
spec: {podSelector: {}}
"""
    path = pytester.makefile(".yaml", manifest=manifest)
    result = pytester.runpytest("--k8s-manifests", str(path), "-k", "default_deny or cloud_metadata")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines([
        "nsa.network.default-deny [[]high] Namespaces deny all ingress and egress by default",
        f"Namespace shop  ({path}:1)",
        "  - no NetworkPolicy in namespace shop denies all egress by default * (deny-all has no policyTypes, which "
        "the API defaults to [[]Ingress] since it has no egress rules)*",
        "How to fix: *",
    ])
    assert "Traceback" not in result.stdout.str()


def test_kube_system_static_pods_only_skip_pointing_at_a_live_scan(pytester: pytest.Pytester) -> None:
    hardened = Path(__file__).resolve().parents[1] / "examples" / "hardened" / "control-plane"
    result = pytester.runpytest("--k8s-manifests", str(hardened), "-k", "kube_system_egress", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*not applicable: every kube-system pod among the inputs runs on the host network*"
                                 "scan the live cluster*"])
