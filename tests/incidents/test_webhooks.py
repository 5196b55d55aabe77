"""Webhooks end to end on loopback: signatures checked by the `standardwebhooks` library,
retries with one webhook-id, a durable outbox, retractions reaching who had the incident,
and no delivery to private addresses unless the instance is a lab."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import http.server
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from standardwebhooks import Webhook
from starlette.testclient import TestClient

from netvigil.incidents import db
from netvigil.incidents.access import OPERATOR
from netvigil.incidents.delivery import Deliveries, deliver_due
from netvigil.incidents.instance import Instance
from netvigil.net.backend import AsyncioBackend
from tests.incidents.coalition import Coalition, incident_app
from tests.incidents.world import Clock, Known


class Receiver:
    """A subscriber's endpoint: verifies every request, fails the first `failures` ones,
    and processes each webhook-id once (the idempotency the id exists for). With a `gate`,
    it takes each request and answers only once the gate opens (never, if the test does
    not open it)."""

    def __init__(self, failures: int = 0, gate: threading.Event | None = None) -> None:
        self.failures, self.secret, self.gate = failures, "", gate
        self.attempts: list[str] = []
        self.processed: dict[str, dict[str, Any]] = {}
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                Webhook(receiver.secret).verify(body, headers)  # raises if forged
                receiver.attempts.append(headers["webhook-id"])
                if receiver.gate is not None:
                    receiver.gate.wait()
                if len(receiver.attempts) <= receiver.failures:
                    self.send_response(500)
                else:
                    receiver.processed.setdefault(headers["webhook-id"], json.loads(body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        if self.gate is not None:
            self.gate.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def clock() -> Clock:
    return Clock(dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC))


@pytest.fixture
def quiet(database_url: str, tmp_path: Path, clock: Clock) -> Iterator[Coalition]:
    """The incident routes without background loops: the test delivers, on its clock."""
    instance = Instance(
        tmp_path, url="https://n.example", evidence=Known({}), database=database_url, now=clock
    )
    yield Coalition(TestClient(incident_app(instance, tmp_path)), instance)
    instance.engine.dispose()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


def subscribe(coalition: Coalition, role: str, receiver: Receiver) -> str:
    """The subscription's id."""
    answer = coalition.client.post(
        "/api/v1/webhooks", json={"url": receiver.url}, headers=coalition.headers(role)
    )
    assert answer.status_code == 201
    receiver.secret = answer.json()["secret"]
    return str(answer.json()["id"])


def deliver(instance: Instance, clock: Clock, *, allow_private: bool = True) -> int:
    return asyncio.run(
        deliver_due(instance.engine, AsyncioBackend(), clock(), allow_private=allow_private)
    )


def outbox(instance: Instance) -> list[Any]:
    with instance.engine.connect() as connection:
        return list(connection.execute(sa.select(db.outbox).order_by(db.outbox.c.id)))


def test_failing_twice_then_succeeding_gets_the_event_once(
    quiet: Coalition, receiver: Receiver, clock: Clock
) -> None:
    receiver.failures = 2
    subscribe(quiet, "b_member", receiver)
    made = quiet.make("coalition", "A")
    assert deliver(quiet.instance, clock) == 0
    clock.advance(seconds=4)
    assert deliver(quiet.instance, clock) == 0  # the backoff (5 s) has not passed
    clock.advance(seconds=1)
    assert deliver(quiet.instance, clock) == 0
    clock.advance(seconds=30)
    assert deliver(quiet.instance, clock) == 1
    assert len(receiver.attempts) == 3 and len(set(receiver.attempts)) == 1
    (event,) = receiver.processed.values()
    assert (event["type"], event["data"]["id"]) == ("incident.created", made["id"])
    assert made["hidden"] not in json.dumps(event)  # B may not see A's draft-level evidence


def test_the_outbox_survives_a_restart(
    quiet: Coalition, receiver: Receiver, clock: Clock, database_url: str, tmp_path: Path
) -> None:
    subscribe(quiet, "a_member", receiver)
    quiet.make("group", "A")
    quiet.instance.engine.dispose()  # the server goes away before delivering
    again = Instance(
        tmp_path,
        url="https://n.example",
        evidence=quiet.instance.service.evidence,
        database=database_url,
        now=clock,
    )
    assert deliver(again, clock) == 1 and len(receiver.processed) == 1


def test_who_may_not_read_gets_nothing_and_retractions_reach_who_had_it(
    quiet: Coalition, receiver: Receiver, clock: Clock
) -> None:
    subscribe(quiet, "b_member", receiver)
    draft = quiet.make("draft", "A")  # B may not read it: no event for B
    shared = quiet.make("coalition", "A")
    deliver(quiet.instance, clock)
    assert [e["data"]["id"] for e in receiver.processed.values()] == [shared["id"]]
    quiet.instance.service.retract(OPERATOR, shared["id"], "an antivirus false positive")
    quiet.instance.service.retract(OPERATOR, draft["id"], "never mind")
    deliver(quiet.instance, clock)
    retracted = [e for e in receiver.processed.values() if e["type"] == "incident.retracted"]
    assert [e["data"]["id"] for e in retracted] == [shared["id"]]
    assert retracted[0]["data"]["retraction_reason"] == "an antivirus false positive"
    feed = quiet.client.get(
        "/api/v1/incidents/export?format=atom", headers=quiet.headers("b_member")
    )
    assert "[Retracted]" in feed.text and "an antivirus false positive" in feed.text
    export = quiet.client.get(
        "/api/v1/incidents/export?format=csv", headers=quiet.headers("b_member")
    )
    assert f"{shared['id']},2," in export.text and ",retracted," in export.text


