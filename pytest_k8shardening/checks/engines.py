"""Pod security enforced by policy engines: Kyverno, Gatekeeper, Kubewarden and ValidatingAdmissionPolicy.

Pod Security Admission is the built-in technical control; a policy engine
can enforce the same levels. :func:`judge` reads each engine's policies and
says, for one namespace, which of them *evidently* enforce at least the
baseline level (they refuse pods, match every pod of the namespace, and
cover the level's rules), which enforce something whose semantics are not
modelled here (undecided: the control is then undetermined, never failed),
and which do not enforce (audit/dry-run/monitor mode, another namespace, a
privileged level, too few rules).

What is modelled, per engine:

* **Kyverno** ``ClusterPolicy``/``Policy`` (``kyverno.io``): rules with
  ``validate.podSecurity: {level}``; the failure action (rule
  ``validate.failureAction``, else ``spec.validationFailureAction``; Audit
  when unset; per-namespace overrides); ``match``/``exclude`` by kinds,
  namespaces (globs) and namespaceSelector. A ``Policy`` applies only in its
  own namespace. ``podSecurity.exclude`` exemptions, pattern/deny/CEL rules,
  and Kyverno's CEL ``ValidatingPolicy`` are undecided.
* **Gatekeeper** constraints (``constraints.gatekeeper.sh``) of the
  gatekeeper-library PSP templates: ``enforcementAction`` (deny when unset;
  dryrun/warn do not enforce), ``match`` (kinds, namespaces,
  excludedNamespaces, namespaceSelector), and the parameters that decide
  whether a template is as strict as baseline (:data:`GATEKEEPER_RULES`);
  a constraint of another template that denies pods is undecided.
  Baseline needs privileged, host namespaces, host network and ports, host
  paths, capabilities, AppArmor, SELinux, /proc mount, seccomp and sysctls;
  Windows HostProcess and host probes have no library template and are not
  required.
* **Kubewarden** ``ClusterAdmissionPolicy``/``AdmissionPolicy``: ``mode``
  (protect when unset; monitor does not enforce), rules on pods,
  namespaceSelector; the ``pod-privileged``, ``host-namespaces-psp`` and
  ``capabilities-psp`` modules are modelled, other modules are undecided.
* **ValidatingAdmissionPolicy**: a binding with ``validationActions``
  including Deny whose policy matches pods in the namespace is undecided
  (CEL expressions are not modelled); Warn/Audit-only bindings do not enforce.
"""

from __future__ import annotations

import fnmatch
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ..model import Inventory, K8sObject, Namespace, mapping
from ..selectors import InvalidSelector, holds, requirements
from .pss import BASELINE_CAPABILITIES, allowed_sysctls, apparmor_annotation_allowed, selinux_types

__all__ = [
    "ENGINE_KINDS",
    "GATEKEEPER_RULES",
    "OPTIONAL_GROUPS",
    "PolicyVerdict",
    "judge",
]

#: Kinds read from a live cluster (by group, through discovery); a kind the
#: server does not serve means that engine is not installed (live.OPTIONAL_KINDS).
ENGINE_KINDS: tuple[str, ...] = (
    "ClusterPolicy.kyverno.io", "Policy.kyverno.io", "ValidatingPolicy.policies.kyverno.io",
    "ConstraintTemplate.templates.gatekeeper.sh",
    "ClusterAdmissionPolicy.policies.kubewarden.io", "AdmissionPolicy.policies.kubewarden.io",
)
#: Groups whose kinds are all optional: Gatekeeper makes one kind per ConstraintTemplate.
OPTIONAL_GROUPS: tuple[str, ...] = (".constraints.gatekeeper.sh",)
_VAP_KINDS = ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding")

State = Literal["enforces", "undecided", "inactive"]
_LEVELS = {"privileged": 0, "baseline": 1, "restricted": 2}


@dataclass(frozen=True, slots=True)
class PolicyVerdict:
    """What one policy (or one engine's set of constraints) does in one namespace."""

    policy: str
    state: State
    why: str
    level: str | None = None

    def describe(self) -> str:
        return f"{self.policy}: {self.why}"


# ------------------------------------------------------------------ shapes
def _list(value: Any) -> list[Any]:
    """A list field's items; a lone string is one item; any other shape holds none."""
    if isinstance(value, list):
        return value
    return [value] if isinstance(value, str) else []


