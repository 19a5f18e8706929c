"""The pytest entry point (``pytest11: k8shardening``): hooks only.

Inert unless a target is given: without ``--k8s-manifests`` (or its ini
twin) the plugin registers its markers and options and does nothing else.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from . import controls, nodeids, params, reruns
from .annotate import ADJUSTED, ANNOTATOR, Annotator, control_of, waiver_matcher
from .collector import Gates, ResultsCollector
from .controls import CATEGORIES, FRAMEWORKS, SEVERITIES
from .fixtures import (  # noqa: F401
    k8s_cluster, k8s_container, k8s_namespace, k8s_object, k8s_policy, k8s_settings, k8s_workload)
from .options import Settings, add_options, settings_of
from .reporting.allure import AllureBridge
from .reporting.html import HtmlBridge
from .reporting.junit import JunitReport
from .session import K8sSession
from .speedups import FindingReports
from .target import STDIN_KEY

_SESSION = "k8shardening-session"


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from . import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, args: list[str]) -> Generator[None, None, None]:
    # `--k8s-manifests ../elsewhere` moved pytest's rootdir and ini file: keep the project's (before the
    # conftests load from there).
    from .rootdir import keep_project_setup

    keep_project_setup(early_config, args)
    # pytest's fd capturing swaps stdin for /dev/null right after this point:
    # read `--k8s-manifests -` first.
    # An xdist worker gets the inventory from its controller and must not touch its own stdin.
    if "-" in (getattr(early_config.known_args_namespace, "k8s_manifests", None) or ()) \
            and not os.environ.get("PYTEST_XDIST_WORKER"):
        from .loader import read_stdin

        data = read_stdin()
        if data is not None:  # closed: the loader says so
            early_config.stash[STDIN_KEY] = data
    return (yield)


def pytest_configure(config: pytest.Config) -> None:
    _register_markers(config)
    controls.bind_config(config)
    settings = settings_of(config)
    if not (settings.enabled or settings.list_controls):
        return
    if not hasattr(config, "workerinput"):
        _check_outputs(config, settings)  # before anything is read: a bad path must not cost a scan
    waivers = _load_waivers(settings)
    if not hasattr(config, "workerinput"):
        for w in waivers:
            if w.label_only:
                config.issue_config_time_warning(pytest.PytestConfigWarning(
                    f"k8shardening: {w.describe()} selects by labels only: whoever may label a workload can "
                    "exempt it; add a namespace, kind or name"), stacklevel=2)
    session = K8sSession(config, settings)
    session.waivers = waivers
    config.pluginmanager.register(session, _SESSION)
    html = bool(config.pluginmanager.hasplugin("html") and getattr(config.option, "htmlpath", None))
    config.pluginmanager.register(FindingReports(), "k8shardening-reports")
    config.stash[ANNOTATOR] = Annotator(waivers, html, session.resource_for, session.encode_results)
    config.pluginmanager.register(config.stash[ANNOTATOR], "k8shardening-annotate")
    # Listing controls checks nothing: no results, no summary.
    if not hasattr(config, "workerinput") and not settings.list_controls:
        collector = ResultsCollector(
            config, session.target_summary, settings.report_json, sarif_path=settings.report_sarif,
            gates=Gates(settings.fail_on, settings.min_score), waivers=waivers,
            grouped=settings.group_by in ("namespace", "control"))
        config.pluginmanager.register(collector, "k8shardening-results")
        if getattr(config.option, "xmlpath", None):
            config.pluginmanager.register(JunitReport(config, collector), "k8shardening-junit")
        if html:
            config.pluginmanager.register(HtmlBridge(collector), "k8shardening-html")
    if config.pluginmanager.hasplugin("allure_pytest") and getattr(config.option, "allure_report_dir", None):
        config.pluginmanager.register(AllureBridge(), "k8shardening-allure")
    _suite_ids_as_paths(config, settings.builtin)
    reruns.never_rerun_findings(config)


def _suite_ids_as_paths(config: pytest.Config, builtin: bool) -> None:
    """Make ``k8shardening/...`` ids work as arguments, in ``--deselect`` and ``--lf``; collect the
    built-in suites unless an argument names a part of them (then only that part runs)."""
    suites = Path(_suites_dir())
    where = (config.invocation_params.dir, config.rootpath)
    config.args[:] = nodeids.to_suite_args(config.args, suites, *where)
    if getattr(config.option, "deselect", None):
        config.option.deselect = nodeids.deselect_ids(config.option.deselect, suites, *where)
    nodeids.teach_lastfailed(config, suites)
    if builtin and not nodeids.names_suites(config.args, suites, config.invocation_params.dir):
        config.args.append(str(suites))


def pytest_unconfigure(config: pytest.Config) -> None:
    controls.unbind_config(config)


def _suite_relative(path: Path, config: pytest.Config) -> str | None:
    """``nsa/test_rbac.py`` for a path inside the built-in suites, else None."""
    if config.pluginmanager.get_plugin(_SESSION) is None:
        return None
    root = Path(_suites_dir())
    if path == root:
        return ""
    if root not in path.parents:
        return None
    return path.relative_to(root).as_posix()


@pytest.hookimpl(tryfirst=True)
def pytest_collect_directory(path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """Give the built-in suites short, stable node ids (``k8shardening/nsa/test_rbac.py::...``)
    wherever they are installed, instead of a path into site-packages."""
    rel = _suite_relative(path, parent.config)
    if rel is None or not (path / "__init__.py").is_file():
        return None
    return pytest.Package.from_parent(parent, path=path, nodeid=f"{nodeids.PREFIX}/{rel}".rstrip("/"))


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    rel = _suite_relative(module_path, parent.config)
    if not rel:
        return None
    return pytest.Module.from_parent(parent, path=module_path, nodeid=f"{nodeids.PREFIX}/{rel}")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """The optional org suite is collected only when asked for."""
    if collection_path.name == "org" and collection_path.parent.name == "suites" or (
            collection_path.parent.name == "org" and collection_path.parent.parent.name == "suites"):
        if Path(_suites_dir()) in collection_path.parents:
            return None if settings_of(config).org.enabled else True
    return None


def _check_outputs(config: pytest.Config, settings: Settings) -> None:
    """Refuse report and snapshot paths that are inputs, folders, devices, or not writable."""
    from .loader import MANIFEST_SUFFIXES
    from .safeio import OutputRefused, check_outputs

    outputs = [(option, path) for option, path in (
        ("--k8s-report-json", settings.report_json), ("--k8s-report-sarif", settings.report_sarif),
        ("--k8s-save-snapshot", settings.save_snapshot)) if path is not None]
    if not outputs:
        return
    manifests = [m for m in settings.manifests if m != "-"]
    values = [part for v in settings.helm_values for part in (v, v.partition("=")[2])]  # [CHART=]FILE
    inputs: list[Any] = [*manifests, *values, settings.kubeconfig, settings.kind_config, settings.waivers,
                         config.inipath]
    if settings.live and not settings.kubeconfig:
        inputs += os.environ.get("KUBECONFIG", "").split(os.pathsep)
        inputs.append(os.path.expanduser("~/.kube/config"))
    try:
        check_outputs(outputs, [i for i in inputs if i], [(m, MANIFEST_SUFFIXES) for m in manifests])
    except OutputRefused as exc:
        raise pytest.UsageError(f"k8shardening: {exc}") from None


def _load_waivers(settings: Settings) -> list[Any]:
    if settings.waivers is None:
        return []
    from .waivers import WaiverError, load_waivers

    try:
        return load_waivers(settings.waivers)
    except WaiverError as exc:
        raise pytest.UsageError(f"k8shardening: invalid waivers: {exc}") from None


def _suites_dir() -> str:
    from .catalog import suites_dir

    return str(suites_dir())


def _register_markers(config: pytest.Config) -> None:
    add = config.addinivalue_line
    for name, text in FRAMEWORKS.items():
        add("markers", f"{name}: control of the {text} (pytest-k8shardening).")
    for name, text in CATEGORIES.items():
        add("markers", f"{name}: control about {text} (pytest-k8shardening).")
    for name in SEVERITIES:
        add("markers", f"{name}: control of {name} severity (pytest-k8shardening).")
    add("markers", "manual: control that software cannot check; reported as skipped (pytest-k8shardening).")
    add("markers", "k8s_control(control): the compliance control a test implements; set by "
                   "@pytest_k8shardening.control(...), read by the reports (pytest-k8shardening).")
    add("markers", "k8s_select(kinds=[...], namespaces=[...], include_system=False, container_types=[...], "
                   "where=callable, empty_reason=str): narrow the objects a k8s_* fixture is parametrized over. "
                   "Example: @pytest.mark.k8s_select(kinds=['ConfigMap']) (pytest-k8shardening).")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if not any(name in metafunc.fixturenames for name in params.TARGET_FIXTURES):
        return
    session = metafunc.config.pluginmanager.get_plugin(_SESSION)
    if session is None:
        params.parametrize(metafunc, None)
    else:
        params.parametrize(metafunc, session.inventory, session.grouping.mode)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Grouped mode: run the test body once per object of the item's group."""
    subject = params.subject_of(pyfuncitem)
    from .grouping import Group, run_group

    if not isinstance(subject, Group):
        return None
    session = pyfuncitem.config.pluginmanager.get_plugin(_SESSION)
    ctrl = control_of(pyfuncitem)
    run_group(pyfuncitem, subject, session.inventory if session else None, ctrl.id if ctrl else None,
              waiver_matcher(session.waivers if session else []))
    return True


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    annotator = item.config.stash.get(ANNOTATOR, None)
    if annotator is not None:  # the plugin was asked to act
        annotator.on_report(item, call, report)
    return report


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Refuse duplicate control ids; apply pytest_k8shardening_adjust_control before -m selects."""
    from .controls import adjust_item, check_unique_ids

    check_unique_ids(items, control_of)
    if not config.hook.pytest_k8shardening_adjust_control.get_hookimpls():
        return

    cache: dict[str, Any] = {}
    for item in items:
        ctrl = control_of(item)
        if ctrl is None:
            continue
        if ctrl.id not in cache:
            cache[ctrl.id] = config.hook.pytest_k8shardening_adjust_control(config=config, control=ctrl)
        adjust_item(item, ctrl, cache[ctrl.id], ADJUSTED)


def pytest_cmdline_main(config: pytest.Config) -> int | None:
    if config.option.k8s_list_controls or config.option.k8s_list_controls_format:
        from _pytest.main import wrap_session

        if config.option.k8s_list_controls_format == "json":  # stdout is the document: no header, no summary line
            config.option.verbose = min(config.option.verbose, -2)
        return wrap_session(config, _list_controls)
    return None


def _list_controls(config: pytest.Config, session: pytest.Session) -> int:
    from .catalog import listing_json, listing_lines

    session.perform_collect()
    if session.testsfailed:  # as pytest itself stops: the list would miss the controls of what failed
        raise session.Interrupted(f"{session.testsfailed} error{'s' if session.testsfailed > 1 else ''} "
                                  "during collection")
    seen: dict[str, Any] = {}
    for item in session.items:
        ctrl = control_of(item)
        if ctrl is not None:
            seen.setdefault(ctrl.id, ctrl)
    tw = config.get_terminal_writer()
    if config.option.k8s_list_controls_format == "json":
        import json

        tw.line(json.dumps(listing_json(list(seen.values())), indent=2))
    else:
        for line in listing_lines(list(seen.values())):
            tw.line(line)
    return 0
