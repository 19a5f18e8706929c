"""Fields of the wrong shape are usage errors naming file, object and field (issue 14, item 4).

Table-driven: each row is a realistic manifest with one field of a shape
the API server refuses, and the field path the error must name; then the
shapes the API server accepts (null lists, int-or-string ports, quantities
as numbers), which must load. End to end, the NSA and the PSS suites give
the same usage error (exit status 4), never a pass, a finding or a
traceback.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_k8shardening.loader import ManifestError, load_inventory
from pytest_k8shardening.model import Scope

DEPLOY = """apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  template:
    metadata: {labels: {app: api}}
    spec:
"""
CTR = "      containers:\n      - name: web\n        image: nginx:1.27\n"
RBAC = "rbac.authorization.k8s.io/v1"


def deploy(pod: str = "", container: str = "") -> str:
    """A Deployment; ``pod`` lines go in the pod spec (6 spaces), ``container`` lines in container web (8)."""
    return DEPLOY + pod + CTR + container


BAD = [
    # ------------------------------------------------------------- RBAC (the cases)
    ("rbac-rules-mapping",
     f"apiVersion: {RBAC}\nkind: ClusterRole\nmetadata: {{name: all}}\n"
     "rules: {verbs: ['*'], apiGroups: ['*'], resources: ['*']}\n",
     "ClusterRole ClusterRole/all: rules must be a list, not a mapping"),
    ("rbac-subjects-mapping",
     f"apiVersion: {RBAC}\nkind: ClusterRoleBinding\nmetadata: {{name: ops}}\n"
     "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\n"
     "subjects: {kind: Group, name: ops, apiGroup: rbac.authorization.k8s.io}\n",
     "ClusterRoleBinding ClusterRoleBinding/ops: subjects must be a list, not a mapping"),
    ("rbac-verbs-string",
     f"apiVersion: {RBAC}\nkind: Role\nmetadata: {{name: r, namespace: shop}}\n"
     "rules: [{verbs: get, apiGroups: [''], resources: [secrets]}]\n",
     "rules[0].verbs must be a list, not 'get'"),
    ("rbac-resource-item-number",
     f"apiVersion: {RBAC}\nkind: Role\nmetadata: {{name: r, namespace: shop}}\n"
     "rules: [{verbs: [get], apiGroups: [''], resources: [1]}]\n",
     "rules[0].resources[0] must be a string, not the number 1"),
    ("rbac-roleref-list",
     f"apiVersion: {RBAC}\nkind: RoleBinding\nmetadata: {{name: b, namespace: shop}}\n"
     "roleRef: [ClusterRole, admin]\nsubjects: [{kind: User, name: u}]\n",
     "roleRef must be a mapping, not a list"),
    ("rbac-subject-null-item",
     f"apiVersion: {RBAC}\nkind: RoleBinding\nmetadata: {{name: b, namespace: shop}}\n"
     "roleRef: {kind: ClusterRole, name: admin}\nsubjects: [null]\n",
     "subjects[0] is null"),
    ("rbac-aggregation-selectors-mapping",
     f"apiVersion: {RBAC}\nkind: ClusterRole\nmetadata: {{name: agg}}\n"
     "aggregationRule: {clusterRoleSelectors: {matchLabels: {a: b}}}\n",
     "aggregationRule.clusterRoleSelectors must be a list"),
    # ------------------------------------------------------------- pod spec
    ("volumes-mapping-runtime-socket",
     deploy("      volumes: {name: sock, hostPath: {path: /var/run/docker.sock}}\n"),
     "spec.template.spec.volumes must be a list, not a mapping"),
    ("volume-source-string", deploy("      volumes: [{name: h, hostPath: /etc}]\n"),
     "spec.template.spec.volumes[0].hostPath must be a mapping, not '/etc'"),
    ("volume-host-path-number", deploy("      volumes: [{name: h, hostPath: {path: 5}}]\n"),
     "volumes[0].hostPath.path must be a string"),
    ("volume-name-number", deploy("      volumes: [{name: 1, emptyDir: {}}]\n"),
     "volumes[0].name must be a string"),
    ("ports-mapping", deploy(container="        ports: {containerPort: 80, hostPort: 80}\n"),
     "spec.template.spec.containers[0].ports must be a list, not a mapping"),
    ("host-port-string", deploy(container="        ports: [{containerPort: 80, hostPort: '80'}]\n"),
     "containers[0].ports[0].hostPort must be an integer, not '80'"),
    ("host-port-float", deploy(container="        ports: [{containerPort: 80, hostPort: 80.5}]\n"),
     "ports[0].hostPort must be an integer, not the number 80.5"),
    ("container-port-out-of-range", deploy(container="        ports: [{containerPort: 4294967376}]\n"),
     "ports[0].containerPort must be an integer, and the number 4294967376 is out of its range"),
    ("env-mapping", deploy(container="        env: {DB_PASSWORD: hunter2}\n"),
     "containers[0].env must be a list, not a mapping"),
    ("env-value-number", deploy(container="        env: [{name: PORT, value: 8080}]\n"),
     "containers[0].env[0].value must be a string, not the number 8080"),
    ("env-from-mapping", deploy(container="        envFrom: {secretRef: {name: db}}\n"),
     "containers[0].envFrom must be a list"),
    ("volume-mounts-mapping", deploy(container="        volumeMounts: {name: data, mountPath: /data}\n"),
     "containers[0].volumeMounts must be a list"),
    ("read-only-string", deploy(container="        volumeMounts: [{name: d, mountPath: /d, readOnly: 'true'}]\n"),
     "volumeMounts[0].readOnly must be true or false"),
    ("capabilities-add-objects",
     deploy(container="        securityContext: {capabilities: {add: [{name: SYS_ADMIN}]}}\n"),
     "containers[0].securityContext.capabilities.add[0] must be a string, not a mapping"),
    ("capabilities-drop-string", deploy(container="        securityContext: {capabilities: {drop: ALL}}\n"),
     "capabilities.drop must be a list, not 'ALL'"),
    ("seccomp-type-bool", deploy(container="        securityContext: {seccompProfile: {type: true}}\n"),
     "seccompProfile.type must be a string, not the boolean true"),
    ("proc-mount-list", deploy(container="        securityContext: {procMount: [Unmasked]}\n"),
     "securityContext.procMount must be a string"),
    ("command-mapping", deploy(container="        command: {run: kube-apiserver}\n"),
     "containers[0].command must be a list"),
    ("args-number", deploy(container="        args: [--port, 8080]\n"),
     "containers[0].args[1] must be a string, not the number 8080"),
    ("image-list", deploy(container="        image2: x\n").replace("image: nginx:1.27", "image: [nginx]"),
     "containers[0].image must be a string, not a list"),
    ("limits-list", deploy(container="        resources: {limits: [cpu]}\n"),
     "containers[0].resources.limits must be a mapping"),
    ("limit-bool", deploy(container="        resources: {limits: {cpu: true}}\n"),
     "resources.limits[cpu] must be a quantity"),
    ("probe-host-number", deploy(container="        livenessProbe: {httpGet: {host: 10, port: 80}}\n"),
     "livenessProbe.httpGet.host must be a string"),
    ("probe-port-list", deploy(container="        readinessProbe: {tcpSocket: {port: [80]}}\n"),
     "readinessProbe.tcpSocket.port must be an integer"),
    ("lifecycle-list", deploy(container="        lifecycle: [preStop]\n"),
     "containers[0].lifecycle must be a mapping"),
    ("sysctls-mapping", deploy("      securityContext: {sysctls: {kernel.msgmax: '1'}}\n"),
     "spec.template.spec.securityContext.sysctls must be a list"),
    ("service-account-list", deploy("      serviceAccountName: [api]\n"),
     "spec.template.spec.serviceAccountName must be a string"),
    ("os-name-number", deploy("      os: {name: 1}\n"),
     "spec.template.spec.os.name must be a string"),
    ("template-labels-list", DEPLOY.replace("{labels: {app: api}}", "{labels: [app]}") + CTR,
     "spec.template.metadata.labels must be a mapping"),
    ("template-annotation-bool", DEPLOY.replace("{labels: {app: api}}", "{annotations: {x: true}}") + CTR,
     "spec.template.metadata.annotations[x] must be a string, not the boolean true"),
    ("pod-volumes-mapping",
     "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec:\n"
     "  containers: [{name: c, image: x}]\n  volumes: {sock: {hostPath: {path: /run}}}\n",
     "Pod shop/Pod/p: spec.volumes must be a list"),
    ("cronjob-deep",
     "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: j, namespace: shop}\nspec:\n  schedule: '* * * * *'\n"
     "  jobTemplate: {spec: {template: {spec: {containers: [{name: c, image: x, ports: {a: 1}}]}}}}\n",
     "spec.jobTemplate.spec.template.spec.containers[0].ports must be a list"),
    # ------------------------------------------------------------- other kinds
    ("service-account-automount-string",
     "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: api, namespace: shop}\n"
     "automountServiceAccountToken: 'false'\n",
     "ServiceAccount shop/ServiceAccount/api: automountServiceAccountToken must be true or false"),
    ("network-policy-ingress-mapping",
     "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: np, namespace: shop}\n"
     "spec: {podSelector: {}, ingress: {from: []}}\n",
     "spec.ingress must be a list"),
    ("network-policy-types-string",
     "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: np, namespace: shop}\n"
     "spec: {podSelector: {}, policyTypes: Egress}\n",
     "spec.policyTypes must be a list, not 'Egress'"),
    ("network-policy-except-string",
     "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: np, namespace: shop}\n"
     "spec: {podSelector: {}, policyTypes: [Egress], egress: [{to: [{ipBlock: {cidr: 0.0.0.0/0, "
     "except: 169.254.169.254/32}}]}]}\n",
     "spec.egress[0].to[0].ipBlock.except must be a list"),
    ("network-policy-from-peer-string",
     "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: np, namespace: shop}\n"
     "spec: {podSelector: {}, ingress: [{from: [app=web]}]}\n",
     "spec.ingress[0].from[0] must be a mapping"),
    ("network-policy-selector-labels-list",
     "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: np, namespace: shop}\n"
     "spec: {podSelector: {matchLabels: [app]}}\n",
     "spec.podSelector.matchLabels must be a mapping"),
    ("limit-range-limits-mapping",
     "apiVersion: v1\nkind: LimitRange\nmetadata: {name: lr, namespace: shop}\n"
     "spec: {limits: {type: Container, default: {cpu: 1}}}\n",
     "spec.limits must be a list"),
    ("resource-quota-hard-list",
     "apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: q, namespace: shop}\nspec: {hard: [cpu]}\n",
     "spec.hard must be a mapping"),
    ("configmap-data-number",
     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\ndata: {port: 8080}\n",
     "data[port] must be a string, not the number 8080"),
    ("webhooks-mapping",
     "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\n"
     "metadata: {name: policy.sigstore.dev}\nwebhooks: {name: policy.sigstore.dev}\n",
     "webhooks must be a list"),
    ("kubelet-anonymous-string",
     "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
     "authentication: {anonymous: {enabled: 'true'}}\n",
     "authentication.anonymous.enabled must be true or false, not 'true'"),
    ("kubelet-read-only-port-string",
     "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nreadOnlyPort: '10255'\n",
     "readOnlyPort must be an integer"),
    ("kyverno-rules-mapping",
     "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: verify}\n"
     "spec: {rules: {verifyImages: []}}\n",
     "spec.rules must be a list"),
    ("owner-reference-uid-list",
     "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: shop\n  ownerReferences:\n"
     "  - {apiVersion: apps/v1, kind: ReplicaSet, name: rs, uid: [a], controller: true}\n"
     "spec: {containers: [{name: c, image: x}]}\n",
     "metadata.ownerReferences[0].uid must be a string, not a list"),
    ("owner-reference-controller-string",
     "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: shop\n  ownerReferences:\n"
     "  - {apiVersion: apps/v1, kind: ReplicaSet, name: rs, uid: a, controller: 'true'}\n"
     "spec: {containers: [{name: c, image: x}]}\n",
     "metadata.ownerReferences[0].controller must be true or false"),
    ("snapshot-status-unavailable-list",
     "apiVersion: k8shardening.io/v1\nkind: InventoryStatus\nmetadata: {name: inventory}\nfetched: [Pod]\n"
     "unavailable: [Secret]\n",
     "InventoryStatus InventoryStatus/inventory: unavailable must be a mapping, not a list"),
    ("api-version-number", "apiVersion: 1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\n",
     "apiVersion must be a string"),
]


@pytest.mark.parametrize(("text", "message"), [pytest.param(t, m, id=i) for i, t, m in BAD])
def test_wrong_shape_is_a_usage_error_naming_file_object_and_field(tmp_path: Path, text: str,
                                                                     message: str) -> None:
    f = tmp_path / "app.yaml"
    f.write_text(text)
    with pytest.raises(ManifestError) as err:
        load_inventory([str(f)], Scope())
    assert str(err.value).startswith(f"{f}:1: ")  # the file and line of the object
    assert message in str(err.value)


GOOD = [
    # go-yaml v2, the API server's decoder, keeps a timestamp-like scalar a string when decoding
    # into untyped JSON, so an unquoted date is a valid label value (the loader reads it the same way)
    ("label-date", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop, labels: "
                   "{released: 2024-05-01}}\n"),
    ("null-lists-and-sources", deploy("      volumes: [{name: v, hostPath: null, emptyDir: {}}]\n"
                                      "      initContainers: null\n",
                                      "        ports: null\n        env: null\n        securityContext:\n"
                                      "          capabilities: {add: null, drop: [ALL]}\n")),
    ("int-or-string-probe-ports", deploy(container="        livenessProbe: {httpGet: {port: http}}\n"
                                                   "        readinessProbe: {tcpSocket: {port: 8080}}\n")),
    ("quantities", deploy(container="        resources: {limits: {cpu: 1, memory: 512Mi}, requests: {cpu: 0.5}}\n")),
    ("volume-without-source", deploy("      volumes: [{name: scratch}]\n")),
    ("unknown-fields-left-alone", deploy("      dnsConfig: {options: 5}\n", "        stdin: 'yes'\n")),
    ("rbac-null-subjects",
     f"apiVersion: {RBAC}\nkind: RoleBinding\nmetadata: {{name: b, namespace: shop}}\n"
     "roleRef: {kind: ClusterRole, name: view}\nsubjects: null\n"),
    ("network-policy-named-port",
     "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: np, namespace: shop}\n"
     "spec: {podSelector: {}, ingress: [{ports: [{port: http}, {port: 53, protocol: UDP}]}]}\n"),
    ("calico-network-policy-other-schema",
     "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: np, namespace: shop}\n"
     "spec: {selector: all(), ingress: [{action: Allow}], types: Ingress}\n"),
    ("quoted-date-label", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop, labels: "
                          "{released: '2024-05-01'}}\ndata: {port: '8080'}\n"),
]


@pytest.mark.parametrize("text", [pytest.param(t, id=i) for i, t in GOOD])
def test_shapes_the_api_server_accepts_load(tmp_path: Path, text: str) -> None:
    f = tmp_path / "app.yaml"
    f.write_text(text)
    inv = load_inventory([str(f)], Scope())
    assert len(inv.objects) == 1


# ------------------------------------------------------------------ end to end, both suites
END_TO_END = [
    ("volumes-mapping-runtime-socket", "nsa", "spec.template.spec.volumes must be a list"),
    ("volumes-mapping-runtime-socket", "pss_baseline", "spec.template.spec.volumes must be a list"),
    ("capabilities-add-objects", "nsa", "capabilities.add[0] must be a string, not a mapping"),
    ("capabilities-add-objects", "pss_restricted", "capabilities.add[0] must be a string, not a mapping"),
    ("rbac-subjects-mapping", "nsa", "subjects must be a list, not a mapping"),
    ("env-mapping", "nsa", "containers[0].env must be a list"),
]


@pytest.mark.parametrize(("case", "marker", "message"), END_TO_END)
def test_both_suites_refuse_the_run(pytester: pytest.Pytester, case: str, marker: str, message: str) -> None:
    text = dict((i, t) for i, t, _ in BAD)[case]
    manifest = pytester.path / "app.yaml"
    manifest.write_text(text)
    result = pytester.runpytest_inprocess("--k8s-manifests", str(manifest), "-m", marker,
                                          "--k8s-fail-on", "critical")
    out = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR, out
    assert f"{manifest}:1: " in out and message in out
    assert "Traceback" not in out and "INTERNALERROR" not in out
