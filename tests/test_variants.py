"""Variants are separate objects (issue 13), lookups stay within a source, and ownerReferences
exempt nobody by themselves (issue 14, item 1): ids, the lookup rule, owners, end to end."""

from __future__ import annotations

import copy
import datetime as dt
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_k8shardening import waivers
from pytest_k8shardening.checks import (
    Finding,
    NotApplicable,
    Undetermined,
    admission,
    network,
    pod,
    rbac,
)
from pytest_k8shardening.loader import parse_text
from pytest_k8shardening.model import Inventory, K8sObject, Source

from .k8s import wrap_pod_spec

RBAC = "rbac.authorization.k8s.io"
PROD = "kustomize:overlays/prod"
STAGING = "kustomize:overlays/staging"
FUTURE = (dt.date.today() + dt.timedelta(days=30)).isoformat()


def verdict(result: Any) -> str:
    if isinstance(result, NotApplicable):
        return "n/a"
    if isinstance(result, Undetermined):
        return "undetermined"
    assert all(isinstance(f, Finding) for f in result)
    return "fail" if result else "pass"


def at(raw: dict[str, Any], file: str, unit: str | None = None, document: int = 1, line: int = 1) -> K8sObject:
    return K8sObject(copy.deepcopy(raw), Source(file, line, document, unit))


def deployment(name: str = "api", privileged: bool = False, namespace: str = "shop", sa: str | None = None,
               labels: dict[str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "web", "image": "nginx:1.27",
                                            "securityContext": {"privileged": privileged}}]}
    if sa:
        spec["serviceAccountName"] = sa
    return wrap_pod_spec("Deployment", spec, {"labels": labels or {"app": name}}, name=name, namespace=namespace)


def role(name: str, resources: str, namespace: str = "shop") -> dict[str, Any]:
    return {"apiVersion": f"{RBAC}/v1", "kind": "Role", "metadata": {"name": name, "namespace": namespace},
            "rules": [{"apiGroups": [""], "resources": resources.split(), "verbs": ["get", "list"]}]}


def binding(name: str, role_name: str, kind: str = "Role", namespace: str = "shop") -> dict[str, Any]:
    return {"apiVersion": f"{RBAC}/v1", "kind": "RoleBinding", "metadata": {"name": name, "namespace": namespace},
            "roleRef": {"apiGroup": RBAC, "kind": kind, "name": role_name},
            "subjects": [{"kind": "User", "apiGroup": RBAC, "name": "dev"}]}


def namespace(name: str = "shop", labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels or {}}}


def service_account(name: str, automount: bool) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": "shop"},
            "automountServiceAccountToken": automount}


def netpol(name: str = "deny-all") -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": "shop"},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}


# ------------------------------------------------------------------ ids
ID_CASES = [
    ("one file: the plain id", [("deploy/api.yaml", None, 1)], ["shop/Deployment/api"]),
    ("two overlays", [("overlays/prod/deployment.yaml", PROD, 1), ("overlays/staging/deployment.yaml", STAGING, 1)],
     ["shop/Deployment/api@overlays/prod", "shop/Deployment/api@overlays/staging"]),
    ("a chart and a file", [("charts/web/templates/deployment.yaml", "helm:charts/web", 1), ("legacy/api.yaml", None, 1)],
     ["shop/Deployment/api@charts/web", "shop/Deployment/api@legacy/api.yaml"]),
    ("per-provider files", [("deploy/aws/deploy.yaml", None, 3), ("deploy/gcp/deploy.yaml", None, 3)],
     ["shop/Deployment/api@deploy/aws/deploy.yaml", "shop/Deployment/api@deploy/gcp/deploy.yaml"]),
    ("twice in one file: the later copy is #2", [("deploy/api.yaml", None, 1), ("deploy/api.yaml", None, 4)],
     ["shop/Deployment/api", "shop/Deployment/api#2"]),
    ("twice in one overlay and once in another",
     [("overlays/prod/a.yaml", PROD, 1), ("overlays/prod/b.yaml", PROD, 1), ("overlays/staging/a.yaml", STAGING, 1)],
     ["shop/Deployment/api@overlays/prod", "shop/Deployment/api@overlays/prod#2",
      "shop/Deployment/api@overlays/staging"]),
]


