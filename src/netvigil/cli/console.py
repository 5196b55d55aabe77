"""What every command shares: the error console, `fail`, and opening the data folder.

A problem the user can fix is one red line on stderr and an exit code, never a traceback
(README, "Exit codes"). Messages are text, not Rich markup: "title[en]: ..." prints as
written, and ":a:" in a URL stays text (no emoji).
"""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from netvigil.datadir import DataDir, DataDirError, ensure, resolve_data_dir

err = Console(stderr=True, highlight=False, emoji=False)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print `message` as one error line; the exit to raise."""
    err.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True, markup=True, highlight=False)
    return typer.Exit(code)


def open_data_dir(option: Path | None) -> DataDir:
    """The data folder (created private to its owner), or one line saying what to set."""
    try:
        return DataDir(root=ensure(resolve_data_dir(option, os.environ)))
    except (DataDirError, OSError) as exc:
        raise fail(str(exc).splitlines()[0]) from None
