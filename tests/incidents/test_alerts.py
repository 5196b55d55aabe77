"""Alerts end to end on loopback: a detected event that matches a rule opens a suspected
incident, whose signed `incident.created` reaches a webhook receiver (checked by the
`standardwebhooks` library), and whose update follows when the event ends; a rule that does
not match opens nothing; a restart opens no second incident; a bad rules file is one line."""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from starlette.testclient import TestClient

from netvigil.datadir import DataDir
from netvigil.incidents import accounts, webhooks
from netvigil.incidents.alerts import AlertRulesError, Alerts, Rules, load_rules
from netvigil.incidents.db import open_database
from netvigil.incidents.instance import Instance
from netvigil.observatory.tables import write_rows
from netvigil.server import create_app
from tests.incidents.coalition import Coalition, incident_app
from tests.incidents.test_webhooks import Receiver, deliver, outbox, subscribe
from tests.incidents.world import Clock, Known
from tests.observatory.events import CHANGE, blocking_rows, event, utc
from tests.probe.world import free_port

HELD = "20260108T161002Z_webconnectivity_IR_44244_n1_abc"  # a measurement this instance holds
RULES = """
org = "Org A"

[[rule]]
name = "Iran: cuts"
entity = "country:IR"
kinds = ["shutdown", "outage"]
min_confidence = 0.8
min_level = "critical"
visibility = "coalition"
"""
OUTAGE = event(
    "country:IR", "outage", "2026-01-08T16:00:00", confidence=0.9, evidence=(HELD, "not-held")
)


CLOCK = Clock()  # never advanced: the time these tests run at


def instance(database_url: str, folder: Path) -> Instance:
    known = Known({HELD: b'{"measurement_uid": "%s"}' % HELD.encode()})
    return Instance(
        folder, url="https://n.example", evidence=known, database=database_url, now=CLOCK
    )


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[Coalition]:
    here = instance(database_url, tmp_path)
    yield Coalition(TestClient(incident_app(here, tmp_path)), here)
    here.engine.dispose()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


def rules(tmp_path: Path, text: str = RULES) -> Rules:
    path = tmp_path / "alerts.toml"
    path.write_text(text)
    return load_rules(path)


def test_a_matching_event_opens_a_suspected_incident_and_its_end_updates_it(
    world: Coalition, receiver: Receiver, tmp_path: Path, database_url: str
) -> None:
    subscribe(world, "b_member", receiver)  # B may read a coalition incident of A's
    alerts = Alerts(world.instance.service, rules(tmp_path))
    made = alerts.handle(OUTAGE, lineage=OUTAGE.id, countries=("IR",))
    assert made is not None
    assert (made.status, made.kind, made.scope, made.visibility, made.author_org) == (
        "suspected", "outage", "national", "coalition", world.orgs["A"]
    )  # fmt: skip
    assert made.title == {"en": "Suspected outage (cause unknown) in country:IR"}
    assert made.confidence == 90 and "cause:unknown" in made.tags
    assert [(e.type, e.ref) for e in made.evidence] == [
        ("changepoint", f"https://n.example/api/v1/events/{OUTAGE.id}"),
        ("measurement", HELD),  # the uid the instance does not hold is not claimed
    ]
    assert msgspec.json.decode(made.evidence[0].note["en"])["id"] == OUTAGE.id
    assert "| country:IR | heartbeats |" in made.body_md["en"]  # the signal that fired
    assert deliver(world.instance, CLOCK) == 1
    (created,) = receiver.processed.values()  # verified by Webhook(secret).verify
    assert (created["type"], created["data"]["id"], created["data"]["status"]) == (
        "incident.created", made.id, "suspected"
    )  # fmt: skip
    assert created["data"]["end"] is None

    ended = msgspec.structs.replace(OUTAGE, end=utc("2026-01-08T19:00:00"))
    updated = alerts.handle(ended, lineage=OUTAGE.id, countries=("IR",))
    assert updated is not None and updated.revision == 2 and updated.status == "suspected"
    assert deliver(world.instance, CLOCK) == 1
    last = list(receiver.processed.values())[-1]
    assert (last["type"], last["data"]["id"]) == ("incident.updated", made.id)
    assert last["data"]["end"]["time"] == "2026-01-08T19:00:00Z"

    # A restart, and the change handed on again: the incident is found, nothing changes.
    world.instance.engine.dispose()
    again = instance(database_url, tmp_path)
    try:
        before = len(outbox(again))
        later = Alerts(again.service, rules(tmp_path))
        assert later.handle(ended, lineage=OUTAGE.id, countries=("IR",)) is None
        assert len(outbox(again)) == before
        assert sum("netvigil-detect" in i.tags for i in again.service.load_many(
            again.service.readable_ids(world.principal("a_member"))
        )) == 1  # fmt: skip
    finally:
        again.engine.dispose()


def test_an_outage_that_becomes_a_shutdown_updates_the_same_incident(
    world: Coalition, tmp_path: Path
) -> None:
    alerts = Alerts(world.instance.service, rules(tmp_path))
    made = alerts.handle(OUTAGE, lineage=OUTAGE.id, countries=("IR",))
    shutdown = event("country:IR", "shutdown", "2026-01-08T16:10:00", cause="network_cut")
    raised = alerts.handle(shutdown, lineage=OUTAGE.id, countries=("IR",))
    assert made is not None and raised is not None and raised.id == made.id
    assert raised.title == {"en": "Suspected shutdown in country:IR"}
    assert "cause:network_cut" in raised.tags and "cause:unknown" not in raised.tags
    refs = [e.ref for e in raised.evidence if e.type == "changepoint"]
    assert refs == [f"https://n.example/api/v1/events/{shutdown.id}"]


