"""`/measurement/{uid}` on real measurements: the verdict the data API gives, each layer's
witness as the raw measurement has it, the raw download, and never the probe's address."""

from __future__ import annotations

import gzip
import json
import re
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.corpus import JSONL
from tests.web.pages_data import BROKEN, CN_2017, IR_FACEBOOK, OONI_ROWS, client

TAGS = re.compile(r"<[^>]+>")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    return client(tmp_path_factory.mktemp("pages"))


def text(html: str) -> str:
    """The page's words, tags out and entities back, spaces squeezed."""
    import html as entities

    return re.sub(r"\s+", " ", entities.unescape(TAGS.sub(" ", html)))


def rows(site: TestClient) -> list[dict[str, Any]]:
    answer = site.get("/api/v1/measurements?limit=1000", headers={"Accept": "application/json"})
    found: list[dict[str, Any]] = answer.json()["results"]
    return found


def test_every_page_names_the_verdict_the_data_api_gives(site: TestClient) -> None:
    listed = rows(site)
    # The corpus's 64 hold 14 of the sample's 15 (SOURCES.md: the corpus keeps the same files;
    # the sample's report2.json is among the other fixtures), two other nettests, one broken.
    assert len(listed) == 64 + 1 + 2 + 1
    for row in listed:
        uid, scores = row["measurement_uid"], row["scores"]
        page = site.get(f"/measurement/{uid}")
        assert page.status_code == 200, uid
        words = text(page.text)
        assert f'class="outcome-{scores["outcome"]}"' in page.text, uid
        if scores["rule"]:
            assert f"rule {scores['rule']}" in words, uid
        if scores["outcome"] in ("blocked", "down"):
            assert f"at the {scores['layer'].upper()} layer" in words, uid
        if scores["technique"] and scores["outcome"] != "ok":
            assert f"<code>{scores['technique']}</code>" in page.text, uid
        assert "probe_ip" not in page.text, uid


def test_a_dns_blockpage_is_said_with_its_fingerprint_and_witness(site: TestClient) -> None:
    raw = site.get(f"/api/v1/raw_measurement?measurement_uid={IR_FACEBOOK}").json()
    # The probe's first query and the test helper's answer, as the measurement holds them.
    probe = sorted(a["ipv4"] for a in raw["test_keys"]["queries"][0]["answers"] if "ipv4" in a)
    control = sorted(raw["test_keys"]["control"]["dns"]["addrs"])
    assert probe == ["10.10.34.36"]  # ooni.ir_10dot10_ipv4_1 in OONI's fingerprints_dns.csv
    words = text(site.get(f"/measurement/{IR_FACEBOOK}").text)
    assert (
        "DNS returned an address of a known blockpage (fingerprint ooni.ir_10dot10_ipv4_1) "
        "Blocked at the DNS layer: rule dns.blockpage_answer, confidence 1.00." in words
    )
    assert f"test_keys.queries[0] answers {probe[0]} answers {', '.join(control)}" in words
    assert "Iran (IR)" in words and "AS197207 · Mobile Communication Company of Iran PLC" in words


def test_each_layer_has_its_witness_from_the_measurement(site: TestClient) -> None:
    uid = "20220815190421.000000_IR_web_connectivity_77949c630bd597c9"  # IR yooz.ir, 2022
    keys = site.get(f"/api/v1/raw_measurement?measurement_uid={uid}").json()["test_keys"]
    words = text(site.get(f"/measurement/{uid}").text)
    for connect in keys["tcp_connect"]:
        assert connect["status"]["success"] is True
        ref = f"test_keys.tcp_connect[transaction_id={connect.get('transaction_id', 0)}]"
        assert f"{ref} {connect['ip']}:{connect['port']} success" in words
    # the fetch over TLS failed on its certificate; the API's row says down at the TLS layer
    assert keys["requests"][0]["failure"] == "ssl_invalid_certificate"
    scores = site.get(f"/api/v1/measurement/{uid}", headers={"Accept": "application/json"})
    assert (scores.json()["scores"]["outcome"], scores.json()["scores"]["layer"]) == ("down", "tls")
    assert "TLS: down (failing for the test helper too)" in words
    assert "test_keys.requests[0] ssl_invalid_certificate" in words
    assert "HTTP: nothing measured Rule http.no_data" in words


CN_2017_REPORT = "20170516T131058Z_AS4134_N1zKxPjDEpG22R0WFkQdtZ9Z47vBUvENsbGTMS8YHYO1LT2a7i"


def test_the_probes_address_is_never_shown(site: TestClient) -> None:
    # The sample's 2017 line says 127.0.0.1 (SOURCES.md); the corpus's copy of the same
    # measurement, imported after it and so the one kept, still has the volunteer's address.
    (address,) = {
        m["probe_ip"]
        for m in map(json.loads, JSONL.read_text().splitlines())
        if m["report_id"] == CN_2017_REPORT  # SOURCES.md of the sample
    }
    assert address != "127.0.0.1"
    for path in (
        f"/api/v1/raw_measurement?measurement_uid={CN_2017}",
        f"/measurement/{CN_2017}.json",
    ):
        served = site.get(path)
        assert served.json()["probe_ip"] == "127.0.0.1" and address not in served.text
    page = site.get(f"/measurement/{CN_2017}").text
    assert "probe_ip" not in page and address not in page
    assert "China (CN)" in text(page)


