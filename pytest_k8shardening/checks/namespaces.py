"""Namespace separation checks (NSA/CISA guide, "Network separation: namespaces")."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable

from ..model import Workload
from . import CheckResult, Finding

__all__ = ["SYSTEM_COMPONENTS", "SYSTEM_PRIORITY_CLASSES", "system_component", "user_workload_in_system_namespace"]

#: Priority classes reserved for cluster components. By default the API
#: server admits them only in kube-system, so a workload using one there was
#: put there by the cluster's operators as a system component.
SYSTEM_PRIORITY_CLASSES = frozenset({"system-node-critical", "system-cluster-critical"})

#: Names (globs) of well-known add-ons that live in kube-system.
SYSTEM_COMPONENTS: tuple[str, ...] = (
    "kube-apiserver*", "etcd*", "kube-controller-manager*", "kube-scheduler*", "cloud-controller-manager*",
    "kube-proxy*", "coredns*", "kube-dns*", "metrics-server*", "kindnet*", "calico-*", "cilium*", "canal*",
    "kube-flannel*", "weave-net*", "aws-node*", "ebs-csi-*", "efs-csi-*", "azure-*", "csi-*",
    "konnectivity-agent*", "kube-router*", "antrea-*", "local-path-provisioner*", "node-local-dns*",
    "snapshot-controller*", "cluster-autoscaler*", "ip-masq-agent*", "gke-metadata-server*", "fluentbit-gke*",
)


def system_component(w: Workload, extra_names: Iterable[str] = ()) -> str | None:
    """Why ``w`` counts as a cluster component, or None when it looks like a user workload."""
    spec = w.pod_spec
    if spec.get("priorityClassName") in SYSTEM_PRIORITY_CLASSES:
        return f"priorityClassName {spec['priorityClassName']}"
    labels = {**w.obj.labels, **(w.pod_meta.get("labels") or {})}
    if labels.get("tier") == "control-plane":
        return "label tier=control-plane"
    if "kubernetes.io/config.mirror" in w.obj.annotations:
        return "a static (mirror) pod"
    for pattern in (*SYSTEM_COMPONENTS, *extra_names):
        if fnmatch.fnmatchcase(w.name, pattern):
            return f"name matches {pattern}"
    return None


def user_workload_in_system_namespace(w: Workload, extra_names: Iterable[str] = ()) -> CheckResult:
    """A workload in kube-system, kube-public or kube-node-lease must be a cluster component.

    A workload counts as a component when it uses a ``system-*-critical``
    priority class, carries ``tier=control-plane``, is a static pod, or has
    the name of a well-known add-on (extendable with the
    ``k8s_system_workloads`` ini option).
    """
    if system_component(w, extra_names):
        return []
    return [Finding(f"{w.kind} {w.name} in namespace {w.namespace} is not a recognised cluster component: "
                    "user workloads belong in their own namespaces", "metadata.namespace")]
