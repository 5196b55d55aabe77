"""The authorisation matrix (reliability.md §6, S1): route × method × role × level × owner.

The expected access of every cell is written here, by hand, from the sharing rules in plain
words (ecosystem.md §3.3) — never derived from the code under test. Every object carries
unique canary strings (in its title, and in evidence shared more narrowly than the
incident); a response to a caller who may not read the object must not contain them, in
its body or headers, and lists, counts, exports, feeds and the audit log must show exactly
the readable ones. Every route of the app must have a row here: a new route without one
fails the test.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.testclient import TestClient

from netvigil.server import create_app
from tests.incidents.coalition import LEVELS, OWNERS, PUBLIC_URL, Coalition, coalition_on

ROLES = ("anonymous", "a_member", "b_member", "a_admin", "coalition_admin", "a_read_key")

# Who may read what, in words: the author's organisation always; `public` everyone;
# `coalition`/`federated` every member of every organisation; `group` the sharing group's
# organisations (here A and B); `named` the listed ones (A's incidents name C, B's name A);
# `draft` only the author's organisation. A coalition admin (org C) reads as a member of C.
READ: dict[str, set[tuple[str, str]]] = {
    "anonymous": {("public", "A"), ("public", "B")},
    "a_member": {(lvl, "A") for lvl in LEVELS}
    | {("named", "B"), ("group", "B"), ("coalition", "B"), ("federated", "B"), ("public", "B")},
    "b_member": {(lvl, "B") for lvl in LEVELS}
    | {("group", "A"), ("coalition", "A"), ("federated", "A"), ("public", "A")},
    "coalition_admin": {("named", "A"), ("coalition", "A"), ("federated", "A"), ("public", "A")}
    | {("coalition", "B"), ("federated", "B"), ("public", "B")},
}
READ["a_admin"] = READ["a_member"]
READ["a_read_key"] = READ["a_member"]  # a read-only key reads what its member reads

# Who may change what (and who may not even see it is refused as "not found").
REVISE = {"a_member": {"A"}, "a_admin": {"A"}, "b_member": {"B"}}  # the author's organisation
RETRACT = {"a_admin": {"A"}, "coalition_admin": {"A", "B"}}  # admins: own org's, coalition's
REVIEW = {"a_admin": {"A"}, "coalition_admin": {"A", "B"}}  # a second person, with authority
SIGHT = {"a_member", "b_member", "a_admin", "coalition_admin"}  # any member who can read
CREATE = {"a_member", "b_member", "a_admin", "coalition_admin"}  # not the public, not read keys
MEMBERS = {"a_member", "b_member", "a_admin", "coalition_admin", "a_read_key"}

# Every route of the app, and how this test exercises it.
INCIDENT_ROUTES = {
    ("/api/v1/incidents", "GET"): "list",
    ("/api/v1/incidents", "POST"): "create",
    ("/api/v1/incidents/schema", "GET"): "public",
    ("/api/v1/incidents/export", "GET"): "export",
    ("/api/v1/incidents/feed", "GET"): "public feed",
    ("/api/v1/incidents/{id}", "GET"): "read",
    ("/api/v1/incidents/{id}", "PUT"): "revise",
    ("/api/v1/incidents/{id}/revisions", "GET"): "read",
    ("/api/v1/incidents/{id}/publish", "POST"): "revise",
    ("/api/v1/incidents/{id}/review", "POST"): "review",
    ("/api/v1/incidents/{id}/retract", "POST"): "retract",
    ("/api/v1/incidents/{id}/sightings", "POST"): "sight",
    ("/api/v1/feeds", "POST"): "saved feed",
    ("/api/v1/feeds/{token}", "GET"): "saved feed",
    ("/api/v1/webhooks", "POST"): "members",
    ("/api/v1/keys", "POST"): "members",
    ("/api/v1/keys/{id}/revoke", "POST"): "members (test_accounts.py)",
    ("/api/v1/audit", "GET"): "audit",
    ("/.well-known/netvigil/keys", "GET"): "public",
    # The pages (web sessions, CSRF tokens): the same rules as the API.
    ("/incidents", "GET"): "page list",
    ("/incidents/new", "GET"): "page create",
    ("/incidents/new", "POST"): "page create",
    ("/incidents/{id}", "GET"): "page read",
    ("/incidents/{id}/publish", "POST"): "page write",
    ("/incidents/{id}/review", "POST"): "page write",
    ("/incidents/{id}/retract", "POST"): "page write",
    ("/login", "GET"): "public",
    ("/login", "POST"): "public",
    ("/logout", "POST"): "public",
    ("/alerts", "GET"): "page alerts",
    ("/alerts/feeds", "POST"): "page alerts",
    ("/alerts/webhooks", "POST"): "page alerts",
}
PAGE_ROLES = ("anonymous", "a_member", "b_member", "a_admin", "coalition_admin")
# Routes that never carry incident data beyond the public incidents: each is called by every
# role, and must not either.
OTHER_ROUTES = {
    ("/", "GET"): ("/", b""),  # counts public incidents only
    ("/report", "POST"): ("/report", b"{}"),
    ("/report/{report_id}", "POST"): ("/report/nope", b"{}"),
    ("/report/{report_id}/close", "POST"): ("/report/nope/close", b""),
    ("/api/v1/test-helpers", "GET"): ("/api/v1/test-helpers", b""),
    ("/api/v1/test-list/urls", "GET"): ("/api/v1/test-list/urls?country_code=IT&limit=2", b""),
    ("/api/v1/check-in", "POST"): ("/api/v1/check-in", b"{}"),
    ("/api/v1/geolookup", "POST"): ("/api/v1/geolookup", b"{}"),
    ("/api/v1/measurements", "GET"): ("/api/v1/measurements", b""),
    ("/api/v1/measurement/{uid}", "GET"): ("/api/v1/measurement/nope", b""),
    ("/api/v1/raw_measurement", "GET"): ("/api/v1/raw_measurement?measurement_uid=x", b""),
    ("/api/v1/aggregation", "GET"): ("/api/v1/aggregation", b""),
    ("/api/v1/analysis", "GET"): ("/api/v1/analysis", b""),
    ("/api/v1/works_here", "GET"): ("/api/v1/works_here?probe_cc=IR", b""),
    ("/api/v1/events", "GET"): ("/api/v1/events", b""),  # detected events, no incident's
    ("/api/v1/events.atom", "GET"): ("/api/v1/events.atom", b""),
    ("/api/v1/events/{id}", "GET"): ("/api/v1/events/nope", b""),
    ("/api/v1/heartbeats", "POST"): ("/api/v1/heartbeats", b"{}"),  # counts, no incident's
    ("/api/v1/heartbeats/local", "POST"): ("/api/v1/heartbeats/local", b"{}"),
    ("/openapi.json", "GET"): ("/openapi.json", b""),
    ("/static/{path:path}", "GET"): ("/static/netvigil.css", b""),
    ("/charts/{file}", "GET"): ("/charts/outcomes.svg", b""),  # measurements, no incident's
    ("/explore", "GET"): ("/explore?axis_x=probe_cc", b""),
    ("/measurement/{uid}", "GET"): ("/measurement/nope", b""),
    ("/measurement/{uid}.json", "GET"): ("/measurement/nope.json", b""),
    ("/events", "GET"): ("/events", b""),
    ("/events/{id}", "GET"): ("/events/nope", b""),
    ("/search", "GET"): ("/search?q=IR", b""),
    ("/country/{cc}", "GET"): ("/country/IR", b""),  # the public incidents only
    ("/network/{asn}", "GET"): ("/network/AS197207", b""),
    ("/domain/{name:path}", "GET"): ("/domain/twitter.com", b""),
    ("/vendors", "GET"): ("/vendors", b""),  # measurements' vendors, no incident's
}


def leaks(response: Any, secrets: list[str]) -> list[str]:
    text = response.text + json.dumps(dict(response.headers))
    return [s for s in secrets if s in text]


def may_read(role: str, level: str, owner: str) -> bool:
    return (level, owner) in READ.get(role, set())


def may_see_hidden(role: str, owner: str) -> bool:
    """Draft-level evidence: the author's organisation only."""
    return (role in ("a_member", "a_admin", "a_read_key") and owner == "A") or (
        role == "b_member" and owner == "B"
    )


