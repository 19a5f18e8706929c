"""Credential, namespace-separation and model tests."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_k8shardening.checks import namespaces, secrets
from pytest_k8shardening.model import K8sObject, Scope, Source

from .k8s import container, inventory, obj, workload, wrap_pod_spec


@pytest.mark.parametrize(("name", "value", "flagged"), [
    ("DB_PASSWORD", "hunter2", True),
    ("dbPassword", "hunter2", True),
    ("client-secret", "abc123def", True),
    ("STRIPE_API_KEY", "sk_live_xxx", True),
    ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG", True),
    ("GITHUB_TOKEN", "abc", True),
    ("DB_PASSWORD", "", False),
    ("DB_PASSWORD", "$(DB_PASSWORD_FROM_SECRET)", False),
    ("DB_PASSWORD", "${DB_PASSWORD}", False),
    ("DB_PASSWORD_FILE", "/run/secrets/db", False),
    ("TOKEN_TTL", "3600", False),
    ("PASSWORD_MIN_LENGTH", "12", False),
    ("SECRET_NAME", "my-secret", False),
    ("CACHE_KEY_PREFIX", "app:", False),
    ("KEY", "value", False),
    ("LOG_LEVEL", "debug", False),
    ("TOKEN_AUTH_ENABLED", "true", False),
    ("DATABASE_URL", "postgres://app:hunter2@db:5432/app", True),
    ("DATABASE_URL", "postgres://db:5432/app", False),
    ("SOME_SETTING", "AKIAIOSFODNN7EXAMPLE", True),
    ("CERT", "-----BEGIN RSA PRIVATE KEY-----\nMIIE", True),
    ("ANY", "ghp_" + "a" * 36, True),
    ("ANY", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", True),
    ("PORT", "8080", False),
])
def test_classify(name: str, value: str, flagged: bool) -> None:
    assert (secrets.classify(name, value) is not None) is flagged


def test_env_credentials_never_show_values() -> None:
    c = container(None, extra={"env": [
        {"name": "DB_PASSWORD", "value": "hunter2"},
        {"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "s", "key": "t"}}},
        {"name": "LEVEL", "value": "info"},
    ]})
    [f] = secrets.env_credentials(c)
    assert f.message == "env DB_PASSWORD: its name marks it as a credential and it has a literal value"
    assert f.field == "spec.template.spec.containers[0].env[0].value"
    assert "hunter2" not in repr(f)


@pytest.mark.parametrize("ctype", ["initContainers", "ephemeralContainers"])
def test_env_credentials_other_container_types(ctype: str) -> None:
    c = container(None, ctype=ctype, extra={"env": [{"name": "PASSWORD", "value": "x1y2z3"}]})
    assert secrets.env_credentials(c)


def _cm(data: dict[str, Any], binary: dict[str, Any] | None = None) -> K8sObject:
    raw = obj("ConfigMap", "cfg", data=data)
    if binary:
        raw["binaryData"] = binary
    return K8sObject(raw, Source("cm.yaml", 1, 1))


def test_configmap_keys_and_embedded_files() -> None:
    cm = _cm({
        "LEVEL": "info",
        "DB_PASSWORD": "hunter2",
        "app.properties": "server.port=8080\n# password=commented\nspring.datasource.password=hunter2\n"
                          "spring.datasource.password-file=/x\n",
        "config.yaml": "db:\n  host: db\n  password: ${DB_PASSWORD}\napi_key: 'abcdef123'\n",
    }, binary={"tls.key": "AAAA"})
    messages = [f.message for f in secrets.configmap_credentials(cm)]
    assert messages == [
        "data key DB_PASSWORD: its name marks it as a credential and it has a literal value",
        "data key app.properties, line 3: setting spring.datasource.password has a literal credential value",
        "data key config.yaml, line 4: setting api_key has a literal credential value",
    ]
    assert all("hunter2" not in m and "abcdef123" not in m for m in messages)


def test_configmap_clean() -> None:
    assert secrets.configmap_credentials(_cm({"a": "b", "nginx.conf": "server {\n listen 80;\n}\n"})) == []


def test_configmap_binary_data_sensitive_key() -> None:
    [f] = secrets.configmap_credentials(_cm({}, {"private-key": "AAAA"}))
    assert f.field == "binaryData.private-key"


@pytest.mark.parametrize(("name", "spec", "labels", "annotations", "expected"), [
    ("debug", {}, {}, {}, "fail"),
    ("coredns", {}, {}, {}, "pass"),
    ("my-agent", {"priorityClassName": "system-node-critical"}, {}, {}, "pass"),
    ("kube-apiserver-node1", {}, {"tier": "control-plane"}, {}, "pass"),
    ("thing", {}, {}, {"kubernetes.io/config.mirror": "abc"}, "pass"),
])
def test_system_namespace_workloads(name: str, spec: dict[str, Any], labels: dict[str, str],
                                    annotations: dict[str, str], expected: str) -> None:
    raw = obj("Pod", name, "kube-system", metadata={"labels": labels, "annotations": annotations},
              spec={"containers": [{"name": "c", "image": "x"}], **spec})
    w = inventory(raw).all_workloads()[0]
    result = namespaces.user_workload_in_system_namespace(w)
    assert ("fail" if result else "pass") == expected


def test_system_namespace_extra_names() -> None:
    raw = obj("Deployment", "vendor-agent", "kube-system", spec={"template": {"spec": {"containers": []}}})
    w = inventory(raw).all_workloads()[0]
    assert namespaces.user_workload_in_system_namespace(w)
    assert namespaces.user_workload_in_system_namespace(w, ["vendor-*"]) == []


def test_setting_resolution_reports_source() -> None:
    c = container({"runAsUser": 5}, {"runAsUser": 7, "runAsGroup": 9})
    assert c.setting("runAsUser").describe() == "spec.template.spec.containers[0].securityContext.runAsUser=5"
    assert c.setting("runAsGroup").level == "pod"
    assert not c.setting("runAsNonRoot").is_set
    assert c.setting("runAsNonRoot").describe() == "not set at container or pod level"


def test_container_ids() -> None:
    w = workload({"initContainers": [{"name": "i", "image": "x"}], "containers": [{"name": "c", "image": "x"}],
                  "ephemeralContainers": [{"name": "e", "image": "x"}]}, "StatefulSet")
    assert [c.id for c in w.containers] == ["shop/StatefulSet/app:initContainer=i", "shop/StatefulSet/app:container=c",
                                            "shop/StatefulSet/app:ephemeralContainer=e"]


@pytest.mark.parametrize(("scope", "ns", "inside"), [
    (Scope(), "shop", True),
    (Scope(), "kube-system", False),
    (Scope(include_system=True), "kube-system", True),
    (Scope(include=("kube-*",)), "kube-system", True),
    (Scope(include=("shop",)), "other", False),
    (Scope(exclude=("sh*",)), "shop", False),
    (Scope(), None, True),
])
def test_scope(scope: Scope, ns: str | None, inside: bool) -> None:
    assert scope.contains(ns) is inside


def test_namespaces_include_used_and_declared() -> None:
    inv = inventory(obj("Namespace", "declared", None), obj("ConfigMap", "c", "named"),
                    wrap_pod_spec("Deployment", {"containers": [{"name": "c", "image": "x"}]}, namespace="used"))
    # a namespace only named by a ConfigMap is not the application's (tests/test_namespaces.py has the rule)
    assert [(n.name, n.obj is not None) for n in inv.namespaces()] == [("declared", True), ("used", False)]