@pytest.mark.parametrize(("sources", "expected"), [c[1:] for c in ID_CASES], ids=[c[0] for c in ID_CASES])
def test_ids_name_the_variant_only_on_a_clash(sources: list[tuple[str, str | None, int]],
                                              expected: list[str]) -> None:
    objs = [at(deployment(privileged=i == 0), f, u, d) for i, (f, u, d) in enumerate(sources)]
    other = at(deployment("db"), sources[0][0], sources[0][1], 9)
    for order in (objs, list(reversed(objs))):
        inv = Inventory([*order, other])
        assert [o.id for o in objs] == expected
        assert other.id == "shop/Deployment/db"  # no clash: today's id
        assert [inv.by_id(i) for i in expected] == objs
        workloads = {w.id: w for w in inv.all_workloads()}
        assert set(workloads) == {*expected, "shop/Deployment/db"}  # every variant is checked
        first = workloads[expected[0]].containers[0]
        assert first.id == f"{expected[0]}:container=web"
        assert first.security_context == {"privileged": True}


def test_the_same_document_read_twice_is_one_object() -> None:
    """`--k8s-manifests deploy deploy/api.yaml`, or `-` twice: the same document, one object, one result."""
    a, again = at(deployment(), "deploy/api.yaml"), at(deployment(), "deploy/api.yaml")
    inv = Inventory([a, again])
    assert inv.objects == [a] and a.id == "shop/Deployment/api" and len(inv.all_workloads()) == 1


def test_cluster_and_hook_objects_clash_by_name() -> None:
    live = K8sObject(deployment(), Source(None))
    hook = K8sObject(deployment(privileged=True), Source("pytest_k8shardening_add_objects"))
    Inventory([live, hook])
    assert (live.id, hook.id) == ("shop/Deployment/api@cluster", "shop/Deployment/api@pytest_k8shardening_add_objects")


# ------------------------------------------------------------------ the lookup rule
def _resolve(objs: list[K8sObject], origin: K8sObject, kind: str, ns: str | None, name: str) -> K8sObject | None:
    inv = Inventory(objs)
    return inv.get(kind, ns, name, origin=origin)


LOOKUPS: list[tuple[str, str, str | None, list[tuple[str, str | None]], str | None]] = [
    # (case, origin file, origin unit, candidates (file, unit), expected candidate file or None)
    ("own overlay wins over another's", "overlays/prod/rb.yaml", PROD,
     [("overlays/staging/role.yaml", STAGING), ("overlays/prod/role.yaml", PROD)], "overlays/prod/role.yaml"),
    ("never another overlay's", "overlays/prod/rb.yaml", PROD, [("overlays/staging/role.yaml", STAGING)], None),
    ("never another chart's", "apps/rb.yaml", None, [("charts/web/templates/role.yaml", "helm:charts/web")], None),
    ("an overlay sees a plain file", "overlays/prod/rb.yaml", PROD, [("rbac/role.yaml", None)], "rbac/role.yaml"),
    ("own file first", "deploy/app.yaml", None, [("deploy/other.yaml", None), ("deploy/app.yaml", None)],
     "deploy/app.yaml"),
    ("same folder before an ancestor", "deploy/prod/rb.yaml", None,
     [("deploy/role.yaml", None), ("deploy/prod/role.yaml", None)], "deploy/prod/role.yaml"),
    ("an ancestor before a sibling folder", "deploy/prod/rb.yaml", None,
     [("deploy/staging/role.yaml", None), ("deploy/role.yaml", None)], "deploy/role.yaml"),
    ("a sibling folder when nothing nearer", "apps/rb.yaml", None, [("rbac/role.yaml", None)], "rbac/role.yaml"),
    ("a file before the cluster", "apps/rb.yaml", None, [("", None), ("rbac/role.yaml", None)], "rbac/role.yaml"),
    ("the cluster first for a cluster object", "", None, [("rbac/role.yaml", None), ("", None)], ""),
]


@pytest.mark.parametrize(("origin_file", "origin_unit", "candidates", "expected"), [c[1:] for c in LOOKUPS],
                         ids=[c[0] for c in LOOKUPS])
def test_lookups_resolve_within_the_source(origin_file: str, origin_unit: str | None,
                                           candidates: list[tuple[str, str | None]], expected: str | None) -> None:
    def src(file: str, unit: str | None) -> Source:
        return Source(file or None, 1, 1, unit)

    origin = K8sObject(binding("b", "r"), src(origin_file, origin_unit))
    cands = [K8sObject(role("r", f"pods{i}"), src(f, u)) for i, (f, u) in enumerate(candidates)]
    for order in ([origin, *cands], [*reversed(cands), origin]):
        found = _resolve(order, origin, "Role", "shop", "r")
        assert (None if found is None else found.source.file or "") == expected


