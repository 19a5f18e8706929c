"""Table-driven tests of the admission and upgrade checks, and of those suites and the manual one under pytester."""

from __future__ import annotations

import datetime as _dt
import json
from typing import Any

import pytest

from pytest_k8shardening.checks import Undetermined, admission, upgrades
from pytest_k8shardening.model import Inventory, K8sObject, Namespace, Source

from .k8s import inventory, obj, wrap_pod_spec

FORBIDDEN = "403 forbidden: User \"scanner\" cannot list resource"
ENFORCE = "pod-security.kubernetes.io/enforce"


def verdict(result: Any) -> str:
    if isinstance(result, Undetermined):
        return "undetermined"
    return "fail" if result else "pass"


def live(*raws: dict[str, Any], forbidden: tuple[str, ...] = ()) -> Inventory:
    """An inventory that reads like a live scan: kinds are fetched on demand, some answer 403."""
    def fetch(kind: str, _inv: Inventory) -> tuple[list[dict[str, Any]], str | None]:
        if kind in forbidden:
            return [], FORBIDDEN
        return [r for r in raws if r["kind"] == kind], None
    return Inventory([], fetch=fetch)


def status(*fetched: str, unavailable: dict[str, str] | None = None) -> dict[str, Any]:
    """The record a snapshot of a live scan carries: which kinds were listed."""
    return {"apiVersion": "k8shardening.io/v1", "kind": "InventoryStatus", "metadata": {"name": "inventory"},
            "fetched": list(fetched), "unavailable": unavailable or {}}


def namespace(labels: dict[str, str] | None, name: str = "shop") -> Namespace:
    raw = obj("Namespace", name, None, metadata={"labels": labels} if labels is not None else {})
    return Namespace(name, K8sObject(raw, Source("ns.yaml", 1)))


# ------------------------------------------------------------------ Pod Security Admission
PSA = [
    ("restricted", {ENFORCE: "restricted"}, "pass", ""),
    ("baseline", {ENFORCE: "baseline"}, "pass", ""),
    ("baseline-with-warn-restricted", {ENFORCE: "baseline", "pod-security.kubernetes.io/warn": "restricted"},
     "pass", ""),
    ("privileged", {ENFORCE: "privileged"}, "fail", "=privileged: no pod is refused"),
    ("missing", {}, "fail", "has no pod-security.kubernetes.io/enforce label"),
    ("no-labels-at-all", None, "fail", "has no pod-security.kubernetes.io/enforce label"),
    ("warn-only", {"pod-security.kubernetes.io/warn": "restricted"}, "fail",
     "pod-security.kubernetes.io/warn=restricted (warn/audit only: nothing is blocked)"),
    ("warn-and-audit", {"pod-security.kubernetes.io/warn": "restricted",
                        "pod-security.kubernetes.io/audit": "baseline"}, "fail",
     "warn=restricted, pod-security.kubernetes.io/audit=baseline (warn/audit only: nothing is blocked)"),
    ("privileged-with-audit", {ENFORCE: "privileged", "pod-security.kubernetes.io/audit": "restricted"}, "fail",
     "warn/audit only: nothing is blocked"),
    ("capitalised-level", {ENFORCE: "Restricted"}, "fail", "'Restricted' is not a Pod Security level"),
    ("version-label-only", {"pod-security.kubernetes.io/enforce-version": "v1.30"}, "fail", "has no"),
]


@pytest.mark.parametrize(("labels", "expected", "text"), [c[1:] for c in PSA], ids=[c[0] for c in PSA])
def test_pod_security_enforced(labels: dict[str, str] | None, expected: str, text: str) -> None:
    result = admission.pod_security_enforced(namespace(labels), inventory())
    assert verdict(result) == expected
    if text:
        assert text in result[0].message, result[0].message
        assert result[0].field == f"metadata.labels[{ENFORCE}]"


