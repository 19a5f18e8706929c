"""The public fixtures. Tests that ask for them are parametrized by the plugin."""

from __future__ import annotations

from typing import Any

import pytest

from .model import Container, Inventory, K8sObject, Namespace, Workload
from .options import Settings, settings_of
from .params import TARGET_FIXTURES, derive
from .policy import OrgPolicy

__all__ = ["k8s_cluster", "k8s_container", "k8s_namespace", "k8s_object", "k8s_policy", "k8s_settings",
           "k8s_workload"]

_NO_TARGET = "no Kubernetes target: pass --k8s-manifests PATH (or set k8s_manifests in the ini file)"


def _inventory(config: pytest.Config) -> Inventory | None:
    session = config.pluginmanager.get_plugin("k8shardening-session")
    return getattr(session, "inventory", None)


def _derived(request: pytest.FixtureRequest, name: str) -> Any:
    """Fixture ``name`` from the most specific target fixture the test asks for (see params.derive)."""
    for source in TARGET_FIXTURES[:TARGET_FIXTURES.index(name)]:
        if source in request.fixturenames:
            inv = _inventory(request.config) if name == "k8s_namespace" else None
            value = derive(name, request.getfixturevalue(source), inv)
            if value is None:
                pytest.skip("the object is cluster-scoped and has no namespace")
            return value
    pytest.skip(_NO_TARGET)


@pytest.fixture(scope="session")
def k8s_cluster(pytestconfig: pytest.Config) -> Inventory:
    """The inventory in scope: every object read from the target.

    ``k8s_cluster.objects`` lists them all; ``of_kind("ConfigMap")``,
    ``get(kind, namespace, name)``, ``workloads()``, ``containers()`` and
    ``namespaces()`` give the scoped views; each object's ``source`` says
    which file and line it came from. Skips the test when no target is given.
    """
    inv = _inventory(pytestconfig)
    if inv is None:
        pytest.skip(_NO_TARGET)
    return inv


@pytest.fixture
def k8s_container(request: pytest.FixtureRequest) -> Container:
    """One container in scope; the test runs once per container.

    Init and ephemeral containers are included (narrow with
    ``@pytest.mark.k8s_select(container_types=[...])``). ``setting(name)``
    resolves a securityContext field from container, then pod level, and
    says where it came from. Test ids read ``ns/Kind/name:container=web``.
    """
    pytest.skip(_NO_TARGET)


@pytest.fixture
def k8s_workload(request: pytest.FixtureRequest) -> Workload:
    """One workload in scope (Pod, Deployment, StatefulSet, DaemonSet, Job,
    CronJob, ReplicaSet, ReplicationController, PodTemplate); the test runs once
    per workload. ``pod_spec`` is its pod spec, ``containers`` its containers.
    Pods and ReplicaSets made by a controller among the inputs (same variant,
    matching uid, the same pod template) are left out: their owner is checked.
    Test ids read ``ns/Kind/name`` (``ns/Kind/name@variant`` when several
    variants declare it).
    """
    return _derived(request, "k8s_workload")


@pytest.fixture
def k8s_object(request: pytest.FixtureRequest) -> K8sObject:
    """One object in scope, of the kinds named by
    ``@pytest.mark.k8s_select(kinds=[...])`` (all kinds when none are named).
    ``raw`` is the object as read, with Secret values redacted.
    """
    return _derived(request, "k8s_object")


@pytest.fixture
def k8s_namespace(request: pytest.FixtureRequest) -> Namespace:
    """One namespace in scope; the test runs once per namespace. On a cluster
    (live, snapshot, ``kubectl get -o yaml``) every namespace; on application
    manifests those declared, or holding workloads, NetworkPolicies,
    LimitRanges or ResourceQuotas (``Inventory.namespaces``). ``obj`` is its
    Namespace object when the target has one; ``resource()`` names the file
    and line where it is declared.
    """
    return _derived(request, "k8s_namespace")


@pytest.fixture(scope="session")
def k8s_policy(pytestconfig: pytest.Config) -> OrgPolicy:
    """The organization policy from the ini file: ``allowed_registries``,
    ``required_labels`` (``k8s_allowed_registries``, ``k8s_required_labels``)."""
    return settings_of(pytestconfig).org


@pytest.fixture(scope="session")
def k8s_settings(pytestconfig: pytest.Config) -> Settings:
    """The run's resolved options (command line, then ini, then defaults): ``require_image_digest``,
    ``min_run_as_id`` and the rest of :class:`~pytest_k8shardening.options.Settings`."""
    return settings_of(pytestconfig)
