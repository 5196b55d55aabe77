"""`netvigil th serve`: run the test helper (the control vantage) over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any

import typer

from netvigil.cli.console import HostOpt, PortOpt, fail, listening
from netvigil.listening import ListenError, listen, url_of
from netvigil.net.backend import AsyncioBackend
from netvigil.testhelper.measure import HelperSettings

# The middlebox nettests' helpers (testhelper/echo.py): off unless a port is given, as OONI
# runs each on its own address (port 80 needs privileges; a lab picks any port).
HhfmPortOpt = Annotated[
    int | None,
    typer.Option(
        "--hhfm-port",
        metavar="PORT",
        min=1,
        max=65535,
        help="Also serve http_header_field_manipulation's JSON echo (OONI's "
        "http-return-json-headers) on HOST:PORT.",
    ),
]
EchoPortOpt = Annotated[
    int | None,
    typer.Option(
        "--echo-port",
        metavar="PORT",
        min=1,
        max=65535,
        help="Also serve http_invalid_request_line's TCP echo (OONI's tcp-echo) on HOST:PORT.",
    ),
]
Helper = Callable[[], Coroutine[Any, Any, None]]


def echo_helpers(
    host: str, hhfm_port: int | None, echo_port: int | None
) -> list[tuple[str, Helper]]:
    """The echo helpers asked for, each with the line that says where it is, their sockets
    listening now (a busy port is one line before anything runs)."""
    from netvigil.testhelper.echo import serve_json_headers, serve_tcp_echo

    Serve = Callable[[socket.socket], Coroutine[Any, Any, None]]
    wanted: list[tuple[str, str, int | None, Serve]] = [
        ("http-return-json-headers", "--hhfm-port", hhfm_port, serve_json_headers),
        ("tcp-echo", "--echo-port", echo_port, serve_tcp_echo),
    ]
    helpers: list[tuple[str, Helper]] = []
    for name, option, port, serve in wanted:
        if port is None:
            continue
        try:
            sock = listen(host, port)
        except ListenError as exc:
            raise fail(str(exc).replace("--port", option)) from None
        helpers.append((f"netvigil {name} helper on {host}:{port}", functools.partial(serve, sock)))
    return helpers


async def beside(serve_app: Coroutine[Any, Any, None], helpers: list[Helper]) -> None:
    """Run the echo helpers while the HTTP server runs; they stop when it stops."""
    tasks = [asyncio.create_task(helper()) for helper in helpers]
    try:
        await serve_app
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def serve_command(
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8080,
    allow_private_targets: Annotated[
        bool,
        typer.Option(
            "--allow-private-targets",
            help="Also connect to private, loopback and link-local addresses (labs and tests "
            "only: on a public helper this would let anyone probe its network).",
        ),
    ] = False,
    geoip_db: Annotated[
        Path | None,
        typer.Option(
            "--geoip-db",
            metavar="FILE.mmdb",
            help="MaxMind-format database (e.g. OONI's ip2country-as) for the AS numbers in "
            "ip_info (without one they are 0).",
        ),
    ] = None,
    hhfm_port: HhfmPortOpt = None,
    echo_port: EchoPortOpt = None,
) -> None:
    """Answer OONI Web Connectivity control requests (POST /) on HOST:PORT."""
    try:  # the web stack is the `server` extra: the probe's own install stays small
        from netvigil.serving import serve, serve_here
        from netvigil.testhelper.app import create_app
    except ImportError:
        raise fail(
            "the test helper needs the server extra: pip install 'netvigil[server]'"
        ) from None
    from netvigil.geoip import GeoIP, GeoIPError
    from netvigil.testhelper.measure import no_asn

    try:
        geo = GeoIP(geoip_db) if geoip_db is not None else None
    except GeoIPError as exc:
        raise fail(f"--geoip-db: {exc}") from None
    sock = listening(host, port)
    helpers = echo_helpers(host, hhfm_port, echo_port)
    application = create_app(
        AsyncioBackend(),
        HelperSettings(allow_private=allow_private_targets),
        asn_of=geo.asn_of if geo is not None else no_asn,
    )
    # Printed once listening: probes can be pointed at it (`probe run --th URL`) right away.
    typer.echo(f"netvigil test helper on {url_of(host, port)}", err=True)
    for line, _ in helpers:
        typer.echo(line, err=True)
    if not helpers:
        serve(application, sock, lifespan="off")
        return
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises Ctrl-C once it has ended
        served = serve_here(application, sock, lifespan="off")
        asyncio.run(beside(served, [helper for _, helper in helpers]))
