"""API keys and per-member quotas, through the API on a real database (each backend)."""

from __future__ import annotations

from netvigil.incidents.instance import FEEDS_PER_MEMBER, WEBHOOKS_PER_MEMBER
from tests.incidents.coalition import Coalition


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_a_key_never_makes_a_stronger_or_longer_lived_key(coalition: Coalition) -> None:
    client, member = coalition.client, coalition.headers("a_member")  # read+write, 30 days
    longer = client.post("/api/v1/keys", json={"scopes": ["read"], "days": 31}, headers=member)
    assert longer.status_code == 403 and "outlives" in longer.json()["error"]
    wider = client.post(
        "/api/v1/keys", json={"scopes": ["read", "write", "publish"], "days": 7}, headers=member
    )
    assert wider.status_code == 403 and "more scopes" in wider.json()["error"]
    made = client.post("/api/v1/keys", json={"scopes": ["read"], "days": 29}, headers=member)
    assert made.status_code == 201 and made.json()["id"] in made.json()["key"]
    child = bearer(made.json()["key"])
    same = client.post("/api/v1/keys", json={"scopes": ["read"], "days": 29}, headers=child)
    assert same.status_code == 403  # made later, it would outlive its maker by that much
    shorter = client.post("/api/v1/keys", json={"scopes": ["read"], "days": 28}, headers=child)
    assert shorter.status_code == 201
    upward = client.post("/api/v1/keys", json={"scopes": ["write"], "days": 1}, headers=child)
    assert upward.status_code == 403


def test_keys_are_revoked_by_their_member_or_an_admin_only(coalition: Coalition) -> None:
    client = coalition.client
    member, read_key = coalition.headers("a_member"), coalition.headers("a_read_key")

    def new_key() -> tuple[str, dict[str, str]]:
        made = client.post("/api/v1/keys", json={"scopes": ["read"], "days": 7}, headers=member)
        assert made.status_code == 201
        return made.json()["id"], bearer(made.json()["key"])

    ident, key = new_key()
    assert client.get("/api/v1/incidents", headers=key).status_code == 200
    for stranger in ("b_member", "anonymous"):  # another organisation's member, the public
        refused = client.post(f"/api/v1/keys/{ident}/revoke", headers=coalition.headers(stranger))
        assert refused.status_code == 404
    assert client.get("/api/v1/incidents", headers=key).status_code == 200
    done = client.post(f"/api/v1/keys/{ident}/revoke", headers=member)
    assert done.status_code == 200 and done.json() == {"id": ident, "revoked": True}
    assert client.get("/api/v1/incidents", headers=key).status_code == 401
    # A weaker key of the same member cannot revoke a stronger one; it can revoke itself.
    stronger = coalition.keys["a_member"].split("_")[1]
    weaker = client.post(f"/api/v1/keys/{stronger}/revoke", headers=read_key)
    assert weaker.status_code == 404
    itself = coalition.keys["a_read_key"].split("_")[1]
    assert client.post(f"/api/v1/keys/{itself}/revoke", headers=read_key).status_code == 200
    assert client.get("/api/v1/incidents", headers=read_key).status_code == 401
    # The member's organisation's admin may; the revocation is in the audit log.
    ident, key = new_key()
    admin = coalition.headers("a_admin")
    assert client.post(f"/api/v1/keys/{ident}/revoke", headers=admin).status_code == 200
    assert client.get("/api/v1/incidents", headers=key).status_code == 401
    log = client.get("/api/v1/audit", headers=admin).json()["results"]
    assert [e["object_id"] for e in log if e["action"] == "revoke_key"][-1] == ident
    missing = client.post("/api/v1/keys/0123456789abcdef/revoke", headers=admin)
    assert missing.status_code == 404 and "error" in missing.json()


def test_saved_feeds_and_webhooks_have_a_quota_per_member(coalition: Coalition) -> None:
    client, member = coalition.client, coalition.headers("a_member")
    for n in range(FEEDS_PER_MEMBER):
        made = client.post("/api/v1/feeds", json={"name": f"feed {n}"}, headers=member)
        assert made.status_code == 201
    over = client.post("/api/v1/feeds", json={"name": "one more"}, headers=member)
    assert over.status_code == 403
    assert over.json() == {
        "error": f"quota: at most {FEEDS_PER_MEMBER} saved feeds per member",
        "quota": "saved feeds",
        "limit": FEEDS_PER_MEMBER,
    }
    for n in range(WEBHOOKS_PER_MEMBER):
        hook = {"url": f"https://hooks.example/{n}"}
        assert client.post("/api/v1/webhooks", json=hook, headers=member).status_code == 201
    over = client.post("/api/v1/webhooks", json={"url": "https://hooks.example/x"}, headers=member)
    assert over.status_code == 403 and over.json()["quota"] == "webhooks"
    assert over.json()["limit"] == WEBHOOKS_PER_MEMBER
    other = coalition.headers("b_member")  # the quota is per member
    assert client.post("/api/v1/feeds", json={"name": "b"}, headers=other).status_code == 201
    hook = {"url": "https://hooks.example/b"}
    assert client.post("/api/v1/webhooks", json=hook, headers=other).status_code == 201
