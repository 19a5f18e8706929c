"""Parametrize tests that ask for the target fixtures, testinfra-style.

A test asking for ``k8s_container`` runs once per container in scope,
``k8s_workload`` once per workload, ``k8s_namespace`` once per namespace, and
``k8s_object`` once per object of the kinds named by its ``k8s_select``
marker. When a test asks for several, the most specific one is parametrized
and the others follow from it (a container's workload, a workload's
namespace).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from .model import WORKLOAD_KINDS, Container, Inventory, K8sObject, Namespace, Workload

__all__ = ["TARGET_FIXTURES", "derive", "parametrize", "subject_of"]

#: Target fixtures, most specific first.
TARGET_FIXTURES: tuple[str, ...] = ("k8s_container", "k8s_workload", "k8s_object", "k8s_namespace")
_SELECT_KEYS = frozenset({"kinds", "namespaces", "include_system", "container_types", "where", "empty_reason"})

Subject = Container | Workload | K8sObject | Namespace


def _select_options(metafunc: pytest.Metafunc) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    for mark in reversed(list(metafunc.definition.iter_markers("k8s_select"))):
        unknown = set(mark.kwargs) - _SELECT_KEYS
        if unknown or mark.args:
            raise pytest.UsageError(
                f"{metafunc.definition.nodeid}: k8s_select takes only the keywords "
                f"{', '.join(sorted(_SELECT_KEYS))}; got {', '.join(sorted(unknown)) or 'positional arguments'}")
        opts.update(mark.kwargs)
    return opts


def _values(target: str, inv: Inventory, opts: dict[str, Any]) -> Sequence[Subject]:
    include_system = bool(opts.get("include_system"))
    kinds = set(opts.get("kinds") or ())
    ns_globs: Sequence[str] = opts.get("namespaces") or ()

    def ns_ok(ns: str | None) -> bool:
        return not ns_globs or (ns is not None and any(fnmatch.fnmatchcase(ns, g) for g in ns_globs))

    values: list[Any]
    if target == "k8s_container":
        types = set(opts.get("container_types") or ("container", "initContainer", "ephemeralContainer"))
        values = [c for c in inv.containers(ignore_system_default=include_system)
                  if c.type in types and ns_ok(c.workload.namespace)
                  and (not kinds or c.workload.kind in kinds)]
    elif target == "k8s_workload":
        values = [w for w in inv.workloads(ignore_system_default=include_system)
                  if ns_ok(w.namespace) and (not kinds or w.kind in kinds)]
    elif target == "k8s_object":
        values = [o for o in inv.objects_in_scope(kinds or None, ignore_system_default=include_system)
                  if ns_ok(o.namespace)]
    else:
        values = [n for n in inv.namespaces(ignore_system_default=include_system) if ns_ok(n.name)]
    where: Callable[[Any], bool] | None = opts.get("where")
    if where is not None:
        values = [v for v in values if where(v)]
    return values


_WHAT = {"k8s_container": "containers", "k8s_workload": "workloads", "k8s_object": "objects",
         "k8s_namespace": "namespaces"}


def _needed_kinds(target: str, inv: Inventory, opts: dict[str, Any]) -> list[str]:
    kinds = list(opts.get("kinds") or ())
    if target in ("k8s_container", "k8s_workload"):
        return [k for k in WORKLOAD_KINDS if not kinds or k in kinds]
    if target == "k8s_namespace":
        return ["Namespace"]
    return kinds or list(inv.default_kinds)


def parametrize(metafunc: pytest.Metafunc, inventory: Inventory | None, group_by: str = "resource") -> None:
    """Parametrize ``metafunc`` over the inventory, if it asks for a target fixture.

    Kinds that could not be read (live clusters: a 403) add one skipped item
    naming them and the server's reasons, so the gap shows in every report.
    """
    names = metafunc.fixturenames
    target = next((name for name in TARGET_FIXTURES if name in names), None)
    if target is None:
        return
    opts = _select_options(metafunc)
    values: list[Any] = list(_values(target, inventory, opts)) if inventory is not None else []
    if values and group_by != "resource":
        from .grouping import group_values

        values = list(group_values(values, target, group_by))
    ids = [v.id for v in values]
    if inventory is not None:
        missing = {k: why for k in _needed_kinds(target, inventory, opts) if (why := inventory.unavailable(k))}
        if missing:
            reason = "; ".join(f"cannot read {kind}: {why}" for kind, why in missing.items())
            values.append(pytest.param(None, marks=pytest.mark.skip(reason=reason)))
            ids.append("unavailable:" + ",".join(missing))
    if not values:
        what = _WHAT[target]
        kinds = opts.get("kinds")
        if kinds:
            what = f"{', '.join(kinds)} objects"
        if inventory is None:
            reason = "no Kubernetes target: pass --k8s-manifests PATH or a live cluster option"
        elif opts.get("empty_reason"):
            reason = opts["empty_reason"]
        elif opts.get("namespaces"):
            reason = f"no {what} in namespaces {', '.join(opts['namespaces'])} within scope"
        else:
            reason = f"no {what} in scope ({inventory.scope.describe()})"
        metafunc.parametrize(target, [pytest.param(None, marks=pytest.mark.skip(reason=reason), id="none")])
        return
    metafunc.parametrize(target, values, ids=ids)


def derive(name: str, subject: Any, inventory: Inventory | None) -> Any:
    """The value target fixture ``name`` takes when a more specific one is ``subject``.

    A container gives its workload, its object and its namespace; a workload
    its object and namespace; an object its namespace (None when it is
    cluster-scoped), as ``inventory`` declares it. The one derivation both the
    fixtures and a grouped item's run (:func:`~pytest_k8shardening.grouping.run_group`)
    use, so an object's values are the same in either mode. A group
    (``--k8s-group-by``) is passed through: each of its objects is derived when it runs.
    """
    if not isinstance(subject, (Container, Workload, K8sObject, Namespace)):
        return subject
    if name == "k8s_workload":
        return subject.workload if isinstance(subject, Container) else subject
    if name == "k8s_namespace" and isinstance(subject, Namespace):
        return subject
    obj = subject.workload.obj if isinstance(subject, Container) else \
        subject.obj if isinstance(subject, Workload) else subject
    if name != "k8s_namespace":
        return obj
    if not isinstance(obj, K8sObject) or obj.namespace is None:
        return None
    found = inventory.namespace_of(obj) if inventory is not None else None
    return found if found is not None else Namespace(obj.namespace)


def subject_of(item: pytest.Item) -> Subject | None:
    """The object an item checks, if it was parametrized over one."""
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return None
    params = callspec.params
    for name in TARGET_FIXTURES:
        if name in params:
            return params[name]
    return None
