"""Builders for Kubernetes objects in unit tests."""

from __future__ import annotations

import copy
from typing import Any

from pytest_k8shardening.model import WORKLOAD_KINDS, Container, Inventory, K8sObject, Source, Workload

API_VERSIONS = {"Pod": "v1", "PodTemplate": "v1", "ReplicationController": "v1", "Job": "batch/v1",
                "CronJob": "batch/v1"}


def obj(kind: str, name: str = "app", namespace: str | None = "shop", **fields: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    meta.update(fields.pop("metadata", {}))
    return {"apiVersion": API_VERSIONS.get(kind, "apps/v1" if kind in WORKLOAD_KINDS else "v1"),
            "kind": kind, "metadata": meta, **fields}


def wrap_pod_spec(kind: str, pod_spec: dict[str, Any], pod_meta: dict[str, Any] | None = None,
                  name: str = "app", namespace: str = "shop") -> dict[str, Any]:
    """An object of ``kind`` whose pod template holds ``pod_spec``."""
    pod_spec = copy.deepcopy(pod_spec)
    template = {"metadata": pod_meta or {}, "spec": pod_spec}
    if kind == "Pod":
        return obj("Pod", name, namespace, metadata=pod_meta or {}, spec=pod_spec)
    if kind == "PodTemplate":
        return obj(kind, name, namespace, template=template)
    if kind == "CronJob":
        return obj(kind, name, namespace, spec={"schedule": "* * * * *",
                                                "jobTemplate": {"spec": {"template": template}}})
    return obj(kind, name, namespace, spec={"template": template})


def inventory(*raws: dict[str, Any]) -> Inventory:
    return Inventory([K8sObject(r, Source("test.yaml", i + 1, i + 1)) for i, r in enumerate(raws)])


def workload(pod_spec: dict[str, Any], kind: str = "Deployment", *others: dict[str, Any],
             pod_meta: dict[str, Any] | None = None) -> Workload:
    inv = inventory(wrap_pod_spec(kind, pod_spec, pod_meta), *others)
    return inv.all_workloads()[0]


def container(sc: dict[str, Any] | None = None, pod_sc: dict[str, Any] | None = None, *,
              kind: str = "Deployment", ctype: str = "containers", extra: dict[str, Any] | None = None,
              pod: dict[str, Any] | None = None, others: tuple[dict[str, Any], ...] = ()) -> Container:
    """The first container of list ``ctype`` in a one-container workload."""
    c: dict[str, Any] = {"name": "web", "image": "nginx", **(extra or {})}
    if sc is not None:
        c["securityContext"] = sc
    spec: dict[str, Any] = dict(pod or {})
    spec.setdefault("containers", [])
    if ctype == "containers":
        spec["containers"] = [c]
    else:
        spec["containers"] = [{"name": "main", "image": "nginx"}]
        spec[ctype] = [c]
    if pod_sc is not None:
        spec["securityContext"] = pod_sc
    w = workload(spec, kind, *others)
    return next(x for x in w.containers if x.name == "web")
