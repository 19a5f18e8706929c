"""Control-plane checks, from the flags of the static pods in kube-system.

kubeadm and kind run kube-apiserver, etcd, kube-controller-manager and
kube-scheduler as static pods; their mirror pods show the flags in
``command`` (kubeadm, kind) or ``args`` (RKE2, k3s-style manifests). The same
checks run on those Pod manifests given as files (``/etc/kubernetes/manifests``).
Managed clusters (EKS, GKE, AKS) show no such pods: the tests then skip,
saying so, instead of passing.

A flag that is not set is judged by the component's default for the
versions upstream still supports, and the message says it is the default.
"""

from __future__ import annotations

import functools
import posixpath
from collections.abc import Callable

from ..model import Container, Workload
from . import CheckResult, Finding, NotApplicable, Undetermined, refs, tls

__all__ = [
    "COMPONENTS",
    "Flags",
    "component_of",
    "flags_of",
]

COMPONENTS: tuple[str, ...] = ("kube-apiserver", "etcd", "kube-controller-manager", "kube-scheduler")


#: Boolean flags of the components read here. The binaries (spf13/pflag, and Go's flag package for
#: etcd) take a boolean's value only as ``--flag=value``: in ``--profiling false`` the flag is true and
#: ``false`` is a stray argument (which kube-apiserver and friends refuse to start with).
BOOL_FLAGS = frozenset({
    # kube-apiserver
    "anonymous-auth", "profiling", "allow-privileged", "service-account-lookup", "kubelet-https",
    "enable-aggregator-routing", "enable-bootstrap-token-auth", "enable-priority-and-fairness",
    "enable-garbage-collector", "enable-logs-handler", "contention-profiling", "audit-log-compress",
    "service-account-extend-token-expiration", "logtostderr", "alsologtostderr",
    # kube-controller-manager, kube-scheduler
    "use-service-account-credentials", "leader-elect", "allocate-node-cidrs", "configure-cloud-routes",
    # etcd
    "client-cert-auth", "auto-tls", "peer-client-cert-auth", "peer-auto-tls", "enable-pprof",
    "strict-reconfig-check", "experimental-initial-corrupt-check", "enable-v2", "force-new-cluster",
    "debug", "quiet",
})

#: List flags that are pflag string slices: every occurrence adds to the list (the first replaces the
#: default), so ``--authorization-mode=Node --authorization-mode=RBAC`` means Node,RBAC.
SLICE_FLAGS = frozenset({
    "authorization-mode", "tls-cipher-suites", "enable-admission-plugins", "disable-admission-plugins",
    "etcd-servers", "api-audiences", "runtime-config", "feature-gates", "service-account-key-file",
    "controllers",
})

_TRUE = frozenset({"1", "t", "T", "true", "TRUE", "True"})
_FALSE = frozenset({"0", "f", "F", "false", "FALSE", "False"})


class Flags:
    """The ``--flag=value`` / ``--flag value`` arguments of one container, read as the binary reads them.

    ``command`` then ``args``, left to right; a repeated flag's last occurrence wins, except list
    flags (:data:`SLICE_FLAGS`), whose occurrences add up; a boolean flag (:data:`BOOL_FLAGS`) takes
    no separate value; ``--`` ends the flags. etcd (Go's flag package) also accepts ``-flag``, and
    stops reading flags at the first argument that is not one (etcd then refuses to start).
    """

    def __init__(self, container: Container, *, single_dash: bool = False) -> None:
        self.container = container
        argv = [str(a) for a in (container.raw.get("command") or [])] + \
               [str(a) for a in (container.raw.get("args") or [])]
        self.occurrences: dict[str, list[str]] = {}
        #: arguments the binary would not read as flags or flag values (a boolean's separated value).
        self.stray: list[str] = []
        i = 1 if argv and not argv[0].startswith("-") else 0  # argv[0] is the binary
        while i < len(argv):
            arg = argv[i]
            if arg == "--":
                self.stray += argv[i + 1:]
                break
            dashes = 2 if arg.startswith("--") else 1 if single_dash and arg.startswith("-") and len(arg) > 2 else 0
            if dashes:
                name, eq, value = arg[dashes:].partition("=")
                if not eq:
                    if name in BOOL_FLAGS:
                        value = "true"
                    elif i + 1 < len(argv) and not argv[i + 1].startswith("--"):
                        value = argv[i + 1]
                        i += 1
                    else:
                        value = ""
                self.occurrences.setdefault(name, []).append(value)
            elif single_dash:  # Go's flag package stops at the first non-flag argument
                self.stray += argv[i:]
                break
            else:  # pflag keeps parsing after a positional argument
                self.stray.append(arg)
            i += 1
        self.values: dict[str, str] = {n: v[-1] for n, v in self.occurrences.items()}

    def get(self, name: str) -> str | None:
        """The value the binary uses: the last occurrence."""
        return self.values.get(name)

    def list(self, name: str) -> list[str]:
        """A comma-separated flag's items (all occurrences for :data:`SLICE_FLAGS`, else the last one)."""
        values = self.occurrences.get(name, []) if name in SLICE_FLAGS else \
            ([self.values[name]] if name in self.values else [])
        return [v.strip() for value in values for v in value.split(",") if v.strip()]

    def path(self, name: str) -> str:
        return f"{self.container.path}.command (--{name})"

    def is_true(self, name: str, default: bool) -> bool:
        """A boolean flag's value as strconv.ParseBool reads it (anything else stops the binary)."""
        value = self.values.get(name)
        if value is None:
            return default
        return value in _TRUE

    def integer(self, name: str) -> int | None:
        """An integer flag's value, or None when unset or not a number."""
        value = self.values.get(name)
        try:
            return int(value, 10) if value is not None else None
        except ValueError:
            return None


