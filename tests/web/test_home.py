"""`/` on a live server: what is blocked where and what the instance holds, with links onward;
the same counts as JSON for a script."""

from __future__ import annotations

import html
import re

import httpx

from tests.observatory.live import Live


def expected(live: Live) -> dict[str, int]:
    """The facts, as the data API and the incidents API tell them."""
    with httpx.Client(base_url=live.url, timeout=30) as client:
        count = client.get("/api/v1/measurements?limit=1").json()["metadata"]["count"]
        cells = client.get("/api/v1/aggregation?axis_x=probe_cc").json()["result"]
        public = client.get("/api/v1/incidents").json()["metadata"]["count"]
    return {"measurements": count, "countries": len(cells), "public_incidents": public}


def test_home_page_says_what_is_loaded_and_links_on(live: Live) -> None:
    answer = httpx.get(f"{live.url}/", headers={"Accept": "text/html"}, timeout=30)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    page, facts = answer.text, expected(live)
    assert facts["measurements"] > 0 and facts["countries"] > 0
    text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))
    assert f"{facts['measurements']:,} measurements from {facts['countries']} countries" in text
    assert f"{facts['public_incidents']} public incidents" in text
    assert re.search(r"measured from \d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d", text)
    assert "Websites blocked, as last measured" in text
    links = {html.unescape(link) for link in re.findall(r'href="([^"]+)"', page)}
    assert {"/api/v1/measurements", "/openapi.json", "/incidents", "/events"} <= links
    assert any(link.startswith("/measurement/") for link in links)
    for link in links - {"#main", "data:,"}:  # each works, none leaves the server (no CDN)
        assert link.startswith("/") and not link.startswith("//"), link
        target = httpx.get(f"{live.url}{link}", timeout=30)
        assert target.status_code == 200, link
    scripts = re.findall(r"<script([^>]*)>", page)
    assert all(re.search(r'src="/[^/]', attributes) for attributes in scripts)  # none inline
    assert "default-src 'none'" in answer.headers["content-security-policy"]


def test_home_answers_json_when_asked(live: Live) -> None:
    answer = httpx.get(f"{live.url}/", headers={"Accept": "application/json"}, timeout=30)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    facts = answer.json()
    assert {k: facts[k] for k in ("measurements", "countries", "public_incidents")} == expected(
        live
    )
    assert facts["name"] == "netvigil observatory" and "/openapi.json" in facts["links"]


def test_unknown_paths_and_methods_are_json_errors(live: Live) -> None:
    missing = httpx.get(f"{live.url}/nothing/here", timeout=30)
    assert missing.status_code == 404 and "/nothing/here" in missing.json()["error"]
    wrong = httpx.delete(f"{live.url}/api/v1/incidents/schema", timeout=30)
    assert wrong.status_code == 405 and wrong.headers["allow"] == "GET, HEAD"
    assert "DELETE" in wrong.json()["error"]
