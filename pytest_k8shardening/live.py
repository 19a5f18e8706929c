"""Read a live cluster through the official ``kubernetes`` client, read-only.

Every request is a GET: paginated list calls (``limit``/``continue``), the
server version, the kubelets' ``/configz`` through the API server's node
proxy, and one unauthenticated probe. Responses are parsed as plain JSON
(the generated model classes are far slower and drop unknown fields), so a
live object looks exactly like the same object in a manifest.

What cannot be read is recorded, never guessed: a 403 or 404 on a kind marks
the kind unavailable with the server's own message, and the tests that need
it are skipped with that reason.
"""

from __future__ import annotations

import gc
import json
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .loader import redact_secret

__all__ = ["DEFAULT_KINDS", "RESOURCES", "ClusterAccessError", "LiveCluster", "Resource", "connect"]

PROBE_API_VERSION = "k8shardening.io/v1"


@dataclass(frozen=True, slots=True)
class Resource:
    group: str
    version: str
    plural: str
    namespaced: bool

    def list_path(self) -> str:
        base = f"/api/{self.version}" if not self.group else f"/apis/{self.group}/{self.version}"
        return f"{base}/{self.plural}"

    @property
    def api_version(self) -> str:
        return self.version if not self.group else f"{self.group}/{self.version}"

    @property
    def rbac_name(self) -> str:
        return self.plural if not self.group else f"{self.plural}.{self.group}"


RESOURCES: dict[str, Resource] = {
    "Pod": Resource("", "v1", "pods", True),
    "PodTemplate": Resource("", "v1", "podtemplates", True),
    "ReplicationController": Resource("", "v1", "replicationcontrollers", True),
    "Deployment": Resource("apps", "v1", "deployments", True),
    "ReplicaSet": Resource("apps", "v1", "replicasets", True),
    "StatefulSet": Resource("apps", "v1", "statefulsets", True),
    "DaemonSet": Resource("apps", "v1", "daemonsets", True),
    "Job": Resource("batch", "v1", "jobs", True),
    "CronJob": Resource("batch", "v1", "cronjobs", True),
    "Namespace": Resource("", "v1", "namespaces", False),
    "ServiceAccount": Resource("", "v1", "serviceaccounts", True),
    "ConfigMap": Resource("", "v1", "configmaps", True),
    "Secret": Resource("", "v1", "secrets", True),
    "Service": Resource("", "v1", "services", True),
    "LimitRange": Resource("", "v1", "limitranges", True),
    "ResourceQuota": Resource("", "v1", "resourcequotas", True),
    "Node": Resource("", "v1", "nodes", False),
    "NetworkPolicy": Resource("networking.k8s.io", "v1", "networkpolicies", True),
    "Ingress": Resource("networking.k8s.io", "v1", "ingresses", True),
    "Role": Resource("rbac.authorization.k8s.io", "v1", "roles", True),
    "RoleBinding": Resource("rbac.authorization.k8s.io", "v1", "rolebindings", True),
    "ClusterRole": Resource("rbac.authorization.k8s.io", "v1", "clusterroles", False),
    "ClusterRoleBinding": Resource("rbac.authorization.k8s.io", "v1", "clusterrolebindings", False),
    "ValidatingWebhookConfiguration": Resource("admissionregistration.k8s.io", "v1",
                                               "validatingwebhookconfigurations", False),
    "MutatingWebhookConfiguration": Resource("admissionregistration.k8s.io", "v1",
                                             "mutatingwebhookconfigurations", False),
    "ValidatingAdmissionPolicy": Resource("admissionregistration.k8s.io", "v1", "validatingadmissionpolicies", False),
    "ValidatingAdmissionPolicyBinding": Resource("admissionregistration.k8s.io", "v1",
                                                 "validatingadmissionpolicybindings", False),
}

#: What a full scan (and a snapshot) reads. Secrets are left out on purpose:
#: no built-in control needs their contents, and the scanner's RBAC stays
#: without access to them.
DEFAULT_KINDS: tuple[str, ...] = (
    "Namespace", "Node", "Pod", "PodTemplate", "ReplicationController", "Deployment", "ReplicaSet",
    "StatefulSet", "DaemonSet", "Job", "CronJob", "ServiceAccount", "ConfigMap", "Service", "LimitRange",
    "ResourceQuota", "NetworkPolicy", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding",
    "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding", "KubeletConfiguration", "ClusterProbe",
)

_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class ClusterAccessError(Exception):
    """The cluster cannot be read at all (unreachable, credentials rejected)."""


