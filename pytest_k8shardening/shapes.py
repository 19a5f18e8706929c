"""The shapes of the fields the checks read, refused when wrong as the API server refuses them.

The API server decodes every object into typed structs: ``rules`` given as
a mapping, ``ports: {containerPort: 80}``, ``capabilities.add: [{name:
SYS_ADMIN}]`` or ``privileged: "true"`` never reach a cluster. The checks
read objects as written, so such a field would be read as unset (a silent
pass: a ``volumes`` mapping hides a runtime-socket hostPath) or crash a
check. Every field a check reads is declared here with its API type, and
:func:`validate_object` refuses an object whose field has another type, with
an :class:`~pytest_k8shardening.model.InvalidObject` naming the field; the
loader adds the file and the object, and the run stops with a usage error
(exit status 4), for the NSA and the PSS suites alike.

Accepted as the API server accepts them: ``null`` for any optional field
(read as unset), int-or-string ports, quantities written as numbers or
strings, and any field no check reads. Refused as it refuses them: a
mapping where a list belongs and the reverse, a number, boolean or date
where a string belongs (``value: 5`` in ``env``; quote it), a boolean or
fraction where an integer belongs, an integer past the field's range, a
``null`` item in a list of objects or strings. Only types are checked, never
values: a ``hostPort: -1`` is an integer, and is judged by the checks as
upstream judges it.

Custom resources are checked only where a check reads them (Kyverno
policies' ``spec.rules``); ``NetworkPolicy`` only in the ``networking.k8s.io``
and ``extensions`` groups (Calico's and Antrea's kinds of that name have other
schemas).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping
from typing import Any

from .model import VOLUME_SOURCES, WORKLOAD_KINDS, InvalidObject

__all__ = ["KIND_SHAPES", "POD_SPEC", "check", "validate_metadata", "validate_object", "validate_pod_meta",
           "validate_pod_spec"]

# A shape is a function (value) -> None that raises _Bad; the path of the bad field is put
# together only when one is found (building it for every valid field costs more than the check).
Shape = Callable[[Any], None]

_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)


class _Bad(Exception):
    """A field of the wrong shape: ``problem`` (``must be a list, not a mapping``), and the path
    segments from the field up to where the check started, innermost first."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.parts: list[str] = []


def _run(shape: Shape, value: Any, path: str) -> None:
    """Check ``value`` (found at JSON path ``path``) against ``shape``; raise InvalidObject naming the field."""
    try:
        shape(value)
    except _Bad as bad:
        where = path + "".join(reversed(bad.parts))
        raise InvalidObject(f"{where.lstrip('.')} {bad.problem}") from None