def _strs(value: Any, default: tuple[str, ...] = ()) -> set[str]:
    items = _list(value) if value not in (None, []) else list(default)
    return {v for v in items if isinstance(v, str)}


# ------------------------------------------------------------------ namespaces
_NAME_LABEL = "kubernetes.io/metadata.name"


def _ns_selected(selector: Any, ns: Namespace) -> bool | None:
    """A namespaceSelector (absent or null: every namespace) against ``ns``; None when the namespace's
    labels are unknown and matter.

    Raises :class:`InvalidSelector` (selectors.py): the API server or the engine's webhook rejects such a
    policy, so each caller reads it fail-closed (the policy does not count as enforcing there).
    """
    reqs = requirements(selector)
    if ns.obj is None and any(key != _NAME_LABEL for key, _, _ in reqs):
        return None
    return holds(reqs, {**ns.labels, _NAME_LABEL: ns.name})


def _invalid_selector(exc: InvalidSelector, what: str = "namespaceSelector") -> str:
    return f"its {what} is invalid ({exc}), so the policy is rejected and enforces nothing"


def _ns_verdict(selector: Any, ns: Namespace) -> tuple[bool | None, str]:
    """A policy's namespaceSelector as a match verdict with its reason (None: undecidable; invalid: no match)."""
    try:
        selected = _ns_selected(selector, ns)
    except InvalidSelector as exc:
        return False, _invalid_selector(exc)
    if selected is None:
        return None, f"its namespaceSelector needs the labels of {ns.name}, which are not among the inputs"
    return (True, "") if selected else (False, f"its namespaceSelector does not select {ns.name}")


def _glob_in(name: str, patterns: Any) -> bool:
    return any(isinstance(p, str) and fnmatch.fnmatchcase(name, p) for p in _list(patterns))


# ------------------------------------------------------------------ Kyverno
def _kyverno_kinds_pod(kinds: Any) -> bool:
    return any(isinstance(k, str) and (k in ("Pod", "*") or k.endswith("/Pod")) for k in _list(kinds))


def _kyverno_filter(f: Any, ns: Namespace) -> tuple[bool | None, str]:
    """Does one resource filter match every pod of ``ns``? (None: unknown) and why not."""
    f = mapping(f)
    res = mapping(f.get("resources"))
    if not _kyverno_kinds_pod(res.get("kinds")):
        return False, "it does not match Pods"
    if _list(res.get("namespaces")) and not _glob_in(ns.name, res.get("namespaces")):
        return False, f"its namespaces do not include {ns.name}"
    if res.get("names") or res.get("name") or res.get("selector") or res.get("annotations"):
        return False, "it matches only some pods (names, selector or annotations)"
    if any(f.get(k) for k in ("subjects", "roles", "clusterRoles")):
        return False, "it applies only to some users (subjects or roles)"
    return _ns_verdict(res.get("namespaceSelector"), ns)


def _kyverno_block(block: Any, ns: Namespace) -> tuple[bool | None, str]:
    """A match/exclude block: ``any`` (OR), ``all`` (AND), or a legacy single filter."""
    block = mapping(block)
    if _list(block.get("any")):
        results = [_kyverno_filter(f, ns) for f in _list(block["any"])]
        if any(r is True for r, _ in results):
            return True, ""
        if any(r is None for r, _ in results):
            return None, next(w for r, w in results if r is None)
        return False, results[0][1]
    if _list(block.get("all")):
        results = [_kyverno_filter(f, ns) for f in _list(block["all"])]
        if all(r is True for r, _ in results):
            return True, ""
        if any(r is False for r, _ in results):
            return False, next(w for r, w in results if r is False)
        return None, next(w for r, w in results if r is None)
    if block.get("resources"):
        return _kyverno_filter(block, ns)
    return False, "it matches nothing"


