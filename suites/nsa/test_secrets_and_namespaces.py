"""NSA/CISA Kubernetes Hardening Guide v1.2: credentials outside Secrets, and namespace separation."""

from __future__ import annotations

import pytest

from pytest_k8shardening import Container, K8sObject, Workload, assert_compliant, control
from pytest_k8shardening.checks import namespaces, secrets
from pytest_k8shardening.model import SYSTEM_NAMESPACES


@control(
    "nsa.secrets.env-credentials", title="No credentials in environment variables", severity="high",
    category="secrets", frameworks=["nsa"], guide="Network separation and hardening: Secrets",
    references={"kubescape": ["C-0012"], "trivy": ["KSV-0109"], "cis": ["5.4.1"]},
    remediation="Move the value into a Secret and reference it with env[].valueFrom.secretKeyRef, "
                "or mount the Secret as a file.",
)
def test_no_credentials_in_env(k8s_container: Container) -> None:
    """Literal credentials in a pod spec are readable by anyone who can read the workload.

    Flags a variable whose name reads like a credential and whose value is
    a literal, or whose value has the shape of a known credential. The value
    is never shown. Kubescape C-0012 also matches the bare word "key",
    which flags settings like CACHE_KEY_PREFIX; here "key" counts only in
    pairs such as API_KEY or ACCESS_KEY.
    """
    assert_compliant(secrets.env_credentials(k8s_container))


@control(
    "nsa.secrets.configmap-credentials", title="No credentials in ConfigMaps", severity="high",
    category="secrets", frameworks=["nsa"], guide="Network separation and hardening: Secrets",
    references={"kubescape": ["C-0012"], "trivy": ["KSV-01010"], "cis": ["5.4.1"]},
    remediation="Move the credential into a Secret (and encrypt Secrets at rest); keep only non-secret "
                "settings in the ConfigMap.",
)
@pytest.mark.k8s_select(kinds=["ConfigMap"])
def test_no_credentials_in_configmaps(k8s_object: K8sObject) -> None:
    """ConfigMaps are not protected like Secrets: RBAC grants on them are broad and they are never encrypted.

    Reads each key, and config files stored as values line by line
    (``password = ...``, ``token: ...``). Values are never shown.
    """
    assert_compliant(secrets.configmap_credentials(k8s_object))


@control(
    "nsa.namespaces.no-user-workloads-in-system", title="No user workloads in system namespaces",
    severity="medium", category="network", frameworks=["nsa"], guide="Network separation and hardening: namespaces",
    references={"trivy": ["KSV-0037"]},
    remediation="Move the workload to a namespace of its own team or application.",
)
@pytest.mark.k8s_select(namespaces=list(SYSTEM_NAMESPACES), include_system=True)
def test_no_user_workloads_in_system_namespaces(k8s_workload: Workload, pytestconfig: pytest.Config) -> None:
    """kube-system holds the cluster's most privileged components; user workloads there share their blast radius.

    Runs on kube-system, kube-public and kube-node-lease even though other
    workload checks leave them out. Cluster components (system-*-critical
    priority class, tier=control-plane, static pods, well-known add-ons, or
    names listed in the ``k8s_system_workloads`` ini option) pass. Trivy
    KSV-0037 exempts only the four control-plane components.
    """
    extra = pytestconfig.getini("k8s_system_workloads")
    assert_compliant(namespaces.user_workload_in_system_namespace(k8s_workload, extra))
