"""Application manifests are not a cluster (issue 13).

Which inputs are a cluster (:attr:`Inventory.is_cluster`), which namespaces
are judged on each, and that namespace findings point at the file and line
where the namespace is declared. Both directions: what a cluster shows is
judged, what an application merely names is not.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_k8shardening.loader import load_inventory
from pytest_k8shardening.model import Inventory, Scope

from .k8s import inventory, obj, wrap_pod_spec

RBAC = "rbac.authorization.k8s.io/v1"
DEPLOY = wrap_pod_spec("Deployment", {"containers": [{"name": "web", "image": "nginx"}]}, name="api", namespace="shop")
ROLE_BINDING = {"apiVersion": RBAC, "kind": "RoleBinding", "metadata": {"name": "api-leader", "namespace": "default"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "leader"},
                "subjects": [{"kind": "ServiceAccount", "name": "api", "namespace": "shop"}]}


def read_back(raw: dict[str, Any], n: int, *, uid: bool = True, version: bool = True) -> dict[str, Any]:
    """``raw`` as ``kubectl get -o yaml`` shows it."""
    meta = dict(raw["metadata"])
    if uid:
        meta["uid"] = f"6f1c-{n}"
    if version:
        meta["resourceVersion"] = str(4000 + n)
    return {**raw, "metadata": meta}


def status(*fetched: str) -> dict[str, Any]:
    return {"apiVersion": "k8shardening.io/v1", "kind": "InventoryStatus", "metadata": {"name": "inventory"},
            "fetched": list(fetched), "unavailable": {}}


def live(*raws: dict[str, Any]) -> Inventory:
    return Inventory([], fetch=lambda kind, _inv: ([r for r in raws if r["kind"] == kind], None))


IS_CLUSTER = [
    ("app-manifests", lambda: inventory(obj("Namespace", "shop", None), DEPLOY, ROLE_BINDING), False),
    ("kubectl-get-list", lambda: inventory(read_back(DEPLOY, 1), read_back(ROLE_BINDING, 2)), True),
    ("kubectl-get-uid-only", lambda: inventory(read_back(DEPLOY, 1, version=False)), True),
    ("kubectl-get-resource-version-only", lambda: inventory(read_back(DEPLOY, 1, uid=False)), True),
    ("read-back-plus-one-app-manifest", lambda: inventory(read_back(DEPLOY, 1), ROLE_BINDING), False),
    ("snapshot", lambda: inventory(DEPLOY, status("Deployment", "Namespace")), True),
    ("live", lambda: live(DEPLOY), True),
    ("empty-live", lambda: live(), True),
]


@pytest.mark.parametrize(("make", "expected"), [c[1:] for c in IS_CLUSTER], ids=[c[0] for c in IS_CLUSTER])
def test_is_cluster(make: Any, expected: bool) -> None:
    assert make().is_cluster is expected


NAMESPACES = [
    # an application's RoleBinding in default: default is the cluster's, not the application's
    ("app-role-binding-in-default", [obj("Namespace", "shop", None), DEPLOY, ROLE_BINDING], ["shop"]),
    ("app-without-namespace-object", [DEPLOY, ROLE_BINDING], ["shop"]),
    ("only-rbac", [ROLE_BINDING], []),
    ("configmap-and-service-only", [obj("ConfigMap", "c", "web"), obj("Service", "s", "web")], []),
    ("declared-empty-namespace", [obj("Namespace", "quiet", None)], ["quiet"]),
    ("network-policy-sets-up-the-namespace", [{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                                               "metadata": {"name": "deny", "namespace": "web"},
                                               "spec": {"podSelector": {}}}], ["web"]),
    ("limit-range", [obj("LimitRange", "l", "web", spec={"limits": []})], ["web"]),
    ("resource-quota", [obj("ResourceQuota", "q", "web", spec={"hard": {"cpu": "1"}})], ["web"]),
    ("pod-without-namespace-lands-in-default",
     [wrap_pod_spec("Pod", {"containers": [{"name": "c", "image": "x"}]}, name="p", namespace="")], ["default"]),
    # read back from a cluster: every namespace it shows is the cluster's, and judged
    ("kubectl-get-list", [read_back(DEPLOY, 1), read_back(ROLE_BINDING, 2)], ["default", "shop"]),
    ("kubectl-get-configmaps", [read_back(obj("ConfigMap", "c", "web"), 1)], ["web"]),
]


@pytest.mark.parametrize(("raws", "expected"), [c[1:] for c in NAMESPACES], ids=[c[0] for c in NAMESPACES])
def test_namespaces_judged(raws: list[dict[str, Any]], expected: list[str]) -> None:
    assert [n.name for n in inventory(*raws).namespaces()] == expected


def test_namespace_source_is_its_declaration_else_where_it_is_named(tmp_path: Path) -> None:
    f = tmp_path / "app.yaml"
    f.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\n---\n"
                 "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n---\n"
                 "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: shop}\n"
                 "spec: {template: {spec: {containers: [{name: web, image: nginx}]}}}\n---\n"
                 "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w, namespace: jobs}\n"
                 "spec: {template: {spec: {containers: [{name: web, image: nginx}]}}}\n")
    shop, jobs = sorted(load_inventory([str(f)], Scope()).namespaces(), key=lambda n: n.name, reverse=True)
    assert (shop.name, shop.resource()["file"], shop.resource()["line"]) == ("shop", str(f), 5)
    assert (jobs.name, jobs.resource()["file"], jobs.resource()["line"]) == ("jobs", str(f), 15)


# ------------------------------------------------------------------ end to end
APP = """\
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels: {pod-security.kubernetes.io/enforce: restricted}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  template:
    metadata: {labels: {app: api}}
    spec:
      containers: [{name: web, image: nginx}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: api-leader-election, namespace: default}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: leader}