def component_of(w: Workload) -> str | None:
    """Which control-plane component a pod runs, from its command or labels."""
    for c in w.containers:
        argv = [str(a) for a in (c.raw.get("command") or c.raw.get("args") or [])]
        if argv and posixpath.basename(argv[0]) in COMPONENTS:
            return posixpath.basename(argv[0])
    label = {**w.obj.labels, **(w.pod_meta.get("labels") or {})}.get("component")
    return label if label in COMPONENTS else None


def flags_of(w: Workload, component: str) -> Flags | None:
    """The flags of the container that runs ``component``."""
    single_dash = component == "etcd"  # Go's flag package: -flag and --flag alike
    for c in w.containers:
        argv = [str(a) for a in (c.raw.get("command") or [])]
        if argv and posixpath.basename(argv[0]) == component:
            return Flags(c, single_dash=single_dash)
    for c in w.containers:
        if c.name == component:
            return Flags(c, single_dash=single_dash)
    return Flags(w.containers[0], single_dash=single_dash) if w.containers else None


def is_component(component: str) -> Callable[[Workload], bool]:
    """A ``k8s_select(where=...)`` predicate for the pods of one component."""
    def pred(w: Workload) -> bool:
        return w.kind == "Pod" and component_of(w) == component
    return pred


def _flags(w: Workload, component: str) -> Flags | NotApplicable:
    f = flags_of(w, component)
    return f if f is not None else NotApplicable(f"the pod has no {component} container")


def _on(component: str) -> Callable[[Callable[[Flags], CheckResult]], Callable[[Workload], CheckResult]]:
    """Turn a check over one component's :class:`Flags` into a check over its pod."""
    def wrap(check: Callable[[Flags], CheckResult]) -> Callable[[Workload], CheckResult]:
        @functools.wraps(check)
        def run(w: Workload) -> CheckResult:
            f = _flags(w, component)
            return f if isinstance(f, NotApplicable) else check(f)
        return run
    return wrap


def _stray_note(f: Flags) -> str:
    """Why a boolean reads true although the manifest seems to say false (``--profiling false``)."""
    if not f.stray:
        return ""
    return (" (a boolean flag takes its value only after '=': the separate argument(s) "
            f"{', '.join(repr(a) for a in f.stray)} are not read as its value)")