def test_reads_of_each_object(coalition: Coalition) -> None:
    unauthorised = []
    for (level, owner), thing in coalition.objects.items():
        for role in ROLES:
            for path in (
                f"/api/v1/incidents/{thing['id']}",
                f"/api/v1/incidents/{thing['id']}/revisions",
            ):
                response = coalition.client.get(path, headers=coalition.headers(role))
                readable = may_read(role, level, owner)
                expected = 200 if readable else 404
                secrets = [] if readable else [thing["canary"]]
                secrets += [] if may_see_hidden(role, owner) else [thing["hidden"]]
                if response.status_code != expected or leaks(response, secrets):
                    unauthorised.append((role, level, owner, path, response.status_code))
    assert unauthorised == []


def test_old_revisions_follow_the_incidents_visibility_now(coalition: Coalition) -> None:
    """Published, then narrowed to each level: whoever may not read the incident now may
    read none of its revisions (404, as for any unreadable incident); who may read it now
    reads each old revision that its own level also allows."""
    unauthorised: list[tuple[object, ...]] = []
    for level in LEVELS:
        for owner in OWNERS:
            thing = coalition.make("public", owner)  # 1: coalition (asked), 2: public
            levels = ["coalition", "public"]
            if level != "public":
                coalition.narrow(thing, level)  # 3: `level`
                levels.append(level)
            for role in ROLES:
                now = may_read(role, level, owner)
                base = f"/api/v1/incidents/{thing['id']}"
                for number, was in enumerate(levels, start=1):
                    readable = now and may_read(role, was, owner)
                    response = coalition.client.get(
                        f"{base}?revision={number}", headers=coalition.headers(role)
                    )
                    secrets = [] if readable else [thing["canary"]]
                    if response.status_code != (200 if readable else 404) or leaks(
                        response, secrets
                    ):
                        unauthorised.append((role, level, owner, number, response.status_code))
                listed = coalition.client.get(f"{base}/revisions", headers=coalition.headers(role))
                shown = [r["revision"] for r in listed.json()] if listed.status_code == 200 else []
                wanted = [
                    n for n, was in enumerate(levels, 1) if now and may_read(role, was, owner)
                ]
                if listed.status_code != (200 if now else 404) or shown != wanted:
                    unauthorised.append((role, level, owner, "revisions", shown))
    assert unauthorised == []


