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

from dataclasses import dataclass

__all__ = ["CheckResult", "Finding", "NotApplicable", "Undetermined"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One reason an object fails a control.

    ``message`` names the field and the offending value (never a secret's
    value); ``field`` is the JSON path of the field, when there is one.
    """

    message: str
    field: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"message": self.message, "field": self.field}


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
