"""A small coalition to test against: three organisations, their people, a sharing group.

The observatory's data is faked as the world: `Known` answers for the measurements and
queries that "exist"; everything else (database, keys, service, outbox) is the real code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec

from netvigil.incidents import accounts
from netvigil.incidents.access import ROLE_SCOPES, Principal, Role
from netvigil.incidents.db import open_database
from netvigil.incidents.model import IncidentInput
from netvigil.incidents.service import Incidents
from netvigil.incidents.signing import Keyring
from netvigil.incidents.webhooks import Outbox

START = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
MEASUREMENT = "20260301120000.000000_IR_webconnectivity_0123456789abcdef"


class Clock:
    def __init__(self, at: dt.datetime = START) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += dt.timedelta(**delta)


class Known:
    """The observatory's data, as far as these tests need it."""

    def __init__(self, measurements: dict[str, bytes]) -> None:
        self.measurements = measurements

    def sha256(self, kind: str, ref: str) -> str | None:
        if kind == "measurement":
            raw = self.measurements.get(ref)
            return hashlib.sha256(raw).hexdigest() if raw is not None else None
        if kind == "aggregate_query":
            if not ref.startswith("/api/v1/aggregation?"):
                raise LookupError("an aggregate query is a /api/v1/aggregation?... URL")
            return hashlib.sha256(ref.encode()).hexdigest()
        raise LookupError(f"{kind} references are not read")

    def networks(self, asns: Sequence[int]) -> dict[int, str]:
        return {}

    def seen(self, uids: Sequence[str]) -> dict[str, tuple[str, int, str]]:
        return {}

    def vendors(self, uids: Sequence[str]) -> dict[str, str]:
        return {}


class World:
    def __init__(self, url: str, folder: Path, clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self.engine = open_database(url)
        self.keyring = Keyring(folder / "keys")
        self.service = Incidents(
            self.engine,
            self.keyring,
            instance="https://netvigil.example",
            evidence=Known({MEASUREMENT: b'{"measurement_uid": "%s"}' % MEASUREMENT.encode()}),
            events=Outbox(self.keyring),
            now=self.clock,
        )
        now, op = self.clock(), "operator"
        self.org_a = accounts.create_org(self.engine, "Org A", actor=op, now=now)
        self.org_b = accounts.create_org(self.engine, "Org B", actor=op, now=now)
        self.org_c = accounts.create_org(self.engine, "Coalition secretariat", actor=op, now=now)
        self.group = accounts.create_group(
            self.engine, "Sahel 2026", [self.org_a, self.org_b], actor=op, now=now
        )
        self.people: dict[str, Principal] = {}
        for name, org, role in [
            ("a_member", self.org_a, Role.MEMBER),
            ("a_admin", self.org_a, Role.ORG_ADMIN),
            ("b_member", self.org_b, Role.MEMBER),
            ("b_admin", self.org_b, Role.ORG_ADMIN),
            ("c_member", self.org_c, Role.MEMBER),
            ("coalition_admin", self.org_c, Role.COALITION_ADMIN),
        ]:
            ident = accounts.create_member(
                self.engine,
                org,
                name,
                role.value,
                password=None,  # the service needs none; hashing one costs a scrypt
                actor=op,
                now=now,
            )
            self.people[name] = Principal(
                kind="member",
                member_id=ident,
                org_id=org,
                role=role,
                scopes=ROLE_SCOPES[role],
                name=name,
            )

    def member(self, name: str) -> Principal:
        return self.people[name]


def incident(**changes: Any) -> IncidentInput:
    """A valid incident input, with any field changed."""
    base: dict[str, Any] = {
        "title": "Social media blocked in Iran",
        "kind": "website_blocking",
        "countries": ["IR"],
        "start": {"time": "2026-02-28T18:00:00Z", "precision": "hour"},
        "techniques": ["dns_injection"],
        "targets": [{"type": "domain", "value": "twitter.com", "category_code": "GRP"}],
        "networks": [{"asn": 197207, "name": "MCCI", "type": "mobile"}],
        "evidence": [{"type": "measurement", "ref": MEASUREMENT}],
        "visibility": "coalition",
    }
    base.update(changes)
    return msgspec.convert(base, IncidentInput)