def test_alternative_files_are_not_looked_up_across() -> None:
    """install.yaml and namespace-install.yaml declare the same Deployment differently: alternatives.
    A binding of one never resolves to the other's role; a file that shares nothing with them sees both."""
    install = [at(deployment(), "manifests/install.yaml"), at(binding("b", "r"), "manifests/install.yaml", line=5)]
    ns_install = [at(deployment(privileged=True), "manifests/namespace-install.yaml"),
                  at(role("r", "secrets"), "manifests/namespace-install.yaml", line=9)]
    extra = at(binding("x", "r"), "manifests/extra/rb.yaml")
    inv = Inventory([*install, *ns_install, extra])
    assert inv.get("Role", "shop", "r", origin=install[1]) is None
    assert inv.get("Role", "shop", "r", origin=extra) is ns_install[1]
    # identical copies are no alternatives: every file of an app may declare its Namespace
    a = [at(namespace(), "app/a.yaml"), at(binding("b", "r"), "app/a.yaml", line=3)]
    b = [at(namespace(), "app/b.yaml"), at(role("r", "pods"), "app/b.yaml", line=3)]
    inv = Inventory([*a, *b])
    assert inv.get("Role", "shop", "r", origin=a[1]) is b[1]
    assert a[0].id == "Namespace/shop@app/a.yaml"


def test_inside_one_variant_lookups_see_the_later_copy() -> None:
    """kubectl apply leaves the last document of an object in place."""
    first, second = at(role("r", "secrets"), "rbac.yaml", document=1), at(role("r", "pods"), "rbac.yaml", document=3)
    rb = at(binding("b", "r"), "rbac.yaml", document=5)
    for order in ([first, second, rb], [rb, second, first]):
        assert Inventory(order).get("Role", "shop", "r", origin=rb) is second
    assert (first.id, second.id) == ("shop/Role/r", "shop/Role/r#2")


def test_no_origin_sees_everything() -> None:
    """`k8s_cluster.get(kind, ns, name)` in a user's own test still finds rendered objects."""
    rendered = at(role("r", "pods"), "overlays/prod/role.yaml", PROD)
    assert Inventory([rendered]).get("Role", "shop", "r") is rendered


# ------------------------------------------------------------------ verdicts per variant
def _overlays(*extra: tuple[dict[str, Any], str]) -> list[K8sObject]:
    """Two overlays rendering the same names; prod is the hardened one."""
    objs = []
    for unit, hardened in ((PROD, True), (STAGING, False)):
        folder = unit.partition(":")[2]
        objs += [
            at(namespace(labels={"pod-security.kubernetes.io/enforce": "restricted"} if hardened else {}),
               f"{folder}/namespace.yaml", unit),
            at(deployment(privileged=not hardened, sa="api"), f"{folder}/deployment.yaml", unit),
            at(service_account("api", automount=not hardened), f"{folder}/sa.yaml", unit),
            at(role("reader", "configmaps" if hardened else "secrets"), f"{folder}/role.yaml", unit),
            at(binding("reader", "reader"), f"{folder}/role.yaml", unit, document=2),
        ]
        if hardened:
            objs.append(at(netpol(), f"{folder}/netpol.yaml", unit))
    objs += [at(raw, file) for raw, file in extra]
    return objs


def _verdicts(inv: Inventory) -> dict[tuple[str, str], str]:
    out: dict[tuple[str, str], str] = {}
    for b in inv.of_kind("RoleBinding"):
        out[("secrets_read", b.id)] = verdict(rbac.secrets_read(b, inv))
    for w in inv.all_workloads():
        out[("token", w.id)] = verdict(pod.service_account_token(w))
        out[("isolated", w.id)] = verdict(network.workload_isolated(w, inv))
        for c in w.containers:
            out[("privileged", c.id)] = "fail" if c.setting("privileged").value else "pass"
            out[("cpu", c.id)] = verdict(pod.cpu_limits(c))
    for ns in inv.namespaces():
        out[("psa", ns.id)] = verdict(admission.pod_security_enforced(ns, inv))
        out[("netpol", ns.id)] = verdict(network.network_policy_exists(ns, inv))
        out[("default-deny", ns.id)] = verdict(network.default_deny(ns, inv))
    return out


