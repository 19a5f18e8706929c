"""NSA/CISA Kubernetes Hardening Guide v1.2, "Authentication and authorization": RBAC.

One test per recommendation, each run once per RoleBinding and
ClusterRoleBinding (``shop/RoleBinding/dev-edit``, ``ClusterRoleBinding/admins``),
so a finding names the subject, the binding and the role, and the rules of
the role that give the permission; the unused-roles listing runs once per
Role and ClusterRole. The model (role resolution, aggregated
ClusterRoles, subject matching, the authorizer's rule matching) and the
exemptions for the cluster's own identities are in
:mod:`pytest_k8shardening.checks.rbac`.

Kubescape reports these controls per subject and Trivy per Role/ClusterRole
(whoever is bound to it); here each binding is one result, naming the subject
and the role, so a finding points at the object to change.
"""

from __future__ import annotations

import pytest

from pytest_k8shardening import Inventory, K8sObject, assert_compliant, control
from pytest_k8shardening.checks import rbac

SECTION = "Authentication and authorization"
BINDINGS = pytest.mark.k8s_select(
    kinds=["RoleBinding", "ClusterRoleBinding"], include_system=True,
    empty_reason="no RoleBinding or ClusterRoleBinding among the inputs: give the RBAC manifests, or scan a "
                 "live cluster")


@control(
    "nsa.rbac.cluster-admin", title="Only administrators hold cluster-admin or full wildcards", severity="high",
    category="authn_authz", frameworks=["nsa"], guide=f"{SECTION}: RBAC least privilege (administrator roles)",
    references={"kubescape": ["C-0035", "C-0185"], "trivy": ["KSV-0111"], "cis": ["5.1.1"]},
    remediation="Bind a role with only the verbs and resources the subject needs (for a namespace, the built-in "
                "admin or edit ClusterRole through a RoleBinding); keep cluster-admin for a break-glass group.",
)
@BINDINGS
def test_no_cluster_admin(k8s_object: K8sObject, k8s_cluster: Inventory) -> None:
    """Full admin (``*`` verbs on ``*`` resources in ``*`` apiGroups) is every permission, now and later.

    Fails any subject except Group system:masters (which bypasses RBAC) and
    kubeadm's kubeadm:cluster-admins, including kube-system ServiceAccounts
    and system users: no default component holds full admin. A RoleBinding
    to cluster-admin fails too (full control of the namespace). Kubescape
    C-0035 also counts ``*``/``*`` in the core group alone; Trivy KSV-0111
    flags bindings by the role name cluster-admin, here the rules decide.
    """
    assert_compliant(rbac.cluster_admin(k8s_object, k8s_cluster))


@control(
    "nsa.rbac.wildcards", title="Bound roles use no wildcard verbs or resources", severity="high",
    category="authn_authz", frameworks=["nsa"], guide=f"{SECTION}: RBAC least privilege",
    references={"kubescape": ["C-0187"], "trivy": ["KSV-0044", "KSV-0045", "KSV-0046"], "cis": ["5.1.3"]},
    remediation="List the verbs and resources the subject needs instead of '*' (and '*/subresource').",
)
@BINDINGS
def test_no_wildcards(k8s_object: K8sObject, k8s_cluster: Inventory) -> None:
    """A wildcard grants every verb or resource, including the ones added later by CRDs and upgrades.

    Reports each rule with ``*`` verbs, ``*`` resources or ``*/subresource``.
    Only roles that are bound to a non-system subject are reported (Trivy
    and Kubescape C-0187 report every Role, bound or not, the bootstrap
    controller roles included); ``*`` in apiGroups alone is not reported.
    """
    assert_compliant(rbac.wildcards(k8s_object, k8s_cluster))


@control(
    "nsa.rbac.secrets-read", title="No broad read access to Secrets", severity="high",
    category="authn_authz", frameworks=["nsa"], guide=f"{SECTION}: RBAC least privilege (Secrets)",
    references={"kubescape": ["C-0015", "C-0186"], "trivy": ["KSV-0041", "KSV-0113"], "cis": ["5.1.2"]},
    remediation="Remove get/list/watch on secrets, or limit the rule to the Secrets needed with resourceNames; "
                "mount Secrets into the pods that use them instead of reading them through the API.",
)
@BINDINGS
def test_no_secrets_read(k8s_object: K8sObject, k8s_cluster: Inventory) -> None:
    """Reading Secrets reads every credential stored in them: tokens, passwords, TLS keys.

    Fails get, list or watch on all Secrets of a namespace (RoleBinding) or
    of every namespace (ClusterRoleBinding: the finding says
    cluster-wide). Rules limited by resourceNames pass. Kubescape C-0015
    and Trivy KSV-0041 also flag named-Secret rules.
    """
    assert_compliant(rbac.secrets_read(k8s_object, k8s_cluster))


