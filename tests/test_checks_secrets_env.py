"""Credential heuristics (issue 15, cause 6) and Secrets passed as environment variables (CIS 5.4.1)."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_k8shardening.checks import secrets
from pytest_k8shardening.model import WORKLOAD_KINDS, K8sObject, Source

from .k8s import container, inventory, wrap_pod_spec


@pytest.mark.parametrize(("name", "value", "flagged"), [
    # names the reference tools list explicitly (Kubescape sensitiveKeyNames) and vendors document
    ("AZURE_BATCH_KEY", "q9Zk2mWx7Lp0", True),
    ("azure_batchai_storage_key", "q9Zk2mWx7Lp0", True),
    ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG", True),
    ("DD_APP_KEY", "0a1b2c3d4e5f", True),
    ("NEW_RELIC_LICENSE_KEY", "0a1b2c3d4e5f", True),
    ("STORAGE_SHARED_KEY", "0a1b2c3d4e5f", True),
    ("WEBHOOK_HMAC_KEY", "0a1b2c3d4e5f", True),
    # identifiers named like tokens: etcd's cluster token keeps clusters apart, it grants nothing
    ("ETCD_INITIAL_CLUSTER_TOKEN", "etcd-cluster-1", False),
    ("initial-cluster-token", "etcd-cluster", False),
    ("initialClusterToken", "etcd-cluster", False),
    ("CLUSTER_TOKEN", "a8f3k2", True),  # not the etcd identifier
    # file paths are where a credential is, not the credential
    ("DB_PASSWORD_FILE", "/etc/secrets/db", False),
    ("PASSWORD", "/run/secrets/db-password", False),
    ("PASSWORD", "~/secrets/pw.txt", False),
    ("PASSWORD", "../secrets/pw.txt", False),
    ("GITHUB_TOKEN", "C:\\secrets\\token.txt", False),
    ("GITHUB_TOKEN", "C:/secrets/token.txt", False),
    ("API_KEY_FILE", "secrets/api.key", False),
    ("PASSWORD", "C3PO-r2d2", True),  # a drive letter needs a separator after the colon
    # the value's shape still counts, whatever the name
    ("ETCD_INITIAL_CLUSTER_TOKEN", "ghp_" + "b" * 36, True),
])
def test_credential_heuristics(name: str, value: str, flagged: bool) -> None:
    assert (secrets.classify(name, value) is not None) is flagged


def test_configmap_config_file_lines_follow_the_same_rules() -> None:
    cm = K8sObject({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "etcd", "namespace": "db"},
                    "data": {"etcd.conf.yml": "name: etcd-0\ninitial-cluster-token: etcd-cluster-1\n"
                                              "client-transport-security:\n  cert-file: /etc/etcd/tls.crt\n",
                             "batch.env": "AZURE_BATCH_KEY=q9Zk2mWx7Lp0\nAZURE_BATCH_KEY_FILE=/etc/k\n"}},
                   Source("cm.yaml", 1, 1))
    findings = secrets.configmap_credentials(cm)
    assert [f.message for f in findings] == [
        "data key batch.env, line 1: setting AZURE_BATCH_KEY has a literal credential value"]
    assert "q9Zk2mWx7Lp0" not in repr(findings)


SECRET_ENV = {"env": [
    {"name": "LEVEL", "value": "info"},
    {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
    {"name": "REGION", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "region"}}},
    {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
], "envFrom": [{"configMapRef": {"name": "cfg"}}, {"secretRef": {"name": "api-keys"}}]}


@pytest.mark.parametrize("ctype", ["containers", "initContainers", "ephemeralContainers"])
@pytest.mark.parametrize("kind", sorted(WORKLOAD_KINDS))
def test_secrets_as_env_on_every_template_and_container_type(kind: str, ctype: str) -> None:
    c = container(None, kind=kind, ctype=ctype, extra=SECRET_ENV)
    findings = secrets.env_secret_references(c)
    assert [f.message for f in findings] == [
        "env DB_PASSWORD takes key password of Secret db as an environment variable",
        "envFrom loads every key of Secret api-keys as environment variables",
    ]
    assert findings[0].field == f"{c.path}.env[1].valueFrom.secretKeyRef"
    assert findings[1].field == f"{c.path}.envFrom[1].secretRef"
    assert f".{ctype}[" in findings[0].field


@pytest.mark.parametrize(("extra", "expected"), [
    ({}, 0),
    ({"env": []}, 0),
    ({"env": [{"name": "A", "value": "x"}]}, 0),
    ({"env": [{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}}]}, 0),
    ({"envFrom": [{"configMapRef": {"name": "c"}, "prefix": "CFG_"}]}, 0),
    ({"env": [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k", "optional": True}}}]}, 1),
    ({"envFrom": [{"secretRef": {"name": "s"}, "prefix": "S_"}, {"secretRef": {"name": "t"}}]}, 2),
    ({"env": [{"name": "A", "valueFrom": {"secretKeyRef": {}}}]}, 0),  # an empty ref selects nothing
])
def test_secrets_as_env_edge_cases(extra: dict[str, Any], expected: int) -> None:
    assert len(secrets.env_secret_references(container(None, extra=extra))) == expected


def test_secrets_mounted_as_files_pass_and_no_value_is_shown() -> None:
    spec = {"volumes": [{"name": "db", "secret": {"secretName": "db"}}],
            "containers": [{"name": "web", "image": "nginx",
                            "volumeMounts": [{"name": "db", "mountPath": "/run/secrets/db", "readOnly": True}],
                            "env": [{"name": "DB_PASSWORD_FILE", "value": "/run/secrets/db/password"}]}]}
    w = inventory(wrap_pod_spec("Deployment", spec)).all_workloads()[0]
    assert secrets.env_secret_references(w.containers[0]) == []
    assert secrets.env_credentials(w.containers[0]) == []
