"""Read a live cluster through the official ``kubernetes`` client, read-only.

Every request is a GET: paginated list calls (``limit``/``continue``), the
server version, the kubelets' ``/configz`` through the API server's node
proxy, and one unauthenticated probe. Responses are parsed as plain JSON
(the generated model classes are far slower and drop unknown fields), so a
live object looks exactly like the same object in a manifest.

What cannot be read is recorded, never guessed: a 403 or 404 on a kind marks
the kind unavailable with the server's own message, and the tests that need
it are skipped with that reason.

Nothing a server does can hang the run or exhaust its memory: every request
(connection, headers, whole body and retries) has a wall-clock deadline
(``k8s_request_timeout``, 30 s), all requests together another
(``k8s_read_timeout``, 30 min), a response body is read in chunks up to a
cap (``k8s_max_response_size``, 128 MiB, counted after gzip decoding), and a
``continue`` token seen twice stops the listing. Each is a
:class:`ClusterAccessError`, i.e. a usage error (exit 4) naming the request.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import json
import os
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .loader import redact_secret
from .safeio import InputRefused, ensure_regular

__all__ = ["DEFAULT_KINDS", "DEFAULT_MAX_RESPONSE_BYTES", "DEFAULT_READ_TIMEOUT", "DEFAULT_REQUEST_TIMEOUT",
           "RESOURCES", "ClusterAccessError", "LiveCluster", "RequestTimeout", "Resource", "connect"]

PROBE_API_VERSION = "k8shardening.io/v1"
#: Seconds one request may take, from connecting to the last byte, retries included.
DEFAULT_REQUEST_TIMEOUT = 30.0
#: Seconds all the requests of a run may take together.
DEFAULT_READ_TIMEOUT = 1800.0  # thousands of nodes each answer a /configz request
#: Bytes of one response body (after gzip decoding): a page of 500 pods is ~5 MiB.
DEFAULT_MAX_RESPONSE_BYTES = 128 * 1024 * 1024
_CONNECT_TIMEOUT = 10.0
_CHUNK = 256 * 1024


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


class RequestTimeout(ClusterAccessError):
    """One request had no complete answer within ``k8s_request_timeout`` (the whole read may go on)."""


class _Unavailable(Exception):
    def __init__(self, reason: str, *, not_served: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.not_served = not_served


#: Custom kinds read only where installed (the CNIs' policy kinds, checks/cni.py; the policy
#: engines' kinds, checks/engines.py): a server that does not serve one has none of them, which
#: is no reason to skip anything.
OPTIONAL_KINDS: frozenset[str] = frozenset({
    "CiliumNetworkPolicy.cilium.io", "CiliumClusterwideNetworkPolicy.cilium.io",
    "NetworkPolicy.projectcalico.org", "GlobalNetworkPolicy.projectcalico.org",
    "NetworkPolicy.crd.projectcalico.org", "GlobalNetworkPolicy.crd.projectcalico.org",
    "NetworkPolicy.crd.antrea.io", "ClusterNetworkPolicy.crd.antrea.io",
    "ClusterPolicy.kyverno.io", "Policy.kyverno.io", "ValidatingPolicy.policies.kyverno.io",
    "ConstraintTemplate.templates.gatekeeper.sh",
    "ClusterAdmissionPolicy.policies.kubewarden.io", "AdmissionPolicy.policies.kubewarden.io",
})
#: Groups whose every kind is optional: Gatekeeper serves one kind per ConstraintTemplate.
OPTIONAL_GROUPS: tuple[str, ...] = (".constraints.gatekeeper.sh",)


class _Late(Exception):
    """The deadline passed before the answer was complete."""


class _TooLarge(Exception):
    """The body is longer than the cap."""


def _bounded(work: Callable[[threading.Event, dict[str, Any]], Any], seconds: float) -> Any:
    """``work(cancel, state)`` in a thread, given ``seconds``: raises :class:`_Late` after that.

    Socket timeouts bound each read, not their sum: a server dripping a byte
    every few seconds (headers included) never trips them. So the request
    runs in a daemon thread and is abandoned at the deadline: ``cancel`` is
    set and the response in ``state["raw"]``, if any, shut down so the thread
    ends too.
    """
    box: dict[str, Any] = {}
    cancel = threading.Event()
    state: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = work(cancel, state)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=run, name="k8shardening-get", daemon=True)
    thread.start()
    thread.join(max(seconds, 0.0))
    if thread.is_alive():
        cancel.set()
        raw = state.get("raw")
        if raw is not None and hasattr(raw, "shutdown"):  # urllib3 >= 2.3; the thread is a daemon either way
            with contextlib.suppress(Exception):
                raw.shutdown()
        raise _Late
    if "error" in box:
        raise box["error"]
    return box["value"]


def _read_body(raw: Any, cap: int, cancel: threading.Event, deadline: float) -> bytes:
    """Read a urllib3 response body in chunks: at most ``cap`` bytes (decoded), until ``deadline``."""
    length = raw.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > cap and not raw.headers.get("Content-Encoding"):
        raise _TooLarge
    read = getattr(raw, "read1", None) or raw.read
    chunks: list[bytes] = []
    total = 0
    while True:
        if cancel.is_set() or time.monotonic() > deadline:
            raise _Late
        chunk = read(_CHUNK)
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > cap:
            raise _TooLarge
        chunks.append(chunk)


def connect(*, kubeconfig: str | None = None, context: str | None = None, in_cluster: bool = False,
            request_timeout: float = DEFAULT_REQUEST_TIMEOUT, read_timeout: float = DEFAULT_READ_TIMEOUT,
            max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES) -> LiveCluster:
    """A :class:`LiveCluster` from a kubeconfig (and context) or the pod's service account."""
    import yaml
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    cfg = client.Configuration()
    try:
        if not in_cluster:  # the client would block on a FIFO, or read a device without end
            default = os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
            for f in [kubeconfig] if kubeconfig else default.split(os.pathsep):
                try:
                    ensure_regular(f)
                except InputRefused as exc:
                    raise ClusterAccessError(f"cannot load the cluster credentials (kubeconfig): {f}: "
                                             f"{exc.strerror}") from None
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
        source = "in-cluster" if in_cluster else "kubeconfig"
        raise ClusterAccessError(f"cannot load the cluster credentials ({source}): "
                                 f"{text[:300]}") from None
    cfg.retries = False
    return LiveCluster(client.ApiClient(cfg), where, request_timeout=request_timeout, read_timeout=read_timeout,
                       max_response_bytes=max_response_bytes)