def test_each_overlay_is_judged_on_its_own_objects() -> None:
    got = _verdicts(Inventory(_overlays()))
    p, s = "@overlays/prod", "@overlays/staging"
    expected = {
        ("secrets_read", f"shop/RoleBinding/reader{p}"): "pass",
        ("secrets_read", f"shop/RoleBinding/reader{s}"): "fail",
        ("token", f"shop/Deployment/api{p}"): "pass",
        ("token", f"shop/Deployment/api{s}"): "fail",
        ("isolated", f"shop/Deployment/api{p}"): "pass",
        ("isolated", f"shop/Deployment/api{s}"): "fail",
        ("privileged", f"shop/Deployment/api{p}:container=web"): "pass",
        ("privileged", f"shop/Deployment/api{s}:container=web"): "fail",
        ("psa", f"shop{p}"): "pass",
        ("psa", f"shop{s}"): "fail",
        ("netpol", f"shop{p}"): "pass",
        ("netpol", f"shop{s}"): "fail",
        ("default-deny", f"shop{p}"): "pass",
        ("default-deny", f"shop{s}"): "fail",
    }
    assert {k: got.get(k) for k in expected} == expected


def test_a_plain_limit_range_applies_to_every_overlay_but_not_to_an_alternative_file() -> None:
    limits = {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "defaults", "namespace": "shop"},
              "spec": {"limits": [{"type": "Container", "default": {"cpu": "500m"}}]}}
    inv = Inventory(_overlays((limits, "policies/limits.yaml")))
    cpu = {k[1]: v for k, v in _verdicts(inv).items() if k[0] == "cpu"}
    assert cpu == {"shop/Deployment/api@overlays/prod:container=web": "pass",
                   "shop/Deployment/api@overlays/staging:container=web": "pass"}
    aws = [at(deployment(), "deploy/aws/deploy.yaml"), at(limits, "deploy/aws/deploy.yaml", document=2)]
    gcp = [at(deployment(privileged=True), "deploy/gcp/deploy.yaml")]
    cpu = {k[1]: v for k, v in _verdicts(Inventory([*aws, *gcp])).items() if k[0] == "cpu"}
    assert cpu == {"shop/Deployment/api@deploy/aws/deploy.yaml:container=web": "pass",
                   "shop/Deployment/api@deploy/gcp/deploy.yaml:container=web": "fail"}


def test_namespace_views() -> None:
    inv = Inventory(_overlays())
    assert [(n.id, n.obj.source.unit if n.obj else None) for n in inv.namespaces()] == [
        ("shop@overlays/prod", PROD), ("shop@overlays/staging", STAGING)]
    # one declaration, used by plain files too: one view, today's id
    inv = Inventory([at(namespace(), "deploy/ns.yaml"), at(deployment(), "deploy/apps/api.yaml")])
    assert [(n.id, n.obj is not None) for n in inv.namespaces()] == [("shop", True)]
    # used by two overlays that do not declare it, and by a plain file
    inv = Inventory([at(deployment(), "overlays/prod/d.yaml", PROD), at(deployment(), "overlays/staging/d.yaml", STAGING),
                     at(deployment("db"), "db.yaml")])
    assert [n.id for n in inv.namespaces()] == ["shop@overlays/prod", "shop@overlays/staging", "shop"]
    # the namespace a workload's test sees is that of its own variant
    staging = inv.by_id("shop/Deployment/api@overlays/staging")
    assert staging is not None
    view = inv.namespace_of(staging)
    assert view is not None and view.origin == staging.source


def test_verdicts_do_not_depend_on_load_order() -> None:
    limits = {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "defaults", "namespace": "shop"},
              "spec": {"limits": [{"type": "Container", "default": {"cpu": "500m"}}]}}
    objs = _overlays((limits, "policies/limits.yaml"), (deployment("db", privileged=True), "apps/db.yaml"),
                     (role("reader", "pods"), "apps/role.yaml"), (binding("db", "reader"), "apps/rb.yaml"),
                     (deployment("api", sa="api"), "legacy/api.yaml"))
    expected = _verdicts(Inventory(objs))
    assert len(expected) > 25
    rng = random.Random(13)
    for _ in range(8):
        shuffled = [K8sObject(copy.deepcopy(o.raw), o.source) for o in objs]
        rng.shuffle(shuffled)
        assert _verdicts(Inventory(shuffled)) == expected


# ------------------------------------------------------------------ owners (issue 14, item 1)
EVIL_POD = {"hostPID": True, "containers": [{"name": "x", "image": "busybox", "securityContext": {"privileged": True}}]}
HONEST_POD = {"containers": [{"name": "web", "image": "nginx:1.27"}]}


def rs(name: str = "api-5d4", uid: str | None = "rs-uid", spec: dict[str, Any] | None = None,
       owner: dict[str, Any] | None = None) -> dict[str, Any]:
    raw = wrap_pod_spec("ReplicaSet", spec or HONEST_POD, {"labels": {"app": "api"}}, name=name)
    if uid:
        raw["metadata"]["uid"] = uid
    if owner:
        raw["metadata"]["ownerReferences"] = [owner]
    return raw


