#!/usr/bin/env python3
"""Generate a synthetic cluster as manifests, for the benchmarks in this folder.

    python bench/gen_cluster.py --workloads 2000 --namespaces 100 --out DIR [--seed 1] [--list]

A deterministic mix (``random.Random(seed)``) of hardened and weak
workloads with the RBAC, network policies, quotas and namespaces around
them, so that every NSA control has objects to pass and to fail:

* per namespace: the Namespace (half with a ``pod-security.kubernetes.io/enforce``
  label), a ServiceAccount ``app``, a default-deny NetworkPolicy (60%), a
  ResourceQuota (50%), a Role ``app`` (10% with ``*`` verbs, 20% reading
  Secrets) and its RoleBinding to the ServiceAccount;
* workloads spread round-robin over the namespaces, each a Deployment,
  StatefulSet, DaemonSet, CronJob or Job with one to three containers whose
  security context, resources, host access, plain-text secrets and image
  tags vary (weak settings at the rates found in real clusters' findings:
  a few percent privileged or host-namespace pods, most without some part
  of a restricted security context);
* one ClusterRoleBinding of ``cluster-admin`` to a ServiceAccount.

Output: one multi-document YAML file per namespace plus
``cluster-scoped.yaml``, or with ``--list`` one ``cluster.yaml`` holding a
``kind: List`` (what ``kubectl get -o yaml`` writes). The same arguments
give the same bytes, so a benchmark row can be re-measured, and compared
with other tools, on identical input.
"""

from __future__ import annotations

import argparse
import os
import random
from typing import Any

import yaml

Obj = dict[str, Any]

KINDS = [("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"), ("apps/v1", "DaemonSet"),
         ("batch/v1", "CronJob"), ("batch/v1", "Job")]
REGISTRIES = ["registry.example.org/team", "docker.io/library", "ghcr.io/acme", "quay.io/ops"]
TAGS = ["1.2.3", "latest", "2.0", "sha256-pinned"]


def container(rng: random.Random, i: int) -> Obj:
    """Container ``c<i>``: 60% with a security context, each hardening setting present or not."""
    c: Obj = {"name": f"c{i}", "image": f"{rng.choice(REGISTRIES)}/app{rng.randint(0, 50)}:{rng.choice(TAGS)}"}
    if rng.random() < 0.6:
        sc: Obj = {}
        for key, value, rate in (("runAsNonRoot", True, 0.7), ("allowPrivilegeEscalation", False, 0.7),
                                 ("readOnlyRootFilesystem", True, 0.6), ("capabilities", {"drop": ["ALL"]}, 0.6),
                                 ("privileged", True, 0.05)):
            if rng.random() < rate:
                sc[key] = value
        if rng.random() < 0.05:
            sc.setdefault("capabilities", {})["add"] = ["SYS_ADMIN"]
        if rng.random() < 0.5:
            sc["seccompProfile"] = {"type": "RuntimeDefault"}
        c["securityContext"] = sc
    if rng.random() < 0.7:
        c["resources"] = {"limits": {"cpu": "500m", "memory": "256Mi"},
                          "requests": {"cpu": "100m", "memory": "128Mi"}}
    if rng.random() < 0.1:
        c["env"] = [{"name": "DB_PASSWORD", "value": "hunter2"}]  # a plain-text secret to find
    if rng.random() < 0.05:
        c["ports"] = [{"containerPort": 8080, "hostPort": 8080}]
    return c


def pod_spec(rng: random.Random) -> Obj:
    spec: Obj = {"containers": [container(rng, i) for i in range(rng.choice([1, 1, 2, 3]))]}
    for key, value, rate in (("automountServiceAccountToken", False, 0.5), ("hostNetwork", True, 0.04),
                             ("hostPID", True, 0.03),
                             ("volumes", [{"name": "host", "hostPath": {"path": "/var/run/docker.sock"}}], 0.05),
                             ("serviceAccountName", "app", 0.4)):
        if rng.random() < rate:
            spec[key] = value
    return spec


