"""The demo's example incidents (cli/demo_data.py, part 4), published by two people.

A demo organisation, two of its admins (one asks to publish, the other approves: the
incidents' two-person rule, ecosystem.md §3.3), and two public incidents made through the
incidents service from the demo's own data, never saying more than it shows:

- the 2022-08-15 measurement of www.facebook.com on AS197207 (IR): website blocking by the
  technique our analysis found, on that network, at that time; its measurement as evidence;
- Bago's nightly outages: detected.py's record of the first event (kind `outage`, cause
  unknown: a series of replies cannot show why), widened to every night, each event a piece
  of evidence (a `changepoint`, its URL on this instance).

Fixed ids (uuid5 of a name) and members found by name make a second load change nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from pathlib import Path

import msgspec

from netvigil.datadir import DataDir
from netvigil.detect.model import Event
from netvigil.incidents import accounts, store
from netvigil.incidents.access import OPERATOR, Principal
from netvigil.incidents.detected import evidence_of, opened
from netvigil.incidents.errors import NotFound
from netvigil.incidents.evidence import ObservatoryEvidence
from netvigil.incidents.instance import Instance
from netvigil.incidents.model import (
    EvidenceInput,
    IncidentInput,
    Network,
    Target,
    TimePoint,
    Verification,
)
from netvigil.observatory.data import ObservatoryData, query_rows
from netvigil.observatory.sources import scan_archive

ORG = "netvigil demo"
AUTHOR, REVIEWER = "netvigil-demo-author", "netvigil-demo-reviewer"
FACEBOOK_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "urn:netvigil:demo:ir-as197207-facebook"))
BAGO_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "urn:netvigil:demo:mm-02-nightly-outages"))


class DemoError(RuntimeError):
    """The demo cannot be loaded into this folder; one line."""


def _people(instance: Instance, now: dt.datetime) -> tuple[Principal, Principal]:
    """The demo organisation's two admins: one asks to publish, the other approves."""
    engine = instance.engine
    with engine.connect() as connection:
        names = store.org_names(connection)
    org = next((i for i, name in names.items() if name == ORG), None)
    org = org or accounts.create_org(engine, ORG, actor="netvigil serve --demo", now=now)
    people = []
    for name in (AUTHOR, REVIEWER):
        if accounts.named(engine, name) is None:
            accounts.create_member(
                engine,
                org,
                name,
                "org_admin",
                password=None,
                actor="netvigil serve --demo",
                now=now,
            )
        person = accounts.named(engine, name)
        if person is None or person.org_id != org:
            raise DemoError(f"a member named {name!r} exists in another organisation")
        people.append(person)
    return people[0], people[1]


def _published(instance: Instance, ident: str, data: IncidentInput, now: dt.datetime) -> str:
    author, reviewer = _people(instance, now)
    service = instance.service
    try:
        current = service.get(OPERATOR, ident)
    except NotFound:
        current = service.create(author, data, ident=ident)  # public: asks to publish
    if current.publication == "requested":
        current = service.review(reviewer, ident, approve=True)
    return current.id