#: The upstream rules that read each flag, for the controls whose check reads several flags each of which an
#: upstream rule reads on its own (issue 15): a finding cites only the rule of its flag. ``refs()`` (no
#: ids) marks a flag no upstream rule reads. Every id here is cited by the control whose check reads it.
FLAG_REFERENCES = {
    # kube-apiserver
    "audit-policy-file": refs(kubescape=["C-0067"], cis=["3.2.1"]),
    "audit-log-path": refs(kubescape=["C-0130"], trivy=["KCV-0019"], cis=["1.2.16"]),
    "audit-log-maxage": refs(kubescape=["C-0131"], trivy=["KCV-0020"], cis=["1.2.17"]),
    "audit-log-maxbackup": refs(kubescape=["C-0132"], trivy=["KCV-0021"], cis=["1.2.18"]),
    "audit-log-maxsize": refs(kubescape=["C-0133"], trivy=["KCV-0022"], cis=["1.2.19"]),
    "etcd-certfile": refs(kubescape=["C-0137"], trivy=["KCV-0026"], cis=["1.2.23"]),
    "etcd-keyfile": refs(kubescape=["C-0137"], trivy=["KCV-0026"], cis=["1.2.23"]),
    "etcd-cafile": refs(kubescape=["C-0140"], trivy=["KCV-0029"], cis=["1.2.26"]),
    "etcd-servers": refs(),
    "kubelet-client-certificate": refs(kubescape=["C-0116"], trivy=["KCV-0005"], cis=["1.2.4"]),
    "kubelet-client-key": refs(kubescape=["C-0116"], trivy=["KCV-0005"], cis=["1.2.4"]),
    "kubelet-certificate-authority": refs(kubescape=["C-0117"], trivy=["KCV-0006"], cis=["1.2.5"]),
    # etcd
    "cert-file": refs(kubescape=["C-0153"], trivy=["KCV-0042"], cis=["2.1"]),
    "key-file": refs(kubescape=["C-0153"], trivy=["KCV-0042"], cis=["2.1"]),
    "trusted-ca-file": refs(),
    "client-cert-auth": refs(kubescape=["C-0154"], trivy=["KCV-0043"], cis=["2.2"]),
    "auto-tls": refs(kubescape=["C-0155"], trivy=["KCV-0044"], cis=["2.3"]),
    "listen-client-urls": refs(),
    "peer-cert-file": refs(kubescape=["C-0156"], trivy=["KCV-0045"], cis=["2.4"]),
    "peer-key-file": refs(kubescape=["C-0156"], trivy=["KCV-0045"], cis=["2.4"]),
    "peer-trusted-ca-file": refs(),
    "peer-client-cert-auth": refs(kubescape=["C-0157"], trivy=["KCV-0046"], cis=["2.5"]),
    "peer-auto-tls": refs(kubescape=["C-0158"], trivy=["KCV-0047"], cis=["2.6"]),
}

#: ``--profiling`` and ``--bind-address`` of the controller manager and the scheduler, by component.
EXPOSURE_REFERENCES = {
    "kube-controller-manager": {"profiling": refs(kubescape=["C-0145"], cis=["1.3.2"]),
                                "bind-address": refs(kubescape=["C-0150"], trivy=["KCV-0039"], cis=["1.3.7"])},
    "kube-scheduler": {"profiling": refs(kubescape=["C-0151"], trivy=["KCV-0040"], cis=["1.4.1"]),
                       "bind-address": refs(kubescape=["C-0152"], trivy=["KCV-0041"], cis=["1.4.2"])},
}


def _require(f: Flags, *names: str, cite: bool = False) -> list[Finding]:
    return [Finding(f"--{n} is not set", f.path(n), references=FLAG_REFERENCES[n] if cite else None)
            for n in names if not f.get(n)]


# ------------------------------------------------------------------ kube-apiserver
@_on("kube-apiserver")
def apiserver_anonymous_auth(f: Flags) -> CheckResult:
    """kube-apiserver ``--anonymous-auth`` must be false (default: true)."""
    value = f.get("anonymous-auth")
    if value is None and f.get("authentication-config"):
        return Undetermined("anonymous access is configured in the --authentication-config file, "
                            "which the API does not show")
    if value is None:
        return [Finding("--anonymous-auth is not set, and defaults to true", f.path("anonymous-auth"))]
    if f.is_true("anonymous-auth", True):
        return [Finding(f"--anonymous-auth={value}{_stray_note(f)}", f.path("anonymous-auth"))]
    return []


@_on("kube-apiserver")
def apiserver_authorization_mode(f: Flags) -> CheckResult:
    """``--authorization-mode`` must include Node and RBAC and never AlwaysAllow."""
    if f.get("authorization-config") and not f.get("authorization-mode"):
        return Undetermined("authorization is configured in the --authorization-config file, "
                            "which the API does not show")
    modes = f.list("authorization-mode") or ["AlwaysAllow"]
    shown = ",".join(modes) + ("" if f.get("authorization-mode") else " (the default)")
    findings = []
    if "AlwaysAllow" in modes:
        findings.append(Finding(f"--authorization-mode={shown} includes AlwaysAllow: every request is authorized",
                                f.path("authorization-mode")))
    for needed in ("Node", "RBAC"):
        if needed not in modes:
            findings.append(Finding(f"--authorization-mode={shown} does not include {needed}",
                                    f.path("authorization-mode")))
    return findings


@_on("kube-apiserver")
def apiserver_no_token_file(f: Flags) -> CheckResult:
    """``--token-auth-file`` must not be set: static tokens never expire and cannot be revoked."""
    if f.get("token-auth-file"):
        return [Finding(f"--token-auth-file={f.get('token-auth-file')} enables static bearer tokens",
                        f.path("token-auth-file"))]
    return []


