"""NSA/CISA Kubernetes Hardening Guide v1.2: credentials outside Secrets, and namespace separation."""

from __future__ import annotations

import pytest

from pytest_k8shardening import Container, K8sObject, Workload, assert_compliant, control
from pytest_k8shardening.checks import namespaces, secrets
from pytest_k8shardening.model import SYSTEM_NAMESPACES
from pytest_k8shardening.options import Settings


@control(
    "nsa.secrets.env-credentials", title="No credentials in environment variables", severity="high",
    category="secrets", frameworks=["nsa"], guide="Network separation and hardening: Secrets",
    references={"kubescape": ["C-0012"]},
    remediation="Move the value into a Secret and mount it as a file (or reference it with "
                "env[].valueFrom.secretKeyRef).",
)
def test_no_credentials_in_env(k8s_container: Container) -> None:
    """Literal credentials in a pod spec are readable by anyone who can read the workload.

    Flags a variable whose name reads like a credential and whose value is
    a literal, or whose value has the shape of a known credential. The value
    is never shown. Kubescape C-0012 also matches the bare word "key",
    which flags settings like CACHE_KEY_PREFIX; here "key" counts only in
    pairs such as API_KEY or ACCESS_KEY (and the names Kubescape lists, like
    AZURE_BATCH_KEY). Identifiers named like tokens (etcd's
    ETCD_INITIAL_CLUSTER_TOKEN) and file paths are not credentials. Trivy has
    no check on container environment variables (its KSV-0109 reads ConfigMaps).
    CIS 5.4.1 (Secrets as files rather than environment variables) is the
    separate control cis.secrets.secrets-as-env.
    """
    assert_compliant(secrets.env_credentials(k8s_container))


@control(
    "cis.secrets.secrets-as-env", title="Secrets are mounted as files, not passed as environment variables",
    severity="low", category="secrets", frameworks=["cis"], guide="CIS Kubernetes Benchmark 5.4.1",
    references={"kubescape": ["C-0207"], "cis": ["5.4.1"]},
    remediation="Mount the Secret as a volume (secret or projected) and have the application read the file; "
                "drop env[].valueFrom.secretKeyRef and envFrom[].secretRef.",
)
def test_secrets_not_in_env(k8s_container: Container) -> None:
    """Environment variables leak: crash dumps, /proc/<pid>/environ, child processes and debug logs show them.

    Flags env[].valueFrom.secretKeyRef and envFrom[].secretRef on every
    container, init container and ephemeral container, naming the Secret
    and key, never a value. Kubescape C-0207 looks only at secretKeyRef;
    envFrom.secretRef loads every key of the Secret and is flagged here too.
    Trivy has no such check. Low severity: the Secret itself is still
    protected by RBAC; this is defence in depth.
    """
    assert_compliant(secrets.env_secret_references(k8s_container))


@control(
    "nsa.secrets.configmap-credentials", title="No credentials in ConfigMaps", severity="high",
    category="secrets", frameworks=["nsa"], guide="Network separation and hardening: Secrets",
    references={"kubescape": ["C-0012"], "trivy": ["KSV-0109"], "not_counterparts": ["trivy:KSV-01010"]},
    remediation="Move the credential into a Secret (and encrypt Secrets at rest); keep only non-secret "
                "settings in the ConfigMap.",
)
@pytest.mark.k8s_select(kinds=["ConfigMap"])
def test_no_credentials_in_configmaps(k8s_object: K8sObject) -> None:
    """ConfigMaps are not protected like Secrets: RBAC grants on them are broad and they are never encrypted.

    Reads each key, and config files stored as values line by line
    (``password = ...``, ``token: ...``). Values are never shown. Trivy
    KSV-0109 ("ConfigMap with secrets") matches key and line names only;
    Trivy KSV-01010 ("ConfigMap with sensitive content": usernames, e-mail
    addresses, IBANs) is not a credential check and not a counterpart.
    """
    assert_compliant(secrets.configmap_credentials(k8s_object))


@control(
    "nsa.namespaces.no-user-workloads-in-system", title="No user workloads in system namespaces",
    severity="medium", category="network", frameworks=["nsa"], guide="Network separation and hardening: namespaces",
    references={"trivy": ["KSV-0037"]},
    remediation="Move the workload to a namespace of its own team or application.",
)
@pytest.mark.k8s_select(namespaces=list(SYSTEM_NAMESPACES), include_system=True)
def test_no_user_workloads_in_system_namespaces(k8s_workload: Workload, k8s_settings: Settings) -> None:
    """kube-system holds the cluster's most privileged components; user workloads there share their blast radius.

    Runs on kube-system, kube-public and kube-node-lease even though other
    workload checks leave them out. Cluster components (system-*-critical
    priority class, tier=control-plane, static pods, well-known add-ons, or
    names listed in the ``k8s_system_workloads`` ini option) pass. Trivy
    KSV-0037 exempts only the four control-plane components.
    """
    assert_compliant(namespaces.user_workload_in_system_namespace(k8s_workload, k8s_settings.system_workloads))