def test_lists_counts_exports_feeds_and_audit_show_exactly_the_readable(
    coalition: Coalition,
) -> None:
    problems: list[tuple[object, ...]] = []
    for role in ROLES:
        readable = {k for k in coalition.objects if may_read(role, *k)}
        shown = [coalition.objects[k]["canary"] for k in readable]
        hidden = [coalition.objects[k]["canary"] for k in set(coalition.objects) - readable]
        hidden += [coalition.objects[k]["id"] for k in set(coalition.objects) - readable]
        hidden += [
            t["hidden"]
            for (_, owner), t in coalition.objects.items()
            if not may_see_hidden(role, owner)
        ]
        headers = coalition.headers(role)
        listing = coalition.client.get("/api/v1/incidents?limit=1000", headers=headers)
        if listing.json()["metadata"]["count"] != len(readable):
            problems.append((role, "count", listing.json()["metadata"]["count"], len(readable)))
        paths = [
            "/api/v1/incidents?limit=1000",
            "/api/v1/incidents?q=CANARY",
            "/api/v1/audit",
            "/api/v1/incidents/feed",
        ]
        paths += [
            f"/api/v1/incidents/export?format={f}" for f in ("json", "csv", "atom", "stix", "misp")
        ]
        for path in paths:
            response = coalition.client.get(path, headers=headers)
            if response.status_code != 200 or leaks(response, hidden):
                problems.append((role, path, response.status_code, leaks(response, hidden)))
            if "export" in path or path.startswith("/api/v1/incidents?"):
                missing = [c for c in shown if c not in response.text]
                if missing:
                    problems.append((role, path, "missing", len(missing)))
        if role in MEMBERS:  # a saved feed reads with its saver's clearance
            made = coalition.client.post("/api/v1/feeds", json={"name": "all"}, headers=headers)
            feed = coalition.client.get(made.json()["url"].removeprefix("https://netvigil.example"))
            if leaks(feed, hidden) or [c for c in shown if c not in feed.text]:
                problems.append((role, "saved feed", leaks(feed, hidden)))
        else:
            refused = coalition.client.post("/api/v1/feeds", json={"name": "all"}, headers=headers)
            if refused.status_code != 403:
                problems.append((role, "saved feed for the public", refused.status_code))
    assert problems == []


ACTIONS = {
    "revise": ("PUT", "", REVISE),
    "publish": ("POST", "/publish", REVISE),
    "review": ("POST", "/review", REVIEW),
    "retract": ("POST", "/retract", RETRACT),
}