def _kyverno_excludes(block: Any, ns: Namespace) -> tuple[bool | None, str]:
    """Does the exclude block leave every pod of ``ns`` in? True: nothing excluded there."""
    block = mapping(block)
    filters = _list(block.get("any")) + _list(block.get("all"))
    if block.get("resources"):
        filters.append(block)
    for f in filters:
        f = mapping(f)
        res = mapping(f.get("resources"))
        if _list(res.get("kinds")) and not _kyverno_kinds_pod(res.get("kinds")):
            continue
        if _list(res.get("namespaces")) and not _glob_in(ns.name, res.get("namespaces")):
            continue
        if res.get("namespaceSelector") is not None:
            selected = _ns_selected(res.get("namespaceSelector"), ns)  # valid: _kyverno_invalid ran first
            if selected is False:
                continue
            if selected is None:
                return None, f"an exclude namespaceSelector needs the labels of {ns.name}"
        return False, "an exclude clause takes pods of the namespace (or some users, or some pods) out"
    return True, ""


def _kyverno_action(spec: Mapping[str, Any], validate: Mapping[str, Any], ns: Namespace) -> tuple[str, str]:
    """The effective failure action in ``ns`` (Enforce/Audit) and where it comes from."""
    overrides = _list(validate.get("failureActionOverrides")) or _list(spec.get("validationFailureActionOverrides"))
    for o in overrides:
        o = mapping(o)
        if _glob_in(ns.name, o.get("namespaces")) or (  # the selector is valid: _kyverno_invalid ran first
                o.get("namespaceSelector") is not None and _ns_selected(o.get("namespaceSelector"), ns)):
            return str(o.get("action") or "Audit"), "failureActionOverrides"
    if validate.get("failureAction"):
        return str(validate["failureAction"]), "validate.failureAction"
    if spec.get("validationFailureAction"):
        return str(spec["validationFailureAction"]), "spec.validationFailureAction"
    return "Audit", "the default (no failure action set)"


def _kyverno_invalid(spec: Mapping[str, Any]) -> str | None:
    """Why Kyverno's webhook rejects the policy for an invalid namespaceSelector (in a match or exclude
    filter, or a failure-action override), or None: such a policy enforces nothing anywhere."""
    selectors: list[tuple[str, Any]] = []
    for i, rule in enumerate(_list(spec.get("rules"))):
        for part in ("match", "exclude"):
            block = mapping(mapping(rule).get(part))
            for f in [*_list(block.get("any")), *_list(block.get("all")), block]:
                res = mapping(mapping(f).get("resources"))
                if res.get("namespaceSelector") is not None:
                    selectors.append((f"rules[{i}].{part}", res["namespaceSelector"]))
    overrides = [("validationFailureActionOverrides", o) for o in _list(spec.get("validationFailureActionOverrides"))]
    overrides += [(f"rules[{i}].validate.failureActionOverrides", o) for i, rule in enumerate(_list(spec.get("rules")))
                  for o in _list(mapping(mapping(rule).get("validate")).get("failureActionOverrides"))]
    selectors += [(where, mapping(o)["namespaceSelector"]) for where, o in overrides
                  if mapping(o).get("namespaceSelector") is not None]
    for where, selector in selectors:
        try:
            requirements(selector)
        except InvalidSelector as exc:
            return f"{where}: {_invalid_selector(exc)}"
    return None


def _kyverno(obj: K8sObject, ns: Namespace) -> PolicyVerdict:
    name = f"Kyverno {obj.kind} {obj.namespace + '/' if obj.namespace else ''}{obj.name}"
    if obj.kind == "Policy" and obj.namespace != ns.name:
        return PolicyVerdict(name, "inactive", f"a Policy applies only in namespace {obj.namespace}")
    spec = mapping(obj.raw.get("spec"))
    if spec.get("admission") is False:
        return PolicyVerdict(name, "inactive", "spec.admission is false: it only scans in the background")
    if invalid := _kyverno_invalid(spec):
        return PolicyVerdict(name, "inactive", invalid)
    best: PolicyVerdict | None = None
    undecided: list[str] = []
    reasons: list[str] = []
    for i, rule in enumerate(_list(spec.get("rules"))):
        rule = mapping(rule)
        validate = mapping(rule.get("validate"))
        if not validate:
            continue
        where = f"rules[{i}] ({rule.get('name') or 'unnamed'})"
        matched, why = _kyverno_block(rule.get("match"), ns)
        if matched is False:
            reasons.append(f"{where}: {why}")
            continue
        kept, why_ex = _kyverno_excludes(rule.get("exclude"), ns)
        action, source = _kyverno_action(spec, validate, ns)
        if action.lower() != "enforce":
            reasons.append(f"{where}: failure action {action} ({source}) only reports")
            continue
        pss = validate.get("podSecurity")
        if not isinstance(pss, dict):
            undecided.append(f"{where} enforces a {'CEL' if validate.get('cel') else 'pattern or deny'} "
                             "rule whose checks are not modelled")
            continue
        level = pss.get("level")
        if not isinstance(level, str) or level not in _LEVELS:
            undecided.append(f"{where}: podSecurity level {level!r} is not a Pod Security level")
            continue
        if level == "privileged":
            reasons.append(f"{where}: podSecurity level privileged refuses nothing")
            continue
        if matched is None or kept is None:
            undecided.append(f"{where} enforces podSecurity level {level}, but {why or why_ex}")
            continue
        if kept is False:
            undecided.append(f"{where} enforces podSecurity level {level}, but {why_ex}")
            continue
        if pss.get("exclude"):
            undecided.append(f"{where} enforces podSecurity level {level} with exemptions (podSecurity.exclude), "
                             "which are not modelled")
            continue
        if best is None or _LEVELS[level] > _LEVELS[str(best.level)]:
            best = PolicyVerdict(name, "enforces", f"{where} enforces podSecurity level {level} ({source}) on "
                                                   f"every pod of {ns.name}", level)
    if best is not None:
        return best
    if undecided:
        return PolicyVerdict(name, "undecided", "; ".join(undecided))
    return PolicyVerdict(name, "inactive", "; ".join(reasons) or "it has no validate rule")