@control(
    "nsa.rbac.exec-attach", title="No exec or attach into pods", severity="medium",
    category="authn_authz", frameworks=["nsa"], guide=f"{SECTION}: RBAC least privilege",
    references={"kubescape": ["C-0002"], "trivy": ["KSV-0053"]},
    remediation="Remove pods/exec and pods/attach from the role; give debugging access through a separate, "
                "time-limited binding.",
)
@BINDINGS
def test_no_exec_attach(k8s_object: K8sObject, k8s_cluster: Inventory) -> None:
    """Exec into a pod is a shell with the pod's identity, files, mounted Secrets and network access.

    Fails create on pods/exec or pods/attach, and get on them: until
    Kubernetes 1.35 (AuthorizePodWebsocketUpgradeCreatePermission) the API
    server authorizes a WebSocket exec as get. Kubescape C-0002 and Trivy
    KSV-0053 look at create only, and Kubescape also counts ``pods/*``,
    which RBAC does not treat as a wildcard.
    """
    assert_compliant(rbac.exec_attach(k8s_object, k8s_cluster))


@control(
    "nsa.rbac.escalate-bind-impersonate", title="No escalate, bind or impersonate permissions", severity="high",
    category="authn_authz", frameworks=["nsa"], guide=f"{SECTION}: RBAC least privilege (limit escalate)",
    references={"kubescape": ["C-0191", "C-0065"], "trivy": ["KSV-0043", "KSV-0050"], "cis": ["5.1.8"]},
    remediation="Remove escalate and bind on roles/clusterroles and impersonate on users, groups and "
                "serviceaccounts; where delegation is needed, limit bind to named roles with resourceNames.",
)
@BINDINGS
def test_no_escalate_bind_impersonate(k8s_object: K8sObject, k8s_cluster: Inventory) -> None:
    """Each of these verbs is a way around RBAC's own escalation check, to any permission.

    Rules limited by resourceNames are reported with the names, since what
    they reach depends on the roles or identities named. Impersonating
    serviceaccounts is part of the built-in edit and admin roles, so
    bindings to them fail here. Trivy KSV-0043 flags only impersonation of
    privileged groups.
    """
    assert_compliant(rbac.escalate_bind_impersonate(k8s_object, k8s_cluster))


@control(
    "nsa.rbac.nodes-proxy", title="No access to the kubelet API through nodes/proxy", severity="high",
    category="authn_authz", frameworks=["nsa"], guide=f"{SECTION}: RBAC least privilege",
    references={"kubescape": ["C-0279"], "trivy": ["KSV-0047"], "cis": ["5.1.10"]},
    remediation="Remove get/create on nodes/proxy; use the metrics API (nodes/metrics, nodes/stats) for "
                "monitoring. Our own scanner's role needs get nodes/proxy for the kubelet tests: remove that rule "
                "to skip them.",
)
@BINDINGS
def test_no_nodes_proxy(k8s_object: K8sObject, k8s_cluster: Inventory) -> None:
    """nodes/proxy reaches every kubelet's API: pods, logs, configuration and commands in containers.

    Fails get or create on nodes/proxy through a ClusterRoleBinding (a
    RoleBinding cannot grant it). This fails on purpose for this plugin's
    own scanner role (deploy/scanner-rbac.yaml), which needs get on
    nodes/proxy to read each kubelet's /configz: bind it only for the
    duration of a scan.
    """
    assert_compliant(rbac.nodes_proxy(k8s_object, k8s_cluster))


@control(
    "nsa.rbac.anonymous", title="Nothing is bound to anonymous users", severity="critical",
    category="authn_authz", frameworks=["nsa"], guide=f"{SECTION}: disable anonymous login",
    references={"kubescape": ["C-0262"], "trivy": ["KSV-0122"]},
    remediation="Delete the binding, or remove system:anonymous and system:unauthenticated from its subjects.",
)
@BINDINGS
def test_nothing_bound_to_anonymous(k8s_object: K8sObject, k8s_cluster: Inventory) -> None:
    """A binding to system:anonymous or system:unauthenticated gives its role to anyone who can reach the API.

    Allowed when the role holds only its upstream rules: the API server's
    system:public-info-viewer (GET /healthz, /livez, /readyz, /version, bound
    to system:unauthenticated on every cluster) and kubeadm's
    kube-public/kubeadm:bootstrap-signer-clusterinfo (the cluster-info
    ConfigMap that kubeadm join reads). Kubescape C-0262 fails every cluster
    on the first.
    """
    assert_compliant(rbac.anonymous(k8s_object, k8s_cluster))


