"""Which upstream rules read which pod setting: the per-finding references (issue 15) that the NSA pod
checks (``pod.py``) and the Pod Security Standards checks (``pss.py``) give their findings.

A control that cites several upstream rules reading different settings gives each finding only the ids
of the rules that fail on what that finding reports, so filtering the results by an upstream id gives
that rule's verdict. The tables are the rules as written upstream (``/work/shared/research/controls.md``):
Kubescape's regolibrary, Trivy's trivy-checks and the CIS Kubernetes Benchmark numbers they carry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from . import REFERENCE_KEYS, refs

__all__ = [
    "ADD_ONLY_NET_BIND_REFERENCES",
    "DROP_ALL_REFERENCES",
    "HOST_NAMESPACE_REFERENCES",
    "KUBESCAPE_INSECURE_CAPABILITIES",
    "SECCOMP_POD_OVERRIDDEN_REFERENCES",
    "SECCOMP_UNSET_REFERENCES",
    "SECCOMP_WEAK_REFERENCES",
    "added_capability_references",
    "union",
    "volume_type_references",
]

References = Mapping[str, tuple[str, ...]]

#: Kubescape C-0046's ``insecureCapabilities`` (its default configuration).
KUBESCAPE_INSECURE_CAPABILITIES = frozenset({
    "SETPCAP", "NET_ADMIN", "NET_RAW", "SYS_MODULE", "SYS_RAWIO", "SYS_PTRACE", "SYS_ADMIN", "SYS_BOOT",
    "MAC_OVERRIDE", "MAC_ADMIN", "PERFMON", "ALL", "BPF"})


def added_capability_references(cap: str) -> References:
    """The upstream rules a capability in ``capabilities.add`` fails.

    Trivy KSV-0022 (its allowed set is empty) and CIS 5.2.9 (added capabilities) read every one;
    Kubescape C-0046 only those of its list; Kubescape C-0057 counts an added SYS_ADMIN as a privileged
    container; CIS 5.2.8 is NET_RAW. A check cites them for the capabilities it reports: the NSA check
    and PSS baseline those outside the baseline set, PSS restricted all but NET_BIND_SERVICE.
    """
    return refs(kubescape=[*(["C-0046"] if cap in KUBESCAPE_INSECURE_CAPABILITIES else []),
                           *(["C-0057"] if cap == "SYS_ADMIN" else [])],
                trivy=["KSV-0022"], cis=[*(["5.2.8"] if cap == "NET_RAW" else []), "5.2.9"])


#: Trivy KSV-0003 reads only ``drop``; KSV-0106 and CIS 5.2.10 read ``drop`` and ``add``.
DROP_ALL_REFERENCES = refs(trivy=["KSV-0003", "KSV-0106"], cis=["5.2.10"])
ADD_ONLY_NET_BIND_REFERENCES = refs(trivy=["KSV-0106"], cis=["5.2.10"])

#: seccomp, by what a finding reads. Unset: Kubescape C-0055 fails only a missing profile and Trivy
#: KSV-0104 (baseline) allows it. A weak effective type: C-0055 counts any profile as set. A weak pod
#: profile under a container's own: only the PSS-derived KSV-0104 reads it (C-0210 reads the container's
#: first). Kubescape C-0210 and CIS 5.7.2 ask for RuntimeDefault and so also fail Localhost, which PSS
#: restricted and the NSA check allow.
SECCOMP_UNSET_REFERENCES = refs(kubescape=["C-0055", "C-0210"], trivy=["KSV-0030"], cis=["5.7.2"])
SECCOMP_WEAK_REFERENCES = refs(kubescape=["C-0210"], trivy=["KSV-0030", "KSV-0104"], cis=["5.7.2"])
SECCOMP_POD_OVERRIDDEN_REFERENCES = refs(trivy=["KSV-0104"])

#: Host namespaces, one rule per field: Kubescape C-0038 reads hostPID and hostIPC, C-0041 hostNetwork;
#: Trivy KSV-0010 hostPID, KSV-0008 hostIPC, KSV-0009 hostNetwork; CIS 5.2.3, 5.2.4, 5.2.5 likewise.
HOST_NAMESPACE_REFERENCES: Mapping[str, References] = {
    "hostPID": refs(kubescape=["C-0038"], trivy=["KSV-0010"], cis=["5.2.3"]),
    "hostIPC": refs(kubescape=["C-0038"], trivy=["KSV-0008"], cis=["5.2.4"]),
    "hostNetwork": refs(kubescape=["C-0041"], trivy=["KSV-0009"], cis=["5.2.5"]),
}


#: Volume types PSS restricted forbids that Trivy KSV-0028 does not flag: hostPath (left to KSV-0023),
#: cephfs (spelled cephFS there), photonPersistentDisk (not listed) and a volume with no source.
_KSV_0028_MISSES = frozenset({"hostPath", "cephfs", "photonPersistentDisk", "unknown"})


def volume_type_references(volume_type: str) -> References:
    """The upstream rules a forbidden volume type fails: Kubescape C-0048 and Trivy KSV-0023 read hostPath
    only, Trivy KSV-0028 the other types it lists (``unknown``: a volume with no source)."""
    if volume_type == "hostPath":
        return refs(kubescape=["C-0048"], trivy=["KSV-0023"])
    return refs(trivy=[] if volume_type in _KSV_0028_MISSES else ["KSV-0028"])


def union(many: Iterable[References]) -> References:
    """The ids of several settings one finding reports, each once, in first-seen order."""
    out: dict[str, dict[str, None]] = {k: {} for k in REFERENCE_KEYS}
    for r in many:
        for key in REFERENCE_KEYS:
            out[key].update(dict.fromkeys(r.get(key, ())))
    return {key: tuple(ids) for key, ids in out.items()}
