"""Command-line options, their ini twins, and the one place they are resolved.

Every ``--k8s-*`` option and ``k8s_*`` ini value is read here, once per run,
into a frozen :class:`Settings` (:func:`settings_of`): checked when pytest
starts (a bad value is a usage error before anything is read), typed, and
the same everywhere. Suites and custom tests get it from the ``k8s_settings``
fixture (the org policy from ``k8s_policy``), never from ``getini``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .live import (
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_READ_TIMEOUT,
    DEFAULT_REQUEST_TIMEOUT,
)
from .loader import DEFAULT_MAX_BYTES
from .controls import SEVERITIES
from .model import Scope
from .policy import OrgPolicy

__all__ = ["Settings", "add_options", "settings_of"]

_GROUP_BY = ("auto", "resource", "namespace", "control")


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("k8shardening", "Kubernetes hardening checks (pytest-k8shardening)")
    group.addoption(
        "--k8s-manifests", action="append", dest="k8s_manifests", metavar="PATH", default=None,
        help="Check the Kubernetes objects in PATH: a YAML or JSON file, a directory (read recursively), "
             "or - for stdin. Repeatable. Turns the plugin on and adds the built-in suites.",
    )
    group.addoption(
        "--k8s-context", action="store", dest="k8s_context", metavar="NAME", default=None,
        help="Check the live cluster of kubeconfig context NAME (read-only).",
    )
    group.addoption(
        "--k8s-kubeconfig", action="store", dest="k8s_kubeconfig", metavar="PATH", default=None,
        help="Check the live cluster of this kubeconfig (its current context unless --k8s-context).",
    )
    group.addoption(
        "--k8s-in-cluster", action="store_true", dest="k8s_in_cluster", default=False,
        help="Check the cluster this pod runs in, with its service account (e.g. from a Job).",
    )
    group.addoption(
        "--k8s-kind", action="store_true", dest="k8s_kind", default=False,
        help="Create a throwaway kind cluster, check it, and delete it afterwards (needs kind and a container "
             "engine).",
    )
    group.addoption(
        "--k8s-kind-config", action="store", dest="k8s_kind_config", metavar="PATH", default=None,
        help="kind cluster configuration file for --k8s-kind.",
    )
    group.addoption(
        "--k8s-save-snapshot", action="store", dest="k8s_save_snapshot", metavar="PATH", default=None,
        help="Save what was read from the live cluster to PATH (YAML List, or JSON if PATH ends in .json), "
             "to re-run offline with --k8s-manifests PATH.",
    )
    group.addoption(
        "--k8s-request-timeout", action="store", dest="k8s_request_timeout", metavar="SECONDS", default=None,
        help="Live: seconds one request to the API server may take, retries included (default 30); a stalled "
             "server is then a usage error (exit 4).",
    )
    group.addoption(
        "--k8s-read-timeout", action="store", dest="k8s_read_timeout", metavar="SECONDS", default=None,
        help="Live: seconds all requests of the run may take together (default 1800).",
    )
    group.addoption(
        "--k8s-max-response-size", action="store", dest="k8s_max_response_size", metavar="BYTES", default=None,
        help="Live: largest response body read, in bytes after decompression (default 134217728, 128 MiB).",
    )
    group.addoption(
        "--k8s-namespace", action="append", dest="k8s_namespaces", metavar="NS", default=None,
        help="Only check objects in namespace NS (globs allowed). Repeatable.",
    )
    group.addoption(
        "--k8s-exclude-namespace", action="append", dest="k8s_exclude_namespaces", metavar="NS", default=None,
        help="Leave objects in namespace NS (globs allowed) out of the checks. Repeatable.",
    )
    group.addoption(
        "--k8s-include-system-namespaces", action="store_true", dest="k8s_include_system", default=None,
        help="Also run workload checks in kube-system, kube-public and kube-node-lease.",
    )
    group.addoption(
        "--k8s-no-builtin", action="store_false", dest="k8s_builtin", default=None,
        help="Do not collect the built-in compliance suites; run only your own tests with the fixtures.",
    )
    group.addoption(
        "--k8s-report-json", action="store", dest="k8s_report_json", metavar="PATH", default=None,
        help="Write the results (schema k8shardening.results/v1) to PATH as JSON.",
    )
    group.addoption(
        "--k8s-report-sarif", action="store", dest="k8s_report_sarif", metavar="PATH", default=None,
        help="Write failed and waived findings as SARIF 2.1.0 to PATH, for GitHub code scanning (file and line "
             "of each finding's field, relative to --k8s-sarif-root). A live scan needs --k8s-save-snapshot: "
             "its results point into the snapshot.",
    )
    group.addoption(
        "--k8s-sarif-root", action="store", dest="k8s_sarif_root", metavar="DIR", default=None,
        help="Folder the SARIF file paths are relative to (default: git's top level of the scanned path, "
             "else its folder): the repository root code scanning resolves them against.",
    )
    group.addoption(
        "--k8s-waivers", action="store", dest="k8s_waivers", metavar="FILE", default=None,
        help="YAML file of waivers (control, resource selector, reason, owner, expiry).",
    )
    group.addoption(
        "--k8s-fail-on", action="store", dest="k8s_fail_on", metavar="SEVERITY", default=None,
        type=_severity, help="Fail the session only for findings of SEVERITY or worse (critical, high, medium, "
                             "low, info, none); the rest are reported. Errors always fail.",
    )
    group.addoption(
        "--k8s-min-score", action="store", dest="k8s_min_score", metavar="N", default=None, type=_score,
        help="Fail the session when the compliance score (passed / (passed + failed), in %%) is below N.",
    )
    group.addoption(
        "--k8s-controls-table", action="store_true", dest="k8s_controls_table", default=False,
        help="End the terminal summary with a table of every control: severity and its passed, failed, "
             "waived, skipped and errored results (the JSON summary's by_control).",
    )
    group.addoption(
        "--k8s-org", action="store_true", dest="k8s_org", default=False,
        help="Also run the optional organization checks (framework org), configured in the ini file.",
    )
    group.addoption(
        "--k8s-group-by", action="store", dest="k8s_group_by", metavar="MODE", default=None,
        choices=_GROUP_BY,
        help="One test item per resource, or per control and namespace, or per control: for very large "
             "clusters. Every report keeps per-resource findings. Default auto: per resource up to 300 "
             "workloads in scope, per control above.",
    )
    group.addoption(
        "--k8s-list-controls", action="store_true", dest="k8s_list_controls", default=False,
        help="List the controls of the collected tests (id, severity, title, frameworks, references) and exit.",
    )
    group.addoption(
        "--k8s-list-controls-format", action="store", dest="k8s_list_controls_format", metavar="FORMAT",
        default=None, choices=("text", "json"),
        help="With --k8s-list-controls (implied): text (aligned columns, default) or json (schema "
             "k8shardening.controls/v1, the only output on stdout).",
    )
    group.addoption(
        "--k8s-helm-values", action="append", dest="k8s_helm_values", metavar="[CHART=]FILE", default=None,
        help="Values file for the Helm charts found in the target (helm template --values); CHART=FILE applies "
             "it to the chart in folder CHART only. Repeatable.",
    )
    group.addoption(
        "--k8s-helm-set", action="append", dest="k8s_helm_set", metavar="KEY=VALUE", default=None,
        help="A value for the Helm charts found in the target (helm template --set). Repeatable.",
    )
    parser.addini("k8s_manifests", "Manifest files or directories to check (relative to the ini file).",
                  type="paths", default=[])
    parser.addini("k8s_namespaces", "Only check objects in these namespaces (globs).", type="args", default=[])
    parser.addini("k8s_exclude_namespaces", "Leave these namespaces (globs) out.", type="args", default=[])
    parser.addini("k8s_include_system_namespaces", "Run workload checks in system namespaces too.",
                  type="bool", default=False)
    parser.addini("k8s_builtin_suites", "Collect the built-in compliance suites.", type="bool", default=True)
    parser.addini("k8s_report_json", "Path of the JSON results file.", default="")
    parser.addini("k8s_report_sarif", "Path of the SARIF file.", default="")
    parser.addini("k8s_waivers", "Waiver file (YAML).", default="")
    parser.addini("k8s_fail_on", "Lowest severity that fails the session (critical ... info, none).", default="")
    parser.addini("k8s_min_score", "Lowest compliance score (%) that passes the session.", default="")
    parser.addini("k8s_group_by", "auto (default), resource, namespace or control: see --k8s-group-by.", default="")
    parser.addini("k8s_max_file_size", "Largest manifest file read, in bytes.", default=str(DEFAULT_MAX_BYTES))
    parser.addini("k8s_request_timeout", "Live: seconds one API request may take, retries included.",
                  default=str(int(DEFAULT_REQUEST_TIMEOUT)))
    parser.addini("k8s_read_timeout", "Live: seconds all API requests of a run may take together.",
                  default=str(int(DEFAULT_READ_TIMEOUT)))
    parser.addini("k8s_max_response_size", "Live: largest API response body read, in bytes.",
                  default=str(DEFAULT_MAX_RESPONSE_BYTES))
    parser.addini("k8s_pss_version",
                  "Pod Security Standards version the pss_* suites evaluate, e.g. v1.30 (default: latest).",
                  default="latest")
    parser.addini("k8s_target_version",
                  "Kubernetes version manifests must be valid for (removed API versions), e.g. v1.33. Default: the "
                  "live server's version, else the newest release in the support table.", default="")
    parser.addini("k8s_org_checks", "Run the optional organization checks (framework org).", type="bool",
                  default=False)
    parser.addini("k8s_allowed_registries", "Image registries (globs over registry/repository) the org allows.",
                  type="args", default=[])
    parser.addini("k8s_required_labels", "Label keys every workload must carry.", type="args", default=[])
    parser.addini("k8s_helm_values", "Values files for the Helm charts found ([CHART=]FILE).", type="args",
                  default=[])
    parser.addini("k8s_helm_set", "KEY=VALUE pairs for the Helm charts found (helm template --set).", type="args",
                  default=[])
    parser.addini("k8s_helm", "The helm command that renders charts (default: helm on PATH, else the one "
                              "scripts/build-helm.sh cached).", default="")
    parser.addini("k8s_kustomize", "The command that renders kustomizations: a kustomize or kubectl binary "
                                   "(default: kustomize on PATH, else kubectl).", default="")
    parser.addini("k8s_require_image_digest",
                  "Require every container image to be pinned by digest (image@sha256:...): control "
                  "nsa.pod.image-digest. Off by default.", type="bool", default=False)
    parser.addini("k8s_min_run_as_id",
                  "Lowest UID and GID containers may run as (runAsUser, runAsGroup): control nsa.pod.high-run-as-ids; "
                  "10001 matches Trivy KSV-0020/KSV-0021. 0 (the default) turns the control off.", default="0")
    parser.addini("k8s_system_workloads",
                  "Names (globs) of workloads that belong in kube-system, besides the well-known add-ons.",
                  type="args", default=[])


_SEVERITY_CHOICES = (*SEVERITIES, "none")


def _severity(value: str) -> str:
    if value.lower() not in _SEVERITY_CHOICES:
        raise pytest.UsageError(f"--k8s-fail-on takes one of {', '.join(_SEVERITY_CHOICES)}, not {value!r}")
    return value.lower()


def _group_by(value: str) -> str:
    if value not in _GROUP_BY:
        raise pytest.UsageError(f"k8s_group_by takes {', '.join(_GROUP_BY)}, not {value!r}")
    return value


def _score(value: str) -> float:
    try:
        score = float(value)
    except ValueError:
        score = -1.0
    if not 0 <= score <= 100:
        raise pytest.UsageError(f"--k8s-min-score takes a number from 0 to 100, not {value!r}")
    return score


def _positive(config: pytest.Config, name: str, kind: type[float]) -> Any:
    """``--k8s-x-y`` or ini ``k8s_x_y``: a positive number, else a usage error naming it."""
    raw = getattr(config.option, name, None)
    where = "--" + name.replace("_", "-") if raw is not None else name
    if raw is None:
        raw = config.getini(name)
    try:
        value = kind(raw)
        if not 0 < value < float("inf"):  # NaN fails too
            raise ValueError
    except (TypeError, ValueError):
        unit = "seconds" if kind is float else "bytes"
        raise pytest.UsageError(f"{where} takes a positive number of {unit}, not {raw!r}") from None
    return value


def _min_run_as_id(config: pytest.Config) -> int:
    """ini ``k8s_min_run_as_id``: a whole number from 0 (off) to 2147483647, else a usage error."""
    raw = config.getini("k8s_min_run_as_id")
    try:
        value = int(str(raw).strip())
        if not 0 <= value <= 2**31 - 1:
            raise ValueError
    except ValueError:
        raise pytest.UsageError(f"k8s_min_run_as_id takes a whole number from 0 (off) to 2147483647, "
                                f"not {raw!r}") from None
    return value


def _versions(config: pytest.Config) -> tuple[str, str]:
    """ini ``k8s_pss_version`` and ``k8s_target_version``, refused when malformed before anything runs."""
    from .checks.pss import parse_version as pss_version
    from .checks.upgrades import parse_version as k8s_version

    pss, target = config.getini("k8s_pss_version"), config.getini("k8s_target_version")
    try:
        pss_version(pss)
    except ValueError as exc:
        raise pytest.UsageError(f"k8shardening: k8s_pss_version: {exc}") from None
    if target:
        try:
            k8s_version(target)
        except ValueError as exc:
            raise pytest.UsageError(f"k8shardening: k8s_target_version: {exc}") from None
    return pss, target


@dataclass(frozen=True)
class Settings:
    """The resolved options: command line first, then ini, then defaults."""

    manifests: tuple[str, ...] = ()
    context: str | None = None
    kubeconfig: str | None = None
    in_cluster: bool = False
    kind: bool = False
    kind_config: str | None = None
    save_snapshot: Path | None = None
    scope: Scope = Scope()
    builtin: bool = True
    report_json: Path | None = None
    max_file_size: int = DEFAULT_MAX_BYTES
    #: ``k8s_system_workloads``: names (globs) of the user's own components that belong in kube-system.
    system_workloads: tuple[str, ...] = ()
    list_controls: bool = False
    report_sarif: Path | None = None
    sarif_root: Path | None = None
    waivers: Path | None = None
    fail_on: str | None = None
    min_score: float | None = None
    #: ``--k8s-controls-table``: the terminal summary ends with a per-control status table.
    controls_table: bool = False
    group_by: str = "auto"  # or resource, namespace, control (see grouping.choose_grouping)
    helm_values: tuple[str, ...] = ()
    helm_set: tuple[str, ...] = ()
    helm: str | None = None
    kustomize: str | None = None
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    read_timeout: float = DEFAULT_READ_TIMEOUT
    max_response_size: int = DEFAULT_MAX_RESPONSE_BYTES
    require_image_digest: bool = False
    min_run_as_id: int = 0
    #: ``k8s_pss_version``: the Pod Security Standards version the pss suites evaluate (``latest`` or ``v1.N``).
    pss_version: str = "latest"
    #: ``k8s_target_version``: the release manifests must be valid for; empty: the cluster's, else the newest.
    target_version: str = ""
    #: ``--k8s-org`` / ``k8s_org_checks``, ``k8s_allowed_registries``, ``k8s_required_labels``.
    org: OrgPolicy = OrgPolicy()

    @property
    def live(self) -> bool:
        return bool(self.context or self.kubeconfig or self.in_cluster or self.kind)

    @property
    def enabled(self) -> bool:
        """The plugin acts only when a target is given."""
        return bool(self.manifests) or self.live

    @classmethod
    def from_config(cls, config: pytest.Config) -> Settings:
        opt = config.option
        manifests = opt.k8s_manifests or [str(p) for p in config.getini("k8s_manifests")]
        include = opt.k8s_namespaces or config.getini("k8s_namespaces")
        exclude = opt.k8s_exclude_namespaces or config.getini("k8s_exclude_namespaces")
        include_system = opt.k8s_include_system if opt.k8s_include_system is not None \
            else config.getini("k8s_include_system_namespaces")
        builtin = opt.k8s_builtin if opt.k8s_builtin is not None else config.getini("k8s_builtin_suites")
        report = opt.k8s_report_json or config.getini("k8s_report_json") or None
        raw_size = config.getini("k8s_max_file_size")
        try:
            max_size = int(raw_size)
            if max_size <= 0:
                raise ValueError
        except ValueError:
            raise pytest.UsageError(f"k8s_max_file_size must be a positive number of bytes, not {raw_size!r}") from None
        live = [name for name, on in (("--k8s-context/--k8s-kubeconfig", opt.k8s_context or opt.k8s_kubeconfig),
                                      ("--k8s-in-cluster", opt.k8s_in_cluster), ("--k8s-kind", opt.k8s_kind)) if on]
        if len(live) > 1:
            raise pytest.UsageError(f"choose one live target, not {' and '.join(live)}")
        if live and opt.k8s_manifests:
            raise pytest.UsageError(f"choose either --k8s-manifests or a live cluster ({live[0]}), not both")
        if opt.k8s_kind_config and not opt.k8s_kind:
            raise pytest.UsageError("--k8s-kind-config needs --k8s-kind")
        if opt.k8s_save_snapshot and not live:
            raise pytest.UsageError("--k8s-save-snapshot needs a live cluster (--k8s-context, --k8s-kubeconfig, "
                                    "--k8s-in-cluster or --k8s-kind)")
        if live:
            manifests = []
        if any(not str(m).strip() for m in manifests):
            raise pytest.UsageError("--k8s-manifests got an empty path; name a file or directory "
                                    "(--k8s-manifests . for the current directory), or - for standard input")
        if list(manifests).count("-") > 1:
            raise pytest.UsageError("--k8s-manifests - is given more than once; standard input can be read once")
        pss_version, target_version = _versions(config)
        sarif = opt.k8s_report_sarif or config.getini("k8s_report_sarif")
        return cls(
            context=opt.k8s_context,
            kubeconfig=opt.k8s_kubeconfig,
            in_cluster=bool(opt.k8s_in_cluster),
            kind=bool(opt.k8s_kind),
            kind_config=opt.k8s_kind_config,
            save_snapshot=Path(opt.k8s_save_snapshot) if opt.k8s_save_snapshot else None,
            manifests=tuple(manifests),
            scope=Scope(tuple(include), tuple(exclude), bool(include_system)),
            builtin=bool(builtin),
            report_json=Path(report) if report else None,
            max_file_size=max_size,
            system_workloads=tuple(config.getini("k8s_system_workloads")),
            list_controls=bool(opt.k8s_list_controls or opt.k8s_list_controls_format),
            report_sarif=Path(sarif) if sarif else None,
            sarif_root=_sarif_root(opt, manifests, live) if sarif else None,
            waivers=Path(w) if (w := opt.k8s_waivers or config.getini("k8s_waivers")) else None,
            fail_on=opt.k8s_fail_on or (_severity(config.getini("k8s_fail_on")) if config.getini("k8s_fail_on")
                                        else None),
            controls_table=bool(opt.k8s_controls_table),
            group_by=_group_by(opt.k8s_group_by or config.getini("k8s_group_by") or "auto"),
            helm_values=tuple(opt.k8s_helm_values or config.getini("k8s_helm_values")),
            helm_set=tuple(opt.k8s_helm_set or config.getini("k8s_helm_set")),
            helm=config.getini("k8s_helm") or None,
            kustomize=config.getini("k8s_kustomize") or None,
            min_score=opt.k8s_min_score if opt.k8s_min_score is not None else (
                _score(config.getini("k8s_min_score")) if config.getini("k8s_min_score") else None),
            request_timeout=_positive(config, "k8s_request_timeout", float),
            read_timeout=_positive(config, "k8s_read_timeout", float),
            max_response_size=_positive(config, "k8s_max_response_size", int),
            require_image_digest=bool(config.getini("k8s_require_image_digest")),
            min_run_as_id=_min_run_as_id(config),
            pss_version=pss_version,
            target_version=target_version,
            org=OrgPolicy(
                enabled=bool(opt.k8s_org or config.getini("k8s_org_checks")),
                allowed_registries=tuple(config.getini("k8s_allowed_registries")),
                required_labels=tuple(config.getini("k8s_required_labels")),
            ),
        )


_SETTINGS = pytest.StashKey[Settings]()


def settings_of(config: pytest.Config) -> Settings:
    """The run's :class:`Settings`, resolved on first use and kept for the rest of the run."""
    settings = config.stash.get(_SETTINGS, None)
    if settings is None:
        settings = config.stash[_SETTINGS] = Settings.from_config(config)
    return settings


def _sarif_root(opt: Any, manifests: list[str], live: list[str]) -> Path:
    """The folder SARIF paths are relative to. SARIF needs files: a live scan without a snapshot, or
    standard input, has none, and code scanning refuses a result without one."""
    from .reporting.sarif import repository_root

    if opt.k8s_sarif_root:
        root = Path(opt.k8s_sarif_root)
        if not root.is_dir():
            raise pytest.UsageError(f"--k8s-sarif-root {root}: not a directory")
        return root.resolve()
    if live and not opt.k8s_save_snapshot:
        raise pytest.UsageError("--k8s-report-sarif needs files, and a live scan has none: add --k8s-save-snapshot "
                                "PATH (the SARIF results then point into the snapshot), or use --k8s-report-json")
    if "-" in manifests:
        raise pytest.UsageError("--k8s-report-sarif needs files, and standard input (-) has none: scan the manifest "
                                "files, or use --k8s-report-json")
    start = Path(opt.k8s_save_snapshot) if live else Path(manifests[0]) if manifests else Path.cwd()
    return repository_root(start.absolute())