def _what(value: Any) -> str:
    """How a wrong value is named in a message (never a long dump of it)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, (_dt.date, _dt.datetime)):
        return f"the date {value.isoformat()} (quote it to make it a string)"
    if isinstance(value, int):
        text = str(value) if value.bit_length() < 64 else "a very large integer"
        return f"the number {text}"
    if isinstance(value, float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    return type(value).__name__


def _fail(expected: str, value: Any) -> _Bad:
    return _Bad(f"must be {expected}, not {_what(value)}")


def Str(value: Any) -> None:
    if value is not None and not isinstance(value, str):
        raise _fail("a string", value)


def Bool(value: Any) -> None:
    if value is not None and not isinstance(value, bool):
        raise _fail("true or false", value)


def _int(bounds: tuple[int, int], expected: str) -> Shape:
    low, high = bounds

    def shape(value: Any) -> None:
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(expected, value)
        if not low <= value <= high:
            raise _Bad(f"must be {expected}, and {_what(value)} is out of its range")
    return shape


Int32 = _int(_INT32, "an integer")
Int64 = _int(_INT64, "an integer")


def IntOrStr(value: Any) -> None:
    """A port: a number, or the name of a container port."""
    if value is None or isinstance(value, str):
        return
    Int32(value)


def Quantity(value: Any) -> None:
    """A resource quantity: ``500m``, ``1Gi``, or a plain number."""
    if value is None or isinstance(value, str):
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail("a quantity (a number or a string such as 500m or 1Gi)", value)


def Anything(value: Any) -> None:
    """A field whose content no check reads beyond its presence."""


def List(item: Shape) -> Shape:
    def shape(value: Any) -> None:
        if value is None:
            return
        if not isinstance(value, list):
            raise _fail("a list", value)
        for i, x in enumerate(value):
            try:
                if x is None:
                    raise _Bad("is null (the API server refuses a null item)")
                item(x)
            except _Bad as bad:
                bad.parts.append(f"[{i}]")
                raise
    return shape


def Dict(value_shape: Shape) -> Shape:
    """A mapping of names to values of one shape (labels, ConfigMap data, resource lists)."""
    def shape(value: Any) -> None:
        if value is None:
            return
        if not isinstance(value, dict):
            raise _fail("a mapping", value)
        for key, v in value.items():
            if not isinstance(key, str):
                raise _Bad(f"has the key {_what(key)}, which must be a string")
            try:
                value_shape(v)
            except _Bad as bad:
                bad.parts.append(f"[{key}]")
                raise
    return shape


def Map(**fields: Shape) -> Shape:
    """An object: the declared fields are checked, the others are left alone."""
    def shape(value: Any) -> None:
        if value is None:
            return
        if not isinstance(value, dict):
            raise _fail("a mapping", value)
        for key, v in value.items():  # the keys written: usually far fewer than those declared
            if v is not None and (field_shape := fields.get(key)) is not None:
                try:
                    field_shape(v)
                except _Bad as bad:
                    bad.parts.append(f".{key}")
                    raise
    return shape


def _renamed(**fields: Shape) -> dict[str, Shape]:
    """Fields whose Python names are keywords (``from``, ``except``): given with a trailing ``_``."""
    return {k.rstrip("_"): v for k, v in fields.items()}


# ----------------------------------------------------------------- pods
_PROFILE = Map(type=Str, localhostProfile=Str)
_CONTAINER_SC = Map(
    privileged=Bool, allowPrivilegeEscalation=Bool, readOnlyRootFilesystem=Bool, runAsNonRoot=Bool,
    runAsUser=Int64, runAsGroup=Int64, procMount=Str,
    capabilities=Map(add=List(Str), drop=List(Str)),
    seccompProfile=_PROFILE, appArmorProfile=_PROFILE,
    seLinuxOptions=Map(type=Str, user=Str, role=Str, level=Str),
    windowsOptions=Map(hostProcess=Bool, runAsUserName=Str),
)
_POD_SC = Map(
    runAsNonRoot=Bool, runAsUser=Int64, runAsGroup=Int64, fsGroup=Int64, supplementalGroups=List(Int64),
    sysctls=List(Map(name=Str, value=Str)),
    seccompProfile=_PROFILE, appArmorProfile=_PROFILE,
    seLinuxOptions=Map(type=Str, user=Str, role=Str, level=Str),
    windowsOptions=Map(hostProcess=Bool, runAsUserName=Str),
)
_ACTION = Map(httpGet=Map(host=Str, port=IntOrStr, path=Str, scheme=Str),
              tcpSocket=Map(host=Str, port=IntOrStr), exec=Map(command=List(Str)))
_RESOURCES = Map(limits=Dict(Quantity), requests=Dict(Quantity))
_KEY_REF = Map(name=Str, key=Str)
CONTAINER = Map(
    name=Str, image=Str, command=List(Str), args=List(Str),
    ports=List(Map(containerPort=Int32, hostPort=Int32, protocol=Str, name=Str, hostIP=Str)),
    env=List(Map(name=Str, value=Str, valueFrom=Map(secretKeyRef=_KEY_REF, configMapKeyRef=_KEY_REF))),
    envFrom=List(Map(prefix=Str, configMapRef=Map(name=Str), secretRef=Map(name=Str))),
    volumeMounts=List(Map(name=Str, mountPath=Str, readOnly=Bool, subPath=Str)),
    securityContext=_CONTAINER_SC, resources=_RESOURCES,
    livenessProbe=_ACTION, readinessProbe=_ACTION, startupProbe=_ACTION,
    lifecycle=Map(postStart=_ACTION, preStop=_ACTION),
)
# Every volume source must be a mapping (or null: unset).
_VOLUME = Map(name=Str, **{**{k: Map() for k in VOLUME_SOURCES}, "hostPath": Map(path=Str, type=Str)})
POD_SPEC = Map(
    hostNetwork=Bool, hostPID=Bool, hostIPC=Bool, hostUsers=Bool, automountServiceAccountToken=Bool,
    serviceAccountName=Str, serviceAccount=Str, priorityClassName=Str, nodeName=Str,
    securityContext=_POD_SC, os=Map(name=Str), volumes=List(_VOLUME), resources=_RESOURCES,
    containers=List(CONTAINER), initContainers=List(CONTAINER), ephemeralContainers=List(CONTAINER),
)
_META = Map(labels=Dict(Str), annotations=Dict(Str), uid=Str, resourceVersion=Str,
            ownerReferences=List(Map(apiVersion=Str, kind=Str, name=Str, uid=Str, controller=Bool)))


def validate_pod_spec(pod_spec: Any, path: str) -> None:
    """Refuse a pod spec (at JSON path ``path``) with a field of the wrong type."""
    _run(POD_SPEC, pod_spec, path)


def validate_metadata(raw: Mapping[str, Any]) -> None:
    """Refuse an object whose ``metadata`` fields the model reads have the wrong type (labels,
    annotations, ownerReferences, uid): checked before any workload view is built."""
    _run(_META, raw.get("metadata"), "metadata")


def validate_pod_meta(meta: Any, path: str) -> None:
    """Refuse pod (template) metadata whose labels or annotations are not strings."""
    _run(_META, meta, path)


# ----------------------------------------------------------------- other kinds
_SELECTOR = Map(matchLabels=Dict(Str),
                matchExpressions=List(Map(key=Str, operator=Str, values=List(Str))))
_RULE = Map(verbs=List(Str), apiGroups=List(Str), resources=List(Str), resourceNames=List(Str),
            nonResourceURLs=List(Str))
_BINDING = Map(roleRef=Map(kind=Str, name=Str, apiGroup=Str),
               subjects=List(Map(kind=Str, name=Str, namespace=Str, apiGroup=Str)))
_PEER = Map(podSelector=_SELECTOR, namespaceSelector=_SELECTOR,
            ipBlock=Map(**_renamed(cidr=Str, except_=List(Str))))
_NP_PORT = Map(protocol=Str, port=IntOrStr, endPort=Int32)
_NETWORK_POLICY = Map(spec=Map(
    podSelector=_SELECTOR, policyTypes=List(Str),
    ingress=List(Map(**_renamed(from_=List(_PEER), ports=List(_NP_PORT)))),
    egress=List(Map(to=List(_PEER), ports=List(_NP_PORT))),
))
_WEBHOOKS = Map(webhooks=List(Map(name=Str, clientConfig=Map(url=Str, service=Map(namespace=Str, name=Str)))))

#: Kind -> the shape of the fields its checks read (metadata is checked for every kind).
KIND_SHAPES: dict[str, Shape] = {
    "Role": Map(rules=List(_RULE)),
    "ClusterRole": Map(rules=List(_RULE), aggregationRule=Map(clusterRoleSelectors=List(_SELECTOR))),
    "RoleBinding": _BINDING,
    "ClusterRoleBinding": _BINDING,
    "ServiceAccount": Map(automountServiceAccountToken=Bool),
    "LimitRange": Map(spec=Map(limits=List(Map(
        type=Str, default=Dict(Quantity), defaultRequest=Dict(Quantity), max=Dict(Quantity),
        min=Dict(Quantity))))),
    "ResourceQuota": Map(spec=Map(hard=Dict(Quantity), scopes=List(Str), scopeSelector=Map())),
    "ConfigMap": Map(data=Dict(Str), binaryData=Dict(Str)),
    "ValidatingWebhookConfiguration": _WEBHOOKS,
    "MutatingWebhookConfiguration": _WEBHOOKS,
    "KubeletConfiguration": Map(
        authentication=Map(anonymous=Map(enabled=Bool), webhook=Map(enabled=Bool), x509=Map(clientCAFile=Str)),
        authorization=Map(mode=Str), readOnlyPort=Int32, rotateCertificates=Bool),
    "Node": Map(status=Map(nodeInfo=Map(kubeletVersion=Str))),
    # written by the plugin, but a snapshot file can be edited
    "InventoryStatus": Map(fetched=List(Str), unavailable=Dict(Str)),
    "ClusterProbe": Map(anonymous=Map(status=Int32, path=Str, error=Str), version=Map(gitVersion=Str)),
}
#: Shapes that depend on the API group too: (kind, apiVersion prefixes) -> shape.
GROUP_SHAPES: tuple[tuple[str, tuple[str, ...], Shape], ...] = (
    ("NetworkPolicy", ("networking.k8s.io/", "extensions/"), _NETWORK_POLICY),
    ("ClusterPolicy", ("kyverno.io/",), Map(spec=Map(rules=List(Map())))),
    ("Policy", ("kyverno.io/",), Map(spec=Map(rules=List(Map())))),
)


def _template_path(kind: str) -> tuple[str, ...]:
    return WORKLOAD_KINDS[kind]


def validate_object(raw: Mapping[str, Any], kind: str, api_version: str = "", *, pod_spec: bool = True) -> None:
    """Refuse ``raw`` (an object of ``kind``) when a field a check reads has the wrong type.

    Raises :class:`~pytest_k8shardening.model.InvalidObject` naming the
    field's JSON path (``subjects``, ``spec.template.spec.volumes``).
    ``pod_spec=False`` leaves out a workload's pod spec and template
    metadata (a :class:`~pytest_k8shardening.model.Workload` built from the
    object has checked them).
    """
    _run(Str, raw.get("apiVersion"), "apiVersion")
    _run(_META, raw.get("metadata"), "metadata")
    shape = KIND_SHAPES.get(kind)
    if shape is not None:
        _run(shape, raw, "")
    for k, groups, group_shape in GROUP_SHAPES:
        if k == kind and api_version.startswith(groups):
            _run(group_shape, raw, "")
    if pod_spec and kind in WORKLOAD_KINDS:
        path = _template_path(kind)
        node: Any = raw
        for i, key in enumerate(path):
            node = node.get(key)
            if node is None:
                return
            where = ".".join(path[: i + 1])
            if not isinstance(node, dict):
                raise InvalidObject(f"{where} must be a mapping, not {_what(node)}")
            if i == len(path) - 2 and kind != "Pod":  # the template: its metadata
                _run(_META, node.get("metadata"), f"{where}.metadata")
        validate_pod_spec(node, ".".join(path))


def check(shape: Shape, value: Any, path: str) -> None:
    """Check ``value``, found at JSON path ``path``, against ``shape`` (for callers with shapes of their own)."""
    _run(shape, value, path)
