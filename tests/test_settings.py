"""The run's plumbing: one Settings read once, one fixture derivation, the target read and cleaned up.

Table-driven: each case names what it shows.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from pytest_k8shardening.grouping import Group
from pytest_k8shardening.model import Container, K8sObject, Namespace, Workload
from pytest_k8shardening.options import Settings, settings_of
from pytest_k8shardening.params import derive
from pytest_k8shardening.policy import OrgPolicy

from .k8s import inventory, obj, wrap_pod_spec

# ------------------------------------------------------------------ Settings
SETTINGS_CASES: list[tuple[str, str, list[str], dict[str, Any]]] = [
    ("defaults", "", [], {"pss_version": "latest", "target_version": "", "system_workloads": (),
                          "org": OrgPolicy()}),
    ("ini-values", "k8s_pss_version = v1.30\nk8s_target_version = v1.33\nk8s_system_workloads = vendor-* agent\n"
                   "k8s_org_checks = true\nk8s_allowed_registries = registry.example.org/* ghcr.io/acme/*\n"
                   "k8s_required_labels = team owner\n", [],
     {"pss_version": "v1.30", "target_version": "v1.33", "system_workloads": ("vendor-*", "agent"),
      "org": OrgPolicy(True, ("registry.example.org/*", "ghcr.io/acme/*"), ("team", "owner"))}),
    ("org-option-turns-org-on", "k8s_required_labels = team\n", ["--k8s-org"],
     {"org": OrgPolicy(True, (), ("team",))}),
    ("org-ini-off-stays-off", "k8s_org_checks = false\nk8s_allowed_registries = r.example\n", [],
     {"org": OrgPolicy(False, ("r.example",), ())}),
]


@pytest.mark.parametrize(("case", "ini", "args", "expected"), SETTINGS_CASES, ids=[c[0] for c in SETTINGS_CASES])
def test_settings_read_every_ini_value(pytester: pytest.Pytester, case: str, ini: str, args: list[str],
                                       expected: dict[str, Any]) -> None:
    pytester.makeini("[pytest]\n" + ini)
    settings = Settings.from_config(pytester.parseconfig(*args))
    assert {k: getattr(settings, k) for k in expected} == expected


def test_settings_are_resolved_once_per_run(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nk8s_required_labels = team\n")
    config = pytester.parseconfig()
    first = settings_of(config)
    assert settings_of(config) is first
    assert OrgPolicy.from_config(config) is first.org
    with pytest.raises(AttributeError):
        first.pss_version = "v1.30"  # type: ignore[misc]  # frozen


def test_fixtures_give_the_one_settings_to_custom_tests(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nk8s_pss_version = v1.29\nk8s_required_labels = team\nk8s_system_workloads = v-*\n")
    app = pytester.makefile(".yaml", app="apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n")
    pytester.makepyfile(test_mine="""
        from pytest_k8shardening.options import settings_of

        def test_settings(k8s_settings, k8s_policy, pytestconfig):
            assert k8s_settings is settings_of(pytestconfig)
            assert k8s_policy is k8s_settings.org
            assert (k8s_settings.pss_version, k8s_settings.system_workloads) == ("v1.29", ("v-*",))
            assert k8s_policy.required_labels == ("team",)
    """)
    result = pytester.runpytest("--k8s-manifests", str(app), "--k8s-no-builtin")
    result.assert_outcomes(passed=1)


VENDOR = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: vendor-agent, namespace: kube-system}
spec: {template: {spec: {containers: [{name: a, image: x}]}}}
"""


@pytest.mark.parametrize(("ini", "outcome"), [
    ("", "failed"),  # a user workload in kube-system
    ("k8s_system_workloads = vendor-*\n", "passed"),  # named a cluster component in the ini file
    ("k8s_system_workloads = other-*\n", "failed"),  # a glob that does not match
])
def test_system_workloads_reach_the_suite(pytester: pytest.Pytester, ini: str, outcome: str) -> None:
    pytester.makeini("[pytest]\n" + ini)
    app = pytester.makefile(".yaml", app=VENDOR)
    result = pytester.runpytest("--k8s-manifests", str(app), "-k", "test_no_user_workloads_in_system_namespaces",
                                "--k8s-report-json", "r.json")
    doc = json.loads((pytester.path / "r.json").read_text())
    assert [(r["control"], r["outcome"]) for r in doc["results"]] == [
        ("nsa.namespaces.no-user-workloads-in-system", outcome)], result.stdout.str()[-2000:]


# ------------------------------------------------------------------ derivation
INV = inventory(
    obj("Namespace", "shop", None, metadata={"labels": {"team": "shop"}}),
    wrap_pod_spec("Deployment", {"containers": [{"name": "web", "image": "x"}]}),
    obj("ClusterRole", "reader", None),
    obj("ConfigMap", "cfg", "elsewhere"),
)
WORKLOAD: Workload = INV.all_workloads()[0]
CONTAINER: Container = WORKLOAD.containers[0]
CLUSTER_ROLE: K8sObject = next(o for o in INV.objects if o.kind == "ClusterRole")
CONFIG_MAP: K8sObject = next(o for o in INV.objects if o.kind == "ConfigMap")
SHOP = INV.namespace_of(WORKLOAD.obj)
GROUP = Group("all", [CONTAINER], "k8s_container")