def owned_pod(owner_name: str = "api-5d4", uid: str | None = "rs-uid", spec: dict[str, Any] | None = None,
              kind: str = "ReplicaSet", name: str = "api-5d4-x1", pod_uid: str | None = "pod-uid",
              controller: Any = True, labels: dict[str, str] | None = None) -> dict[str, Any]:
    ref: dict[str, Any] = {"apiVersion": "apps/v1", "kind": kind, "name": owner_name, "controller": controller}
    if uid:
        ref["uid"] = uid
    raw = wrap_pod_spec("Pod", spec or HONEST_POD, {"labels": labels or {"app": "api", "pod-template-hash": "5d4"},
                                                     "ownerReferences": [ref]}, name=name)
    if pod_uid:
        raw["metadata"]["uid"] = pod_uid
    return raw


OWNER_CASES: list[tuple[str, list[dict[str, Any]], bool, str]] = [
    # (case, objects, the pod is checked on its owner, why not)
    ("honest", [rs(), owned_pod()], True, ""),
    ("honest, uids not in the manifests", [rs(uid=None), owned_pod(uid=None, pod_uid=None)], True, ""),
    ("real ReplicaSet's name, wrong uid", [rs(), owned_pod(uid="forged", spec=EVIL_POD)], False, "uid forged"),
    ("real ReplicaSet's name and uid, other spec", [rs(), owned_pod(spec=EVIL_POD)], False, "differs"),
    ("owner that does not exist", [rs(), owned_pod("gone", spec=EVIL_POD)], False, "not among the inputs"),
    ("names itself", [owned_pod("api-5d4-x1", kind="Pod", spec=EVIL_POD)], False, "itself"),
    ("names itself by uid", [owned_pod("api-5d4-x1", uid="pod-uid", kind="Pod", spec=EVIL_POD)], False, "itself"),
    ("a cycle", [rs(owner={"kind": "Deployment", "name": "api", "uid": "d-uid", "controller": True}),
                 {**wrap_pod_spec("Deployment", HONEST_POD, {"labels": {"app": "api"}}, name="api"),
                  "metadata": {"name": "api", "namespace": "shop", "uid": "d-uid", "ownerReferences": [
                      {"kind": "ReplicaSet", "name": "api-5d4", "uid": "rs-uid", "controller": True}]}},
                 owned_pod()], False, "cycle"),
    ("an extra label", [rs(), owned_pod(labels={"app": "api", "role": "admin"})], False, "labels[role]"),
    ("a different seccomp annotation",
     [rs(), {**owned_pod(), "metadata": {**owned_pod()["metadata"], "annotations": {
         "seccomp.security.alpha.kubernetes.io/pod": "unconfined"}}}], False, "seccomp"),
    ("LimitRanger's defaults on the pod",
     [rs(), owned_pod(spec={"containers": [{"name": "web", "image": "nginx:1.27", "resources": {
         "limits": {"cpu": "500m"}, "requests": {"cpu": "500m"}}}]})], True, ""),
    ("a limit other than the template's",
     [rs(spec={"containers": [{"name": "web", "image": "nginx:1.27", "resources": {"limits": {"cpu": "1"}}}]}),
      owned_pod(spec={"containers": [{"name": "web", "image": "nginx:1.27", "resources": {
          "limits": {"cpu": "64"}}}]})], False, "spec.containers"),
    ("a StatefulSet pod's hostname", [rs(), owned_pod(spec={**HONEST_POD, "hostname": "api-0", "subdomain": "api"})],
     True, ""),
    ("a container the template lacks", [rs(), owned_pod(spec={"containers": [
        *HONEST_POD["containers"], {"name": "sidecar", "image": "x", "securityContext": {"privileged": True}}]})],
     False, "spec.containers"),
    ("not a controller reference", [rs(), owned_pod(controller=None, spec=EVIL_POD)], False, ""),
]


def test_a_controller_flag_that_is_not_a_boolean_is_refused_not_trusted() -> None:
    from pytest_k8shardening.model import InvalidObject

    inv = Inventory([at(o, "live.yaml", document=i + 1)
                     for i, o in enumerate([rs(), owned_pod(controller="true", spec=EVIL_POD)])])
    with pytest.raises(InvalidObject, match="ownerReferences"):
        inv.all_workloads()