def test_the_download_is_the_raw_measurement_as_an_attachment(site: TestClient) -> None:
    for uid in (CN_2017, IR_FACEBOOK):
        api = site.get(f"/api/v1/raw_measurement?measurement_uid={uid}")
        download = site.get(f"/measurement/{uid}.json")
        assert download.status_code == 200 and download.content == api.content
        assert download.headers["content-disposition"] == f'attachment; filename="{uid}.json"'
        assert download.headers["content-type"] == "application/json"
        assert f'href="/measurement/{uid}.json"' in site.get(f"/measurement/{uid}").text


def test_an_unanalysed_nettest_says_so(site: TestClient) -> None:
    (meek,) = [r for r in rows(site) if r["test_name"] == "meek_fronted_requests_test"]
    assert meek["scores"]["outcome"] == "unanalysed"
    words = text(site.get(f"/measurement/{meek['measurement_uid']}").text)
    assert (
        "Not analysed: netvigil has no layered analysis of the meek_fronted_requests_test" in words
    )


def test_a_tampered_measurement_says_how_and_a_big_one_is_cut(site: TestClient) -> None:
    (mbx,) = [r for r in rows(site) if r["test_name"] == "http_invalid_request_line"]
    # mbx-1 (PT): the request lines came back changed, a proxy's page instead (analysis/middlebox)
    assert mbx["scores"]["outcome"] == "tampered"
    size = len(site.get(f"/measurement/{mbx['measurement_uid']}.json").content)
    assert size > 500_000
    page = site.get(f"/measurement/{mbx['measurement_uid']}").text
    words = text(page)
    assert "Tampered with: traffic was altered in transit at the HTTP layer, not refused" in words
    assert "Only the first 64 KB are shown" in words
    assert len(page) < 64 * 1024 + 20_000  # the page, and 64 KB of the measurement
    assert f"(JSON, {size} bytes)" in words


def test_an_error_row_says_why(site: TestClient) -> None:
    (row,) = [r for r in rows(site) if r["measurement_uid"] == BROKEN]
    assert row["scores"]["outcome"] == "error"
    words = text(site.get(f"/measurement/{BROKEN}").text)
    assert f"This measurement could not be analysed: {row['scores']['error']}." in words


def test_no_control_is_insufficient_and_says_why(site: TestClient) -> None:
    without = 0
    for row in rows(site):
        if row["scores"]["outcome"] != "insufficient" or row["test_name"] != "web_connectivity":
            continue
        uid = row["measurement_uid"]
        keys = json.loads(site.get(f"/measurement/{uid}.json").content)["test_keys"]
        words = text(site.get(f"/measurement/{uid}").text)
        assert "No verdict: the evidence is insufficient (" in words, uid
        if keys and not keys.get("control"):  # the test helper's answer is missing
            assert "(no control: the test helper did not answer" in words, uid
            without += 1
    assert without > 0  # the sample's TM measurement has a null control (SOURCES.md)


def ooni_rows() -> list[dict[str, Any]]:
    with gzip.open(OONI_ROWS, "rt") as lines:
        return [json.loads(line) for line in lines]


def test_a_measurement_known_only_by_oonis_verdict_shows_it_as_oonis(site: TestClient) -> None:
    rows = ooni_rows()
    confirmed = [r for r in rows if r["confirmed"]]
    plain = [r for r in rows if not r["anomaly"] and not r["msm_failure"]]
    failed = [r for r in rows if r["msm_failure"]]
    for row, said in [
        (confirmed[0], "OONI's fastpath: confirmed blocked (a known blockpage), blocking type "),
        (plain[0], "OONI's fastpath: no anomaly."),
        (failed[0], "OONI's fastpath could not score this measurement (a failure)."),
    ]:
        page = site.get(f"/measurement/{row['measurement_uid']}")
        assert page.status_code == 200
        words = text(page.text)
        assert "OONI's verdict (OONI fastpath)" in words and said in words
        assert "only OONI's verdict of it, so netvigil has not analysed it" in words
        assert f"{row['probe_cc']})" in words and f"AS{row['probe_asn']}" in words
        for name in (f["name"] for f in row["scores"].get("fingerprints", [])):
            assert f"<code>{name}</code>" in page.text
        assert 'class="layer' not in page.text  # no verdict of ours, no layer
    assert confirmed[0]["blocking_type"] == "dns"
    assert "blocking type dns." in text(
        site.get(f"/measurement/{confirmed[0]['measurement_uid']}").text
    )


@pytest.mark.parametrize(
    "path",
    [
        "/measurement/<script>alert(1)</script>",
        "/measurement/" + "a" * 10_000,
        "/measurement/20990101000000.000000_ZZ_web_connectivity_ffffffffffffffff",
        "/measurement/..%2F..%2Fetc%2Fpasswd",
        "/measurement/%00",
        "/measurement/x'--.json",
    ],
)
def test_an_unknown_or_malformed_uid_is_a_friendly_404(site: TestClient, path: str) -> None:
    answer = site.get(path)
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "<script>alert" not in answer.text and "Not found" in answer.text
