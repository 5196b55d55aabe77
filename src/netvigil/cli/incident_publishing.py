"""`netvigil incidents publish|retract`: the decisions, each by a named person.

Publishing to `public` takes two people: one asks, a second (an admin of the author's
organisation or a coalition admin) approves. The operator is nobody in particular, so it
names them (`--as ASKER`, then `--approve --as REVIEWER`); with `--api-key` the key's member
decides. The service refuses the same person twice, whatever happened in between.
"""

from __future__ import annotations

from typing import Annotated

import typer

from netvigil.cli.console import fail
from netvigil.cli.incident_session import LOCAL, AsOpt, Where, on_instance, out, run


@on_instance
def publish_command(
    ident: Annotated[str, typer.Argument(metavar="ID", help="The incident's id.")],
    approve: Annotated[
        bool, typer.Option("--approve", help="Approve the request (a second person).")
    ] = False,
    reject: Annotated[bool, typer.Option("--reject", help="Reject the request.")] = False,
    acting: AsOpt = None,
    where: Where = LOCAL,
) -> None:
    """Ask to publish an incident to public; a second person approves with --approve.

    Two people, always: the operator names them (`--as ASKER`, then `--approve --as
    REVIEWER`), a member with a key is the key's member; the reviewer is never the asker.
    """
    if approve and reject:
        raise fail("--approve or --reject, not both")
    session = where.open(acting)
    if session.who.kind == "operator":
        raise fail(
            "publishing takes two people: name who asks (--as MEMBER), "
            "then who approves (--approve --as REVIEWER)"
        )
    service = session.instance.service
    if approve or reject:
        done = run(lambda: service.review(session.who, ident, approve=approve))
        if reject:
            out.print(f"rejected: {ident} stays {done.visibility}")
            return
        out.print(
            f"approved: {ident} is {done.visibility}"
            + (f" (embargoed until {done.embargo_until})" if done.visibility != "public" else "")
        )
    else:
        run(lambda: service.request_publication(session.who, ident))
        out.print(f"publication requested: a second person must approve {ident} (--approve)")


@on_instance
def retract_command(
    ident: Annotated[str, typer.Argument(metavar="ID", help="The incident's id.")],
    reason: Annotated[
        str, typer.Option("--reason", metavar="TEXT", help="Why (shown to every recipient).")
    ],
    where: Where = LOCAL,
) -> None:
    """Retract an incident; the retraction reaches every feed, export and webhook."""
    session = where.open()
    run(lambda: session.instance.service.retract(session.who, ident, reason))
    out.print(f"retracted {ident}")
