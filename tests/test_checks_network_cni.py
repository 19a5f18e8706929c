"""CNI network policies (Cilium, Calico, Antrea) at their real scope, table-driven.

Each case gives the CNI objects of an input and the verdicts of the three
network checks that read them: policy-exists and default-deny for namespace
``shop``, and isolation for a Deployment ``api`` (labels ``app: api``) in it.
"""

from __future__ import annotations

from typing import Any

import pytest

from pytest_k8shardening.checks import NotApplicable, Undetermined, network
from pytest_k8shardening.checks.cni import CalicoSelectorError, calico_selector, cni_rules
from pytest_k8shardening.model import Inventory, K8sObject, Namespace, Source


def verdict(result: Any) -> str:
    if isinstance(result, NotApplicable):
        return "n/a"
    if isinstance(result, Undetermined):
        return "undetermined"
    return "fail" if result else "pass"


def namespace(name: str = "shop", labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels or {}}}


def deployment(labels: dict[str, str] | None = None, *, host_network: bool = False,
               ns: str = "shop") -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "x"}]}
    if host_network:
        spec["hostNetwork"] = True
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api", "namespace": ns},
            "spec": {"template": {"metadata": {"labels": labels if labels is not None else {"app": "api"}},
                                  "spec": spec}}}


def cnp(spec: Any = None, *, specs: Any = None, ns: str = "shop", name: str = "p") -> dict[str, Any]:
    raw: dict[str, Any] = {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
                           "metadata": {"name": name, "namespace": ns}}
    if spec is not None:
        raw["spec"] = spec
    if specs is not None:
        raw["specs"] = specs
    return raw


def ccnp(spec: dict[str, Any], name: str = "c") -> dict[str, Any]:
    return {"apiVersion": "cilium.io/v2", "kind": "CiliumClusterwideNetworkPolicy", "metadata": {"name": name},
            "spec": spec}


def calico(spec: dict[str, Any], *, ns: str = "shop", group: str = "projectcalico.org/v3") -> dict[str, Any]:
    return {"apiVersion": group, "kind": "NetworkPolicy", "metadata": {"name": "p", "namespace": ns}, "spec": spec}


def gnp(spec: dict[str, Any], group: str = "projectcalico.org/v3") -> dict[str, Any]:
    return {"apiVersion": group, "kind": "GlobalNetworkPolicy", "metadata": {"name": "g"}, "spec": spec}


def anp(spec: dict[str, Any], ns: str = "shop") -> dict[str, Any]:
    return {"apiVersion": "crd.antrea.io/v1beta1", "kind": "NetworkPolicy",
            "metadata": {"name": "p", "namespace": ns}, "spec": spec}


def acnp(spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "crd.antrea.io/v1beta1", "kind": "ClusterNetworkPolicy", "metadata": {"name": "c"},
            "spec": spec}


def inventory(*raws: dict[str, Any]) -> Inventory:
    return Inventory([K8sObject(r, Source("net.yaml", i + 1)) for i, r in enumerate(raws)])


def verdicts(*raws: dict[str, Any], labels: dict[str, str] | None = None,
             host_network: bool = False) -> tuple[str, str, str]:
    inv = inventory(deployment(labels, host_network=host_network), *raws)
    ns = Namespace("shop", inv.get("Namespace", None, "shop"))
    [w] = [w for w in inv.all_workloads()]
    return (verdict(network.network_policy_exists(ns, inv)), verdict(network.default_deny(ns, inv)),
            verdict(network.workload_isolated(w, inv)))


DENY_BOTH_CILIUM = {"endpointSelector": {}, "ingress": [{}], "egress": [{}]}

