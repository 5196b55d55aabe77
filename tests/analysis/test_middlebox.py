"""Middlebox verdicts over OONI's real hhfm and hirl measurements, and edited variants.

Expected values come from each measurement's own keys — what was sent beside what came back
— and from OONI's fastpath tests (ooni/backend fastpath/tests/test_unit.py and
test_functional.py) for the anomaly flag; the edits say what they change.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.layered import analyze
from netvigil.analysis.verdicts import Outcome, Verdict
from netvigil.records import MeasurementFormatError, decode_measurement
from tests.corpus import MEASUREMENTS

OTHER = MEASUREMENTS / "ooni-backend-fastpath-other"
DB = FingerprintDB.load()


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((OTHER / f"{name}.json").read_text())
    return data


def shown(text: str) -> str:
    """How a witness shows a long text: its first 200 characters and its length."""
    return text if len(text) <= 200 else f"{text[:200]}… ({len(text)} characters)"


def judge(data: dict[str, Any]) -> Verdict:
    return analyze(decode_measurement(json.dumps(data).encode()), DB)


# OONI's fastpath on these fixtures: hhfm_1/_2/_3 score `scores_failed` (accuracy 0, no
# anomaly: test_unit.py "requests -> null", "requests -> empty list", "test helper issue");
# mbx-1 and mbx-2 score blocking_general 1.0 (test_functional.py, ooni/pipeline#294, #293).
FASTPATH_ANOMALY = {
    "http_header_field_manipulation_1": False,
    "http_header_field_manipulation_2": False,
    "http_header_field_manipulation_3": False,
    "mbx-1": True,
    "mbx-2": True,
}


def test_our_anomaly_is_the_fastpaths_on_every_middlebox_fixture() -> None:
    mismatches = []
    for name, expected in FASTPATH_ANOMALY.items():
        verdict = judge(load(name))
        ours = verdict.outcome in (Outcome.BLOCKED, Outcome.TAMPERED)
        if ours != expected:
            mismatches.append(f"{name}: ours {verdict.outcome} ({verdict.rule}), OONI's {expected}")
    assert not mismatches, "\n".join(mismatches)


@pytest.mark.parametrize(
    ("name", "rule", "reason"),
    [
        # test_keys.requests is null: the engine never sent the request.
        ("http_header_field_manipulation_1", "hhfm.no_request", "recorded no request"),
        # test_keys.requests is []: likewise.
        ("http_header_field_manipulation_2", "hhfm.no_request", "recorded no request"),
        # Every request failed with connection_refused_error and no response.
        (
            "http_header_field_manipulation_3",
            "hhfm.helper_unreachable",
            "did not answer (connection_refused_error)",
        ),
    ],
)
def test_an_hhfm_helper_that_never_answered_is_no_evidence(
    name: str, rule: str, reason: str
) -> None:
    verdict = judge(load(name))
    assert (verdict.outcome, verdict.rule, verdict.vendor) == (Outcome.INSUFFICIENT, rule, None)
    assert verdict.reason is not None and reason in verdict.reason


@pytest.mark.parametrize(("name", "vendor"), [("mbx-1", "AdGuard"), ("mbx-2", "gateprotect")])
def test_each_line_that_came_back_changed_is_a_witness(name: str, vendor: str) -> None:
    data = load(name)
    keys = data["test_keys"]
    changed = [
        n for n, (s, r) in enumerate(zip(keys["sent"], keys["received"], strict=True)) if s != r
    ]
    # The probe's own flags agree with the lists (mbx-1: [T, T, T, F, T]; mbx-2: all T).
    assert changed == [n for n, flag in enumerate(keys["tampering_list"]) if flag]
    verdict = judge(data)
    assert (verdict.outcome, verdict.layer, verdict.rule, verdict.technique) == (
        Outcome.TAMPERED,
        "http",
        "hirl.echo_differs",
        "middlebox.transparent_proxy",  # an HTTP 400 (mbx-1) or an HTML page (mbx-2) came back
    )
    (layer,) = verdict.layers
    assert [w.ref for w in layer.witnesses] == [f"test_keys.received[{n}]" for n in changed]
    assert [w.control for w in layer.witnesses] == [shown(keys["sent"][n]) for n in changed]
    intact = [n for n in range(len(keys["sent"])) if n not in changed]
    assert layer.counter_evidence == tuple(
        f"test_keys.received[{n}]: echoed intact" for n in intact
    )
    # The page that came back names the product: AdGuard's "blocking-pages" comment (mbx-1),
    # "GATEPROTECT FIREWALL SERVER" (mbx-2).
    assert verdict.vendor == vendor
    assert [f.kind for f in verdict.findings] == ["middlebox_product"]


# --- edited hirl measurements ------------------------------------------------------------


def hirl(received: list[Any], failures: list[str | None] | None = None) -> dict[str, Any]:
    """mbx-2 with `received` (and `failure_list`) replaced."""
    data = load("mbx-2")
    keys = data["test_keys"]
    keys["received"] = received
    keys["failure_list"] = failures or [None] * len(received)
    return data


SENT = load("mbx-2")["test_keys"]["sent"]


def test_every_line_echoed_intact_is_ok() -> None:
    verdict = judge(hirl(list(SENT)))
    assert (verdict.outcome, verdict.rule) == (Outcome.OK, "hirl.echo_intact")
    assert len(verdict.layers[0].witnesses) == len(SENT)


def test_a_binary_echo_is_compared_as_bytes() -> None:
    same = {"format": "base64", "data": "SFhEUCAvIEhUVFAvMS4xCg0="}  # b"HXDP / HTTP/1.1\n\r"
    other = {"format": "base64", "data": "AQ05bwxG+MIS9g9MCV8tzSk="}  # ts-007's example
    assert judge(hirl([same, *SENT[1:]])).outcome is Outcome.OK
    verdict = judge(hirl([other, *SENT[1:]]))
    assert (verdict.outcome, verdict.technique) == (
        Outcome.TAMPERED,
        "middlebox.request_line_rewrite",
    )


def test_a_line_rewritten_on_the_way_is_named() -> None:
    rewritten = "GET / HTTP/1.1\r\n"
    verdict = judge(hirl([*SENT[:3], rewritten]))
    assert (verdict.outcome, verdict.technique) == (
        Outcome.TAMPERED,
        "middlebox.request_line_rewrite",
    )
    (witness,) = verdict.layers[0].witnesses
    assert (witness.ref, witness.observed, witness.control) == (
        "test_keys.received[3]",
        rewritten,
        SENT[3],
    )


def test_resets_before_any_echo_are_no_evidence() -> None:
    verdict = judge(hirl([""] * 4, ["connection_reset"] * 4))
    assert (verdict.outcome, verdict.rule) == (Outcome.INSUFFICIENT, "hirl.no_echo")
    assert verdict.reason == "the echo helper sent nothing back for any request line"


def test_nothing_back_for_some_lines_while_others_echo_is_tampering() -> None:
    verdict = judge(hirl([SENT[0], "", SENT[2], ""]))
    assert (verdict.outcome, verdict.rule) == (Outcome.TAMPERED, "hirl.echo_missing")
    assert [w.ref for w in verdict.layers[0].witnesses] == [
        "test_keys.received[1]",
        "test_keys.received[3]",
    ]


def test_nothing_sent_is_insufficient() -> None:
    data = hirl([])
    data["test_keys"]["sent"] = []
    verdict = judge(data)
    assert (verdict.outcome, verdict.reason) == (
        Outcome.INSUFFICIENT,
        "the probe recorded no request line sent to the echo helper",
    )


def test_a_squid_answer_names_squid() -> None:
    # ts-007's example of Squid's answer to an invalid request line.
    squid = (
        "HTTP/1.0 400 Bad Request\r\nServer: squid/2.6.STABLE21\r\n"
        "X-Squid-Error: ERR_INVALID_REQ 0\r\nVia: 1.0 cache_server:3128 (squid/2.6.STABLE21)\r\n"
        "Proxy-Connection: close\r\n\r\n"
    )
    verdict = judge(hirl([squid, *SENT[1:]]))
    assert (verdict.outcome, verdict.vendor) == (Outcome.TAMPERED, "Squid")
    assert verdict.findings[0].witnesses[0].ref == "test_keys.received[0]"


def test_keys_of_the_wrong_shape_are_a_format_error() -> None:
    data = load("mbx-2")
    data["test_keys"]["sent"] = 5
    with pytest.raises(MeasurementFormatError, match=r"test_keys\.sent"):
        judge(data)


# --- edited hhfm measurements ------------------------------------------------------------

REQUEST = load("http_header_field_manipulation_3")["test_keys"]["requests"][1]["request"]
SENT_HEADERS = REQUEST["headers"]  # "AcCEPT-laNGUaGe", ..., "HOSt": "vH90tDvWssJh2CQ.com"


def hhfm(
    headers: list[list[str]] | None = None,
    request_line: str = "GEt / HTTP/1.1",  # the request's own method, "GEt"
    *,
    body: str | None = None,
    code: int = 200,
) -> dict[str, Any]:
    """http_header_field_manipulation_3 with its second request answered by the helper."""
    data = load("http_header_field_manipulation_3")
    echoed = [[k, v] for k, v in SENT_HEADERS.items()] if headers is None else headers
    answer = {
        "request_headers": echoed,
        "request_line": request_line,
        "headers_dict": {k: [v] for k, v in echoed},
    }
    tx = copy.deepcopy(data["test_keys"]["requests"][1])
    tx["failure"] = None
    tx["response"] = {
        "body": json.dumps(answer) if body is None else body,
        "code": code,
        "headers": {},
    }
    data["test_keys"]["requests"] = [tx]
    return data


def test_an_intact_echo_is_ok_even_with_connection_close_added() -> None:
    # The Twisted helper's probe added `Connection: close` (ts-006 example); fastpath ignores it.
    verdict = judge(hhfm([["Connection", "close"], *[[k, v] for k, v in SENT_HEADERS.items()]]))
    assert (verdict.outcome, verdict.rule, verdict.layer) == (Outcome.OK, "hhfm.echo_intact", None)


def test_lower_cased_names_and_an_added_via_are_each_named() -> None:
    lowered = [[k.lower(), v] for k, v in SENT_HEADERS.items()]
    via = ["Via", "1.1 cache.example (squid/4.13)"]
    verdict = judge(hhfm([*lowered, via]))
    assert (verdict.outcome, verdict.technique, verdict.vendor) == (
        Outcome.TAMPERED,
        "middlebox.header_rewrite",
        "Squid",
    )
    expected = [
        (
            f"test_keys.requests[0].request.headers.{k}",
            f"header name: {k.lower()}: {v}",
            f"{k}: {v}",
        )
        for k, v in SENT_HEADERS.items()
    ]
    expected.append(
        ("test_keys.requests[0].response.body", f"header added: {via[0]}: {via[1]}", "(not sent)")
    )
    got = [(w.ref, w.observed, w.control) for w in verdict.layers[0].witnesses]
    assert got == expected, "\n".join(
        f"{g} != {e}" for g, e in zip(got, expected, strict=False) if g != e
    )


def test_a_rewritten_request_line_alone_is_a_request_line_rewrite() -> None:
    verdict = judge(hhfm(request_line="GET / HTTP/1.1"))
    assert (verdict.outcome, verdict.technique) == (
        Outcome.TAMPERED,
        "middlebox.request_line_rewrite",
    )
    (witness,) = verdict.layers[0].witnesses
    assert (witness.observed, witness.control) == ("request line: GET / HTTP/1.1", "GEt / HTTP/1.1")


def test_a_changed_value_and_a_removed_header_are_named() -> None:
    kept = [[k, v] for k, v in SENT_HEADERS.items() if k != "UsER-aGENT"]
    kept[0] = [kept[0][0], "fr-FR"]
    verdict = judge(hhfm(kept))
    got = [(w.observed, w.control) for w in verdict.layers[0].witnesses]
    assert got == [
        ("header value: AcCEPT-laNGUaGe: fr-FR", "AcCEPT-laNGUaGe: en-US,en;q=0.8"),
        ("header removed: (absent)", f"UsER-aGENT: {SENT_HEADERS['UsER-aGENT']}"),
    ]


def test_an_answer_that_is_not_the_helpers_json_is_a_transparent_proxy() -> None:
    verdict = judge(hhfm(body="<html><title>Access Denied</title></html>"))
    assert (verdict.outcome, verdict.rule, verdict.technique) == (
        Outcome.TAMPERED,
        "hhfm.not_echo",
        "middlebox.transparent_proxy",
    )


def test_a_200_cut_off_by_a_reset_is_no_evidence_unless_it_names_a_product() -> None:
    cut = hhfm(body='{"request_headers": [["AcCEPT-laNGUaGe", "en-US')
    cut["test_keys"]["requests"][0]["failure"] = "connection_reset"
    verdict = judge(cut)
    assert (verdict.outcome, verdict.rule, verdict.reason) == (
        Outcome.INSUFFICIENT,
        "hhfm.answer_cut_off",
        "the echo helper's answer was cut off (connection_reset)",
    )
    page = hhfm(body="<html>GATEPROTECT FIREWALL SERVER")  # mbx-2's firewall, then a reset
    page["test_keys"]["requests"][0]["failure"] = "connection_reset"
    assert (judge(page).outcome, judge(page).vendor) == (Outcome.TAMPERED, "gateprotect")


def test_a_status_other_than_200_recorded_only_as_a_failure_is_tampering_with_less_weight() -> None:
    data = load("http_header_field_manipulation_3")
    data["test_keys"]["requests"][0]["failure"] = "http_request_failed"
    verdict = judge(data)
    assert (verdict.outcome, verdict.rule, verdict.confidence) == (
        Outcome.TAMPERED,
        "hhfm.unexpected_status",
        0.6,
    )


# ooni/spec nettests/ts-006-header-field-manipulation.md, "Example output sample" (ooniprobe
# 1.3.1, FR, 2015): its test_keys, unchanged. The Twisted probe wrote `tor.exit_ip: false`
# and its helper echoed a `Connection: close` the probe did not record.
TS006_EXAMPLE_KEYS = {
    "agent": "agent",
    "requests": [
        {
            "request": {
                "body": None,
                "headers": {
                    "ACCEpT-cHarSET": "ISO-8859-1,utf-8;q=0.7,*;q=0.3",
                    "AccEPT-LAngUAge": "en-US,en;q=0.8",
                    "HOSt": "kFR3mwImawc0ivv.com",
                    "aCCePT": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                    "acCEpt-encOdING": "gzip,deflate,sdch",
                    "useR-agEnT": "Mozilla/5.0 (Windows; U; Windows NT 5.1; en-US; rv:1.9.2) "
                    "Gecko/20100115 Firefox/3.6",
                },
                "method": "get",
                "tor": {"exit_ip": False, "exit_name": False, "is_tor": False},
                "url": "http://173.205.4.16:80",
            },
            "response": {
                "body": '{"headers_dict": {"AccEPT-LAngUAge": ["en-US,en;q=0.8"], '
                '"acCEpt-encOdING": ["gzip,deflate,sdch"], "HOSt": ["kFR3mwImawc0ivv.com"], '
                '"aCCePT": ["text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"], '
                '"useR-agEnT": ["Mozilla/5.0 (Windows; U; Windows NT 5.1; en-US; rv:1.9.2) '
                'Gecko/20100115 Firefox/3.6"], '
                '"ACCEpT-cHarSET": ["ISO-8859-1,utf-8;q=0.7,*;q=0.3"], '
                '"Connection": ["close"]}, "request_line": "get / HTTP/1.1", "request_headers": '
                '[["Connection", "close"], ["AccEPT-LAngUAge", "en-US,en;q=0.8"], '
                '["acCEpt-encOdING", "gzip,deflate,sdch"], ["aCCePT", '
                '"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"], '
                '["useR-agEnT", "Mozilla/5.0 (Windows; U; Windows NT 5.1; en-US; rv:1.9.2) '
                'Gecko/20100115 Firefox/3.6"], '
                '["ACCEpT-cHarSET", "ISO-8859-1,utf-8;q=0.7,*;q=0.3"], '
                '["HOSt", "kFR3mwImawc0ivv.com"]]}',
                "code": 200,
                "headers": {},
            },
            "response_length": None,
        }
    ],
    "socksproxy": None,
    "start_time": 1448834414.0,
    "tampering": {
        "header_field_name": False,
        "header_field_number": False,
        "header_field_value": False,
        "header_name_capitalization": False,
        "header_name_diff": [],
        "request_line_capitalization": False,
        "total": False,
    },
}


def test_the_spec_example_is_ok() -> None:
    data = load("http_header_field_manipulation_3")
    data["test_keys"] = TS006_EXAMPLE_KEYS
    verdict = judge(data)
    assert (verdict.outcome, verdict.rule) == (Outcome.OK, "hhfm.echo_intact")
    assert (
        verdict.layers[0].witnesses[0].observed == "echoed intact: 'get / HTTP/1.1' and 6 headers"
    )


@pytest.mark.parametrize("name", ["http_header_field_manipulation_3", "mbx-2"])
def test_null_test_keys_are_insufficient(name: str) -> None:
    data = load(name)
    data["test_keys"] = None
    verdict = judge(data)
    assert (verdict.outcome, verdict.layer, verdict.vendor) == (Outcome.INSUFFICIENT, None, None)


def test_lists_of_different_lengths_and_null_items_are_read_as_far_as_they_go() -> None:
    data = hirl([SENT[0], None])  # two echoes for four lines, the second null
    data["test_keys"]["sent"] = [*SENT[:3], None]
    verdict = judge(data)
    # Line 0 came back intact; line 1 got nothing back with no failure; 2 and 3 unpaired.
    assert (verdict.outcome, verdict.rule) == (Outcome.TAMPERED, "hirl.echo_missing")
    assert [w.ref for w in verdict.layers[0].witnesses] == ["test_keys.received[1]"]
