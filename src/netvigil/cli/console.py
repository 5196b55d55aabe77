"""What the commands share: the error console, `fail`, the data folder, a listening socket.

A problem the user can fix is one red line on stderr and an exit code, never a traceback
(README, "Exit codes"). Messages are text, not Rich markup: "title[en]: ..." prints as
written, and ":a:" in a URL stays text (no emoji).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from netvigil.datadir import DataDir, DataDirError, ensure, resolve_data_dir
from netvigil.listening import ListenError, listen

HostOpt = Annotated[str, typer.Option("--host", metavar="ADDRESS", help="Address to listen on.")]
PortOpt = Annotated[
    int, typer.Option("--port", metavar="PORT", min=1, max=65535, help="Port to listen on.")
]

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


def listening(host: str, port: int) -> socket.socket:
    """A socket listening on host:port before anything starts, or one line saying why not."""
    try:
        return listen(host, port)
    except ListenError as exc:
        raise fail(str(exc)) from None