subjects: [{kind: ServiceAccount, name: api, namespace: shop}]
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: api-validation}
webhooks:
- name: validate.api.example.com
  clientConfig: {service: {namespace: shop, name: api}}
  admissionReviewVersions: [v1]
  sideEffects: None
"""
NAMESPACE_TESTS = ("network_policy or default_deny or limit_range or resource_quota or cloud_metadata "
                   "or pod_security_enforced or image_signatures")


def _run(pytester: pytest.Pytester, text: str) -> tuple[pytest.RunResult, dict[str, Any]]:
    path = pytester.path / "app.yaml"
    path.write_text(text)
    result = pytester.runpytest_inprocess("--k8s-manifests", str(path), "-m", "nsa", "-k", NAMESPACE_TESTS,
                                          "--k8s-report-json", "r.json", "-p", "no:randomly")
    doc = json.loads((pytester.path / "r.json").read_text())
    return result, {r["nodeid"].split("::")[1]: r for r in doc["results"]}


def test_an_apps_role_binding_in_default_judges_nothing_about_default(pytester: pytest.Pytester) -> None:
    result, results = _run(pytester, APP)
    assert not [k for k in results if "[default]" in k], results.keys()
    shop = [r for k, r in results.items() if k.endswith("[shop]")]
    assert len(shop) == 6
    # namespace findings point at the Namespace object: file and line
    assert {(r["resource"]["file"], r["resource"]["line"]) for r in shop} == {(str(pytester.path / "app.yaml"), 1)}
    sig = results["test_image_signatures_verified"]
    assert sig["outcome"] == "skipped"
    assert "the inputs are application manifests, not a cluster" in sig["message"]
    assert "Traceback" not in result.stdout.str()


def test_the_same_objects_read_back_from_a_cluster_are_judged(pytester: pytest.Pytester) -> None:
    # a List whose objects carry uid and resourceVersion, as `kubectl get ... -o yaml` writes it
    docs = list(yaml.safe_load_all(APP))
    items = [read_back(d, n) for n, d in enumerate(docs)]
    _, results = _run(pytester, yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items}))
    default = {k: r["outcome"] for k, r in results.items() if k.endswith("[default]")}
    # the cluster's default namespace has no NetworkPolicy, LimitRange or ResourceQuota: judged, and failed
    assert default["test_namespace_has_network_policy[default]"] == "failed"
    assert default["test_limit_range[default]"] == "failed"
    sig = results["test_image_signatures_verified"]
    assert sig["outcome"] == "failed" and "ValidatingWebhookConfiguration api-validation" in sig["message"]
