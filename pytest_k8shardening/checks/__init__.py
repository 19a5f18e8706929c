"""Checks: small pure functions over Kubernetes objects.

A check takes a :class:`~pytest_k8shardening.model.Container`,
:class:`~pytest_k8shardening.model.Workload`, :class:`~pytest_k8shardening.model.Namespace`
or :class:`~pytest_k8shardening.model.K8sObject` and returns a
:data:`CheckResult`: an empty list when compliant, a list of
:class:`Finding` when not, :class:`NotApplicable` when the control does
not apply to that object, or :class:`Undetermined` when the data needed to
decide could not be read (both are reported as skipped with the reason).

Checks never import pytest; the tests in ``suites/`` turn their results into
outcomes with :func:`pytest_k8shardening.assert_compliant`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import dataclasses
from dataclasses import dataclass
from typing import Any

__all__ = ["REFERENCE_KEYS", "CheckResult", "Finding", "NotApplicable", "Undetermined", "refs"]

#: The upstream catalogues a finding's own references name (the control's ``pss`` level is not per finding).
REFERENCE_KEYS: tuple[str, ...] = ("kubescape", "trivy", "cis")


def refs(*, kubescape: Sequence[str] = (), trivy: Sequence[str] = (), cis: Sequence[str] = ()
         ) -> Mapping[str, tuple[str, ...]]:
    """A finding's own upstream ids: the ones whose rule reads the setting this finding reads."""
    return {"kubescape": tuple(kubescape), "trivy": tuple(trivy), "cis": tuple(cis)}


@dataclass(frozen=True, slots=True)
class Finding:
    """One reason an object fails a control.

    ``message`` names the field and the offending value (never a secret's
    value); ``field`` is the JSON path of the field, when there is one.
    ``references`` (made with :func:`refs`) are the upstream ids of the rule
    that reads this finding's setting, where a control cites several rules
    that read different settings; ``None`` means all of the control's ids.
    """

    message: str
    field: str | None = None
    references: Mapping[str, tuple[str, ...]] | None = dataclasses.field(default=None, kw_only=True)

    def as_dict(self, line: int | None = None) -> dict[str, Any]:
        """The finding for reports; ``references`` is ``None`` or every key of :data:`REFERENCE_KEYS`.

        ``line`` is where the field is written in the object's file (checks do not know it: the plugin
        finds it with :func:`pytest_k8shardening.loader.subject_line`); ``None`` when there is no file.
        """
        own = None if self.references is None else {k: list(self.references.get(k, ())) for k in REFERENCE_KEYS}
        return {"message": self.message, "field": self.field, "line": line, "references": own}


@dataclass(frozen=True, slots=True)
class NotApplicable:
    """The control does not apply to this object; ``reason`` says why."""

    reason: str


@dataclass(frozen=True, slots=True)
class Undetermined:
    """The check needs data that could not be read (a forbidden kind, say).

    Reported as skipped with the reason: never as a pass.
    """

    reason: str


CheckResult = list[Finding] | NotApplicable | Undetermined
