"""`netvigil th serve`: run the test helper (the control vantage) over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from netvigil.cli.console import HostOpt, PortOpt, fail, listening
from netvigil.listening import url_of
from netvigil.net.backend import AsyncioBackend
from netvigil.testhelper.measure import HelperSettings


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
) -> None:
    """Answer OONI Web Connectivity control requests (POST /) on HOST:PORT."""
    try:  # the web stack is the `server` extra: the probe's own install stays small
        from netvigil.serving import serve
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
    application = create_app(
        AsyncioBackend(),
        HelperSettings(allow_private=allow_private_targets),
        asn_of=geo.asn_of if geo is not None else no_asn,
    )
    # Printed once listening: probes can be pointed at it (`probe run --th URL`) right away.
    typer.echo(f"netvigil test helper on {url_of(host, port)}", err=True)
    serve(application, sock, lifespan="off")