@pytest.mark.parametrize("action", [*ACTIONS, "sight"])
def test_writes_to_each_object(coalition: Coalition, action: str) -> None:
    unauthorised = []
    for level in LEVELS:
        for owner in OWNERS:
            for role in ROLES:
                thing = coalition.make(level, owner, requested=action == "review")
                before = coalition.revisions(thing["id"])
                readable = may_read(role, level, owner)
                if action == "sight":
                    method, suffix = "POST", "/sightings"
                    allowed = role in SIGHT and readable
                    body: dict[str, Any] = {"kind": "seen", "note": "seen from AS1234"}
                else:
                    method, suffix, rule = ACTIONS[action]
                    allowed = readable and owner in rule.get(role, set())
                    bodies: dict[str, dict[str, Any]] = {
                        "revise": {
                            "title": "revised",
                            "kind": "website_blocking",
                            "countries": ["IR"],
                            "start": {"time": "2026-02-01T00:00:00Z"},
                            "visibility": level,
                            "sharing_group": coalition.group,
                            "recipients": [coalition.orgs["C" if owner == "A" else "A"]],
                        },
                        "publish": {},
                        "review": {"approve": False},
                        "retract": {"reason": "a false positive"},
                    }
                    body = bodies[action]
                response = coalition.client.request(
                    method,
                    f"/api/v1/incidents/{thing['id']}{suffix}",
                    json=body,
                    headers=coalition.headers(role),
                )
                after = coalition.revisions(thing["id"])
                secrets = [] if readable else [thing["canary"]]
                if allowed and action == "review" and level == "public":
                    # Already published: nothing to review, which only a reviewer learns.
                    ok = response.status_code == 400 and after == before
                elif allowed:
                    ok = response.status_code == 200 and after == before + 1
                else:
                    ok = response.status_code == (403 if readable else 404) and after == before
                if not ok or leaks(response, secrets):
                    unauthorised.append((role, level, owner, response.status_code, after - before))
    assert unauthorised == []


def test_creating_and_member_only_routes(coalition: Coalition) -> None:
    problems = []
    body = {
        "title": "new",
        "kind": "full_shutdown",
        "countries": ["IR"],
        "start": {"time": "2026-02-01T00:00:00Z"},
        "visibility": "coalition",
    }
    for role in ROLES:
        headers = coalition.headers(role)
        created = coalition.client.post("/api/v1/incidents", json=body, headers=headers)
        if created.status_code != (201 if role in CREATE else 403):
            problems.append((role, "create", created.status_code))
        for path, payload in (
            ("/api/v1/webhooks", {"url": "https://hooks.example/x"}),
            ("/api/v1/keys", {"scopes": ["read"], "days": 7}),
        ):
            answer = coalition.client.post(path, json=payload, headers=headers)
            if answer.status_code != (201 if role in MEMBERS else 403):
                problems.append((role, path, answer.status_code))
        wider = coalition.client.post("/api/v1/keys", json={"scopes": ["write"]}, headers=headers)
        if role == "a_read_key" and wider.status_code != 403:
            problems.append((role, "a read key made a write key", wider.status_code))
    bad = coalition.client.get("/api/v1/incidents", headers={"Authorization": "Bearer nvk_1_2"})
    assert bad.status_code == 401 and "error" in bad.json()
    assert problems == []


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[Coalition]:
    """The whole server, as `netvigil serve` runs it (its lifespan too), with a coalition."""
    app = create_app(tmp_path, database=database_url, public_url=PUBLIC_URL)
    with TestClient(app) as client:
        yield Coalition(client, app.state.incidents)


def test_the_whole_server_every_route_has_a_row_and_the_others_carry_no_incident_data(
    server: Coalition,
) -> None:
    """The one incident test through the whole server: a new route anywhere needs a row,
    and the routes of the other parts never carry incident data, for any role."""
    listed = set(INCIDENT_ROUTES) | set(OTHER_ROUTES)
    found = set()
    for route in server.client.app.routes:  # type: ignore[attr-defined]
        if isinstance(route, Mount):
            continue  # the test helper: no incident data, covered by its own tests
        if isinstance(route, WebSocketRoute):  # ndt7's speed test (testhelper/ndt7.py): bytes
            assert route.path in ("/ndt/v7/download", "/ndt/v7/upload"), route.path
            continue
        assert isinstance(route, Route)
        found |= {(route.path, m) for m in (route.methods or set()) - {"HEAD"}}
    assert found == listed
    # The explorer's pages show the public incidents (a reader without a session is
    # anonymous: API keys are no session), so a public incident's title may appear; nothing
    # any narrower, and no evidence shared more narrowly than its incident, ever.
    public = {key for key in server.objects if may_read("anonymous", *key)}
    secrets = [t["canary"] for key, t in server.objects.items() if key not in public]
    secrets += [t["hidden"] for t in server.objects.values()]
    problems = []
    for role in ROLES:
        for (_, method), (path, body) in OTHER_ROUTES.items():
            response = server.client.request(
                method, path, content=body, headers=server.headers(role)
            )
            if response.status_code >= 500 or leaks(response, secrets):
                problems.append((role, method, path, response.status_code))
    assert problems == []


