"""Kubernetes objects as the checks see them.

An :class:`Inventory` holds every object read from the target, each a
:class:`K8sObject` that remembers where it came from (file and line, or the
live cluster). From it come the views the fixtures hand to tests:
:class:`Workload` (anything with a pod template), :class:`Container` (one
container of a workload, with its *effective* security settings resolved
from pod and container level) and :class:`Namespace`.

Nothing here imports pytest: checks are plain functions over these objects.
"""

from __future__ import annotations

import fnmatch
import functools
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "CLUSTER_SCOPED_KINDS",
    "NAMESPACE_OWNING_KINDS",
    "SYSTEM_NAMESPACES",
    "VOLUME_SOURCES",
    "WORKLOAD_KINDS",
    "Container",
    "ContainerType",
    "Image",
    "InvalidObject",
    "Inventory",
    "K8sObject",
    "Namespace",
    "OwnerReport",
    "Scope",
    "Setting",
    "Source",
    "Workload",
]

#: Namespaces the control plane and its add-ons own. Workload checks leave
#: them out unless asked (``--k8s-include-system-namespaces``).
SYSTEM_NAMESPACES: tuple[str, ...] = ("kube-system", "kube-public", "kube-node-lease")

#: Kinds that carry a pod template, and where the pod spec sits in each.
WORKLOAD_KINDS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "PodTemplate": ("template", "spec"),
    "Deployment": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}

#: Built-in kinds that have no namespace. Other kinds are namespaced, and a
#: namespaced object without ``metadata.namespace`` lands in ``default``, as
#: ``kubectl apply`` would put it.
CLUSTER_SCOPED_KINDS: frozenset[str] = frozenset(
    {
        "APIService", "CertificateSigningRequest", "ClusterRole", "ClusterRoleBinding",
        "ComponentStatus", "CSIDriver", "CSINode", "CustomResourceDefinition", "FlowSchema",
        "IngressClass", "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding",
        "MutatingWebhookConfiguration", "Namespace", "Node", "PersistentVolume",
        "PodSecurityPolicy", "PriorityClass", "PriorityLevelConfiguration", "RuntimeClass",
        "StorageClass", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
        "ValidatingWebhookConfiguration", "VolumeAttachment", "ClusterIssuer",
        "DeviceClass", "IPAddress", "ServiceCIDR", "VolumeAttributesClass",
        "KubeletConfiguration", "ClusterProbe", "InventoryStatus",
        # CNI policy kinds that are cluster-wide (Cilium, Calico, Antrea)
        "CiliumClusterwideNetworkPolicy", "GlobalNetworkPolicy", "StagedGlobalNetworkPolicy", "GlobalNetworkSet",
        "ClusterNetworkPolicy", "ClusterGroup", "Tier",
        # policy engine kinds that are cluster-wide (Kyverno, Gatekeeper and its PSP library, Kubewarden)
        "ClusterPolicy", "ValidatingPolicy", "ImageValidatingPolicy", "ConstraintTemplate", "ClusterAdmissionPolicy",
        "ClusterAdmissionPolicyGroup", "K8sPSPPrivilegedContainer", "K8sPSPHostNamespace", "K8sPSPHostNetworkingPorts",
        "K8sPSPHostFilesystem", "K8sPSPCapabilities", "K8sPSPAppArmor", "K8sPSPSELinuxV2", "K8sPSPProcMount",
        "K8sPSPSeccomp", "K8sPSPForbiddenSysctls",
    }
)

#: Kinds whose presence in a namespace shows that an application's manifests own it (see
#: :meth:`Inventory.namespaces`): what runs pods there, and what governs them.
NAMESPACE_OWNING_KINDS: frozenset[str] = frozenset(WORKLOAD_KINDS) | {"NetworkPolicy", "LimitRange", "ResourceQuota"}

ContainerType = Literal["container", "initContainer", "ephemeralContainer"]
_CONTAINER_LISTS: tuple[tuple[str, ContainerType], ...] = (
    ("initContainers", "initContainer"),
    ("containers", "container"),
    ("ephemeralContainers", "ephemeralContainer"),
)
# securityContext fields that must be booleans when present; a string "true"
# would be rejected by the API server and must not be read as "unset" here.
_BOOL_FIELDS = ("privileged", "allowPrivilegeEscalation", "readOnlyRootFilesystem", "runAsNonRoot")
_INT_FIELDS = ("runAsUser", "runAsGroup", "fsGroup")


def _check_types(sc: dict[str, Any], path: str) -> None:
    """Reject securityContext values of the wrong type (the API server would too)."""
    for key in _BOOL_FIELDS:
        value = sc.get(key)
        if value is not None and not isinstance(value, bool):
            raise InvalidObject(f"{path}.{key} must be true or false, not {value!r}")
    for key in _INT_FIELDS:
        value = sc.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise InvalidObject(f"{path}.{key} must be an integer, not {value!r}")
    groups = sc.get("supplementalGroups")
    if groups is not None and (not isinstance(groups, list)
                               or any(isinstance(g, bool) or not isinstance(g, int) for g in groups)):
        raise InvalidObject(f"{path}.supplementalGroups must be a list of integers")
    for key in ("capabilities", "seccompProfile", "seLinuxOptions", "appArmorProfile", "windowsOptions"):
        value = sc.get(key)
        if value is not None and not isinstance(value, dict):
            raise InvalidObject(f"{path}.{key} must be a mapping")


@functools.lru_cache(maxsize=4096)
def _folder(unit: str | None, file: str | None) -> str | None:
    if unit:
        return os.path.normpath(unit.partition(":")[2] or unit)
    if file is None:
        return None
    return os.path.dirname(os.path.normpath(file)) or "."


class InvalidObject(ValueError):
    """An object is malformed in a way that would make a verdict wrong."""


@dataclass(frozen=True, slots=True)
class Source:
    """Where an object was read from: a file (with document and line) or a cluster.

    ``unit`` names the render that produced the object, when it was not read
    as written: ``helm:<chart dir>`` or ``kustomize:<kustomization dir>``
    (``file`` is then the template or source file, when it can be told). A
    plain manifest file is its own unit. Objects of different units are
    variants of one another, never the same object.
    """

    file: str | None
    line: int | None = None
    document: int | None = None
    unit: str | None = None

    @property
    def variant(self) -> str | None:
        """What tells this object's variant apart: its render unit, else its file (``None``: the cluster)."""
        return self.unit or self.file

    @property
    def label(self) -> str:
        """The variant as an id suffix names it: the chart or kustomization folder, the file, or ``cluster``."""
        if self.unit:
            return self.unit.partition(":")[2] or self.unit
        return self.file if self.file is not None else "cluster"

    @property
    def folder(self) -> str | None:
        """The folder the variant lives in (a render's unit folder, a file's folder); None for the cluster."""
        return _folder(self.unit, self.file)

    def describe(self) -> str:
        if self.file is None:
            return "cluster"
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
        elif self.document is not None:
            where += f" (document {self.document})"
        return where

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"file": self.file, "line": self.line, "document": self.document}
        if self.unit is not None:
            out["unit"] = self.unit
        return out


