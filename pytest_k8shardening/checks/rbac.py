"""RBAC: who may do what, through which binding and which role (NSA/CISA guide,
"Authentication and authorization").

Every check runs on one RoleBinding or ClusterRoleBinding and reports, per
subject, the permission, the binding and the role (and the role's rules)
that give it. The small model below reads the bindings as the API server's
RBAC authorizer does (``plugin/pkg/auth/authorizer/rbac``):

* **Roles.** A binding's ``roleRef`` names a Role in the binding's own
  namespace or a ClusterRole (a ClusterRoleBinding can only name a
  ClusterRole). A ClusterRole with an ``aggregationRule`` holds the union of
  its own rules and the rules of every other ClusterRole whose labels match
  one of its ``clusterRoleSelectors`` (label selectors with ``matchLabels``
  and ``matchExpressions``, read by ``selectors.py``; an empty selector
  matches every ClusterRole, one the API server would reject matches none),
  transitively, as the
  clusterrole-aggregation controller builds it.
* **Roles that are not there.** Scanning manifests, a ClusterRole that is
  not among the inputs but is one of Kubernetes' built-in roles
  (``cluster-admin``, ``admin``, ``edit``, ``view``, ``system:discovery``...,
  :data:`BUILTIN_CLUSTER_ROLES`) is read from the upstream bootstrap policy.
  Another missing role makes the binding's grants unknown (the check is
  *undetermined*: add the role's manifest). On a live cluster a missing role
  means the binding grants nothing until someone creates a role of that name
  (the check is *not applicable*, saying so). A role kind that could not be
  read (a 403) makes the check undetermined, never a pass; a built-in
  ClusterRole is then judged on its upstream rules, which the API server
  always keeps, so a failure found on them is certain.
* **Subjects.** ``User`` and ``Group`` match by exact name;
  ``ServiceAccount`` subjects without a namespace take the RoleBinding's
  namespace (in a ClusterRoleBinding they match no one); a User named
  ``system:serviceaccount:<ns>:<name>`` is that ServiceAccount. Subjects of
  any other kind match no one and are ignored.
* **Rules.** A rule allows a request when its verbs contain the verb or
  ``*``, its apiGroups the group or ``*``, its resources the resource
  (``pods/exec`` for a subresource), ``*``, or ``*/<subresource>`` (there is
  no ``pods/*`` wildcard: that string matches nothing), and, when it lists
  ``resourceNames``, the object's name. A rule with ``resourceNames``
  therefore never grants a whole collection. ``nonResourceURLs`` rules never
  match resources; they only count in the anonymous/authenticated
  allowances. Through a RoleBinding a rule only applies to namespaced
  requests in that namespace: cluster-scoped permissions (``nodes/proxy``,
  ``escalate`` on ``clusterroles``, ``impersonate`` on users and groups) in a
  RoleBinding grant nothing.

**Exemptions** (:func:`system_subject`). The privilege checks do not report
grants to the cluster's own identities, so a fresh kubeadm or kind cluster
passes:

* Group ``system:masters``: the API server's superuser group, which bypasses
  RBAC altogether; and Group ``kubeadm:cluster-admins``, which kubeadm (1.29+)
  binds to cluster-admin for its ``admin.conf`` certificate;
* Users named ``system:...`` (the control-plane components:
  ``system:kube-controller-manager``, ``system:kube-scheduler``,
  ``system:kube-proxy``, node users), except ``system:anonymous``;
* Groups named ``system:...`` (``system:nodes``, ``system:bootstrappers:...``,
  ``system:monitoring``), except the groups everybody or every pod belongs
  to: ``system:authenticated``, ``system:unauthenticated``,
  ``system:serviceaccounts`` and ``system:serviceaccounts:<namespace>``;
* ServiceAccounts in ``kube-system`` (the controllers and add-ons run there),
  except ``kube-system/default``, which no component uses and every pod
  there without a ServiceAccount gets.

The exemption is by subject, never by binding name: anyone who may create
bindings may call one ``system:something``, so a ``system:`` prefix on a
binding proves nothing. One exception to the exemption: full admin
(:func:`cluster_admin`) is only exempt for the two superuser groups, because
no default component holds it; a kube-system ServiceAccount or a system user
with cluster-admin (Helm v2's tiller, dashboards, k3s' helm-controller jobs)
is reported.

The anonymous, authenticated and default-ServiceAccount checks look at those
subjects only, and allow exactly the grants Kubernetes and kubeadm make to
them, checked by content (:data:`PUBLIC_GRANTS`): a role of the upstream
name that holds more than the upstream rules fails.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from ..model import WORKLOAD_KINDS, Inventory, K8sObject, Workload, mapping
from ..selectors import InvalidSelector, selector_matches
from . import CheckResult, Finding, NotApplicable, Undetermined, refs

__all__ = [
    "ADMIN_GROUPS",
    "BUILTIN_CLUSTER_ROLES",
    "PUBLIC_GRANTS",
    "Binding",
    "Role",
    "Rule",
    "Subject",
    "admin_infra_separation",
    "aggregation_selects",
    "anonymous",
    "authenticated",
    "cluster_admin",
    "credential_minting",
    "csr_approval",
    "default_service_account",
    "escalate_bind_impersonate",
    "exec_attach",
    "kube_system_workloads",
    "nodes_proxy",
    "resolve",
    "secrets_read",
    "system_subject",
    "unused_role",
    "webhook_configuration_write",
    "wildcards",
]

RBAC_GROUP = "rbac.authorization.k8s.io"

#: Groups whose members are administrators by design: ``system:masters``
#: bypasses authorization in the API server; kubeadm binds
#: ``kubeadm:cluster-admins`` to cluster-admin for ``admin.conf``.
ADMIN_GROUPS: frozenset[str] = frozenset({"system:masters", "kubeadm:cluster-admins"})

#: ``system:`` groups that are not the system: everyone, every anonymous
#: request, every ServiceAccount (of a namespace).
_BROAD_GROUPS = frozenset({"system:authenticated", "system:unauthenticated", "system:serviceaccounts"})
_SA_USER = re.compile(r"^system:serviceaccount:([^:]+):([^:]+)$")


# ----------------------------------------------------------------- built-in roles
def _r(verbs: str, groups: str | Sequence[str], resources: str, names: str = "") -> dict[str, Any]:
    """A rule in the bootstrap policy's shape; ``groups`` "" is the core group."""
    return {"apiGroups": [groups] if isinstance(groups, str) else list(groups),
            "resources": resources.split(), "verbs": verbs.split(),
            **({"resourceNames": names.split()} if names else {})}


def _u(verbs: str, urls: str) -> dict[str, Any]:
    return {"nonResourceURLs": urls.split(), "verbs": verbs.split()}