def test_private_destinations_are_refused_outside_a_lab(
    quiet: Coalition, receiver: Receiver, clock: Clock
) -> None:
    subscribe(quiet, "a_member", receiver)
    quiet.make("coalition", "A")
    assert deliver(quiet.instance, clock, allow_private=False) == 0
    assert receiver.attempts == []
    (row,) = outbox(quiet.instance)
    assert row.last_error == "dns_bogon_error" and row.delivered_at is None


def test_an_embargoed_incident_becomes_public_at_its_date(quiet: Coalition, clock: Clock) -> None:
    body = {
        "title": "Exams shutdown",
        "kind": "full_shutdown",
        "countries": ["SY"],
        "start": {"time": "2026-02-28T06:00:00Z"},
        "visibility": "public",
        "embargo_until": "2026-03-03T00:00:00Z",
    }
    made = quiet.client.post("/api/v1/incidents", json=body, headers=quiet.headers("a_member"))
    assert made.json()["visibility"] == "coalition"  # public waits for review
    ident = made.json()["id"]
    review = quiet.client.post(
        f"/api/v1/incidents/{ident}/review",
        json={"approve": True},
        headers=quiet.headers("a_admin"),
    )
    assert review.json()["publication"] == "approved"
    assert quiet.client.get(f"/api/v1/incidents/{ident}").status_code == 404
    clock.advance(days=1, hours=11)
    assert quiet.client.get(f"/api/v1/incidents/{ident}").status_code == 404
    clock.advance(hours=1)
    public = quiet.client.get(f"/api/v1/incidents/{ident}")
    assert public.status_code == 200 and public.json()["tlp"] == "TLP:CLEAR"
    assert ident in quiet.client.get("/api/v1/incidents/feed").text


async def until(done: Callable[[], bool]) -> None:
    """Wait for an event the test counts (the timeout only keeps a broken run from hanging)."""
    async with asyncio.timeout(120):
        while not done():
            await asyncio.sleep(0.02)


def events(receiver: Receiver) -> list[str]:
    return [e["type"] for e in receiver.processed.values()]


def test_an_endpoint_that_never_answers_holds_up_neither_the_others_nor_a_release(
    quiet: Coalition, receiver: Receiver, clock: Clock
) -> None:
    silent = Receiver(gate=threading.Event())
    try:
        hers = subscribe(quiet, "a_member", silent)
        subscribe(quiet, "b_member", receiver)
        body = {
            "title": "Exams shutdown",
            "kind": "full_shutdown",
            "countries": ["SY"],
            "start": {"time": "2026-02-28T06:00:00Z"},
            "visibility": "public",
            "embargo_until": "2026-03-02T00:00:00Z",
        }
        made = quiet.client.post("/api/v1/incidents", json=body, headers=quiet.headers("a_member"))
        ident = made.json()["id"]
        review = quiet.client.post(
            f"/api/v1/incidents/{ident}/review",
            json={"approve": True},
            headers=quiet.headers("a_admin"),
        )
        assert review.json()["publication"] == "approved"
        clock.advance(days=2)  # the embargo has passed: the background work releases it
        both = ["incident.created", "incident.published"]

        async def background() -> None:
            # A deadline longer than any run: A's delivery is still under way at the end.
            running = quiet.instance.run(AsyncioBackend(), allow_private=True, deadline=3600)
            work = asyncio.create_task(running)
            try:
                # B gets both events (in either order: once released, its two are due at
                # once), while A's endpoint has taken both of A's and answered neither.
                await until(lambda: sorted(events(receiver)) == both and len(silent.attempts) == 2)
            finally:
                work.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await work

        asyncio.run(background())
        hers_now = [r for r in outbox(quiet.instance) if r.subscription_id == hers]
        assert sorted(r.event for r in hers_now) == both
        assert sorted(silent.attempts) == sorted(r.webhook_id for r in hers_now)
        assert [(r.attempts, r.delivered_at) for r in hers_now] == [(0, None), (0, None)]
        assert silent.processed == {}  # still waiting for an answer
        assert quiet.client.get(f"/api/v1/incidents/{ident}").json()["visibility"] == "public"
    finally:
        silent.close()


def test_deliveries_run_side_by_side_up_to_the_bound(quiet: Coalition, clock: Clock) -> None:
    gate = threading.Event()
    endpoints = [Receiver(gate=gate) for _ in range(3)]
    try:
        for role, endpoint in zip(("a_member", "b_member", "a_admin"), endpoints, strict=True):
            subscribe(quiet, role, endpoint)
        quiet.make("coalition", "A")  # one event for each of the three
        sender = Deliveries(
            quiet.instance.engine, AsyncioBackend(), allow_private=True, concurrent=2, deadline=3600
        )

        async def deliver() -> int:
            round_ = asyncio.create_task(sender.once(clock()))
            await until(lambda: sum(len(e.attempts) for e in endpoints) == 2)
            # Two are under way, holding both slots; the third waits for one.
            assert sender.slots.locked() and len(sender.sending) == 3
            assert sum(len(e.attempts) for e in endpoints) == 2
            gate.set()
            return await round_

        assert asyncio.run(deliver()) == 3
        assert [len(e.processed) for e in endpoints] == [1, 1, 1] and sender.sending == set()
    finally:
        for endpoint in endpoints:
            endpoint.close()
