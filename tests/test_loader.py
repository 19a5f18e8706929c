"""Reading manifests: formats, line numbers, scope, and every kind of bad input."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from pytest_k8shardening.loader import REDACTED, ManifestError, load_inventory, load_paths, parse_text
from pytest_k8shardening.model import Scope

DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: shop
spec:
  template:
    spec:
      containers:
        - name: web
          image: nginx
"""


def test_multi_document_yaml_with_lines(tmp_path: Path) -> None:
    text = "# comment\n---\n" + DEPLOY + "---\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n"
    objs = parse_text(text, "x.yaml")
    assert [(o.kind, o.ref, o.source.line, o.source.document) for o in objs] == [
        ("Deployment", "shop/Deployment/api", 3, 1),
        ("Namespace", "Namespace/shop", 16, 3),
    ]


def test_kind_list_as_kubectl_writes_it() -> None:
    text = ("apiVersion: v1\nkind: List\nmetadata:\n  resourceVersion: ''\nitems:\n"
            "- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: a\n    namespace: x\n"
            "- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: b\n")
    objs = parse_text(text, "list.yaml")
    assert [(o.ref, o.source.line) for o in objs] == [("x/ConfigMap/a", 6), ("default/ConfigMap/b", 11)]


def test_typed_list_from_the_api_without_item_kinds() -> None:
    doc = {"apiVersion": "v1", "kind": "PodList", "metadata": {},
           "items": [{"metadata": {"name": "p", "namespace": "n"}, "spec": {"containers": []}}]}
    [o] = parse_text(json.dumps(doc), "pods.json", is_json=True)
    assert (o.kind, o.api_version, o.ref) == ("Pod", "v1", "n/Pod/p")


def test_json_file(tmp_path: Path) -> None:
    f = tmp_path / "d.json"
    f.write_text(json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}))
    objs, files = load_paths([str(f)])
    assert [o.ref for o in objs] == ["Namespace/a"] and files == [str(f)]


def test_directory_is_walked_sorted_and_skips_other_files(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "z.yml").write_text("kind: Namespace\napiVersion: v1\nmetadata: {name: z}\n")
    (tmp_path / "a.yaml").write_text("kind: Namespace\napiVersion: v1\nmetadata: {name: a}\n")
    (tmp_path / "README.md").write_text("# not yaml: {")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "x.yaml").write_text("not: [valid")
    objs, files = load_paths([str(tmp_path)])
    assert [o.name for o in objs] == ["a", "z"]
    assert len(files) == 2


def test_stdin() -> None:
    objs, files = load_paths(["-"], stdin=io.BytesIO(DEPLOY.encode()))
    assert [o.ref for o in objs] == ["shop/Deployment/api"] and files == ["<stdin>"]
    assert objs[0].source.file == "<stdin>"


def test_namespaceless_object_lands_in_default_and_cluster_scoped_has_none() -> None:
    objs = parse_text("kind: Pod\napiVersion: v1\nmetadata: {name: p}\n---\n"
                      "kind: ClusterRole\napiVersion: rbac.authorization.k8s.io/v1\nmetadata: {name: r}\n", "x")
    assert [(o.namespace, o.ref) for o in objs] == [("default", "default/Pod/p"), (None, "ClusterRole/r")]


def test_unknown_kinds_are_kept() -> None:
    [o] = parse_text("apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: c, namespace: n}\n", "x")
    assert o.ref == "n/Certificate/c"


def test_secret_values_are_redacted_on_read() -> None:
    text = ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  annotations:\n"
            "    kubectl.kubernetes.io/last-applied-configuration: '{\"data\":{\"pw\":\"aHVudGVyMg==\"}}'\n"
            "data:\n  pw: aHVudGVyMg==\nstringData:\n  token: hunter2\n")
    [o] = parse_text(text, "s.yaml")
    assert o.raw["data"] == {"pw": REDACTED} and o.raw["stringData"] == {"token": REDACTED}
    assert "hunter2" not in json.dumps(o.raw) and "aHVudGVyMg" not in json.dumps(o.raw)


@pytest.mark.parametrize(("text", "message"), [
    ("kind: Pod\nmetadata: {name: [unclosed\n", "x.yaml: document 1: invalid YAML"),
    ("kind: Namespace\nmetadata: {name: a}\n---\nkind: Pod\n  bad indent: x\n", "x.yaml: document 2: invalid YAML"),
    ("- just\n- a list\n", "x.yaml: document 1: expected a Kubernetes object"),
    ("apiVersion: v1\nmetadata: {name: x}\n", "x.yaml: document 1: object has no kind"),
    ("apiVersion: v1\nkind: Pod\n", "x.yaml: document 1: Pod has no metadata mapping"),
    ("apiVersion: v1\nkind: Pod\nmetadata: {namespace: a}\n", "x.yaml: document 1: Pod has no metadata.name"),
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: a, labels: [x]}\n", "metadata.labels must be a mapping"),
    ("apiVersion: v1\nkind: List\nitems:\n- {kind: Pod, metadata: {}}\n", "document 1, items[0]: Pod has no metadata.name"),
    ("apiVersion: v1\nkind: List\nitems: {a: 1}\n", "List.items must be a list"),
    ("a: &a [1]\nb: &b [*a, *a]\n", "document 1: object has no kind"),
    ("a: &a [*a]\n", "recursive YAML alias"),
])
def test_bad_documents_name_file_and_document(text: str, message: str) -> None:
    with pytest.raises(ManifestError, match=None) as err:
        parse_text(text, "x.yaml")
    assert message in str(err.value)