def test_namespace_known_only_from_its_objects() -> None:
    bare = Namespace("shop", None)
    for inv in (None, inventory(obj("ConfigMap", "c", "shop"))):
        result = admission.pod_security_enforced(bare, inv)
        assert isinstance(result, Undetermined)
        assert result.reason.startswith("the Namespace object is not among the inputs")
    # a live scan that listed Namespaces: the namespace has no Namespace object with labels, so it fails
    assert verdict(admission.pod_security_enforced(bare, live())) == "fail"
    # ... and a snapshot of one gives the same verdict offline
    assert verdict(admission.pod_security_enforced(bare, inventory(status("Namespace")))) == "fail"
    # a live scan that may not list Namespaces: the reason is the server's
    result = admission.pod_security_enforced(bare, live(forbidden=("Namespace",)))
    assert isinstance(result, Undetermined) and FORBIDDEN in result.reason
    result = admission.pod_security_enforced(bare, inventory(status(unavailable={"Namespace": FORBIDDEN})))
    assert isinstance(result, Undetermined) and FORBIDDEN in result.reason


def test_read_from_cluster() -> None:
    assert admission.read_from_cluster(live(), "Namespace")
    assert not admission.read_from_cluster(live(forbidden=("Namespace",)), "Namespace")
    assert not admission.read_from_cluster(inventory(), "Namespace")
    assert not admission.read_from_cluster(None, "Namespace")
    assert admission.read_from_cluster(inventory(status("Namespace")), "Namespace")


# ------------------------------------------------------------------ image signatures
def webhook_config(name: str, kind: str = "ValidatingWebhookConfiguration", hook: str = "hook.example.com",
                   service: tuple[str, str] | None = None) -> dict[str, Any]:
    client: dict[str, Any] = {"service": {"namespace": service[0], "name": service[1]}} if service else \
        {"url": "https://example.com"}
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind, "metadata": {"name": name},
            "webhooks": [{"name": hook, "clientConfig": client, "admissionReviewVersions": ["v1"],
                          "sideEffects": "None"}]}


def kyverno_policy(verify: bool, kind: str = "ClusterPolicy") -> dict[str, Any]:
    rule: dict[str, Any] = {"name": "r", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]}}
    if verify:
        rule["verifyImages"] = [{"imageReferences": ["registry.example.org/*"],
                                 "attestors": [{"entries": [{"keyless": {"issuer": "x", "subject": "y"}}]}]}]
    else:
        rule["validate"] = {"pattern": {"spec": {"hostNetwork": False}}}
    return {"apiVersion": "kyverno.io/v1", "kind": kind, "metadata": {"name": "p"}, "spec": {"rules": [rule]}}


KYVERNO = webhook_config("kyverno-resource-validating-webhook-cfg", hook="validate.kyverno.svc-fail",
                         service=("kyverno", "kyverno-svc"))
GATEKEEPER = webhook_config("gatekeeper-validating-webhook-configuration", hook="validation.gatekeeper.sh",
                            service=("gatekeeper-system", "gatekeeper-webhook-service"))
RATIFY = wrap_pod_spec("Deployment",
                       {"containers": [{"name": "ratify", "image": "ghcr.io/ratify-project/ratify:v1.4.0"}]},
                       name="ratify", namespace="gatekeeper-system")
VAP = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
       "metadata": {"name": "no-latest"}, "spec": {"validations": [{"expression": "true"}]}}