@control(
    "nsa.rbac.authenticated", title="All authenticated users get only the default discovery roles",
    severity="high", category="authn_authz", frameworks=["nsa"], guide=f"{SECTION}: RBAC least privilege",
    references={"kubescape": ["C-0265"], "not_counterparts": ["trivy:KSV-01011"]},
    remediation="Bind the role to the groups or users that need it instead of system:authenticated.",
)
@BINDINGS
def test_authenticated_only_default_roles(k8s_object: K8sObject, k8s_cluster: Inventory) -> None:
    """system:authenticated is everyone with any credential, every ServiceAccount token included.

    Allowed: system:discovery, system:basic-user and system:public-info-viewer
    with their upstream rules. Kubescape C-0265 fails only a role naming a
    takeover resource (pods, exec, secrets, nodes, workloads, ``*``): only
    such findings cite it. Trivy KSV-01011 is not a counterpart: its rule
    fires only when the cluster version Trivy is given contains ``-gke``,
    which ``trivy config`` never supplies, so on manifests (and on other
    clusters) it passes every binding.
    """
    assert_compliant(rbac.authenticated(k8s_object, k8s_cluster))


@control(
    "nsa.rbac.default-service-account", title="Default ServiceAccounts are bound to no roles", severity="medium",
    category="authn_authz", frameworks=["nsa"], guide=f"{SECTION}: RBAC for service accounts",
    references={"cis": ["5.1.5"]},
    remediation="Create a ServiceAccount for the workload that needs the role, bind the role to it and set "
                "serviceAccountName; leave default without bindings.",
)
@BINDINGS
def test_default_service_account_unbound(k8s_object: K8sObject, k8s_cluster: Inventory) -> None:
    """Every pod that names no ServiceAccount runs as its namespace's default, and gets its roles.

    Also fails bindings to Groups system:serviceaccounts and
    system:serviceaccounts:<namespace>, which contain the default
    ServiceAccounts (except the API server's own issuer-discovery grant),
    in every namespace, kube-system included.
    """
    assert_compliant(rbac.default_service_account(k8s_object, k8s_cluster))


@control(
    "nsa.rbac.admin-infra-separation", title="Workloads do not run with administrator rights", severity="high",
    category="authn_authz", frameworks=["nsa"], guide=f"{SECTION}: separate administrator and infrastructure roles",
    remediation="Give the workload its own ServiceAccount with only the permissions it uses; keep cluster "
                "administrator rights for people's identities.",
)
@BINDINGS
def test_workloads_without_admin_rights(k8s_object: K8sObject, k8s_cluster: Inventory) -> None:
    """Administrator and infrastructure roles are separate: a compromised workload must not own the cluster.

    Our reading of the guide (v1.2): a ClusterRoleBinding that gives full
    admin (cluster-admin or ``*``/``*``/``*``) to a ServiceAccount that a
    workload among the inputs runs with fails, naming the workloads;
    kube-system components are exempt. Neither Kubescape nor Trivy has this
    control; both report the binding only as an administrative role.
    """
    assert_compliant(rbac.admin_infra_separation(k8s_object, k8s_cluster))


@control(
    "nsa.rbac.credential-minting", title="No creating Secrets or ServiceAccount tokens", severity="high",
    category="authn_authz", frameworks=["nsa"], guide=f"{SECTION}: RBAC least privilege (service account tokens)",
    references={"kubescape": ["C-0282"], "cis": ["5.1.13"]},
    remediation="Remove create on secrets and on serviceaccounts/token; let workloads get their tokens from the "
                "kubelet (projected volumes) and deliver Secrets through the deployment pipeline.",
)
@BINDINGS
def test_no_credential_minting(k8s_object: K8sObject, k8s_cluster: Inventory) -> None:
    """Creating a ServiceAccount token, or a token Secret, is acting as that ServiceAccount.

    Fails create on serviceaccounts/token (CIS 5.1.13, Kubescape C-0282
    read the same rule) and create on secrets: a Secret of type
    kubernetes.io/service-account-token is filled with a non-expiring token
    for any ServiceAccount of the namespace. The built-in edit and admin
    roles hold both, so bindings to them fail. CIS and Kubescape do not
    count create on secrets here; Trivy's Kubernetes checks have no
    counterpart it runs on manifests.
    """
    assert_compliant(rbac.credential_minting(k8s_object, k8s_cluster))


