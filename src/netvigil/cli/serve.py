"""`netvigil serve`: the observatory's one process (collector, probe services, helper)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit

import typer

from netvigil.cli.console import HostOpt, PortOpt, fail, listening, open_data_dir
from netvigil.cli.th import EchoPortOpt, HhfmPortOpt, echo_helpers
from netvigil.datadir import DataDir
from netvigil.listening import url_of

if TYPE_CHECKING:
    from netvigil.incidents.alerts import Rules as AlertRules

GeoipOpt = Annotated[
    Path | None,
    typer.Option(
        "--geoip-db",
        metavar="FILE.mmdb",
        help="MaxMind-format database (e.g. OONI's ip2country-as) to enrich addresses with "
        "network and country (default: geoip.mmdb or the newest geoip/*.mmdb in the data folder).",
    ),
]


def check_geoip(database: Path) -> Path:
    """The database if it opens as MaxMind's format; else one line (GeoIPError's)."""
    from netvigil.geoip import GeoIP, GeoIPError

    try:
        GeoIP(database).close()
    except GeoIPError as exc:
        raise fail(f"--geoip-db: {exc}") from None
    return database


def geoip_of(folder: DataDir, option: Path | None) -> Path | None:
    """The database to use, checked now, so a bad one is one line before any work starts."""
    database = option or folder.geoip_database()
    return check_geoip(database) if database is not None else None


def load_demo(
    folder: DataDir,
    geoip: Path | None = None,
    *,
    url: str = "http://127.0.0.1:8000",
    database: str | None = None,
) -> int:
    """Load the demo (cli/demo_data.py): real OONI measurements (CC BY-NC-SA 4.0), OONI's own
    verdicts, detection events from Monash's Bago series (GPL-3.0), example incidents; say
    in one line per part what was loaded, its source and licence. The measurements' count."""
    import datetime as dt

    from netvigil.cli import demo_data

    now = dt.datetime.now(dt.UTC)
    parts = demo_data.load(folder, geoip=geoip, url=url, database=database, now=now)
    for part in parts:
        typer.echo(part.line, err=True)
    return parts[0].count


def _public_url(value: str | None) -> str | None:
    """An absolute http(s) URL, or one line saying what was expected."""
    if value is None:
        return None
    try:
        parts = urlsplit(value)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 - raises ValueError when out of range
    except ValueError:
        valid = False
    if not valid:
        raise fail(
            "--public-url: expected an http:// or https:// URL such as "
            f"https://observatory.example.org/, got {value!r}"
        )
    return value


def _alert_rules(path: Path | None) -> AlertRules | None:
    """The rules file, read now: a bad one is one line before anything starts."""
    if path is None:
        return None
    from netvigil.incidents.alerts import AlertRulesError, load_rules

    try:
        return load_rules(path)
    except AlertRulesError as exc:
        raise fail(f"--alerts: {exc}") from None


def serve_command(
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8000,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            metavar="DIR",
            help="The observatory's data folder (default: $NETVIGIL_HOME).",
        ),
    ] = None,
    allow_private_targets: Annotated[
        bool,
        typer.Option(
            "--allow-private-targets",
            help="Let the test helper and webhooks reach private addresses (labs and tests only).",
        ),
    ] = False,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="Load the bundled demo: real OONI measurements, OONI's own verdicts, "
            "outages detected in a real series and example incidents.",
        ),
    ] = False,
    geoip_db: GeoipOpt = None,
    database: Annotated[
        str | None,
        typer.Option(
            "--database",
            metavar="URL",
            help="Incident database, an SQLAlchemy URL such as postgresql+psycopg://... "
            "(default: $NETVIGIL_DATABASE_URL, else SQLite in the data folder).",
        ),
    ] = None,
    public_url: Annotated[
        str | None,
        typer.Option(
            "--public-url",
            metavar="URL",
            help="This instance's public address, for links and signed records "
            "(default: http://HOST:PORT).",
        ),
    ] = None,
    alerts: Annotated[
        Path | None,
        typer.Option(
            "--alerts",
            metavar="FILE.toml",
            help="Alert rules (TOML: org, then [[rule]] tables with entity, kinds, "
            "min_confidence, min_level, visibility): a detected event that matches one opens "
            "a suspected incident, sent by the signed webhooks.",
        ),
    ] = None,
    hhfm_port: HhfmPortOpt = None,
    echo_port: EchoPortOpt = None,
    lab_network: Annotated[
        list[str],
        typer.Option(
            "--lab-network",
            hidden=True,
            help="Lab: analyse these CIDRs as the public addresses they stand for.",
        ),
    ] = [],  # noqa: B006
) -> None:
    """Run the observatory: collector, probe services, test helper, data API, incidents."""
    try:
        from netvigil.incidents.db import OPEN_ERRORS
        from netvigil.server import create_app
        from netvigil.serving import serve

        # What a folder or an incident database that cannot be used raises: one line each.
        refused: tuple[type[Exception], ...] = (OSError, ValueError, *OPEN_ERRORS)
    except ImportError:
        raise fail("the server needs the server extra: pip install 'netvigil[server]'") from None
    public_url = _public_url(public_url)
    rules = _alert_rules(alerts)
    if geoip_db is not None:
        check_geoip(geoip_db)  # a bad database is one line before anything is created
    sock = listening(host, port)  # and so is a busy port
    helpers = echo_helpers(host, hhfm_port, echo_port)
    folder = open_data_dir(data_dir)
    geoip = geoip_of(folder, geoip_db)
    empty = not any(folder.tables.glob("**/*.parquet")) and not folder.archive.exists()
    if demo or (
        empty
        and sys.stdin.isatty()
        and typer.confirm(
            "The data folder is empty. Load a sample of real OONI measurements?", default=True
        )
    ):
        from netvigil.cli.demo_data import DemoError

        cannot: tuple[type[Exception], ...] = (*refused, DemoError)
        try:
            load_demo(
                folder, geoip, url=public_url or url_of(host, port).rstrip("/"), database=database
            )
        except cannot as exc:
            raise fail(f"cannot load the demo: {exc}".splitlines()[0]) from None
    elif empty:
        typer.echo(
            "empty data folder: submit measurements, `netvigil ingest FILES`, or "
            "restart with --demo for sample data",
            err=True,
        )
    try:
        app = create_app(
            folder.root,
            allow_private_targets=allow_private_targets,
            geoip=geoip,
            database=database,
            public_url=public_url or url_of(host, port).rstrip("/"),
            alert_rules=rules,
            echo_helpers=[helper for _, helper in helpers],
            lab_networks=tuple(lab_network),
        )
    except refused as exc:
        raise fail(f"cannot start: {exc}".splitlines()[0]) from None
    typer.echo(f"netvigil observatory on {url_of(host, port)} (data in {folder.root})", err=True)
    for line, _ in helpers:
        typer.echo(line, err=True)
    serve(app, sock)
