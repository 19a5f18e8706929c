"""Network separation checks (NSA/CISA guide, "Network separation and hardening").

NetworkPolicies are read the way the API server stores them
(k8s.io/api networking/v1 and its defaulting):

* ``spec.podSelector`` ``{}`` (or absent, or null: the API decodes both to
  ``{}``) selects every pod of the namespace; otherwise ``matchLabels`` and
  ``matchExpressions`` (In, NotIn, Exists, DoesNotExist) must all hold for
  the pod template's labels (``selectors.py``). A podSelector the API server
  would reject (unknown operator, ``In`` without values, ...) selects no pod:
  such a policy isolates nothing and denies nothing by default.
* ``spec.policyTypes`` absent or empty means ``[Ingress]``, plus ``Egress``
  when ``spec.egress`` has rules. Rules of a direction the policy does not
  list are ignored.
* A direction listed with no rules denies all traffic in that direction for
  the selected pods; a rule without ``from``/``to`` matches every peer, and
  one without ``ports`` every port. A port without ``protocol`` is TCP.
* Policies add up: a pod may talk where any policy selecting it allows.
  Pods on the host network are not governed by NetworkPolicies at all.

CNI policies (Cilium, Calico, Antrea; namespaced and cluster-wide) count
beside them in the policy-exists, default-deny and isolation checks, read as
their engines enforce them (``cni.py``); one whose reach cannot be decided
makes the verdict undetermined. The metadata-service and kube-system egress
checks read rule by rule and evaluate only ``networking.k8s.io`` rules: where
CNI policies may govern the namespace they say so instead of failing.

Each check takes the :class:`~pytest_k8shardening.model.Inventory` it reads
policies from; a kind the live scan may not read makes it return
:class:`Undetermined` with the API server's reason, never a verdict.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..model import WORKLOAD_KINDS, Inventory, K8sObject, Namespace, Workload, mapping
from . import CheckResult, Finding, NotApplicable, Undetermined
from ..selectors import InvalidSelector, requirements, selector_matches
from .cni import CniRule, Undecidable, cni_rules

__all__ = [
    "METADATA_ADDRESS",
    "METADATA_PORT",
    "InvalidSelector",
    "Policy",
    "cloud_metadata_blocked",
    "default_deny",
    "describe_selector",
    "kube_system_egress",
    "limit_range_defaults",
    "network_policy_exists",
    "policies_in",
    "resource_quota",
    "selector_matches",
    "workload_isolated",
]

#: The link-local address of the cloud instance metadata service (AWS, GCP,
#: Azure, OpenStack, ...), which hands out the node's cloud credentials.
METADATA_ADDRESS = ipaddress.ip_address("169.254.169.254")
#: The port it answers on (HTTP) with every major provider.
METADATA_PORT = 80

INGRESS, EGRESS = "Ingress", "Egress"
_RULES = {INGRESS: "ingress", EGRESS: "egress"}
_PEERS = {INGRESS: "from", EGRESS: "to"}
_K8S_GROUPS = ("networking.k8s.io/", "extensions/")


# ------------------------------------------------------------------ label selectors (selectors.py)
def _selects_everything(selector: Any) -> bool:
    return not selector or (not selector.get("matchLabels") and not selector.get("matchExpressions"))


def describe_selector(selector: Any) -> str:
    """``{}``, or ``app=api, tier in (web,api), !legacy``: kubectl's way of writing it."""
    if not isinstance(selector, dict) or _selects_everything(selector):
        return "{} (every pod)"
    parts = [f"{k}={v}" for k, v in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or ():
        expr = mapping(expr)
        key, op, values = expr.get("key"), expr.get("operator"), ",".join(map(str, expr.get("values") or ()))
        parts.append({"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})", "Exists": f"{key}",
                      "DoesNotExist": f"!{key}"}.get(str(op), f"{key} {op} ({values})"))
    return ", ".join(parts)


def _show_labels(labels: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(labels.items())) or "no labels"


# ------------------------------------------------------------------ policies
@dataclass(frozen=True)
class Policy:
    """A NetworkPolicy with its policy types resolved as the API defaults them."""

    obj: K8sObject
    selector: dict[str, Any]
    types: tuple[str, ...]
    ingress: list[Any]
    egress: list[Any]
    types_defaulted: bool
    invalid: str | None = None

    @classmethod
    def of(cls, obj: K8sObject) -> Policy:
        spec = mapping(obj.raw.get("spec"))
        selector = spec.get("podSelector")
        invalid = None
        try:
            requirements(selector)  # validated as the API server would
        except InvalidSelector as exc:
            invalid = f"spec.podSelector {exc}"
        ingress = spec.get("ingress") or []
        egress = spec.get("egress") or []
        ingress = ingress if isinstance(ingress, list) else []
        egress = egress if isinstance(egress, list) else []
        declared = spec.get("policyTypes") or []
        if isinstance(declared, list) and declared:
            types, defaulted = tuple(str(t) for t in declared), False
        else:
            types, defaulted = (INGRESS, EGRESS) if egress else (INGRESS,), True
        return cls(obj, selector if isinstance(selector, dict) else {}, types, ingress, egress, defaulted,
                   invalid)

    @property
    def name(self) -> str:
        return self.obj.name

    @property
    def selects_all(self) -> bool:
        return self.invalid is None and _selects_everything(self.selector)

    def selects(self, labels: Mapping[str, str]) -> bool:
        """Does the policy select pods with ``labels``? An invalid selector selects nothing."""
        return self.invalid is None and selector_matches(self.selector, labels)

    def rules(self, direction: str) -> list[Any]:
        return self.ingress if direction == INGRESS else self.egress

    def restricts(self, direction: str) -> bool:
        return direction in self.types

    def denies_all(self, direction: str) -> bool:
        """``podSelector: {}``, the direction in policyTypes, and no rules for it."""
        return self.selects_all and self.restricts(direction) and not self.rules(direction)

    def describe(self) -> str:
        return f"NetworkPolicy {self.name} ({self.obj.source.describe()})" if self.obj.source.file \
            else f"NetworkPolicy {self.name}"


def _is_k8s_policy(obj: K8sObject) -> bool:
    return obj.kind == "NetworkPolicy" and obj.api_version.startswith(_K8S_GROUPS)


if TYPE_CHECKING:
    from ..model import Source

    #: Where a lookup starts from (see Inventory.visible); None: anywhere.
    Origin = K8sObject | Source | None


def policies_in(inv: Inventory, namespace: str, origin: Origin = None) -> list[Policy] | Undetermined:
    """The ``networking.k8s.io`` NetworkPolicies of ``namespace`` that ``origin`` sees, or why they cannot be read.

    ``origin`` (a workload's object, a namespace view's source) keeps the
    lookup within its variant (:meth:`Inventory.visible`): an overlay's
    namespace is not protected by another overlay's policies.
    """
    if why := inv.unavailable("NetworkPolicy"):
        return Undetermined(f"NetworkPolicies cannot be read: {why}")
    return [Policy.of(o) for o in inv.in_namespace("NetworkPolicy", namespace, origin=origin) if _is_k8s_policy(o)]


def _namespace_labels(inv: Inventory, namespace: str, origin: Origin = None) -> dict[str, str] | None:
    """The namespace's labels (with the automatic name label), or None when it is not among the inputs."""
    obj = inv.get("Namespace", None, namespace, origin=origin)
    if obj is None:
        return None
    return {**{str(k): str(v) for k, v in obj.labels.items()}, "kubernetes.io/metadata.name": namespace}


class _Cni:
    """The CNI policies (checks/cni.py) that may govern one namespace, as ``origin`` sees them.

    ``origin`` keeps them within its variant (:meth:`Inventory.visible`), as
    for Kubernetes NetworkPolicies.
    """

    def __init__(self, inv: Inventory, namespace: str, origin: Origin = None) -> None:
        rules, self.problems = cni_rules(inv)
        self.namespace = namespace
        self.rules = [r for r in rules if r.in_scope(namespace) and (origin is None or inv.sees(origin, r.obj))]
        self.ns_labels = _namespace_labels(inv, namespace, origin)

    def undecided(self, what: str) -> Undetermined | None:
        if not self.problems:
            return None
        return Undetermined(f"{what}, and some CNI policies cannot be judged: {'; '.join(self.problems[:3])}")

    def governing(self, workloads: Iterable[Workload]) -> list[CniRule]:
        """Rules that select some pod of the namespace (a namespaced one always counts)."""
        out = []
        for r in self.rules:
            if r.namespace is not None or r.whole(self.namespace, self.ns_labels) or any(
                    r.matches(self.namespace, self.ns_labels, _pod_labels(w)) for w in workloads):
                out.append(r)
        return out

    def denies_all(self, direction: str) -> CniRule | None:
        return next((r for r in self.rules if direction in r.denies_all
                     and r.whole(self.namespace, self.ns_labels)), None)

    def restricts(self, direction: str, labels: Mapping[str, str]) -> CniRule | None:
        return next((r for r in self.rules if direction in r.restricts
                     and r.matches(self.namespace, self.ns_labels, labels)), None)


def _cni_policies(inv: Inventory, namespace: str, origin: Origin = None) -> list[K8sObject]:
    """Namespaced and cluster-wide CNI policies that may govern ``namespace`` (for checks that do not judge them)."""
    objs: dict[int, K8sObject] = {id(r.obj): r.obj for r in _Cni(inv, namespace, origin).rules}
    return list(objs.values())


def _cni_undetermined(inv: Inventory, namespace: str, what: str, origin: Origin = None) -> Undetermined | None:
    others = _cni_policies(inv, namespace, origin)
    if not others:
        _, problems = cni_rules(inv)
        return Undetermined(f"{what}, and some CNI policies cannot be judged: {'; '.join(problems[:3])}") \
            if problems else None
    names = ", ".join(f"{o.kind} {o.name} ({o.api_version})" for o in others[:5])
    return Undetermined(f"{what}, but CNI-specific policies may govern the namespace ({names}), and this check "
                        "does not evaluate their rules")


def _invalid_note(pols: Iterable[Policy]) -> str:
    bad = [f"{p.name}: {p.invalid}" for p in pols if p.invalid]
    return f" (ignored, the API server would reject them: {'; '.join(bad)})" if bad else ""


def _pod_labels(w: Workload) -> dict[str, str]:
    labels = w.pod_meta.get("labels") or {}
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def _labels_path(w: Workload) -> str:
    return ".".join(WORKLOAD_KINDS[w.kind][:-1] + ("metadata", "labels"))


def _namespace_workloads(inv: Inventory, namespace: str, origin: Origin = None) -> list[Workload] | Undetermined:
    missing = {k: why for k in WORKLOAD_KINDS if (why := inv.unavailable(k))}
    if missing:
        return Undetermined("the namespace's workloads cannot all be read: " +
                            "; ".join(f"{k}: {why}" for k, why in missing.items()))
    return [w for w in inv.all_workloads() if w.namespace == namespace and inv.sees(origin, w.obj)]


# ------------------------------------------------------------------ namespaces
def network_policy_exists(ns: Namespace, inv: Inventory) -> CheckResult:
    """The namespace must be governed by at least one network policy.

    A ``networking.k8s.io`` NetworkPolicy in the namespace counts, and so does
    a CNI policy (checks/cni.py) that reaches it: a namespaced one in it, or a
    cluster-wide one selecting its pods. Without one every pod accepts
    connections from, and opens them to, any pod of the cluster and beyond.
    """
    pols = policies_in(inv, ns.name, ns.origin)
    if isinstance(pols, Undetermined):
        return pols
    if pols:
        return []
    cni = _Cni(inv, ns.name, ns.origin)
    workloads = [w for w in inv.all_workloads()
                 if w.namespace == ns.name and (ns.origin is None or inv.sees(ns.origin, w.obj))]
    try:
        if cni.governing(workloads):
            return []
    except Undecidable as exc:
        return Undetermined(f"namespace {ns.name} has no Kubernetes NetworkPolicy, and whether a CNI policy reaches "
                            f"it cannot be decided: {exc}")
    if und := cni.undecided(f"namespace {ns.name} has no NetworkPolicy"):
        return und
    return [Finding(f"namespace {ns.name} has no NetworkPolicy: every pod in it accepts traffic from, and sends "
                    "traffic to, anywhere", None)]


def default_deny(ns: Namespace, inv: Inventory) -> CheckResult:
    """The namespace must deny all ingress and all egress by default.

    Compliant: for each of Ingress and Egress, a NetworkPolicy with
    ``podSelector: {}``, the direction in its (defaulted) ``policyTypes``,
    and no rules for that direction. One policy may cover both directions,
    or two policies one each. Allow-policies for the traffic the
    applications need are then added beside it.
    """
    pols = policies_in(inv, ns.name, ns.origin)
    if isinstance(pols, Undetermined):
        return pols
    cni = _Cni(inv, ns.name, ns.origin)
    findings = []
    for direction in (INGRESS, EGRESS):
        if any(p.denies_all(direction) for p in pols):
            continue
        try:
            if cni.denies_all(direction):
                continue
        except Undecidable as exc:
            return Undetermined(f"whether a CNI policy denies all {_RULES[direction]} in namespace {ns.name} cannot "
                                f"be decided: {exc}")
        rules = _RULES[direction]
        hints = []
        for p in pols:
            if not p.selects_all:
                continue
            if not p.restricts(direction):
                if p.types_defaulted:
                    hints.append(f"{p.name} has no policyTypes, which the API defaults to "
                                 f"[{', '.join(p.types)}] since it has no {rules} rules")
                else:
                    hints.append(f"{p.name} lists policyTypes [{', '.join(p.types)}] only")
            elif p.rules(direction):
                hints.append(f"{p.name} selects every pod for {direction} but allows "
                             f"{len(p.rules(direction))} {rules} rule(s)")
        hint = f" ({'; '.join(hints)})" if hints else ""
        findings.append(Finding(
            f"no NetworkPolicy in namespace {ns.name} denies all {rules} by default (podSelector: {{}}, "
            f"policyTypes containing {direction}, no {rules} rules){hint}{_invalid_note(pols)}", None))
    if findings and (und := cni.undecided("no network policy denies traffic by default")):
        return und
    return findings


def workload_isolated(w: Workload, inv: Inventory) -> CheckResult:
    """The workload's pods must be selected by a NetworkPolicy for Ingress and for Egress.

    The pod template's labels are matched against each policy's
    ``podSelector`` in the workload's namespace; a policy counts for a
    direction listed in its (defaulted) ``policyTypes``. Pods on the host
    network fail: NetworkPolicies do not apply to them.
    """
    ns = w.namespace or "default"
    pols = policies_in(inv, ns, w.obj)
    if isinstance(pols, Undetermined):
        return pols
    if w.pod_spec.get("hostNetwork") is True:
        return [Finding(f"{w.spec_path}.hostNetwork=true: NetworkPolicies do not apply to pods on the host "
                        "network, so its traffic cannot be restricted", f"{w.spec_path}.hostNetwork")]
    labels = _pod_labels(w)
    cni = _Cni(inv, ns, w.obj)
    findings = []
    for direction in (INGRESS, EGRESS):
        if any(p.restricts(direction) and p.selects(labels) for p in pols):
            continue
        try:
            if cni.restricts(direction, labels):
                continue
        except Undecidable as exc:
            return Undetermined(f"whether a CNI policy restricts the {_RULES[direction]} of its pods cannot be "
                                f"decided: {exc}")
        findings.append(Finding(
            f"no NetworkPolicy in namespace {ns} selects its pods ({_show_labels(labels)}) for {direction}, "
            f"so their {_RULES[direction]} is unrestricted{_invalid_note(pols)}", _labels_path(w)))
    if findings and (und := cni.undecided("no network policy selects the workload")):
        return und
    return findings


# ------------------------------------------------------------------ resource policies
_CPU_MEMORY = ("cpu", "memory")


def _resources(value: Any) -> set[str]:
    return {str(k) for k, v in mapping(value).items() if v not in (None, "")}


def limit_range_defaults(ns: Namespace, inv: Inventory) -> CheckResult:
    """A LimitRange must give containers default requests and limits for CPU and memory.

    Fields: ``spec.limits[*]`` items of ``type: Container`` across the
    namespace's LimitRanges; ``default`` and ``defaultRequest`` must each
    name ``cpu`` and ``memory``. As the API defaults a Container item,
    ``max`` stands in for a missing ``default``, and ``default`` (then
    ``min``) for a missing ``defaultRequest``.
    """
    if why := inv.unavailable("LimitRange"):
        return Undetermined(f"LimitRanges cannot be read: {why}")
    ranges = inv.in_namespace("LimitRange", ns.name, origin=ns.origin)
    if not ranges:
        return [Finding(f"namespace {ns.name} has no LimitRange: containers that set no resources get no default "
                        "requests or limits", None)]
    default: set[str] = set()
    request: set[str] = set()
    items = 0
    for lr in ranges:
        limits = mapping(lr.raw.get("spec")).get("limits") or ()
        for item in limits if isinstance(limits, list) else ():
            item = mapping(item)
            if item.get("type") != "Container":
                continue
            items += 1
            d = _resources(item.get("default")) | _resources(item.get("max"))
            default |= d
            request |= _resources(item.get("defaultRequest")) | d | _resources(item.get("min"))
    names = ", ".join(lr.name for lr in ranges)
    if not items:
        return [Finding(f"LimitRange {names} in namespace {ns.name} has no item of type Container, so containers "
                        "get no defaults", None)]
    missing = [f"default.{r}" for r in _CPU_MEMORY if r not in default] + \
              [f"defaultRequest.{r}" for r in _CPU_MEMORY if r not in request]
    if not missing:
        return []
    return [Finding(f"the Container limits of LimitRange {names} in namespace {ns.name} set no "
                    f"{', '.join(missing)}", None)]


#: ResourceQuota keys the guide's example sets. ``cpu`` and ``memory`` are
#: the API's short forms of ``requests.cpu`` and ``requests.memory``.
QUOTA_KEYS: tuple[str, ...] = ("requests.cpu", "requests.memory", "limits.cpu", "limits.memory")
_QUOTA_ALIASES = {"cpu": "requests.cpu", "memory": "requests.memory"}


def resource_quota(ns: Namespace, inv: Inventory) -> CheckResult:
    """A ResourceQuota must bound the namespace's CPU and memory requests and limits.

    Fields: ``spec.hard`` of the namespace's ResourceQuotas, together, must
    name ``requests.cpu``, ``requests.memory``, ``limits.cpu`` and
    ``limits.memory`` (``cpu``/``memory`` count as ``requests.*``). Quotas
    with ``scopes`` or a ``scopeSelector`` bound only some pods and do not
    count.
    """
    if why := inv.unavailable("ResourceQuota"):
        return Undetermined(f"ResourceQuotas cannot be read: {why}")
    quotas = inv.in_namespace("ResourceQuota", ns.name, origin=ns.origin)
    if not quotas:
        return [Finding(f"namespace {ns.name} has no ResourceQuota: its pods can claim all the cluster's CPU and "
                        "memory", None)]
    keys: set[str] = set()
    scoped = []
    for q in quotas:
        spec = mapping(q.raw.get("spec"))
        if spec.get("scopes") or spec.get("scopeSelector"):
            scoped.append(q.name)
            continue
        keys |= {_QUOTA_ALIASES.get(k, k) for k in _resources(spec.get("hard"))}
    missing = [k for k in QUOTA_KEYS if k not in keys]
    if not missing:
        return []
    note = f" (ResourceQuota {', '.join(scoped)} has scopes and bounds only some pods)" if scoped else ""
    unscoped = [q.name for q in quotas if q.name not in scoped]
    where = f"the ResourceQuota {', '.join(unscoped)} of namespace {ns.name}" if unscoped \
        else f"namespace {ns.name}: no unscoped ResourceQuota"
    return [Finding(f"{where} sets no {', '.join(missing)} in spec.hard{note}", None)]


# ------------------------------------------------------------------ egress
def _port_reaches(port: Any, number: int) -> bool:
    port = mapping(port)
    if (port.get("protocol") or "TCP") != "TCP":
        return False
    value = port.get("port")
    if value is None:
        return True  # every port of the protocol
    if isinstance(value, str):
        if not value.isdigit():
            return False  # a named port names a container port of a pod, not the metadata service
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        return False
    end = port.get("endPort")
    end = end if isinstance(end, int) and not isinstance(end, bool) else value
    return value <= number <= end


def _cidr_contains(cidr: Any, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    try:
        net = ipaddress.ip_network(str(cidr), strict=False)
    except ValueError:
        return False
    return net.version == address.version and address in net


def rule_reaches(rule: Any, address: ipaddress.IPv4Address | ipaddress.IPv6Address = METADATA_ADDRESS,
                 port: int = METADATA_PORT) -> str | None:
    """Why an egress rule allows ``address:port`` (TCP), or None when it does not.

    A rule without ``to`` allows every destination; an ``ipBlock`` peer
    allows its ``cidr`` minus its ``except`` ranges; pod and namespace
    selectors match pods only. ``ports``, when given, must include the port.
    """
    rule = mapping(rule)
    ports = rule.get("ports") or []
    if ports and not any(_port_reaches(p, port) for p in (ports if isinstance(ports, list) else [])):
        return None
    peers = rule.get("to") or []
    on_port = f" on TCP {port}" if ports else " on every port"
    if not peers:
        return f"has no `to`, so it allows every destination{on_port}"
    for j, peer in enumerate(peers if isinstance(peers, list) else []):
        block = mapping(mapping(peer).get("ipBlock"))
        if not block or not _cidr_contains(block.get("cidr"), address):
            continue
        excepts = block.get("except") or []
        if any(_cidr_contains(e, address) for e in (excepts if isinstance(excepts, list) else [])):
            continue
        shown = ", ".join(map(str, excepts)) if excepts else "none"
        return f"to[{j}].ipBlock.cidr {block.get('cidr')} contains {address} and its except ({shown}) does not " \
               f"cover it{on_port}"
    return None


def cloud_metadata_blocked(ns: Namespace, inv: Inventory) -> CheckResult:
    """Pods of the namespace must not reach the cloud metadata service (169.254.169.254).

    Fails when an egress rule of any NetworkPolicy with Egress in its
    policyTypes allows TCP port 80 of 169.254.169.254 (a rule without
    ``to``, or an ``ipBlock`` containing the address that its ``except``
    does not cover; a rule limited to other ports, such as DNS, does not
    open it), when nothing restricts egress, when some workload of the
    namespace is selected by no policy restricting egress, and for pods on
    the host network, which no NetworkPolicy governs. Passes when egress is
    restricted for every pod and no rule opens the address.
    """
    pols = policies_in(inv, ns.name, ns.origin)
    if isinstance(pols, Undetermined):
        return pols
    egress = [p for p in pols if p.restricts(EGRESS)]
    findings = []
    for p in egress:
        for i, rule in enumerate(p.egress):
            if why := rule_reaches(rule):
                findings.append(Finding(
                    f"{p.describe()}, selecting {describe_selector(p.selector)}, allows egress to {METADATA_ADDRESS}: "
                    f"spec.egress[{i}] {why}", f"NetworkPolicy/{p.name} spec.egress[{i}]"))
    for w in inv.all_workloads():  # what can be read: host-network pods escape every policy
        if w.namespace == ns.name and w.pod_spec.get("hostNetwork") is True and inv.sees(ns.origin, w.obj):
            findings.append(Finding(f"{w.describe()} uses the host network: no NetworkPolicy applies to it, so it "
                                    f"reaches {METADATA_ADDRESS} whenever the node does", f"{w.spec_path}.hostNetwork"))
    if any(p.selects_all for p in egress):
        return findings
    if not egress:
        if und := _cni_undetermined(inv, ns.name, "no Kubernetes NetworkPolicy restricts egress", ns.origin):
            return und
        findings.append(Finding(f"no NetworkPolicy in namespace {ns.name} restricts egress, so every pod can reach "
                                f"the cloud metadata service at {METADATA_ADDRESS}", None))
        return findings
    workloads = _namespace_workloads(inv, ns.name, ns.origin)
    if isinstance(workloads, Undetermined):
        return findings or workloads
    uncovered = [w for w in workloads if w.pod_spec.get("hostNetwork") is not True
                 and not any(p.selects(_pod_labels(w)) for p in egress)]
    for w in uncovered:
        findings.append(Finding(f"{w.describe()} ({_show_labels(_pod_labels(w))}) is selected by no NetworkPolicy "
                                f"restricting egress, so its pods can reach {METADATA_ADDRESS}", _labels_path(w)))
    if not workloads:
        findings.append(Finding(f"no NetworkPolicy in namespace {ns.name} restricts the egress of every pod "
                                f"(podSelector: {{}}), so pods it does not select can reach {METADATA_ADDRESS}", None))
    return findings


def _allows_everything(rule: Any) -> bool:
    rule = mapping(rule)
    if rule.get("ports"):
        return False
    peers = rule.get("to") or []
    if not peers:
        return True
    for peer in peers if isinstance(peers, list) else []:
        block = mapping(mapping(peer).get("ipBlock"))
        try:
            if block and ipaddress.ip_network(str(block.get("cidr")), strict=False).prefixlen == 0 \
                    and not block.get("except"):
                return True
        except ValueError:
            continue
    return False


def kube_system_egress(ns: Namespace, inv: Inventory) -> CheckResult:
    """kube-system must have a NetworkPolicy that limits egress.

    Compliant: some NetworkPolicy in the namespace has Egress in its
    (defaulted) policyTypes and no egress rule that opens every destination
    on every port (no ``to`` and no ``ports``, or ``ipBlock`` 0.0.0.0/0 or
    ::/0 without ``except``). Not applicable when every kube-system pod among
    the inputs runs on the host network (static control-plane pods given as
    files), since NetworkPolicies do not govern those.
    """
    pols = policies_in(inv, ns.name, ns.origin)
    if isinstance(pols, Undetermined):
        return pols
    if not pols:
        workloads = _namespace_workloads(inv, ns.name, ns.origin)
        if isinstance(workloads, Undetermined):
            return workloads
        if workloads and all(w.pod_spec.get("hostNetwork") is True for w in workloads):
            return NotApplicable(f"every {ns.name} pod among the inputs runs on the host network, where "
                                 "NetworkPolicies do not apply; scan the live cluster to check the rest of "
                                 f"{ns.name} (DNS, CNI and add-on pods)")
    egress = [p for p in pols if p.restricts(EGRESS)]
    if not egress:
        if und := _cni_undetermined(inv, ns.name, f"no Kubernetes NetworkPolicy restricts egress in {ns.name}",
                                    ns.origin):
            return und
        return [Finding(f"no NetworkPolicy in {ns.name} restricts egress: its pods (DNS, CNI agents, add-ons, with "
                        "the cluster's most powerful credentials) can reach the Internet", None)]
    if any(not any(_allows_everything(r) for r in p.egress) for p in egress):
        return []
    opened = "; ".join(f"{p.name} spec.egress[{i}]" for p in egress for i, r in enumerate(p.egress)
                       if _allows_everything(r))
    return [Finding(f"every NetworkPolicy restricting egress in {ns.name} also allows all of it ({opened} opens "
                    "every destination on every port)", None)]
