"""Table-driven tests of Inventory.top_owner, the helper the README offers to custom checks
(``k8s_cluster.top_owner(pod)``): it follows controlling owners that are really among the inputs."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_k8shardening.model import Inventory, K8sObject, Source

from .k8s import obj


def owned(kind: str, name: str, owner: tuple[str, str] | None = None, *, uid: str | None = None,
          owner_uid: str | None = None, controller: bool = True) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    if uid:
        meta["uid"] = uid
    if owner:
        ref: dict[str, Any] = {"apiVersion": "apps/v1", "kind": owner[0], "name": owner[1], "controller": controller}
        if owner_uid:
            ref["uid"] = owner_uid
        meta["ownerReferences"] = [ref]
    return obj(kind, name, metadata=meta)


POD = ("Pod", "api-7d9-x2")
RS = ("ReplicaSet", "api-7d9")
DEPLOY = ("Deployment", "api")

TOP_OWNER = [
    # id, objects (the first is asked about), (kind, name) of the top owner
    ("no-owner", [owned(*POD)], POD),
    ("pod-replicaset-deployment", [owned(*POD, owner=RS), owned(*RS, owner=DEPLOY), owned(*DEPLOY)], DEPLOY),
    ("uids-that-agree", [owned(*POD, owner=RS, owner_uid="u-rs"), owned(*RS, owner=DEPLOY, uid="u-rs",
                                                                         owner_uid="u-d"),
                         owned(*DEPLOY, uid="u-d")], DEPLOY),
    ("owner-not-among-inputs", [owned(*POD, owner=RS), owned(*RS, owner=DEPLOY)], RS),
    ("first-owner-missing", [owned(*POD, owner=RS), owned(*DEPLOY)], POD),
    ("not-a-controller", [owned(*POD, owner=RS, controller=False), owned(*RS)], POD),
    ("uid-mismatch-not-followed", [owned(*POD, owner=RS, owner_uid="u-other"), owned(*RS, uid="u-rs")], POD),
    ("names-itself", [owned(*POD, owner=POD)], POD),
    ("cycle-ends", [owned("ReplicaSet", "a", owner=("ReplicaSet", "b")),
                    owned("ReplicaSet", "b", owner=("ReplicaSet", "a"))], ("ReplicaSet", "b")),
]


@pytest.mark.parametrize(("raws", "top"), [c[1:] for c in TOP_OWNER], ids=[c[0] for c in TOP_OWNER])
def test_top_owner(raws: list[dict[str, Any]], top: tuple[str, str]) -> None:
    objs = [K8sObject(r, Source("cluster.yaml", i + 1, i + 1)) for i, r in enumerate(raws)]
    found = Inventory(objs).top_owner(objs[0])
    assert (found.kind, found.name) == top


def test_top_owner_stays_within_the_variant() -> None:
    """A ReplicaSet in another file (another variant) is not the pod's owner: nothing is taken across."""
    pod = K8sObject(owned(*POD, owner=RS), Source("a.yaml", 1, 1))
    rs = K8sObject(owned(*RS), Source("b.yaml", 1, 1))
    assert Inventory([pod, rs]).top_owner(pod) is pod
    same = K8sObject(owned(*RS), Source("a.yaml", 2, 2))
    assert Inventory([pod, rs, same]).top_owner(pod) is same