class K8sObject:
    """One Kubernetes object and where it came from.

    ``raw`` is the object as read (Secret values already replaced by
    ``"<redacted>"``); the properties give its identity.
    """

    __slots__ = ("raw", "source", "kind", "api_version", "name", "namespace", "_ref", "base_ref", "lines")

    def __init__(self, raw: dict[str, Any], source: Source, lines: Any = None) -> None:
        self.raw = raw
        self.source = source
        #: Where each field is written in the source file (:func:`~pytest_k8shardening.loader.line_table`).
        self.lines = lines
        self.kind: str = raw["kind"]
        self.api_version: str = raw.get("apiVersion", "")
        meta = raw["metadata"]
        self.name: str = meta.get("name") or meta.get("generateName") or ""
        ns = meta.get("namespace")
        if self.kind in CLUSTER_SCOPED_KINDS:
            self.namespace: str | None = None
        else:
            self.namespace = ns or "default"
        self._ref = f"{self.namespace}/{self.kind}/{self.name}" if self.namespace else f"{self.kind}/{self.name}"
        #: ``namespace/Kind/name`` without a variant suffix (see :attr:`ref`).
        self.base_ref: str = self._ref

    @property
    def metadata(self) -> dict[str, Any]:
        return self.raw["metadata"]

    @property
    def labels(self) -> dict[str, str]:
        return self.raw["metadata"].get("labels") or {}

    @property
    def annotations(self) -> dict[str, str]:
        return self.raw["metadata"].get("annotations") or {}

    @property
    def ref(self) -> str:
        """``namespace/Kind/name`` (``Kind/name`` when cluster-scoped): the test id.

        When the same kind/namespace/name is read from more than one variant
        (files, helm charts, kustomizations), each id names its variant:
        ``shop/Deployment/api@overlays/prod``; a later copy inside one variant
        adds ``#2``, ``#3`` (see :class:`Inventory`).
        """
        return self._ref

    @property
    def key(self) -> tuple[str, str | None, str]:
        return (self.kind, self.namespace, self.name)

    @property
    def id(self) -> str:
        return self._ref

    def describe(self) -> str:
        return f"{self.kind} {self.namespace + '/' if self.namespace else ''}{self.name}"

    @property
    def uid(self) -> str | None:
        return self.raw["metadata"].get("uid")

    def resource(self) -> dict[str, Any]:
        """The resource block of a result entry (``unit``: the render it came from, when rendered)."""
        from .record import resource_block

        return resource_block(self.api_version, self.kind, self.namespace, self.name, self.source.file,
                              self.source.line, unit=self.source.unit)

    def __repr__(self) -> str:
        return f"<{self._ref} from {self.source.describe()}>"


@dataclass(frozen=True, slots=True)
class Setting:
    """A resolved security setting: its value, and the field it came from.

    ``path`` is ``None`` when neither the container nor the pod sets it.
    """

    value: Any
    path: str | None
    level: Literal["container", "pod"] | None

    @property
    def is_set(self) -> bool:
        return self.path is not None

    def describe(self) -> str:
        """``runAsUser=0 (spec.template.spec.securityContext.runAsUser)``-style text."""
        if self.path is None:
            return "not set at container or pod level"
        return f"{self.path}={_show(self.value)}"