CASES: list[tuple[str, list[dict[str, Any]], tuple[str, str, str]]] = [
    # ---- Cilium, namespaced
    ("cilium-deny-all", [cnp(DENY_BOTH_CILIUM)], ("pass", "pass", "pass")),
    ("cilium-allow-rules-isolate-but-do-not-deny-all",
     [cnp({"endpointSelector": {"matchLabels": {"app": "api"}},
           "ingress": [{"fromEndpoints": [{"matchLabels": {"app": "web"}}]}],
           "egress": [{"toEndpoints": [{"matchLabels": {"app": "db"}}]}]})], ("pass", "fail", "pass")),
    ("cilium-k8s-prefixed-keys", [cnp({"endpointSelector": {"matchLabels": {"k8s:app": "api"}},
                                       "ingress": [{}], "egress": [{}]})], ("pass", "fail", "pass")),
    ("cilium-other-pods-only", [cnp({"endpointSelector": {"matchLabels": {"app": "web"}},
                                     "ingress": [{}], "egress": [{}]})], ("pass", "fail", "fail")),
    ("cilium-ingress-only", [cnp({"endpointSelector": {}, "ingress": [{}]})], ("pass", "fail", "fail")),
    ("cilium-deny-sections-alone", [cnp({"endpointSelector": {},
                                         "ingressDeny": [{"fromEntities": ["world"]}],
                                         "egressDeny": [{"toEntities": ["world"]}]})], ("pass", "pass", "pass")),
    ("cilium-default-deny-disabled", [cnp({"endpointSelector": {}, "ingress": [{}], "egress": [{}],
                                           "enableDefaultDeny": {"ingress": False, "egress": False}})],
     ("pass", "fail", "fail")),
    ("cilium-specs-list", [cnp(specs=[{"endpointSelector": {}, "ingress": [{}]},
                                      {"endpointSelector": {}, "egress": [{}]}])], ("pass", "pass", "pass")),
    ("cilium-host-policy-only", [cnp({"nodeSelector": {}, "ingress": [{}]})], ("fail", "fail", "fail")),
    ("cilium-other-namespace", [cnp(DENY_BOTH_CILIUM, ns="other")], ("fail", "fail", "fail")),
    ("cilium-invalid-no-selector", [cnp({"ingress": [{}]})], ("undetermined", "undetermined", "undetermined")),
    # ---- Cilium, cluster-wide
    ("ccnp-selects-everything", [ccnp(DENY_BOTH_CILIUM)], ("pass", "pass", "pass")),
    ("ccnp-this-namespace", [ccnp({"endpointSelector": {"matchLabels": {"k8s:io.kubernetes.pod.namespace": "shop"}},
                                   "ingress": [{}], "egress": [{}]})], ("pass", "pass", "pass")),
    ("ccnp-another-namespace", [ccnp({"endpointSelector": {"matchLabels": {"io.kubernetes.pod.namespace": "x"}},
                                      "ingress": [{}], "egress": [{}]})], ("fail", "fail", "fail")),
    ("ccnp-namespace-labels-known",
     [namespace(labels={"env": "prod"}),
      ccnp({"endpointSelector": {"matchLabels": {"io.cilium.k8s.namespace.labels.env": "prod"}},
            "ingress": [{}], "egress": [{}]})], ("pass", "pass", "pass")),
    ("ccnp-namespace-labels-unknown",
     [ccnp({"endpointSelector": {"matchLabels": {"io.cilium.k8s.namespace.labels.env": "prod"}},
            "ingress": [{}], "egress": [{}]})], ("undetermined", "undetermined", "undetermined")),
    ("ccnp-pod-labels-only", [ccnp({"endpointSelector": {"matchLabels": {"app": "api"}},
                                    "ingress": [{}], "egress": [{}]})], ("pass", "fail", "pass")),
    # ---- Calico, namespaced
    ("calico-deny-all-both", [calico({"selector": "all()", "types": ["Ingress", "Egress"]})],
     ("pass", "pass", "pass")),
    ("calico-types-default-ingress-only", [calico({"selector": "all()"})], ("pass", "fail", "fail")),
    ("calico-types-default-egress-rules-only",
     [calico({"selector": "all()", "egress": [{"action": "Deny"}]})], ("pass", "fail", "fail")),
    ("calico-storage-group", [calico({"selector": "all()", "types": ["Ingress", "Egress"]},
                                     group="crd.projectcalico.org/v1")], ("pass", "pass", "pass")),
    ("calico-selector-expression", [calico({"selector": "app == 'api' && !has(debug)",
                                            "types": ["Ingress", "Egress"],
                                            "ingress": [{"action": "Allow",
                                                         "source": {"selector": "app == 'web'"}}]})],
     ("pass", "fail", "pass")),
    ("calico-selects-other-pods", [calico({"selector": "app in {'web', 'db'}", "types": ["Ingress", "Egress"]})],
     ("pass", "fail", "fail")),
    ("calico-allow-all-is-not-deny-all", [calico({"selector": "all()", "types": ["Ingress", "Egress"],
                                                  "ingress": [{"action": "Allow"}],
                                                  "egress": [{"action": "Allow"}]})], ("pass", "fail", "pass")),
    ("calico-bad-selector", [calico({"selector": "app === 'api'"})], ("undetermined", "undetermined", "undetermined")),
    ("calico-service-account-selector", [calico({"serviceAccountSelector": "role == 'x'"})],
     ("undetermined", "undetermined", "undetermined")),
    # ---- Calico, global
    ("gnp-all-namespaces", [gnp({"selector": "all()", "types": ["Ingress", "Egress"]})], ("pass", "pass", "pass")),
    ("gnp-namespace-by-name", [gnp({"namespaceSelector": "projectcalico.org/name == 'shop'",
                                    "types": ["Ingress", "Egress"]})], ("pass", "pass", "pass")),
    ("gnp-other-namespace", [gnp({"namespaceSelector": "projectcalico.org/name == 'x'",
                                  "types": ["Ingress", "Egress"]})], ("fail", "fail", "fail")),
    ("gnp-namespace-label-unknown", [gnp({"namespaceSelector": "env == 'prod'", "types": ["Ingress"]})],
     ("undetermined", "undetermined", "undetermined")),
    ("gnp-pod-namespace-label", [gnp({"selector": "projectcalico.org/namespace == 'shop'",
                                      "types": ["Ingress", "Egress"]})], ("pass", "pass", "pass")),
    ("gnp-host-endpoints-prednat", [gnp({"selector": "all()", "preDNAT": True, "applyOnForward": True,
                                         "types": ["Ingress"]})], ("fail", "fail", "fail")),
    # ---- Antrea
    ("antrea-baseline-drop-all", [anp({"appliedTo": [{"podSelector": {}}], "tier": "baseline",
                                       "ingress": [{"action": "Drop"}], "egress": [{"action": "Drop"}]})],
     ("pass", "pass", "pass")),
    ("antrea-allow-only-does-not-isolate",
     [anp({"appliedTo": [{"podSelector": {}}], "ingress": [{"action": "Allow", "from": [{"podSelector": {}}]}]})],
     ("fail", "fail", "fail")),
    ("antrea-drop-some-peers", [anp({"appliedTo": [{"podSelector": {"matchLabels": {"app": "api"}}}],
                                     "ingress": [{"action": "Reject", "from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}],
                                     "egress": [{"action": "Drop", "ports": [{"port": 25}]}]})],
     ("pass", "fail", "pass")),
    ("acnp-namespace-selector", [acnp({"appliedTo": [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "shop"}}}], "ingress": [{"action": "Drop"}], "egress": [{"action": "Drop"}]})],
     ("pass", "pass", "pass")),
    ("acnp-cluster-group", [acnp({"appliedTo": [{"group": "web"}], "ingress": [{"action": "Drop"}]})],
     ("undetermined", "undetermined", "undetermined")),
    ("acnp-rule-applied-to", [acnp({"ingress": [{"action": "Drop", "appliedTo": [{"podSelector": {}}]}],
                                    "egress": [{"action": "Drop", "appliedTo": [{"podSelector": {}}]}]})],
     ("pass", "pass", "pass")),
]