SIGNATURES = [
    ("nothing", [], "undetermined", "no admission webhooks among the objects read from the cluster"),
    ("policy-controller", [webhook_config("policy.sigstore.dev", hook="policy.sigstore.dev")], "pass", ""),
    ("policy-controller-by-webhook-name", [webhook_config("renamed", hook="policy.sigstore.dev")], "pass", ""),
    ("policy-controller-by-service", [webhook_config("renamed", service=("cosign-system", "webhook"))], "pass", ""),
    ("policy-controller-mutating", [webhook_config("policy.sigstore.dev", kind="MutatingWebhookConfiguration")],
     "pass", ""),
    ("cosigned", [webhook_config("cosigned.sigstore.dev")], "pass", ""),
    ("connaisseur", [webhook_config("connaisseur-webhook", kind="MutatingWebhookConfiguration",
                                    service=("connaisseur", "connaisseur-svc"))], "pass", ""),
    ("portieris", [webhook_config("image-admission-config", kind="MutatingWebhookConfiguration",
                                  hook="trust.hooks.securityenforcement.admission.cloud.ibm.com")], "pass", ""),
    ("kyverno-verify-images", [KYVERNO, kyverno_policy(True)], "pass", ""),
    ("kyverno-namespaced-policy", [KYVERNO, {**kyverno_policy(True, "Policy"),
                                             "metadata": {"name": "p", "namespace": "shop"}}], "pass", ""),
    ("kyverno-image-validating-policy", [KYVERNO, {"apiVersion": "policies.kyverno.io/v1alpha1",
                                                   "kind": "ImageValidatingPolicy", "metadata": {"name": "ivp"},
                                                   "spec": {}}], "pass", ""),
    ("kyverno-other-policies", [KYVERNO, kyverno_policy(False)], "fail", "no image-signature verifier"),
    ("kyverno-policies-unknown", [KYVERNO], "undetermined", "Kyverno is installed"),
    ("kyverno-policy-without-kyverno", [kyverno_policy(True)], "undetermined", "no admission webhooks among"),
    ("gatekeeper-alone", [GATEKEEPER], "fail", "ValidatingWebhookConfiguration gatekeeper-validating-webhook"),
    ("gatekeeper-with-ratify", [GATEKEEPER, RATIFY], "pass", ""),
    ("gatekeeper-with-ratify-provider", [GATEKEEPER, {"apiVersion": "externaldata.gatekeeper.sh/v1beta1",
                                                      "kind": "Provider", "metadata": {"name": "ratify-provider"},
                                                      "spec": {}}], "pass", ""),
    ("ratify-without-gatekeeper", [VAP, RATIFY], "fail", "no image-signature verifier"),
    ("validating-admission-policy-only", [VAP], "fail", "ValidatingAdmissionPolicy no-latest"),
    ("names-match-exactly", [webhook_config("policy.sigstore.dev-copy", hook="x.policy.sigstore.dev"),
                             webhook_config("connaisseur-webhook-old", service=("other", "connaisseur-svc"))],
     "fail", "no image-signature verifier"),
]


def read_back(raw: dict[str, Any], n: int) -> dict[str, Any]:
    """``raw`` as ``kubectl get -o yaml`` shows it: with the uid and resourceVersion the API server gave it."""
    return {**raw, "metadata": {**raw["metadata"], "uid": f"0000-{n}", "resourceVersion": str(1000 + n)}}


@pytest.mark.parametrize(("raws", "expected", "text"), [c[1:] for c in SIGNATURES], ids=[c[0] for c in SIGNATURES])
def test_image_signature_verification(raws: list[dict[str, Any]], expected: str, text: str) -> None:
    # objects read back from a cluster (kubectl get -o yaml): the input is a cluster, and is judged
    cluster = [read_back(r, i) for i, r in enumerate([obj("ConfigMap", "c", "shop"), *raws])]
    result = admission.image_signature_verification(inventory(*cluster))
    assert verdict(result) == expected
    if text:
        message = result.reason if isinstance(result, Undetermined) else result[0].message
        assert text in message, message


@pytest.mark.parametrize(("raws", "expected", "text"), [c[1:] for c in SIGNATURES], ids=[c[0] for c in SIGNATURES])
def test_image_signatures_are_not_judged_on_application_manifests(raws: list[dict[str, Any]], expected: str,
                                                                   text: str) -> None:
    # the same objects as an application's manifests: an app's webhooks say nothing about the cluster
    result = admission.image_signature_verification(inventory(obj("ConfigMap", "c", "shop"), *raws))
    assert isinstance(result, Undetermined)
    assert result.reason.startswith("the inputs are application manifests, not a cluster")
    assert ("the manifests include" in result.reason) == (expected == "pass")


def test_one_application_manifest_makes_the_input_an_applications() -> None:
    raws = [read_back(webhook_config("policy.sigstore.dev"), 1), read_back(obj("ConfigMap", "c", "shop"), 2)]
    assert inventory(*raws).is_cluster
    assert admission.image_signature_verification(inventory(*raws)) == []
    mixed = inventory(*raws, obj("ConfigMap", "app-config", "shop"))
    assert not mixed.is_cluster
    assert isinstance(admission.image_signature_verification(mixed), Undetermined)


def test_image_signatures_in_a_live_scan() -> None:
    # the cluster was read and has no webhooks at all: that is a fact, not a gap
    [f] = admission.image_signature_verification(live())
    assert "the cluster, which has no admission webhooks," in f.message
    assert admission.image_signature_verification(live(webhook_config("policy.sigstore.dev"))) == []
    result = admission.image_signature_verification(live(forbidden=("MutatingWebhookConfiguration",)))
    assert isinstance(result, Undetermined) and "MutatingWebhookConfiguration: 403" in result.reason
    # a verifier among what could be read is enough
    assert admission.image_signature_verification(
        live(webhook_config("policy.sigstore.dev"), forbidden=("MutatingWebhookConfiguration",))) == []
    # a snapshot of a live scan gives the live verdict offline
    snapshot = inventory(status("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"))
    assert verdict(admission.image_signature_verification(snapshot)) == "fail"