# ------------------------------------------------------------------ Gatekeeper
BASELINE_RULES: tuple[str, ...] = ("privileged", "host PID/IPC", "host network", "host ports", "host paths",
                                   "capabilities", "AppArmor", "SELinux", "/proc mount", "seccomp", "sysctls")
_Decision = tuple[frozenset[str], str | None]  # (rules covered, why parameters cannot be decided)


def _gk_ports(p: Mapping[str, Any]) -> _Decision:
    covered = set()
    if not p.get("hostNetwork"):
        covered.add("host network")
    if isinstance(p.get("min"), int) and isinstance(p.get("max"), int):
        covered.add("host ports")  # a known range, as PSS baseline allows
    return frozenset(covered), None


def _gk_caps(p: Mapping[str, Any]) -> _Decision:
    allowed = p.get("allowedCapabilities") or []
    if not isinstance(allowed, list):
        return frozenset(), "allowedCapabilities is not a list"
    ok = all(isinstance(c, str) and c.upper().removeprefix("CAP_") in BASELINE_CAPABILITIES for c in allowed)
    return (frozenset({"capabilities"}) if ok else frozenset()), None


def _gk_hostpath(p: Mapping[str, Any]) -> _Decision:
    return (frozenset() if p.get("allowedHostPaths") else frozenset({"host paths"})), None


def _gk_apparmor(p: Mapping[str, Any]) -> _Decision:
    profiles = p.get("allowedProfiles")
    if not isinstance(profiles, list) or not profiles:
        return frozenset(), "allowedProfiles is not set"
    ok = all(isinstance(x, str) and apparmor_annotation_allowed(x) for x in profiles)  # as baseline reads them
    return (frozenset({"AppArmor"}) if ok else frozenset()), None


def _gk_selinux(p: Mapping[str, Any]) -> _Decision:
    allowed = p.get("allowedSELinuxOptions") or []
    if not isinstance(allowed, list):
        return frozenset(), "allowedSELinuxOptions is not a list"
    ok = all(isinstance(o, dict) and not o.get("user") and not o.get("role")
             and isinstance(o.get("type", ""), str) and o.get("type", "") in selinux_types() for o in allowed)
    return (frozenset({"SELinux"}) if ok else frozenset()), None


def _gk_procmount(p: Mapping[str, Any]) -> _Decision:
    return (frozenset({"/proc mount"}) if p.get("procMount") in (None, "Default") else frozenset()), None


def _gk_seccomp(p: Mapping[str, Any]) -> _Decision:
    profiles = p.get("allowedProfiles")
    if not isinstance(profiles, list) or not profiles:
        return frozenset(), "allowedProfiles is not set"
    bad = {"*", "unconfined", "Unconfined", "runtime/unconfined"}
    return (frozenset() if bad & {str(x) for x in profiles} else frozenset({"seccomp"})), None


