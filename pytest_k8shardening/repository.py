"""Scan a repository as it is: manifests, Helm charts, kustomize units, and everything else.

The rule, applied to every folder named by ``--k8s-manifests`` (recursively, as
``kubectl apply -R`` walks it):

* A folder holding ``Chart.yaml`` is a **Helm chart**: it is rendered with
  ``helm template`` (its default values, plus ``k8s_helm_values`` / ``k8s_helm_set``)
  and nothing below it is read as a manifest of its own. A library chart is
  listed, not rendered.
* A folder holding ``kustomization.yaml`` (``.yml``, ``Kustomization``) is a
  **kustomize unit**: it is rendered with ``kustomize build`` (or ``kubectl
  kustomize``). Every file a kustomization in the scan names (resources,
  patches, components, generator inputs, ...) belongs to that render and is not
  read on its own: a patch is a partial object, not a workload. A unit that
  another kustomization uses is a *base*, the others are *overlays*; both are
  rendered, and their objects are variants of each other, never merged. A
  ``kind: Component`` is rendered only by the units that use it.
* Every other ``*.yaml``, ``*.yml`` and ``*.json`` file is parsed. Documents with
  a ``kind`` (and an ``apiVersion`` or ``metadata``) are Kubernetes objects;
  YAML/JSON without them (CI configs, compose files, values, dashboards,
  schemas) is **left out** and listed, with a reason, in the summary.
* A file that should be a manifest but cannot be read (broken YAML, an object
  without a name, a template outside a chart) is an **input error**: every such
  file is reported in the same run, the session fails, everything else is
  still scanned. A chart or kustomization that does not render is an input error
  naming the unit and the fix.
* Folders whose name starts with a dot (``.git``, ``.github``) are not walked,
  and symlinked folders are not followed (as ``kubectl -R``); both are listed.
  Symlinked files are read. Files with other suffixes are not read.

Nothing here imports pytest.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import yaml

from .loader import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_NODES,
    MANIFEST_SUFFIXES,
    ManifestError,
    _decode,
    _load_bytes,
    make_object,
    objects_of,
    parse_documents,
    read_stdin,
)
from .model import K8sObject, Source
from .safeio import read_regular_file

__all__ = ["HELM_VERSION", "KUSTOMIZATION_FILES", "InputError", "LeftOut", "Renderers", "RenderUnit", "Scan", "scan"]

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
HELM_VERSION = "v3.22.0"
#: Where scripts/build-helm.sh puts the helm it builds; used when no helm is on PATH.
HELM_CACHE = (Path(os.environ.get("K8SH_CACHE") or Path.home() / ".cache" / "pytest-k8shardening")
              / "helm" / HELM_VERSION)
_RENDER_TIMEOUT = 300.0
_ORIGIN = "config.kubernetes.io/origin"


@dataclass(frozen=True, slots=True)
class InputError:
    """A file or render unit that should give objects and could not be read."""

    path: str
    message: str
    line: int | None = None

    def describe(self) -> str:
        return f"{self.path}{':' + str(self.line) if self.line else ''}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "message": self.message}


@dataclass(frozen=True, slots=True)
class LeftOut:
    """A file (or folder) that was deliberately not scanned as objects of its own, and why."""

    path: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "reason": self.reason}


@dataclass(slots=True)
class RenderUnit:
    """A Helm chart or kustomization folder, and what rendering it gave."""

    tool: str  # "helm" or "kustomize"
    path: str
    role: str  # "chart", "library chart", "base", "overlay", "component"
    objects: int = 0
    rendered: bool = False

    @property
    def unit(self) -> str:
        return f"{self.tool}:{self.path}"

    def as_dict(self) -> dict[str, Any]:
        return {"tool": self.tool, "path": self.path, "role": self.role, "rendered": self.rendered,
                "objects": self.objects}


@dataclass(slots=True)
class Scan:
    """Everything one read of the target found."""

    objects: list[K8sObject] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # files whose objects were scanned
    left_out: list[LeftOut] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    units: list[RenderUnit] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "files_scanned": len(self.files),
            "units": [u.as_dict() for u in self.units],
            "left_out": [x.as_dict() for x in self.left_out],
            "errors": [e.as_dict() for e in self.errors],
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True, slots=True)
class Renderers:
    """How charts and kustomizations are rendered here (found on PATH unless given)."""

    helm: str | None = None
    kustomize: tuple[str, ...] | None = None
    helm_values: tuple[str, ...] = ()
    helm_set: tuple[str, ...] = ()
    timeout: float = _RENDER_TIMEOUT

    @classmethod
    def discover(cls, *, helm: str | None = None, kustomize: str | None = None, helm_values: Iterable[str] = (),
                 helm_set: Iterable[str] = (), timeout: float = _RENDER_TIMEOUT) -> Renderers:
        """``helm`` from the setting, PATH, or the cache scripts/build-helm.sh fills;
        ``kustomize build`` if installed, else ``kubectl kustomize``."""
        helm_bin = helm or shutil.which("helm")
        if helm_bin is None and os.access(HELM_CACHE / "helm", os.X_OK):
            helm_bin = str(HELM_CACHE / "helm")
        kz: tuple[str, ...] | None = None
        found = kustomize or shutil.which("kustomize") or shutil.which("kubectl")
        if found:
            kz = (found, "kustomize") if Path(found).name.startswith("kubectl") else (found, "build")
        return cls(helm_bin, kz, tuple(helm_values), tuple(helm_set), timeout)


def scan(paths: Iterable[str], *, max_bytes: int = DEFAULT_MAX_BYTES, max_nodes: int = DEFAULT_MAX_NODES,
         stdin: BinaryIO | bytes | None = None, renderers: Renderers | None = None) -> Scan:
    """Read every target: walk folders, render charts and kustomizations, classify the rest.

    A target that does not exist is a :class:`ManifestError` (a usage error);
    problems inside targets are collected in :attr:`Scan.errors`.
    """
    result = Scan()
    reader = _Reader(result, max_bytes, max_nodes, renderers)
    seen_args: set[str] = set()
    for arg in paths:
        if arg == "-" and arg in seen_args:
            raise ManifestError("- is given twice: standard input can be read only once")
        if arg in seen_args:
            continue  # the same file or folder named twice is read once
        seen_args.add(arg)
        if arg == "-":
            data = _stdin_bytes(stdin, max_bytes)
            before = len(result.objects), len(result.errors)
            reader.classify_text(_decode(data, "<stdin>"), "<stdin>", is_json=False, named=True)
            if (len(result.objects), len(result.errors)) == before:
                # an empty pipe (a failed `helm template | pytest ...`) is never an empty cluster
                raise ManifestError("<stdin>: no Kubernetes objects on standard input (-)")
            continue
        if arg == "":
            raise ManifestError("an empty path was given as a target")
        path = Path(arg)
        if not path.exists():
            raise ManifestError(f"{arg}: no such file or directory")
        if path.is_dir():
            reader.walk(path)
        elif path.name in KUSTOMIZATION_FILES or path.name == "Chart.yaml":
            reader.walk(path.parent)  # naming the unit's file names its folder
        else:
            reader.file_targets.append(path)
    reader.finish()
    return result


def _stdin_bytes(stdin: BinaryIO | bytes | None, max_bytes: int) -> bytes:
    data: bytes | None
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
    return data


class _Reader:
    def __init__(self, result: Scan, max_bytes: int, max_nodes: int, renderers: Renderers | None) -> None:
        self.result = result
        self.max_bytes = max_bytes
        self.max_nodes = max_nodes
        self._renderers = renderers
        self.file_targets: list[Path] = []
        self.charts: list[Path] = []
        self.kustomizations: list[Path] = []  # the kustomization files
        self.walked_files: list[Path] = []
        self.lines = _Lines(max_nodes, max_bytes)

    @property
    def renderers(self) -> Renderers:
        if self._renderers is None:
            self._renderers = Renderers.discover()
        return self._renderers

    # -- discovery -------------------------------------------------------
    def walk(self, top: Path) -> None:
        for root, dirs, names in os.walk(top, onerror=self._walk_error):
            here = Path(root)
            if "Chart.yaml" in names:
                self.charts.append(here)
                dirs[:] = []
                continue
            for d in sorted(dirs):
                p = here / d
                if d.startswith("."):
                    self.result.left_out.append(LeftOut(f"{p}/", "dot-folder: not walked"))
                elif p.is_symlink():
                    self.result.left_out.append(LeftOut(f"{p}/", "symlinked folder: not followed "
                                                        "(as kubectl -R); name its target to scan it"))
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not (here / d).is_symlink())
            kfile = next((here / n for n in KUSTOMIZATION_FILES if n in names), None)
            if kfile is not None:
                self.kustomizations.append(kfile)
            for name in sorted(names):
                if name.endswith(MANIFEST_SUFFIXES) and (kfile is None or name != kfile.name):
                    self.walked_files.append(here / name)

    def _walk_error(self, exc: OSError) -> None:
        self.result.errors.append(InputError(str(exc.filename or "?"), f"cannot read directory: {exc.strerror}"))

    def finish(self) -> None:
        consumed = self._kustomize_inputs()
        for path in self.file_targets + self.walked_files:
            owner = consumed.get(_norm(path))
            if owner is not None:
                self.result.left_out.append(LeftOut(str(path), owner))
                continue
            self.classify_file(path, named=path in self.file_targets)
        for chart in sorted(set(self.charts)):
            self.render_chart(chart)
        for unit in [u for u in self.result.units if u.tool == "kustomize" and u.role != "component"]:
            self.render_kustomization(unit)

    # -- plain files -----------------------------------------------------
    def classify_file(self, path: Path, *, named: bool) -> None:
        name = str(path)
        try:
            data = _load_bytes(path, self.max_bytes)
            text = _decode(data, name)
        except ManifestError as exc:
            self.result.errors.append(InputError(name, _strip_name(str(exc), name)))
            return
        self.classify_text(text, name, is_json=path.suffix == ".json", named=named)

    def classify_text(self, text: str, name: str, *, is_json: bool, named: bool) -> None:
        found: list[K8sObject] = []
        other: list[Any] = []
        try:
            for doc in parse_documents(text, name, max_nodes=self.max_nodes, is_json=is_json,
                                       warnings=self.result.warnings):
                data = doc[0]
                if _looks_like_object(data):
                    try:
                        found.extend(objects_of(doc, name))
                    except ManifestError as exc:
                        self.result.errors.append(InputError(name, _strip_name(str(exc), name), doc[2]))
                else:
                    other.append(data)
        except ManifestError as exc:
            msg = _strip_name(str(exc), name)
            if "{{" in text:
                chart = _chart_above(Path(name)) if name != "<stdin>" else None
                msg = (f"a template of the Helm chart in {chart}: name the chart's folder to render it ({msg})"
                       if chart else "a Helm template outside a chart (no Chart.yaml in its folder or above it); "
                                     f"name the chart's folder to render it ({msg})")
            self.result.errors.append(InputError(name, msg, _line_of(msg)))
        self.result.objects.extend(found)
        if found:
            self.result.files.append(name)
            if other:
                self.result.left_out.append(LeftOut(name, f"{len(other)} document(s) without apiVersion/kind"))
        elif other:
            self.result.left_out.append(LeftOut(name, _not_kubernetes(other)))
        elif not any(e.path == name for e in self.result.errors):
            self.result.left_out.append(LeftOut(name, "empty (no documents)"))

    # -- kustomize -------------------------------------------------------
    def _kustomize_inputs(self) -> dict[str, str]:
        """Every file a kustomization of the scan names, mapped to why it is not read on its own."""
        consumed: dict[str, str] = {}
        units: dict[str, RenderUnit] = {}
        used_as_base: set[str] = set()
        for kfile in sorted(set(self.kustomizations)):
            folder = kfile.parent
            unit = RenderUnit("kustomize", str(folder), "overlay")
            units[_norm(folder)] = unit
            consumed[_norm(kfile)] = f"the kustomization of {folder}"
            try:
                doc = _read_yaml_mapping(kfile, self.max_bytes)
            except ManifestError as exc:
                self.result.errors.append(InputError(str(kfile), _strip_name(str(exc), str(kfile))))
                unit.role = "invalid"
                continue
            if doc.get("kind") == "Component":
                unit.role = "component"
            for ref, what in _references(doc):
                target = _norm(folder / ref)
                if os.path.isdir(target):
                    if what in ("resource", "component"):
                        used_as_base.add(target)
                    continue
                consumed.setdefault(target, f"{what} of the kustomization in {folder} (rendered with it, "
                                            "not read on its own)")
        for key, unit in units.items():
            if key in used_as_base and unit.role == "overlay":
                unit.role = "base"
            if unit.role != "invalid":
                self.result.units.append(unit)
        return consumed

    def _odd_files(self, unit: RenderUnit, folder: Path, *, recursive: bool) -> bool:
        """A FIFO, device or socket in a unit's folder would block or feed the renderer forever: an error."""
        walker = os.walk(folder) if recursive else [(str(folder), [], os.listdir(folder))]
        for root, _, names in walker:
            for name in names:
                path = Path(root) / name
                try:
                    mode = path.stat().st_mode
                except OSError:
                    continue  # a dangling link: the renderer says what it misses
                if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                    self.result.errors.append(InputError(unit.path, f"{path} is not a regular file; the unit is not "
                                                         "rendered (a FIFO or device would block the renderer)"))
                    return True
        return False

    def render_kustomization(self, unit: RenderUnit) -> None:
        if self._odd_files(unit, Path(unit.path), recursive=False):
            return
        cmd = self.renderers.kustomize
        if cmd is None:
            self.result.errors.append(InputError(unit.path, "kustomization not rendered: neither `kustomize` nor "
                                                 "`kubectl` is installed; install one of them"))
            return
        folder = Path(unit.path).resolve()
        with tempfile.TemporaryDirectory(prefix="k8sh-kustomize-") as wrap:
            # A wrapper kustomization asks kustomize to annotate every object with the file it came from.
            rel = os.path.relpath(folder, wrap)
            Path(wrap, "kustomization.yaml").write_text(
                f"resources:\n- {_yaml_str(rel)}\nbuildMetadata: [originAnnotations]\n", encoding="utf-8")
            proc = self._run([*cmd, wrap], unit)
            if proc is None:
                return
            if proc.returncode != 0:  # some units refuse the wrapper (load restrictions): render them plainly
                proc = self._run([*cmd, str(folder)], unit)
                if proc is None:
                    return
                if proc.returncode != 0:
                    self.result.errors.append(InputError(unit.path, "kustomize build failed: "
                                                         + _last_lines(proc.stderr)))
                    return
            objs = self._objects_from_render(proc.stdout, unit, wrap_dir=wrap)
        unit.rendered = True
        unit.objects = len(objs)
        self.result.objects.extend(objs)

    # -- helm ------------------------------------------------------------
    def render_chart(self, chart: Path) -> None:
        unit = RenderUnit("helm", str(chart), "chart")
        self.result.units.append(unit)
        try:
            meta = _read_yaml_mapping(chart / "Chart.yaml", self.max_bytes)
        except ManifestError as exc:
            name = str(chart / "Chart.yaml")
            self.result.errors.append(InputError(name, _strip_name(str(exc), name)))
            return
        if meta.get("type") == "library":
            unit.role = "library chart"
            self.result.left_out.append(LeftOut(str(chart), "library chart: rendered by the charts that use it"))
            return
        if self._odd_files(unit, chart, recursive=True):
            return
        helm = self.renderers.helm
        if helm is None:
            self.result.errors.append(InputError(str(chart), "Helm chart not rendered: `helm` is not installed; "
                                                 "install helm (or set k8s_helm to its path)"))
            return
        cmd = [helm, "template", chart.resolve().name or "release", str(chart)]
        for value in self.renderers.helm_values:
            target, sep, file = value.rpartition("=")
            if sep and _norm(Path(target)) != _norm(chart):
                continue
            cmd += ["--values", file if sep else value]
        for pair in self.renderers.helm_set:
            cmd += ["--set", pair]
        proc = self._run(cmd, unit)
        if proc is None:
            return
        if proc.returncode != 0:
            err = _last_lines(proc.stderr)
            if "missing in charts/ directory" in err or "dependencies" in err.lower():
                err += f"; fetch the chart's dependencies first: helm dependency build {chart}"
            self.result.errors.append(InputError(str(chart), "helm template failed: " + err))
            return
        objs = self._objects_from_render(proc.stdout, unit, chart=chart)
        unit.rendered = True
        unit.objects = len(objs)
        self.result.objects.extend(objs)

    # -- shared ----------------------------------------------------------
    def _run(self, cmd: Sequence[str], unit: RenderUnit) -> subprocess.CompletedProcess[str] | None:
        try:
            return subprocess.run(list(cmd), capture_output=True, text=True, timeout=self.renderers.timeout,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            self.result.errors.append(InputError(unit.path, f"{unit.tool} did not finish rendering within "
                                                 f"{self.renderers.timeout:g} s"))
        except OSError as exc:
            self.result.errors.append(InputError(unit.path, f"cannot run {cmd[0]}: {exc.strerror}"))
        return None

    def _objects_from_render(self, text: str, unit: RenderUnit, *, chart: Path | None = None,
                             wrap_dir: str | None = None) -> list[K8sObject]:
        label = f"{unit.tool} render of {unit.path}"
        sources = _source_comments(text) if chart is not None else []
        out: list[K8sObject] = []
        try:
            docs = list(parse_documents(text, label, max_nodes=self.max_nodes, warnings=self.result.warnings))
        except ManifestError as exc:
            self.result.errors.append(InputError(unit.path, f"its render is not valid YAML: {exc}"))
            return out
        for data, index, line, _node in docs:
            if not isinstance(data, dict) or not _looks_like_object(data):
                continue
            file: str | None = None
            if chart is not None:
                file = _template_file(chart, sources, line)
            elif wrap_dir is not None:
                file, data = _pop_origin(data, wrap_dir)
            file = file or unit.path
            where = f"{label}, document {index} ({file})"
            try:
                line = self.lines.line_of(file, data, template=chart is not None) if file != unit.path else None
                obj = make_object(data, where, Source(file, line, index, unit.unit))
            except ManifestError as exc:
                self.result.errors.append(InputError(unit.path, str(exc)))
                continue
            out.append(obj)
            if file not in self.result.files:
                self.result.files.append(file)
        return out


def _looks_like_object(data: Any) -> bool:
    """A Kubernetes object names its kind, and an apiVersion or metadata (a patch list or a values file does not).

    A document with both apiVersion and metadata but no usable kind is meant as
    an object too: it is read as one, so that it becomes an error naming it.
    """
    if not isinstance(data, dict):
        return False
    if "kind" in data:
        return "apiVersion" in data or "metadata" in data
    return "apiVersion" in data and "metadata" in data


_NOT_K8S_HINTS: tuple[tuple[Any, str], ...] = (
    (lambda d: "jobs" in d and ("on" in d or True in d), "a CI workflow"),
    (lambda d: "services" in d and ("version" in d or "volumes" in d or "networks" in d
                                    or isinstance(d.get("services"), dict)), "a compose file"),
    (lambda d: "steps" in d or "stages" in d or "pipeline" in d, "a CI configuration"),
    (lambda d: "$schema" in d or ("properties" in d and "type" in d), "a JSON schema"),
    (lambda d: "panels" in d or "dashboard" in d, "a dashboard"),
    (lambda d: "apiVersion" in d and "kind" not in d, "a document with apiVersion but no kind"),
)


def _not_kubernetes(docs: list[Any]) -> str:
    first = docs[0]
    what = "YAML/JSON without apiVersion and kind"
    if isinstance(first, dict):
        for test, name in _NOT_K8S_HINTS:
            if test(first):
                what = name
                break
    elif isinstance(first, list):
        what = "a YAML/JSON list, not an object (a kustomize patch list?)"
    else:
        what = f"a {type(first).__name__} document, not an object"
    return f"not a Kubernetes manifest: {what}"


_REF_FIELDS: tuple[tuple[str, str], ...] = (
    ("resources", "resource"), ("bases", "resource"), ("components", "component"), ("crds", "CRD"),
    ("configurations", "configuration"), ("generators", "generator"), ("transformers", "transformer"),
    ("validators", "validator"), ("patchesStrategicMerge", "patch"),
)


def _references(doc: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """Local paths a kustomization names (remote URLs and inline entries left out)."""
    def local(value: Any) -> bool:
        return (isinstance(value, str) and "\n" not in value and "://" not in value
                and not value.startswith(("github.com/", "git@", "oci:")))

    for key, what in _REF_FIELDS:
        for item in _as_list(doc.get(key)):
            if local(item):
                yield item, what
    for key in ("patches", "patchesJson6902", "replacements"):
        for item in _as_list(doc.get(key)):
            if isinstance(item, dict) and local(item.get("path")):
                yield item["path"], "patch" if key != "replacements" else "replacement"
    for key in ("configMapGenerator", "secretGenerator"):
        for gen in _as_list(doc.get(key)):
            if not isinstance(gen, dict):
                continue
            for entry in _as_list(gen.get("files")):
                if isinstance(entry, str):
                    yield entry.split("=", 1)[-1], "generator input"
            for entry in [*_as_list(gen.get("envs")), gen.get("env")]:
                if local(entry):
                    yield entry, "generator input"
    for chart in _as_list(doc.get("helmCharts")):
        if isinstance(chart, dict) and local(chart.get("valuesFile")):
            yield chart["valuesFile"], "Helm values"
    openapi = doc.get("openapi")
    if isinstance(openapi, dict) and local(openapi.get("path")):
        yield openapi["path"], "OpenAPI schema"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _read_yaml_mapping(path: Path, max_bytes: int) -> dict[str, Any]:
    text = _decode(_load_bytes(path, max_bytes), str(path))
    docs = [d[0] for d in parse_documents(text, str(path))]
    if len(docs) != 1 or not isinstance(docs[0], dict):
        raise ManifestError(f"{path}: expected one YAML mapping")
    return docs[0]


_SOURCE_RE = re.compile(r"^# Source: (.+)$", re.MULTILINE)


def _source_comments(text: str) -> list[tuple[int, str]]:
    """(line, template path) of every ``# Source:`` comment helm writes before a document."""
    out = []
    for m in _SOURCE_RE.finditer(text):
        out.append((text.count("\n", 0, m.start()) + 1, m.group(1).strip()))
    return out


def _template_file(chart: Path, sources: list[tuple[int, str]], line: int | None) -> str | None:
    """The template file a rendered document came from (helm's last ``# Source:`` above it)."""
    if line is None:
        return None
    found = None
    for src_line, src in sources:
        if src_line > line:
            break
        found = src
    if found is None:
        return None
    _, _, rest = found.partition("/")  # "<chart name>/templates/x.yaml": the chart's name, not its folder
    return str(chart / rest) if rest else str(chart)


def _pop_origin(data: dict[str, Any], wrap_dir: str) -> tuple[str | None, dict[str, Any]]:
    """The source file kustomize's origin annotation names, and the object without the annotation."""
    meta = data.get("metadata")
    if not isinstance(meta, dict):
        return None, data
    ann = meta.get("annotations")
    if not isinstance(ann, dict) or _ORIGIN not in ann:
        return None, data
    origin = ann[_ORIGIN]
    rest = {k: v for k, v in ann.items() if k != _ORIGIN}
    meta = {k: v for k, v in meta.items() if k != "annotations"}
    if rest:
        meta["annotations"] = rest
    data = {**data, "metadata": meta}
    try:
        parsed = yaml.safe_load(origin) if isinstance(origin, str) else None
    except yaml.YAMLError:
        parsed = None
    if not isinstance(parsed, dict) or "repo" in parsed:  # remote resources have no local file
        return None, data
    path = parsed.get("path") or parsed.get("configuredIn")  # a generated object: its kustomization
    if not isinstance(path, str):
        return None, data
    return os.path.relpath(os.path.normpath(os.path.join(wrap_dir, path))), data


_KIND_LINE = "^kind:\\s*[\"']?{}[\"']?\\s*(#.*)?$"


class _Lines:
    """Finds where a rendered object stands in the file it was rendered from."""

    def __init__(self, max_nodes: int, max_bytes: int) -> None:
        self.max_nodes = max_nodes
        self.max_bytes = max_bytes
        self._docs: dict[str, list[tuple[str, str, int]] | None] = {}

    def line_of(self, file: str, data: dict[str, Any], *, template: bool) -> int | None:
        kind, name = str(data.get("kind")), str((data.get("metadata") or {}).get("name"))
        if template:  # a Helm template is not YAML: the line of its one top-level `kind: X`
            try:
                text = read_regular_file(file, self.max_bytes).decode("utf-8", errors="replace")
            except OSError:
                return None
            pattern = re.compile(_KIND_LINE.format(re.escape(kind)))
            hits = [i + 1 for i, ln in enumerate(text.splitlines()) if pattern.match(ln)]
            return hits[0] if len(hits) == 1 else None
        docs = self._docs.get(file, ())
        if docs == ():
            docs = self._docs[file] = self._read(file)
        if not docs:
            return None
        same_kind = [d for d in docs if d[0] == kind]
        if len(same_kind) == 1:
            return same_kind[0][2]
        named = [d for d in same_kind if d[1] == name or name.endswith(d[1]) or d[1] in name]
        return named[0][2] if len(named) == 1 else None

    def _read(self, file: str) -> list[tuple[str, str, int]] | None:
        try:
            text = read_regular_file(file, self.max_bytes).decode("utf-8")
            out = []
            for data, _, line, _ in parse_documents(text, file, max_nodes=self.max_nodes):
                if isinstance(data, dict):
                    meta = data.get("metadata")
                    name = meta.get("name") if isinstance(meta, dict) else None
                    out.append((str(data.get("kind")), str(name), line or 1))
            return out
        except (OSError, UnicodeDecodeError, ManifestError):
            return None


def _chart_above(path: Path) -> Path | None:
    """The nearest folder above ``path`` that holds a Chart.yaml, as given (relative stays relative)."""
    for folder in path.parents:
        if (folder / "Chart.yaml").is_file():
            return folder
        if folder.resolve() == folder.resolve().parent:
            break
    return None


def _norm(path: Path | str) -> str:
    return os.path.normpath(os.path.abspath(path))


def _strip_name(message: str, name: str) -> str:
    prefix = f"{name}: "
    return message[len(prefix):] if message.startswith(prefix) else message


def _line_of(message: str) -> int | None:
    m = re.search(r"\(line (\d+)", message) or re.search(r"at line (\d+)", message)
    return int(m.group(1)) if m else None


def _last_lines(stderr: str, n: int = 3) -> str:
    lines = [ln.strip() for ln in stderr.strip().splitlines() if ln.strip()]
    return " | ".join(lines[-n:]) or "(no message)"


def _yaml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def describe_inputs(inputs: dict[str, Any], *, verbose: bool) -> list[str]:
    """Terminal lines about what a scan read, rendered, left out and could not read."""
    lines = []
    units = inputs.get("units") or []
    rendered = [u for u in units if u["rendered"]]
    parts = [f"{inputs.get('files_scanned', 0)} file(s) with objects"]
    for tool, name in (("helm", "Helm chart(s)"), ("kustomize", "kustomization(s)")):
        mine = [u for u in rendered if u["tool"] == tool]
        if mine:
            roles: dict[str, list[str]] = {}
            for u in mine:
                roles.setdefault(u["role"], []).append(u["path"])
            detail = "; ".join(f"{role}: {', '.join(paths)}" for role, paths in roles.items())
            parts.append(f"{len(mine)} {name} rendered ({detail})")
    left = inputs.get("left_out") or []
    if left:
        parts.append(f"{len(left)} left out")
    errors = inputs.get("errors") or []
    if errors:
        parts.append(f"{len(errors)} could not be read")
    lines.append("inputs: " + ", ".join(parts) + ("" if verbose or not left else " (-v lists them)"))
    if verbose:
        lines.extend(f"left out: {x['path']}: {x['reason']}" for x in left)
    lines.extend(f"input error: {e['path']}{':' + str(e['line']) if e['line'] else ''}: {e['message']}"
                 for e in errors)
    lines.extend(f"warning: {w}" for w in inputs.get("warnings") or [])
    return lines