# ------------------------------------------------------------------ versions and targets
@pytest.mark.parametrize(("text", "expected"), [
    ("v1.33", (1, 33)), ("1.33", (1, 33)), ("v1.33.2", (1, 33)), (" v1.30.0-rc.1 ", (1, 30)),
    ("v1.29.3+k3s1", (1, 29)), ("v1.31.4-eks-2d98532", (1, 31)),
])
def test_parse_version(text: str, expected: tuple[int, int]) -> None:
    assert upgrades.parse_version(text) == expected


@pytest.mark.parametrize("text", ["latest", "1", "v1.x", "", "1.33.2.1", "version 1.33"])
def test_parse_version_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="is not a Kubernetes version like v1.33"):
        upgrades.parse_version(text)


def probe(git_version: str) -> dict[str, Any]:
    return {"apiVersion": "k8shardening.io/v1", "kind": "ClusterProbe", "metadata": {"name": "api-server"},
            "version": {"gitVersion": git_version}, "anonymous": {"status": 401}}


def test_target_version_resolution() -> None:
    newest = max(upgrades.parse_version(v) for v in upgrades.release_table()["releases"])
    with_probe = inventory(probe("v1.30.4"))
    # 1. the ini option wins
    t = upgrades.target_version("v1.25", with_probe)
    assert (t.version, t.source) == ((1, 25), "from the ini option k8s_target_version")
    # 2. else the live server's version
    t = upgrades.target_version("", with_probe)
    assert (t.version, t.source) == ((1, 30), "the API server's version v1.30.4")
    assert upgrades.target_version("", live(probe("v1.31.0"))).version == (1, 31)
    # 3. else the newest release in the support table
    for inv in (inventory(), None, inventory(probe("unknown"))):
        t = upgrades.target_version(None, inv)
        assert t.version == newest and t.source.startswith("the newest release in the support table as of")
    assert str(upgrades.target_version("1.28.3", None)) == "v1.28, from the ini option k8s_target_version"
    with pytest.raises(ValueError, match="k8s_target_version: 'one.two' is not a Kubernetes version"):
        upgrades.target_version("one.two", with_probe)


# ------------------------------------------------------------------ the removal table
TABLE = upgrades.removed_api_table()
ENTRIES = [(e["apiVersion"], kind, e["removed"]) for e in TABLE["removed"] for kind in e["kinds"]]


def test_table_is_dated_sourced_and_consistent() -> None:
    assert _dt.date.fromisoformat(TABLE["compiled"]) <= _dt.date.today()
    assert TABLE["sources"] and TABLE["scope"]
    keys = [(api, kind) for api, kind, _ in ENTRIES]
    assert len(keys) == len(set(keys)), "duplicate entries"
    for e in TABLE["removed"]:
        upgrades.parse_version(e["removed"])
        assert e["replacement"] or e.get("note"), e
        if e.get("since"):
            assert upgrades.parse_version(e["since"]) <= upgrades.parse_version(e["removed"]) or e.get("note"), e