def _gk_sysctls(p: Mapping[str, Any]) -> _Decision:
    forbidden = p.get("forbiddenSysctls") or []
    allowed = p.get("allowedSysctls") or []
    if not isinstance(forbidden, list) or not isinstance(allowed, list):
        return frozenset(), "forbiddenSysctls/allowedSysctls are not lists"
    safe = allowed_sysctls()
    if "*" in forbidden and all(isinstance(s, str) and s in safe for s in allowed):
        return frozenset({"sysctls"}), None
    if "*" not in forbidden:
        return frozenset(), None
    return frozenset(), "allowedSysctls names sysctls outside the safe set (not modelled)"


#: gatekeeper-library PSP constraint kinds -> how their parameters decide the baseline rules they cover.
GATEKEEPER_RULES: dict[str, Callable[[Mapping[str, Any]], _Decision]] = {
    "K8sPSPPrivilegedContainer": lambda p: (frozenset({"privileged"}), None),
    "K8sPSPHostNamespace": lambda p: (frozenset({"host PID/IPC"}), None),
    "K8sPSPHostNetworkingPorts": _gk_ports,
    "K8sPSPHostFilesystem": _gk_hostpath,
    "K8sPSPCapabilities": _gk_caps,
    "K8sPSPAppArmor": _gk_apparmor,
    "K8sPSPSELinuxV2": _gk_selinux,
    "K8sPSPProcMount": _gk_procmount,
    "K8sPSPSeccomp": _gk_seccomp,
    "K8sPSPForbiddenSysctls": _gk_sysctls,
}


def _gk_match(obj: K8sObject, ns: Namespace) -> tuple[bool | None, str]:
    match = mapping(mapping(obj.raw.get("spec")).get("match"))
    kinds = match.get("kinds")
    if kinds and not any(({"", "*"} & _strs(mapping(k).get("apiGroups"), ("",)))
                         and ({"Pod", "*"} & _strs(mapping(k).get("kinds"))) for k in _list(kinds)):
        return False, "it does not match Pods"
    if match.get("scope") == "Cluster":
        return False, "its scope is Cluster (pods are namespaced)"
    if _list(match.get("namespaces")) and not _glob_in(ns.name, match["namespaces"]):
        return False, f"its namespaces do not include {ns.name}"
    if _glob_in(ns.name, match.get("excludedNamespaces")):
        return False, f"it excludes namespace {ns.name}"
    if match.get("labelSelector") or match.get("name"):
        return False, "it matches only some pods (labelSelector or name)"
    return _ns_verdict(match.get("namespaceSelector"), ns)


def _gatekeeper(constraints: list[K8sObject], ns: Namespace) -> PolicyVerdict | None:
    if not constraints:
        return None
    covered: set[str] = set()
    by: list[str] = []
    open_: list[str] = []
    others: list[str] = []
    for c in constraints:
        label = f"{c.kind} {c.name}"
        action = mapping(c.raw.get("spec")).get("enforcementAction") or "deny"
        if action != "deny":
            others.append(f"{label}: enforcementAction {action} does not refuse pods")
            continue
        matched, why = _gk_match(c, ns)
        if matched is False:
            others.append(f"{label}: {why}")
            continue
        decide = GATEKEEPER_RULES.get(c.kind)
        if decide is None:
            open_.append(f"{label}: not a Pod Security library template, its Rego is not modelled")
            continue
        rules, unknown = decide(mapping(mapping(c.raw.get("spec")).get("parameters")))
        if matched is None or unknown:
            open_.append(f"{label}: {why or unknown}")
            continue
        if rules:
            covered |= rules
            by.append(label)
    missing = [r for r in BASELINE_RULES if r not in covered]
    name = f"Gatekeeper constraints ({len(constraints)})"
    if not missing:
        return PolicyVerdict(name, "enforces", f"{', '.join(by)} deny pods breaking any baseline rule in "
                                               f"{ns.name}", "baseline")
    if open_:
        return PolicyVerdict(name, "undecided", f"they cover {', '.join(sorted(covered)) or 'no baseline rule'} "
                                                f"for certain; {'; '.join(open_)}")
    detail = f"; {'; '.join(others[:4])}" if others else ""
    return PolicyVerdict(name, "inactive", f"no deny constraint covers {', '.join(missing)} in {ns.name}{detail}")


