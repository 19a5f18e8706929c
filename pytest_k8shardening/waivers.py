"""Waivers: reviewed, owned, expiring exceptions, kept in one file.

``--k8s-waivers FILE`` (YAML)::

    waivers:
      - control: nsa.pod.host-path          # a control id (globs allowed)
        namespace: monitoring               # optional selectors, globs allowed:
        kind: DaemonSet                     #   namespace, kind, name, container
        name: node-exporter*
        labels: {app: node-exporter}        #   and exact label matches
        variant: overlays/prod              # optional: only this variant (glob)
        reason: reads /proc and /sys of the node to export metrics
        owner: platform-team@example.org
        expires: 2027-03-31

A failed finding that a waiver matches is reported as *waived* (pytest's
xfail outcome, with the reason) instead of failed. An expired waiver no
longer waives: the finding fails and says the waiver expired. Waivers that
matched no failing finding are listed as stale. The file is the only place
exceptions live: annotations on the workloads themselves are not honoured,
so owners cannot exempt themselves.

A waiver without ``variant`` covers every variant of the objects it
selects (``shop/Deployment/api@overlays/prod`` and ``...@overlays/staging``
alike). ``variant`` narrows it to objects read from a matching variant: the
kustomization or chart folder of a rendered object (``overlays/prod``, or
``kustomize:overlays/prod``), the file of a plain one; objects read from a
cluster have none, so a waiver naming a variant never covers them.
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .safeio import read_regular_file
from .loader import K8sYamlLoader

__all__ = ["Waiver", "WaiverError", "load_waivers", "match"]

_SELECTORS = ("namespace", "kind", "name", "container", "variant")
_MAX_BYTES = 16 * 1024 * 1024  # a waiver file is a few KiB
_REQUIRED = ("control", "reason", "owner", "expires")
_KNOWN = frozenset((*_REQUIRED, *_SELECTORS, "labels"))


class WaiverError(ValueError):
    """The waiver file is invalid; the message names the entry and the field."""


@dataclass(frozen=True)
class Waiver:
    index: int
    control: str
    reason: str
    owner: str
    expires: _dt.date
    namespace: str | None = None
    kind: str | None = None
    name: str | None = None
    container: str | None = None
    variant: str | None = None
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def label_only(self) -> bool:
        """Selects workloads by labels alone: whoever may label a workload can exempt it."""
        return bool(self.labels) and not (self.namespace or self.kind or self.name)

    def expired(self, today: _dt.date) -> bool:
        return self.expires < today

    def describe(self) -> str:
        sel = [f"{k}={getattr(self, k)}" for k in _SELECTORS if getattr(self, k) is not None]
        sel += [f"label {k}={v}" for k, v in self.labels.items()]
        return f"waiver #{self.index + 1} ({self.control}{': ' + ', '.join(sel) if sel else ''})"

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index + 1, "control": self.control, "reason": self.reason, "owner": self.owner,
                "expires": self.expires.isoformat(), **{k: getattr(self, k) for k in _SELECTORS
                                                        if getattr(self, k) is not None},
                **({"labels": self.labels} if self.labels else {})}


def load_waivers(path: str | Path) -> list[Waiver]:
    """Read and validate a waiver file. Raises :class:`WaiverError` naming the entry."""
    p = Path(path)
    try:
        # A safe loader that keeps dates as text: 'expires' is checked below, naming the waiver.
        doc = yaml.load(read_regular_file(p, _MAX_BYTES).decode("utf-8"), Loader=K8sYamlLoader)  # never a FIFO
    except OSError as exc:
        raise WaiverError(f"{p}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise WaiverError(f"{p}: not UTF-8 text (byte {exc.start}); save the file as UTF-8") from None
    except yaml.YAMLError as exc:
        raise WaiverError(f"{p}: invalid YAML: {' '.join(str(exc).split())}") from None
    except (ValueError, RecursionError) as exc:  # an integer past Python's digit limit; nesting too deep
        raise WaiverError(f"{p}: cannot read: {type(exc).__name__}: {str(exc).partition(chr(10))[0]}") from None
    entries = doc.get("waivers") if isinstance(doc, dict) else doc
    if not isinstance(entries, list):
        raise WaiverError(f"{p}: expected a list of waivers under the key 'waivers'")
    return [_parse(p, i, e) for i, e in enumerate(entries)]


def _parse(path: Path, i: int, entry: Any) -> Waiver:
    where = f"{path}: waiver #{i + 1}"
    if not isinstance(entry, dict):
        raise WaiverError(f"{where}: must be a mapping")
    unknown = set(entry) - _KNOWN
    if unknown:
        raise WaiverError(f"{where}: unknown field(s) {', '.join(sorted(map(str, unknown)))}; "
                          f"known: {', '.join(sorted(_KNOWN))}")
    for key in _REQUIRED:
        if entry.get(key) in (None, ""):
            raise WaiverError(f"{where}: '{key}' is required")
    for key in ("control", "reason", "owner", *_SELECTORS):
        if key in entry and entry[key] is not None and not isinstance(entry[key], str):
            raise WaiverError(f"{where}: '{key}' must be a string")
    expires = entry["expires"]
    if isinstance(expires, _dt.datetime):
        expires = expires.date()
    elif isinstance(expires, str):
        try:
            expires = _dt.date.fromisoformat(expires)
        except ValueError:
            raise WaiverError(f"{where}: 'expires' must be a date (YYYY-MM-DD), not {expires!r}") from None
    elif not isinstance(expires, _dt.date):
        raise WaiverError(f"{where}: 'expires' must be a date (YYYY-MM-DD)")
    labels = entry.get("labels") or {}
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        raise WaiverError(f"{where}: 'labels' must map label names to string values")
    if any(c in entry["control"] for c in "*?[") and not labels \
            and not any(entry.get(k) for k in _SELECTORS):
        raise WaiverError(f"{where}: control {entry['control']!r} is a pattern and nothing narrows it: it would "
                          "waive every matching control on every object. Name the control, or add a selector "
                          "(namespace, kind, name, container or labels)")
    if len(entry["reason"].strip()) < 10:
        raise WaiverError(f"{where}: 'reason' must say why the exception is acceptable (10 characters at least)")
    return Waiver(index=i, control=entry["control"], reason=entry["reason"].strip(), owner=entry["owner"],
                  expires=expires, namespace=entry.get("namespace"), kind=entry.get("kind"),
                  name=entry.get("name"), container=entry.get("container"), variant=entry.get("variant"),
                  labels=dict(labels))


def _glob(pattern: str | None, value: str | None) -> bool:
    return pattern is None or (value is not None and fnmatch.fnmatchcase(value, pattern))


def _variant_matches(pattern: str, res: dict[str, Any]) -> bool:
    """A rendered object's unit (``kustomize:overlays/prod`` or ``overlays/prod``), a plain one's file."""
    unit = res.get("unit")
    if isinstance(unit, str) and unit:
        return _glob(pattern, unit) or _glob(pattern, unit.partition(":")[2])
    return _glob(pattern, res.get("file"))


def match(waivers: list[Waiver], control: str, resource: dict[str, Any] | None,
          labels: dict[str, str]) -> Waiver | None:
    """The first waiver covering ``control`` on ``resource`` (expired ones included)."""
    res = resource or {}
    for w in waivers:
        if not fnmatch.fnmatchcase(control, w.control):
            continue
        if not all(_glob(getattr(w, k), res.get(k)) for k in _SELECTORS if k != "variant"):
            continue
        if w.variant is not None and not _variant_matches(w.variant, res):
            continue
        if any(labels.get(k) != v for k, v in w.labels.items()):
            continue
        return w
    return None