@pytest.mark.parametrize(("raws", "expected"), [(r, e) for _, r, e in CASES], ids=[c[0] for c in CASES])
def test_cni_policies_at_their_scope(raws: list[dict[str, Any]], expected: tuple[str, str, str]) -> None:
    assert verdicts(*raws) == expected


def test_host_network_pods_are_outside_every_policy() -> None:
    assert verdicts(ccnp(DENY_BOTH_CILIUM), host_network=True)[2] == "fail"


def test_kubernetes_and_cni_policies_add_up() -> None:
    k8s_ingress = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                   "metadata": {"name": "in", "namespace": "shop"},
                   "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}
    assert verdicts(k8s_ingress, cnp({"endpointSelector": {}, "egress": [{}]})) == ("pass", "pass", "pass")


def test_undetermined_says_which_policy_and_why() -> None:
    inv = inventory(deployment(), calico({"selector": "app === 'x'"}))
    result = network.default_deny(Namespace("shop", None), inv)
    assert isinstance(result, Undetermined)
    assert "NetworkPolicy shop/NetworkPolicy/p (projectcalico.org/v3): its selector does not parse" in result.reason


def test_metadata_and_kube_system_checks_stay_undetermined_with_cluster_wide_policies() -> None:
    inv = inventory(deployment(), ccnp(DENY_BOTH_CILIUM))
    result = network.cloud_metadata_blocked(Namespace("shop", None), inv)
    assert isinstance(result, Undetermined) and "CiliumClusterwideNetworkPolicy c" in result.reason


