"""Input errors as test items: a file or render that could not be read fails the session.

One item per broken file or unit (``k8shardening/inputs::<path>``), added after
``-m``/``-k`` deselection: an unreadable input is never deselected away, so no
gate can pass a run that left something unread. They fail without a traceback,
naming the file, the line where known, and the problem; JUnit, HTML and the
gate count them like any other failing test.
"""

from __future__ import annotations

from typing import Any

import pytest

from .repository import InputError

__all__ = ["InputErrorItem", "InputErrorsPlugin", "input_error_items"]

NODEID_PREFIX = "k8shardening/inputs"


class InputNotRead(Exception):
    """Raised by an :class:`InputErrorItem`: the input named could not be scanned."""


class InputErrorItem(pytest.Item):
    """Fails with the input error it carries."""

    def __init__(self, *, error: InputError, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.error = error

    def runtest(self) -> None:
        raise InputNotRead(self.error.describe())

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, InputNotRead):
            return f"input not scanned: {excinfo.value}"
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[str, int | None, str]:
        return self.error.path, (self.error.line - 1 if self.error.line else None), f"input {self.error.path}"


def input_error_items(session: pytest.Session, errors: list[InputError]) -> list[pytest.Item]:
    """One item per input error, ids unique and stable (the path, then the line)."""
    items: list[pytest.Item] = []
    seen: dict[str, int] = {}
    for err in errors:
        name = err.path + (f":{err.line}" if err.line else "")
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            name += f"#{seen[name]}"
        items.append(InputErrorItem.from_parent(session, name=name, nodeid=f"{NODEID_PREFIX}::{name}", error=err))
    return items


class InputErrorsPlugin:
    """Adds the input-error items last, after -m/-k deselection, so no selection hides them."""

    def __init__(self, errors: list[InputError]) -> None:
        self.errors = errors

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, session: pytest.Session, items: list[pytest.Item]) -> None:
        items[:0] = input_error_items(session, self.errors)
