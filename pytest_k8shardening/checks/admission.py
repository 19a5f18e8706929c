"""Admission checks (NSA/CISA guide, "Kubernetes Pod security": a technical control
that enforces pod security, and image scanning/signing at admission).

The guide (v1.2) asks for a technical control that enforces a minimum pod
security level (Pod Security Admission since Kubernetes 1.25 removed
PodSecurityPolicy), and for admission control that only runs images that
were scanned and signed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..model import Inventory, K8sObject, Namespace, mapping
from . import CheckResult, Finding, Undetermined, engines

__all__ = [
    "ADMISSION_KINDS",
    "PSA_LEVELS",
    "VERIFIERS",
    "Verifier",
    "image_signature_verification",
    "pod_security_enforced",
    "read_from_cluster",
    "signature_verifiers",
]

PSA_PREFIX = "pod-security.kubernetes.io/"
PSA_ENFORCE = PSA_PREFIX + "enforce"
PSA_LEVELS: tuple[str, ...] = ("privileged", "baseline", "restricted")
ENFORCING_LEVELS = frozenset({"baseline", "restricted"})


def read_from_cluster(inv: Inventory | None, kind: str) -> bool:
    """True when ``kind`` was listed from a live cluster (now, or in the snapshot being re-run).

    Then the absence of an object is a fact about the cluster, not a gap
    in the inputs.
    """
    if inv is None or inv.unavailable(kind):
        return False
    return kind in inv.fetched


# ------------------------------------------------------------------ Pod Security Admission
def pod_security_enforced(ns: Namespace, inv: Inventory | None = None) -> CheckResult:
    """The namespace must enforce the baseline or restricted Pod Security level.

    Field: the Namespace's label ``pod-security.kubernetes.io/enforce``;
    ``baseline`` and ``restricted`` pass, ``privileged`` or no label fails
    (``warn`` and ``audit`` labels only report: nothing is blocked). A value
    that is not a level fails too: the API server rejects such a Namespace.
    A namespace known only from its objects' ``metadata.namespace`` cannot be
    judged, unless Namespaces were listed from a live cluster.

    Policy engines count too (:mod:`~pytest_k8shardening.checks.engines`):
    on a cluster input (:attr:`Inventory.is_cluster`), a Kyverno, Gatekeeper
    or Kubewarden policy that evidently enforces baseline or stricter on
    every pod of the namespace passes it; one that enforces rules whose
    effect is not modelled (pattern or CEL rules, a ValidatingAdmissionPolicy
    bound with Deny), or engine kinds that cannot be read, make it
    undetermined rather than failed. On application manifests such policies
    make it undetermined: the manifests do not say what the cluster runs.
    """
    field = f"metadata.labels[{PSA_ENFORCE}]"
    if ns.obj is None:
        if inv is not None and (why := inv.unavailable("Namespace")):
            return Undetermined(f"Namespaces cannot be read, so the labels of {ns.name} are unknown: {why}")
        if not read_from_cluster(inv, "Namespace"):
            return Undetermined(f"the Namespace object is not among the inputs, so the Pod Security labels of "
                                f"{ns.name} are unknown")
        labels: dict[str, Any] = {}
    else:
        labels = ns.obj.labels
    enforce = labels.get(PSA_ENFORCE)
    if enforce in ENFORCING_LEVELS:
        return []
    others = [f"{k}={labels[k]}" for k in (PSA_PREFIX + "warn", PSA_PREFIX + "audit") if k in labels]
    only = f"; {', '.join(others)} (warn/audit only: nothing is blocked)" if others else ""
    if inv is not None:
        decided = _engines_decide(ns, inv)
        if not isinstance(decided, str):
            return decided
        only += decided
    if enforce is None:
        return [Finding(f"namespace {ns.name} has no {PSA_ENFORCE} label, so pods are admitted at the cluster's "
                        f"default level (privileged, unless the API server's AdmissionConfiguration sets "
                        f"another){only}", field)]
    if enforce == "privileged":
        return [Finding(f"{field}=privileged: no pod is refused{only}", field)]
    return [Finding(f"{field}={enforce!r} is not a Pod Security level ({', '.join(PSA_LEVELS)}); the API server "
                    f"rejects the Namespace{only}", field)]


def _engines_decide(ns: Namespace, inv: Inventory) -> CheckResult | str:
    """What the policy engines decide for ``ns`` when its label enforces nothing: a result, or a finding note."""
    verdicts, problems = engines.judge(ns, inv)
    active = [v for v in verdicts if v.state != "inactive"]
    idle = [v for v in verdicts if v.state == "inactive"]
    if not inv.is_cluster:
        if active:
            return Undetermined(f"namespace {ns.name} has no {PSA_ENFORCE} label enforcing a level, and the inputs "
                                f"hold policy engine policies ({engines.names(active)}); they are application "
                                "manifests, not a cluster, so whether the cluster enforces them is not in them: scan "
                                "the live cluster or a snapshot")
        return f"; policy engines among the inputs do not enforce here: {engines.names(idle)}" if idle else ""
    enforcing = [v for v in verdicts if v.state == "enforces"]
    if enforcing:
        return []
    if problems:
        return Undetermined(f"namespace {ns.name} has no {PSA_ENFORCE} label enforcing a level, and policy engine "
                            f"policies cannot all be read: {'; '.join(problems)}")
    if active:
        return Undetermined(f"namespace {ns.name} has no {PSA_ENFORCE} label enforcing a level; policy engines "
                            f"enforce rules here whose effect is not modelled: {engines.names(active)}")
    return f"; policy engines do not enforce here: {engines.names(idle)}" if idle else ""


# ------------------------------------------------------------------ image signatures
#: Kinds that configure admission. When none is among the inputs of a
#: manifest scan, the inputs say nothing about admission control.
ADMISSION_KINDS: tuple[str, ...] = (
    "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding", "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding",
)
_WEBHOOK_KINDS = ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration")


@dataclass(frozen=True)
class Verifier:
    """How an image-signature verifier shows itself in admission webhook configurations.

    Matching is exact (no substrings): a configuration's ``metadata.name``, a
    webhook's ``name``, or the ``namespace/name`` of the Service its
    ``clientConfig`` calls, as the project's own install manifests or Helm
    chart name them.
    """

    name: str
    configurations: tuple[str, ...] = ()
    webhooks: tuple[str, ...] = ()
    services: tuple[str, ...] = ()


#: Known verifiers (install defaults as of 2026). Kyverno and Gatekeeper are
#: general policy engines: they count only with evidence that they verify
#: images (see :func:`signature_verifiers`).
VERIFIERS: tuple[Verifier, ...] = (
    Verifier("Sigstore policy-controller", configurations=("policy.sigstore.dev",),
             webhooks=("policy.sigstore.dev",), services=("cosign-system/webhook",)),
    Verifier("Sigstore cosigned (policy-controller's predecessor)", configurations=("cosigned.sigstore.dev",),
             webhooks=("cosigned.sigstore.dev",)),
    Verifier("Connaisseur", configurations=("connaisseur-webhook",), webhooks=("connaisseur-svc.connaisseur.svc",),
             services=("connaisseur/connaisseur-svc",)),
    Verifier("Portieris", configurations=("image-admission-config",),
             webhooks=("trust.hooks.securityenforcement.admission.cloud.ibm.com",), services=("portieris/portieris",)),
)
KYVERNO = Verifier("Kyverno", configurations=("kyverno-resource-validating-webhook-cfg",
                                              "kyverno-resource-mutating-webhook-cfg"),
                   services=("kyverno/kyverno-svc",))
GATEKEEPER = Verifier("Gatekeeper", configurations=("gatekeeper-validating-webhook-configuration",),
                      webhooks=("validation.gatekeeper.sh",),
                      services=("gatekeeper-system/gatekeeper-webhook-service",))


def _image_name(image: str) -> str:
    """``ghcr.io/ratify-project/ratify:v1.4.0`` -> ``ratify``."""
    return image.split("@", 1)[0].rsplit("/", 1)[-1].split(":", 1)[0]


def _matches(v: Verifier, obj: K8sObject) -> bool:
    if obj.name in v.configurations:
        return True
    for hook in obj.raw.get("webhooks") or ():
        hook = mapping(hook)
        if hook.get("name") in v.webhooks:
            return True
        svc = mapping(mapping(hook.get("clientConfig")).get("service"))
        if svc and f"{svc.get('namespace')}/{svc.get('name')}" in v.services:
            return True
    return False


def _verifies_images(policy: K8sObject) -> bool:
    rules = mapping(policy.raw.get("spec")).get("rules") or ()
    return any(isinstance(r, dict) and r.get("verifyImages") for r in rules)


def signature_verifiers(inv: Inventory) -> tuple[list[str], list[str]]:
    """The image-signature verifiers found, and why the inputs cannot tell whether another one verifies.

    * Sigstore policy-controller, cosigned, Connaisseur, Portieris: by their
      webhook configuration, webhook or Service names.
    * Kyverno: its webhooks, plus a ``kyverno.io`` ClusterPolicy or Policy
      with a ``verifyImages`` rule, or an ImageValidatingPolicy
      (``policies.kyverno.io``), among the inputs. With no Kyverno policy
      among the inputs (a live scan does not read them) its webhooks alone
      leave the question open.
    * Gatekeeper with Ratify: Gatekeeper's webhook, plus a Ratify workload
      (image ``.../ratify``) or a Gatekeeper external-data Provider named
      ``ratify*``.
    """
    webhooks = [o for o in inv.of_kind(*_WEBHOOK_KINDS) if o.kind in _WEBHOOK_KINDS]
    found: list[str] = []
    notes: list[str] = []
    for v in VERIFIERS:
        hits = [o for o in webhooks if _matches(v, o)]
        if hits:
            found.append(f"{v.name} ({hits[0].kind} {hits[0].name})")
    kyverno = [o for o in webhooks if _matches(KYVERNO, o)]
    if kyverno:
        policies = [o for o in inv.objects if o.kind in ("ClusterPolicy", "Policy")
                    and o.api_version.startswith("kyverno.io/")]
        ivp = [o for o in inv.objects if o.kind in ("ImageValidatingPolicy", "NamespacedImageValidatingPolicy")
               and o.api_version.startswith("policies.kyverno.io/")]
        verifying = [p for p in policies if _verifies_images(p)] + ivp
        if verifying:
            found.append(f"Kyverno ({verifying[0].kind} {verifying[0].name} verifies images)")
        elif not policies:
            notes.append(f"Kyverno is installed ({kyverno[0].name}); whether one of its policies verifies image "
                         "signatures (verifyImages, ImageValidatingPolicy) is in its policy objects, which are not "
                         "among the inputs: add them with --k8s-manifests")
    gatekeeper = [o for o in webhooks if _matches(GATEKEEPER, o)]
    if gatekeeper:
        ratify = [w.describe() for w in inv.all_workloads()
                  if any(_image_name(c.image) == "ratify" for c in w.containers)]
        ratify += [f"Provider {o.name}" for o in inv.objects if o.kind == "Provider"
                   and o.api_version.startswith("externaldata.gatekeeper.sh/") and o.name.startswith("ratify")]
        if ratify:
            found.append(f"Gatekeeper with Ratify ({ratify[0]})")
    return found, notes


def _names(objs: Iterable[K8sObject]) -> str:
    objs = list(objs)
    shown = ", ".join(f"{o.kind} {o.name}" for o in objs[:6])
    return shown + (f" and {len(objs) - 6} more" if len(objs) > 6 else "")


def image_signature_verification(inv: Inventory) -> CheckResult:
    """An admission webhook must verify image signatures before pods run.

    Recognised verifiers are listed in :data:`VERIFIERS` and described in
    :func:`signature_verifiers`; names are matched exactly, so a renamed
    installation is not recognised (add a waiver, or an organization test).
    ValidatingAdmissionPolicies count as admission configuration but cannot
    verify a signature (CEL has no cryptography).

    A cluster-level control: it judges only an input that is a cluster
    (:attr:`~pytest_k8shardening.model.Inventory.is_cluster`: a live scan, a
    snapshot, ``kubectl get -o yaml`` output). On an application's manifests
    it is undetermined, saying so: an application's own webhooks say nothing
    about what the cluster verifies, and a verifier among them is installed
    only where they are applied. Undetermined too when a cluster input holds
    no admission configuration at all (``kubectl get`` of other kinds), or
    when a live scan may not read webhook configurations.
    """
    found, notes = signature_verifiers(inv)
    if not inv.is_cluster:
        among = f" (the manifests include {found[0]})" if found else ""
        return Undetermined("the inputs are application manifests, not a cluster: whether the cluster verifies image "
                            f"signatures at admission is not in them{among}; scan the live cluster, a snapshot "
                            "(--k8s-save-snapshot), or `kubectl get validatingwebhookconfigurations,"
                            "mutatingwebhookconfigurations -A -o yaml` output")
    if found:
        return []
    unreadable = {k: why for k in _WEBHOOK_KINDS if (why := inv.unavailable(k))}
    if unreadable:
        return Undetermined("admission webhook configurations cannot all be read: " +
                            "; ".join(f"{k}: {why}" for k, why in unreadable.items()))
    live = all(read_from_cluster(inv, k) for k in _WEBHOOK_KINDS)
    admission = [o for o in inv.objects if o.kind in ADMISSION_KINDS]
    if not admission and not live:
        return Undetermined("no admission webhooks among the objects read from the cluster; scan the live "
                            "cluster, or add its webhook configurations (kubectl get validatingwebhookconfigurations,"
                            "mutatingwebhookconfigurations -o yaml)")
    if notes:
        return Undetermined("; ".join(notes))
    seen = f"the admission configuration ({_names(admission)})" if admission else "the cluster, which has no " \
                                                                                   "admission webhooks,"
    return [Finding(f"no image-signature verifier found in {seen}: any image that can be pulled is run "
                    "(known verifiers: Sigstore policy-controller, Kyverno verifyImages, Connaisseur, Ratify with "
                    "Gatekeeper, Portieris)", None)]