class LiveCluster:
    """GETs against one API server, with deadlines, a body cap, and retries on transient errors."""

    def __init__(self, api: Any, where: str, *, request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
                 read_timeout: float = DEFAULT_READ_TIMEOUT, max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
                 attempts: int = 4, page_size: int = 500) -> None:
        self.api = api
        self.where = where
        self.server: str = api.configuration.host
        self.request_timeout = request_timeout
        self.read_timeout = read_timeout
        self.max_response_bytes = max_response_bytes
        self.timeout = (min(_CONNECT_TIMEOUT, request_timeout), request_timeout)  # per socket operation
        self.attempts = attempts
        self.page_size = page_size
        self.requests = 0
        self.spent = 0.0  # seconds in requests so far, against read_timeout
        self._discovered: dict[str, Resource] | None = None

    # -- HTTP ------------------------------------------------------------
    def _budget(self, what: str) -> float:
        """Seconds the next request may take: the request timeout, or what is left of the read timeout."""
        left = self.read_timeout - self.spent
        if left <= 0:
            raise ClusterAccessError(f"{what} on {self.server}: reading the cluster took {self.spent:.0f} s, "
                                     f"longer than the {self.read_timeout:g} s allowed in all "
                                     "(--k8s-read-timeout / k8s_read_timeout)")
        return min(self.request_timeout, left)

    def _late(self, what: str, budget: float) -> ClusterAccessError:
        if budget < self.request_timeout:
            return ClusterAccessError(f"{what} on {self.server}: no complete answer before the {self.read_timeout:g} s "
                                      "allowed for reading the cluster ran out (--k8s-read-timeout / k8s_read_timeout)")
        return RequestTimeout(f"{what} on {self.server}: no complete answer within {budget:g} s; the API server "
                              "stalled or is too slow (--k8s-request-timeout / k8s_request_timeout)")

    def _get(self, path: str, query: list[tuple[str, Any]] | None = None) -> tuple[int, bytes]:
        """One GET, retried on transient errors; all attempts together within the request deadline."""
        what = f"GET {path}"
        budget = self._budget(what)
        start = time.monotonic()
        try:
            return self._get_until(path, query, start + budget, what, budget)
        finally:
            self.spent += time.monotonic() - start

    def _get_until(self, path: str, query: list[tuple[str, Any]] | None, deadline: float, what: str,
                   budget: float) -> tuple[int, bytes]:
        import urllib3

        method, url, headers, _, _ = self.api.param_serialize(
            "GET", path, query_params=query or [],
            # gzip, as kubectl asks: a page of 500 pods shrinks from ~4.5 MiB to ~0.5 MiB on the wire
            header_params={"Accept": "application/json", "Accept-Encoding": "gzip"},
            auth_settings=["BearerToken"])
        delay = 0.5
        for attempt in range(1, self.attempts + 1):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._late(what, budget)
            self.requests += 1
            try:
                status, data = _bounded(functools.partial(self._attempt, method, url, headers, remaining, deadline),
                                        remaining)
            except _Late:
                raise self._late(what, budget) from None
            except _TooLarge:
                raise ClusterAccessError(
                    f"{what} on {self.server}: the answer is larger than {self.max_response_bytes} bytes "
                    "(--k8s-max-response-size / k8s_max_response_size)") from None
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                if time.monotonic() >= deadline:
                    raise self._late(what, budget) from None
                if attempt == self.attempts or time.monotonic() + delay >= deadline:
                    raise ClusterAccessError(f"cannot reach the Kubernetes API server at {self.server} "
                                             f"({self.where}): {_short(exc)}") from None
            else:
                if status not in _RETRY_STATUSES or attempt == self.attempts or time.monotonic() + delay >= deadline:
                    return status, data
            time.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    def _attempt(self, method: str, url: str, headers: dict[str, str], remaining: float, deadline: float,
                 cancel: threading.Event, state: dict[str, Any]) -> tuple[int, bytes]:
        """One request: the client's own socket timeouts, then the body streamed under the cap."""
        resp = self.api.call_api(method, url, header_params=headers,
                                 _request_timeout=(min(_CONNECT_TIMEOUT, remaining), remaining))
        raw = state["raw"] = resp.response  # urllib3's response, not yet read (the client streams)
        try:
            data = _read_body(raw, self.max_response_bytes, cancel, deadline)
        except BaseException:
            raw.close()  # a half-read connection must not go back to the pool
            raise
        raw.release_conn()
        return resp.status, data

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

    def list(self, kind: str) -> builtins.list[dict[str, Any]]:
        """All objects of ``kind``, page by page. Raises ``_Unavailable`` on 403/404.

        The garbage collector is paused meanwhile: parsing builds millions of
        small objects, none of them garbage, and the collector's passes over
        them cost twice the parsing itself (bench/live_read.md).
        """
        from .speedups import gc_paused

        with gc_paused():
            return self._list(kind)

    def _list(self, kind: str) -> builtins.list[dict[str, Any]]:
        res = RESOURCES.get(kind) or self.discover(kind)
        if res is None:
            raise _Unavailable(f"no resource of kind {kind} is served by this API server", not_served=True)
        kind = kind.split(".", 1)[0]
        items: builtins.list[dict[str, Any]] = []
        token = None
        seen: set[str] = set()
        while True:
            query: builtins.list[tuple[str, Any]] = [("limit", self.page_size)]
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
            if token in seen:  # a server that hands back an old token would be listed forever
                raise ClusterAccessError(f"GET {res.list_path()} on {self.server}: the API server repeated a "
                                         f"continue token after {len(seen) + 1} pages; stopping the listing of "
                                         f"{kind} rather than looping")
            seen.add(token)

    def kubelet_configs(self, nodes: builtins.list[dict[str, Any]]) -> builtins.list[dict[str, Any]]:
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
                try:
                    status, data = self._get(f"/api/v1/nodes/{name}/proxy/configz")
                except RequestTimeout as exc:  # one kubelet not answering through the proxy: its tests skip
                    raise _Unavailable(str(exc)) from None
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
        budget = self._budget("GET /api (anonymous)")
        start = time.monotonic()
        try:
            anonymous = _bounded(lambda cancel, state: _anonymous_probe(self.server, self.api.configuration,
                                                                        (min(_CONNECT_TIMEOUT, budget), budget)),
                                 budget)
        except _Late:
            raise self._late("GET /api (anonymous)", budget) from None
        finally:
            self.spent += time.monotonic() - start
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
        with urllib.request.urlopen(req, context=ctx, timeout=timeout[1]) as resp:  # noqa: S310 - https URL
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
            if exc.not_served and (kind in OPTIONAL_KINDS or kind.endswith(OPTIONAL_GROUPS)):
                return [], None
            return [], exc.reason

    return fetch