@_on("kube-apiserver")
def apiserver_audit_logging(f: Flags) -> CheckResult:
    """``--audit-policy-file`` and a backend (``--audit-log-path`` or ``--audit-webhook-config-file``)."""
    findings = _require(f, "audit-policy-file", cite=True)
    if not f.get("audit-log-path") and not f.get("audit-webhook-config-file"):
        findings.append(Finding("neither --audit-log-path nor --audit-webhook-config-file is set: audit events "
                                "go nowhere", f.path("audit-log-path"),
                                references=FLAG_REFERENCES["audit-log-path"]))
    return findings


#: Retention the CIS benchmark asks for (the guide's example keeps 1825 days).
AUDIT_RETENTION = {"audit-log-maxage": 30, "audit-log-maxbackup": 10, "audit-log-maxsize": 100}


@_on("kube-apiserver")
def apiserver_audit_retention(f: Flags) -> CheckResult:
    """A log backend must keep enough: ``--audit-log-maxage`` >= 30 days, ``maxbackup`` >= 10, ``maxsize`` >= 100 MB."""
    path = f.get("audit-log-path")
    if not path:
        return NotApplicable("no --audit-log-path: retention of a log file does not apply")
    if path == "-":
        return NotApplicable("--audit-log-path=- writes to stdout; retention is the log collector's")
    findings = []
    for flag, minimum in AUDIT_RETENTION.items():
        value = f.get(flag)
        try:
            ok = value is not None and int(value) >= minimum
        except ValueError:
            ok = False
        if not ok:
            shown = f"={value}" if value is not None else " is not set"
            findings.append(Finding(f"--{flag}{shown}; at least {minimum} is expected", f.path(flag),
                                    references=FLAG_REFERENCES[flag]))
    return findings


@_on("kube-apiserver")
def apiserver_encryption_at_rest(f: Flags) -> CheckResult:
    """``--encryption-provider-config`` must be set, or Secrets sit in etcd as plain base64."""
    return _require(f, "encryption-provider-config")


@_on("kube-apiserver")
def apiserver_etcd_tls(f: Flags) -> CheckResult:
    """The API server must talk to etcd over TLS with a client certificate and a CA."""
    findings = _require(f, "etcd-certfile", "etcd-keyfile", "etcd-cafile", cite=True)
    plain = [s for s in f.list("etcd-servers") if s.startswith("http://")]
    if plain:
        findings.append(Finding(f"--etcd-servers uses plain HTTP: {', '.join(plain)}", f.path("etcd-servers"),
                                references=FLAG_REFERENCES["etcd-servers"]))
    return findings


_WEAK_TLS = {"VersionTLS10", "VersionTLS11"}


@_on("kube-apiserver")
def apiserver_tls_min_version(f: Flags) -> CheckResult:
    """``--tls-min-version`` must not allow TLS 1.0 or 1.1 (unset is TLS 1.2 on supported versions)."""
    value = f.get("tls-min-version")
    if value in _WEAK_TLS:
        return [Finding(f"--tls-min-version={value} allows TLS below 1.2", f.path("tls-min-version"))]
    return []


@_on("kube-apiserver")
def apiserver_tls_cipher_suites(f: Flags) -> CheckResult:
    """``--tls-cipher-suites`` must list only strong suites (CIS 1.2.29's list; see :mod:`.tls`).

    Unset passes: the Go defaults of supported releases (Go 1.23 and later) are all in the list.
    With ``--tls-min-version=VersionTLS13`` the configured TLS 1.2 suites are never negotiated.
    Every occurrence of the flag counts (a pflag string slice adds them up).
    """
    suites = f.list("tls-cipher-suites")
    if not suites or f.get("tls-min-version") == "VersionTLS13":
        return []
    return [Finding(f"--tls-cipher-suites includes {suite}: {why}", f.path("tls-cipher-suites"))
            for suite, why in tls.weak_suites(suites, tls.CIS_APISERVER)]


@_on("kube-apiserver")
def apiserver_no_insecure_port(f: Flags) -> CheckResult:
    """No plain-HTTP port: ``--insecure-port`` unset or 0, and ``--secure-port`` not 0."""
    findings = []
    if f.get("insecure-port") is not None and f.integer("insecure-port") != 0:
        findings.append(Finding(f"--insecure-port={f.get('insecure-port')} serves the API without TLS or "
                                "authentication", f.path("insecure-port")))
    if f.get("secure-port") is not None and f.integer("secure-port") == 0:
        findings.append(Finding(f"--secure-port={f.get('secure-port')} turns off the TLS port",
                                f.path("secure-port")))
    return findings