def facebook(tables: Path) -> IncidentInput:
    """The incident of the demo's measurement of www.facebook.com on AS197207, as analysed."""
    rows = query_rows(
        tables,
        "SELECT measurement_uid, measurement_start_time AS at, probe_network_name AS name, "
        "technique, rule, confidence, addresses FROM analysis WHERE probe_cc = 'IR' AND "
        "probe_asn = 197207 AND domain = 'www.facebook.com' AND outcome = 'blocked'",
        [],
    )
    if len(rows) != 1:
        raise DemoError(
            f"the sample has {len(rows)} blocked www.facebook.com measurements on "
            "AS197207, expected 1"
        )
    (row,) = rows
    answers = ", ".join(a["ip"] for a in row["addresses"])
    at = row["at"].astimezone(dt.UTC)
    body = (
        f"One OONI Probe measurement on AS197207 ({row['name']}), Iran, at {at:%Y-%m-%d %H:%M} "
        f"UTC: the DNS answer for www.facebook.com was {answers}, an address of a blockpage "
        f"(netvigil's rule `{row['rule']}`). It shows the site blocked on that network at "
        "that time; it does not show when the blocking began or ended, nor other networks."
    )
    return IncidentInput(
        title={"en": "www.facebook.com blocked by DNS on AS197207 (Iran), 15 August 2022"},
        kind="website_blocking",
        countries=["IR"],
        start=TimePoint(time=at, precision="minute", bound="observed"),
        summary={
            "en": f"The DNS answer for www.facebook.com on AS197207 was a blockpage's "
            f"address ({answers}), in one measurement."
        },
        body_md={"en": body},
        techniques=[row["technique"]],
        # Citizen Lab's global test list files https://www.facebook.com/ under GRP.
        targets=[Target(type="domain", value="www.facebook.com", category_code="GRP")],
        networks=[Network(asn=197207, name=row["name"] or "")],
        scope="network",
        status="confirmed",
        confidence=round(row["confidence"] * 100),
        verification=Verification(
            state="machine_corroborated",
            method=f"netvigil analysis (rule {row['rule']})",
            n_vantage_points=1,
            n_asns=1,
        ),
        evidence=[EvidenceInput(type="measurement", ref=row["measurement_uid"])],
        tags=["demo"],
        visibility="public",
    )


def bago(found: Sequence[Event], instance: Instance) -> IncidentInput:
    """One incident for the nightly outages: detected.py's record of the first, widened to
    all of them, each event a piece of evidence."""
    first, last = found[0], found[-1]

    def held(uid: str) -> bool:
        return instance.service.evidence.sha256("measurement", uid) is not None

    made = opened(
        first,
        lineage=first.id,
        countries=("MM",),
        instance=instance.url,
        held=held,
        visibility="public",
    )
    assert last.end is not None  # the series ends in May: every night's cut is over
    # The nights as people in Bago count them: Myanmar time, UTC+6:30.
    local = dt.timezone(dt.timedelta(hours=6, minutes=30))
    span = f"{first.start.astimezone(local):%d %B} to {last.end.astimezone(local):%d %B %Y}"
    lines = [f"- {e.start:%Y-%m-%d %H:%M}Z to {e.end:%H:%M}Z: {e.id}" for e in found if e.end]
    text = (
        "Detected by netvigil in the replies per hour to the Monash IP Observatory's pings "
        "from Bago (GPL-3.0, https://ip-observatory.org): no replies at night, every night "
        f"from {span} (Myanmar time). Outages, connectivity lost; replies cannot show who or "
        "what cut it. Each night's event is evidence:"
    )
    return msgspec.structs.replace(
        made,
        title={"en": f"Nightly outages in Bago Region, Myanmar, {span} (cause not established)"},
        summary={
            "en": f"{len(found)} outages, one a night, in the replies to the Monash IP "
            "Observatory's pings from Bago; the data does not show why."
        },
        body_md={"en": "\n".join([text, "", *lines])},
        end=TimePoint(time=last.end, precision="minute", bound="estimated"),
        confidence=round(min(e.confidence for e in found) * 100),
        tags=[t for t in made.tags if not t.startswith("event:")] + ["demo"],
        evidence=[item for e in found for item in evidence_of(e, instance.url, held)],
    )


def publish(
    folder: DataDir, found: Sequence[Event], *, url: str, database: str | None, now: dt.datetime
) -> list[str]:
    """The example incidents' ids, each created and published unless it already was."""
    data = ObservatoryData(folder.tables, scan_archive(folder.archive))
    instance = Instance(
        folder.root,
        url=url,
        evidence=ObservatoryEvidence(data),
        database=database,
        now=lambda: now,
    )
    made = [
        _published(instance, FACEBOOK_ID, facebook(folder.tables), now),
        _published(instance, BAGO_ID, bago(found, instance), now),
    ]
    instance.engine.dispose()
    return made