def workload(rng: random.Random, ns: str, idx: int) -> Obj:
    api, kind = rng.choice(KINDS)
    name = f"{kind.lower()}-{idx}"
    labels = {"app": name}
    template: Obj = {"metadata": {"labels": labels}, "spec": pod_spec(rng)}
    spec: Obj
    if kind == "CronJob":
        template["spec"]["restartPolicy"] = "OnFailure"
        spec = {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": template}}}
    elif kind == "Job":
        template["spec"]["restartPolicy"] = "Never"
        spec = {"template": template}
    else:
        spec = {"selector": {"matchLabels": labels}, "template": template}
        if kind != "DaemonSet":
            spec["replicas"] = rng.randint(1, 5)
        if kind == "StatefulSet":
            spec["serviceName"] = name
    return {"apiVersion": api, "kind": kind, "metadata": {"name": name, "namespace": ns}, "spec": spec}


def namespace_objects(rng: random.Random, ns: str) -> list[Obj]:
    labels: dict[str, str] = {}
    if rng.random() < 0.5:
        labels["pod-security.kubernetes.io/enforce"] = rng.choice(["restricted", "baseline", "privileged"])
    objs: list[Obj] = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels}},
                       {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "app", "namespace": ns}}]
    if rng.random() < 0.6:
        objs.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                     "metadata": {"name": "default-deny", "namespace": ns},
                     "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}})
    if rng.random() < 0.5:
        objs.append({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "quota", "namespace": ns},
                     "spec": {"hard": {"requests.cpu": "10", "limits.memory": "20Gi"}}})
    verbs = ["*"] if rng.random() < 0.1 else ["get", "list", "watch"]
    resources = ["secrets"] if rng.random() < 0.2 else ["configmaps", "pods"]
    objs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                 "metadata": {"name": "app", "namespace": ns},
                 "rules": [{"apiGroups": [""], "resources": resources, "verbs": verbs}]})
    objs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                 "metadata": {"name": "app", "namespace": ns},
                 "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "app"},
                 "subjects": [{"kind": "ServiceAccount", "name": "app", "namespace": ns}]})
    return objs


def cluster_objects() -> list[Obj]:
    return [{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
             "metadata": {"name": "ci-admin"},
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
             "subjects": [{"kind": "ServiceAccount", "name": "app", "namespace": "ns-0"}]}]


def generate(workloads: int, namespaces: int, seed: int = 1) -> tuple[dict[str, list[Obj]], list[Obj]]:
    """The objects of each namespace (``ns-0`` ...), and the cluster-scoped ones."""
    if workloads < 0 or namespaces < 1:
        raise ValueError("need workloads >= 0 and namespaces >= 1")
    rng = random.Random(seed)
    per_ns = {f"ns-{i}": namespace_objects(rng, f"ns-{i}") for i in range(namespaces)}
    for w in range(workloads):
        ns = f"ns-{w % namespaces}"
        per_ns[ns].append(workload(rng, ns, w))
    return per_ns, cluster_objects()


def write(out: str, per_ns: dict[str, list[Obj]], extra: list[Obj], as_list: bool = False) -> None:
    os.makedirs(out, exist_ok=True)
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    if as_list:
        items = [o for objs in per_ns.values() for o in objs] + extra
        with open(os.path.join(out, "cluster.yaml"), "w", encoding="utf-8") as fh:
            yaml.dump({"apiVersion": "v1", "kind": "List", "items": items}, fh, Dumper=dumper, sort_keys=False)
        return
    for ns, objs in per_ns.items():
        with open(os.path.join(out, f"{ns}.yaml"), "w", encoding="utf-8") as fh:
            yaml.dump_all(objs, fh, Dumper=dumper, sort_keys=False)
    with open(os.path.join(out, "cluster-scoped.yaml"), "w", encoding="utf-8") as fh:
        yaml.dump_all(extra, fh, Dumper=dumper, sort_keys=False)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workloads", type=int, default=2000)
    ap.add_argument("--namespaces", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    ap.add_argument("--list", action="store_true", help="write one cluster.yaml List instead")
    a = ap.parse_args(argv)
    try:
        per_ns, extra = generate(a.workloads, a.namespaces, a.seed)
    except ValueError as exc:
        ap.error(str(exc))
    write(a.out, per_ns, extra, a.list)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
