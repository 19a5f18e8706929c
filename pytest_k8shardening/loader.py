"""Read Kubernetes objects from manifest files, directories and stdin.

Accepts multi-document YAML, JSON, and ``kind: List`` (what ``kubectl get -o
yaml`` writes). Every problem is a :class:`ManifestError` naming the file and
the document; nothing is silently dropped. Secret values are replaced by
``"<redacted>"`` as soon as they are read, so no report or snapshot can leak
them.

Guards: a file larger than ``max_bytes`` is refused before it is read, and a
YAML document whose aliases would expand past ``max_nodes`` nodes or
``DEFAULT_MAX_EXPANDED_BYTES`` bytes of text (an "alias bomb") is refused
before it is constructed.
"""

from __future__ import annotations

import json
import os
import re
import sys
from array import array
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO, cast

import yaml

from .model import InvalidObject, Inventory, K8sObject, Scope, Source
from .safeio import read_regular_file

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_MAX_NODES", "Document", "ManifestError", "field_line", "line_table",
           "load_inventory", "load_paths", "make_object", "objects_of", "parse_documents", "parse_text", "read_stdin",
           "subject_line"]

DEFAULT_MAX_BYTES = 128 * 1024 * 1024
DEFAULT_MAX_NODES = 2_000_000
#: Scalar text a document may expand to through aliases: the file-size limit.
DEFAULT_MAX_EXPANDED_BYTES = DEFAULT_MAX_BYTES
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
REDACTED = "<redacted>"

try:  # libyaml is ~10x faster; fall back to the pure-Python loader.
    _BaseLoader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    _BaseLoader = yaml.SafeLoader


class ManifestError(Exception):
    """Input that cannot be read as Kubernetes objects. Becomes a usage error."""