@pytest.mark.parametrize(("api_version", "kind", "removed"), [
    ("extensions/v1beta1", "Deployment", "1.16"), ("extensions/v1beta1", "DaemonSet", "1.16"),
    ("extensions/v1beta1", "NetworkPolicy", "1.16"), ("extensions/v1beta1", "Ingress", "1.22"),
    ("extensions/v1beta1", "PodSecurityPolicy", "1.16"),
    ("apps/v1beta1", "Deployment", "1.16"), ("apps/v1beta1", "StatefulSet", "1.16"),
    ("apps/v1beta2", "DaemonSet", "1.16"), ("apps/v1beta2", "ReplicaSet", "1.16"),
    ("batch/v1beta1", "CronJob", "1.25"),
    ("policy/v1beta1", "PodSecurityPolicy", "1.25"), ("policy/v1beta1", "PodDisruptionBudget", "1.25"),
    ("autoscaling/v2beta1", "HorizontalPodAutoscaler", "1.25"),
    ("autoscaling/v2beta2", "HorizontalPodAutoscaler", "1.26"),
    ("networking.k8s.io/v1beta1", "Ingress", "1.22"), ("networking.k8s.io/v1beta1", "IngressClass", "1.22"),
    ("rbac.authorization.k8s.io/v1beta1", "ClusterRoleBinding", "1.22"),
    ("rbac.authorization.k8s.io/v1beta1", "Role", "1.22"),
    ("admissionregistration.k8s.io/v1beta1", "ValidatingWebhookConfiguration", "1.22"),
    ("admissionregistration.k8s.io/v1beta1", "MutatingWebhookConfiguration", "1.22"),
    ("apiextensions.k8s.io/v1beta1", "CustomResourceDefinition", "1.22"),
    ("storage.k8s.io/v1beta1", "CSIStorageCapacity", "1.27"),
    ("flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchema", "1.26"),
    ("flowcontrol.apiserver.k8s.io/v1beta2", "PriorityLevelConfiguration", "1.29"),
    ("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema", "1.32"),
    ("discovery.k8s.io/v1beta1", "EndpointSlice", "1.25"), ("node.k8s.io/v1beta1", "RuntimeClass", "1.25"),
    ("coordination.k8s.io/v1beta1", "Lease", "1.22"),
    ("certificates.k8s.io/v1beta1", "CertificateSigningRequest", "1.22"),
    ("scheduling.k8s.io/v1beta1", "PriorityClass", "1.22"), ("events.k8s.io/v1beta1", "Event", "1.25"),
])
def test_the_brief_removals_are_in_the_table(api_version: str, kind: str, removed: str) -> None:
    assert (api_version, kind, removed) in ENTRIES


def _manifest(api_version: str, kind: str, namespace: str | None = "shop", **meta: Any) -> K8sObject:
    raw = {"apiVersion": api_version, "kind": kind, "metadata": {"name": "x", **meta}}
    if namespace:
        raw["metadata"]["namespace"] = namespace
    return K8sObject(raw, Source("m.yaml", 1))


def _target(version: str) -> upgrades.Target:
    return upgrades.Target(upgrades.parse_version(version), "test")


@pytest.mark.parametrize(("api_version", "kind", "removed"), ENTRIES,
                         ids=[f"{api}:{kind}" for api, kind, _ in ENTRIES])
def test_every_removal_fails_from_its_release_on(api_version: str, kind: str, removed: str) -> None:
    major, minor = upgrades.parse_version(removed)
    o = _manifest(api_version, kind)
    assert upgrades.removed_api_versions(o, _target(f"{major}.{minor - 1}")) == []
    [f] = upgrades.removed_api_versions(o, _target(removed))
    assert f.field == "apiVersion" and f.message.startswith(f"apiVersion {api_version} {kind} ")
    assert f"in Kubernetes {removed} (target v{removed}, test)" in f.message
    assert upgrades.removed_api_versions(o, _target(f"{major}.{minor + 5}"))


@pytest.mark.parametrize(("api_version", "kind"), [
    ("apps/v1", "Deployment"), ("networking.k8s.io/v1", "Ingress"), ("batch/v1", "CronJob"), ("v1", "Pod"),
    ("policy/v1", "PodDisruptionBudget"), ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("extensions/v1beta1", "Unknown"), ("cert-manager.io/v1alpha2", "Certificate"),
])
def test_current_versions_and_unknown_kinds_pass(api_version: str, kind: str) -> None:
    assert upgrades.removed_api_versions(_manifest(api_version, kind), _target("v1.40")) == []


def test_messages_name_the_replacement() -> None:
    [f] = upgrades.removed_api_versions(_manifest("extensions/v1beta1", "Ingress"), _target("v1.33"))
    assert f.message == ("apiVersion extensions/v1beta1 Ingress was removed in Kubernetes 1.22 (target v1.33, test): "
                         "use networking.k8s.io/v1 (served since 1.19)")
    [f] = upgrades.removed_api_versions(_manifest("policy/v1beta1", "PodSecurityPolicy", None), _target("v1.33"))
    assert "there is no replacement API" in f.message and "Pod Security Admission" in f.message
    [f] = upgrades.removed_api_versions(_manifest("resource.k8s.io/v1beta1", "ResourceClaim"), _target("v1.38"))
    assert "is scheduled to be removed in Kubernetes 1.38" in f.message


LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def test_last_applied_configuration_of_live_objects() -> None:
    old = json.dumps({"apiVersion": "extensions/v1beta1", "kind": "Deployment", "metadata": {"name": "x"}})
    served = _manifest("apps/v1", "Deployment", resourceVersion="42", annotations={LAST_APPLIED: old})
    [f] = upgrades.removed_api_versions(served, _target("v1.30"))
    assert f.field == f"metadata.annotations[{LAST_APPLIED}]"
    assert f.message.startswith("the manifest last applied with kubectl declares apiVersion extensions/v1beta1 "
                                "Deployment was removed in Kubernetes 1.16")
    current = json.dumps({"apiVersion": "apps/v1", "kind": "Deployment"})
    for annotation in (current, "{not json", "[]"):
        o = _manifest("apps/v1", "Deployment", resourceVersion="42", annotations={LAST_APPLIED: annotation})
        assert upgrades.removed_api_versions(o, _target("v1.30")) == []
    # a manifest whose annotation repeats its own old version is reported once
    same = _manifest("extensions/v1beta1", "Ingress", annotations={
        LAST_APPLIED: json.dumps({"apiVersion": "extensions/v1beta1", "kind": "Ingress"})})
    assert len(upgrades.removed_api_versions(same, _target("v1.30"))) == 1


@pytest.mark.parametrize(("kind", "meta", "expected"), [
    ("Deployment", {}, True),
    ("Deployment", {"resourceVersion": "1"}, False),
    ("Deployment", {"uid": "abc"}, False),
    ("Deployment", {"resourceVersion": "1", "annotations": {LAST_APPLIED: "{}"}}, True),
    ("ClusterProbe", {}, False), ("KubeletConfiguration", {}, False),
], ids=["manifest", "read-back", "read-back-uid", "read-back-with-last-applied", "probe", "kubelet-config"])
def test_declares_api_version(kind: str, meta: dict[str, Any], expected: bool) -> None:
    assert upgrades.declares_api_version(_manifest("apps/v1", kind, **meta)) is expected


# ------------------------------------------------------------------ the suites, run by pytester
OLD_MANIFESTS = """\
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {pod-security.kubernetes.io/enforce: baseline}}
---
apiVersion: extensions/v1beta1
kind: Ingress
metadata: {name: web, namespace: shop}
spec: {backend: {serviceName: web, servicePort: 80}}
---
apiVersion: batch/v1beta1
kind: CronJob
metadata: {name: report, namespace: shop}
spec:
  schedule: "0 3 * * *"
  jobTemplate: {spec: {template: {spec: {restartPolicy: OnFailure, containers: [{name: r, image: x}]}}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: other}
data: {LEVEL: info}
"""


def _results(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict[str, str]]:
    path = pytester.makefile(".yaml", old=OLD_MANIFESTS)
    result = pytester.runpytest("--k8s-manifests", str(path), "-m", "upgrades or admission or pod_security",
                                "-k", "removed_api or pod_security_enforced or signatures",
                                "--k8s-report-json", "r.json", *args)
    doc = json.loads((pytester.path / "r.json").read_text()) if (pytester.path / "r.json").exists() else \
        {"results": []}
    return result, {r["nodeid"].split("::")[1]: r for r in doc["results"]}


@pytest.mark.parametrize(("target", "failed"), [
    ("v1.21", set()),
    ("v1.22", {"shop/Ingress/web"}),
    ("v1.25", {"shop/Ingress/web", "shop/CronJob/report"}),
    ("", {"shop/Ingress/web", "shop/CronJob/report"}),  # the newest release in the support table
])
def test_removed_apis_against_the_target(pytester: pytest.Pytester, target: str, failed: set[str]) -> None:
    _, results = _results(pytester, "-o", f"k8s_target_version={target}")
    removed = {k.split("[")[1][:-1]: r for k, r in results.items() if k.startswith("test_no_removed_api_versions")}
    assert set(removed) == {"Namespace/shop", "shop/Ingress/web", "shop/CronJob/report", "other/ConfigMap/settings"}
    assert {k for k, r in removed.items() if r["outcome"] == "failed"} == failed
    if target == "v1.25":
        assert removed["shop/CronJob/report"]["message"] == (
            "apiVersion batch/v1beta1 CronJob was removed in Kubernetes 1.25 (target v1.25, from the ini option "
            "k8s_target_version): use batch/v1 (served since 1.21)")


