"""Table-driven tests of selectors.py, the one reading of Kubernetes label selectors, and of the rule for
invalid input: what ValidateLabelSelector rejects raises InvalidSelector, and each caller reads it fail-closed."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_k8shardening import selectors
from pytest_k8shardening.selectors import InvalidSelector, holds, requirements, selector_matches

LABELS = {"app": "api", "tier": "web", "env": "prod", "acme.io/team": "shop", "empty": ""}


def expr(key: Any, op: Any, *values: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"key": key, "operator": op}
    if values:
        out["values"] = list(values)
    return out


def sel(*exprs: dict[str, Any], **labels: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if labels:
        out["matchLabels"] = labels
    if exprs:
        out["matchExpressions"] = list(exprs)
    return out


# ----------------------------------------------------------------- semantics
MATCHES = [
    # id, selector, expected against LABELS
    ("none-is-everything", None, True),
    ("empty-is-everything", {}, True),
    ("empty-parts-are-everything", {"matchLabels": {}, "matchExpressions": []}, True),
    ("null-parts-are-everything", {"matchLabels": None, "matchExpressions": None}, True),
    ("labels-hit", sel(app="api"), True),
    ("labels-all-must-hold", sel(app="api", tier="db"), False),
    ("labels-missing-key", sel(team="a"), False),
    ("labels-prefixed-key", {"matchLabels": {"acme.io/team": "shop"}}, True),
    ("labels-empty-value-matches-empty", sel(empty=""), True),
    ("in-hit", sel(expr("tier", "In", "web", "api")), True),
    ("in-miss", sel(expr("tier", "In", "db")), False),
    ("in-absent-key", sel(expr("team", "In", "a")), False),
    ("notin-listed", sel(expr("env", "NotIn", "prod")), False),
    ("notin-other", sel(expr("env", "NotIn", "dev")), True),
    ("notin-absent-key", sel(expr("team", "NotIn", "a")), True),
    ("exists", sel(expr("app", "Exists")), True),
    ("exists-empty-value", sel(expr("empty", "Exists")), True),
    ("exists-absent", sel(expr("team", "Exists")), False),
    ("exists-empty-values-list", sel({"key": "app", "operator": "Exists", "values": []}), True),
    ("does-not-exist", sel(expr("team", "DoesNotExist")), True),
    ("does-not-exist-present", sel(expr("app", "DoesNotExist")), False),
    ("labels-and-expressions", sel(expr("env", "In", "prod"), expr("legacy", "DoesNotExist"), app="api"), True),
    ("labels-hold-expression-fails", sel(expr("env", "In", "dev"), app="api"), False),
]


@pytest.mark.parametrize(("selector", "expected"), [c[1:] for c in MATCHES], ids=[c[0] for c in MATCHES])
def test_selector_matches(selector: Any, expected: bool) -> None:
    assert selector_matches(selector, LABELS) is expected
    assert holds(requirements(selector), LABELS) is expected


def test_requirements_read_match_labels_as_in_with_one_value() -> None:
    assert requirements(sel(expr("tier", "NotIn", "a", "b"), app="api")) == [
        ("app", "In", frozenset({"api"})), ("tier", "NotIn", frozenset({"a", "b"}))]


def test_no_requirement_selects_an_object_without_labels() -> None:
    assert selector_matches({}, {}) and not selector_matches(sel(app="api"), {})


# ----------------------------------------------------------------- invalid input: one rule
INVALID = [
    # id, selector, words of the error
    ("string", "app=api", "must be a mapping"),
    ("list", [{"matchLabels": {"a": "b"}}], "must be a mapping"),
    ("labels-not-mapping", {"matchLabels": ["app"]}, "matchLabels must be a mapping"),
    ("labels-bool-value", sel(app=True), "matchLabels[app] must be a string, not bool"),
    ("labels-int-value", sel(version=2), "matchLabels[version] must be a string, not int"),
    ("labels-null-value", sel(app=None), "must be a string"),
    ("labels-bad-key", {"matchLabels": {"bad key": "x"}}, "'bad key' is not a label name"),
    ("labels-two-slashes", {"matchLabels": {"a/b/c": "x"}}, "more than one '/'"),
    ("labels-empty-prefix", {"matchLabels": {"/c": "x"}}, "empty prefix or name"),
    ("labels-uppercase-prefix", {"matchLabels": {"Acme.io/c": "x"}}, "not a DNS subdomain"),
    ("labels-long-name", {"matchLabels": {"a" * 64: "x"}}, "is not a label name"),
    ("labels-bad-value", sel(app="a b"), "is not a label value"),
    ("labels-long-value", sel(app="v" * 64), "is not a label value"),
    ("expressions-not-list", {"matchExpressions": {"key": "a"}}, "matchExpressions must be a list"),
    ("expression-not-mapping", {"matchExpressions": ["a"]}, "matchExpressions[0] must be a mapping"),
    ("no-key", sel({"operator": "Exists"}), "matchExpressions[0] needs a key"),
    ("empty-key", sel(expr("", "Exists")), "needs a key"),
    ("int-key", sel(expr(5, "Exists")), "matchExpressions[0].key must be a string"),
    ("bad-key", sel(expr("a:b", "Exists")), "is not a label name"),
    ("unknown-operator", sel(expr("a", "Gt", "1")), "operator 'Gt' is not one of In, NotIn, Exists, DoesNotExist"),
    ("lowercase-operator", sel(expr("a", "in", "1")), "operator 'in'"),
    ("no-operator", sel({"key": "a"}), "operator None"),
    ("in-without-values", sel(expr("a", "In")), "In needs at least one value"),
    ("in-empty-values", sel({"key": "a", "operator": "In", "values": []}), "In needs at least one value"),
    ("notin-without-values", sel(expr("a", "NotIn")), "NotIn needs at least one value"),
    ("exists-with-values", sel(expr("a", "Exists", "x")), "Exists takes no values"),
    ("does-not-exist-with-values", sel(expr("a", "DoesNotExist", "x")), "DoesNotExist takes no values"),
    ("values-not-list", sel({"key": "a", "operator": "In", "values": "x"}), "values must be a list"),
    ("values-int", sel(expr("a", "In", 1)), "matchExpressions[0].values[0] must be a string, not int"),
    ("values-bad-syntax", sel(expr("a", "In", "ok", "not ok")), "values[1] 'not ok' is not a label value"),
    ("second-expression", sel(expr("a", "Exists"), expr("b", "Bad")), "matchExpressions[1].operator"),
]


@pytest.mark.parametrize(("selector", "words"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_selectors_raise_naming_the_problem(selector: Any, words: str) -> None:
    with pytest.raises(InvalidSelector) as info:
        requirements(selector)
    assert words in str(info.value)
    with pytest.raises(InvalidSelector):  # never read leniently: not even when the labels would decide it
        selector_matches(selector, LABELS)


@pytest.mark.parametrize(("selector", "expected"), [
    (sel(expr("k8s:app", "In", "api")), False),  # the prefix is the caller's to strip
    ({"matchLabels": {"any:app": "api"}}, False),
    (sel(expr("reserved:host", "Exists")), False),
])
def test_syntax_false_accepts_engine_prefixed_keys(selector: Any, expected: bool) -> None:
    with pytest.raises(InvalidSelector):
        requirements(selector)
    assert selector_matches(selector, LABELS, syntax=False) is expected


@pytest.mark.parametrize("selector", [
    sel(expr("a", "In")), sel(expr("a", "Gt", "1")), sel(app=True), "app=api"])
def test_syntax_false_keeps_every_other_rule(selector: Any) -> None:
    with pytest.raises(InvalidSelector):
        requirements(selector, syntax=False)


def test_the_module_is_the_one_implementation() -> None:
    """Callers import it; no check module keeps a matcher of its own (the issue-17 duplicate)."""
    from pytest_k8shardening.checks import cni, engines, network, rbac

    assert network.selector_matches is selectors.selector_matches
    assert engines.requirements is selectors.requirements and cni.requirements is selectors.requirements
    assert rbac.selector_matches is selectors.selector_matches
