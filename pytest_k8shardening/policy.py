"""Organization policy settings: what the ``org`` checks read.

Set them in ``pytest.ini``, ``tox.ini`` or ``pyproject.toml``::

    [tool.pytest.ini_options]
    k8s_org_checks = true
    k8s_allowed_registries = ["registry.example.org/*", "ghcr.io/acme/*"]
    k8s_required_labels = ["app.kubernetes.io/name", "team"]

They are resolved with the rest of the run's settings
(:class:`~pytest_k8shardening.options.Settings`, field ``org``). Organization
tests get them through the ``k8s_policy`` fixture, or
``OrgPolicy.from_config(pytestconfig)``.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

import pytest

__all__ = ["OrgPolicy"]


@dataclass(frozen=True)
class OrgPolicy:
    """What an organization requires beyond the hardening guides."""

    enabled: bool = False
    #: Globs over ``registry/repository`` (``registry.example.org/*``), or a bare registry name.
    allowed_registries: tuple[str, ...] = ()
    #: Label keys every workload must carry.
    required_labels: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, config: pytest.Config) -> OrgPolicy:
        """The run's policy (``Settings.org``): read once, with the other settings."""
        from .options import settings_of

        return settings_of(config).org

    def registry_allowed(self, registry: str, repository: str) -> bool:
        """Is ``registry/repository`` allowed by one of the globs?"""
        full = f"{registry}/{repository}"
        for pattern in self.allowed_registries:
            if "/" not in pattern and "*" not in pattern and registry == pattern:
                return True
            if fnmatch.fnmatchcase(full, pattern):
                return True
        return False
