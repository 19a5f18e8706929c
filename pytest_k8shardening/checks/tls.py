"""TLS cipher suites: which ones Kubernetes components accept, and which ones are weak.

The names are Go's ``crypto/tls`` names, which kube-apiserver and the kubelet
accept in ``--tls-cipher-suites`` / ``tlsCipherSuites`` (k8s.io/component-base
``cli/flag/ciphers.go``: ``tls.CipherSuites()``, ``tls.InsecureCipherSuites()``
and two legacy ChaCha20 names); any other name stops the component at start.

What counts as strong follows the CIS Kubernetes Benchmark v1.10, which lists
the allowed suites per component (kube-bench ``cfg/cis-1.10``, ``valid_elements``):
1.2.29 for the API server, 4.2.12 for the kubelet. A suite outside the list
fails with the reason it is weak where there is one (RC4, 3DES, CBC with
SHA-256, RSA key exchange without forward secrecy), else as "not in the list".
TLS 1.3 suites are always strong (Go does not let them be configured).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["CIS_APISERVER", "CIS_KUBELET", "KNOWN", "TLS13", "weak_suites"]

TLS13 = frozenset({"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"})

#: CIS Kubernetes Benchmark v1.10, 1.2.29 "Ensure that the API Server only makes use of Strong
#: Cryptographic Ciphers".
CIS_APISERVER = frozenset({
    *TLS13,
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
})

#: CIS Kubernetes Benchmark v1.10, 4.2.12 "Ensure that the Kubelet only makes use of Strong
#: Cryptographic Ciphers" (no CBC suites; the two RSA key exchange GCM suites are listed).
CIS_KUBELET = frozenset({
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_RSA_WITH_AES_256_GCM_SHA384", "TLS_RSA_WITH_AES_128_GCM_SHA256",
})

#: Every name Kubernetes accepts.
KNOWN = frozenset({
    *CIS_APISERVER, *CIS_KUBELET,
    "TLS_RSA_WITH_AES_128_CBC_SHA", "TLS_RSA_WITH_AES_256_CBC_SHA", "TLS_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_RSA_WITH_RC4_128_SHA", "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
})


def _why(suite: str) -> str:
    if suite not in KNOWN:
        return "not a cipher suite Kubernetes knows (the component refuses to start)"
    if "_RC4_" in suite:
        return "RC4 is broken"
    if "_3DES_" in suite:
        return "3DES has 64-bit blocks (Sweet32)"
    if suite.endswith("_CBC_SHA256"):
        return "CBC with SHA-256 is open to Lucky13-style timing attacks (Go lists it as insecure)"
    if suite.startswith("TLS_RSA_WITH_"):
        return "RSA key exchange has no forward secrecy"
    return "not in the benchmark's list of strong ciphers"


def weak_suites(suites: Iterable[str], allowed: frozenset[str]) -> list[tuple[str, str]]:
    """``(suite, reason)`` for each configured suite outside ``allowed`` (TLS 1.3 suites always pass)."""
    return [(s, _why(s)) for s in dict.fromkeys(suites) if s not in allowed and s not in TLS13]