class _Unavailable(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def connect(*, kubeconfig: str | None = None, context: str | None = None, in_cluster: bool = False) -> LiveCluster:
    """A :class:`LiveCluster` from a kubeconfig (and context) or the pod's service account."""
    import yaml
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    cfg = client.Configuration()
    try:
        if in_cluster:
            config.load_incluster_config(client_configuration=cfg)
            where = "in-cluster service account"
        else:
            config.load_kube_config(config_file=kubeconfig, context=context, client_configuration=cfg,
                                    persist_config=False)
            where = f"kubeconfig {kubeconfig or '(default)'}" + (f", context {context}" if context else "")
    except (ConfigException, OSError, TypeError, ValueError, AttributeError, KeyError, yaml.YAMLError) as exc:
        # a kubeconfig that is not YAML, or not a kubeconfig's shape: one line, never a traceback
        text = " ".join(str(exc).split()) or type(exc).__name__
        if isinstance(exc, (TypeError, AttributeError, KeyError, yaml.YAMLError)):
            text = f"not a valid kubeconfig ({text})"
        raise ClusterAccessError(f"cannot load the cluster credentials ({'in-cluster' if in_cluster else 'kubeconfig'}): "
                                 f"{text[:300]}") from None
    cfg.retries = False
    return LiveCluster(client.ApiClient(cfg), where)


class LiveCluster:
    """GETs against one API server, with timeouts and retries on transient errors."""

    def __init__(self, api: Any, where: str, *, timeout: tuple[float, float] = (10.0, 120.0),
                 attempts: int = 4, page_size: int = 500) -> None:
        self.api = api
        self.where = where
        self.server: str = api.configuration.host
        self.timeout = timeout
        self.attempts = attempts
        self.page_size = page_size
        self.requests = 0
        self._discovered: dict[str, Resource] | None = None

    # -- HTTP ------------------------------------------------------------
    def _get(self, path: str, query: list[tuple[str, Any]] | None = None) -> tuple[int, bytes]:
        import urllib3

        method, url, headers, _, _ = self.api.param_serialize(
            "GET", path, query_params=query or [],
            # gzip, as kubectl asks: a page of 500 pods shrinks from ~4.5 MiB to ~0.5 MiB on the wire
            header_params={"Accept": "application/json", "Accept-Encoding": "gzip"},
            auth_settings=["BearerToken"])
        delay = 0.5
        for attempt in range(1, self.attempts + 1):
            try:
                self.requests += 1
                resp = self.api.call_api(method, url, header_params=headers, _request_timeout=self.timeout)
                data = resp.read()
                status = resp.status
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                if attempt == self.attempts:
                    raise ClusterAccessError(f"cannot reach the Kubernetes API server at {self.server} "
                                             f"({self.where}): {_short(exc)}") from None
            else:
                if status not in _RETRY_STATUSES or attempt == self.attempts:
                    return status, data
            time.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    def _json(self, path: str, query: list[tuple[str, Any]] | None = None) -> dict[str, Any]:
        status, data = self._get(path, query)
        if status == 401:
            raise ClusterAccessError(f"the API server at {self.server} rejected the credentials "
                                     f"({self.where}): 401 Unauthorized")
        if status in (403, 404):
            raise _Unavailable(_status_message(status, data, path))
        if status != 200:
            raise ClusterAccessError(f"GET {path} on {self.server} failed: {_status_message(status, data, path)}")
        try:
            doc = json.loads(data)
        except (ValueError, RecursionError):
            raise ClusterAccessError(f"GET {path} on {self.server} returned something other than JSON") from None
        if not isinstance(doc, dict):
            raise ClusterAccessError(f"GET {path} on {self.server} returned a JSON {type(doc).__name__}, "
                                     "not an object: not a Kubernetes API server?")
        return doc

    # -- reads -----------------------------------------------------------
    def version(self) -> dict[str, Any]:
        """``/version``; also the connectivity and credentials check."""
        try:
            return self._json("/version")
        except _Unavailable as exc:
            raise ClusterAccessError(f"cannot read /version on {self.server}: {exc.reason}") from None

    def discover(self, kind: str) -> Resource | None:
        """Find a kind the plugin does not know (a custom resource) through API discovery.

        ``kind`` may be qualified with its group (``Certificate.cert-manager.io``)
        when two groups serve the same kind.
        """
        if self._discovered is None:
            found: dict[str, Resource] = {}
            groups = self._json("/apis").get("groups") or []
            for g in groups:
                version = (g.get("preferredVersion") or {}).get("version")
                if not version:
                    continue
                try:
                    doc = self._json(f"/apis/{g['name']}/{version}")
                except _Unavailable:
                    continue
                for r in doc.get("resources") or ():
                    if "/" in r.get("name", "") or "list" not in (r.get("verbs") or ()):
                        continue
                    res = Resource(g["name"], version, r["name"], bool(r.get("namespaced")))
                    found.setdefault(f"{r['kind']}.{g['name']}", res)
                    found.setdefault(r["kind"], res)
            self._discovered = found
        return self._discovered.get(kind)

    def list(self, kind: str) -> list[dict[str, Any]]:
        """All objects of ``kind``, page by page. Raises ``_Unavailable`` on 403/404.

        The garbage collector is paused meanwhile: parsing builds millions of
        small objects, none of them garbage, and the collector's passes over
        them cost twice the parsing itself (bench/live_read.md).
        """
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return self._list(kind)
        finally:
            if was_enabled:
                gc.enable()

    def _list(self, kind: str) -> list[dict[str, Any]]:
        res = RESOURCES.get(kind) or self.discover(kind)
        if res is None:
            raise _Unavailable(f"no resource of kind {kind} is served by this API server")
        kind = kind.split(".", 1)[0]
        items: list[dict[str, Any]] = []
        token = None
        while True:
            query: list[tuple[str, Any]] = [("limit", self.page_size)]
            if token:
                query.append(("continue", token))
            doc = self._json(res.list_path(), query)
            page = doc.get("items") or []
            if not isinstance(page, list):
                raise ClusterAccessError(f"GET {res.list_path()} on {self.server}: items is a "
                                         f"{type(page).__name__}, not a list")
            for i, item in enumerate(page):
                _check_item(item, f"GET {res.list_path()} on {self.server}: items[{len(items) + i}]")
                item.setdefault("apiVersion", res.api_version)
                item.setdefault("kind", kind)
                meta = item.get("metadata")
                if isinstance(meta, dict):
                    meta.pop("managedFields", None)
                items.append(redact_secret(item) if kind == "Secret" else item)
            token = (doc.get("metadata") or {}).get("continue")
            if not token:
                return items

    def kubelet_configs(self, nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each node's effective kubelet configuration, from ``/configz`` via the node proxy.

        A node whose configz cannot be read gets a placeholder that carries
        the reason, so its kubelet tests are skipped saying why.
        """
        out = []
        for node in nodes:
            name = node["metadata"]["name"]
            meta: dict[str, Any] = {"name": name, "annotations": {"k8shardening.io/source":
                                                                   f"GET /api/v1/nodes/{name}/proxy/configz"}}
            try:
                status, data = self._get(f"/api/v1/nodes/{name}/proxy/configz")
                if status != 200:
                    raise _Unavailable(_status_message(status, data, f"nodes/{name}/proxy/configz"))
                config = json.loads(data).get("kubeletconfig")
                if not isinstance(config, dict):
                    raise _Unavailable("the configz answer has no kubeletconfig")
            except (_Unavailable, ValueError) as exc:
                reason = exc.reason if isinstance(exc, _Unavailable) else "the configz answer is not JSON"
                meta["annotations"]["k8shardening.io/unavailable"] = (
                    f"cannot read the kubelet configuration of node {name}: {reason}")
                config = {}
            out.append({"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
                        "metadata": meta, **{k: v for k, v in config.items() if k not in ("kind", "apiVersion")}})
        return out

    def probe(self) -> dict[str, Any]:
        """What an unauthenticated client gets from the API server, and its version."""
        anonymous = _anonymous_probe(self.server, self.api.configuration, self.timeout)
        return {"apiVersion": PROBE_API_VERSION, "kind": "ClusterProbe",
                "metadata": {"name": "api-server"},
                "server": self.server, "version": self.version(), "anonymous": anonymous}


def _anonymous_probe(server: str, cfg: Any, timeout: tuple[float, float]) -> dict[str, Any]:
    """GET /api with no credentials at all: 401 means anonymous requests are refused."""
    ctx = ssl.create_default_context(cafile=cfg.ssl_ca_cert) if cfg.ssl_ca_cert else ssl.create_default_context()
    if not cfg.verify_ssl:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    req = urllib.request.Request(server.rstrip("/") + "/api", headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=timeout[0]) as resp:  # noqa: S310 - https URL
            return {"path": "/api", "status": resp.status}
    except urllib.error.HTTPError as exc:
        return {"path": "/api", "status": exc.code}
    except (urllib.error.URLError, OSError) as exc:
        return {"path": "/api", "status": None, "error": _short(exc)}


def _check_item(item: Any, where: str) -> None:
    """A listed object the rest of the plugin can rely on: a mapping with metadata and a name."""
    if not isinstance(item, dict):
        raise ClusterAccessError(f"{where} is a {type(item).__name__}, not an object")
    meta = item.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta["name"]:
        raise ClusterAccessError(f"{where} has no metadata.name")
    if meta.get("namespace") is not None and not isinstance(meta["namespace"], str):
        raise ClusterAccessError(f"{where}: metadata.namespace is not a string")


def _status_message(status: int, data: bytes, path: str) -> str:
    try:
        message = json.loads(data).get("message")
    except (ValueError, AttributeError):
        message = None
    if status == 404 and not message:
        message = f"{path} is not served by this API server"
    return f"{status} {message or data[:200].decode('utf-8', 'replace')}"


def _short(exc: BaseException) -> str:
    text = str(getattr(exc, "reason", None) or exc)
    return text if len(text) < 300 else text[:300] + "..."


def fetcher(cluster: LiveCluster) -> Callable[[str, Any], tuple[list[dict[str, Any]], str | None]]:
    """A function ``(kind, inventory) -> (objects, unavailable reason)`` for :class:`Inventory`."""

    def fetch(kind: str, inventory: Any) -> tuple[list[dict[str, Any]], str | None]:
        if kind == "ClusterProbe":
            return [cluster.probe()], None
        if kind == "KubeletConfiguration":
            why = inventory.unavailable("Node")
            if why:
                return [], f"the nodes cannot be listed: {why}"
            return cluster.kubelet_configs([o.raw for o in inventory.of_kind("Node")]), None
        try:
            return cluster.list(kind), None
        except _Unavailable as exc:
            return [], exc.reason

    return fetch
