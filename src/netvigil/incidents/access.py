"""Who may do what: pure rules over a principal and what an object's sharing says.

Every handler loads an object, then asks these functions about *that* object, for the
operation it performs (reliability.md §3.3: authorise every object a handler loads or
writes, never only the route; a write checks the write rule, never the read rule).

- Reading: the author's organisation always; `public` everyone; `coalition` and
  `federated` any member of any organisation; `group` members of the sharing group's
  organisations; `named` members of the listed organisations; `draft` the author's only.
  A coalition admin has no more read access than a member: administration is not
  clearance.
- Writing (revise, sightings, publication requests) needs the `write` scope; revising is for
  the author's organisation only; a sighting is for anyone who can read.
- Publishing to `public` needs two people: a member of the author's organisation who asks,
  and an admin of the author's organisation or a coalition admin, who can read the
  incident, and who is not the one who asked.
- The local operator (the CLI without `--api-key`) has full clearance, but is not a person:
  it neither asks for nor approves publication (the CLI names the member who does, `--as`).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Literal

import msgspec

from netvigil.incidents.levels import Level


class Role(StrEnum):
    MEMBER = "member"
    ORG_ADMIN = "org_admin"
    COALITION_ADMIN = "coalition_admin"


SCOPES = frozenset({"read", "write", "publish", "admin"})
ROLE_SCOPES = {
    Role.MEMBER: frozenset({"read", "write"}),
    Role.ORG_ADMIN: frozenset({"read", "write", "publish", "admin"}),
    Role.COALITION_ADMIN: frozenset({"read", "write", "publish", "admin"}),
}


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    kind: Literal["anonymous", "member", "operator"]
    member_id: str | None = None
    org_id: str | None = None
    role: Role | None = None
    scopes: frozenset[str] = frozenset()
    name: str = ""
    key_id: str | None = None  # acting through this API key (None: a session, the CLI)
    key_expires: dt.datetime | None = None

    def may(self, scope: str) -> bool:
        return self.kind == "operator" or scope in self.scopes


ANONYMOUS = Principal(kind="anonymous", name="anonymous")
OPERATOR = Principal(kind="operator", scopes=SCOPES, name="operator")


class Sharing(msgspec.Struct, frozen=True, kw_only=True):
    """What the rules need to know about an incident (or one of its evidence items)."""

    author_org: str
    level: Level
    recipients: frozenset[str] = frozenset()
    group_orgs: frozenset[str] = frozenset()


def can_read(who: Principal, what: Sharing) -> bool:
    if who.kind == "operator":
        return True
    if what.level is Level.PUBLIC:
        return True
    if who.kind != "member" or not who.may("read") or who.org_id is None:
        return False
    if who.org_id == what.author_org:
        return True
    if what.level in (Level.COALITION, Level.FEDERATED):
        return True
    if what.level is Level.GROUP:
        return who.org_id in what.group_orgs
    if what.level is Level.NAMED:
        return who.org_id in what.recipients
    return False  # draft


def can_revise(who: Principal, what: Sharing) -> bool:
    return who.kind == "operator" or (
        who.kind == "member" and who.may("write") and who.org_id == what.author_org
    )


def can_sight(who: Principal, what: Sharing) -> bool:
    """Add a sighting (seen, false positive, ...) as another organisation."""
    return who.kind == "member" and who.may("write") and can_read(who, what)


def can_ask_to_publish(who: Principal, what: Sharing) -> bool:
    """Ask for publication to `public`: a member of the author's organisation. The operator
    is nobody in particular (whoever can read the data folder), so it cannot be one of the
    two people; from the CLI it acts as a named member (`--as`)."""
    return who.kind == "member" and can_revise(who, what)


def can_review(who: Principal, what: Sharing, requested_by: str | None) -> bool:
    """Approve publication to `public`: a second person with the authority to, who is not
    the one who asked (`requested_by`, kept through every later revision)."""
    if who.kind != "member" or not who.may("publish") or not can_read(who, what):
        return False
    if requested_by is None or who.member_id == requested_by:
        return False
    return who.role is Role.COALITION_ADMIN or (
        who.role is Role.ORG_ADMIN and who.org_id == what.author_org
    )


def can_retract(who: Principal, what: Sharing) -> bool:
    if who.kind == "operator":
        return True
    if who.kind != "member" or not who.may("write"):
        return False
    return who.role is Role.COALITION_ADMIN or (
        who.role is Role.ORG_ADMIN and who.org_id == what.author_org
    )


def can_create(who: Principal) -> bool:
    return who.kind == "operator" or (who.kind == "member" and who.may("write"))


def can_read_audit(who: Principal, org_of_object: str | None) -> bool:
    """The audit log is a read path too: coalition admins see all of it, an organisation's
    admins the entries about their organisation's objects."""
    if who.kind == "operator":
        return True
    if who.kind != "member" or not who.may("admin"):
        return False
    return who.role is Role.COALITION_ADMIN or (
        who.role is Role.ORG_ADMIN and org_of_object is not None and org_of_object == who.org_id
    )


def mint_problem(who: Principal, scopes: frozenset[str], expires: dt.datetime) -> str | None:
    """Why a caller acting through an API key may not make a key with these scopes and this
    expiry (None: it may): a key never makes a key stronger or longer-lived than itself."""
    if who.kind != "member" or who.key_id is None:
        return None
    if not scopes <= who.scopes:
        return "a key cannot make a key with more scopes than its own"
    if who.key_expires is not None and expires > who.key_expires:
        return f"a key cannot make a key that outlives it (it expires {who.key_expires:%Y-%m-%d})"
    return None


def can_revoke_key(who: Principal, owner: str, owner_org: str, scopes: frozenset[str]) -> bool:
    """Revoke an API key: its member (with a key at least as strong, or the key itself), an
    admin of the member's organisation, a coalition admin, or the operator."""
    if who.kind == "operator" or can_manage_org(who, owner_org):
        return True
    return who.kind == "member" and who.member_id == owner and scopes <= who.scopes


def can_manage_org(who: Principal, org_id: str | None) -> bool:
    """Add members and API keys to an organisation (None: create organisations)."""
    if who.kind == "operator":
        return True
    if who.kind != "member" or not who.may("admin"):
        return False
    return who.role is Role.COALITION_ADMIN or (
        org_id is not None and who.role is Role.ORG_ADMIN and who.org_id == org_id
    )
