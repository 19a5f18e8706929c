"""Kubernetes label selectors (``metav1.LabelSelector``): one reading for every check.

A selector is turned into requirements once, validated as the API server
validates it: an invalid one raises :class:`InvalidSelector`, and each caller
decides what that means (a NetworkPolicy the API server would reject selects
nothing; a CNI policy whose selector cannot be read makes the verdict
undetermined). ``None`` and ``{}`` select everything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["OPERATORS", "InvalidSelector", "Requirement", "holds", "requirements", "selector_matches"]

OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")

#: (key, operator, values): ``matchLabels`` pairs are ``In`` with one value.
Requirement = tuple[str, str, frozenset[str]]


class InvalidSelector(ValueError):
    """A label selector the API server would reject."""


def requirements(selector: Any) -> list[Requirement]:
    """The requirements of a selector, all of which must hold; raises :class:`InvalidSelector`."""
    if selector is None:
        return []
    if not isinstance(selector, dict):
        raise InvalidSelector("must be a mapping")
    labels = selector.get("matchLabels")
    if labels is not None and not isinstance(labels, dict):
        raise InvalidSelector("matchLabels must be a mapping")
    out: list[Requirement] = [(str(k), "In", frozenset({str(v)})) for k, v in (labels or {}).items()]
    exprs = selector.get("matchExpressions")
    if exprs is None:
        return out
    if not isinstance(exprs, list):
        raise InvalidSelector("matchExpressions must be a list")
    for i, expr in enumerate(exprs):
        if not isinstance(expr, dict) or not expr.get("key"):
            raise InvalidSelector(f"matchExpressions[{i}] needs a key")
        op, values = expr.get("operator"), expr.get("values") or []
        if op not in OPERATORS:
            raise InvalidSelector(f"matchExpressions[{i}].operator {op!r} is not one of {', '.join(OPERATORS)}")
        if not isinstance(values, list):
            raise InvalidSelector(f"matchExpressions[{i}].values must be a list")
        if op in ("In", "NotIn") and not values:
            raise InvalidSelector(f"matchExpressions[{i}]: {op} needs at least one value")
        if op in ("Exists", "DoesNotExist") and values:
            raise InvalidSelector(f"matchExpressions[{i}]: {op} takes no values")
        out.append((str(expr["key"]), str(op), frozenset(str(v) for v in values)))
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


def selector_matches(selector: Any, labels: Mapping[str, str]) -> bool:
    """Does the selector select an object with ``labels``? Raises :class:`InvalidSelector`."""
    return holds(requirements(selector), labels)
