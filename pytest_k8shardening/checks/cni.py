"""CNI network policies (Cilium, Calico, Antrea) judged at their real scope.

The network checks ask three questions of a namespace or a pod: is it
governed by some policy at all, is a direction (Ingress, Egress) restricted
for this pod (traffic no rule allows is dropped), and is a direction denied
for every pod of the namespace. Kubernetes NetworkPolicies answer them in
``network.py``; this module answers them for the CNIs' own kinds, each read
as its engine enforces it (research: real-inputs.md, and the engines' docs):

* **Cilium** ``CiliumNetworkPolicy`` (namespaced) and
  ``CiliumClusterwideNetworkPolicy``: a rule is ``spec`` or each item of
  ``specs``. ``endpointSelector`` selects pods (``{}``: every pod in scope; a
  namespaced policy is confined to its namespace; cluster-wide rules reach
  namespaces through ``k8s:io.kubernetes.pod.namespace`` and
  ``io.cilium.k8s.namespace.labels.*``). A rule with an ``ingress`` or
  ``ingressDeny`` section puts the pods it selects in default-deny for
  Ingress (likewise egress), unless ``enableDefaultDeny`` turns that off. It
  denies everything when none of its allow entries allows anything (the
  documented ``ingress: [{}]``). ``nodeSelector`` rules govern nodes, not pods.
* **Calico** ``NetworkPolicy`` (``projectcalico.org/v3``, or the
  ``crd.projectcalico.org/v1`` storage form) and ``GlobalNetworkPolicy``:
  ``selector`` is Calico's expression language (``all()``, ``==``, ``!=``,
  ``has()``, ``in``, ``not in``, ``starts with``, ``ends with``, ``contains``,
  ``&&``, ``||``, ``!``); a global policy's ``namespaceSelector`` selects
  namespaces by label (``projectcalico.org/name`` is the name). ``types``
  defaults as Calico documents (Ingress; Egress when there are only egress
  rules; both when both). A policy for a direction restricts it (what no rule
  allows is denied at the end of its tier); it denies everything when no rule
  of that direction allows or passes. ``preDNAT``/``doNotTrack``/
  ``applyOnForward`` policies govern host endpoints and are left out; staged
  policies enforce nothing and are not read.
* **Antrea** ``NetworkPolicy`` and ``ClusterNetworkPolicy``
  (``crd.antrea.io``): ``appliedTo`` (the policy's, or each rule's) selects
  pods by ``podSelector`` and ``namespaceSelector``. Antrea-native policies
  do not isolate by themselves: a direction is restricted only by a ``Drop``
  or ``Reject`` rule, and denied for everything by one with no peers and no
  ports.

Pods on the host network are outside every pod policy (``network.py``
handles them). What cannot be decided (a ``group`` reference, a
``serviceAccountSelector``, namespace labels of a namespace that is not
among the inputs, a selector that does not parse) is reported as such, so
the checks skip instead of guessing.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ..model import Inventory, K8sObject, mapping
from ..selectors import InvalidSelector, Requirement, holds, requirements

__all__ = [
    "CLUSTER_KINDS",
    "NAMESPACED_KINDS",
    "CalicoSelectorError",
    "CniRule",
    "Undecidable",
    "calico_selector",
    "cni_rules",
    "is_cni_policy",
]

INGRESS, EGRESS = "Ingress", "Egress"
_DIRECTIONS = (INGRESS, EGRESS)

#: Kinds read (qualified by group for live discovery), namespaced and cluster-wide.
NAMESPACED_KINDS = ("CiliumNetworkPolicy.cilium.io", "NetworkPolicy.projectcalico.org",
                    "NetworkPolicy.crd.projectcalico.org", "NetworkPolicy.crd.antrea.io")
CLUSTER_KINDS = ("CiliumClusterwideNetworkPolicy.cilium.io", "GlobalNetworkPolicy.projectcalico.org",
                 "GlobalNetworkPolicy.crd.projectcalico.org", "ClusterNetworkPolicy.crd.antrea.io")


class Undecidable(Exception):
    """A rule whose reach cannot be decided from what was read."""


def is_cni_policy(obj: K8sObject) -> bool:
    return _engine(obj) is not None


def _engine(obj: K8sObject) -> str | None:
    group = obj.api_version.split("/", 1)[0] if "/" in obj.api_version else ""
    if group == "cilium.io" and obj.kind in ("CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy"):
        return "Cilium"
    if group in ("projectcalico.org", "crd.projectcalico.org") and obj.kind in ("NetworkPolicy",
                                                                               "GlobalNetworkPolicy"):
        return "Calico"
    if group == "crd.antrea.io" and obj.kind in ("NetworkPolicy", "ClusterNetworkPolicy"):
        return "Antrea"
    return None


# ------------------------------------------------------------------ the rule model
PodMatcher = Callable[[str, "Mapping[str, str] | None", Mapping[str, str]], bool]


@dataclass(frozen=True)
class CniRule:
    """One enforceable rule of a CNI policy, reduced to what the checks judge.

    ``matches(namespace, namespace_labels, pod_labels)`` says whether the rule
    selects a pod (``namespace_labels`` is None when the namespace object is
    not among the inputs; a rule that needs them raises :class:`Undecidable`).
    ``whole(namespace, namespace_labels)`` says whether it selects every pod
    of the namespace. ``restricts``: directions in which selected pods are
    isolated; ``denies_all``: directions in which the rule allows nothing.
    """

    obj: K8sObject
    where: str
    engine: str
    namespace: str | None
    matches: PodMatcher
    whole: Callable[[str, "Mapping[str, str] | None"], bool]
    restricts: frozenset[str]
    denies_all: frozenset[str]

    def describe(self) -> str:
        ns = f"{self.obj.namespace}/" if self.obj.namespace else ""
        return f"{self.obj.kind} {ns}{self.obj.name} ({self.engine}, {self.where})"

    def in_scope(self, namespace: str) -> bool:
        return self.namespace is None or self.namespace == namespace


def cni_rules(inv: Inventory) -> tuple[list[CniRule], list[str]]:
    """Every enforceable CNI rule among the inputs, and why some policies could not be judged.

    Reads the CNI kinds once (on a live cluster, through discovery; a kind the
    server does not serve means that CNI is not installed (live.OPTIONAL_KINDS),
    a forbidden one is a reason to skip).
    """
    for kind in (*NAMESPACED_KINDS, *CLUSTER_KINDS):
        inv.ensure(kind)
    stamp = len(inv.objects)
    cached = _CACHE.get(inv)
    if cached is not None and cached[0] == stamp:
        return cached[1], cached[2]
    rules: list[CniRule] = []
    unreadable: list[str] = []
    problems: list[str] = []
    seen: set[int] = set()
    for kind in (*NAMESPACED_KINDS, *CLUSTER_KINDS):
        if why := inv.unavailable(kind):
            unreadable.append(f"{kind} cannot be read: {why}")
        for obj in inv.of_kind(kind):  # read by group, kept under the bare kind
            if id(obj) in seen or _engine(obj) is None:
                continue
            seen.add(id(obj))
            try:
                rules.extend(_rules_of(obj))
            except Undecidable as exc:
                problems.append(f"{obj.kind} {obj.ref} ({obj.api_version}): {exc}")
    problems[:0] = unreadable
    _CACHE[inv] = (stamp, rules, problems)
    return rules, problems


#: Rules per inventory (every namespace and workload check asks), renewed when objects are added.
_CACHE: weakref.WeakKeyDictionary[Inventory, tuple[int, list[CniRule], list[str]]] = weakref.WeakKeyDictionary()


def _rules_of(obj: K8sObject) -> Iterator[CniRule]:
    engine = _engine(obj)
    if engine == "Cilium":
        yield from _cilium(obj)
    elif engine == "Calico":
        yield from _calico(obj)
    elif engine == "Antrea":
        yield from _antrea(obj)


# ------------------------------------------------------------------ label selectors (Cilium, Antrea)
_NS_LABEL = "io.kubernetes.pod.namespace"
_NS_LABELS_PREFIX = "io.cilium.k8s.namespace.labels."


def _cilium_key(key: str) -> str:
    for prefix in ("k8s:", "any:"):
        if key.startswith(prefix):
            return key[len(prefix):]
    return key


def _requirements(selector: Any, what: str, *, syntax: bool = True) -> list[Requirement]:
    """A label selector's requirements (selectors.py); an invalid one makes the policy's reach undecidable.

    ``syntax=False`` for Cilium, whose keys carry ``k8s:``/``any:``/``reserved:`` prefixes.
    """
    try:
        return requirements(selector, syntax=syntax)
    except InvalidSelector as exc:
        raise Undecidable(f"{what} {exc}") from None


# ------------------------------------------------------------------ Cilium
def _cilium(obj: K8sObject) -> Iterator[CniRule]:
    cluster = obj.kind == "CiliumClusterwideNetworkPolicy"
    raw = obj.raw
    specs: list[tuple[str, Any]] = []
    if raw.get("spec") is not None:
        specs.append(("spec", raw["spec"]))
    many = raw.get("specs")
    if many is not None:
        if not isinstance(many, list):
            raise Undecidable("specs is not a list")
        specs.extend((f"specs[{i}]", s) for i, s in enumerate(many))
    for where, spec in specs:
        if not isinstance(spec, dict):
            raise Undecidable(f"{where} is not a mapping")
        if "nodeSelector" in spec and "endpointSelector" not in spec:
            continue  # a host policy: it governs nodes, not pods
        if not isinstance(spec.get("endpointSelector"), dict):
            raise Undecidable(f"{where} has no endpointSelector (the API server requires it, or a nodeSelector)")
        reqs = [(_cilium_key(k), op, v) for k, op, v in _requirements(spec.get("endpointSelector"),
                                                                       f"{where}.endpointSelector", syntax=False)]
        if any(k.startswith("reserved:") for k, _, _ in reqs):
            continue  # selects the host, world or health endpoints, not pods
        default_deny = mapping(spec.get("enableDefaultDeny"))
        restricts, denies = set(), set()
        for direction, allow, deny in ((INGRESS, "ingress", "ingressDeny"), (EGRESS, "egress", "egressDeny")):
            allows, denials = spec.get(allow), spec.get(deny)
            if not isinstance(allows or [], list) or not isinstance(denials or [], list):
                raise Undecidable(f"{where}.{allow}/{deny} is not a list")
            if not (allows or denials) or default_deny.get(direction.lower()) is False:
                continue
            restricts.add(direction)
            if all(isinstance(a, dict) and not a for a in allows or []):
                denies.add(direction)
        yield CniRule(obj, where, "Cilium", None if cluster else obj.namespace, _cilium_matcher(reqs),
                      _cilium_whole(reqs), frozenset(restricts), frozenset(denies))


def _ns_synthetic(namespace: str, ns_labels: Mapping[str, str] | None) -> dict[str, str]:
    out = {_NS_LABEL: namespace}
    for k, v in (ns_labels or {}).items():
        out[_NS_LABELS_PREFIX + k] = v
    return out


def _needs_ns_labels(reqs: list[Requirement]) -> bool:
    return any(k.startswith(_NS_LABELS_PREFIX) for k, _, _ in reqs)


def _cilium_matcher(reqs: list[Requirement]) -> PodMatcher:
    def matches(namespace: str, ns_labels: Mapping[str, str] | None, pod_labels: Mapping[str, str]) -> bool:
        if ns_labels is None and _needs_ns_labels(reqs):
            raise Undecidable(f"it selects by namespace labels, and namespace {namespace} is not among the inputs")
        return holds(reqs, {**pod_labels, **_ns_synthetic(namespace, ns_labels)})
    return matches


def _cilium_whole(reqs: list[Requirement]) -> Callable[[str, Mapping[str, str] | None], bool]:
    def whole(namespace: str, ns_labels: Mapping[str, str] | None) -> bool:
        if any(not (k == _NS_LABEL or k.startswith(_NS_LABELS_PREFIX)) for k, _, _ in reqs):
            return False  # some requirement is on pod labels
        if ns_labels is None and _needs_ns_labels(reqs):
            raise Undecidable(f"it selects by namespace labels, and namespace {namespace} is not among the inputs")
        return holds(reqs, _ns_synthetic(namespace, ns_labels))
    return whole


# ------------------------------------------------------------------ Calico selectors
class CalicoSelectorError(ValueError):
    """A Calico selector expression that does not parse."""


_TOKEN = re.compile(r"""\s*(?:
    (?P<str>'[^']*'|"[^"]*")
  | (?P<op>==|!=|&&|\|\||!|\(|\)|\{|\}|,)
  | (?P<word>[A-Za-z0-9_./\-]+)
)""", re.VERBOSE)

Labels = Mapping[str, str]
Expr = Callable[[Labels], bool]


def _tokens(text: str) -> list[str]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise CalicoSelectorError(f"cannot read {text[pos:pos + 20]!r}")
        out.append(m.group(0).strip())
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0
        self.keys: set[str] = set()

    def peek(self, n: int = 0) -> str | None:
        j = self.i + n
        return self.toks[j] if j < len(self.toks) else None

    def take(self, expected: str | None = None) -> str:
        tok = self.peek()
        if tok is None or (expected is not None and tok != expected):
            raise CalicoSelectorError(f"expected {expected or 'more'} at token {self.i + 1}, got {tok!r}")
        self.i += 1
        return tok

    def parse(self) -> Expr:
        if not self.toks:
            return lambda labels: True
        expr = self.or_()
        if self.peek() is not None:
            raise CalicoSelectorError(f"unexpected {self.peek()!r}")
        return expr

    def or_(self) -> Expr:
        parts = [self.and_()]
        while self.peek() == "||":
            self.take()
            parts.append(self.and_())
        return parts[0] if len(parts) == 1 else (lambda labels: any(p(labels) for p in parts))

    def and_(self) -> Expr:
        parts = [self.not_()]
        while self.peek() == "&&":
            self.take()
            parts.append(self.not_())
        return parts[0] if len(parts) == 1 else (lambda labels: all(p(labels) for p in parts))

    def not_(self) -> Expr:
        if self.peek() == "!":
            self.take()
            inner = self.not_()
            return lambda labels: not inner(labels)
        return self.atom()

    def atom(self) -> Expr:
        tok = self.take()
        if tok == "(":
            inner = self.or_()
            self.take(")")
            return inner
        if tok in ("all", "global") and self.peek() == "(":
            self.take("(")
            self.take(")")
            return lambda labels: True
        if tok == "has" and self.peek() == "(":
            self.take("(")
            key = self.take()
            self.take(")")
            self.keys.add(key)
            return lambda labels: key in labels
        key = tok
        if not re.fullmatch(r"[A-Za-z0-9_./\-]+", key):
            raise CalicoSelectorError(f"expected a label key, got {key!r}")
        self.keys.add(key)
        op = self.take()
        if op in ("==", "!="):
            value = self.string()
            return (lambda labels: labels.get(key) == value) if op == "==" else \
                (lambda labels: labels.get(key) != value)  # != also holds when the label is absent
        if op == "in" or (op == "not" and self.peek() == "in"):
            negate = op == "not"
            if negate:
                self.take("in")
            values = self.string_set()
            return (lambda labels: labels.get(key) not in values) if negate else \
                (lambda labels: key in labels and labels[key] in values)
        if op in ("starts", "ends") and self.peek() == "with":
            self.take("with")
            value = self.string()
            if op == "starts":
                return lambda labels: key in labels and labels[key].startswith(value)
            return lambda labels: key in labels and labels[key].endswith(value)
        if op == "contains":
            value = self.string()
            return lambda labels: key in labels and value in labels[key]
        raise CalicoSelectorError(f"unknown operator {op!r} after {key!r}")

    def string(self) -> str:
        tok = self.take()
        if len(tok) < 2 or tok[0] not in "'\"" or tok[-1] != tok[0]:
            raise CalicoSelectorError(f"expected a quoted value, got {tok!r}")
        return tok[1:-1]

    def string_set(self) -> frozenset[str]:
        self.take("{")
        values = set()
        while self.peek() != "}":
            values.add(self.string())
            if self.peek() == ",":
                self.take()
        self.take("}")
        return frozenset(values)


def calico_selector(text: Any) -> tuple[Expr, frozenset[str]]:
    """A Calico selector as a predicate over labels, and the label keys it reads. Absent: ``all()``."""
    if text is None:
        return (lambda labels: True), frozenset()
    if not isinstance(text, str):
        raise CalicoSelectorError("a selector must be a string expression")
    parser = _Parser(text)
    return parser.parse(), frozenset(parser.keys)


# ------------------------------------------------------------------ Calico
_CALICO_NS = "projectcalico.org/namespace"
_CALICO_NS_NAME = "projectcalico.org/name"
_NO_MATCH_KEYS = frozenset({"action", "metadata", "ipVersion"})


def _calico_types(spec: Mapping[str, Any]) -> tuple[str, ...]:
    declared = spec.get("types")
    if isinstance(declared, list) and declared:
        return tuple(str(t) for t in declared)
    ingress, egress = bool(spec.get("ingress")), bool(spec.get("egress"))
    if egress and not ingress:
        return (EGRESS,)
    if egress and ingress:
        return (INGRESS, EGRESS)
    return (INGRESS,)


def _calico(obj: K8sObject) -> Iterator[CniRule]:
    spec = mapping(obj.raw.get("spec"))
    if spec.get("preDNAT") or spec.get("doNotTrack") or spec.get("applyOnForward"):
        return  # host-endpoint policies
    if spec.get("serviceAccountSelector"):
        raise Undecidable("it selects pods by service account (serviceAccountSelector), which is not modelled")
    try:
        pod_expr, pod_keys = calico_selector(spec.get("selector"))
        ns_expr, ns_keys = calico_selector(spec.get("namespaceSelector")) if obj.kind == "GlobalNetworkPolicy" \
            else ((lambda labels: True), frozenset())
    except CalicoSelectorError as exc:
        raise Undecidable(f"its selector does not parse: {exc}") from None
    restricts, denies = set(), set()
    for direction in _calico_types(spec):
        if direction not in _DIRECTIONS:
            continue
        restricts.add(direction)
        rules = spec.get(direction.lower()) or []
        if not isinstance(rules, list):
            raise Undecidable(f"spec.{direction.lower()} is not a list")
        if not any(str(mapping(r).get("action")) in ("Allow", "Pass") for r in rules):
            denies.add(direction)
    cluster = obj.kind == "GlobalNetworkPolicy"
    needs_ns = cluster and bool(ns_keys - {_CALICO_NS_NAME, "kubernetes.io/metadata.name"})

    def ns_view(namespace: str, ns_labels: Mapping[str, str] | None) -> dict[str, str]:
        if ns_labels is None and needs_ns:
            raise Undecidable(f"it selects namespaces by labels, and namespace {namespace} is not among the inputs")
        return {**(ns_labels or {}), _CALICO_NS_NAME: namespace, "kubernetes.io/metadata.name": namespace}

    def matches(namespace: str, ns_labels: Mapping[str, str] | None, pod_labels: Mapping[str, str]) -> bool:
        if not ns_expr(ns_view(namespace, ns_labels)):
            return False
        return pod_expr({**pod_labels, _CALICO_NS: namespace, "projectcalico.org/orchestrator": "k8s"})

    def whole(namespace: str, ns_labels: Mapping[str, str] | None) -> bool:
        if pod_keys - {_CALICO_NS, "projectcalico.org/orchestrator"}:
            return False
        return matches(namespace, ns_labels, {})

    yield CniRule(obj, "spec", "Calico", None if cluster else obj.namespace, matches, whole,
                  frozenset(restricts), frozenset(denies))


# ------------------------------------------------------------------ Antrea
_DROP = ("Drop", "Reject")


def _antrea(obj: K8sObject) -> Iterator[CniRule]:
    cluster = obj.kind == "ClusterNetworkPolicy"
    spec = mapping(obj.raw.get("spec"))
    policy_applied = spec.get("appliedTo")
    for direction, key, peers_key in ((INGRESS, "ingress", "from"), (EGRESS, "egress", "to")):
        rules = spec.get(key) or []
        if not isinstance(rules, list):
            raise Undecidable(f"spec.{key} is not a list")
        for i, rule in enumerate(rules):
            rule = mapping(rule)
            if str(rule.get("action")) not in _DROP:
                continue  # Antrea-native allow rules do not isolate anything
            applied = rule.get("appliedTo") if rule.get("appliedTo") is not None else policy_applied
            peers = rule.get(peers_key) or []
            everything = not peers and not rule.get("ports") and not rule.get("toServices")
            matchers = _antrea_applied(applied, cluster, f"spec.{key}[{i}]")
            yield CniRule(obj, f"spec.{key}[{i}]", "Antrea", None if cluster else obj.namespace,
                          matchers[0], matchers[1], frozenset({direction}),
                          frozenset({direction}) if everything else frozenset())


def _antrea_applied(applied: Any, cluster: bool, where: str) -> tuple[PodMatcher, Callable[..., bool]]:
    if not isinstance(applied, list) or not applied:
        raise Undecidable(f"{where} has no appliedTo")
    targets = []
    for j, peer in enumerate(applied):
        peer = mapping(peer)
        unsupported = set(peer) - {"podSelector", "namespaceSelector"}
        if unsupported:
            raise Undecidable(f"{where} appliedTo[{j}] uses {', '.join(sorted(unsupported))}, which is not modelled")
        pod = _requirements(peer.get("podSelector"), f"appliedTo[{j}].podSelector") \
            if "podSelector" in peer else None
        ns = _requirements(peer.get("namespaceSelector"), f"appliedTo[{j}].namespaceSelector") \
            if "namespaceSelector" in peer else None
        if pod is None and ns is None:
            raise Undecidable(f"{where} appliedTo[{j}] selects nothing it names")
        targets.append((pod, ns))

    def ns_ok(ns: list[Any] | None, namespace: str, ns_labels: Mapping[str, str] | None) -> bool:
        if ns is None or not cluster:
            return True
        if ns_labels is None and any(k != "kubernetes.io/metadata.name" for k, _, _ in ns):
            raise Undecidable(f"it selects namespaces by labels, and namespace {namespace} is not among the inputs")
        return holds(ns, {**(ns_labels or {}), "kubernetes.io/metadata.name": namespace})

    def matches(namespace: str, ns_labels: Mapping[str, str] | None, pod_labels: Mapping[str, str]) -> bool:
        return any(ns_ok(ns, namespace, ns_labels) and (pod is None or holds(pod, pod_labels))
                   for pod, ns in targets)

    def whole(namespace: str, ns_labels: Mapping[str, str] | None) -> bool:
        return any(ns_ok(ns, namespace, ns_labels) and not pod for pod, ns in targets)

    return matches, whole