@control(
    "nsa.rbac.kube-system-workloads", title="No managing workloads in kube-system", severity="high",
    category="authn_authz", frameworks=["nsa"], guide=f"{SECTION}: RBAC least privilege (system namespaces)",
    remediation="Grant create/update/patch on pods and workload resources through RoleBindings in the "
                "application's own namespaces, not through a ClusterRoleBinding or in kube-system.",
)
@BINDINGS
def test_no_kube_system_workloads(k8s_object: K8sObject, k8s_cluster: Inventory) -> None:
    """A pod in kube-system can run as, and mount the token of, any cluster component's ServiceAccount.

    Fails create, update or patch on pods, deployments, daemonsets,
    statefulsets, replicasets, replicationcontrollers, jobs or cronjobs
    reaching kube-system: a RoleBinding there or any ClusterRoleBinding.
    Kubescape C-0188 / CIS 5.1.4 (create pods anywhere) and Trivy KSV-0048
    (manage workloads anywhere) are broader and are not cited.
    """
    assert_compliant(rbac.kube_system_workloads(k8s_object, k8s_cluster))


@control(
    "nsa.rbac.webhook-configurations", title="No writing admission webhook configurations", severity="high",
    category="authn_authz", frameworks=["nsa"], guide=f"{SECTION}: RBAC least privilege (admission control)",
    references={"kubescape": ["C-0281"], "cis": ["5.1.12"]},
    remediation="Remove create/update/patch/delete on validatingwebhookconfigurations and "
                "mutatingwebhookconfigurations; keep them to the installer's identity.",
)
@BINDINGS
def test_no_webhook_configuration_writes(k8s_object: K8sObject, k8s_cluster: Inventory) -> None:
    """Whoever may change the admission webhooks can switch off the cluster's policies, or rewrite every pod.

    Fails create, update, patch or delete on (validating|mutating)
    webhookconfigurations through a ClusterRoleBinding, naming the
    configurations when resourceNames limit the rule. Tools that patch
    their own webhook's caBundle (cert-manager's cainjector) fail here, as
    they do in CIS 5.1.12, which is a manual review item; waive them.
    """
    assert_compliant(rbac.webhook_configuration_write(k8s_object, k8s_cluster))


@control(
    "nsa.rbac.csr-approval", title="No approving certificate signing requests", severity="high",
    category="authn_authz", frameworks=["nsa"], guide=f"{SECTION}: RBAC least privilege (certificates)",
    references={"kubescape": ["C-0280"], "cis": ["5.1.11"]},
    remediation="Remove update on certificatesigningrequests/approval and approve on signers; leave approval to "
                "the controller manager's approver, or limit signers to a custom signer name.",
)
@BINDINGS
def test_no_csr_approval(k8s_object: K8sObject, k8s_cluster: Inventory) -> None:
    """Approving a CSR mints a client certificate for any identity, system:masters included.

    Fails when one binding grants both update (or patch) on
    certificatesigningrequests/approval and approve on signers, as the API
    server requires both. CIS 5.1.11 and Kubescape C-0280 read the approval
    subresource; the signers half is what makes it an approval.
    """
    assert_compliant(rbac.csr_approval(k8s_object, k8s_cluster))


@control(
    "nsa.rbac.unused-roles", title="Roles are bound somewhere (unused roles listed)", severity="info",
    category="authn_authz", frameworks=["nsa"], guide=f"{SECTION}: audit RBAC periodically",
    remediation="Delete roles nobody uses, or bind them where they are needed.",
)
@pytest.mark.k8s_select(
    kinds=["Role", "ClusterRole"], include_system=True,
    empty_reason="no Role or ClusterRole among the inputs: give the RBAC manifests, or scan a live cluster")
def test_roles_are_used(k8s_object: K8sObject, k8s_cluster: Inventory) -> None:
    """The guide asks for RBAC to be audited periodically; a role no binding uses is permission nobody reviews.

    Information only. A ClusterRole aggregated into another counts as
    used; Kubernetes' default roles are not applicable. Judged on a cluster
    (live, snapshot, kubectl get output): on application manifests a
    binding may live elsewhere, and the test is skipped saying so.
    Kubescape and Trivy have no such control.
    """
    assert_compliant(rbac.unused_role(k8s_object, k8s_cluster))
