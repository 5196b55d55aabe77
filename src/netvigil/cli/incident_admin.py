"""`netvigil incidents org|member|key|group`: setting up who is in the coalition.

The operator (or, with `--api-key`, an admin with the `admin` scope) adds organisations,
members with a role, sharing groups, and scoped, expiring API keys. A key's secret is printed
once and only its hash is stored. Passwords are read from stdin, never from the command line
(it would sit in the shell's history and the process list).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from netvigil.cli.console import fail
from netvigil.cli.incident_session import (
    LOCAL,
    Session,
    Where,
    on_instance,
    org_named,
    out,
    run,
)


def _actor(session: Session, org: str | None) -> str:
    from netvigil.incidents.access import can_manage_org
    from netvigil.incidents.errors import Forbidden

    if not can_manage_org(session.who, org):
        raise Forbidden("this needs an admin of that organisation (or the coalition)")
    return str(session.who.member_id or "operator")


@on_instance
def org_command(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The organisation's name.")],
    where: Where = LOCAL,
) -> None:
    """Add an organisation."""
    from netvigil.incidents import accounts

    session = where.open()
    instance = session.instance
    ident = run(
        lambda: accounts.create_org(
            instance.engine, name, actor=_actor(session, None), now=instance.now()
        )
    )
    out.print(f"organisation {name!r}: {ident}")


@on_instance
def member_command(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The member's login name.")],
    org: Annotated[str, typer.Option("--org", metavar="ORG", help="Organisation name or id.")],
    role: Annotated[
        str, typer.Option("--role", metavar="ROLE", help="member, org_admin or coalition_admin.")
    ] = "member",
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read a password (for the web pages) from stdin."),
    ] = False,
    where: Where = LOCAL,
) -> None:
    """Add a member to an organisation."""
    from netvigil.incidents import accounts

    session = where.open()
    instance, org_id = session.instance, org_named(session, org)
    if role == "coalition_admin" and session.who.kind != "operator":
        raise fail("only the operator names coalition admins")
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    ident = run(
        lambda: accounts.create_member(
            instance.engine,
            str(org_id),
            name,
            role,
            password=password,
            actor=_actor(session, org_id),
            now=instance.now(),
        )
    )
    out.print(f"member {name!r} ({role}): {ident}")


@on_instance
def key_command(
    member: Annotated[
        str | None, typer.Argument(metavar="MEMBER", help="The member's id (to make a key).")
    ] = None,
    scopes: Annotated[
        str,
        typer.Option(
            "--scopes", metavar="SCOPES", help="Comma-separated: read, write, publish, admin."
        ),
    ] = "read",
    days: Annotated[
        int, typer.Option("--days", metavar="DAYS", min=1, max=366, help="Valid for.")
    ] = 90,
    revoke: Annotated[
        str | None,
        typer.Option("--revoke", metavar="ID", help="Revoke the key with this id (nvk_ID_...)."),
    ] = None,
    where: Where = LOCAL,
) -> None:
    """Make an API key (printed once), or revoke one with --revoke ID."""
    from netvigil.incidents import accounts, keys

    if (member is None) == (revoke is None):
        raise fail("name a MEMBER to make a key, or --revoke ID (not both)")
    session = where.open()
    instance = session.instance
    if revoke is not None:
        ident = revoke.split("_")[1] if revoke.startswith("nvk_") and revoke.count("_") else revoke
        run(lambda: keys.revoke_key(instance.engine, ident, session.who, instance.now()))
        out.print(f"revoked key {ident}")
        return
    with instance.engine.connect() as connection:
        org = accounts.org_of(connection, str(member))
    if org is None:
        raise fail(f"no member {member!r}")
    wanted = [s.strip() for s in scopes.split(",") if s.strip()]
    key = run(
        lambda: keys.create_key(
            instance.engine,
            str(member),
            wanted,
            days=days,
            actor=_actor(session, org),
            now=instance.now(),
            maker=session.who,
        )
    )
    sys.stdout.write(key + "\n")


@on_instance
def group_command(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The sharing group's name.")],
    orgs: Annotated[
        list[str], typer.Option("--org", metavar="ORG", help="A member organisation (repeat).")
    ],
    where: Where = LOCAL,
) -> None:
    """Add a sharing group of organisations."""
    from netvigil.incidents import accounts

    session = where.open()
    instance = session.instance
    ids = [str(org_named(session, o)) for o in orgs]
    ident = run(
        lambda: accounts.create_group(
            instance.engine, name, ids, actor=_actor(session, None), now=instance.now()
        )
    )
    out.print(f"sharing group {name!r}: {ident}")
