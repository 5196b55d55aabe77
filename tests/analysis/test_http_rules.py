"""The layered HTTP layer on real measurements: blockpages anywhere on the redirect chain, and
what counts as a title match (issue 9 §2)."""

from __future__ import annotations

import json
from typing import Any

from netvigil.analysis.classic import classic_verdict
from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.layered import analyze
from netvigil.analysis.observe import observe
from netvigil.analysis.verdicts import Layer, Outcome, Verdict
from netvigil.records import decode_measurement, web_connectivity_keys
from tests.corpus import MEASUREMENTS, QA

DB = FingerprintDB.load()
# OONI Probe 3.25 on Android, ID, 2025-05-27: archive.org answers `302 Location:
# http://lamanlabuh.aduankonten.id/`, whose page says "SITUS DIBLOKIR / WEBSITE BLOCKED".
# (Also line 1 of ooni-webconnectivity-corpus.jsonl.)
ARCHIVE_ID = (
    MEASUREMENTS
    / "ooni-backend-fastpath"
    / "20250527233111.802678_ID_webconnectivity_5a37ec909dbf14e3.json"
)


def load(path: Any = ARCHIVE_ID) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_bytes())
    return data


def verdict(data: dict[str, Any]) -> Verdict:
    return analyze(decode_measurement(json.dumps(data).encode()), DB)


def http_layer(v: Verdict) -> Any:
    return next(layer for layer in v.layers if layer.layer is Layer.HTTP)


def redirect(data: dict[str, Any]) -> dict[str, Any]:
    """The 302 of the ID measurement (legacy layout: requests newest first)."""
    response: dict[str, Any] = data["test_keys"]["requests"][1]["response"]
    assert response["code"] == 302
    return response


def test_blockpage_behind_a_redirect_is_blocked_and_confirmed() -> None:
    data = load()
    assert "SITUS DIBLOKIR" in data["test_keys"]["requests"][0]["response"]["body"]
    assert data["test_keys"]["blocking"] is False  # OONI's own keys call it accessible
    v = verdict(data)
    assert (v.outcome, v.layer) == (Outcome.BLOCKED, Layer.HTTP)
    assert v.technique == "http_blockpage:ooni.id_lamanlabuh_kominfo"
    assert v.confirmed and v.rule == "http.blockpage_fingerprint"
    refs = [w.ref for w in http_layer(v).witnesses]
    assert "test_keys.requests[1].response.headers.location" in refs


def test_the_same_line_of_the_corpus_file_is_blocked_too() -> None:
    line = (MEASUREMENTS / "ooni-webconnectivity-corpus.jsonl").read_bytes().splitlines()[0]
    v = verdict(json.loads(line))
    assert v.technique == "http_blockpage:ooni.id_lamanlabuh_kominfo" and v.confirmed


def test_location_found_is_honoured() -> None:
    # The row is `header.location`: the same URL in another header, or in the body, is not it.
    data = load()
    response = redirect(data)
    response["headers"]["Content-Location"] = response["headers"].pop("Location")
    assert verdict(data).technique != "http_blockpage:ooni.id_lamanlabuh_kominfo"
    data = load()
    response = redirect(data)
    response["body"] = response["headers"].pop("Location")
    assert verdict(data).technique != "http_blockpage:ooni.id_lamanlabuh_kominfo"


def test_a_body_fingerprint_on_an_intermediate_response_counts() -> None:
    # A 302 whose own body is Internet Positif's (ooni.id_3, body row), redirecting elsewhere.
    data = load()
    response = redirect(data)
    response["headers"]["Location"] = "http://archive.org/details"
    response["body"] = '<a href="http://block.uzone.id">Moved</a>'
    v = verdict(data)
    assert v.technique == "http_blockpage:ooni.id_3" and v.confirmed
    refs = [w.ref for w in http_layer(v).witnesses]
    assert "test_keys.requests[1].response.body" in refs