def test_invalid_json_names_position(tmp_path: Path) -> None:
    f = tmp_path / "bad.json"
    f.write_text('{"kind": "Pod",\n "metadata": }')
    with pytest.raises(ManifestError, match=r"bad.json: invalid JSON at line 2 column 14"):
        load_paths([str(f)])


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    text = "kind: ConfigMap\napiVersion: v1\nmetadata: {name: x}\ndata:\n" + "\n".join("  " + x for x in lines)
    with pytest.raises(ManifestError, match="alias bomb"):
        parse_text(text, "bomb.yaml")


def test_node_limit_without_aliases() -> None:
    """Alias-free texts skip the node walk only when too short to reach the limit."""
    items = ",".join(["1"] * 300)
    text = f"kind: ConfigMap\napiVersion: v1\nmetadata: {{name: x}}\ndata: {{a: [{items}]}}\n"
    with pytest.raises(ManifestError, match="x.yaml: document 1"):
        parse_text(text, "x.yaml", max_nodes=200)
    [o] = parse_text(text, "x.yaml", max_nodes=len(text) + 1)
    assert len(o.raw["data"]["a"]) == 300


def test_small_aliases_are_fine() -> None:
    text = ("kind: ConfigMap\napiVersion: v1\nmetadata: {name: x, labels: &l {app: a}}\n"
            "data: {a: &v hello, b: *v}\n")
    [o] = parse_text(text, "x.yaml")
    assert o.raw["data"] == {"a": "hello", "b": "hello"}


def test_huge_file_is_refused_before_reading(tmp_path: Path) -> None:
    f = tmp_path / "big.yaml"
    f.write_bytes(b"#" * 2048)
    with pytest.raises(ManifestError, match="big.yaml: cannot read: file is larger than the limit of 1024 bytes"):
        load_paths([str(f)], max_bytes=1024)


def test_huge_stdin_is_refused() -> None:
    with pytest.raises(ManifestError, match="<stdin>: input is larger than 10 bytes"):
        load_paths(["-"], stdin=io.BytesIO(b"x" * 100), max_bytes=10)


def test_missing_path() -> None:
    with pytest.raises(ManifestError, match="nope.yaml: no such file or directory"):
        load_paths(["nope.yaml"])


def test_unreadable_file(tmp_path: Path) -> None:
    f = tmp_path / "locked.yaml"
    f.write_text("kind: Pod")
    f.chmod(0)
    try:
        import os
        if os.geteuid() == 0:
            pytest.skip("root reads files regardless of their mode")
        with pytest.raises(ManifestError, match="locked.yaml: cannot read"):
            load_paths([str(f)])
    finally:
        f.chmod(0o644)


def test_binary_file(tmp_path: Path) -> None:
    f = tmp_path / "x.yaml"
    f.write_bytes(b"\xff\xfe\x00kind")
    with pytest.raises(ManifestError, match="x.yaml: not UTF-8 text"):
        load_paths([str(f)])


def test_empty_targets(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="no manifest files"):
        load_inventory([str(tmp_path)], Scope())
    (tmp_path / "empty.yaml").write_text("# nothing\n---\n")
    with pytest.raises(ManifestError, match=r"no Kubernetes objects found in 1 file\(s\)"):
        load_inventory([str(tmp_path)], Scope())


@pytest.mark.parametrize(("patch", "message"), [
    ("      containers: {name: web}\n", "spec.template.spec.containers must be a list"),
    ("      containers: [web]\n", "spec.template.spec.containers[0] must be a mapping"),
    ("      containers: [{image: x}]\n", "spec.template.spec.containers[0] has no name"),
    ("      containers: [{name: w, securityContext: {privileged: 'true'}}]\n",
     "containers[0].securityContext.privileged must be true or false, not 'true'"),
    ("      securityContext: {runAsUser: '0'}\n      containers: []\n",
     "spec.template.spec.securityContext.runAsUser must be an integer"),
    ("      securityContext: {supplementalGroups: [a]}\n      containers: []\n",
     "supplementalGroups must be a list of integers"),
    ("      initContainers: [{name: i, securityContext: {capabilities: [ALL]}}]\n",
     "initContainers[0].securityContext.capabilities must be a mapping"),
])
def test_malformed_pod_spec_is_a_clear_error(tmp_path: Path, patch: str, message: str) -> None:
    f = tmp_path / "d.yaml"
    f.write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: shop}\n"
                 "spec:\n  template:\n    spec:\n" + patch)
    with pytest.raises(ManifestError) as err:
        load_inventory([str(f)], Scope())
    assert f"{f}:1: Deployment shop/Deployment/api:" in str(err.value)
    assert message in str(err.value)


def test_scoped_workloads_follow_added_objects_and_a_new_scope() -> None:
    """Inventory.workloads() is computed once per scope; adding workloads or changing the scope recomputes
    it, and callers get their own list."""
    from pytest_k8shardening.model import Inventory, K8sObject, Source

    def pod(ns: str, name: str) -> K8sObject:
        return K8sObject({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns},
                          "spec": {"containers": [{"name": "c", "image": "x"}]}}, Source("m.yaml"))

    inv = Inventory([pod("shop", "a"), pod("kube-system", "k")])
    first = inv.workloads()
    assert [w.name for w in first] == ["a"]
    assert [w.name for w in inv.workloads(ignore_system_default=True)] == ["a", "k"]
    first.clear()  # the caller's own copy
    assert [w.name for w in inv.workloads()] == ["a"]
    inv.add([pod("shop", "b")])
    assert [w.name for w in inv.workloads()] == ["a", "b"]
    inv.scope = Scope(exclude=("shop",))
    assert inv.workloads() == [] and [c.workload.name for c in inv.containers(ignore_system_default=True)] == ["k"]
