"""Keep the project's rootdir and ini file when an option's value lies outside the project.

pytest chooses its rootdir and ini file before it loads plugins, from the
command line as it understands it then: ``--k8s-manifests`` is unknown, so
in ``pytest --k8s-manifests ../elsewhere`` it reads ``../elsewhere`` as a
test path (pytest issue #8846; ``--k8s-manifests=../elsewhere`` is one
argument and is not affected). The rootdir becomes a common ancestor of the
project and ``../elsewhere``, the project's ini file is not read (or
``../elsewhere``'s is) and node ids start with ``../`` or the project's
folder name.

:func:`keep_project_setup` runs when the plugin's options are known (the
first ``pytest_load_initial_conftests``, before conftests load) and, if
the choice was moved by such a value, chooses again from the test paths
alone, the way pytest does, and repeats what pytest derived from the ini
file in between: its ``addopts``, ``pythonpath``, ``minversion``,
``required_plugins``, the default ``confcutdir`` and the ``python_files``
of the assertion rewriter. This relies on pytest internals (named below):
tests/test_plugin.py runs it against the installed pytest.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

__all__ = ["keep_project_setup"]

_PREFIX = "--k8s-"


def _moved_by_our_values(args: list[str]) -> bool:
    """Is some ``--k8s-*`` option followed by a separate value (the form pytest misreads)?"""
    return any(a.startswith(_PREFIX) and "=" not in a and not args[i + 1].startswith("-")
               for i, a in enumerate(args[:-1]))


def keep_project_setup(config: pytest.Config, args: list[str]) -> bool:
    """Choose the rootdir and ini file again without our options' values; True if that changed them.

    ``args`` is the argument list pytest is parsing (ini ``addopts`` included),
    edited in place like pytest does.
    """
    if not _moved_by_our_values(args):
        return False
    from _pytest.config.findpaths import determine_setup, parse_override_ini

    ns = config.known_args_namespace  # parsed with our options known: their values are no test paths
    rootpath, inipath, inicfg, ignored = determine_setup(
        inifile=ns.inifilename, override_ini=ns.override_ini, args=ns.file_or_dir,
        rootdir_cmd_arg=ns.rootdir or None, invocation_dir=config.invocation_params.dir)
    if (rootpath, inipath) == (config.rootpath, config.inipath):
        return False
    cfg: Any = config  # the attributes pytest's Config.parse sets
    old_addopts = list(config.getini("addopts"))
    cfg._unconfigure_python_path()
    cfg._rootpath, cfg._inipath, cfg._inicfg, cfg._ignored_config_files = rootpath, inipath, inicfg, ignored
    cfg._inicache.clear()
    cfg._parser.extra_info["rootdir"] = str(rootpath)
    cfg._parser.extra_info["inifile"] = str(inipath)
    addopts = list(config.getini("addopts"))
    if addopts != old_addopts:
        if args[:len(old_addopts)] == old_addopts:
            del args[:len(old_addopts)]
        args[:0] = addopts
        config.pluginmanager.consider_preparse(addopts, exclude_only=False)
    config.known_args_namespace = cfg._parser.parse_known_args(args, namespace=copy.copy(config.option))
    if overrides := parse_override_ini(config.known_args_namespace.override_ini):
        cfg._inicfg.update(overrides)
        cfg._inicache.clear()
    if config.known_args_namespace.confcutdir is None:
        config.known_args_namespace.confcutdir = str(inipath.parent if inipath is not None else rootpath)
    cfg._configure_python_path()
    cfg._checkversion()
    cfg._validate_plugins()
    from _pytest.assertion import assertstate_key

    state = config.stash.get(assertstate_key, None)
    hook = getattr(state, "hook", None)
    if hook is not None:
        hook.fnpats = config.getini("python_files")
    return True