@pytest.mark.parametrize(
    "other",
    [
        msgspec.structs.replace(OUTAGE, level="warning"),  # below the minimum level
        msgspec.structs.replace(OUTAGE, confidence=0.79),  # below the minimum confidence
        event("region:IR-23", "outage", "2026-01-08T16:00:00"),  # another entity
        event("country:IR", "blocking_change", "2026-01-08T16:00:00"),  # another kind
    ],
)
def test_an_event_no_rule_matches_opens_nothing(
    world: Coalition, receiver: Receiver, tmp_path: Path, other: object
) -> None:
    subscribe(world, "b_member", receiver)
    before = len(outbox(world.instance))
    alerts = Alerts(world.instance.service, rules(tmp_path))
    assert isinstance(other, type(OUTAGE))
    assert alerts.handle(other, lineage=other.id, countries=("IR",)) is None
    assert len(outbox(world.instance)) == before


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("org = ", "not TOML: "),
        ('org = "A"\n', "Object missing required field `rule`"),
        ('org = "A"\nrule = []\n', "no [[rule]]"),
        ('org = "A"\ncolour = 1\nrule = []\n', "Object contains unknown field `colour`"),
        ('org = "A"\n[[rule]]\nname = "x"\nentity = "planet:X"\n', "rule[0] (x).entity: unknown"),
        ('org = "A"\n[[rule]]\nname = "x"\nentity = "asn:*"\nkinds = ["blackout"]\n', "Invalid"),
        (
            'org = "A"\n[[rule]]\nname = "x"\nentity = "asn:*"\nvisibility = "public"\n',
            "rule[0] (x).visibility: an alert shares at most at federated level",
        ),
        (
            'org = "A"\n[[rule]]\nname = "x"\nentity = "asn:*"\nvisibility = "named"\n',
            "rule[0] (x).recipients: a named incident needs organisations",
        ),
        (
            'org = "A"\n[[rule]]\nname = "x"\nentity = "asn:*"\nmin_confidence = 2\n',
            "Expected `float` <= 1.0",
        ),
    ],
)
def test_a_bad_rules_file_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(AlertRulesError) as raised:
        rules(tmp_path, text)
    line = str(raised.value)
    assert line.startswith(f"{tmp_path / 'alerts.toml'}: ") and message in line
    assert "\n" not in line


def test_rules_naming_an_organisation_that_is_not_here_are_refused(
    world: Coalition, tmp_path: Path
) -> None:
    with pytest.raises(AlertRulesError) as raised:
        Alerts(world.instance.service, rules(tmp_path, RULES.replace("Org A", "Org Z")))
    assert str(raised.value) == "alerts: no organisation 'Org Z' on this instance"


def test_serve_refuses_a_bad_rules_file_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "alerts.toml").write_text('org = "A"\nrule = []\n')
    command = [sys.executable, "-m", "netvigil", "serve", "--port", str(free_port())]
    done = subprocess.run(
        [*command, "--alerts", str(tmp_path / "alerts.toml"), "--data-dir", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [f"error: --alerts: {tmp_path / 'alerts.toml'}: no [[rule]]"]
    assert not (tmp_path / "d").exists()


def test_the_server_composes_detection_and_alerts(database_url: str, tmp_path: Path) -> None:
    """The whole server (its lifespan: pipeline, detection worker, deliveries): a blocking
    change in its tables opens a suspected incident through the alert rules, and the signed
    event reaches the subscriber who may read it (a draft: the author's organisation), and
    no one else."""
    write_rows(DataDir(root=tmp_path).tables, blocking_rows())
    now = CHANGE + dt.timedelta(hours=40, minutes=15)
    engine = open_database(database_url)
    a = accounts.create_org(engine, "Org A", actor="operator", now=now)
    b = accounts.create_org(engine, "Org B", actor="operator", now=now)
    ours, theirs = Receiver(), Receiver()
    subscribed: dict[str, str] = {}
    try:
        for org, name, hook in ((a, "a_member", ours), (b, "b_member", theirs)):
            member = accounts.create_member(
                engine, org, name, "member", password=None, actor="operator", now=now
            )
            found = webhooks.subscribe(engine, member, hook.url, actor="operator", now=now)
            subscribed[name], hook.secret = found
        engine.dispose()
        text = 'org = "Org A"\n[[rule]]\nname = "blocking"\nentity = "asn:*"\n'
        app = create_app(
            tmp_path,
            now=lambda: now,
            database=database_url,
            allow_private_targets=True,
            alert_rules=rules(tmp_path, text + 'kinds = ["blocking_change"]\n'),
        )
        with TestClient(app):

            async def delivered() -> None:
                async with asyncio.timeout(300):  # only keeps a broken run from hanging
                    while not ours.processed:
                        await asyncio.sleep(0.05)

            asyncio.run(delivered())
        (created,) = ours.processed.values()
        data = created["data"]
        assert (created["type"], data["status"], data["kind"], data["visibility"]) == (
            "incident.created", "suspected", "website_blocking", "draft"
        )  # fmt: skip
        assert data["targets"] == [
            {"type": "domain", "value": "twitter.com", "category_code": None}
        ]
        assert (data["techniques"], data["countries"]) == (["tcp_reset"], ["UG"])
        assert theirs.attempts == []  # B may not read A's draft: no event was even written
        assert [r.subscription_id for r in outbox(app.state.incidents)] == [subscribed["a_member"]]
    finally:
        ours.close()
        theirs.close()
