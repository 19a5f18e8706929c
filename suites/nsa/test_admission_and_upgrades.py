"""NSA/CISA Kubernetes Hardening Guide v1.2: admission control, and manifests that survive upgrades."""

from __future__ import annotations

import pytest

from pytest_k8shardening import Inventory, K8sObject, Namespace, assert_compliant, control
from pytest_k8shardening.checks import admission, upgrades
from pytest_k8shardening.options import Settings

POD = "Kubernetes Pod security"
UPGRADES = "Upgrading and application security practices"


@control(
    "nsa.admission.pod-security-enforced", title="Namespaces enforce a Pod Security level", severity="high",
    category="pod_security", frameworks=["nsa"], guide=f"{POD}: Pod security enforcement (technical control)",
    references={"kubescape": ["C-0192", "C-0193", "C-0194", "C-0195", "C-0202", "C-0203", "C-0204"],
                "cis": ["5.2.1"]},
    remediation="Label the namespace pod-security.kubernetes.io/enforce=restricted (or baseline where a "
                "workload needs it), or enforce the level with a policy engine (Kyverno podSecurity in Enforce "
                "mode, Gatekeeper PSP constraints with enforcementAction deny).",
)
def test_pod_security_enforced(k8s_namespace: Namespace, k8s_cluster: Inventory) -> None:
    """Checking manifests catches mistakes; only admission enforcement stops a privileged pod from being created.

    v1.2 replaced PodSecurityPolicy with "a technical control"; Pod Security
    Admission is the built-in one. warn and audit labels alone block nothing
    and fail. A cluster-wide default in the API server's AdmissionConfiguration
    file is not visible through the API and is not counted. A namespace seen
    only as the namespace of other objects is skipped: its labels are unknown.
    Kubescape C-0193, C-0194, C-0195, C-0202, C-0203 and C-0204 (CIS 5.2.x
    "minimize the admission of ...") all run one rule, the namespace's
    enforce label is baseline or restricted, as this test does; Kubescape
    also passes every namespace once any namespaced admission webhook exists.
    The CIS numbers stay on the pod checks, where Trivy maps them.

    Policy engines count as the technical control on a cluster input: a
    Kyverno podSecurity rule in Enforce mode, a set of Gatekeeper PSP
    constraints in deny mode, or Kubewarden policies in protect mode that
    match every pod of the namespace and cover baseline or stricter pass it.
    Engine rules whose effect is not modelled (Kyverno patterns or CEL, a
    ValidatingAdmissionPolicy bound with Deny) or engine kinds that cannot
    be read skip it, naming the policy; audit, dry-run, warn and monitor
    modes block nothing and fail. CIS 5.2.1 reads the namespace label only,
    so it fails namespaces an engine protects; Kubescape passes them, and
    every other namespace, as soon as any admission webhook exists.
    """
    assert_compliant(admission.pod_security_enforced(k8s_namespace, k8s_cluster))


@control(
    "nsa.admission.image-signatures", title="Image signatures are verified at admission", severity="medium",
    category="pod_security", frameworks=["nsa"], guide=f"{POD}: build secure container images (admission)",
    remediation="Install an image-signature verifier (Sigstore policy-controller, Kyverno verifyImages, "
                "Connaisseur, Ratify with Gatekeeper) and sign images in the build pipeline.",
)
def test_image_signatures_verified(k8s_cluster: Inventory) -> None:
    """Only images that passed the build pipeline's scans, and were signed there, should run.

    Looks for the admission webhooks of known verifiers, by exact names
    (checks/admission.py lists them). Kyverno counts only with a verifyImages
    policy among the inputs, Gatekeeper only with Ratify. A cluster-level
    control: it judges an input that is a cluster (a live scan, a snapshot,
    ``kubectl get -o yaml`` output); application manifests are skipped,
    saying why, since an application's own webhooks say nothing about what
    the cluster verifies. Kubescape and Trivy have no equivalent automated
    control.
    """
    assert_compliant(admission.image_signature_verification(k8s_cluster))


@pytest.fixture(scope="module")
def target_release(k8s_settings: Settings, k8s_cluster: Inventory) -> upgrades.Target:
    """The Kubernetes release the manifests must work on (ini option k8s_target_version, else the cluster's).

    A value that is not a version stops the run as a usage error (exit status 4), as unreadable input does.
    """
    try:
        return upgrades.target_version(k8s_settings.target_version, k8s_cluster)
    except ValueError as exc:
        pytest.exit(f"k8shardening: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)


@control(
    "nsa.upgrades.removed-apis", title="Manifests use no API version removed in the target release",
    severity="medium", category="upgrades", frameworks=["nsa"], guide=f"{UPGRADES}: apply security patches",
    remediation="Move the manifest to the replacement apiVersion named in the message (kubectl convert helps), "
                "and check the fields that changed with it.",
)
@pytest.mark.k8s_select(where=upgrades.declares_api_version, include_system=True,
                        empty_reason="no manifests among the inputs: objects read from a live cluster show the API "
                                     "version the scanner asked for, and none keeps kubectl's last-applied "
                                     "configuration")
def test_no_removed_api_versions(k8s_object: K8sObject, target_release: upgrades.Target) -> None:
    """An upgrade, and with it every security patch, stops at manifests the new release no longer accepts.

    Target: the ini option k8s_target_version, else the live server's
    version, else the newest release in the support table. Removals are
    a dated table (pytest_k8shardening/data/removed-apis.json) of built-in
    kinds; custom resources are not covered. Objects read from a cluster
    are judged by their kubectl last-applied annotation. System namespaces
    are included. Kubescape and Trivy have no such control (Pluto and kubent
    do this job with their own tables).
    """
    assert_compliant(upgrades.removed_api_versions(k8s_object, target_release))