class K8sYamlLoader(_BaseLoader):
    """YAML as Kubernetes reads it (sigs.k8s.io/yaml turns YAML into JSON through go-yaml v2).

    A date-like scalar (``2024-01-02``, even ``2024-13-45``) stays the string it
    is, as kubectl sends it; the YAML 1.1 value key ``=`` is the string ``"="``
    (PyYAML has no constructor for it; a widely used CRD's enum has it); tags
    JSON cannot carry (``!!binary``, ``!!set``, ``!!timestamp``, ``!!omap``,
    ``!!pairs``) are refused, so an object is the same JSON everywhere: serially,
    in an xdist worker's snapshot, on a cluster. A mapping key given twice keeps
    its last value, as JSON decoding does, and is recorded in ``duplicates`` so
    the run can warn about it.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[int, str]] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        keys = [k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode)]
        if len(keys) != len(set(keys)):
            seen: set[str] = set()
            for k, _ in node.value:
                if isinstance(k, yaml.ScalarNode):
                    if k.value in seen and k.value != "<<":
                        self.duplicates.append((k.start_mark.line + 1, k.value))
                    seen.add(k.value)
        return super().construct_mapping(node, deep)


K8sYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in cast(Any, _BaseLoader).yaml_implicit_resolvers.items()}


def _as_written(loader: Any, node: yaml.Node) -> str:
    return str(node.value)


def _refuse_tag(loader: Any, node: yaml.Node) -> Any:
    raise yaml.constructor.ConstructorError(
        None, None, f"the tag {node.tag.replace('tag:yaml.org,2002:', '!!')} has no JSON form, so no Kubernetes "
        "object can hold it", node.start_mark)


K8sYamlLoader.add_constructor("tag:yaml.org,2002:value", _as_written)
for _tag in ("binary", "timestamp", "set", "omap", "pairs"):
    K8sYamlLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _refuse_tag)


def load_paths(paths: Iterable[str], *, max_bytes: int = DEFAULT_MAX_BYTES,
               max_nodes: int = DEFAULT_MAX_NODES, stdin: BinaryIO | bytes | None = None,
               ) -> tuple[list[K8sObject], list[str]]:
    """Read every manifest under ``paths`` (``-`` is stdin: ``stdin`` if given, else the process's), strictly.

    Returns the objects and the list of files read, in a stable order
    (directories are walked sorted). The first input error is raised; use
    :func:`pytest_k8shardening.repository.scan` to collect them all instead.
    """
    from .repository import scan

    result = scan(paths, max_bytes=max_bytes, max_nodes=max_nodes, stdin=stdin)
    if result.errors:
        err = result.errors[0]
        raise ManifestError(f"{err.path}: {err.message}")
    return result.objects, result.files


def read_stdin(limit: int = DEFAULT_MAX_BYTES) -> bytes | None:
    """Read standard input (at most ``limit + 1`` bytes, so an overlong input is detectable);
    None when it is closed or cannot be read (never mistaken for an empty input)."""
    stream = sys.__stdin__
    if stream is None:
        return None
    try:
        return bytes(stream.buffer.read(limit + 1))
    except (OSError, ValueError):
        return None


def _load_bytes(file: Path, max_bytes: int) -> bytes:
    """A file's bytes, refusing one larger than ``max_bytes``."""
    try:
        return read_regular_file(file, max_bytes)  # regular files only; the limit counts bytes read
    except OSError as exc:
        raise ManifestError(f"{file}: cannot read: {exc.strerror}") from None


def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ManifestError(f"{name}: not UTF-8 text (byte {exc.start})") from None


def parse_text(text: str, name: str, *, max_nodes: int = DEFAULT_MAX_NODES, is_json: bool = False,
               warnings: list[str] | None = None) -> list[K8sObject]:
    """Parse one file's text into objects. ``name`` appears in every error.

    Strict: every document must be a Kubernetes object. Duplicate mapping keys
    are appended to ``warnings`` (when given) as ``name:line: ...`` lines.
    """
    return [obj for doc in parse_documents(text, name, max_nodes=max_nodes, is_json=is_json, warnings=warnings)
            for obj in objects_of(doc, name)]


#: One parsed document: its data, its index in the file (from 1), its first line, and its node.
Document = tuple[Any, int, int | None, yaml.Node | None]


def parse_documents(text: str, name: str, *, max_nodes: int = DEFAULT_MAX_NODES, is_json: bool = False,
                    warnings: list[str] | None = None) -> Iterator[Document]:
    """The documents of one file's text (empty ones left out), raising :class:`ManifestError` on bad syntax."""
    if is_json or text.lstrip().startswith(("{", "[")):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            if is_json:
                raise ManifestError(
                    f"{name}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
        except (ValueError, RecursionError) as exc:  # an integer past Python's digit limit; nesting too deep
            raise ManifestError(f"{name}: cannot read: {_value_problem(exc)}") from None
        else:
            yield doc, 1, 1, None
            return
    yield from _parse_yaml(text, name, max_nodes, warnings)


def objects_of(doc: Document, name: str) -> Iterator[K8sObject]:
    """The Kubernetes objects of one parsed document (a ``List`` gives its items)."""
    data, index, line, node = doc
    return _objects_from_document(data, name, index, line, node)


def _parse_yaml(text: str, name: str, max_nodes: int, warnings: list[str] | None = None) -> Iterator[Document]:
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
            if loader.duplicates:
                if warnings is not None:
                    warnings.extend(f"{name}:{line}: key {key!r} is given twice in one mapping; the last value is "
                                    "used (as the API server's decoding does; kubectl --validate=strict refuses it)"
                                    for line, key in loader.duplicates)
                loader.duplicates.clear()
            if data is None:  # an empty document, e.g. a trailing '---'
                continue
            yield data, doc_index, node.start_mark.line + 1, node
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


def _guard_size(root: yaml.Node, max_nodes: int, name: str, doc: int,
                max_bytes: int = DEFAULT_MAX_EXPANDED_BYTES) -> None:
    """Refuse a document whose expanded size (aliases followed) exceeds ``max_nodes``
    nodes or ``max_bytes`` bytes of scalar text.

    Bytes as well as nodes: a few long scalars reused by alias stay under any
    node limit, yet every report, snapshot and worker copy writes them out in
    full. The default byte limit is the file-size limit: expansion cannot make
    a document larger than a file that would be refused.
    Sizes are memoised per node, so this is linear in the *written* size even
    for a billion-laughs document whose expansion is exponential.
    """
    sizes: dict[int, tuple[int, int]] = {}  # id(node) -> (nodes, bytes); nodes -1 while in progress
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if key in sizes and not done:
            continue
        if isinstance(node, yaml.ScalarNode):
            sizes[key] = (1, len(node.value))
            continue
        children: list[yaml.Node]
        if isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        else:
            children = list(node.value)
        if not done:
            if key in sizes:
                continue
            sizes[key] = (-1, 0)  # in progress (a recursive alias)
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in sizes)
            continue
        total, size = 1, 0
        for c in children:
            n, b = sizes.get(id(c), (1, 0))
            if n < 0:
                raise ManifestError(f"{name}: document {doc}: recursive YAML alias")
            total += n
            size += b
            if total > max_nodes:
                raise ManifestError(
                    f"{name}: document {doc}: YAML aliases expand to more than {max_nodes} nodes "
                    "(an alias bomb?); refusing to read it")
            if size > max_bytes:
                raise ManifestError(
                    f"{name}: document {doc}: YAML aliases expand to more than {max_bytes} bytes of text "
                    "(an alias bomb?); refusing to read it")
        sizes[key] = (total, size)


# -- field lines ------------------------------------------------------------------------
#
# A finding names its field as a JSON path (``spec.template.spec.containers[0].securityContext.privileged``);
# reports point at that field's line. The composed YAML node tree knows every position; each object read
# from a file keeps them as a *line table*: an ``array`` with one line per value of ``obj.raw`` in
# pre-order (a mapping's values in its key order, a list's items in order; the object itself is left out,
# its line is ``source.line``). A mapping value's line is where its key is written, a list item's where
# the item starts (a container's ``- name:`` line); 0 where the YAML has no node for a value. Two bytes
# a value, built by walking ``raw`` and the node tree side by side, so the table follows ``raw`` even
# where it differs from the text (merge keys, a repeated key, a typed List's items given their kind).


def _merge_lines(keyed: dict[Any, tuple[int, yaml.Node]], v: yaml.Node) -> None:
    """A merge key (``<<: *base``): the merged mappings' keys, where the mapping's own keys do not win."""
    for m in ([v] if isinstance(v, yaml.MappingNode) else v.value if isinstance(v, yaml.SequenceNode) else []):
        if isinstance(m, yaml.MappingNode):
            for mk, mv in m.value:
                if isinstance(mk, yaml.ScalarNode):
                    keyed.setdefault(mk.value, (mk.start_mark.line + 1, mv))


def line_table(raw: Any, node: yaml.Node) -> array | None:
    """The line table of ``raw``, read from the node it was constructed from (see above)."""
    out: list[int] = []
    append = out.append

    def walk(value: Any, n: yaml.Node | None) -> None:
        if isinstance(value, dict):
            keyed: dict[Any, tuple[int, yaml.Node]] = {}
            if isinstance(n, yaml.MappingNode):
                for k, v in n.value:
                    if k.tag == "tag:yaml.org,2002:merge":
                        _merge_lines(keyed, v)
                    elif isinstance(k, yaml.ScalarNode):
                        keyed[k.value] = (k.start_mark.line + 1, v)  # a repeated key: the last one, as constructed
            for key, item in value.items():
                line, child = keyed.get(key, (0, None))
                append(line)
                if type(item) in (dict, list):
                    walk(item, child)
        elif isinstance(value, list):
            nodes = n.value if isinstance(n, yaml.SequenceNode) else []
            for i, item in enumerate(value):
                child = nodes[i] if i < len(nodes) else None
                append(child.start_mark.line + 1 if child is not None else 0)
                if type(item) in (dict, list):
                    walk(item, child)

    try:
        walk(raw, node)
    except RecursionError:  # nested past Python's limit: the object's own line still locates it
        return None
    return array("H" if max(out, default=0) < 1 << 16 else "I", out)


_SEGMENT = re.compile(r"\[([^\]]*)\]|([^.\[\]]+)")


def field_segments(field: str) -> list[str | int]:
    """``a.b[0].c[x.y]`` as ``['a', 'b', 0, 'c', 'x.y']``; text after a space (``command (--flag)``) is dropped."""
    path = field.split(" ", 1)[0]
    out: list[str | int] = []
    for bracket, plain in _SEGMENT.findall(path):
        if plain:
            out.append(plain)
        elif bracket.isdigit():
            out.append(int(bracket))
        else:
            out.append(bracket.strip("'\""))
    return out


def _size(value: Any) -> int:
    """How many table slots ``value``'s contents take (its own slot not counted)."""
    total = 0
    stack = [value]
    while stack:
        v = stack.pop()
        items = v.values() if isinstance(v, dict) else v
        for item in items:
            total += 1
            if type(item) in (dict, list):
                stack.append(item)
    return total


def field_line(raw: Any, table: Sequence[int] | None, field: str | None) -> int | None:
    """The line of the deepest part of ``field`` the table records (``None``: not even its first part)."""
    if table is None or not field:
        return None
    found: int | None = None
    value, index = raw, 0  # index: the slot of value's first child
    for seg in field_segments(field):
        if isinstance(value, dict) and isinstance(seg, str) and seg in value:
            for key, item in value.items():
                if key == seg:
                    break
                index += 1 + (_size(item) if type(item) in (dict, list) else 0)
        elif isinstance(value, list) and isinstance(seg, int) and 0 <= seg < len(value):
            for item in value[:seg]:
                index += 1 + (_size(item) if type(item) in (dict, list) else 0)
            item = value[seg]
        else:
            break
        if index >= len(table):
            break
        if table[index]:
            found = table[index]
        value, index = item, index + 1
        if type(value) not in (dict, list):
            break
    return found


def subject_line(subject: Any, field: str | None) -> int | None:
    """The line a finding on ``subject`` (object, workload, container, namespace) points at.

    The deepest recorded line of ``field``; else the container's line; else the object's. Objects
    rendered by helm or kustomize keep the object's line (the template's, when it can be told): a
    line of the rendered output means nothing in the source file. Objects from a cluster have none.
    """
    workload = getattr(subject, "workload", None)
    container_path = getattr(subject, "path", None) if workload is not None else None
    obj = subject if isinstance(subject, K8sObject) else getattr(subject, "obj", None) or getattr(workload, "obj", None)
    if obj is None:  # a namespace no object declares: where it is first named
        return getattr(getattr(subject, "source", None), "line", None)
    source = obj.source
    if source.unit is not None or source.file is None or obj.lines is None:
        return source.line
    return field_line(obj.raw, obj.lines, field) or field_line(obj.raw, obj.lines, container_path) or source.line


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
            item_node = item_nodes[i] if i < len(item_nodes) else None
            item_line = item_node.start_mark.line + 1 if item_node is not None else line
            obj = make_object(item, f"{where}, items[{i}]", Source(name, item_line, doc_index))
            if item_node is not None:
                obj.lines = line_table(obj.raw, item_node)
            yield obj
        return
    obj = make_object(doc, where, Source(name, line, doc_index))
    if node is not None:
        obj.lines = line_table(obj.raw, node)
    yield obj


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
    """Read ``paths`` into an :class:`Inventory`, validating every workload, strictly.

    Raises :class:`ManifestError` on any problem, including an empty target.
    """
    from .repository import scan

    result = scan(paths, max_bytes=max_bytes, max_nodes=max_nodes, stdin=stdin)
    if result.errors:
        raise ManifestError("; ".join(e.describe() for e in result.errors))
    return inventory_of(result, list(paths), scope)


def inventory_of(result: Any, paths: list[str], scope: Scope) -> Inventory:
    """The :class:`Inventory` of a :class:`~pytest_k8shardening.repository.Scan`; an empty one is an error."""
    if not result.objects:
        problems = "; ".join(e.describe() for e in result.errors)
        if problems:
            raise ManifestError(problems + ("" if len(result.errors) == 1 else
                                            f" ({len(result.errors)} inputs could not be read, nothing else to scan)"))
        if not result.files and not result.left_out:
            raise ManifestError(f"{', '.join(paths)}: no manifest files (*.yaml, *.yml, *.json) found")
        read = len(result.files) + len(result.left_out)
        raise ManifestError(f"{', '.join(paths)}: no Kubernetes objects found in {read} file(s)"
                            + _left_out_hint(result.left_out))
    _validate_status(result.objects)
    inventory = Inventory(result.objects, sources=result.files, scope=scope)
    validate(inventory)
    return inventory


def _left_out_hint(left_out: list[Any]) -> str:
    if not left_out:
        return ""
    shown = "; ".join(f"{x.path}: {x.reason}" for x in left_out[:5])
    more = f" (+{len(left_out) - 5} more)" if len(left_out) > 5 else ""
    return f" (left out: {shown}{more})"


def _validate_status(objects: list[K8sObject]) -> None:
    """A snapshot's record of what was listed is read when the inventory is built: check it first."""
    from .shapes import validate_object

    for obj in objects:
        if obj.kind == "InventoryStatus":
            try:
                validate_object(obj.raw, obj.kind, obj.api_version)
            except InvalidObject as exc:
                raise ManifestError(f"{obj.source.describe()}: {obj.kind} {obj.ref}: {exc}") from None


def validate(inventory: Inventory) -> None:
    """Refuse every object with a field of the wrong shape (:mod:`.shapes`), and build every
    workload view once, so a malformed object fails up front, never as a pass or a finding."""
    from .shapes import validate_metadata, validate_object

    for obj in inventory.objects:  # ownerReferences decide which workloads are built
        try:
            validate_metadata(obj.raw)
        except InvalidObject as exc:
            raise ManifestError(f"{obj.source.describe()}: {obj.kind} {obj.ref}: {exc}") from None
    try:
        built = {id(w.obj) for w in inventory.all_workloads()}  # each checked its pod spec
    except InvalidObject as exc:
        raise ManifestError(str(exc)) from None
    for obj in inventory.objects:  # pods made by a controller too, and every other kind
        try:
            validate_object(obj.raw, obj.kind, obj.api_version, pod_spec=id(obj) not in built)
        except InvalidObject as exc:
            raise ManifestError(f"{obj.source.describe()}: {obj.kind} {obj.ref}: {exc}") from None
