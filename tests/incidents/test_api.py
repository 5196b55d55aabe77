"""The incidents API with bad input (a clear 4xx, nothing stored) and its audit trail."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import sqlalchemy as sa

from netvigil.incidents import db
from tests.incidents.coalition import Coalition
from tests.incidents.world import MEASUREMENT

GOOD: dict[str, Any] = {
    "title": "Blocking of news sites",
    "kind": "website_blocking",
    "countries": ["RU"],
    "start": {"time": "2026-04-01T00:00:00Z"},
    "visibility": "coalition",
}


def stored(coalition: Coalition) -> tuple[int, int, int]:
    with coalition.instance.engine.connect() as connection:
        return tuple(  # type: ignore[return-value]
            int(connection.execute(sa.select(sa.func.count()).select_from(t)).scalar() or 0)
            for t in (db.incidents, db.revisions, db.audit)
        )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"countries": ["RU", "ZZ"]}, "countries[1]: unknown country code 'ZZ'"),
        ({"end": {"time": "2026-03-01T00:00:00Z"}}, "end.time: before start.time"),
        ({"evidence": [{"type": "measurement", "ref": MEASUREMENT}]}, "no measurement"),
        ({"summary": "s" * 281}, "summary[en]: 281 characters, at most 280"),
        ({"body_md": {"fa": "b" * 100_001}}, "body_md[fa]: 100001 characters"),
        ({"start": {"time": "2026-04-01T00:00:00"}}, "start.time: give a time zone"),
        ({"visibility": "group"}, "sharing_group: a group incident needs a sharing group"),
        ({"evidence": [{"type": "testimony", "ref": "t", "visibility": "public"}]}, "at most"),
        ({"unknown_field": 1}, "invalid incident: Object contains unknown field"),
    ],
)
def test_bad_input_is_a_clear_400_and_stores_nothing(
    coalition: Coalition, change: dict[str, Any], message: str
) -> None:
    before = stored(coalition)
    answer = coalition.client.post(
        "/api/v1/incidents", json={**GOOD, **change}, headers=coalition.headers("a_member")
    )
    assert answer.status_code == 400
    (problem,) = answer.json()["problems"]  # one problem, which is also the message
    assert message in problem and answer.json()["error"] == problem
    assert stored(coalition) == before


def test_malformed_and_oversize_bodies(coalition: Coalition) -> None:
    before, headers = stored(coalition), coalition.headers("a_member")
    for body, status in ((b"{not json", 400), (b"[]", 400), (b"x" * ((1 << 20) + 1), 413)):
        answer = coalition.client.post("/api/v1/incidents", content=body, headers=headers)
        assert answer.status_code == status and "error" in answer.json()
    assert stored(coalition) == before


@pytest.mark.parametrize(
    "query",
    [
        "country=QQ",
        "status=bogus",
        "kind=coup",
        "technique=magic",
        "limit=0",
        "limit=x",
        "offset=-1",
        "since=yesterday",
        "asn=ASx",
        "q=" + "q" * 201,
    ],
)
def test_unknown_filter_values_are_400(coalition: Coalition, query: str) -> None:
    for path in ("/api/v1/incidents", "/api/v1/incidents/export", "/api/v1/incidents/feed"):
        if path != "/api/v1/incidents" and query.startswith(("limit", "offset")):
            continue  # exports and feeds are not paged
        answer = coalition.client.get(f"{path}?{query}", headers=coalition.headers("a_member"))
        assert answer.status_code == 400 and "error" in answer.json(), (path, query)
    wrong = coalition.client.get("/api/v1/incidents/export?format=pdf")
    assert wrong.status_code == 400


def test_every_mutation_is_audited_with_before_and_after(coalition: Coalition) -> None:
    member, admin = coalition.headers("a_member"), coalition.headers("a_admin")
    ident = coalition.client.post("/api/v1/incidents", json=GOOD, headers=member).json()["id"]
    steps = [
        ("PUT", "", {**GOOD, "status": "confirmed"}, member),
        ("POST", "/publish", {}, member),
        ("POST", "/review", {"approve": True}, admin),
        ("POST", "/sightings", {"kind": "still_ongoing"}, coalition.headers("b_member")),
        ("POST", "/retract", {"reason": "a duplicate"}, admin),
    ]
    for method, suffix, body, headers in steps:
        answer = coalition.client.request(
            method, f"/api/v1/incidents/{ident}{suffix}", json=body, headers=headers
        )
        assert answer.status_code == 200, answer.text
    entries = [
        e
        for e in coalition.client.get("/api/v1/audit", headers=admin).json()["results"]
        if e["object_id"] == ident
    ]
    assert [e["action"] for e in entries] == [
        "create",
        "revise",
        "request_publication",
        "approve_publication",
        "sight",
        "retract",
    ]
    assert entries[0]["before_hash"] is None
    assert all(e["after_hash"] for e in entries)
    assert all(e["before_hash"] == p["after_hash"] for p, e in itertools.pairwise(entries))
    assert coalition.client.get("/api/v1/audit", headers=member).json()["results"] == []


def test_the_asker_never_approves_whatever_happens_in_between(coalition: Coalition) -> None:
    client, admin = coalition.client, coalition.headers("a_admin")
    made = client.post("/api/v1/incidents", json=GOOD, headers=admin).json()
    base = f"/api/v1/incidents/{made['id']}"
    assert client.post(f"{base}/publish", json={}, headers=admin).json()["publication"] == (
        "requested"
    )
    # Another organisation's sighting and a colleague's correction are later revisions...
    seen = {"kind": "seen", "note": "also on AS8359"}
    sighted = client.post(f"{base}/sightings", json=seen, headers=coalition.headers("b_member"))
    assert sighted.status_code == 200 and sighted.json()["publication"] == "requested"
    revised = client.put(
        base, json={**GOOD, "visibility": "public"}, headers=coalition.headers("a_member")
    )
    assert revised.status_code == 200 and revised.json()["publication"] == "requested"
    # ...that leave who asked unchanged: the admin who asked still cannot approve alone.
    alone = client.post(f"{base}/review", json={"approve": True}, headers=admin)
    assert alone.status_code == 403 and "second person" in alone.json()["error"]
    assert client.get(base, headers=admin).json()["visibility"] == "coalition"
    second = client.post(
        f"{base}/review", json={"approve": True}, headers=coalition.headers("coalition_admin")
    )
    assert second.status_code == 200 and second.json()["visibility"] == "public"