@pytest.mark.parametrize(("objects", "on_owner", "why"), [c[1:] for c in OWNER_CASES], ids=[c[0] for c in OWNER_CASES])
def test_pods_are_checked_on_their_owner_only_when_they_are_its_pods(objects: list[dict[str, Any]], on_owner: bool,
                                                                     why: str) -> None:
    inv = Inventory([at(o, "live.yaml", document=i + 1) for i, o in enumerate(objects)])
    ids = [w.id for w in inv.all_workloads()]
    assert ("shop/Pod/api-5d4-x1" not in ids) is on_owner
    report = inv.owners
    assert (report.on_owner.get("Pod", 0) == 1) is on_owner
    reasons = dict(report.refused)
    if why:
        assert why in reasons["shop/Pod/api-5d4-x1"]


def test_owner_in_another_variant_exempts_nothing() -> None:
    inv = Inventory([at(rs(), "a/rs.yaml"), at(owned_pod(spec=EVIL_POD), "b/pod.yaml")])
    assert "shop/Pod/api-5d4-x1" in [w.id for w in inv.all_workloads()]
    assert "not among the inputs of the same variant" in dict(inv.owners.refused)["shop/Pod/api-5d4-x1"]


KUBECTL_GET = """\
apiVersion: v1
kind: List
items:
- apiVersion: apps/v1
  kind: ReplicaSet
  metadata:
    name: api-5d4
    namespace: shop
    uid: 0b7c6a1e-rs
    labels: {app: api, pod-template-hash: 5d4}
    ownerReferences:
    - {apiVersion: apps/v1, kind: Deployment, name: api, uid: 9f1e-dep, controller: true, blockOwnerDeletion: true}
  spec:
    replicas: 1
    selector: {matchLabels: {app: api, pod-template-hash: 5d4}}
    template:
      metadata:
        labels: {app: api, pod-template-hash: 5d4}
      spec:
        containers:
        - name: web
          image: nginx:1.27
          imagePullPolicy: IfNotPresent
          ports: [{containerPort: 8080, protocol: TCP}]
          resources: {}
          terminationMessagePath: /dev/termination-log
          terminationMessagePolicy: File
          securityContext: {runAsNonRoot: true, allowPrivilegeEscalation: false}
        dnsPolicy: ClusterFirst
        restartPolicy: Always
        schedulerName: default-scheduler
        securityContext: {}
        terminationGracePeriodSeconds: 30
- apiVersion: v1
  kind: Pod
  metadata:
    name: api-5d4-7xk2p
    namespace: shop
    uid: 5a2d-pod
    labels: {app: api, pod-template-hash: 5d4}
    annotations: {cni.projectcalico.org/podIP: 10.0.0.7/32}
    ownerReferences:
    - {apiVersion: apps/v1, kind: ReplicaSet, name: api-5d4, uid: 0b7c6a1e-rs, controller: true, blockOwnerDeletion: true}
  spec:
    containers:
    - name: web
      image: nginx:1.27
      imagePullPolicy: IfNotPresent
      ports: [{containerPort: 8080, protocol: TCP}]
      resources: {}
      terminationMessagePath: /dev/termination-log
      terminationMessagePolicy: File
      securityContext: {runAsNonRoot: true, allowPrivilegeEscalation: false}
      volumeMounts:
      - {name: kube-api-access-8xq2d, mountPath: /var/run/secrets/kubernetes.io/serviceaccount, readOnly: true}
    dnsPolicy: ClusterFirst
    enableServiceLinks: true
    nodeName: worker-1
    preemptionPolicy: PreemptLowerPriority
    priority: 0
    restartPolicy: Always
    schedulerName: default-scheduler
    securityContext: {}
    serviceAccount: default
    serviceAccountName: default
    terminationGracePeriodSeconds: 30
    tolerations:
    - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 300}
    - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 300}
    volumes:
    - name: kube-api-access-8xq2d
      projected:
        defaultMode: 420
        sources:
        - serviceAccountToken: {expirationSeconds: 3607, path: token}
        - configMap: {name: kube-root-ca.crt, items: [{key: ca.crt, path: ca.crt}]}
        - downwardAPI: {items: [{path: namespace, fieldRef: {apiVersion: v1, fieldPath: metadata.namespace}}]}
  status: {phase: Running}
"""