# ------------------------------------------------------------------ Kubewarden
def _module(obj: K8sObject) -> str:
    module = str(mapping(obj.raw.get("spec")).get("module") or "")
    return module.rsplit("/", 1)[-1].split(":", 1)[0].split("@", 1)[0]


def _kw_rules(settings: Mapping[str, Any], module: str) -> _Decision:
    if module == "pod-privileged":
        return frozenset({"privileged"}), None
    if module == "host-namespaces-psp":
        rules = set()
        if not settings.get("allow_host_ipc") and not settings.get("allow_host_pid"):
            rules.add("host PID/IPC")
        if not settings.get("allow_host_network"):
            rules.add("host network")
        if not settings.get("allow_host_ports"):
            rules.add("host ports")
        return frozenset(rules), None
    if module == "capabilities-psp":
        allowed = settings.get("allowed_capabilities") or []
        ok = isinstance(allowed, list) and all(isinstance(c, str) and c in BASELINE_CAPABILITIES for c in allowed)
        return (frozenset({"capabilities"}) if ok else frozenset()), None
    return frozenset(), f"module {module or '(none)'} is not modelled"


def _kw_match(obj: K8sObject, ns: Namespace) -> tuple[bool | None, str]:
    spec = mapping(obj.raw.get("spec"))
    if obj.kind == "AdmissionPolicy" and obj.namespace != ns.name:
        return False, f"an AdmissionPolicy applies only in namespace {obj.namespace}"
    pods = any(({"pods", "*"} & _strs(mapping(r).get("resources")))
               and ({"", "*"} & _strs(mapping(r).get("apiGroups"), ("",)))
               for r in _list(spec.get("rules")))
    if not pods:
        return False, "its rules do not match pods"
    if spec.get("objectSelector"):
        return False, "its objectSelector matches only some pods"
    return _ns_verdict(spec.get("namespaceSelector"), ns)


def _kubewarden(policies: list[K8sObject], ns: Namespace) -> PolicyVerdict | None:
    if not policies:
        return None
    covered: set[str] = set()
    by: list[str] = []
    open_: list[str] = []
    others: list[str] = []
    for p in policies:
        label = f"{p.kind} {p.namespace + '/' if p.namespace else ''}{p.name}"
        spec = mapping(p.raw.get("spec"))
        mode = spec.get("mode") or "protect"
        if mode != "protect":
            others.append(f"{label}: mode {mode} only reports")
            continue
        matched, why = _kw_match(p, ns)
        if matched is False:
            others.append(f"{label}: {why}")
            continue
        rules, unknown = _kw_rules(mapping(spec.get("settings")), _module(p))
        if matched is None or unknown:
            open_.append(f"{label}: {why or unknown}")
            continue
        covered |= rules
        by.append(label)
    missing = [r for r in BASELINE_RULES if r not in covered]
    name = f"Kubewarden policies ({len(policies)})"
    if not missing:
        return PolicyVerdict(name, "enforces", f"{', '.join(by)} refuse pods breaking any baseline rule in "
                                               f"{ns.name}", "baseline")
    if open_:
        return PolicyVerdict(name, "undecided", f"they cover {', '.join(sorted(covered)) or 'no baseline rule'} "
                                                f"for certain; {'; '.join(open_)}")
    detail = f"; {'; '.join(others[:4])}" if others else ""
    return PolicyVerdict(name, "inactive", f"no protect-mode policy covers {', '.join(missing)} in {ns.name}"
                                           f"{detail}")


# ------------------------------------------------------------------ ValidatingAdmissionPolicy
def _vap_matches_pods(policy: K8sObject) -> bool:
    constraints = mapping(mapping(policy.raw.get("spec")).get("matchConstraints"))
    for r in _list(constraints.get("resourceRules")):
        r = mapping(r)
        groups = _strs(r.get("apiGroups"))
        resources = _strs(r.get("resources"))
        ops = _strs(r.get("operations"))
        if {"", "*"} & groups and {"pods", "*"} & resources and {"CREATE", "*"} & ops:
            return True
    return False


