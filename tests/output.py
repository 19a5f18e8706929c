"""Reading a run's terminal output: pytest's counts line is no longer the last one (the compliance
summary is printed after it)."""

from __future__ import annotations

import re

_COUNTS = re.compile(r"\bin \d+(?:\.\d+)?s\b")


def counts_line(out: str) -> str:
    """pytest's final counts line (``3 failed, 2 passed in 0.52s``), wherever it is in ``out``."""
    return next((line for line in reversed(out.splitlines()) if _COUNTS.search(line)), "")