def test_an_honest_pod_from_kubectl_get_is_checked_once_on_its_owner() -> None:
    inv = Inventory(parse_text(KUBECTL_GET, "cluster.yaml"))
    assert [w.id for w in inv.all_workloads()] == ["shop/ReplicaSet/api-5d4"]  # its Deployment is not among them
    assert inv.owners.on_owner == {"Pod": 1} and inv.owners.refused == [
        ("shop/ReplicaSet/api-5d4", "its owner Deployment api is not among the inputs")]
    evil = KUBECTL_GET.replace("securityContext: {runAsNonRoot: true, allowPrivilegeEscalation: false}\n      volumeMounts",
                               "securityContext: {privileged: true}\n      volumeMounts")
    assert evil != KUBECTL_GET
    inv = Inventory(parse_text(evil, "cluster.yaml"))
    assert [w.id for w in inv.all_workloads()] == ["shop/ReplicaSet/api-5d4", "shop/Pod/api-5d4-7xk2p"]
    assert "spec.containers" in dict(inv.owners.refused)["shop/Pod/api-5d4-7xk2p"]


def test_live_pods_with_a_copied_uid_are_checked() -> None:
    """On a live cluster anyone who can create a pod can copy a real ReplicaSet's uid."""
    items = {o.kind: o.raw for o in parse_text(KUBECTL_GET, "x")}
    evil = copy.deepcopy(items["Pod"])
    evil["metadata"].update(name="miner", uid="6b1f-evil")
    evil["spec"]["hostPID"] = True
    raws = {"ReplicaSet": [items["ReplicaSet"]], "Pod": [items["Pod"], evil]}

    def fetch(kind: str, _inv: Inventory) -> tuple[list[dict[str, Any]], str | None]:
        return copy.deepcopy(raws.get(kind, [])), None

    inv = Inventory([], fetch=fetch)
    assert sorted(w.id for w in inv.all_workloads()) == ["shop/Pod/miner", "shop/ReplicaSet/api-5d4"]
    assert "spec.hostPID" in dict(inv.owners.refused)["shop/Pod/miner"]


# ------------------------------------------------------------------ waivers
WAIVER_CASES = [
    ("no variant: every variant", None, {"prod": True, "staging": True, "plain": True, "cluster": True}),
    ("a kustomization folder", "overlays/prod", {"prod": True, "staging": False, "plain": False, "cluster": False}),
    ("the unit as written", "kustomize:overlays/*", {"prod": True, "staging": True, "plain": False, "cluster": False}),
    ("a plain file", "legacy/*.yaml", {"prod": False, "staging": False, "plain": True, "cluster": False}),
]


@pytest.mark.parametrize(("variant", "expected"), [c[1:] for c in WAIVER_CASES], ids=[c[0] for c in WAIVER_CASES])
def test_waivers_cover_every_variant_unless_they_name_one(tmp_path: Path, variant: str | None,
                                                          expected: dict[str, bool]) -> None:
    line = f", variant: '{variant}'" if variant else ""
    path = tmp_path / "w.yaml"
    path.write_text(f"waivers:\n- {{control: nsa.pod.privileged, namespace: shop, kind: Deployment, name: api, "
                    f"reason: needs raw device access, owner: ops, expires: {FUTURE}{line}}}\n")
    ws = waivers.load_waivers(path)
    objs = {"prod": at(deployment(), "overlays/prod/d.yaml", PROD),
            "staging": at(deployment(), "overlays/staging/d.yaml", STAGING),
            "plain": at(deployment(), "legacy/api.yaml"), "cluster": K8sObject(deployment(), Source(None))}
    Inventory(list(objs.values()))
    got = {k: waivers.match(ws, "nsa.pod.privileged", o.resource(), o.labels) is not None for k, o in objs.items()}
    assert got == expected


# ------------------------------------------------------------------ end to end
def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-p", "no:randomly", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=300, check=False)


def _object_id(nodeid: str) -> str:
    if nodeid.endswith("]"):
        return nodeid[nodeid.rindex("[") + 1:-1]
    return nodeid.rsplit("::", 1)[1]


def _per_object(path: Path) -> dict[tuple[str, str], tuple[str, str | None, str | None]]:
    doc = json.loads(path.read_text())
    return {(r["control"], _object_id(r["nodeid"])): (r["outcome"], r["resource"]["file"], r["resource"]["kind"])
            for r in doc["results"] if r["resource"] and r["resource"].get("name")}