def _vaps(inv: Inventory, ns: Namespace) -> list[PolicyVerdict]:
    policies = {o.name: o for o in inv.of_kind("ValidatingAdmissionPolicy")}
    out = []
    for b in inv.of_kind("ValidatingAdmissionPolicyBinding"):
        spec = mapping(b.raw.get("spec"))
        policy = policies.get(str(spec.get("policyName")))
        name = f"ValidatingAdmissionPolicyBinding {b.name} (policy {spec.get('policyName')})"
        if policy is None or not _vap_matches_pods(policy):
            continue
        actions = _strs(spec.get("validationActions"))
        if "Deny" not in actions:
            out.append(PolicyVerdict(name, "inactive", f"validationActions {sorted(actions)} do not refuse pods"))
            continue
        selectors = (mapping(spec.get("matchResources")).get("namespaceSelector"),
                     mapping(mapping(policy.raw.get("spec")).get("matchConstraints")).get("namespaceSelector"))
        try:
            selected = [_ns_selected(s, ns) for s in selectors]
        except InvalidSelector as exc:
            out.append(PolicyVerdict(name, "inactive", _invalid_selector(exc)))
            continue
        if False in selected:
            out.append(PolicyVerdict(name, "inactive", f"its namespaceSelector does not select {ns.name}"))
            continue
        out.append(PolicyVerdict(name, "undecided", f"it denies pods in {ns.name} by CEL validations, which are "
                                                    "not modelled"))
    return out


# ------------------------------------------------------------------ all engines
_CACHE: weakref.WeakKeyDictionary[Inventory, tuple[int, dict[str, list[K8sObject]], list[str]]] = \
    weakref.WeakKeyDictionary()


def _engine_objects(inv: Inventory) -> tuple[dict[str, list[K8sObject]], list[str]]:
    """The engines' policy objects by engine, and why some could not be read (served but forbidden)."""
    for kind in ENGINE_KINDS:
        inv.ensure(kind)
    templates = [o for o in inv.of_kind("ConstraintTemplate.templates.gatekeeper.sh")
                 if o.api_version.startswith("templates.gatekeeper.sh/")]
    constraint_kinds = sorted({k for t in templates if isinstance(k := mapping(mapping(mapping(mapping(
        t.raw.get("spec")).get("crd")).get("spec")).get("names")).get("kind"), str)})
    for kind in constraint_kinds:
        inv.ensure(f"{kind}.constraints.gatekeeper.sh")
    stamp = len(inv.objects)
    cached = _CACHE.get(inv)
    if cached is not None and cached[0] == stamp:
        return cached[1], cached[2]
    problems = [f"{k} cannot be read: {why}" for k, why in inv.unavailable_kinds.items()
                if k in ENGINE_KINDS or k.endswith(OPTIONAL_GROUPS)]

    def group(obj: K8sObject) -> str:
        return obj.api_version.split("/", 1)[0]

    found: dict[str, list[K8sObject]] = {"kyverno": [], "kyverno-cel": [], "gatekeeper": [], "kubewarden": []}
    for o in inv.objects:
        g = group(o)
        if g == "kyverno.io" and o.kind in ("ClusterPolicy", "Policy"):
            found["kyverno"].append(o)
        elif g == "policies.kyverno.io" and o.kind in ("ValidatingPolicy", "NamespacedValidatingPolicy"):
            found["kyverno-cel"].append(o)
        elif g == "constraints.gatekeeper.sh":
            found["gatekeeper"].append(o)
        elif g == "policies.kubewarden.io" and o.kind in ("ClusterAdmissionPolicy", "AdmissionPolicy"):
            found["kubewarden"].append(o)
    _CACHE[inv] = (stamp, found, problems)
    return found, problems


def judge(ns: Namespace, inv: Inventory) -> tuple[list[PolicyVerdict], list[str]]:
    """Every engine policy's verdict for ``ns``, and the engine kinds that could not be read."""
    found, problems = _engine_objects(inv)
    verdicts: list[PolicyVerdict] = [_kyverno(o, ns) for o in found["kyverno"]]
    for o in found["kyverno-cel"]:
        if o.kind == "NamespacedValidatingPolicy" and o.namespace != ns.name:
            continue
        verdicts.append(PolicyVerdict(f"Kyverno {o.kind} {o.name}", "undecided",
                                      "its CEL validations are not modelled"))
    for v in (_gatekeeper(found["gatekeeper"], ns), _kubewarden(found["kubewarden"], ns)):
        if v is not None:
            verdicts.append(v)
    verdicts += _vaps(inv, ns)
    return verdicts, problems


def names(verdicts: Iterable[PolicyVerdict]) -> str:
    return "; ".join(v.describe() for v in verdicts)