def _cr(name: str, rules: list[dict[str, Any]], labels: Mapping[str, str] | None = None,
        aggregate: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults", **(labels or {})},
                            "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}}
    raw: dict[str, Any] = {"apiVersion": f"{RBAC_GROUP}/v1", "kind": "ClusterRole", "metadata": meta, "rules": rules}
    if aggregate:
        raw["aggregationRule"] = {"clusterRoleSelectors": [
            {"matchLabels": {f"rbac.authorization.k8s.io/aggregate-to-{aggregate}": "true"}}]}
    return raw


_AGG = "rbac.authorization.k8s.io/aggregate-to-"
_RW = "create delete deletecollection patch update"
_RO = "get list watch"
_EVENTS = _r("create patch update", ["", "events.k8s.io"], "events")

#: Built-in ClusterRoles of the upstream bootstrap policy
#: (``plugin/pkg/auth/authorizer/rbac/bootstrappolicy``, testdata
#: ``cluster-roles.yaml``), used when a manifest binding names one that is not
#: among the inputs. admin, edit and view are aggregated, as upstream.
BUILTIN_CLUSTER_ROLES: dict[str, dict[str, Any]] = {raw["metadata"]["name"]: raw for raw in (
    _cr("cluster-admin", [_r("*", "*", "*"), _u("*", "*")]),
    _cr("admin", [], aggregate="admin"),
    _cr("edit", [], {_AGG + "admin": "true"}, aggregate="edit"),
    _cr("view", [], {_AGG + "edit": "true"}, aggregate="view"),
    _cr("system:aggregate-to-admin", [
        _r("create", "authorization.k8s.io", "localsubjectaccessreviews"),
        _r(f"{_RW} get list watch", RBAC_GROUP, "rolebindings roles"),
    ], {_AGG + "admin": "true"}),
    _cr("system:aggregate-to-edit", [
        _r(_RO, "", "pods/attach pods/exec pods/portforward pods/proxy secrets services/proxy"),
        _r("impersonate", "", "serviceaccounts"),
        _r(_RW, "", "pods pods/attach pods/exec pods/portforward pods/proxy"),
        _r("create", "", "pods/eviction"),
        _r(_RW, "", "configmaps events persistentvolumeclaims replicationcontrollers replicationcontrollers/scale "
                    "secrets serviceaccounts services services/proxy"),
        _r("create", "", "serviceaccounts/token"),
        _r(_RW, "apps", "daemonsets deployments deployments/rollback deployments/scale replicasets "
                        "replicasets/scale statefulsets statefulsets/scale"),
        _r(_RW, "autoscaling", "horizontalpodautoscalers"),
        _r(_RW, "batch", "cronjobs jobs"),
        _r(_RW, "extensions", "daemonsets deployments deployments/rollback deployments/scale ingresses "
                              "networkpolicies replicasets replicasets/scale replicationcontrollers/scale"),
        _r(_RW, "policy", "poddisruptionbudgets"),
        _r(_RW, "networking.k8s.io", "ingresses networkpolicies"),
        _r(f"{_RW} get list watch", "coordination.k8s.io", "leases"),
    ], {_AGG + "edit": "true"}),
    _cr("system:aggregate-to-view", [
        _r(_RO, "", "configmaps endpoints persistentvolumeclaims persistentvolumeclaims/status pods "
                    "replicationcontrollers replicationcontrollers/scale serviceaccounts services services/status"),
        _r(_RO, "", "bindings events limitranges namespaces/status pods/log pods/status "
                    "replicationcontrollers/status resourcequotas resourcequotas/status"),
        _r(_RO, "", "namespaces"),
        _r(_RO, "discovery.k8s.io", "endpointslices"),
        _r(_RO, "apps", "controllerrevisions daemonsets daemonsets/status deployments deployments/scale "
                        "deployments/status replicasets replicasets/scale replicasets/status statefulsets "
                        "statefulsets/scale statefulsets/status"),
        _r(_RO, "autoscaling", "horizontalpodautoscalers horizontalpodautoscalers/status"),
        _r(_RO, "batch", "cronjobs cronjobs/status jobs jobs/status"),
        _r(_RO, "extensions", "daemonsets daemonsets/status deployments deployments/scale deployments/status "
                              "ingresses ingresses/status networkpolicies replicasets replicasets/scale "
                              "replicasets/status replicationcontrollers/scale"),
        _r(_RO, "policy", "poddisruptionbudgets poddisruptionbudgets/status"),
        _r(_RO, "networking.k8s.io", "ingresses ingresses/status networkpolicies"),
    ], {_AGG + "view": "true"}),
    _cr("system:auth-delegator", [_r("create", "authentication.k8s.io", "tokenreviews"),
                                  _r("create", "authorization.k8s.io", "subjectaccessreviews")]),
    _cr("system:basic-user", [_r("create", "authorization.k8s.io", "selfsubjectaccessreviews selfsubjectrulesreviews"),
                              _r("create", "authentication.k8s.io", "selfsubjectreviews")]),
    _cr("system:discovery", [_u("get", "/api /api/* /apis /apis/* /healthz /livez /openapi /openapi/* /readyz "
                                       "/version /version/")]),
    _cr("system:public-info-viewer", [_u("get", "/healthz /livez /readyz /version /version/")]),
    _cr("system:service-account-issuer-discovery", [_u("get", "/.well-known/openid-configuration /openid/v1/jwks")]),
    _cr("system:monitoring", [_u("get", "/healthz /healthz/* /livez /livez/* /metrics /metrics/slis /readyz "
                                        "/readyz/*")]),
    _cr("system:heapster", [_r(_RO, "", "events namespaces nodes pods"), _r(_RO, "extensions", "deployments")]),
    _cr("system:kube-aggregator", [_r(_RO, "", "endpoints services")]),
    _cr("system:kube-dns", [_r("list watch", "", "endpoints services")]),
    _cr("system:kubelet-api-admin", [_r(_RO, "", "nodes"), _r("proxy", "", "nodes"),
                                     _r("*", "", "nodes/log nodes/metrics nodes/proxy nodes/stats")]),
    _cr("system:node-bootstrapper", [_r("create get list watch", "certificates.k8s.io", "certificatesigningrequests")]),
    _cr("system:node-problem-detector", [_r("get", "", "nodes"), _r("patch", "", "nodes/status"), _EVENTS]),
    _cr("system:node-proxier", [_r("list watch", "", "endpoints services"), _r(_RO, "", "nodes"), _EVENTS,
                                _r("list watch", "discovery.k8s.io", "endpointslices")]),
    _cr("system:persistent-volume-provisioner", [
        _r("create delete get list watch", "", "persistentvolumes"),
        _r("get list update watch", "", "persistentvolumeclaims"),
        _r(_RO, "storage.k8s.io", "storageclasses"), _r("watch", "", "events"), _EVENTS]),
    _cr("system:volume-scheduler", [_r("get list patch update watch", "", "persistentvolumes"),
                                    _r(_RO, "storage.k8s.io", "storageclasses"),
                                    _r("get list patch update watch", "", "persistentvolumeclaims")]),
    _cr("system:certificates.k8s.io:certificatesigningrequests:nodeclient",
        [_r("create", "certificates.k8s.io", "certificatesigningrequests/nodeclient")]),
    _cr("system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
        [_r("create", "certificates.k8s.io", "certificatesigningrequests/selfnodeclient")]),
)}


# ----------------------------------------------------------------- rules
def _strings(value: Any) -> tuple[str, ...]:
    """A list field as strings; a lone string counts as a one-item list (never read as empty)."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(v for v in value if isinstance(v, str))
    return ()


def _show(values: Iterable[str]) -> str:
    return ", ".join(v if v else '""' for v in values)


@dataclass(frozen=True, slots=True)
class Rule:
    """One PolicyRule, and the role object that holds it (``rules[index]`` of ``role``)."""

    verbs: tuple[str, ...]
    api_groups: tuple[str, ...]
    resources: tuple[str, ...]
    resource_names: tuple[str, ...]
    non_resource_urls: tuple[str, ...]
    role: str
    index: int

    @classmethod
    def parse(cls, raw: Any, role: str, index: int) -> Rule:
        raw = mapping(raw)
        return cls(_strings(raw.get("verbs")), _strings(raw.get("apiGroups")), _strings(raw.get("resources")),
                   _strings(raw.get("resourceNames")), _strings(raw.get("nonResourceURLs")), role, index)

    @property
    def key(self) -> tuple[tuple[str, ...], ...]:
        return (self.verbs, self.api_groups, self.resources, self.resource_names, self.non_resource_urls)

    # The four matchers of k8s.io/kubernetes/pkg/apis/rbac/v1/evaluation_helpers.go.
    def matches_verb(self, verb: str) -> bool:
        return "*" in self.verbs or verb in self.verbs

    def matches_group(self, group: str) -> bool:
        return "*" in self.api_groups or group in self.api_groups

    def matches_resource(self, resource: str, subresource: str = "") -> bool:
        combined = f"{resource}/{subresource}" if subresource else resource
        for r in self.resources:
            if r == "*" or r == combined:
                return True
            if subresource and r == f"*/{subresource}":
                return True
        return False

    def matches_name(self, name: str | None) -> bool:
        """Without resourceNames any object; with them only those (never a whole collection: ``name=None``)."""
        if not self.resource_names:
            return True
        return name is not None and name in self.resource_names

    def allows(self, verb: str, group: str, resource: str, name: str | None = None) -> bool:
        """Does this rule allow ``verb`` on ``resource`` (``pods/exec`` for a subresource) in ``group``?

        ``name=None`` asks about every object of the resource (a list, or
        any object at all), which a rule with resourceNames never grants.
        """
        res, _, sub = resource.partition("/")
        return (self.matches_verb(verb) and self.matches_group(group) and self.matches_resource(res, sub)
                and self.matches_name(name))

    def allows_some(self, verb: str, group: str, resource: str) -> bool:
        """Like :meth:`allows`, but also true when only some named objects are allowed."""
        return self.allows(verb, group, resource, self.resource_names[0] if self.resource_names else None)

    @property
    def is_full_admin(self) -> bool:
        """``*`` verbs on ``*`` resources in ``*`` apiGroups, for every object: what cluster-admin holds."""
        return ("*" in self.verbs and "*" in self.resources and "*" in self.api_groups
                and not self.resource_names)

    @property
    def wildcard(self) -> bool:
        """A resource rule with ``*`` verbs, or ``*`` (or ``*/subresource``) resources."""
        return bool(self.resources) and ("*" in self.verbs or any(r.startswith("*") for r in self.resources))

    def text(self) -> str:
        """``get, list on secrets`` (apiGroups and resourceNames when they say something)."""
        if self.non_resource_urls and not self.resources:
            return f"{_show(self.verbs) or 'no verbs'} on URLs {_show(self.non_resource_urls)}"
        out = f"{_show(self.verbs) or 'no verbs'} on {_show(self.resources) or 'no resources'}"
        if self.api_groups != ("",):
            out += f" in apiGroups {_show(self.api_groups) or '(none)'}"
        if self.resource_names:
            out += f" named {_show(self.resource_names)}"
        return out

    def ref(self, bound: str) -> str:
        """``rules[2] (get on secrets)``, naming the holder when it was aggregated into ``bound``."""
        where = f"rules[{self.index}]" if self.role == bound else f"rules[{self.index}] of ClusterRole {self.role}"
        return f"{where} ({self.text()})"


def _covers(allowed: Rule, actual: Rule) -> bool:
    """Does ``allowed`` grant everything ``actual`` grants?"""
    if not actual.verbs or not (actual.non_resource_urls or (actual.resources and actual.api_groups)):
        return True  # grants nothing
    if "*" not in allowed.verbs and not set(actual.verbs) <= set(allowed.verbs):
        return False
    if actual.non_resource_urls:
        for url in actual.non_resource_urls:
            if not any(a == "*" or a == url or (a.endswith("*") and url.startswith(a[:-1]))
                       for a in allowed.non_resource_urls):
                return False
    if actual.resources:
        if "*" not in allowed.api_groups and not set(actual.api_groups) <= set(allowed.api_groups):
            return False
        if "*" not in allowed.resources and not set(actual.resources) <= set(allowed.resources):
            return False
        if allowed.resource_names and (not actual.resource_names
                                       or not set(actual.resource_names) <= set(allowed.resource_names)):
            return False
    return True


# ----------------------------------------------------------------- label selectors
def aggregation_selects(selector: Any, labels: Mapping[str, str]) -> bool:
    """Does one ``clusterRoleSelectors`` entry select a ClusterRole with ``labels`` (selectors.py)?

    ``{}`` selects every ClusterRole. An invalid entry (and a ``null`` one,
    which the loader refuses) selects none: the API server rejects a
    ClusterRole whose selector is invalid, so nothing aggregates through it.
    """
    if not isinstance(selector, dict):
        return False
    try:
        return selector_matches(selector, labels)
    except InvalidSelector:
        return False


# ----------------------------------------------------------------- roles
RoleState = Literal["found", "builtin", "missing", "absent", "unavailable", "invalid"]


@dataclass(frozen=True, slots=True)
class Role:
    """The role a binding refers to, with its effective rules.

    ``state``: ``found`` among the inputs; ``builtin`` read from the upstream
    defaults (manifest scans); ``missing`` read from a cluster where it does
    not exist (grants nothing); ``absent`` not among the inputs (grants are
    unknown); ``unavailable`` the kind could not be read (``rules`` are the
    upstream defaults of a built-in role, a lower bound, else empty);
    ``invalid`` a roleRef the API server rejects. ``reason`` explains the last four.
    """

    kind: str
    name: str
    namespace: str | None
    rules: tuple[Rule, ...]
    state: RoleState
    reason: str = ""

    def describe(self) -> str:
        name = f"{self.namespace}/{self.name}" if self.namespace else self.name
        out = f"{self.kind} {name}"
        if self.state == "builtin":
            out += " (built-in)"
        elif self.state == "unavailable":
            out += " (unreadable; judged on its upstream default rules)" if self.rules else " (unreadable)"
        elif self.state == "missing":
            out += " (which does not exist)"
        elif self.state == "absent":
            out += " (not among the inputs)"
        return out

    def summary(self, limit: int = 3) -> str:
        """What the role grants, in a few words."""
        if self.state in ("missing", "invalid", "absent") or (self.state == "unavailable" and not self.rules):
            return self.reason
        rules = [r for r in self.rules if r.verbs and (r.resources or r.non_resource_urls)]
        if not rules:
            return "the role grants nothing"
        shown = "; ".join(r.ref(self.name) for r in rules[:limit])
        more = f" (+{len(rules) - limit} more rules)" if len(rules) > limit else ""
        return shown + more


@dataclass(frozen=True, slots=True)
class _Pool:
    """The ClusterRoles a binding can refer to or aggregate: name -> (raw object, built-in?)."""

    roles: dict[str, tuple[Mapping[str, Any], bool]]
    effective: dict[str, tuple[Rule, ...]] = field(default_factory=dict)


_POOLS: weakref.WeakKeyDictionary[Inventory, dict[tuple[Any, ...], _Pool]] = weakref.WeakKeyDictionary()


def _pool(inv: Inventory, *, builtins: bool, origin: K8sObject | None = None) -> _Pool:
    """The ClusterRoles ``origin`` sees (its own variant's, plain files', the cluster's: Inventory.visible)."""
    objs = inv.of_kind("ClusterRole")
    src = origin.source if origin is not None else None
    key = (len(objs), len(inv.objects), builtins, src and src.variant, src and src.unit is None)
    pools = _POOLS.setdefault(inv, {})
    if len(pools) > 4096 or any(k[:2] != key[:2] for k in pools):
        pools.clear()
    cached = pools.get(key)
    if cached is not None:
        return cached
    roles: dict[str, tuple[Mapping[str, Any], bool]] = {}
    if builtins:
        roles.update({name: (raw, True) for name, raw in BUILTIN_CLUSTER_ROLES.items()})
    if origin is None:
        for obj in objs:
            roles[obj.name] = (obj.raw, False)
    else:
        seen: set[str] = set()
        for obj in inv.visible(origin, objs):  # nearest first: the first of each name is the one a get() finds
            if obj.name not in seen:
                seen.add(obj.name)
                roles[obj.name] = (obj.raw, False)
    pool = pools[key] = _Pool(roles)
    return pool


_BUILTIN_POOL = _Pool({name: (raw, True) for name, raw in BUILTIN_CLUSTER_ROLES.items()})


def _own_rules(raw: Mapping[str, Any], name: str) -> list[Rule]:
    rules = raw.get("rules")
    if not isinstance(rules, list):
        return []
    return [Rule.parse(r, name, i) for i, r in enumerate(rules) if isinstance(r, dict)]


def _effective(name: str, pool: _Pool, seen: frozenset[str] = frozenset()) -> list[Rule]:
    """A ClusterRole's own rules plus, for an aggregated role, those of every ClusterRole it selects."""
    if not seen and name in pool.effective:
        return list(pool.effective[name])
    raw, _ = pool.roles[name]
    out = _own_rules(raw, name)
    selectors = mapping(raw.get("aggregationRule")).get("clusterRoleSelectors")
    if isinstance(selectors, list) and selectors:
        for other in sorted(pool.roles):
            if other == name or other in seen:
                continue
            labels = mapping(mapping(pool.roles[other][0].get("metadata")).get("labels"))
            if any(aggregation_selects(sel, labels) for sel in selectors):
                out += _effective(other, pool, seen | {name})
    unique: dict[tuple[tuple[str, ...], ...], Rule] = {}
    for rule in out:
        unique.setdefault(rule.key, rule)
    if not seen:
        pool.effective[name] = tuple(unique.values())
    return list(unique.values())


def _resolve_role(binding: K8sObject, inv: Inventory) -> Role:
    ref = mapping(binding.raw.get("roleRef"))
    kind, name = ref.get("kind"), ref.get("name")
    if not isinstance(name, str) or not name or kind not in ("Role", "ClusterRole"):
        return Role(str(kind or "role"), str(name or "?"), None, (), "invalid",
                    "its roleRef does not name a Role or ClusterRole, so the API server rejects the binding "
                    "and it grants nothing")
    if kind == "Role":
        if binding.kind == "ClusterRoleBinding":
            return Role("Role", name, None, (), "invalid",
                        "a ClusterRoleBinding can only refer to a ClusterRole; the API server rejects it, so it "
                        "grants nothing")
        ns = binding.namespace
        obj = inv.get("Role", ns, name, origin=binding)
        if obj is not None:
            return Role("Role", name, ns, tuple(_own_rules(obj.raw, name)), "found")
        if why := inv.unavailable("Role"):
            return Role("Role", name, ns, (), "unavailable", f"Roles cannot be read: {why}")
        if "Role" in inv.fetched:
            return Role("Role", name, ns, (), "missing",
                        f"Role {ns}/{name} does not exist, so the binding grants nothing (until a Role of that "
                        "name is created)")
        return Role("Role", name, ns, (), "absent",
                    f"Role {ns}/{name} is not among the inputs, so what the binding grants is unknown: add its "
                    "manifest")
    obj = inv.get("ClusterRole", None, name, origin=binding)
    if obj is not None:
        live = "ClusterRole" in inv.fetched
        return Role("ClusterRole", name, None,
                    tuple(_effective(name, _pool(inv, builtins=not live, origin=binding))), "found")
    if why := inv.unavailable("ClusterRole"):
        rules = tuple(_effective(name, _BUILTIN_POOL)) if name in BUILTIN_CLUSTER_ROLES else ()
        return Role("ClusterRole", name, None, rules, "unavailable", f"ClusterRoles cannot be read: {why}")
    if "ClusterRole" in inv.fetched:
        return Role("ClusterRole", name, None, (), "missing",
                    f"ClusterRole {name} does not exist, so the binding grants nothing (until a ClusterRole of "
                    "that name is created)")
    if name in BUILTIN_CLUSTER_ROLES:
        return Role("ClusterRole", name, None, tuple(_effective(name, _pool(inv, builtins=True, origin=binding))),
                    "builtin")
    return Role("ClusterRole", name, None, (), "absent",
                f"ClusterRole {name} is not among the inputs and is not a built-in role, so what the binding "
                "grants is unknown: add its manifest")


# ----------------------------------------------------------------- subjects
@dataclass(frozen=True, slots=True)
class Subject:
    """One subject of a binding (``subjects[index]``), as the authorizer matches it."""

    kind: str
    name: str
    namespace: str | None = None
    index: int = 0
    defaulted: bool = False

    @property
    def service_account(self) -> tuple[str, str] | None:
        """``(namespace, name)`` when the subject is one ServiceAccount (also as a User)."""
        if self.kind == "ServiceAccount" and self.namespace:
            return self.namespace, self.name
        if self.kind == "User" and (m := _SA_USER.match(self.name)):
            return m.group(1), m.group(2)
        return None

    @property
    def field(self) -> str:
        return f"subjects[{self.index}]"

    def describe(self) -> str:
        if self.kind == "ServiceAccount":
            return f"ServiceAccount {self.namespace}/{self.name}"
        sa = self.service_account
        if sa:
            return f"User {self.name} (ServiceAccount {sa[0]}/{sa[1]})"
        return f"{self.kind} {self.name}"


def system_subject(s: Subject) -> str | None:
    """Why ``s`` is one of the cluster's own identities, or None. See the module docstring."""
    if s.kind == "Group" and s.name in ADMIN_GROUPS:
        return "an administrators group by design"
    sa = s.service_account
    if sa is not None:
        if sa[0] == "kube-system" and sa[1] != "default":
            return "a kube-system component's ServiceAccount"
        return None
    if s.kind == "User" and s.name.startswith("system:") and s.name != "system:anonymous":
        return "a Kubernetes component user"
    if s.kind == "Group" and s.name.startswith("system:") and s.name not in _BROAD_GROUPS \
            and not s.name.startswith("system:serviceaccounts:"):
        return "a Kubernetes system group"
    return None


# ----------------------------------------------------------------- bindings
@dataclass(frozen=True, slots=True)
class Binding:
    """A RoleBinding or ClusterRoleBinding with its role and subjects resolved."""

    obj: K8sObject
    role: Role
    subjects: tuple[Subject, ...]
    ignored: tuple[str, ...] = ()

    @property
    def cluster_wide(self) -> bool:
        return self.obj.kind == "ClusterRoleBinding"

    def scope(self, cluster_scoped: bool = False) -> str:
        if cluster_scoped:
            return "cluster-wide"
        return "in every namespace" if self.cluster_wide else f"in namespace {self.obj.namespace}"

    def grants(self, verb: str, group: str, resource: str, *, cluster_scoped: bool = False,
               named: bool = False) -> list[Rule]:
        """The rules allowing ``verb`` on ``resource`` for every object (``named``: or for some named ones).

        ``cluster_scoped`` resources are only reachable through a ClusterRoleBinding.
        """
        if cluster_scoped and not self.cluster_wide:
            return []
        test: Callable[[Rule], bool] = (
            (lambda r: r.allows_some(verb, group, resource)) if named else
            (lambda r: r.allows(verb, group, resource)))
        return [r for r in self.role.rules if test(r)]

    def via(self) -> str:
        return f"{self.obj.describe()} binds {self.role.describe()}"


def resolve(binding: K8sObject, inventory: Inventory) -> Binding:
    """Resolve ``binding``'s role (aggregation included) and subjects."""
    role = _resolve_role(binding, inventory)
    subjects: list[Subject] = []
    ignored: list[str] = []
    raw_subjects = binding.raw.get("subjects")
    for i, s in enumerate(raw_subjects if isinstance(raw_subjects, list) else ()):
        s = mapping(s)
        kind, name = s.get("kind"), str(s.get("name") or "")
        if kind == "ServiceAccount":
            ns = s.get("namespace") or (binding.namespace if binding.kind == "RoleBinding" else None)
            if not ns:
                ignored.append(f"subjects[{i}] ServiceAccount {name} has no namespace; in a ClusterRoleBinding "
                               "it matches no one")
                continue
            subjects.append(Subject("ServiceAccount", name, str(ns), i, defaulted=not s.get("namespace")))
        elif kind in ("User", "Group"):
            subjects.append(Subject(kind, name, None, i))
        else:
            ignored.append(f"subjects[{i}] has kind {kind!r}, which matches no one")
    return Binding(binding, role, tuple(subjects), tuple(ignored))


# ----------------------------------------------------------------- shared shapes
Hit = tuple[str, list[Rule]]


def _refs(b: Binding, rules: Iterable[Rule]) -> str:
    seen: dict[tuple[str, int], Rule] = {}
    for r in rules:
        seen.setdefault((r.role, r.index), r)
    return "; ".join(r.ref(b.role.name) for r in seen.values())


def _not_decided(b: Binding, subjects: Sequence[Subject]) -> CheckResult:
    """Nothing was found: a pass only when the role's rules were all known."""
    who = ", ".join(s.describe() for s in subjects)
    if b.role.state in ("unavailable", "absent"):
        return Undetermined(f"{b.obj.describe()} grants {b.role.kind} {b.role.name} to {who}, and "
                            f"{b.role.reason}")
    if b.role.state in ("missing", "invalid"):
        return NotApplicable(f"{b.obj.describe()}: {b.role.reason}")
    return []


def _privilege(binding: K8sObject, inv: Inventory, find: Callable[[Binding], list[Hit]], *,
               exempt: Callable[[Subject], bool] | None = None) -> CheckResult:
    b = resolve(binding, inv)
    exempt = exempt or (lambda s: system_subject(s) is not None)
    subjects = [s for s in b.subjects if not exempt(s)]
    if not subjects:
        return []
    hits = find(b)
    if not hits:
        return _not_decided(b, subjects)
    what = "; ".join(h[0] for h in hits)
    refs = _refs(b, (r for h in hits for r in h[1]))
    return [Finding(f"{s.describe()} {what}: {b.via()}, {refs}", s.field) for s in subjects]


# ----------------------------------------------------------------- checks
def cluster_admin(binding: K8sObject, inventory: Inventory) -> CheckResult:
    """No subject outside the administrators groups holds full admin.

    Full admin is a rule with ``*`` verbs on ``*`` resources in ``*``
    apiGroups without resourceNames, which is what ``cluster-admin`` holds
    (a ClusterRoleBinding: the whole cluster; a RoleBinding: the whole
    namespace). Exempt: Group ``system:masters`` and ``kubeadm:cluster-admins``
    only; every other subject, system users and kube-system ServiceAccounts
    included, is reported.
    """
    def find(b: Binding) -> list[Hit]:
        rules = [r for r in b.role.rules if r.is_full_admin]
        if not rules:
            return []
        where = "of the cluster" if b.cluster_wide else f"of namespace {b.obj.namespace}"
        return [(f"has full control {where} (every verb on every resource)", rules)]

    return _privilege(binding, inventory, find,
                      exempt=lambda s: s.kind == "Group" and s.name in ADMIN_GROUPS)


def wildcards(binding: K8sObject, inventory: Inventory) -> CheckResult:
    """The bound role has no rule with ``*`` verbs or ``*`` / ``*/subresource`` resources.

    A wildcard grants every verb or resource that exists now and every one
    added later (custom resources included). Rules limited by resourceNames
    are reported too, with the names. ``*`` in apiGroups alone and
    nonResourceURLs rules are not reported. System subjects are exempt.
    """
    def find(b: Binding) -> list[Hit]:
        rules = [r for r in b.role.rules if r.wildcard]
        return [(f"gets wildcard permissions {b.scope()}", rules)] if rules else []

    return _privilege(binding, inventory, find)


def secrets_read(binding: K8sObject, inventory: Inventory) -> CheckResult:
    """No subject outside the system may get, list or watch every Secret (of a namespace).

    ``list`` and ``watch`` return the Secrets' data, not just their names.
    Through a ClusterRoleBinding the access covers every namespace, and the
    finding says so. Rules limited to named Secrets (resourceNames) pass:
    that is the least-privilege form the guide asks for.
    """
    def find(b: Binding) -> list[Hit]:
        found = {v: b.grants(v, "", "secrets") for v in ("get", "list", "watch")}
        verbs = [v for v, rules in found.items() if rules]
        if not verbs:
            return []
        scope = "in every namespace (cluster-wide)" if b.cluster_wide else f"in namespace {b.obj.namespace}"
        return [(f"can {', '.join(verbs)} Secrets {scope}", [r for v in verbs for r in found[v]])]

    return _privilege(binding, inventory, find)


def exec_attach(binding: K8sObject, inventory: Inventory) -> CheckResult:
    """No subject outside the system may exec or attach into pods.

    Fails ``create`` on ``pods/exec`` or ``pods/attach`` (what kubectl exec
    and attach need), and also ``get`` on them: before Kubernetes 1.35, or
    with the ``AuthorizePodWebsocketUpgradeCreatePermission`` feature gate
    off, the API server authorizes a WebSocket exec or attach as ``get``.
    Rules limited to named pods pass.
    """
    def find(b: Binding) -> list[Hit]:
        hits: list[Hit] = []
        create = {sub: b.grants("create", "", f"pods/{sub}") for sub in ("exec", "attach")}
        get = {sub: b.grants("get", "", f"pods/{sub}") for sub in ("exec", "attach") if not create[sub]}
        subs = [s for s, rules in create.items() if rules]
        if subs:
            hits.append((f"can create {', '.join('pods/' + s for s in subs)} {b.scope()} (a shell in, or the "
                         "console of, any container there)", [r for s in subs for r in create[s]]))
        subs = [s for s, rules in get.items() if rules]
        if subs:
            hits.append((f"can get {', '.join('pods/' + s for s in subs)} {b.scope()}, which opens them over "
                         "WebSocket on API servers before v1.35 (or with the "
                         "AuthorizePodWebsocketUpgradeCreatePermission feature gate off)",
                         [r for s in subs for r in get[s]]))
        return hits

    return _privilege(binding, inventory, find)


_PRIVILEGE_VERBS: tuple[tuple[str, str, str, bool, str], ...] = (
    # verb, apiGroup, resource, cluster-scoped request?, what it allows
    ("escalate", RBAC_GROUP, "roles", False, "grant permissions it does not hold"),
    ("escalate", RBAC_GROUP, "clusterroles", True, "grant permissions it does not hold"),
    ("bind", RBAC_GROUP, "roles", False, "bind roles whose permissions it does not hold"),
    # a RoleBinding to a ClusterRole is authorized as bind on clusterroles in the binding's namespace
    ("bind", RBAC_GROUP, "clusterroles", False, "bind roles whose permissions it does not hold"),
    ("impersonate", "", "users", True, "act as other identities"),
    ("impersonate", "", "groups", True, "act as other identities"),
    ("impersonate", "", "serviceaccounts", False, "act as other identities"),
)


def escalate_bind_impersonate(binding: K8sObject, inventory: Inventory) -> CheckResult:
    """No subject outside the system holds escalate or bind on roles, or impersonate.

    ``escalate`` lets a subject write roles with permissions it lacks,
    ``bind`` lets it bind roles it could not create, ``impersonate`` lets it
    act as another user, group or ServiceAccount: each is a path to any
    permission. Rules limited by resourceNames are reported too (naming them),
    since what they reach depends on the named roles or identities.
    Through a RoleBinding, escalate on clusterroles and impersonation of
    users and groups grant nothing (cluster-scoped requests), and are ignored.
    """
    def find(b: Binding) -> list[Hit]:
        hits: list[Hit] = []
        for verb in ("escalate", "bind", "impersonate"):
            scopes: dict[str, list[str]] = {}
            rules: list[Rule] = []
            why = ""
            for v, group, resource, cluster_scoped, what in _PRIVILEGE_VERBS:
                if v != verb:
                    continue
                found = b.grants(verb, group, resource, cluster_scoped=cluster_scoped, named=True)
                if found:
                    names = sorted({n for r in found for n in r.resource_names}) \
                        if all(r.resource_names for r in found) else []
                    label = f"{resource} named {', '.join(names)}" if names else resource
                    scopes.setdefault(b.scope(cluster_scoped), []).append(label)
                    rules += found
                    why = what
            if scopes:
                where = " and ".join(f"{', '.join(labels)} {scope}" for scope, labels in scopes.items())
                hits.append((f"can {verb} {where} ({why})", rules))
        return hits

    return _privilege(binding, inventory, find)


def nodes_proxy(binding: K8sObject, inventory: Inventory) -> CheckResult:
    """No subject outside the system may get or create ``nodes/proxy``.

    nodes/proxy reaches each kubelet's API through the API server: pod
    lists, logs, /configz, and commands in containers (``create``, or ``get``
    over WebSocket on kubelets that authorize the upgrade as get). Only a
    ClusterRoleBinding grants it (nodes are cluster-scoped). Rules limited to
    named nodes are reported too.
    """
    def find(b: Binding) -> list[Hit]:
        found = {v: b.grants(v, "", "nodes/proxy", cluster_scoped=True, named=True) for v in ("get", "create")}
        verbs = [v for v, rules in found.items() if rules]
        if not verbs:
            return []
        rules = [r for v in verbs for r in found[v]]
        names = sorted({n for r in rules for n in r.resource_names}) if all(r.resource_names for r in rules) else []
        nodes = f"nodes {', '.join(names)}" if names else "every node"
        return [(f"can {', '.join(verbs)} nodes/proxy, the kubelet API of {nodes} (pods, logs, configuration "
                 "and commands in containers)", rules)]

    return _privilege(binding, inventory, find)


def _named(rules: list[Rule]) -> str:
    """`` named a, b`` when every rule is limited by resourceNames, else ``""``."""
    if rules and all(r.resource_names for r in rules):
        return " named " + ", ".join(sorted({n for r in rules for n in r.resource_names}))
    return ""


def credential_minting(binding: K8sObject, inventory: Inventory) -> CheckResult:
    """No subject outside the system may create Secrets or ServiceAccount tokens.

    ``create`` on ``secrets`` mints a credential: a Secret of type
    ``kubernetes.io/service-account-token`` naming any ServiceAccount of the
    namespace is filled with a token for it by the token controller, which
    never expires. ``create`` on ``serviceaccounts/token`` (the TokenRequest
    API) returns a token for any ServiceAccount of the namespace (for named
    ones when the rule has resourceNames, reported with the names). Either
    way the subject acts as the most privileged ServiceAccount it can reach.
    A rule with resourceNames never allows creating a Secret (the name is not
    known when the request is authorized).
    """
    def find(b: Binding) -> list[Hit]:
        hits: list[Hit] = []
        secrets = b.grants("create", "", "secrets")
        if secrets:
            text = (f"can create Secrets {b.scope()}, including ServiceAccount token Secrets that the token "
                    "controller fills with a non-expiring token for any ServiceAccount there")
            hits.append((text, secrets))
        tokens = b.grants("create", "", "serviceaccounts/token", named=True)
        if tokens:
            whose = f"ServiceAccounts{_named(tokens)}" if _named(tokens) else "any ServiceAccount"
            hits.append((f"can create serviceaccounts/token {b.scope()} (a token for {whose})", tokens))
        return hits

    return _privilege(binding, inventory, find)


#: Workload resources whose pods run with a ServiceAccount of the namespace: (apiGroup, resource).
_WORKLOAD_RESOURCES: tuple[tuple[str, str], ...] = (
    ("", "pods"), ("", "replicationcontrollers"), ("apps", "deployments"), ("apps", "daemonsets"),
    ("apps", "statefulsets"), ("apps", "replicasets"), ("batch", "jobs"), ("batch", "cronjobs"),
)
_WORKLOAD_VERBS = ("create", "update", "patch")


def kube_system_workloads(binding: K8sObject, inventory: Inventory) -> CheckResult:
    """No subject outside the system may create, update or patch workloads in kube-system.

    A pod in kube-system can run as any ServiceAccount there (the
    controllers' accounts included, several of which may create tokens or
    read every Secret), and mount their tokens: managing pods, deployments,
    daemonsets, statefulsets, replicasets, replicationcontrollers, jobs or
    cronjobs there is a path to those permissions. Reached through a
    RoleBinding in kube-system or any ClusterRoleBinding; a RoleBinding in
    another namespace passes. Rules limited to named objects are reported
    with the names (updating a named Deployment still changes its pods).
    """
    def find(b: Binding) -> list[Hit]:
        if not b.cluster_wide and b.obj.namespace != "kube-system":
            return []
        by_verb: dict[str, list[str]] = {}
        rules: list[Rule] = []
        for verb in _WORKLOAD_VERBS:
            for group, resource in _WORKLOAD_RESOURCES:
                found = b.grants(verb, group, resource, named=verb != "create")
                if found:
                    by_verb.setdefault(verb, []).append(resource + _named(found))
                    rules += found
        if not by_verb:
            return []
        what = "; ".join(f"{verb} {', '.join(res)}" for verb, res in by_verb.items())
        where = "in every namespace, kube-system included" if b.cluster_wide else "in namespace kube-system"
        text = (f"can {what} {where} (pods there can run as, and mount the tokens of, the cluster components' "
                "ServiceAccounts)")
        return [(text, rules)]

    return _privilege(binding, inventory, find)


_ADMISSION_GROUP = "admissionregistration.k8s.io"
_WEBHOOK_RESOURCES = ("validatingwebhookconfigurations", "mutatingwebhookconfigurations")
_WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")


def webhook_configuration_write(binding: K8sObject, inventory: Inventory) -> CheckResult:
    """No subject outside the system may write admission webhook configurations.

    Validating and mutating webhooks are where policy engines, image
    verifiers and Pod Security extensions sit: whoever may update or patch
    (or create, delete) their configurations can turn them off, narrow what
    they see, or point a mutating webhook at a server of their own that
    rewrites every pod. Cluster-scoped: only a ClusterRoleBinding grants it.
    Rules limited to named configurations are reported with the names.
    """
    def find(b: Binding) -> list[Hit]:
        by_verb: dict[str, list[str]] = {}
        rules: list[Rule] = []
        for verb in _WRITE_VERBS:
            for resource in _WEBHOOK_RESOURCES:
                found = b.grants(verb, _ADMISSION_GROUP, resource, cluster_scoped=True, named=verb != "create")
                if found:
                    by_verb.setdefault(verb, []).append(resource + _named(found))
                    rules += found
        if not by_verb:
            return []
        what = "; ".join(f"{verb} {', '.join(res)}" for verb, res in by_verb.items())
        return [(f"can {what} (the admission webhooks that enforce the cluster's policies)", rules)]

    return _privilege(binding, inventory, find)


_CSR_GROUP = "certificates.k8s.io"


def csr_approval(binding: K8sObject, inventory: Inventory) -> CheckResult:
    """No subject outside the system may approve certificate signing requests.

    Approving a CSR takes ``update`` (or ``patch``) on
    ``certificatesigningrequests/approval`` and ``approve`` on the
    ``signers`` resource of the CSR's signer (resourceNames are signer names,
    such as ``kubernetes.io/kube-apiserver-client``, or ``kubernetes.io/*``).
    Together they mint a client certificate for any user or group, such as
    ``system:masters``. Fails only when one binding grants both (the signers
    are named); one half alone is reported by no finding. Cluster-scoped: only
    a ClusterRoleBinding grants it.
    """
    def find(b: Binding) -> list[Hit]:
        approval = [r for v in ("update", "patch")
                    for r in b.grants(v, _CSR_GROUP, "certificatesigningrequests/approval", cluster_scoped=True,
                                      named=True)]
        signers = b.grants("approve", _CSR_GROUP, "signers", cluster_scoped=True, named=True)
        if not approval or not signers:
            return []
        which = f"signers{_named(signers)}" if _named(signers) else "every signer"
        text = (f"can approve certificate signing requests for {which} (update certificatesigningrequests/"
                "approval and approve signers): client certificates for any identity")
        return [(text, approval + signers)]

    return _privilege(binding, inventory, find)


def _bootstrap_role(role: K8sObject) -> bool:
    """A role of Kubernetes' bootstrap policy (the API server re-creates it) or a component's ``system:`` role."""
    labels = role.labels
    return (labels.get("kubernetes.io/bootstrapping") == "rbac-defaults" or role.name.startswith("system:")
            or (role.kind == "ClusterRole" and role.name in BUILTIN_CLUSTER_ROLES))


_USES: weakref.WeakKeyDictionary[Inventory, tuple[int, set[tuple[str, str | None, str]],
                                                  list[tuple[str, list[Any]]]]] = weakref.WeakKeyDictionary()


def _role_uses(inv: Inventory) -> tuple[set[tuple[str, str | None, str]], list[tuple[str, list[Any]]]]:
    """Roles named by a binding ((kind, namespace of a Role, name)), and the aggregating ClusterRoles' selectors."""
    inv.ensure("RoleBinding", "ClusterRoleBinding", "ClusterRole")
    stamp = len(inv.objects)
    cached = _USES.get(inv)
    if cached is not None and cached[0] == stamp:
        return cached[1], cached[2]
    bindings = inv.of_kind("RoleBinding", "ClusterRoleBinding")
    roles = inv.of_kind("ClusterRole")
    refs: set[tuple[str, str | None, str]] = set()
    for b in bindings:
        ref = mapping(b.raw.get("roleRef"))
        kind, name = ref.get("kind"), ref.get("name")
        if kind in ("Role", "ClusterRole") and isinstance(name, str):
            refs.add((kind, b.namespace if kind == "Role" and b.kind == "RoleBinding" else None, name))
    aggregators = []
    for parent in roles:
        selectors = mapping(parent.raw.get("aggregationRule")).get("clusterRoleSelectors")
        if isinstance(selectors, list) and selectors:
            aggregators.append((parent.name, selectors))
    _USES[inv] = (stamp, refs, aggregators)
    return refs, aggregators


def unused_role(role: K8sObject, inventory: Inventory) -> CheckResult:
    """A Role or ClusterRole that no binding refers to is listed (information).

    Unused roles are least-privilege debt: permissions that nobody reviews
    and that a later binding (or ``bind`` permission) hands out unseen. A
    Role is used when a RoleBinding of its namespace names it; a ClusterRole
    when any binding names it, or when its labels match an aggregationRule
    of another ClusterRole (it feeds that role). Kubernetes' own default
    roles (label ``kubernetes.io/bootstrapping=rbac-defaults``, names
    ``system:...``, admin/edit/view) are not applicable. A cluster-level
    control: on application manifests it is undetermined (a binding may live
    elsewhere in the cluster), and so when bindings cannot be read.
    """
    if role.kind not in ("Role", "ClusterRole"):
        return NotApplicable(f"{role.kind} is not a role")
    if _bootstrap_role(role):
        return NotApplicable(f"{role.kind} {role.name} is one of Kubernetes' default roles, kept by the API server")
    if not inventory.is_cluster:
        return Undetermined("the inputs are application manifests, not a cluster: a binding elsewhere in the cluster "
                            f"may refer to {role.kind} {role.name}")
    kinds = ("RoleBinding",) if role.kind == "Role" else ("RoleBinding", "ClusterRoleBinding")
    unreadable = {k: why for k in kinds if (why := inventory.unavailable(k))}
    if unreadable:
        return Undetermined("bindings cannot all be read: " + "; ".join(f"{k}: {w}" for k, w in unreadable.items()))
    refs, aggregators = _role_uses(inventory)
    if (role.kind, role.namespace if role.kind == "Role" else None, role.name) in refs:
        return []
    if role.kind == "ClusterRole":
        for parent, selectors in aggregators:
            if parent != role.name and any(aggregation_selects(s, role.labels) for s in selectors):
                return []
    where = f"namespace {role.namespace}" if role.kind == "Role" else "the cluster"
    name = f"{role.namespace}/{role.name}" if role.kind == "Role" else role.name
    return [Finding(f"{role.kind} {name} is bound by no {' or '.join(kinds)} in {where}"
                    + ("" if role.kind == "Role" else " and aggregated into no other ClusterRole")
                    + ": unused (delete it, or bind it where it is needed)", None)]


# ----------------------------------------------------------------- public grants
def _builtin_rules(name: str) -> tuple[Rule, ...]:
    return tuple(_own_rules(BUILTIN_CLUSTER_ROLES[name], name))


#: What Kubernetes and kubeadm grant to everyone by default, by role
#: (kind, namespace, name): the role may hold these rules and nothing more.
PUBLIC_GRANTS: dict[tuple[str, str | None, str], tuple[Rule, ...]] = {
    # kube-apiserver: health and version for everyone, anonymous requests included
    ("ClusterRole", None, "system:public-info-viewer"): _builtin_rules("system:public-info-viewer"),
    # kube-apiserver: API discovery and self-reviews for authenticated users
    ("ClusterRole", None, "system:discovery"): _builtin_rules("system:discovery"),
    ("ClusterRole", None, "system:basic-user"): _builtin_rules("system:basic-user"),
    # kube-apiserver: the OIDC issuer documents for every ServiceAccount
    ("ClusterRole", None, "system:service-account-issuer-discovery"):
        _builtin_rules("system:service-account-issuer-discovery"),
    # kubeadm: `kubeadm join` reads the cluster-info ConfigMap in kube-public without credentials
    ("Role", "kube-public", "kubeadm:bootstrap-signer-clusterinfo"):
        (Rule.parse(_r("get", "", "configmaps", "cluster-info"), "kubeadm:bootstrap-signer-clusterinfo", 0),),
}

_ANONYMOUS_ALLOWED = {("ClusterRole", None, "system:public-info-viewer"),
                      ("Role", "kube-public", "kubeadm:bootstrap-signer-clusterinfo")}
_RoleKey = tuple[str, str | None, str]
_AUTHENTICATED_ALLOWED: set[_RoleKey] = {("ClusterRole", None, "system:public-info-viewer"),
                                         ("ClusterRole", None, "system:discovery"),
                                         ("ClusterRole", None, "system:basic-user")}
_SERVICEACCOUNTS_ALLOWED: set[_RoleKey] = {("ClusterRole", None, "system:service-account-issuer-discovery")}


def _public_grant(b: Binding, allowed: set[tuple[str, str | None, str]]) -> CheckResult | None:
    """[] when the binding is one of the ``allowed`` default grants, with the default content;
    findings-to-be (None) when it is not one; Undetermined when the role cannot be read."""
    key = (b.role.kind, b.role.namespace, b.role.name)
    if key not in allowed:
        return None
    if b.role.state == "unavailable" or b.role.state == "absent":
        return Undetermined(f"{b.obj.describe()} is the default grant of {b.role.describe()}, and "
                            f"{b.role.reason}, so its content cannot be compared with the default")
    return []


def _beyond(b: Binding) -> list[Rule]:
    """Rules of the bound role beyond its default content (for roles in :data:`PUBLIC_GRANTS`)."""
    defaults = PUBLIC_GRANTS.get((b.role.kind, b.role.namespace, b.role.name), ())
    return [r for r in b.role.rules if not any(_covers(d, r) for d in defaults)]


def _everyone(binding: K8sObject, inv: Inventory, match: Callable[[Subject], str | None],
              allowed: set[tuple[str, str | None, str]]) -> CheckResult:
    b = resolve(binding, inv)
    subjects = [(s, who) for s in b.subjects if (who := match(s))]
    if not subjects:
        return []
    public = _public_grant(b, allowed)
    if isinstance(public, Undetermined):
        return public
    extra = _beyond(b) if public is not None else []
    if public is not None and not extra:
        return []
    findings = []
    for s, who in subjects:
        if extra:
            text = (f"{b.obj.describe()} grants {b.role.describe()} to {s.describe()}, that is to {who}, and the "
                    f"role holds more than its Kubernetes default: {_refs(b, extra)}")
        else:
            text = (f"{b.obj.describe()} grants {b.role.describe()} to {s.describe()}, that is to {who}: "
                    f"{b.role.summary()}")
        findings.append(Finding(text, s.field))
    return findings


def anonymous(binding: K8sObject, inventory: Inventory) -> CheckResult:
    """Nothing is bound to User ``system:anonymous`` or Group ``system:unauthenticated``.

    Allowed, when the role holds no more than upstream: the API server's
    ``system:public-info-viewer`` grant (GET /healthz, /livez, /readyz,
    /version) and kubeadm's ``kube-public/kubeadm:bootstrap-signer-clusterinfo``
    (get the ``cluster-info`` ConfigMap, for ``kubeadm join``). Any other
    binding fails, even to a role that does not exist yet: it takes effect
    the moment the role is created, or anonymous auth is turned back on.
    """
    def match(s: Subject) -> str | None:
        if s.kind == "User" and s.name == "system:anonymous":
            return "every request without credentials"
        if s.kind == "Group" and s.name == "system:unauthenticated":
            return "every unauthenticated request"
        return None

    return _everyone(binding, inventory, match, _ANONYMOUS_ALLOWED)


def authenticated(binding: K8sObject, inventory: Inventory) -> CheckResult:
    """Group ``system:authenticated`` is bound only to the default discovery roles.

    Allowed, with their upstream content: ``system:discovery``,
    ``system:basic-user`` and ``system:public-info-viewer``. Anything else
    is granted to every user and every ServiceAccount token in the cluster
    (and, on some managed clusters, to any account of the cloud provider).
    """
    def match(s: Subject) -> str | None:
        if s.kind == "Group" and s.name == "system:authenticated":
            return "every authenticated user and ServiceAccount"
        return None

    result = _everyone(binding, inventory, match, _AUTHENTICATED_ALLOWED)
    if not isinstance(result, list) or not result:
        return result
    # Kubescape C-0265 fails only a role naming a takeover resource. (Trivy KSV-01011 is no counterpart: it
    # fires only for a GKE cluster version, never on manifests.)
    takeover = any(res in KUBESCAPE_TAKEOVER_RESOURCES for r in resolve(binding, inventory).role.rules
                   for res in r.resources)
    cited = refs(kubescape=["C-0265"] if takeover else [])
    return [replace(f, references=cited) for f in result]


#: The resources Kubescape C-0265 looks for in a role bound to system:authenticated (any verb; its
#: ``statefulset`` and ``daemonset`` are singular, so they never match a rule as the API server writes it).
KUBESCAPE_TAKEOVER_RESOURCES = frozenset({"*", "pods", "pods/exec", "pods/attach", "pods/portforward",
                                          "deployments", "statefulset", "daemonset", "jobs", "cronjobs", "nodes",
                                          "secrets"})


def default_service_account(binding: K8sObject, inventory: Inventory) -> CheckResult:
    """No role is bound to a namespace's ``default`` ServiceAccount.

    Every pod that names no ServiceAccount runs as ``default``, so its roles
    go to all of them. Also fails Groups ``system:serviceaccounts:<ns>`` and
    ``system:serviceaccounts``, which contain the default ServiceAccounts,
    except the API server's own ``system:service-account-issuer-discovery``
    grant (with its upstream content). Applies in every namespace,
    kube-system included.
    """
    def match(s: Subject) -> str | None:
        sa = s.service_account
        if sa is not None and sa[1] == "default":
            return f"every pod in namespace {sa[0]} that names no ServiceAccount"
        if s.kind == "Group" and s.name == "system:serviceaccounts":
            return "every ServiceAccount in the cluster, each namespace's default included"
        if s.kind == "Group" and s.name.startswith("system:serviceaccounts:"):
            return (f"every ServiceAccount in namespace {s.name.split(':', 2)[2]}, default included")
        return None

    return _everyone(binding, inventory, match, _SERVICEACCOUNTS_ALLOWED)


# ----------------------------------------------------------------- admin / infrastructure
def _service_account_of(w: Workload) -> str:
    spec = w.pod_spec
    return str(spec.get("serviceAccountName") or spec.get("serviceAccount") or "default")


def _covers_service_accounts(s: Subject) -> bool:
    """Is ``s`` a ServiceAccount, or a group that contains ServiceAccounts?"""
    return s.service_account is not None or (s.kind == "Group" and (
        s.name in ("system:serviceaccounts", "system:authenticated") or s.name.startswith("system:serviceaccounts:")))


def _runs_as(s: Subject, w: Workload) -> bool:
    """Does workload ``w`` run with an identity that subject ``s`` covers?"""
    ns, name = w.namespace or "default", _service_account_of(w)
    sa = s.service_account
    if sa is not None:
        return sa == (ns, name)
    if s.kind == "Group":
        return s.name in ("system:serviceaccounts", "system:authenticated") or s.name == f"system:serviceaccounts:{ns}"
    return False


def admin_infra_separation(binding: K8sObject, inventory: Inventory) -> CheckResult:
    """Workloads do not run with cluster administrator rights.

    Reading of the guide's (v1.2) separation of administrator and
    infrastructure roles: cluster-wide administrator rights (full admin,
    e.g. cluster-admin, through a ClusterRoleBinding) belong to people's
    identities, never to a ServiceAccount that a workload among the inputs
    runs with. Fails a ClusterRoleBinding that gives full admin to such a
    ServiceAccount, directly, as a ``system:serviceaccount:`` user, or through
    Groups ``system:serviceaccounts[:<ns>]`` or ``system:authenticated``.
    kube-system components' ServiceAccounts are exempt (they are the
    infrastructure); RoleBindings grant no cluster-wide rights and pass.
    """
    b = resolve(binding, inventory)
    if not b.cluster_wide:
        return []
    subjects = [s for s in b.subjects if system_subject(s) is None and _covers_service_accounts(s)]
    if not subjects:
        return []
    admin = [r for r in b.role.rules if r.is_full_admin]
    if not admin:
        return _not_decided(b, subjects)
    workloads = [w for w in inventory.all_workloads()
                 if not (w.namespace == "kube-system" and _service_account_of(w) != "default")
                 and inventory.sees(binding, w.obj)]
    findings = []
    for s in subjects:
        users = [w for w in workloads if _runs_as(s, w)]
        if not users:
            continue
        shown = ", ".join(w.describe() for w in users[:3]) + (f" and {len(users) - 3} more" if len(users) > 3 else "")
        findings.append(Finding(
            f"{s.describe()} holds cluster administrator rights ({b.via()}, {_refs(b, admin)}) and {shown} "
            f"{'runs' if len(users) == 1 else 'run'} with it: workloads run with administrator rights", s.field))
    if findings:
        return findings
    missing = {k: why for k in WORKLOAD_KINDS if (why := inventory.unavailable(k))}
    if missing:
        return Undetermined(f"{b.obj.describe()} gives cluster administrator rights to "
                            f"{', '.join(s.describe() for s in subjects)}, and workloads cannot all be read to tell "
                            f"whether one runs with it: " + "; ".join(f"{k}: {w}" for k, w in missing.items()))
    return []
