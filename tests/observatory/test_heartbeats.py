"""The heartbeat routes and their store: counts per network and minute, and nothing more.

The server's clock is the test's (`Clock`): a heartbeat is counted in the server's minute,
so the test says which minute it is. Expected series are written out by hand.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from netvigil.datadir import DataDir
from netvigil.detect.model import LocalCheck
from netvigil.observatory.app import Observatory
from tests.observatory.apps import bare
from tests.probe.world import free_port
from tests.served import served

T0 = dt.datetime(2026, 1, 8, 16, 0, tzinfo=dt.UTC)
P1, P2, P3 = "1" * 32, "2" * 32, "3" * 32
CLIENT = "127.0.0.77"


@dataclass
class Clock:
    at: dt.datetime = T0

    def __call__(self) -> dt.datetime:
        return self.at


@dataclass
class Server:
    client: TestClient
    clock: Clock
    app: Observatory

    def beat(self, pseudonym: str, cc: str = "IT", asn: str = "AS137", **more: Any) -> Any:
        body = {"probe_cc": cc, "probe_asn": asn, "pseudonym": pseudonym}
        body["sent_at"] = self.clock.at.isoformat()
        return self.client.post("/api/v1/heartbeats", json={**body, **more})

    def local(self, pseudonym: str, checks: list[dict[str, Any]], asn: str = "AS137") -> Any:
        body = {"probe_cc": "IT", "probe_asn": asn, "pseudonym": pseudonym, "checks": checks}
        return self.client.post("/api/v1/heartbeats/local", json=body)

    def rows(self) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.app.folder.heartbeats) as db:
            return [*db.execute("SELECT * FROM heard"), *db.execute("SELECT * FROM local")]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    clock = Clock()
    app = Observatory(DataDir(root=tmp_path), now=clock)
    with TestClient(bare(app.routes())) as client:
        yield Server(client, clock, app)
    app.heartbeats.close()


def values(server: Server, entity: str, since: dt.datetime, minutes: int) -> list[float]:
    until = since + dt.timedelta(minutes=minutes)
    (found,) = [s for s in server.app.heartbeats.series(since, until) if s.entity == entity]
    assert list(found.times) == [int(since.timestamp()) + 60 * i for i in range(minutes)]
    return [float(v) for v in found.values]


def same(got: list[float], expected: list[float]) -> bool:
    return all(
        (math.isnan(a) and math.isnan(b)) or a == b for a, b in zip(got, expected, strict=True)
    )


def check(t: dt.datetime, up: bool = True, down: bool = True) -> dict[str, Any]:
    return {"time": t.isoformat(), "gateway_up": up, "upstream_down": down}


def test_distinct_probes_per_network_and_minute(server: Server) -> None:
    server.clock.at = T0 + dt.timedelta(seconds=5)
    assert server.beat(P1).json() == {"counted": True, "minute": "2026-01-08T16:00:00Z"}
    assert server.beat(P2).json()["counted"] is True
    server.clock.at = T0 + dt.timedelta(seconds=50)
    again = server.beat(P1).json()  # the same probe again in its minute: accepted, not counted
    assert again["counted"] is False and again["reason"] == (
        "this probe was already counted in this minute"
    )
    server.clock.at = T0 + dt.timedelta(minutes=1, seconds=1)
    assert server.beat(P1).json()["counted"] is True
    assert server.beat(P3, cc="BR", asn="AS28573").json()["counted"] is True
    server.clock.at = T0 + dt.timedelta(minutes=2, seconds=20)
    server.app.heartbeats.tick()  # the server listens through minute 2 (its worker ticks)
    server.clock.at = T0 + dt.timedelta(minutes=3, seconds=30)  # minute 3 is being counted
    nan = math.nan
    # Minute 2: nobody heard while the server listened, after both networks were: 0.
    # Minute 3: still counting: NaN.
    assert same(values(server, "asn:137", T0, 5), [2, 1, 0, nan, nan])
    assert same(values(server, "asn:28573", T0, 5), [nan, 1, 0, nan, nan])
    (brazil,) = [s for s in server.app.heartbeats.series(T0, T0 + dt.timedelta(minutes=1))
                 if s.entity == "asn:28573"]  # fmt: skip
    assert (brazil.country, brazil.signal, brazil.step) == ("BR", "heartbeats", 60)


def test_a_minute_the_server_was_down_is_unknown_not_silent(server: Server) -> None:
    server.clock.at = T0 + dt.timedelta(seconds=5)
    server.beat(P1)
    server.clock.at = T0 + dt.timedelta(minutes=1, seconds=5)
    server.app.heartbeats.tick()  # listening in minute 1, nobody heard: a silent minute
    # minutes 2 and 3: the server was down (no tick, no heartbeat); minute 4: back
    server.clock.at = T0 + dt.timedelta(minutes=4, seconds=5)
    server.beat(P1)
    server.clock.at = T0 + dt.timedelta(minutes=5, seconds=5)
    assert same(values(server, "asn:137", T0, 5), [1, 0, math.nan, math.nan, 1])


def test_one_client_sending_more_counts_once_and_others_still_count(server: Server) -> None:
    answers = [server.beat(P1).json()["counted"] for _ in range(50)]
    assert answers == [True] + [False] * 49
    assert server.beat(P2).json()["counted"] is True
    server.clock.at = T0 + dt.timedelta(minutes=1)
    assert values(server, "asn:137", T0, 1) == [2.0]


def test_clock_skew_is_reported_and_the_server_minute_counts(server: Server) -> None:
    server.clock.at = T0 + dt.timedelta(seconds=10)
    ahead = server.beat(P1, sent_at="2026-01-08T16:10:10+00:00").json()
    assert ahead["counted"] is True and ahead["minute"] == "2026-01-08T16:00:00Z"
    assert ahead["clock_skew_seconds"] == 600
    assert ahead["warning"] == (
        "sent_at is 600 s ahead of the server's clock (2026-01-08T16:00:10Z); counted at "
        "the server's time"
    )
    # 17:50:10 at UTC-02:00 is 19:50:10 UTC: 3 h 50 min ahead; the offset is read.
    far = server.beat(P2, sent_at="2026-01-08T17:50:10-02:00").json()
    assert (far["clock_skew_seconds"], far["counted"]) == (13800, True)
    server.clock.at = T0 + dt.timedelta(minutes=1)
    assert values(server, "asn:137", T0, 1) == [2.0]  # both counted in the server's minute


def test_skew_within_five_minutes_is_not_reported(server: Server) -> None:
    server.clock.at = T0 + dt.timedelta(seconds=10)
    answer = server.beat(P1, sent_at="2026-01-08T15:55:10Z").json()  # exactly 5 min behind
    assert answer == {"counted": True, "minute": "2026-01-08T16:00:00Z"}
    behind = server.beat(P2, sent_at="2026-01-08T15:55:09Z").json()
    assert behind["clock_skew_seconds"] == -301


def test_local_checks_count_probes_per_minute_once(server: Server) -> None:
    server.clock.at = T0 + dt.timedelta(hours=2)
    first = [
        check(T0),
        check(T0 + dt.timedelta(minutes=1), up=False),
        check(T0 + dt.timedelta(minutes=2), down=False),
    ]
    assert server.local(P1, first).json() == {"accepted": 3, "counted": 3, "not_counted": 0}
    # The same batch again (an answer lost on the way back): counted once.
    assert server.local(P1, first).json() == {"accepted": 3, "counted": 0, "not_counted": 3}
    assert server.local(P2, [check(T0 + dt.timedelta(seconds=42))]).json()["counted"] == 1
    assert server.app.heartbeats.local_checks(T0, T0 + dt.timedelta(minutes=10)) == [
        LocalCheck(time=T0, country="IT", asn=137, measuring=2, gateway_up=2, upstream_down=2),
        LocalCheck(  # gateway silent too: not counted as cut off beyond a working gateway
            time=T0 + dt.timedelta(minutes=1),
            country="IT",
            asn=137,
            measuring=1,
            gateway_up=0,
            upstream_down=0,
        ),
        LocalCheck(
            time=T0 + dt.timedelta(minutes=2),
            country="IT",
            asn=137,
            measuring=1,
            gateway_up=1,
            upstream_down=0,
        ),
    ]
    assert server.app.heartbeats.local_checks(
        T0 + dt.timedelta(seconds=1), T0 + dt.timedelta(minutes=2)
    ) == [
        LocalCheck(
            time=T0 + dt.timedelta(minutes=1),
            country="IT",
            asn=137,
            measuring=1,
            gateway_up=0,
            upstream_down=0,
        )
    ]


def test_local_checks_keep_their_times_within_35_days_and_5_minutes_ahead(server: Server) -> None:
    now = T0 + dt.timedelta(days=40)
    server.clock.at = now
    oldest, latest = now - dt.timedelta(days=35), now + dt.timedelta(minutes=5)
    assert server.local(P1, [check(oldest), check(latest)]).json()["counted"] == 2
    too_old = server.local(P2, [check(now), check(oldest - dt.timedelta(seconds=1))])
    assert too_old.status_code == 400
    assert too_old.json() == {
        "error": "checks[1]: time 2026-01-13T15:59:59Z is not within the last 35 days and 5 "
        "minutes ahead of the server's clock (2026-02-17T16:00:00Z)"
    }
    ahead = server.local(P2, [check(latest + dt.timedelta(seconds=1))])
    assert ahead.status_code == 400 and ahead.json()["error"].startswith(
        "checks[0]: time 2026-02-17T16:05:01Z is not within"
    )
    measured = server.app.heartbeats.local_checks(oldest, latest + dt.timedelta(minutes=1))
    assert [c.measuring for c in measured] == [1, 1]  # P2's batches stored nothing


def test_retention_keeps_35_days(server: Server) -> None:
    server.beat(P1)
    server.local(P1, [check(T0)])
    server.clock.at = T0 + dt.timedelta(days=35)  # minute T0 is 35 days old: still kept
    server.beat(P2)
    assert (T0.timestamp(), 1) in [(r[2], r[3]) for r in server.rows()]
    server.clock.at = T0 + dt.timedelta(days=35, minutes=1)
    server.beat(P1)
    assert [r[2] for r in server.rows()] == [
        int((T0 + dt.timedelta(days=35)).timestamp()),
        int((T0 + dt.timedelta(days=35, minutes=1)).timestamp()),
    ]


GOOD = {
    "probe_cc": "IT",
    "probe_asn": "AS137",
    "pseudonym": P1,
    "sent_at": "2026-01-08T16:00:00Z",
}
PATTERN = "bad heartbeat: Expected `str` matching regex"
# Two capital letters, but OONI's unknown ZZ and XX.
COUNTRY = f"{PATTERN} '^([A-WY][A-Z]|X[A-WYZ]|Z[A-Y])$' - at `$.probe_cc`"
NETWORK = f"{PATTERN} '^AS([1-9][0-9]{{0,8}}|[1-3][0-9]{{9}}|4[01]"


def changed(**fields: Any) -> bytes:
    return json.dumps({k: v for k, v in {**GOOD, **fields}.items() if v is not None}).encode()


BAD: list[tuple[str, bytes, int, str]] = [
    ("not JSON", b"{", 400, "bad heartbeat: not JSON: "),
    ("a list", b"[]", 400, "bad heartbeat: Expected `object`, got `array`"),
    ("empty", b"", 400, "bad heartbeat: not JSON: "),
    (
        "invalid UTF-8",
        b'{"probe_cc": "\xff"}',
        400,
        "bad heartbeat: not JSON: the body is not valid UTF-8",
    ),
    # Bounded before it is parsed: deep nesting never reaches the decoder.
    ("deep", b"[" * 10_000 + b"]" * 10_000, 413, "request body over 1024 bytes"),
    (
        "lower-case country",
        changed(probe_cc="it"),
        400,
        COUNTRY,
    ),
    ("three letters", changed(probe_cc="ITA"), 400, COUNTRY),
    ("unknown country", changed(probe_cc="ZZ"), 400, COUNTRY),
    ("unknown country XX", changed(probe_cc="XX"), 400, COUNTRY),
    ("AS0", changed(probe_asn="AS0"), 400, NETWORK),
    ("AS0 with a leading zero", changed(probe_asn="AS00"), 400, NETWORK),
    ("ASN over 32 bits", changed(probe_asn="AS4294967296"), 400, NETWORK),
    (
        "ASN as a number",
        changed(probe_asn=137),
        400,
        "bad heartbeat: Expected `str`, got `int` - at `$.probe_asn`",
    ),
    (
        "short pseudonym",
        changed(pseudonym="abc"),
        400,
        f"{PATTERN} '^[0-9a-f]{{32}}$' - at `$.pseudonym`",
    ),
    (
        "an address as pseudonym",
        changed(pseudonym="203.0.113.9"),
        400,
        f"{PATTERN} '^[0-9a-f]{{32}}$' - at `$.pseudonym`",
    ),
    (
        "no offset",
        changed(sent_at="2026-01-08T16:00:00"),
        400,
        "bad heartbeat: Expected `datetime` with a timezone component - at `$.sent_at`",
    ),
    (
        "no time",
        changed(sent_at=None),
        400,
        "bad heartbeat: Object missing required field `sent_at`",
    ),
    (
        "an address",
        changed(probe_ip="203.0.113.9"),
        400,
        "bad heartbeat: Object contains unknown field `probe_ip`",
    ),
    ("too large", changed(x="a" * 2000), 413, "request body over 1024 bytes"),
]


@pytest.mark.parametrize(
    ("body", "status", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD]
)
def test_bad_heartbeats_are_one_line_400s_and_store_nothing(
    server: Server, body: bytes, status: int, message: str
) -> None:
    answer = server.client.post("/api/v1/heartbeats", content=body)
    assert answer.status_code == status
    error = answer.json()["error"]
    assert error.startswith(message) and "\n" not in error, error
    assert server.rows() == []


def test_bad_local_batches_are_400s_naming_the_item_and_store_nothing(server: Server) -> None:
    good = check(T0)
    cases = [
        ([], "bad local checks: Expected `array` of length >= 1 - at `$.checks`"),
        ([good] * 1441, "bad local checks: Expected `array` of length <= 1440 - at `$.checks`"),
        (
            [good, {**good, "gateway_up": "yes"}],
            "bad local checks: Expected `bool`, got `str` - at `$.checks[1].gateway_up`",
        ),
        (
            [good, {"time": "yesterday", "gateway_up": True, "upstream_down": True}],
            "bad local checks: Invalid RFC3339 encoded datetime - at `$.checks[1].time`",
        ),
        (
            [good, {**good, "where": "192.168.1.1"}],
            "bad local checks: Object contains unknown field `where` - at `$.checks[1]`",
        ),
        (
            [good, check(T0 + dt.timedelta(seconds=59))],
            "checks[1]: a second check for the same minute",
        ),
    ]
    for checks, message in cases:
        answer = server.local(P1, checks)
        assert (answer.status_code, answer.json()) == (400, {"error": message})
    assert server.rows() == []


def test_the_store_keeps_no_client_address_and_no_pseudonym(tmp_path: Path) -> None:
    """Over loopback TCP, from 127.0.0.77: the file has counts, not who sent them."""
    app = Observatory(DataDir(root=tmp_path))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    transport = httpx.HTTPTransport(local_address=CLIENT, retries=50)
    with (
        served(bare(app.routes()), port),
        httpx.Client(transport=transport, base_url=url, timeout=30) as client,
    ):
        now = dt.datetime.now(dt.UTC)
        for pseudonym in (P1, P2):
            body = {"probe_cc": "IT", "probe_asn": "AS137", "pseudonym": pseudonym}
            answer = client.post("/api/v1/heartbeats", json={**body, "sent_at": now.isoformat()})
            assert answer.json()["counted"] is True
            answer = client.post("/api/v1/heartbeats/local", json={**body, "checks": [check(now)]})
            assert answer.json()["counted"] == 1
    app.heartbeats.close()
    files = [p for p in tmp_path.rglob("heartbeats.sqlite*") if p.is_file()]
    assert files
    for path in files:
        data = path.read_bytes()
        for secret in (CLIENT, "127.0.0.1", P1, P2):
            assert secret.encode() not in data, (path, secret)


def test_the_largest_network_number_counts(server: Server) -> None:
    assert server.beat(P1, asn="AS4294967295").json()["counted"] is True
    server.clock.at = T0 + dt.timedelta(minutes=1)
    assert values(server, "asn:4294967295", T0, 1) == [1.0]
