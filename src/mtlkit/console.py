"""One rich console for mtlkit's tables: full terminal width, or 160 columns when output is not a terminal."""

from __future__ import annotations

from rich.console import Console


def get_console() -> Console:
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)
    return console
