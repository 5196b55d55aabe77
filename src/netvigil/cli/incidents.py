"""`netvigil incidents ...`: the same operations as the API, from a terminal.

Commands act as the local operator (full clearance: whoever can read the data folder can
read the database anyway) unless `--api-key KEY` is given, when they act as that key's
member with that key's scopes. The operator is nobody in particular, so it is never one of
the two people publishing takes: it names them (`--as MEMBER`). `verify` needs no data
folder at all: anyone given a copy and the instance's public key can check it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import msgspec
import typer
from rich.table import Table

from netvigil.cli.console import fail
from netvigil.cli.incident_session import (
    LOCAL,
    AsOpt,
    JsonOpt,
    Where,
    on_instance,
    org_named,
    out,
    run,
)


@on_instance
def create_command(
    source: Annotated[
        Path | None, typer.Option("--from", metavar="FILE", help="The incident, as JSON.")
    ] = None,
    example: Annotated[
        bool,
        typer.Option("--example", help="Print an example incident to start from, and exit."),
    ] = False,
    org: Annotated[
        str | None, typer.Option("--org", metavar="ORG", help="Author organisation (operator).")
    ] = None,
    acting: AsOpt = None,
    where: Where = LOCAL,
    as_json: JsonOpt = False,
) -> None:
    """Create an incident from a JSON file (a public one is stored at coalition until reviewed).

    Start from `--example` (valid as printed; the JSON Schema at /api/v1/incidents/schema
    describes every field).
    """
    from netvigil.incidents.validate import decode_input

    if example:
        from netvigil.incidents.example import EXAMPLE

        sys.stdout.write(json.dumps(EXAMPLE, indent=2, ensure_ascii=False) + "\n")
        return
    if source is None:
        raise fail("--from FILE: the incident to create (start from --example)")
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise fail(f"cannot read {source}: {exc.strerror}") from None
    session = where.open(acting)
    if (
        session.who.kind == "member"
        and org is not None
        and org_named(session, org) != session.who.org_id
    ):
        raise fail("--org: a member creates incidents for their own organisation")
    made = run(
        lambda: session.instance.service.create(
            session.who, decode_input(data), org=org_named(session, org)
        )
    )
    _print(made, as_json, f"created {made.id} at {made.visibility} ({made.publication})")


@on_instance
def list_command(
    country: Annotated[
        str | None, typer.Option("--country", metavar="CC", help="Only this country (e.g. IR).")
    ] = None,
    status: Annotated[
        str | None,
        typer.Option(
            "--status",
            metavar="STATUS",
            help="Only this status: suspected, confirmed, ongoing or resolved.",
        ),
    ] = None,
    where: Where = LOCAL,
    as_json: JsonOpt = False,
) -> None:
    """List the incidents you may read, most recently updated first."""
    from netvigil.incidents.filters import parse_filter

    session = where.open()
    params = {k: v for k, v in {"country": country, "status": status}.items() if v}
    found = run(lambda: session.instance.select(session.who, parse_filter(params, paged=False)))
    if as_json or not out.is_terminal:
        for incident in session.instance.service.view(session.who, found):
            sys.stdout.write(msgspec.json.encode(incident).decode() + "\n")
        return
    table = Table("id", "title", "status", "visibility", "countries", "updated")
    for i in found:
        title = i.title.get("en") or next(iter(i.title.values()))
        table.add_row(
            i.id,
            title,
            i.status,
            i.visibility,
            ",".join(i.countries),
            i.updated_at.strftime("%Y-%m-%d %H:%M"),
        )
    out.print(table)


@on_instance
def show_command(
    ident: Annotated[str, typer.Argument(metavar="ID", help="The incident's id.")],
    revision: Annotated[
        int | None,
        typer.Option("--revision", metavar="N", min=1, help="This revision (default: the latest)."),
    ] = None,
    where: Where = LOCAL,
) -> None:
    """Show one incident (a revision with --revision) as JSON."""
    session = where.open()
    found = run(lambda: session.instance.service.get(session.who, ident, revision))
    _print(session.instance.service.view(session.who, [found])[0], True, "")


def _print(incident: Any, as_json: bool, line: str) -> None:
    if as_json:
        sys.stdout.write(msgspec.json.format(msgspec.json.encode(incident)).decode() + "\n")
    else:
        out.print(line)
