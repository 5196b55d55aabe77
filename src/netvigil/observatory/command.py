"""`netvigil serve`: the observatory's one process (collector, probe services, helper)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from netvigil.probe.command import fail
from netvigil.probe.datadir import DataDirError, ensure, resolve_data_dir


def serve_command(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port.")] = 8000,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="The observatory's data folder.")
    ] = None,
    allow_private_targets: Annotated[
        bool,
        typer.Option(
            "--allow-private-targets",
            help="Let the test helper reach private addresses (labs and tests only).",
        ),
    ] = False,
) -> None:
    """Run the observatory: OONI collector, probe services and test helper (/th/)."""
    try:
        import uvicorn

        from netvigil.observatory.app import create_app
    except ImportError:
        raise fail("the server needs the server extra: pip install 'netvigil[server]'") from None
    try:
        folder = ensure(resolve_data_dir(data_dir, os.environ))
    except (DataDirError, OSError) as exc:
        raise fail(str(exc).splitlines()[0]) from None
    app = create_app(folder, allow_private_targets=allow_private_targets)
    uvicorn.run(
        app,
        host=host,
        port=port,
        access_log=False,
        log_level="warning",
        server_header=False,
        proxy_headers=False,
    )
