"""Read Kubernetes objects from manifest files, directories and stdin.

Accepts multi-document YAML, JSON, and ``kind: List`` (what ``kubectl get -o
yaml`` writes). Every problem is a :class:`ManifestError` naming the file and
the document; nothing is silently dropped. Secret values are replaced by
``"<redacted>"`` as soon as they are read, so no report or snapshot can leak
them.

Guards: a file larger than ``max_bytes`` is refused before it is read, and a
YAML document whose aliases would expand past ``max_nodes`` nodes (an "alias
bomb") is refused before it is constructed.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, cast

import yaml

from .model import InvalidObject, Inventory, K8sObject, Scope, Source

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_MAX_NODES", "ManifestError", "load_inventory", "load_paths", "parse_text",
           "make_object", "read_stdin"]

DEFAULT_MAX_BYTES = 128 * 1024 * 1024
DEFAULT_MAX_NODES = 2_000_000
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
REDACTED = "<redacted>"

try:  # libyaml is ~10x faster; fall back to the pure-Python loader.
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    _Loader = yaml.SafeLoader


class ManifestError(Exception):
    """Input that cannot be read as Kubernetes objects. Becomes a usage error."""


class K8sYamlLoader(_Loader):  # type: ignore[misc,valid-type]
    """YAML as Kubernetes reads it (sigs.k8s.io/yaml turns YAML into JSON).

    A date-like scalar (``2024-01-02``, even ``2024-13-45``) stays the string it
    is, as kubectl sends it; tags JSON cannot carry (``!!binary``, ``!!set``,
    ``!!timestamp``, ``!!omap``, ``!!pairs``) are refused, so an object is the
    same JSON everywhere: serially, in an xdist worker's snapshot, on a cluster.
    """


K8sYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in cast(Any, _Loader).yaml_implicit_resolvers.items()}


def _refuse_tag(loader: Any, node: yaml.Node) -> Any:
    raise yaml.constructor.ConstructorError(
        None, None, f"the tag {node.tag.replace('tag:yaml.org,2002:', '!!')} has no JSON form, so no Kubernetes "
        "object can hold it", node.start_mark)


for _tag in ("binary", "timestamp", "set", "omap", "pairs"):
    K8sYamlLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _refuse_tag)


def load_paths(paths: Iterable[str], *, max_bytes: int = DEFAULT_MAX_BYTES,
               max_nodes: int = DEFAULT_MAX_NODES, stdin: BinaryIO | bytes | None = None,
               ) -> tuple[list[K8sObject], list[str]]:
    """Read every manifest under ``paths`` (``-`` is stdin: ``stdin`` if given, else the process's).

    Returns the objects and the list of files read, in a stable order
    (directories are walked sorted).
    """
    objects: list[K8sObject] = []
    files: list[str] = []
    for arg in paths:
        if arg == "-":
            if stdin is None:
                data = read_stdin(max_bytes)
            elif isinstance(stdin, bytes):
                data = stdin
            else:
                data = stdin.read(max_bytes + 1)
            if data is None:
                raise ManifestError("<stdin>: standard input is closed, so - has nothing to read")
            if len(data) > max_bytes:
                raise ManifestError(f"<stdin>: input is larger than {max_bytes} bytes (raise k8s_max_file_size)")
            found = parse_text(_decode(data, "<stdin>"), "<stdin>", max_nodes=max_nodes)
            if not found:  # an empty pipe (a failed `helm template | pytest ...`) is never an empty cluster
                raise ManifestError("<stdin>: no Kubernetes objects on standard input (-)")
            objects.extend(found)
            files.append("<stdin>")
            continue
        path = Path(arg)
        if not path.exists():
            raise ManifestError(f"{arg}: no such file or directory")
        for file in _expand(path):
            objects.extend(_load_file(file, max_bytes=max_bytes, max_nodes=max_nodes))
            files.append(str(file))
    return objects, files


def read_stdin(limit: int = DEFAULT_MAX_BYTES) -> bytes | None:
    """Read standard input (at most ``limit + 1`` bytes, so an overlong input is detectable);
    None when it is closed or cannot be read (never mistaken for an empty input)."""
    stream = sys.__stdin__
    if stream is None:
        return None
    try:
        return stream.buffer.read(limit + 1)
    except (OSError, ValueError):
        return None


def _expand(path: Path) -> Iterator[Path]:
    if path.is_file():
        yield path
        return
    if not path.is_dir():
        raise ManifestError(f"{path}: not a regular file or directory")
    try:
        for root, dirs, names in os.walk(path, onerror=_raise):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(names):
                if name.endswith(MANIFEST_SUFFIXES) and not name.startswith("."):
                    yield Path(root) / name
    except OSError as exc:
        raise ManifestError(f"{exc.filename or path}: cannot read directory: {exc.strerror}") from None


def _raise(exc: OSError) -> None:
    raise exc


def _load_file(file: Path, *, max_bytes: int, max_nodes: int) -> list[K8sObject]:
    try:
        size = file.stat().st_size
        if size > max_bytes:
            raise ManifestError(f"{file}: file is {size} bytes, larger than the limit of {max_bytes} "
                                "(raise it with the k8s_max_file_size ini option)")
        data = file.read_bytes()
    except OSError as exc:
        raise ManifestError(f"{file}: cannot read: {exc.strerror}") from None
    return parse_text(_decode(data, str(file)), str(file), max_nodes=max_nodes, is_json=file.suffix == ".json")


def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ManifestError(f"{name}: not UTF-8 text (byte {exc.start})") from None


def parse_text(text: str, name: str, *, max_nodes: int = DEFAULT_MAX_NODES, is_json: bool = False) -> list[K8sObject]:
    """Parse one file's text into objects. ``name`` appears in every error."""
    if is_json or text.lstrip().startswith(("{", "[")):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            if is_json:
                raise ManifestError(f"{name}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
        except (ValueError, RecursionError) as exc:  # an integer past Python's digit limit; nesting too deep
            raise ManifestError(f"{name}: cannot read: {_value_problem(exc)}") from None
        else:
            return list(_objects_from_document(doc, name, 1, None, None))
    return list(_parse_yaml(text, name, max_nodes))


def _parse_yaml(text: str, name: str, max_nodes: int) -> Iterator[K8sObject]:
    # Without an anchor (&) there is no alias, so a document's expanded size is its written
    # size; and every node takes at least a character, so a shorter text cannot reach
    # max_nodes. The guard (a walk of every node) is then skipped: a fifth of the parse time.
    guard = "&" in text or len(text) >= max_nodes
    loader = K8sYamlLoader(text)
    doc_index = 0
    try:
        while True:
            try:
                if not loader.check_node():
                    break
                doc_index += 1
                node = loader.get_node()
                if node is None:
                    continue
                if guard:
                    _guard_size(node, max_nodes, name, doc_index)
                data = loader.construct_document(node)
            except yaml.YAMLError as exc:
                raise ManifestError(f"{name}: document {doc_index or 1}: invalid YAML: {_yaml_message(exc)}") from None
            except (ValueError, RecursionError) as exc:  # an integer past Python's digit limit; nesting too deep
                raise ManifestError(f"{name}: document {doc_index or 1}: {_value_problem(exc)}") from None
            if data is None:  # an empty document, e.g. a trailing '---'
                continue
            yield from _objects_from_document(data, name, doc_index, node.start_mark.line + 1, node)
    finally:
        loader.dispose()


def _value_problem(exc: Exception) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    text = str(exc)
    if "integer string conversion" in text:
        return "an integer has more digits than Python reads (sys.get_int_max_str_digits())"
    return text.partition("\n")[0]


def _yaml_message(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        return f"{exc.problem or exc.context}{where}"
    return str(exc)


def _guard_size(root: yaml.Node, max_nodes: int, name: str, doc: int) -> None:
    """Refuse a document whose expanded size (aliases followed) exceeds ``max_nodes``.

    Sizes are memoised per node, so this is linear in the *written* size even
    for a billion-laughs document whose expansion is exponential.
    """
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if key in sizes and not done:
            continue
        if isinstance(node, yaml.ScalarNode):
            sizes[key] = 1
            continue
        children: list[yaml.Node]
        if isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        else:
            children = list(node.value)
        if not done:
            if key in sizes:
                continue
            sizes[key] = -1  # in progress (a recursive alias)
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in sizes)
            continue
        total = 1
        for c in children:
            s = sizes.get(id(c), 1)
            if s < 0:
                raise ManifestError(f"{name}: document {doc}: recursive YAML alias")
            total += s
            if total > max_nodes:
                raise ManifestError(
                    f"{name}: document {doc}: YAML aliases expand to more than {max_nodes} nodes "
                    "(an alias bomb?); refusing to read it")
        sizes[key] = total


def _objects_from_document(doc: Any, name: str, doc_index: int, line: int | None,
                           node: yaml.Node | None) -> Iterator[K8sObject]:
    where = f"{name}: document {doc_index}"
    if not isinstance(doc, dict):
        raise ManifestError(f"{where}: expected a Kubernetes object (a mapping with kind and metadata), "
                            f"got {type(doc).__name__}")
    kind = doc.get("kind")
    if kind == "List" or (isinstance(kind, str) and kind.endswith("List") and "items" in doc):
        items = doc.get("items")
        if items is None:
            items = []
        if not isinstance(items, list):
            raise ManifestError(f"{where}: {kind}.items must be a list")
        # The API's typed lists (PodList, ...) leave kind and apiVersion off their items.
        item_kind = kind[: -len("List")] if kind != "List" else None
        item_nodes = _items_nodes(node)
        for i, item in enumerate(items):
            if item_kind and isinstance(item, dict) and "kind" not in item:
                item = {"apiVersion": doc.get("apiVersion", ""), "kind": item_kind, **item}
            item_line = item_nodes[i].start_mark.line + 1 if i < len(item_nodes) else line
            yield make_object(item, f"{where}, items[{i}]", Source(name, item_line, doc_index))
        return
    yield make_object(doc, where, Source(name, line, doc_index))


def _items_nodes(node: yaml.Node | None) -> list[yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        return []
    for key, value in node.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "items" and isinstance(value, yaml.SequenceNode):
            return list(value.value)
    return []


def make_object(raw: Any, where: str, source: Source) -> K8sObject:
    """Validate one object (kind, metadata, name) and wrap it; ``where`` names it in errors."""
    if not isinstance(raw, dict):
        raise ManifestError(f"{where}: expected a Kubernetes object (a mapping), got {type(raw).__name__}")
    kind = raw.get("kind")
    if not isinstance(kind, str) or not kind:
        raise ManifestError(f"{where}: object has no kind")
    meta = raw.get("metadata")
    if meta is None and kind == "KubeletConfiguration":
        # A kubelet config file (/var/lib/kubelet/config.yaml) has no metadata: name it after its file.
        meta = {"name": os.path.splitext(os.path.basename(source.file or "kubelet"))[0]}
        raw = {**raw, "metadata": meta}
    if not isinstance(meta, dict):
        raise ManifestError(f"{where}: {kind} has no metadata mapping")
    name = meta.get("name") or meta.get("generateName")
    if not isinstance(name, str) or not name:
        raise ManifestError(f"{where}: {kind} has no metadata.name")
    ns = meta.get("namespace")
    if ns is not None and not isinstance(ns, str):
        raise ManifestError(f"{where}: {kind} {name}: metadata.namespace must be a string")
    for key in ("labels", "annotations"):
        value = meta.get(key)
        if value is not None and not isinstance(value, dict):
            raise ManifestError(f"{where}: {kind} {name}: metadata.{key} must be a mapping")
    if kind == "Secret":
        raw = redact_secret(raw)
    return K8sObject(raw, source)


def redact_secret(raw: dict[str, Any]) -> dict[str, Any]:
    """A copy of a Secret with every value replaced; keys and type are kept."""
    out = dict(raw)
    for key in ("data", "stringData"):
        values = raw.get(key)
        if isinstance(values, dict):
            out[key] = {k: REDACTED for k in values}
        elif values is not None:
            out[key] = REDACTED
    meta = raw.get("metadata")
    if isinstance(meta, dict):
        ann = meta.get("annotations")
        if isinstance(ann, dict) and "kubectl.kubernetes.io/last-applied-configuration" in ann:
            # kubectl keeps the whole applied Secret, values included, in this annotation.
            meta = dict(meta)
            meta["annotations"] = {**ann, "kubectl.kubernetes.io/last-applied-configuration": REDACTED}
            out["metadata"] = meta
    return out


def load_inventory(paths: Iterable[str], scope: Scope, *, max_bytes: int = DEFAULT_MAX_BYTES,
                   max_nodes: int = DEFAULT_MAX_NODES, stdin: bytes | None = None) -> Inventory:
    """Read ``paths`` into an :class:`Inventory`, validating every workload.

    Raises :class:`ManifestError` on any problem, including an empty target.
    """
    paths = list(paths)
    objects, files = load_paths(paths, max_bytes=max_bytes, max_nodes=max_nodes, stdin=stdin)
    if not files:
        raise ManifestError(f"{', '.join(paths)}: no manifest files (*.yaml, *.yml, *.json) found")
    if not objects:
        raise ManifestError(f"{', '.join(paths)}: no Kubernetes objects found in {len(files)} file(s)")
    inventory = Inventory(objects, sources=files, scope=scope)
    validate(inventory)
    return inventory


def validate(inventory: Inventory) -> None:
    """Build every workload view once, so a malformed pod spec fails up front."""
    try:
        inventory.all_workloads()
    except InvalidObject as exc:
        raise ManifestError(str(exc)) from None