@pytest.fixture
def members(database_url: str, tmp_path: Path) -> Iterator[Coalition]:
    """The coalition with passwords: its members log in to the pages."""
    with coalition_on(database_url, tmp_path, passwords=True) as found:
        yield found


def test_pages_show_and_change_only_what_the_rules_allow(members: Coalition) -> None:
    coalition = members
    problems: list[tuple[object, ...]] = []
    sessions = {role: coalition.browser(role) for role in PAGE_ROLES}
    for role, (client, _) in sessions.items():
        readable = {k for k in coalition.objects if may_read(role, *k)}
        listing = client.get("/incidents")
        for key, thing in coalition.objects.items():
            shown = thing["canary"] in listing.text
            if shown != (key in readable) or thing["hidden"] in listing.text:
                problems.append((role, "list", key))
            page = client.get(f"/incidents/{thing['id']}")
            secrets = [] if key in readable else [thing["canary"]]
            secrets += [] if may_see_hidden(role, key[1]) else [thing["hidden"]]
            if page.status_code != (200 if key in readable else 404) or leaks(page, secrets):
                problems.append((role, "read", key, page.status_code))
    rules = {"publish": REVISE, "review": REVIEW, "retract": RETRACT}
    for action, rule in rules.items():
        for level in LEVELS:
            for owner in OWNERS:
                for role, (client, csrf) in sessions.items():
                    thing = coalition.make(level, owner, requested=action == "review")
                    before = coalition.revisions(thing["id"])
                    sees = may_read(role, level, owner)
                    allowed = sees and owner in rule.get(role, set())
                    answer = client.post(
                        f"/incidents/{thing['id']}/{action}",
                        data={"csrf": csrf, "reason": "a false positive"},
                        follow_redirects=False,
                    )
                    after = coalition.revisions(thing["id"])
                    if allowed and action == "review" and level == "public":
                        ok = answer.status_code == 400 and after == before
                    elif allowed:
                        ok = answer.status_code == 303 and after == before + 1
                    else:
                        ok = answer.status_code == (403 if sees else 404) and after == before
                    secrets = [] if sees else [thing["canary"]]
                    if not ok or leaks(answer, secrets):
                        problems.append((role, action, level, owner, answer.status_code))
                    forged = client.post(
                        f"/incidents/{thing['id']}/{action}",
                        data={"csrf": "forged"},
                        follow_redirects=False,
                    )
                    if forged.status_code != 403 or coalition.revisions(thing["id"]) != after:
                        problems.append((role, action, "without the CSRF token"))
    for role, (client, csrf) in sessions.items():
        form = {
            "csrf": csrf,
            "title": "t",
            "kind": "full_shutdown",
            "countries": "IR",
            "start": "2026-02-01T00:00",
            "visibility": "coalition",
        }
        made = client.post("/incidents/new", data=form, follow_redirects=False)
        if made.status_code != (303 if role in CREATE else 403):
            problems.append((role, "create page", made.status_code))
        problems += saved_on_the_page(coalition, role, client, csrf)
    assert problems == []


def saved_on_the_page(
    coalition: Coalition, role: str, client: TestClient, csrf: str
) -> list[tuple[object, ...]]:
    """A feed saved on /alerts reads with its saver's clearance; the public is sent to log in."""
    answer = client.post(
        "/alerts/feeds", data={"csrf": csrf, "name": "all"}, follow_redirects=False
    )
    if role == "anonymous":
        sent = (answer.status_code, answer.headers.get("location"))
        return [] if sent == (303, "/login") else [(role, "alerts page", sent)]
    found = re.search(r'<code id="feed-url">([^<]+)</code>', answer.text)
    if answer.status_code != 200 or found is None:
        return [(role, "alerts page", answer.status_code)]
    feed = coalition.client.get(found.group(1).removeprefix(PUBLIC_URL))
    readable = {k for k in coalition.objects if may_read(role, *k)}
    hidden = [t["canary"] for k, t in coalition.objects.items() if k not in readable]
    hidden += [
        t["hidden"] for (_, o), t in coalition.objects.items() if not may_see_hidden(role, o)
    ]
    missing = [coalition.objects[k]["canary"] for k in readable]
    missing = [c for c in missing if c not in feed.text]
    return (
        [(role, "page's saved feed", leaks(feed, hidden), missing)]
        if leaks(feed, hidden) or missing
        else []
    )
