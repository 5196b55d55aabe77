"""`netvigil incidents ...`: the same operations as the API, from a terminal.

Commands act as the local operator (full clearance: whoever can read the data folder can
read the database anyway) unless `--api-key KEY` is given, when they act as that key's
member with that key's scopes. The operator is nobody in particular, so it is never one of
the two people publishing takes: it names them (`--as MEMBER`). `verify` needs no data
folder at all: anyone given a copy and the instance's public key can check it.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import msgspec
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from netvigil.cli.console import fail

out = Console(soft_wrap=True, highlight=False)

DataDirOpt = Annotated[
    Path | None, typer.Option("--data-dir", metavar="DIR", help="The data folder.")
]
KeyOpt = Annotated[
    str | None,
    typer.Option("--api-key", metavar="KEY", help="Act as this key's member (default: operator)."),
]
DatabaseOpt = Annotated[
    str | None,
    typer.Option(
        "--database", metavar="URL", help="SQLAlchemy URL (default: SQLite in the folder)."
    ),
]
UrlOpt = Annotated[
    str, typer.Option("--public-url", metavar="URL", help="This instance's public address.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="JSON output.")]
AsOpt = Annotated[
    str | None,
    typer.Option(
        "--as",
        metavar="MEMBER",
        help="Act as this member (name or id; operator only): who creates, asks or approves.",
    ),
]
FORMATS = ("json", "csv", "atom", "stix", "misp")


class Session(msgspec.Struct, frozen=True):
    instance: Any
    who: Any


def _open(
    data_dir: Path | None,
    api_key: str | None,
    database: str | None,
    url: str,
    acting: str | None = None,
) -> Session:
    from netvigil.datadir import DataDir, DataDirError, ensure, resolve_data_dir
    from netvigil.incidents import accounts
    from netvigil.incidents.access import OPERATOR
    from netvigil.incidents.evidence import ObservatoryEvidence
    from netvigil.incidents.instance import Instance
    from netvigil.observatory.data import ObservatoryData
    from netvigil.observatory.sources import scan_archive

    try:
        folder = ensure(resolve_data_dir(data_dir, os.environ))
        layout = DataDir(root=folder)
        evidence = ObservatoryEvidence(ObservatoryData(layout.tables, scan_archive(layout.archive)))
        instance = Instance(folder, url=url, evidence=evidence, database=database)
    except (DataDirError, OSError, ValueError) as exc:
        raise fail(str(exc).splitlines()[0]) from None
    except Exception as exc:
        raise fail(f"cannot open the incident database: {exc}".splitlines()[0]) from None
    who = OPERATOR
    if api_key is not None:
        found = accounts.by_key(instance.engine, api_key, instance.now())
        if found is None:
            raise fail("--api-key: invalid, expired or revoked")
        who = found
    if acting is not None:
        if api_key is not None:
            raise fail("--as: with --api-key you act as the key's member")
        who = _member(instance, acting)
    return Session(instance, who)


def _member(instance: Any, name: str) -> Any:
    """The operator acting as a named member, with that member's role (and its rules)."""
    import sqlalchemy as sa

    from netvigil.incidents import accounts, db

    with instance.engine.connect() as connection:
        ident = connection.execute(
            sa.select(db.members.c.id).where(
                sa.or_(db.members.c.name == name, db.members.c.id == name)
            )
        ).scalar()
        found = accounts.member(connection, ident) if ident is not None else None
    if found is None:
        raise fail(f"--as: no member {name!r}")
    return found


def _run(action: Any) -> Any:
    """Run an operation; the service's refusals become one-line errors."""
    from netvigil.incidents.accounts import AccountError, KeyRefused, NoKey
    from netvigil.incidents.filters import BadFilter
    from netvigil.incidents.service import Forbidden, NotFound
    from netvigil.incidents.validate import InvalidIncident

    try:
        return action()
    except InvalidIncident as exc:
        for problem in exc.problems[1:]:
            out.print(f"[red]error:[/red] {escape(problem)}", markup=True, highlight=False)
        raise fail(str(exc)) from None
    except (NotFound, Forbidden, BadFilter, AccountError, KeyRefused, NoKey) as exc:
        raise fail(str(exc)) from None


def _org(session: Session, name: str | None) -> str | None:
    if name is None:
        return None
    names = session.instance.org_names()
    if name in names:
        return name
    found = [ident for ident, org in names.items() if org == name]
    if not found:
        raise fail(f"--org: no organisation {name!r}")
    return str(found[0])


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
    data_dir: DataDirOpt = None,
    api_key: KeyOpt = None,
    database: DatabaseOpt = None,
    url: UrlOpt = "http://127.0.0.1:8000",
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
    session = _open(data_dir, api_key, database, url, acting)
    if (
        session.who.kind == "member"
        and org is not None
        and _org(session, org) != session.who.org_id
    ):
        raise fail("--org: a member creates incidents for their own organisation")
    made = _run(
        lambda: session.instance.service.create(
            session.who, decode_input(data), org=_org(session, org)
        )
    )
    _print(made, as_json, f"created {made.id} at {made.visibility} ({made.publication})")


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
    data_dir: DataDirOpt = None,
    api_key: KeyOpt = None,
    database: DatabaseOpt = None,
    url: UrlOpt = "http://127.0.0.1:8000",
    as_json: JsonOpt = False,
) -> None:
    """List the incidents you may read, most recently updated first."""
    from netvigil.incidents.filters import parse_filter

    session = _open(data_dir, api_key, database, url)
    params = {k: v for k, v in {"country": country, "status": status}.items() if v}
    found = _run(lambda: session.instance.select(session.who, parse_filter(params, paged=False)))
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


def show_command(
    ident: Annotated[str, typer.Argument(metavar="ID", help="The incident's id.")],
    revision: Annotated[
        int | None,
        typer.Option("--revision", metavar="N", min=1, help="This revision (default: the latest)."),
    ] = None,
    data_dir: DataDirOpt = None,
    api_key: KeyOpt = None,
    database: DatabaseOpt = None,
    url: UrlOpt = "http://127.0.0.1:8000",
) -> None:
    """Show one incident (a revision with --revision) as JSON."""
    session = _open(data_dir, api_key, database, url)
    found = _run(lambda: session.instance.service.get(session.who, ident, revision))
    _print(session.instance.service.view(session.who, [found])[0], True, "")


def _print(incident: Any, as_json: bool, line: str) -> None:
    if as_json:
        sys.stdout.write(msgspec.json.format(msgspec.json.encode(incident)).decode() + "\n")
    else:
        out.print(line)
