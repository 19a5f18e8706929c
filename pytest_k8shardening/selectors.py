"""Kubernetes label selectors (``metav1.LabelSelector``): the one reading every check uses.

Semantics (``LabelSelectorAsSelector`` in k8s.io/apimachinery): every
``matchLabels`` pair and every ``matchExpressions`` requirement must hold.
``In`` needs the key present with a listed value; ``NotIn`` holds when the
key is absent or its value is not listed; ``Exists`` and ``DoesNotExist``
test the key alone. A selector with no requirements (``{}``) selects
everything. ``None`` here means the same as ``{}``; what an absent or
``null`` selector means is the caller's to say, since the API differs by
field (an absent NetworkPolicy ``podSelector`` decodes to ``{}``; an absent
peer selector is not a selector at all), and each caller documents it.

**Invalid input: one rule.** The API server validates a selector at
admission (``ValidateLabelSelector``) and rejects the object whose selector
is invalid, so a selector it would reject never selects anything on a
cluster. :func:`requirements` raises :class:`InvalidSelector` for exactly
those selectors, with what is wrong:

* a selector, ``matchLabels`` or expression that is not a mapping, a
  ``matchExpressions`` or ``values`` that is not a list;
* a ``matchLabels`` key or value, an expression's key or a value that is
  not a string (YAML ``app: true`` is a boolean: the API server does not
  decode it into a string), or (``syntax=True``, the default) not a valid
  label key (qualified name) or label value;
* an operator other than ``In``, ``NotIn``, ``Exists``, ``DoesNotExist``;
  ``In``/``NotIn`` without values; ``Exists``/``DoesNotExist`` with values.

Callers never read an invalid selector leniently; each turns the error into
its fail-closed reading (:func:`selector_matches` raises too):

* NetworkPolicy ``spec.podSelector`` (``checks/network.py``): the policy
  selects no pod, so it isolates nothing and counts for no default deny.
* ClusterRole ``aggregationRule.clusterRoleSelectors`` (``checks/rbac.py``):
  the selector aggregates no role, so no rules flow through it, and a role it
  would name is not counted as used by it.
* Policy-engine ``namespaceSelector`` (``checks/engines.py``): the policy
  enforces in no namespace (it does not count for pod-security enforcement).
* CNI policy selectors (``checks/cni.py``): the CNI engines validate with
  their own schemas, so the policy's reach is undecidable and the verdict
  undetermined, never a pass; Cilium's ``k8s:``/``any:`` prefixed keys are
  read with ``syntax=False``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["OPERATORS", "InvalidSelector", "Requirement", "holds", "requirements", "selector_matches"]

OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")

#: (key, operator, values): ``matchLabels`` pairs are ``In`` with one value.
Requirement = tuple[str, str, frozenset[str]]

# k8s.io/apimachinery/pkg/util/validation: IsQualifiedName and IsValidLabelValue.
_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


class InvalidSelector(ValueError):
    """A label selector the API server would reject (the message says which part, and why)."""


def _key_problem(key: str) -> str | None:
    prefix, _, name = key.rpartition("/")
    if "/" in prefix:
        return "has more than one '/'"
    if key.endswith("/") or (key.startswith("/") and not prefix):
        return "has an empty prefix or name"
    if prefix and (len(prefix) > 253 or not _DNS1123_SUBDOMAIN.fullmatch(prefix)):
        return "has a prefix that is not a DNS subdomain"
    if not name or len(name) > 63 or not _NAME.fullmatch(name):
        return "is not a label name (at most 63 alphanumerics, '-', '_' or '.', starting and ending alphanumeric)"
    return None


def _value_problem(value: str) -> str | None:
    if value and (len(value) > 63 or not _NAME.fullmatch(value)):
        return "is not a label value (at most 63 alphanumerics, '-', '_' or '.', starting and ending alphanumeric)"
    return None


def _string(value: Any, what: str, problem: Any = None) -> str:
    if not isinstance(value, str):
        raise InvalidSelector(f"{what} must be a string, not {type(value).__name__} {value!r}")
    if problem is not None and (why := problem(value)):
        raise InvalidSelector(f"{what} {value!r} {why}")
    return value


def requirements(selector: Any, *, syntax: bool = True) -> list[Requirement]:
    """The requirements of a selector, all of which must hold; raises :class:`InvalidSelector`.

    ``syntax=False`` skips the label key/value syntax (for CNI selectors
    whose keys carry an engine's prefix); every other rule still applies.
    """
    if selector is None:
        return []
    if not isinstance(selector, dict):
        raise InvalidSelector(f"must be a mapping, not {type(selector).__name__}")
    key_problem = _key_problem if syntax else None
    value_problem = _value_problem if syntax else None
    labels = selector.get("matchLabels")
    if labels is not None and not isinstance(labels, dict):
        raise InvalidSelector("matchLabels must be a mapping")
    out: list[Requirement] = []
    for k, v in (labels or {}).items():
        key = _string(k, "matchLabels key", key_problem)
        out.append((key, "In", frozenset({_string(v, f"matchLabels[{key}]", value_problem)})))
    exprs = selector.get("matchExpressions")
    if exprs is None:
        return out
    if not isinstance(exprs, list):
        raise InvalidSelector("matchExpressions must be a list")
    for i, expr in enumerate(exprs):
        where = f"matchExpressions[{i}]"
        if not isinstance(expr, dict):
            raise InvalidSelector(f"{where} must be a mapping")
        if not expr.get("key"):
            raise InvalidSelector(f"{where} needs a key")
        key = _string(expr["key"], f"{where}.key", key_problem)
        op, values = expr.get("operator"), expr.get("values")
        if op not in OPERATORS:
            raise InvalidSelector(f"{where}.operator {op!r} is not one of {', '.join(OPERATORS)}")
        if values is not None and not isinstance(values, list):
            raise InvalidSelector(f"{where}.values must be a list")
        if op in ("In", "NotIn") and not values:
            raise InvalidSelector(f"{where}: {op} needs at least one value")
        if op in ("Exists", "DoesNotExist") and values:
            raise InvalidSelector(f"{where}: {op} takes no values")
        out.append((key, str(op), frozenset(_string(v, f"{where}.values[{j}]", value_problem)
                                             for j, v in enumerate(values or ()))))
    return out


def holds(reqs: list[Requirement], labels: Mapping[str, str]) -> bool:
    """In (key present, value listed), NotIn (key absent, or value not listed), Exists, DoesNotExist."""
    for key, op, values in reqs:
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


def selector_matches(selector: Any, labels: Mapping[str, str], *, syntax: bool = True) -> bool:
    """Does the selector select an object with ``labels``? Raises :class:`InvalidSelector`."""
    return holds(requirements(selector, syntax=syntax), labels)
