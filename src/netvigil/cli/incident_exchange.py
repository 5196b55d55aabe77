"""`netvigil incidents export` and `verify`: copies for other tools, and checking them.

`verify` needs no data folder: a journalist or a ministry given a JSON export and the
instance's public key (from `/.well-known/netvigil/keys`) can check every revision.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from netvigil.cli.console import fail
from netvigil.cli.incident_session import LOCAL, Where, on_instance, out

FORMATS = ("json", "csv", "atom", "stix", "misp")


@on_instance
def export_command(
    kind: Annotated[
        str, typer.Option("--format", metavar="FORMAT", help="json, csv, atom, stix or misp.")
    ] = "json",
    output: Annotated[
        Path | None, typer.Option("--output", metavar="FILE", help="File (default: stdout).")
    ] = None,
    where: Where = LOCAL,
) -> None:
    """Export the incidents you may read."""
    from netvigil.incidents.api import render
    from netvigil.incidents.filters import Filter

    if kind not in FORMATS:
        raise fail(f"--format: one of {', '.join(FORMATS)}")
    session = where.open()
    found = session.instance.select(session.who, Filter(limit=10**9))
    body = render(session.instance, session.who, found, kind, "/api/v1/incidents/export").body
    if output is None:
        sys.stdout.buffer.write(bytes(body))
        return
    try:
        output.write_bytes(bytes(body))
    except OSError as exc:
        raise fail(f"cannot write {output}: {exc.strerror}") from None
    out.print(f"wrote {len(found)} incident(s) to {output}")


def verify_command(
    source: Annotated[Path, typer.Argument(metavar="FILE", help="A JSON export or revision.")],
    public_key: Annotated[
        str,
        typer.Option(
            "--public-key",
            metavar="KEY",
            help="The instance's key (base64url, or a file holding it or a PEM).",
        ),
    ],
) -> None:
    """Check the signatures of exported incidents (no data folder needed)."""
    from netvigil.incidents.signing import parse_public, verify

    try:
        text = Path(public_key).read_text() if Path(public_key).is_file() else public_key
        key = parse_public(text)
        document = json.loads(source.read_bytes())
    except OSError as exc:
        raise fail(f"cannot read {source}: {exc.strerror}") from None
    except ValueError as exc:
        raise fail(f"{exc}".splitlines()[0]) from None
    revisions = document.get("incidents") if isinstance(document, dict) else None
    revisions = revisions if isinstance(revisions, list) else [document]
    failures = 0
    for n, revision in enumerate(revisions):
        problem = verify(revision, [key]) if isinstance(revision, dict) else "not an object"
        if problem is not None:
            failures += 1
            ident = revision.get("id", f"#{n}") if isinstance(revision, dict) else f"#{n}"
            out.print(f"[red]invalid:[/red] {escape(str(ident))}: {escape(problem)}", markup=True)
    if failures or not revisions:
        raise typer.Exit(1)
    out.print(f"verified {len(revisions)} revision(s)")
