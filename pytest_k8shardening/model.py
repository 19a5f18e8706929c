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
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "CLUSTER_SCOPED_KINDS",
    "SYSTEM_NAMESPACES",
    "WORKLOAD_KINDS",
    "Container",
    "ContainerType",
    "Image",
    "InvalidObject",
    "Inventory",
    "K8sObject",
    "Namespace",
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
    }
)

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

    __slots__ = ("raw", "source", "kind", "api_version", "name", "namespace", "_ref")

    def __init__(self, raw: dict[str, Any], source: Source) -> None:
        self.raw = raw
        self.source = source
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
        """``namespace/Kind/name`` (``Kind/name`` when cluster-scoped): the test id."""
        return self._ref

    @property
    def id(self) -> str:
        return self._ref

    def describe(self) -> str:
        return f"{self.kind} {self.namespace + '/' if self.namespace else ''}{self.name}"

    @property
    def uid(self) -> str | None:
        return self.raw["metadata"].get("uid")

    def resource(self) -> dict[str, Any]:
        """The resource block of a result entry."""
        return {
            "apiVersion": self.api_version,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "container": None,
            "file": self.source.file,
            "line": self.source.line,
        }

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

    __slots__ = ("obj", "pod_spec", "pod_meta", "spec_path", "containers", "inventory")

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
        self.containers: list[Container] = []
        for list_name, ctype in _CONTAINER_LISTS:
            items = node.get(list_name) or []
            if not isinstance(items, list):
                raise InvalidObject(f"{self.spec_path}.{list_name} must be a list")
            for index, c in enumerate(items):
                self.containers.append(Container(self, c, ctype, list_name, index))

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
        res = self.workload.obj.resource()
        res["container"] = self.name
        res["containerType"] = self.type
        return res

    def describe(self) -> str:
        return f'{self.workload.describe()}, {self.type} "{self.name}"'

    def __repr__(self) -> str:
        return f"<Container {self.id}>"


@dataclass(slots=True)
class Namespace:
    """A namespace in scope: declared by a Namespace object, or used by objects."""

    name: str
    obj: K8sObject | None = None

    @property
    def id(self) -> str:
        return self.name

    @property
    def labels(self) -> dict[str, str]:
        return self.obj.labels if self.obj else {}

    def resource(self) -> dict[str, Any]:
        if self.obj is not None:
            return self.obj.resource()
        return {"apiVersion": "v1", "kind": "Namespace", "namespace": None, "name": self.name,
                "container": None, "file": None, "line": None}

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
        self._index: dict[tuple[str, str | None, str], K8sObject] = {}
        self._workloads: list[Workload] | None = None
        self._scoped: dict[bool, tuple[list[Workload], Scope, list[Workload]]] = {}
        for obj in objects:
            if obj.kind == STATUS_KIND:
                self._unavailable.update(obj.raw.get("unavailable") or {})
                self._fetched.update(obj.raw.get("fetched") or ())
                continue
            self._add(obj)

    def _add(self, obj: K8sObject) -> None:
        self.objects.append(obj)
        self._by_kind.setdefault(obj.kind, []).append(obj)
        self._index.setdefault((obj.kind, obj.namespace, obj.name), obj)
        if obj.kind in WORKLOAD_KINDS:
            self._workloads = None

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

    # -- lookups ---------------------------------------------------------
    def of_kind(self, *kinds: str) -> list[K8sObject]:
        """All objects of these kinds, in scope or not, in input order."""
        self.ensure(*kinds)
        # "Certificate.cert-manager.io" names the group for discovery; objects carry the bare kind.
        bare = [k.split(".", 1)[0] for k in kinds]
        if len(bare) == 1:
            return list(self._by_kind.get(bare[0], ()))
        return [o for o in self.objects if o.kind in bare]

    def get(self, kind: str, namespace: str | None, name: str) -> K8sObject | None:
        self.ensure(kind)
        return self._index.get((kind, namespace, name))

    def kinds(self) -> dict[str, int]:
        return {k: len(v) for k, v in sorted(self._by_kind.items())}

    def in_namespace(self, kind: str, namespace: str, *, fetch: bool = True) -> list[K8sObject]:
        """Objects of ``kind`` in ``namespace``; ``fetch=False``: only those already read."""
        if fetch:
            self.ensure(kind)
        return [o for o in self._by_kind.get(kind, ()) if o.namespace == namespace]

    # -- scoped views ----------------------------------------------------
    def all_workloads(self) -> list[Workload]:
        """Every workload, in or out of scope, except those whose controlling
        owner is a workload in the inventory (a Deployment's ReplicaSets and
        their Pods are checked once, on the Deployment)."""
        self.ensure(*WORKLOAD_KINDS)
        if self._workloads is None:
            owners = {o.uid: o.kind for o in self.objects if o.uid and o.kind in WORKLOAD_KINDS}
            result = []
            for obj in self.objects:
                if obj.kind in WORKLOAD_KINDS and not self._owned_by_known(obj, owners):
                    try:
                        result.append(Workload(obj, self))
                    except InvalidObject as exc:
                        raise InvalidObject(f"{obj.source.describe()}: {obj.kind} {obj.ref}: {exc}") from None
            self._workloads = result
        return self._workloads

    def _owned_by_known(self, obj: K8sObject, owners: dict[str, str]) -> bool:
        for ref in obj.metadata.get("ownerReferences") or ():
            if not isinstance(ref, dict) or not ref.get("controller") or ref.get("kind") not in WORKLOAD_KINDS:
                continue  # a static pod's owner is its Node: it is checked as itself
            if ref.get("uid") in owners:
                return True
            if self._index.get((ref["kind"], obj.namespace, ref.get("name", ""))):
                return True
        return False

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

    def namespaces(self, *, ignore_system_default: bool = False) -> list[Namespace]:
        # Live: a namespace can be known only from its objects (a Pod's metadata.namespace), so every
        # default kind is read first; otherwise the list depends on what happened to be read already
        # (serial runs and xdist workers, whose snapshot holds every default kind, would differ).
        self.ensure("Namespace", *self.default_kinds)
        declared = {o.name: o for o in self._by_kind.get("Namespace", ())}
        names = set(declared) | {o.namespace for o in self.objects if o.namespace}
        return [Namespace(n, declared.get(n)) for n in sorted(names)
                if self.scope.contains(n, ignore_system_default=ignore_system_default)]

    def out_of_scope(self) -> dict[str, int]:
        """Namespaced objects left out, counted by namespace."""
        counts: dict[str, int] = {}
        for o in self.objects:
            if o.namespace and not self.scope.contains(o.namespace):
                counts[o.namespace] = counts.get(o.namespace, 0) + 1
        return dict(sorted(counts.items()))

    def service_account(self, namespace: str, name: str) -> K8sObject | None:
        return self.get("ServiceAccount", namespace, name)

    def owner_of(self, obj: K8sObject) -> K8sObject | None:
        """The object's controlling owner, when it is in the inventory (a Pod's ReplicaSet, say)."""
        for ref in obj.metadata.get("ownerReferences") or ():
            if isinstance(ref, dict) and ref.get("controller"):
                return self.get(str(ref.get("kind")), obj.namespace, str(ref.get("name", "")))
        return None

    def top_owner(self, obj: K8sObject) -> K8sObject:
        """Follow controlling owners up to the top (Pod -> ReplicaSet -> Deployment)."""
        seen = {id(obj)}
        while (owner := self.owner_of(obj)) is not None and id(owner) not in seen:
            seen.add(id(owner))
            obj = owner
        return obj


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