def test_another_countrys_blockpage_on_the_chain_is_a_finding_not_a_confirmation() -> None:
    data = load()
    data["probe_cc"] = "IT"
    v = verdict(data)
    assert not v.confirmed and v.technique != "http_blockpage:ooni.id_lamanlabuh_kominfo"
    found = [f for f in v.findings if f.kind == "http_fingerprint_unconfirmed"]
    assert found and "ooni.id_lamanlabuh_kominfo" in found[0].detail


def test_a_redirect_over_validated_tls_is_not_matched() -> None:
    # Over validated TLS the Location header comes from the site itself.
    data = load()
    data["test_keys"]["requests"][1]["request"]["url"] = "https://archive.org"
    v = verdict(data)
    assert v.technique != "http_blockpage:ooni.id_lamanlabuh_kominfo" and not v.confirmed


# --- untitled pages ---------------------------------------------------------------------------

UNTITLED_PAGE = "<!doctype html><html><head></head><body><p>" + "x" * 96 + "</p></body></html>\n"


def untitled_diff() -> dict[str, Any]:
    """httpDiffWithConsistentDNS with an untitled 158-byte page and an untitled 1533-byte control:
    same status, body proportion 0.10, no uncommon header shared, no title on either side."""
    data = load(QA / "httpDiffWithConsistentDNS.json")
    request = data["test_keys"]["requests"][0]
    request["response"]["body"] = UNTITLED_PAGE
    data["test_keys"]["control"]["http_request"]["title"] = ""
    for key in ("blocking", "accessible", "title_match", "body_length_match", "headers_match"):
        data["test_keys"][key] = None  # recomputed below, not read
    assert len(UNTITLED_PAGE.encode()) == 158
    assert data["test_keys"]["control"]["http_request"]["body_length"] == 1533
    return data


def test_two_untitled_pages_are_an_http_diff_in_the_layered_engine() -> None:
    v = verdict(untitled_diff())
    assert (v.outcome, v.layer, v.technique) == (Outcome.BLOCKED, Layer.HTTP, "http_diff")
    assert v.rule == "http.diff"


def test_the_classic_engine_still_calls_them_a_title_match_as_ooni_does() -> None:
    measurement = decode_measurement(json.dumps(untitled_diff()).encode())
    keys = web_connectivity_keys(measurement)
    assert keys is not None
    classic = classic_verdict(observe(keys, measurement.url))
    assert classic.title_match is True and classic.body_length_match is False
    assert classic.blocking is False and classic.accessible is True


def test_a_shared_title_word_is_still_a_title_match() -> None:
    data = untitled_diff()
    data["test_keys"]["requests"][0]["response"]["body"] = UNTITLED_PAGE.replace(
        "<head></head>", "<head><title>Default Page</title></head>"
    )
    data["test_keys"]["control"]["http_request"]["title"] = "Default Web Page"
    v = verdict(data)
    assert v.outcome is Outcome.OK and v.rule == "http.matches_control"


def test_a_crlf_blockpage_is_recognised_in_a_measurement() -> None:
    # ooni.kh_http_1 (KH) spans lines with CRLF, as the blockpage it was copied from.
    pattern = next(f.pattern for f in DB.http if f.name == "ooni.kh_http_1")
    assert "\r\n" in pattern
    data = load(QA / "httpDiffWithConsistentDNS.json")
    data["probe_cc"] = "KH"
    page = f"<html><head>{pattern}</body></html>\r\n"
    data["test_keys"]["requests"][0]["response"]["body"] = page
    v = verdict(data)
    assert (v.outcome, v.technique, v.confirmed) == (
        Outcome.BLOCKED,
        "http_blockpage:ooni.kh_http_1",
        True,
    )
    # The same page with LF line ends is only an HTTP diff.
    data["test_keys"]["requests"][0]["response"]["body"] = page.replace("\r\n", "\n")
    assert verdict(data).technique == "http_diff"