def _show(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return repr(value) if value == "" else value
    return str(value)


class Workload:
    """An object with a pod template: a Pod, or a controller that makes Pods.

    ``pod_spec`` is the pod spec; ``spec_path`` its JSON path inside the object
    (``spec.template.spec`` for a Deployment), used in failure messages.
    """

    __slots__ = ("obj", "pod_spec", "pod_meta", "spec_path", "containers", "inventory", "defaults")

    def __init__(self, obj: K8sObject, inventory: Inventory | None = None) -> None:
        self.obj = obj
        self.inventory = inventory
        path = WORKLOAD_KINDS[obj.kind]
        node: Any = obj.raw
        for i, key in enumerate(path):
            node = node.get(key) if isinstance(node, dict) else None
            if node is None:
                node = {}
            if not isinstance(node, dict):
                raise InvalidObject(f"{'.'.join(path[: i + 1])} must be a mapping")
        self.pod_spec: dict[str, Any] = node
        self.spec_path = ".".join(path)
        meta: Any = obj.raw.get("metadata") if obj.kind == "Pod" else _dig(obj.raw, path[:-1] + ("metadata",))
        self.pod_meta: dict[str, Any] = meta if isinstance(meta, dict) else {}
        for key in ("hostNetwork", "hostPID", "hostIPC", "hostUsers", "automountServiceAccountToken"):
            value = node.get(key)
            if value is not None and not isinstance(value, bool):
                raise InvalidObject(f"{self.spec_path}.{key} must be true or false, not {value!r}")
        sc = node.get("securityContext")
        if sc is not None:
            if not isinstance(sc, dict):
                raise InvalidObject(f"{self.spec_path}.securityContext must be a mapping")
            _check_types(sc, f"{self.spec_path}.securityContext")
        from .shapes import validate_pod_meta, validate_pod_spec

        # Every field a check reads has its API type (see shapes.py): never read as unset, never a crash.
        validate_pod_meta(meta, "metadata" if obj.kind == "Pod" else ".".join(path[:-1] + ("metadata",)))
        validate_pod_spec(node, self.spec_path)
        self.defaults: dict[str, str] = {}
        node = self.pod_spec = _apply_defaults(node, self.spec_path, self.defaults)
        self.containers: list[Container] = []
        for list_name, ctype in _CONTAINER_LISTS:
            items = node.get(list_name) or []
            if not isinstance(items, list):
                raise InvalidObject(f"{self.spec_path}.{list_name} must be a list")
            for index, c in enumerate(items):
                self.containers.append(Container(self, c, ctype, list_name, index))
        seen: dict[str, str] = {}  # names are unique across all of a pod's containers, as the API server requires
        for c in self.containers:
            if c.name in seen:
                name = c.name if len(c.name) <= 80 else c.name[:80] + "..."
                raise InvalidObject(f"{c.path}.name: duplicate container name {name!r} (also {seen[c.name]}); "
                                    "the API server refuses a pod whose containers share a name")
            seen[c.name] = c.path

    @property
    def kind(self) -> str:
        return self.obj.kind

    @property
    def name(self) -> str:
        return self.obj.name

    @property
    def namespace(self) -> str | None:
        return self.obj.namespace

    @property
    def ref(self) -> str:
        return self.obj.ref

    @property
    def id(self) -> str:
        return self.obj.ref

    @property
    def pod_security_context(self) -> dict[str, Any]:
        return self.pod_spec.get("securityContext") or {}

    @property
    def annotations(self) -> dict[str, str]:
        """Annotations of the pod (the template's, for a controller)."""
        return self.pod_meta.get("annotations") or {}

    @property
    def is_windows(self) -> bool:
        os_ = self.pod_spec.get("os")
        return isinstance(os_, dict) and os_.get("name") == "windows"

    def volumes(self) -> list[dict[str, Any]]:
        vols = self.pod_spec.get("volumes") or []
        return [v for v in vols if isinstance(v, dict)]

    def resource(self) -> dict[str, Any]:
        return self.obj.resource()

    def describe(self) -> str:
        return f"{self.obj.kind} {self.obj.namespace + '/' if self.obj.namespace else ''}{self.obj.name}"

    def __repr__(self) -> str:
        return f"<Workload {self.ref}>"


#: Every volume source of the v1 API (``VolumeSource``'s fields).
VOLUME_SOURCES: tuple[str, ...] = (
    "awsElasticBlockStore", "azureDisk", "azureFile", "cephfs", "cinder", "configMap", "csi", "downwardAPI",
    "emptyDir", "ephemeral", "fc", "flexVolume", "flocker", "gcePersistentDisk", "gitRepo", "glusterfs",
    "hostPath", "image", "iscsi", "nfs", "persistentVolumeClaim", "photonPersistentDisk", "portworxVolume",
    "projected", "quobyte", "rbd", "scaleIO", "secret", "storageos", "vsphereVolume",
)


def _apply_defaults(spec: dict[str, Any], spec_path: str, notes: dict[str, str]) -> dict[str, Any]:
    """The pod spec as the API server stores the pods it admits: two defaults the checks depend on.

    * A volume that names no source is an ``emptyDir`` (``SetDefaults_Volume``). A volume with a
      key this model does not know as a source is left alone: it may be a newer source.
    * With ``hostNetwork: true``, each port of a container or init container whose ``hostPort`` is
      unset or 0 gets ``hostPort = containerPort`` (``defaultHostNetworkPorts``). Since Kubernetes
      1.28 the API server does this in Pods only, not in a controller's template; the Pods the
      controller creates get it, and those are what runs and what Pod Security admission judges.

    The object as written (``obj.raw``) is not changed: changed parts are copies. ``notes`` gets,
    for each defaulted field's JSON path, why it has its value.
    """
    out = spec
    vols = spec.get("volumes")
    if isinstance(vols, list) and any(isinstance(v, dict) and _sourceless(v) for v in vols):
        new_vols = []
        for i, v in enumerate(vols):
            if isinstance(v, dict) and _sourceless(v):
                v = {**v, "emptyDir": {}}
                notes[f"{spec_path}.volumes[{i}].emptyDir"] = (
                    "the volume names no source, so the API server makes it an emptyDir")
            new_vols.append(v)
        out = {**out, "volumes": new_vols}
    if spec.get("hostNetwork") is True:
        for list_name in ("initContainers", "containers"):
            items = out.get(list_name)
            if not isinstance(items, list):
                continue
            new_items, changed = [], False
            for ci, c in enumerate(items):
                ports = c.get("ports") if isinstance(c, dict) else None
                if isinstance(ports, list) and any(_host_port_defaulted(p) for p in ports):
                    new_ports = []
                    for pi, p in enumerate(ports):
                        if _host_port_defaulted(p):
                            p = {**p, "hostPort": p["containerPort"]}
                            notes[f"{spec_path}.{list_name}[{ci}].ports[{pi}].hostPort"] = (
                                f"hostNetwork is true, so the API server sets hostPort to containerPort "
                                f"{p['containerPort']}")
                        new_ports.append(p)
                    c = {**c, "ports": new_ports}
                    changed = True
                new_items.append(c)
            if changed:
                out = {**out, list_name: new_items}
    return out


def _sourceless(vol: dict[str, Any]) -> bool:
    return all(key == "name" or (key in VOLUME_SOURCES and value is None) for key, value in vol.items())


def _host_port_defaulted(port: Any) -> bool:
    return isinstance(port, dict) and not port.get("hostPort") and bool(port.get("containerPort"))


def _dig(node: Any, path: Iterable[str]) -> Any:
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


class Container:
    """One container of a workload (init and ephemeral containers included).

    :meth:`setting` resolves a security setting the way the kubelet does: the
    container's ``securityContext`` wins over the pod's, field by field.
    """

    __slots__ = ("workload", "raw", "type", "list_name", "index", "name", "path", "security_context")

    def __init__(self, workload: Workload, raw: Any, ctype: ContainerType, list_name: str, index: int) -> None:
        path = f"{workload.spec_path}.{list_name}[{index}]"
        if not isinstance(raw, dict):
            raise InvalidObject(f"{path} must be a mapping")
        name = raw.get("name")
        if not isinstance(name, str) or not name:
            raise InvalidObject(f"{path} has no name")
        sc = raw.get("securityContext")
        if sc is None:
            sc = {}
        elif not isinstance(sc, dict):
            raise InvalidObject(f"{path}.securityContext must be a mapping")
        _check_types(sc, f"{path}.securityContext")
        self.workload = workload
        self.raw: dict[str, Any] = raw
        self.type: ContainerType = ctype
        self.list_name = list_name
        self.index = index
        self.name: str = name
        self.path = path
        self.security_context: dict[str, Any] = sc

    @property
    def id(self) -> str:
        """``shop/Deployment/api:container=web``: stable and ``-k``-friendly."""
        return f"{self.workload.ref}:{self.type}={self.name}"

    @property
    def image(self) -> str:
        return str(self.raw.get("image") or "")

    @property
    def image_ref(self) -> Image:
        """The image reference parsed into registry, repository, tag and digest."""
        return Image.parse(self.image)

    def setting(self, key: str) -> Setting:
        """Resolve ``key`` from the container's, then the pod's securityContext."""
        if key in self.security_context and self.security_context[key] is not None:
            return Setting(self.security_context[key], f"{self.path}.securityContext.{key}", "container")
        pod_sc = self.workload.pod_security_context
        if key in pod_sc and pod_sc[key] is not None:
            return Setting(pod_sc[key], f"{self.workload.spec_path}.securityContext.{key}", "pod")
        return Setting(None, None, None)

    def container_setting(self, key: str) -> Setting:
        """A field that only exists on the container's securityContext."""
        value = self.security_context.get(key)
        if value is None:
            return Setting(None, None, None)
        return Setting(value, f"{self.path}.securityContext.{key}", "container")

    def resource(self) -> dict[str, Any]:
        from .record import with_container

        return with_container(self.workload.obj.resource(), self.name, self.type)

    def describe(self) -> str:
        return f'{self.workload.describe()}, {self.type} "{self.name}"'

    def __repr__(self) -> str:
        return f"<Container {self.id}>"


@dataclass(slots=True)
class Namespace:
    """A namespace in scope: declared by a Namespace object, or used by objects.

    ``obj`` is its Namespace object, when the input has one. ``origin`` is
    the source its lookups start from (its declaration's, or the render that
    uses it): a namespace's NetworkPolicies, LimitRanges and quotas are those
    that source sees (:meth:`Inventory.visible`). ``None`` sees everything.
    ``variant`` is set when the namespace appears in several variants: the id
    then reads ``shop@overlays/prod``. ``source`` says where the namespace is
    declared (that object's file and line), or else where the first object
    placed in it names it: the file and line of its findings.
    """

    name: str
    obj: K8sObject | None = None
    origin: Source | None = None
    variant: str | None = None
    source: Source | None = None

    @property
    def id(self) -> str:
        return f"{self.name}@{self.variant}" if self.variant else self.name

    @property
    def labels(self) -> dict[str, str]:
        return self.obj.labels if self.obj else {}

    def resource(self) -> dict[str, Any]:
        if self.obj is not None:
            return self.obj.resource()
        from .record import resource_block

        src = self.source
        return resource_block("v1", "Namespace", None, self.name, src.file if src else None,
                              src.line if src else None, unit=self.origin.unit if self.origin is not None and
                              self.origin.unit else None)

    def describe(self) -> str:
        return f"Namespace {self.name}"


@dataclass(frozen=True, slots=True)
class Scope:
    """Which namespaces are checked. Globs are allowed in every list."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    include_system: bool = False

    def system_excluded(self, namespace: str) -> bool:
        """True when ``namespace`` is a system namespace left out by default."""
        if self.include_system or namespace not in SYSTEM_NAMESPACES:
            return False
        return not any(fnmatch.fnmatchcase(namespace, p) for p in self.include)

    def contains(self, namespace: str | None, *, ignore_system_default: bool = False) -> bool:
        if namespace is None:
            return True
        if self.include and not any(fnmatch.fnmatchcase(namespace, p) for p in self.include):
            return False
        if any(fnmatch.fnmatchcase(namespace, p) for p in self.exclude):
            return False
        if not ignore_system_default and self.system_excluded(namespace):
            return False
        return True

    def describe(self) -> str:
        parts = []
        if self.include:
            parts.append("only namespaces " + ", ".join(self.include))
        if self.exclude:
            parts.append("excluding " + ", ".join(self.exclude))
        if not self.include_system:
            parts.append("system namespaces (" + ", ".join(SYSTEM_NAMESPACES) + ") left out of workload checks")
        return "; ".join(parts) or "all namespaces"


#: Kinds made by the plugin itself (probe results, scan status), not by Kubernetes.
STATUS_KIND = "InventoryStatus"

Fetcher = Callable[[str, "Inventory"], tuple[list[dict[str, Any]], "str | None"]]


class Inventory:
    """Everything read from the target, with the scope to check it in.

    A manifest inventory holds all its objects from the start. A live one
    has a ``fetch`` function and reads each kind the first time it is asked
    for; a kind that cannot be read is recorded with the reason
    (:meth:`unavailable`), and checks that need it skip rather than guess.

    **Variants.** Objects of the same kind, namespace and name read from
    different variants (:attr:`Source.variant`: two files, two kustomize
    overlays, a chart and a file) are separate objects: each is checked, and
    their ids name the variant (``shop/Deployment/api@overlays/prod``).
    Objects without such a clash keep the plain id. Inside one variant, the
    same document read twice (a file given twice) is kept once; two
    different documents of one object (a file that declares it twice) are
    both checked, the later one as ``...#2``, and lookups resolve to the
    later one, as ``kubectl apply`` leaves it (a Pod's spec cannot be
    changed, so the first one may be what runs: both are checked).

    **Lookups** (a binding's role, a pod's ServiceAccount and owner, a
    namespace's policies) go through :meth:`visible`: they see the object's
    own variant first, then plain files (nearest folder first) and the
    cluster, never another render, nor a file that declares one of the
    same objects differently (an alternative to the object's own file).
    """

    def __init__(self, objects: list[K8sObject], sources: list[str] | None = None, scope: Scope | None = None,
                 *, fetch: Fetcher | None = None, default_kinds: Iterable[str] = (),
                 fetched: Iterable[str] = (), unavailable: Mapping[str, str] | None = None) -> None:
        self.objects: list[K8sObject] = []
        self.sources = list(sources or [])
        self.scope = scope or Scope()
        self.fetch = fetch
        self.default_kinds = tuple(default_kinds)
        self._fetched: set[str] = set(fetched)
        self._unavailable: dict[str, str] = dict(unavailable or {})
        self._by_kind: dict[str, list[K8sObject]] = {}
        self._index: dict[tuple[str, str | None, str], list[K8sObject]] = {}
        self._by_id: dict[str, K8sObject] = {}
        self._ordinal: dict[int, int] = {}  # id(obj) -> its place among the copies of one variant
        self._rivals: dict[str | None, set[str | None]] | None = None
        self._ns_users: tuple[int, dict[str, set[str]], set[str], dict[str, dict[str | None, Source]],
                              dict[str, dict[str | None, Source]]] | None = None
        self._clashes = 0  # kind/namespace/name keys read more than once
        self._renders = 0  # objects of a helm or kustomize render
        self._workloads: list[Workload] | None = None
        self._owners: OwnerReport = OwnerReport()
        self._cluster_read: tuple[int, bool] | None = None
        self._scoped: dict[bool, tuple[list[Workload], Scope, list[Workload]]] = {}
        for obj in objects:
            if obj.kind == STATUS_KIND:
                self._unavailable.update(obj.raw.get("unavailable") or {})
                self._fetched.update(obj.raw.get("fetched") or ())
                continue
            self._add(obj)

    def _add(self, obj: K8sObject) -> None:
        copies = self._index.setdefault(obj.key, [])
        if obj.source.file is not None and any(c.source == obj.source and c.raw == obj.raw for c in copies):
            return  # the same document read twice (a file named twice): one object
        copies.append(obj)
        self.objects.append(obj)
        self._by_kind.setdefault(obj.kind, []).append(obj)
        if obj.source.unit is not None:
            self._renders += 1
        if len(copies) == 1:
            self._by_id[obj.ref] = obj
            self._ordinal[id(obj)] = 0
        else:
            if len(copies) == 2:
                self._clashes += 1
            self._name_copies(copies)
            self._rivals = None
        if obj.kind in WORKLOAD_KINDS:
            self._workloads = None

    def _name_copies(self, copies: list[K8sObject]) -> None:
        """Give every copy of one kind/namespace/name an id that tells it apart (independent of load order)."""
        by_variant: dict[str | None, list[K8sObject]] = {}
        for c in copies:
            by_variant.setdefault(c.source.variant, []).append(c)
        several = len(by_variant) > 1
        for group in by_variant.values():
            group.sort(key=_position)
            for i, c in enumerate(group):
                self._by_id.pop(c.ref, None)
                ref = c.base_ref + (f"@{c.source.label}" if several else "") + (f"#{i + 1}" if i else "")
                c._ref = ref
                self._ordinal[id(c)] = i
        for c in copies:
            self._by_id[c.ref] = c

    def add(self, objects: Iterable[K8sObject]) -> None:
        """Add objects from another source (see the pytest_k8shardening_add_objects hook)."""
        for obj in objects:
            self._add(obj)

    # -- live reads --------------------------------------------------------
    def ensure(self, *kinds: str) -> None:
        """Read ``kinds`` from the live source, once each (no-op for manifests)."""
        if self.fetch is None:
            return
        for kind in kinds:
            if kind in self._fetched:
                continue
            self._fetched.add(kind)
            raws, why = self.fetch(kind, self)
            if why:
                self._unavailable[kind] = why
            for raw in raws:
                self._add(K8sObject(raw, Source(None)))
            if kind in WORKLOAD_KINDS:
                self._workloads = None

    def unavailable(self, kind: str) -> str | None:
        """Why ``kind`` could not be read (a 403, say), or None when it was read."""
        self.ensure(kind)
        return self._unavailable.get(kind)

    @property
    def unavailable_kinds(self) -> dict[str, str]:
        return dict(sorted(self._unavailable.items()))

    @property
    def fetched(self) -> set[str]:
        return set(self._fetched)

    def status_object(self) -> dict[str, Any]:
        """What was read and what could not be, as an object a snapshot can carry."""
        return {"apiVersion": "k8shardening.io/v1", "kind": STATUS_KIND, "metadata": {"name": "inventory"},
                "fetched": sorted(self._fetched), "unavailable": self.unavailable_kinds}

    # -- variants ----------------------------------------------------------
    def visible(self, origin: K8sObject | Source | None, candidates: Iterable[K8sObject]) -> list[K8sObject]:
        """The candidates a lookup from ``origin`` may resolve to, nearest first.

        The one rule every cross-object lookup follows (a binding's role, a
        pod's ServiceAccount, owner, LimitRange, a namespace's policies):

        1. objects of ``origin``'s own variant (the later copy first);
        2. objects from plain files (not renders): the origin's folder and its
           ancestors first, nearest first, then other folders (longest shared
           path first) -- but never a file that declares one of the origin's
           own objects differently (install.yaml vs namespace-install.yaml,
           per-provider deploy.yaml files are alternatives, not parts);
        3. objects read from the cluster (for a cluster origin they come first).

        Objects of another render (helm chart, kustomization) are never
        visible. ``origin=None`` (no origin: a user's own lookup) sees every
        candidate, plain files and the cluster before renders.
        """
        src = origin.source if isinstance(origin, K8sObject) else origin
        if src is None:
            return sorted(candidates, key=lambda c: (c.source.unit is not None, _position(c)))
        if not self._clashes and not self._renders:
            return list(candidates)  # one variant of everything, no renders: all visible, each key once
        own = src.variant
        folder = src.folder
        rivals: set[str | None] | None = None
        ranked: list[tuple[tuple[Any, ...], K8sObject]] = []
        for c in candidates:
            cs = c.source
            if cs.variant == own:
                ranked.append(((0, -self._ordinal.get(id(c), 0)), c))
                continue
            if cs.unit is not None:
                continue  # another render: never
            if rivals is None:
                rivals = self._rival_map().get(own, set())
            if cs.variant in rivals:
                continue
            if cs.file is None:  # the cluster
                ranked.append(((1 if folder is None else 4, 0, "", -self._ordinal.get(id(c), 0)), c))
                continue
            cfolder = cs.folder or "."
            if folder is None:
                ranked.append(((2, 0, cs.file, -self._ordinal.get(id(c), 0)), c))
            elif _is_ancestor(cfolder, folder):
                ranked.append(((2, -_depth(cfolder), cs.file, -self._ordinal.get(id(c), 0)), c))
            else:
                ranked.append(((3, -_shared(cfolder, folder), cs.file, -self._ordinal.get(id(c), 0)), c))
        ranked.sort(key=lambda t: t[0])
        return [c for _, c in ranked]

    def sees(self, origin: K8sObject | Source | None, obj: K8sObject) -> bool:
        """Whether a lookup from ``origin`` may resolve to ``obj`` (see :meth:`visible`)."""
        return bool(self.visible(origin, (obj,)))

    def _rival_map(self) -> dict[str | None, set[str | None]]:
        """Variants that declare one object differently: alternatives, never looked up across."""
        if self._rivals is None:
            rivals: dict[str | None, set[str | None]] = {}
            for copies in self._index.values():
                if len(copies) < 2:
                    continue
                last: dict[str | None, K8sObject] = {}
                for c in sorted(copies, key=_position):
                    last[c.source.variant] = c
                if len(last) < 2:
                    continue
                items = list(last.items())
                for i, (va, a) in enumerate(items):
                    for vb, b in items[i + 1:]:
                        if a.raw != b.raw:
                            rivals.setdefault(va, set()).add(vb)
                            rivals.setdefault(vb, set()).add(va)
            self._rivals = rivals
        return self._rivals

    def variants(self) -> int:
        """How many objects share their kind/namespace/name with another variant (ids carry ``@variant``)."""
        return sum(len(c) for c in self._index.values()
                   if len(c) > 1 and len({o.source.variant for o in c}) > 1)

    def by_id(self, ident: str) -> K8sObject | None:
        """The object whose :attr:`K8sObject.id` is ``ident``."""
        return self._by_id.get(ident)

    # -- lookups ---------------------------------------------------------
    def of_kind(self, *kinds: str) -> list[K8sObject]:
        """All objects of these kinds, in scope or not, in input order."""
        self.ensure(*kinds)
        # "Certificate.cert-manager.io" names the group for discovery; objects carry the bare kind.
        bare = [k.split(".", 1)[0] for k in kinds]
        if len(bare) == 1:
            return list(self._by_kind.get(bare[0], ()))
        return [o for o in self.objects if o.kind in bare]

    def get(self, kind: str, namespace: str | None, name: str, *,
            origin: K8sObject | Source | None = None) -> K8sObject | None:
        """The object ``kind namespace/name`` as seen from ``origin`` (:meth:`visible`; None: any, nearest)."""
        self.ensure(kind)
        copies = self._index.get((kind, namespace, name))
        if not copies:
            return None
        if len(copies) == 1 and origin is None:
            return copies[0]
        found = self.visible(origin, copies)
        return found[0] if found else None

    def kinds(self) -> dict[str, int]:
        return {k: len(v) for k, v in sorted(self._by_kind.items())}

    def in_namespace(self, kind: str, namespace: str, *, fetch: bool = True,
                     origin: K8sObject | Source | None = None) -> list[K8sObject]:
        """Objects of ``kind`` in ``namespace``; ``fetch=False``: only those already read.

        With ``origin``: those it sees (:meth:`visible`), one per name (the
        nearest), in input order.
        """
        if fetch:
            self.ensure(kind)
        found = [o for o in self._by_kind.get(kind, ()) if o.namespace == namespace]
        if origin is None or (not self._clashes and not self._renders):
            return found
        nearest: dict[str, K8sObject] = {}
        for o in self.visible(origin, found):
            nearest.setdefault(o.name, o)
        keep = {id(o) for o in nearest.values()}
        return sorted((o for o in found if id(o) in keep), key=_position)

    # -- owners ------------------------------------------------------------
    def owner_of(self, obj: K8sObject) -> K8sObject | None:
        """The object's controlling owner, when it is really in the inventory.

        The owner must be of the same variant, not ``obj`` itself, and carry
        the uid the reference names when both have one: nothing is taken on
        what an object says about itself.
        """
        return self._owner(obj)[0]

    def _owner(self, obj: K8sObject) -> tuple[K8sObject | None, str | None]:
        """(owner, None), or (None, why the claimed owner is not accepted); (None, None): no claim."""
        refs = obj.metadata.get("ownerReferences")
        ctrl = [r for r in refs if isinstance(r, dict) and r.get("controller") is True] \
            if isinstance(refs, list) else []
        if not ctrl:
            return None, None
        ref = ctrl[0]
        kind, name, uid = ref.get("kind"), ref.get("name"), ref.get("uid")
        if not isinstance(kind, str) or not isinstance(name, str) or not name:
            return None, "its controller reference names no kind and name"
        if kind == obj.kind and name == obj.name:
            return None, "its controller reference names itself"
        copies = [c for c in self._index.get((kind, obj.namespace, name), ())
                  if c.source.variant == obj.source.variant and c is not obj]
        if not copies:
            return None, f"its owner {kind} {name} is not among the inputs" + \
                (" of the same variant" if self._index.get((kind, obj.namespace, name)) else "")
        owner = max(copies, key=lambda c: self._ordinal.get(id(c), 0))
        if isinstance(uid, str) and uid and owner.uid and uid != owner.uid:
            return None, f"its owner reference's uid {uid} is not the uid of {kind} {name}"
        if owner.uid and owner.uid == obj.uid:
            return None, "its controller reference names itself"
        return owner, None

    def top_owner(self, obj: K8sObject) -> K8sObject:
        """Follow controlling owners up to the top (Pod -> ReplicaSet -> Deployment)."""
        seen = {id(obj)}
        while (owner := self.owner_of(obj)) is not None and id(owner) not in seen:
            seen.add(id(owner))
            obj = owner
        return obj

    def _checked_on(self, obj: K8sObject) -> tuple[K8sObject | None, str | None]:
        """The owner ``obj`` is checked on, or (None, why not) when it is checked itself."""
        if obj.kind not in WORKLOAD_KINDS:
            return None, None
        owner, why = self._owner(obj)
        if owner is None:
            return None, why
        if owner.kind not in WORKLOAD_KINDS:
            return None, f"its owner is a {owner.kind}, not a workload"
        seen = {id(obj)}
        node: K8sObject | None = owner
        while node is not None:  # a cycle of owners: nobody at the top is checked
            if id(node) in seen:
                return None, "its owners form a cycle"
            seen.add(id(node))
            node = self._owner(node)[0]
        differs = template_differs(obj, owner)
        if differs:
            return None, f"its pod spec differs from the template of its owner {owner.kind} {owner.name} ({differs})"
        return owner, None

    @property
    def owners(self) -> OwnerReport:
        """Which objects were checked on their owners, and which claimed one in vain.

        Reads nothing more from a live cluster: the report of the workloads built so far.
        """
        if self._workloads is None and self.fetch is None:
            self.all_workloads()
        return self._owners

    # -- scoped views ----------------------------------------------------
    def all_workloads(self) -> list[Workload]:
        """Every workload, in or out of scope, except those checked on their owner.

        A Pod (ReplicaSet, Job) whose controlling owner is in the inventory
        (same variant, matching uid, no cycle) and whose pod spec matches the
        owner's template on every field a check reads is checked once, on the
        owner (a Deployment's ReplicaSets and their Pods, on the Deployment).
        Any other object is checked itself, whatever its ownerReferences say.
        """
        self.ensure(*WORKLOAD_KINDS)
        if self._workloads is None:
            report = OwnerReport()
            result = []
            for obj in self.objects:
                if obj.kind not in WORKLOAD_KINDS:
                    continue
                try:
                    owner, why = self._checked_on(obj)
                except InvalidObject as exc:
                    raise InvalidObject(f"{obj.source.describe()}: {obj.kind} {obj.ref}: {exc}") from None
                if owner is not None:
                    report.on_owner[obj.kind] = report.on_owner.get(obj.kind, 0) + 1
                    continue
                if why is not None:
                    report.refused.append((obj.ref, why))
                try:
                    result.append(Workload(obj, self))
                except InvalidObject as exc:
                    raise InvalidObject(f"{obj.source.describe()}: {obj.kind} {obj.ref}: {exc}") from None
            self._workloads = result
            self._owners = report
        return self._workloads

    def workloads(self, *, ignore_system_default: bool = False) -> list[Workload]:
        """The workloads in scope (computed once: every parametrized test asks)."""
        every, scope = self.all_workloads(), self.scope
        cached = self._scoped.get(ignore_system_default)
        if cached is None or cached[0] is not every or cached[1] is not scope:
            cached = self._scoped[ignore_system_default] = (every, scope, [
                w for w in every if scope.contains(w.namespace, ignore_system_default=ignore_system_default)])
        return list(cached[2])

    def containers(self, *, ignore_system_default: bool = False) -> Iterator[Container]:
        for w in self.workloads(ignore_system_default=ignore_system_default):
            yield from w.containers

    def objects_in_scope(self, kinds: Iterable[str] | None = None, *,
                         ignore_system_default: bool = False) -> list[K8sObject]:
        if kinds is None:
            self.ensure(*self.default_kinds)
            pool = self.objects
        else:
            pool = self.of_kind(*kinds)
        return [o for o in pool if self.scope.contains(o.namespace, ignore_system_default=ignore_system_default)]

    @property
    def is_cluster(self) -> bool:
        """Does the input show a cluster, rather than an application's manifests?

        True for a live scan, for a snapshot written by ``--k8s-save-snapshot``
        (it records what was listed), and for objects read back from an API
        server (``kubectl get -o yaml``), which carry ``metadata.uid`` or
        ``metadata.resourceVersion``: every object of the input must, so one
        application manifest among them makes the input an application's.
        Cluster-level controls judge only a cluster; on application manifests
        they skip, saying why.
        """
        if self.fetch is not None or self._fetched:
            return True
        key = len(self.objects)
        if self._cluster_read is None or self._cluster_read[0] != key:
            read_back = bool(self.objects) and all(
                o.metadata.get("uid") or o.metadata.get("resourceVersion") for o in self.objects)
            self._cluster_read = (key, read_back)
        return self._cluster_read[1]

    def namespaces(self, *, ignore_system_default: bool = False) -> list[Namespace]:
        """The namespaces to judge, in scope, each once per variant that sets it up differently.

        On a cluster (:attr:`is_cluster`), every namespace it shows. On an
        application's manifests, the namespaces the application owns: those
        a Namespace object declares, and those it runs workloads in or sets
        NetworkPolicies, LimitRanges or ResourceQuotas for. A namespace only
        named by other objects (a RoleBinding in ``default``, a Role in
        ``kube-system`` for leader election, a ConfigMap) belongs to the
        cluster, and is not judged as if the application owned it.

        A namespace is one view (id ``shop``) unless it is declared by a
        Namespace object in several variants, or used by several renders:
        then there is one view per declaring variant (``shop@overlays/prod``),
        one per render that uses it without declaring it, and one for the
        plain files and cluster objects that use it, when no plain file
        declares it. Each view's lookups start from its variant.
        """
        # Live: a namespace can be known only from its objects (a Pod's metadata.namespace), so every
        # default kind is read first; otherwise the list depends on what happened to be read already
        # (serial runs and xdist workers, whose snapshot holds every default kind, would differ).
        self.ensure("Namespace", *self.default_kinds)
        users = self._namespace_users()
        owned = users[3] if self.is_cluster else users[4]
        out: list[Namespace] = []
        for name in sorted({o.name for o in self._by_kind.get("Namespace", ())} | set(owned)):
            if self.scope.contains(name, ignore_system_default=ignore_system_default):
                out.extend(self.namespace_views(name))
        return out

    def namespace_views(self, name: str) -> list[Namespace]:
        """The views of namespace ``name`` (see :meth:`namespaces`), in or out of scope."""
        users = self._namespace_users()
        renders, plain = users[1].get(name, set()), name in users[2]
        first = users[3] if self.is_cluster else users[4]

        def named_at(unit: str | None) -> Source | None:
            return first.get(name, {}).get(unit) or next(iter(first.get(name, {}).values()), None)

        declared: dict[str | None, K8sObject] = {}
        for o in sorted(self._index.get(("Namespace", None, name), ()), key=_position):
            declared[o.source.variant] = o  # the later copy of one variant
        if not declared and len(renders) <= 1:
            unit = next(iter(renders), None)
            return [Namespace(name, None, Source(None, unit=unit), source=named_at(unit))]
        views = [Namespace(name, o, o.source, source=o.source) for o in declared.values()]
        views += [Namespace(name, None, Source(None, unit=unit), source=named_at(unit))
                  for unit in sorted(renders) if unit not in declared]
        if plain and not any(o.source.unit is None for o in declared.values()):
            views.append(Namespace(name, None, Source(None), source=named_at(None)))
        if len(views) > 1:
            for v in views:
                if v.obj is not None or (v.origin is not None and v.origin.unit):
                    v.variant = v.origin.label if v.origin is not None else None
        return views

    def _namespace_users(self) -> tuple[int, dict[str, set[str]], set[str], dict[str, dict[str | None, Source]],
                                        dict[str, dict[str | None, Source]]]:
        """Per namespace: the renders with objects in it, whether plain files or the cluster have any, and
        where each render (None: plain files) first names it, by any object and by an owning one."""
        if self._ns_users is None or self._ns_users[0] != len(self.objects):
            renders: dict[str, set[str]] = {}
            plain: set[str] = set()
            any_first: dict[str, dict[str | None, Source]] = {}
            owning_first: dict[str, dict[str | None, Source]] = {}
            for o in self.objects:
                if o.namespace:
                    unit = o.source.unit
                    if unit:
                        renders.setdefault(o.namespace, set()).add(unit)
                    else:
                        plain.add(o.namespace)
                    any_first.setdefault(o.namespace, {}).setdefault(unit, o.source)
                    if o.kind in NAMESPACE_OWNING_KINDS:
                        owning_first.setdefault(o.namespace, {}).setdefault(unit, o.source)
            self._ns_users = (len(self.objects), renders, plain, any_first, owning_first)
        return self._ns_users

    def namespace_of(self, obj: K8sObject) -> Namespace | None:
        """The namespace ``obj`` lives in, as ``obj`` sees it (its declaration, lookups from ``obj``)."""
        if obj.namespace is None:
            return None
        declared = self.get("Namespace", None, obj.namespace, origin=obj)
        return Namespace(obj.namespace, declared, obj.source, source=declared.source if declared else obj.source)

    def out_of_scope(self) -> dict[str, int]:
        """Namespaced objects left out, counted by namespace."""
        counts: dict[str, int] = {}
        for o in self.objects:
            if o.namespace and not self.scope.contains(o.namespace):
                counts[o.namespace] = counts.get(o.namespace, 0) + 1
        return dict(sorted(counts.items()))

    def service_account(self, namespace: str, name: str, *,
                        origin: K8sObject | Source | None = None) -> K8sObject | None:
        return self.get("ServiceAccount", namespace, name, origin=origin)


@dataclass
class OwnerReport:
    """What :meth:`Inventory.all_workloads` did with ownerReferences, for the summary."""

    on_owner: dict[str, int] = field(default_factory=dict)  # kind -> objects checked on their owner
    refused: list[tuple[str, str]] = field(default_factory=list)  # (id, why) checked themselves despite a claim

    def as_dict(self, limit: int = 50) -> dict[str, Any]:
        return {"checked_on_owner": dict(sorted(self.on_owner.items())),
                "owner_refused_count": len(self.refused),
                "owner_refused": [{"id": i, "reason": r} for i, r in self.refused[:limit]]}


def _position(obj: K8sObject) -> tuple[str, int, int]:
    s = obj.source
    return (s.file or "", s.document or 0, s.line or 0)


def _parts(folder: str) -> list[str]:
    return [] if folder in ("", ".") else folder.split(os.sep)


def _is_ancestor(folder: str, of: str) -> bool:
    a, b = _parts(folder), _parts(of)
    return b[:len(a)] == a


def _depth(folder: str) -> int:
    return len(_parts(folder))


def _shared(a: str, b: str) -> int:
    n = 0
    for x, y in zip(_parts(a), _parts(b)):
        if x != y:
            break
        n += 1
    return n


# -- does a pod match its owner's template? ---------------------------------------------
#: Labels controllers add to the pods (and ReplicaSets, Jobs) they make.
_CONTROLLER_LABELS = frozenset({
    "pod-template-hash", "controller-revision-hash", "pod-template-generation",
    "statefulset.kubernetes.io/pod-name", "apps.kubernetes.io/pod-index",
    "job-name", "controller-uid", "batch.kubernetes.io/job-name", "batch.kubernetes.io/controller-uid",
    "batch.kubernetes.io/job-completion-index", "batch.kubernetes.io/job-index",
})
#: Annotations the checks read (AppArmor, seccomp): they must match; others (CNI, webhooks' notes) may differ.
_READ_ANNOTATIONS = ("container.apparmor.security.beta.kubernetes.io/", "seccomp.security.alpha.kubernetes.io/",
                     "container.seccomp.security.alpha.kubernetes.io/")
#: Pod spec fields no check reads that the scheduler, admission or a controller sets on a pod.
_ADDED_SPEC_FIELDS = ("nodeName", "priority", "preemptionPolicy", "tolerations", "affinity", "schedulerName",
                      "dnsPolicy", "enableServiceLinks", "terminationGracePeriodSeconds", "restartPolicy",
                      "hostname", "subdomain", "overhead")
_SA_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"


def template_differs(child: K8sObject, owner: K8sObject) -> str | None:
    """Where ``child``'s pod (a Pod's spec, a ReplicaSet's template) differs from ``owner``'s template.

    Compared: the pod spec on every field a check reads, the labels (beyond
    those controllers add) and the AppArmor/seccomp annotations. Ignored:
    what the scheduler, admission and controllers add to a pod (nodeName,
    tolerations, priority, the service-account token volume, defaults).
    None when they match; a field path when not.
    """
    c_meta, c_spec = _template(child)
    o_meta, o_spec = _template(owner)
    if not isinstance(c_spec, dict) or not isinstance(o_spec, dict):
        return "spec"
    c_labels, o_labels = mapping(c_meta.get("labels")), mapping(o_meta.get("labels"))
    for key in sorted(set(c_labels) | set(o_labels)):
        if c_labels.get(key) != o_labels.get(key) and not (key in _CONTROLLER_LABELS and key not in o_labels):
            return f"metadata.labels[{key}]"
    c_ann, o_ann = mapping(c_meta.get("annotations")), mapping(o_meta.get("annotations"))
    for key in sorted(set(c_ann) | set(o_ann)):
        if key.startswith(_READ_ANNOTATIONS) and c_ann.get(key) != o_ann.get(key):
            return f"metadata.annotations[{key}]"
    a, b = _normal_spec(c_spec), _normal_spec(o_spec)
    _drop_defaulted_resources(a, b)
    if a == b:
        return None
    for key in sorted(set(a) | set(b)):
        if a.get(key) != b.get(key):
            return f"spec.{key}"
    return "spec"  # pragma: no cover - unequal mappings differ at some key


def _drop_defaulted_resources(pod: dict[str, Any], template: dict[str, Any]) -> None:
    """Forget requests and limits the pod has and the template lacks: the LimitRanger admission plugin adds
    them (from a LimitRange that the resource checks consult for the template too)."""
    for list_name in ("initContainers", "containers", "ephemeralContainers"):
        mine, theirs = pod.get(list_name), template.get(list_name)
        if not isinstance(mine, list) or not isinstance(theirs, list) or len(mine) != len(theirs):
            continue
        for c, t in zip(mine, theirs):
            if not isinstance(c, dict) or not isinstance(t, dict) or c.get("name") != t.get("name"):
                continue
            res, tres = c.get("resources"), mapping(t.get("resources"))
            if not isinstance(res, dict):
                continue
            kept = {}
            for key, values in res.items():
                if key in ("limits", "requests") and isinstance(values, dict):
                    values = {k: v for k, v in values.items() if k in mapping(tres.get(key))}
                if values not in (None, {}, []):
                    kept[key] = values
            if kept:
                c["resources"] = kept
            else:
                c.pop("resources", None)


def _template(obj: K8sObject) -> tuple[Mapping[str, Any], Any]:
    path = WORKLOAD_KINDS[obj.kind]
    if obj.kind == "Pod":
        return mapping(obj.raw.get("metadata")), obj.raw.get("spec") or {}
    meta = _dig(obj.raw, path[:-1] + ("metadata",))
    spec = _dig(obj.raw, path)
    return mapping(meta), {} if spec is None else spec


def _normal_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """A pod spec without what the cluster adds to a pod, and without empty values and defaults."""
    out = {k: v for k, v in spec.items() if k not in _ADDED_SPEC_FIELDS}
    sa = out.pop("serviceAccount", None)
    if sa and not out.get("serviceAccountName"):
        out["serviceAccountName"] = sa
    if out.get("serviceAccountName") == "default":
        del out["serviceAccountName"]
    token_volumes = set()
    vols = out.get("volumes")
    if isinstance(vols, list):
        keep = []
        for v in vols:
            if isinstance(v, dict) and _is_token_volume(v):
                token_volumes.add(v.get("name"))
            else:
                keep.append(v)
        out["volumes"] = keep
    for list_name in ("initContainers", "containers", "ephemeralContainers"):
        items = out.get(list_name)
        if isinstance(items, list):
            out[list_name] = [_normal_container(c, token_volumes) if isinstance(c, dict) else c for c in items]
    return _prune(out)


def _is_token_volume(v: dict[str, Any]) -> bool:
    """The service-account token volume admission adds (``kube-api-access-*``, or a legacy token Secret)."""
    name = str(v.get("name") or "")
    if name.startswith("kube-api-access-") and set(v) == {"name", "projected"}:
        sources = mapping(v["projected"]).get("sources")
        return isinstance(sources, list) and all(
            isinstance(s, dict) and set(s) <= {"serviceAccountToken", "configMap", "downwardAPI"} for s in sources)
    secret = mapping(v.get("secret"))
    return set(v) == {"name", "secret"} and "-token-" in name and secret.get("secretName") == name


def _normal_container(c: dict[str, Any], token_volumes: set[Any]) -> dict[str, Any]:
    out = dict(c)
    if out.get("terminationMessagePath") == "/dev/termination-log":
        del out["terminationMessagePath"]
    if out.get("terminationMessagePolicy") == "File":
        del out["terminationMessagePolicy"]
    if "imagePullPolicy" in out:
        image = Image.parse(str(out.get("image") or ""))
        default = "Always" if not image.digest and image.tag in (None, "latest") else "IfNotPresent"
        if out["imagePullPolicy"] == default:
            del out["imagePullPolicy"]
    mounts = out.get("volumeMounts")
    if isinstance(mounts, list):
        out["volumeMounts"] = [m for m in mounts if not (isinstance(m, dict) and m.get("name") in token_volumes
                                                         and m.get("mountPath") == _SA_MOUNT)]
    ports = out.get("ports")
    if isinstance(ports, list):
        out["ports"] = [{"protocol": "TCP", **p} if isinstance(p, dict) else p for p in ports]
    return out


def _prune(value: Any) -> Any:
    """Drop empty mappings, lists and nulls (the same to every check as an absent field)."""
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def mapping(value: Any) -> Mapping[str, Any]:
    """``value`` if it is a mapping, else an empty one (for optional fields)."""
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True, slots=True)
class Image:
    """A container image reference, split the way a registry reads it.

    >>> Image.parse("nginx")
    Image(registry='docker.io', repository='library/nginx', tag=None, digest=None)
    >>> Image.parse("ghcr.io/acme/api:1.4@sha256:abc").tag
    '1.4'
    """

    registry: str
    repository: str
    tag: str | None
    digest: str | None

    @classmethod
    def parse(cls, ref: str) -> Image:
        rest, _, digest = ref.partition("@")
        name, tag = rest, None
        slash = rest.rfind("/")
        colon = rest.rfind(":")
        if colon > slash:
            name, tag = rest[:colon], rest[colon + 1:]
        first, _, remainder = name.partition("/")
        if remainder and ("." in first or ":" in first or first == "localhost"):
            registry, repository = first, remainder
        else:
            registry, repository = "docker.io", name
        if registry == "docker.io" and "/" not in repository:
            repository = f"library/{repository}"
        return cls(registry, repository, tag or None, digest or None)

    @property
    def pinned(self) -> bool:
        """Pinned to a content digest: the bytes cannot change under the same reference."""
        return self.digest is not None

    def __str__(self) -> str:
        out = f"{self.registry}/{self.repository}"
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out