def test_a_snapshot_probe_sets_the_target(pytester: pytest.Pytester) -> None:
    path = pytester.makefile(".yaml", snap=OLD_MANIFESTS + "---\n" + json.dumps(probe("v1.24.9")) + "\n")
    result = pytester.runpytest("--k8s-manifests", str(path), "-k", "removed_api", "-v")
    result.stdout.fnmatch_lines(["*test_no_removed_api_versions?shop/Ingress/web? FAILED*",
                                 "*test_no_removed_api_versions?shop/CronJob/report? PASSED*",
                                 "*(target v1.24, the API server's version v1.24.9)*"])


def test_a_bad_target_version_is_reported_not_guessed(pytester: pytest.Pytester) -> None:
    result, _ = _results(pytester, "-o", "k8s_target_version=newest")
    out = result.stdout.str() + result.stderr.str()
    assert "k8shardening: k8s_target_version: 'newest' is not a Kubernetes version like v1.33" in out
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "Traceback" not in out and "def target_release" not in out


def test_pod_security_and_signatures_from_manifests(pytester: pytest.Pytester) -> None:
    _, results = _results(pytester, "-rs")
    assert results["test_pod_security_enforced[shop]"]["outcome"] == "passed"
    # namespace "other" holds only a ConfigMap of the application: not the application's to judge
    assert "test_pod_security_enforced[other]" not in results
    sig = results["test_image_signatures_verified"]
    assert sig["outcome"] == "skipped" and "the inputs are application manifests, not a cluster" in sig["message"]
    assert sig["control"] == "nsa.admission.image-signatures" and sig["resource"] is None


MANUAL_CONTROLS = {
    "nsa.manual.rootless-engines", "nsa.manual.image-scanning", "nsa.manual.hypervisor-isolation",
    "nsa.manual.cni-network-policy", "nsa.manual.control-plane-firewall", "nsa.manual.worker-node-firewall",
    "nsa.manual.kubeconfig-permissions", "nsa.manual.encryption-provider", "nsa.manual.audit-policy",
    "nsa.manual.log-retention", "nsa.manual.penetration-tests", "nsa.manual.unused-components",
}


def test_manual_controls_are_reported_as_skipped_with_what_to_verify(pytester: pytest.Pytester) -> None:
    path = pytester.makefile(".yaml", old=OLD_MANIFESTS)
    result = pytester.runpytest("--k8s-manifests", str(path), "-m", "manual", "-rs", "--strict-markers",
                                "--k8s-report-json", "r.json")
    result.assert_outcomes(skipped=len(MANUAL_CONTROLS))
    assert result.ret == pytest.ExitCode.OK
    lines = [line for line in result.stdout.lines if line.startswith("SKIPPED [1] ")]
    assert len(lines) == len(MANUAL_CONTROLS)
    assert all(": manual: verify " in line for line in lines), lines
    doc = json.loads((pytester.path / "r.json").read_text())
    assert {r["control"] for r in doc["results"]} == MANUAL_CONTROLS
    assert all(r["outcome"] == "skipped" and r["message"].startswith("manual: ") for r in doc["results"])
    # one item each, not parametrized over the target
    items = pytester.runpytest("--k8s-manifests", str(path), "-m", "manual", "--collect-only", "-q").stdout.lines
    assert len([i for i in items if "test_manual.py::" in i]) == len(MANUAL_CONTROLS)
    assert not any("[" in i for i in items if "test_manual.py::" in i)
    # and "not manual" leaves them out
    rest = pytester.runpytest("--k8s-manifests", str(path), "-m", "nsa and not manual", "--collect-only", "-q")
    assert "test_manual.py" not in rest.stdout.str()


def test_manual_controls_are_complete_in_the_registry() -> None:
    from pytest_k8shardening import catalog

    controls = {c.id: c for c in catalog.builtin_controls()}
    for cid in MANUAL_CONTROLS:
        c = controls[cid]
        assert c.manual and c.frameworks in (("nsa",), ("nsa", "cis")) and c.guide and c.rationale and c.remediation, cid
    for cid in ("nsa.network.default-deny", "nsa.admission.pod-security-enforced", "nsa.upgrades.removed-apis"):
        assert not controls[cid].manual