def test_forbidden_cni_kind_on_a_live_cluster_is_undetermined() -> None:
    def fetch(kind: str, _inv: Inventory) -> tuple[list[dict[str, Any]], str | None]:
        if kind == "CiliumClusterwideNetworkPolicy.cilium.io":
            return [], "403 Forbidden: ciliumclusterwidenetworkpolicies.cilium.io is forbidden"
        if kind.startswith(("NetworkPolicy.", "GlobalNetworkPolicy.", "ClusterNetworkPolicy.")):
            return [], None  # not installed: live.fetcher reports OPTIONAL_KINDS not served as empty
        return ([deployment()] if kind == "Deployment" else []), None
    inv = Inventory([], fetch=fetch)
    result = network.network_policy_exists(Namespace("shop", None), inv)
    assert isinstance(result, Undetermined) and "403 Forbidden" in result.reason
    rules, problems = cni_rules(inv)
    assert rules == [] and len(problems) == 1


@pytest.mark.parametrize(("selector", "labels", "expected"), [
    (None, {}, True),
    ("all()", {"a": "b"}, True),
    ("", {}, True),
    ("app == 'api'", {"app": "api"}, True),
    ("app == 'api'", {}, False),
    ("app != 'api'", {}, True),  # Calico: != holds when the label is absent
    ("app != 'api'", {"app": "api"}, False),
    ("has(app)", {"app": ""}, True),
    ("!has(app)", {"app": ""}, False),
    ("app in {'a', 'b'}", {"app": "b"}, True),
    ("app not in {'a', 'b'}", {}, True),
    ("app not in {'a', 'b'}", {"app": "a"}, False),
    ("tier starts with 'fr'", {"tier": "front"}, True),
    ("tier ends with 'nt'", {"tier": "front"}, True),
    ("tier contains 'ro'", {"tier": "front"}, True),
    ("a == 'x' || (b == 'y' && !has(c))", {"b": "y"}, True),
    ("a == 'x' || (b == 'y' && !has(c))", {"b": "y", "c": "1"}, False),
    ('k8s-app == "kube-dns"', {"k8s-app": "kube-dns"}, True),
    ("projectcalico.org/namespace == 'shop'", {"projectcalico.org/namespace": "shop"}, True),
])
def test_calico_selector_language(selector: str | None, labels: dict[str, str], expected: bool) -> None:
    expr, _ = calico_selector(selector)
    assert expr(labels) is expected


@pytest.mark.parametrize("selector", ["app === 'x'", "app == x", "(app == 'x'", "has(app", "app in {'a'",
                                      "app ~ 'x'", 42])
def test_calico_selectors_that_do_not_parse(selector: Any) -> None:
    with pytest.raises(CalicoSelectorError):
        calico_selector(selector)


def test_live_reads_every_cni_kind_as_optional() -> None:
    from pytest_k8shardening.checks.cni import CLUSTER_KINDS, NAMESPACED_KINDS
    from pytest_k8shardening.live import OPTIONAL_KINDS

    from pytest_k8shardening.checks.engines import ENGINE_KINDS

    assert set(NAMESPACED_KINDS) | set(CLUSTER_KINDS) | set(ENGINE_KINDS) == OPTIONAL_KINDS
