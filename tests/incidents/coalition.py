"""A coalition on an app: three organisations, an API key per role, and objects made at any
level by either author, each carrying unique canary strings.

`incident_app` is the incident routes alone (API and pages) over an instance, without the
rest of the server (no archive, no pipeline process, no background loops): what the incident
tests need, and nothing that could deliver a webhook or take a core while they run. The
pages read the observatory's data through a `Site` over the same folder (empty tables)."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import msgspec
from starlette.applications import Starlette
from starlette.testclient import TestClient

from netvigil.datadir import DataDir
from netvigil.incidents import accounts, api, keys
from netvigil.incidents.access import OPERATOR, Principal
from netvigil.incidents.instance import Instance
from netvigil.incidents.model import IncidentInput
from netvigil.observatory.data import ObservatoryData
from netvigil.observatory.eventstore import EventStore
from netvigil.observatory.heartbeat_store import HeartbeatStore
from netvigil.web import alerts_page, incident_pages, session
from netvigil.web.site import Site
from tests.incidents.world import Known

PASSWORD = "correct horse battery staple"
PUBLIC_URL = "https://netvigil.example"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
LEVELS = ("draft", "named", "group", "coalition", "federated", "public")
OWNERS = ("A", "B")


def site_of(instance: Instance, root: Path) -> Site:
    """What the pages read, over the data folder `root` (no measurement unless written)."""
    folder = DataDir(root=root)
    return Site(
        folder=folder,
        data=ObservatoryData(folder.tables, lambda uid: None),
        events=EventStore(folder.events),
        heartbeats=HeartbeatStore(folder.heartbeats, now=instance.now),
        instance=instance,
        now=instance.now,
    )


def incident_app(instance: Instance, root: Path) -> Starlette:
    site = site_of(instance, root)
    pages = [*incident_pages.routes(site), *alerts_page.routes(site), *session.routes(site)]
    return Starlette(routes=[*api.routes(instance), *pages])


@contextlib.contextmanager
def coalition_on(
    database_url: str, folder: Path, *, passwords: bool = False
) -> Iterator[Coalition]:
    """The incident routes alone on `database_url`, and a coalition in it. The observatory
    holds no measurement (`Known({})`): a measurement given as evidence is not found."""
    instance = Instance(folder, url=PUBLIC_URL, evidence=Known({}), database=database_url)
    with TestClient(incident_app(instance, folder)) as client:
        yield Coalition(client, instance, passwords=passwords)
    instance.engine.dispose()


class Coalition:
    """The app on a real database, three organisations, a key per role, one object per cell."""

    def __init__(self, client: TestClient, instance: Instance, *, passwords: bool = False) -> None:
        """`passwords`: give every member one (for `browser`; each costs a scrypt)."""
        self.client, self.instance = client, instance
        engine, now, op = self.instance.engine, dt.datetime.now(dt.UTC), "operator"
        self.orgs = {
            name: accounts.create_org(engine, f"Org {name}", actor=op, now=now)
            for name in ("A", "B", "C")
        }
        self.group = accounts.create_group(
            engine, "A and B", [self.orgs["A"], self.orgs["B"]], actor=op, now=now
        )
        people = {
            "a_member": ("A", "member"),
            "b_member": ("B", "member"),
            "a_admin": ("A", "org_admin"),
            "coalition_admin": ("C", "coalition_admin"),
        }
        self.keys: dict[str, str] = {}
        self.members: dict[str, str] = {}
        for name, (org, role) in people.items():
            member = accounts.create_member(
                engine,
                self.orgs[org],
                name,
                role,
                password=PASSWORD if passwords else None,
                actor=op,
                now=now,
            )
            self.members[name] = member
            scopes = {"read", "write"} | ({"publish", "admin"} if role != "member" else set())
            self.keys[name] = keys.create_key(engine, member, scopes, days=30, actor=op, now=now)
            if name == "a_member":
                self.keys["a_read_key"] = keys.create_key(
                    engine, member, {"read"}, days=30, actor=op, now=now
                )
        self.objects = {(lvl, own): self.make(lvl, own) for lvl in LEVELS for own in OWNERS}

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"} if role in self.keys else {}

    def make(self, level: str, owner: str, *, requested: bool = False) -> dict[str, str]:
        """An incident at `level` by `owner`, with canaries; public ones go through review."""
        canary = f"CANARY-{uuid.uuid4().hex}"
        hidden = f"HIDDEN-{uuid.uuid4().hex}"
        data = msgspec.convert(
            {
                "title": f"{canary} incident",
                "kind": "website_blocking",
                "countries": ["IR"],
                "start": {"time": "2026-02-01T00:00:00Z"},
                "visibility": level,
                "recipients": [self.orgs["C" if owner == "A" else "A"]] if level == "named" else [],
                "sharing_group": self.group if level == "group" else None,
                # Evidence the author's organisation keeps to itself (a draft-level document).
                "evidence": [
                    {
                        "type": "document",
                        "ref": f"https://docs.example/{hidden}",
                        "visibility": "draft",
                        "note": hidden,
                    },
                ],
            },
            IncidentInput,
        )
        service = self.instance.service
        asker = self.principal(f"{owner.lower()}_member")
        if level == "public":  # two people: a member asks, an admin approves
            made = service.create(asker, data)
            made = service.review(self.principal("coalition_admin"), made.id, approve=True)
        elif requested:
            made = service.create(asker, data)
            made = service.request_publication(asker, made.id)
        else:
            made = service.create(OPERATOR, data, org=self.orgs[owner])
        return {"id": made.id, "canary": canary, "hidden": hidden}

    def narrow(self, thing: dict[str, str], level: str) -> None:
        """Revise an incident (keeping its canary) to be shared at `level` from now on."""
        service = self.instance.service
        owner = service.get(OPERATOR, thing["id"]).author_org
        other = self.orgs["C"] if owner == self.orgs["A"] else self.orgs["A"]
        data = msgspec.convert(
            {
                "title": f"{thing['canary']} incident, narrowed",
                "kind": "website_blocking",
                "countries": ["IR"],
                "start": {"time": "2026-02-01T00:00:00Z"},
                "visibility": level,
                "recipients": [other] if level == "named" else [],
                "sharing_group": self.group if level == "group" else None,
            },
            IncidentInput,
        )
        service.revise(OPERATOR, thing["id"], data)

    def principal(self, name: str) -> Principal:
        with self.instance.engine.connect() as connection:
            found = accounts.member(connection, self.members[name])
        assert found is not None
        return found

    def revisions(self, ident: str) -> int:
        return len(self.instance.service.history(OPERATOR, ident))

    def browser(self, role: str) -> tuple[TestClient, str]:
        """A client with `role`'s web session (none for the public) and its CSRF token."""
        client = TestClient(self.client.app, base_url="https://testserver")  # Secure cookies
        login = client.get("/login")
        token = CSRF.search(login.text)
        assert token is not None
        if role == "anonymous":
            return client, token.group(1)
        form = {"csrf": token.group(1), "name": role, "password": PASSWORD}
        assert client.post("/login", data=form, follow_redirects=False).status_code == 303
        found = CSRF.search(client.get("/incidents/new").text)
        assert found is not None
        return client, found.group(1)