def _ns(value: Any) -> Any:
    return (value.name, value.labels, value.obj is not None) if isinstance(value, Namespace) else value


DERIVE_CASES: list[tuple[str, str, Any, Any]] = [
    ("container-workload", "k8s_workload", CONTAINER, WORKLOAD),
    ("container-object", "k8s_object", CONTAINER, WORKLOAD.obj),
    ("container-namespace-declared", "k8s_namespace", CONTAINER, ("shop", {"team": "shop"}, True)),
    ("workload-workload", "k8s_workload", WORKLOAD, WORKLOAD),
    ("workload-object", "k8s_object", WORKLOAD, WORKLOAD.obj),
    ("workload-namespace", "k8s_namespace", WORKLOAD, ("shop", {"team": "shop"}, True)),
    ("object-object", "k8s_object", CONFIG_MAP, CONFIG_MAP),
    ("object-namespace-undeclared", "k8s_namespace", CONFIG_MAP, ("elsewhere", {}, False)),
    ("cluster-scoped-has-no-namespace", "k8s_namespace", CLUSTER_ROLE, None),
    ("namespace-namespace", "k8s_namespace", SHOP, _ns(SHOP)),
    ("group-passes-through-workload", "k8s_workload", GROUP, GROUP),
    ("group-passes-through-namespace", "k8s_namespace", GROUP, GROUP),
]


@pytest.mark.parametrize(("case", "name", "subject", "expected"), DERIVE_CASES, ids=[c[0] for c in DERIVE_CASES])
def test_derive(case: str, name: str, subject: Any, expected: Any) -> None:
    value = derive(name, subject, INV)
    if name == "k8s_namespace":
        assert _ns(value) == expected
    else:
        assert value is expected


def test_derive_without_an_inventory_names_the_namespace_only() -> None:
    assert _ns(derive("k8s_namespace", CONTAINER, None)) == ("shop", {}, False)


RECORDER = """
    import json, os

    def test_values(k8s_container, k8s_workload, k8s_object, k8s_namespace):
        with open(os.environ["VALUES_OUT"], "a") as fh:
            fh.write(json.dumps([k8s_container.id, k8s_workload.id, k8s_object.id, k8s_namespace.id,
                                 k8s_namespace.labels, k8s_namespace.obj is not None]) + "\\n")
"""
APP = """\
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {team: shop}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec: {template: {spec: {containers: [{name: web, image: x}, {name: side, image: x}]}}}
---
apiVersion: v1
kind: Pod
metadata: {name: lone, namespace: other}
spec: {containers: [{name: c, image: x}]}
"""


def test_per_object_and_grouped_runs_derive_the_same_values(pytester: pytest.Pytester,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    app = pytester.makefile(".yaml", app=APP)
    pytester.makepyfile(test_mine=RECORDER)
    seen = {}
    for mode in ("resource", "namespace", "control"):
        out = pytester.path / f"{mode}.jsonl"
        monkeypatch.setenv("VALUES_OUT", str(out))
        result = pytester.runpytest("--k8s-manifests", str(app), "--k8s-no-builtin", "--k8s-group-by", mode)
        result.assert_outcomes(passed=3 if mode == "resource" else 2 if mode == "namespace" else 1)
        seen[mode] = sorted(out.read_text().splitlines())
    assert len(seen["resource"]) == 3
    assert seen["resource"] == seen["namespace"] == seen["control"]
    assert json.loads(seen["resource"][0])[3:] == ["other", {}, False]


# ------------------------------------------------------------------ the target
def _fake_tool(bindir: Path, name: str, body: str) -> None:
    path = bindir / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_a_kind_cluster_that_cannot_be_read_is_deleted(tmp_path: Path, pytester: pytest.Pytester,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """`kind create` succeeds but its API server does not answer: a usage error, and the cluster is deleted."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "kind.log"
    _fake_tool(bindir, "docker", "exit 0\n")
    _fake_tool(bindir, "kind", f"""echo "$@" >> {log}
if [ "$1" = create ]; then
  while [ $# -gt 0 ]; do [ "$1" = --kubeconfig ] && kc="$2"; shift; done
  cat > "$kc" <<EOF
apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "https://127.0.0.1:9"}}}}]
users: [{{name: u, user: {{token: t}}}}]
contexts: [{{name: x, context: {{cluster: c, user: u}}}}]
current-context: x
EOF
fi
exit 0
""")
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    result = pytester.runpytest("--k8s-kind", "--k8s-request-timeout", "5")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "k8shardening: cannot read the cluster: " in result.stderr.str()
    calls = log.read_text().splitlines()
    assert [c.split()[:2] for c in calls] == [["create", "cluster"], ["delete", "cluster"]]
    assert calls[0].split()[3] == calls[1].split()[3]  # the same cluster name
