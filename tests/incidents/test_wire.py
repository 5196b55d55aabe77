"""What the typed records and the one error translation send, byte for byte as before.

Each expected body is written here the way the code wrote it before the records were typed
(a dict through `json.dumps` for a webhook, through msgspec for the audit log, Starlette's
JSONResponse for an error), so any change of field order, time format or escaping fails.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import msgspec
import sqlalchemy as sa
from starlette.responses import JSONResponse

from netvigil.incidents import db, store
from netvigil.incidents.access import OPERATOR
from netvigil.incidents.events import Retracted, WebhookEvent
from netvigil.incidents.instance import FEEDS_PER_MEMBER
from tests.incidents.coalition import Coalition

GOOD = {
    "title": "t",
    "kind": "full_shutdown",
    "countries": ["IR"],
    "start": {"time": "2026-02-01T00:00:00Z"},
}
TITLE = "Блокировка новостей — حجب «الأخبار» \u2028 ✓"  # non-ASCII, and a JS line separator


def answer(status: int, message: str, **extra: Any) -> bytes:
    return bytes(JSONResponse({"error": message, **extra}, status_code=status).body)


def test_a_webhook_body_is_written_as_before(coalition: Coalition) -> None:
    made = coalition.make("coalition", "A")
    service, reader = coalition.instance.service, coalition.principal("b_member")
    data = service.view(reader, [service.get(OPERATOR, made["id"])])[0]
    data = msgspec.structs.replace(data, title={"en": TITLE, "fa": "سانسور"})
    at = dt.datetime(2026, 3, 1, 12, 30, 5, 123456, tzinfo=dt.UTC)
    event = WebhookEvent(type="incident.updated", timestamp=at.isoformat(), data=data)
    before = {"type": "incident.updated", "timestamp": at.isoformat()}
    assert event.body() == json.dumps(
        {**before, "data": msgspec.to_builtins(data)}, separators=(",", ":")
    )
    gone = WebhookEvent(type="incident.retracted", timestamp=at.isoformat(), data=Retracted("x"))
    assert gone.body() == (
        '{"type":"incident.retracted","timestamp":"2026-03-01T12:30:05.123456+00:00",'
        '"data":{"id":"x","status":"retracted"}}'
    )


def test_the_audit_log_reads_as_before(coalition: Coalition) -> None:
    admin = coalition.principal("coalition_admin")
    coalition.client.post(
        "/api/v1/feeds", json={"name": TITLE}, headers=coalition.headers("coalition_admin")
    )
    shown = coalition.client.get("/api/v1/audit", headers=coalition.headers("coalition_admin"))
    readable = set(coalition.instance.service.readable_ids(admin))
    with coalition.instance.engine.connect() as connection:
        rows = connection.execute(sa.select(db.audit).order_by(db.audit.c.id)).fetchall()
    expected = [
        {
            "at": (r.at if r.at.tzinfo else r.at.replace(tzinfo=dt.UTC)).isoformat(),
            "actor": r.actor,
            "action": r.action,
            "object_type": r.object_type,
            "object_id": r.object_id,
            "before_hash": r.before_hash,
            "after_hash": r.after_hash,
        }
        for r in rows
        if r.object_type != "incident" or r.object_id in readable  # a coalition admin's share
    ]
    assert shown.content == msgspec.json.encode({"results": expected})
    assert [e["action"] for e in expected][-1] == "create_feed"
    with coalition.instance.engine.connect() as connection:
        assert len(store.audit_entries(connection)) == len(rows)


def test_every_refusal_is_answered_as_before(coalition: Coalition) -> None:
    client, member = coalition.client, coalition.headers("a_member")
    base = "/api/v1/incidents"
    nobody = "0197a000-0000-7000-8000-000000000000"
    forged = {"Authorization": "Bearer nvk_1_2"}
    cases = [
        (client.get(base, headers=forged), 401, "invalid, expired or revoked API key", {}),
        (
            client.post(base, content=b"x" * ((1 << 20) + 1), headers=member),
            413,
            f"request body over {1 << 20} bytes",
            {},
        ),
        (client.get(f"{base}/{nobody}", headers=member), 404, f"no incident {nobody!r}", {}),
        (
            client.post(base, json=GOOD),
            403,
            "creating incidents needs the write scope",
            {},
        ),
        (
            client.get(f"{base}?country=QQ", headers=member),
            400,
            "country: unknown country code 'QQ'",
            {"problems": ["country: unknown country code 'QQ'"]},
        ),
        (
            client.post("/api/v1/keys", json={"scopes": ["read"], "days": 7}),
            403,
            "API keys are for members",
            {},
        ),
        (
            client.post("/api/v1/keys/0123456789abcdef/revoke", headers=member),
            404,
            "no key '0123456789abcdef'",
            {},
        ),
        (
            client.post("/api/v1/webhooks", json={"url": "ftp://x"}, headers=member),
            400,
            "url: an http:// or https:// URL",
            {"problems": ["url: an http:// or https:// URL"]},
        ),
    ]
    for response, status, message, extra in cases:
        assert (response.status_code, response.content) == (
            status,
            answer(status, message, **extra),
        )
    for n in range(FEEDS_PER_MEMBER):
        client.post("/api/v1/feeds", json={"name": f"feed {n}"}, headers=member)
    over = client.post("/api/v1/feeds", json={"name": "one more"}, headers=member)
    quota = f"quota: at most {FEEDS_PER_MEMBER} saved feeds per member"
    assert (over.status_code, over.content) == (
        403,
        answer(403, quota, quota="saved feeds", limit=FEEDS_PER_MEMBER),
    )