@_on("kube-apiserver")
def apiserver_kubelet_tls(f: Flags) -> CheckResult:
    """The API server must authenticate to kubelets and verify their certificates."""
    return _require(f, "kubelet-client-certificate", "kubelet-client-key", "kubelet-certificate-authority",
                    cite=True)


# ------------------------------------------------------------------ etcd
@_on("etcd")
def etcd_client_tls(f: Flags) -> CheckResult:
    """etcd serves clients over TLS and requires client certificates; no auto-generated certificates."""
    findings = _require(f, "cert-file", "key-file", "trusted-ca-file", cite=True)
    if not f.is_true("client-cert-auth", False):
        findings.append(Finding(f"--client-cert-auth={f.get('client-cert-auth') or 'false (the default)'}: "
                                "any client may connect", f.path("client-cert-auth"),
                                references=FLAG_REFERENCES["client-cert-auth"]))
    if f.is_true("auto-tls", False):
        findings.append(Finding("--auto-tls=true uses self-signed certificates", f.path("auto-tls"),
                                references=FLAG_REFERENCES["auto-tls"]))
    plain = [u for u in f.list("listen-client-urls") if u.startswith("http://")]
    if plain:
        findings.append(Finding(f"--listen-client-urls serves plain HTTP: {', '.join(plain)}",
                                f.path("listen-client-urls"), references=FLAG_REFERENCES["listen-client-urls"]))
    return findings


@_on("etcd")
def etcd_peer_tls(f: Flags) -> CheckResult:
    """etcd peers talk over TLS with certificate authentication; no auto-generated certificates."""
    findings = _require(f, "peer-cert-file", "peer-key-file", "peer-trusted-ca-file", cite=True)
    if not f.is_true("peer-client-cert-auth", False):
        findings.append(Finding(f"--peer-client-cert-auth={f.get('peer-client-cert-auth') or 'false (the default)'}",
                                f.path("peer-client-cert-auth"),
                                references=FLAG_REFERENCES["peer-client-cert-auth"]))
    if f.is_true("peer-auto-tls", False):
        findings.append(Finding("--peer-auto-tls=true uses self-signed certificates", f.path("peer-auto-tls"),
                                references=FLAG_REFERENCES["peer-auto-tls"]))
    return findings


def etcd_separate_ca(etcd: Workload, apiserver: Workload | None) -> CheckResult:
    """etcd must trust its own CA, not the one that signs every cluster client certificate.

    Compares etcd ``--trusted-ca-file`` with kube-apiserver ``--client-ca-file``.
    """
    fe = _flags(etcd, "etcd")
    if isinstance(fe, NotApplicable):
        return fe
    if apiserver is None:
        return Undetermined("no kube-apiserver pod is visible to compare CAs with")
    fa = _flags(apiserver, "kube-apiserver")
    if isinstance(fa, NotApplicable):
        return fa
    etcd_ca, client_ca = fe.get("trusted-ca-file"), fa.get("client-ca-file")
    if not etcd_ca:
        return [Finding("--trusted-ca-file is not set", fe.path("trusted-ca-file"))]
    if client_ca and posixpath.normpath(etcd_ca) == posixpath.normpath(client_ca):
        return [Finding(f"--trusted-ca-file={etcd_ca} is also the API server's --client-ca-file: every client "
                        "certificate of the cluster is accepted by etcd", fe.path("trusted-ca-file"))]
    return []


# ------------------------------------------------------------------ controller manager, scheduler
def _profiling_and_bind(f: Flags, component: str) -> CheckResult:
    cite = EXPOSURE_REFERENCES[component]
    findings = []
    if f.is_true("profiling", True):
        shown = f.get("profiling") or "true (the default)"
        findings.append(Finding(f"--profiling={shown} exposes pprof data{_stray_note(f)}", f.path("profiling"),
                                references=cite["profiling"]))
    bind = f.get("bind-address")
    if bind not in ("127.0.0.1", "::1", "localhost"):
        shown = bind or "0.0.0.0 (the default)"
        findings.append(Finding(f"--bind-address={shown} exposes the component's port beyond the node",
                                f.path("bind-address"), references=cite["bind-address"]))
    return findings


@_on("kube-controller-manager")
def controller_manager_exposure(f: Flags) -> CheckResult:
    """kube-controller-manager: ``--profiling=false`` and ``--bind-address=127.0.0.1``."""
    return _profiling_and_bind(f, "kube-controller-manager")


@_on("kube-scheduler")
def scheduler_exposure(f: Flags) -> CheckResult:
    """kube-scheduler: ``--profiling=false`` and ``--bind-address=127.0.0.1``."""
    return _profiling_and_bind(f, "kube-scheduler")