def _tree(root: Path) -> None:
    for env, hardened in (("prod", True), ("staging", False)):
        folder = root / "overlays" / env
        folder.mkdir(parents=True)
        sc = "{runAsNonRoot: true, allowPrivilegeEscalation: false}" if hardened else "{privileged: true}"
        psa = "{pod-security.kubernetes.io/enforce: restricted}" if hardened else "{}"
        policy = "" if not hardened else """\
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: shop}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
"""
        (folder / "app.yaml").write_text(f"""\
apiVersion: v1
kind: Namespace
metadata: {{name: shop, labels: {psa}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: api, namespace: shop}}
spec:
  template:
    metadata: {{labels: {{app: api}}}}
    spec:
      containers: [{{name: web, image: "nginx:1.27", securityContext: {sc}}}]
---
apiVersion: {RBAC}/v1
kind: Role
metadata: {{name: reader, namespace: shop}}
rules: [{{apiGroups: [""], resources: [{'configmaps' if hardened else 'secrets'}], verbs: [get]}}]
---
apiVersion: {RBAC}/v1
kind: RoleBinding
metadata: {{name: reader, namespace: shop}}
roleRef: {{apiGroup: {RBAC}, kind: Role, name: reader}}
subjects: [{{kind: User, apiGroup: {RBAC}, name: dev}}]
{policy}""")


def test_two_variants_give_two_results_in_every_mode(tmp_path: Path) -> None:
    """Plain files in two folders (the loader's renders attribute to units the same way): each variant has its own
    results, ids and verdicts, the same per object whether items are per resource, grouped, or under xdist."""
    _tree(tmp_path)
    (tmp_path / "cluster.yaml").write_text(KUBECTL_GET.replace("privileged", "x"))
    common = ["--k8s-manifests=overlays", "--k8s-manifests=cluster.yaml", "-m", "nsa", "--tb=no"]
    base = _run([*common, "--k8s-report-json", "base.json", "-v"], tmp_path)
    assert base.returncode == 1, base.stdout[-3000:] + base.stderr[-3000:]
    results = _per_object(tmp_path / "base.json")
    p, s = "@overlays/prod/app.yaml", "@overlays/staging/app.yaml"
    assert results[("nsa.pod.privileged", f"shop/Deployment/api{p}:container=web")][0] == "passed"
    assert results[("nsa.pod.privileged", f"shop/Deployment/api{s}:container=web")][:2] == (
        "failed", "overlays/staging/app.yaml")
    assert results[("nsa.rbac.secrets-read", f"shop/RoleBinding/reader{p}")][0] == "passed"
    assert results[("nsa.rbac.secrets-read", f"shop/RoleBinding/reader{s}")][0] == "failed"
    for control in ("nsa.admission.pod-security-enforced", "nsa.network.policy-exists"):
        assert results[(control, f"shop{p}")] == ("passed", "overlays/prod/app.yaml", "Namespace")
        assert results[(control, f"shop{s}")] == ("failed", "overlays/staging/app.yaml", "Namespace")
    assert not any(i.startswith("shop/Pod/") for _, i in results)  # the honest pod: checked on its ReplicaSet
    assert "checked on their owners (pod spec matches the owner's template): 1 Pod" in base.stdout
    assert "variants: 8 objects share kind/namespace/name" in base.stdout
    summary = json.loads((tmp_path / "base.json").read_text())["summary"]["target"]
    assert summary["checked_on_owner"] == {"Pod": 1} and summary["variants"] == 8
    modes = [["--k8s-group-by", "namespace"], ["--k8s-group-by", "control"]]
    if _has_xdist():
        modes += [["-p", "xdist", "-n", "2"], ["-p", "xdist", "-n", "2", "--k8s-group-by", "control"]]
    for i, mode in enumerate(modes):
        out = _run([*common, *mode, "--k8s-report-json", f"m{i}.json"], tmp_path)
        assert out.returncode == 1, (mode, out.stdout[-3000:], out.stderr[-3000:])
        assert _per_object(tmp_path / f"m{i}.json") == results, mode


def _has_xdist() -> bool:
    try:
        import xdist  # noqa: F401
    except ImportError:
        return False
    return True


def test_a_pod_with_a_fake_owner_fails_the_run(pytester: pytest.Pytester) -> None:
    """A privileged, hostPID pod naming a real ReplicaSet (wrong uid) as its owner: reported, exit 1."""
    items = [rs(), owned_pod(uid="forged", spec=EVIL_POD, name="miner")]
    f = pytester.makefile(".json", live=json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    result = pytester.runpytest("--k8s-manifests", str(f), "-m", "nsa", "--k8s-report-json", "r.json", "-v")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    failed = {(r["control"], _object_id(r["nodeid"])) for r in json.loads((pytester.path / "r.json").read_text())
              ["results"] if r["outcome"] == "failed"}
    assert {("nsa.pod.host-pid", "shop/Pod/miner"), ("nsa.pod.privileged", "shop/Pod/miner:container=x")} <= failed
    result.stdout.fnmatch_lines(["checked themselves despite naming a controlling owner: 1",
                                 "  shop/Pod/miner: its owner reference's uid forged is not the uid of *"])
