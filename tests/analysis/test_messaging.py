"""The messaging analysers over OONI's real measurements, and over edits of them.

Expected outcomes come from each measurement's own keys and from what OONI's fastpath
tests expect of the same fixtures (ooni/backend fastpath/fastpath/tests/test_unit.py at
32d8349d; shared/corpus/ooni-measurements/ooni-backend-fastpath-other/). The variants edit
one real measurement's raw steps the way a censor would change them (every data centre
reset, the web fetch reset, a certificate replaced) and say what the edit means.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import msgspec
import pytest

from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.layered import analyze
from netvigil.analysis.messaging_fastpath import ooni_anomaly, ooni_scores
from netvigil.analysis.verdicts import Layer, Outcome, Verdict
from netvigil.records import Measurement, MeasurementFormatError, decode_measurement
from netvigil.records.messaging import facebook_messenger_keys
from tests.corpus import MEASUREMENTS

OTHER = MEASUREMENTS / "ooni-backend-fastpath-other"
NO_FINGERPRINTS = FingerprintDB([], [])
Edit = Callable[[dict[str, Any]], None]


def raw(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((OTHER / f"{name}.json").read_text())
    return data


def judge(data: dict[str, Any], edit: Edit | None = None) -> Verdict:
    data = copy.deepcopy(data)
    if edit is not None:
        edit(data["test_keys"])
    return analyze(decode_measurement(msgspec.json.encode(data)), NO_FINGERPRINTS)


def refs(verdict: Verdict, layer: Layer) -> list[str]:
    return [w.ref for v in verdict.layers if v.layer is layer for w in v.witnesses]


# --- the real measurements ---------------------------------------------------------------

# name -> (outcome, rule, why, from the measurement's keys and OONI's fastpath test)
REAL = {
    # signal_backend_status "ok", all six GETs answered (404/403/503) over pinned TLS;
    # fastpath test_score_signal_2627 (second half) scores it 0, accuracy kept.
    "signal_022": ("ok", "signal.http_ok"),
    # test_version 0.2.0 on 2022-10-27, after 2022-10-19: fastpath accuracy 0.0
    # (test_score_signal_2627); its "blocked" is Signal's new CA, not censorship.
    "signal_2627": ("insufficient", "signal.inaccurate_probe"),
    # engine 3.17.1 on 2023-05-30 (< 3.17.2 after 2023-05-02, ooni/backend#679):
    # fastpath accuracy 0.0 (test_score_signal_679).
    "signal_679": ("insufficient", "signal.inaccurate_probe"),
    # telegram_tcp_blocking false, telegram_http_blocking false, telegram_web_status "ok":
    # all 12 connects succeeded and every DC POST got nginx's answer.
    "telegram_nourl": ("ok", "telegram.dc_http_answered"),
    # registration 200, web 400 over TLS, endpoints connected: fastpath
    # test_score_whatsapp_failure finds all three accessible (blocking_general 0.0).
    "whatsapp": ("ok", "whatsapp.http_ok"),
}


def test_every_real_messaging_measurement_gets_the_outcome_its_keys_show() -> None:
    wrong = []
    for name, (outcome, rule) in REAL.items():
        verdict = judge(raw(name))
        if (verdict.outcome.value, verdict.rule) != (outcome, rule):
            wrong.append(f"{name}: {verdict.outcome.value} {verdict.rule}, want {outcome} {rule}")
    assert not wrong, "\n".join(wrong)


def test_inaccurate_signal_says_why() -> None:
    verdict = judge(raw("signal_2627"))
    assert verdict.reason is not None and "0.2.0" in verdict.reason
    assert verdict.layers[0].witnesses[0].ref == "test_version"


def test_whatsapp_web_status_contradicted_by_the_answer_is_a_finding() -> None:
    verdict = judge(raw("whatsapp"))
    kinds = [f.kind for f in verdict.findings]
    assert kinds == ["whatsapp.summary_contradicted"]
    assert verdict.findings[0].witnesses[0].ref == "test_keys.whatsapp_web_status"


def test_telegram_witnesses_name_the_dc_requests() -> None:
    verdict = judge(raw("telegram_nourl"))
    http = next(v for v in verdict.layers if v.layer is Layer.HTTP)
    # The 10 requests whose Host is an IP literal are the DCs' (no URL in this old probe).
    assert [w.ref for w in http.witnesses] == [
        f"test_keys.requests[{i}]" for i in (0, 3, 4, 5, 6, 7, 8, 9, 10, 11)
    ]


# --- telegram variants -------------------------------------------------------------------


def _reset_all_dcs(keys: dict[str, Any]) -> None:
    for tcp in keys["tcp_connect"]:
        tcp["status"] = {"success": False, "failure": "connection_reset"}
    for request in keys["requests"]:
        if request["request"]["headers"]["Host"][0].isdigit():
            request["failure"] = "connection_reset"
            request["response"] = None
    keys["telegram_tcp_blocking"] = True


def _reset_web(keys: dict[str, Any]) -> None:
    for request in keys["requests"]:
        if request["request"]["headers"]["Host"] == "web.telegram.org":
            request["failure"] = "connection_reset"
            request["response"] = None


def _half_dcs_time_out(keys: dict[str, Any]) -> None:
    for tcp in keys["tcp_connect"][:6]:
        tcp["status"] = {"success": False, "failure": "generic_timeout_error"}


def test_all_dcs_reset_is_tcp_blocking() -> None:
    verdict = judge(raw("telegram_nourl"), _reset_all_dcs)
    assert (verdict.outcome, verdict.layer, verdict.rule, verdict.technique) == (
        Outcome.BLOCKED,
        Layer.TCP,
        "telegram.dc_tcp_all_failed",
        "tcp_reset",
    )
    assert refs(verdict, Layer.TCP) == [f"test_keys.tcp_connect[{i}]" for i in range(12)]


def test_web_reset_is_blocked_even_when_the_dcs_answer() -> None:
    verdict = judge(raw("telegram_nourl"), _reset_web)
    assert (verdict.outcome, verdict.layer, verdict.rule) == (
        Outcome.BLOCKED,
        Layer.HTTP,
        "telegram.web_http_failure",
    )
    assert refs(verdict, Layer.HTTP) == ["test_keys.requests[1]", "test_keys.requests[2]"]


def test_some_dcs_failing_is_a_finding_not_a_block() -> None:
    verdict = judge(raw("telegram_nourl"), _half_dcs_time_out)
    assert verdict.outcome is Outcome.OK
    assert [(f.kind, f.detail) for f in verdict.findings] == [
        ("telegram.partial_dc_connects", "6 of 12 dc_connects failed; the others worked")
    ]


def test_only_the_summary_keys_decide_and_say_so() -> None:
    def summary_only(keys: dict[str, Any]) -> None:
        del keys["requests"], keys["tcp_connect"]
        keys["telegram_tcp_blocking"] = True

    verdict = judge(raw("telegram_nourl"), summary_only)
    assert (verdict.outcome, verdict.rule) == (Outcome.BLOCKED, "telegram.summary_tcp_blocking")
    witness = verdict.layers[0].witnesses[0]
    assert witness.ref == "test_keys.telegram_tcp_blocking"
    assert witness.observed == "true (the probe's summary only: no raw observation recorded)"


# --- signal variants (signal_022: accurate, all fine) ------------------------------------


def _storage(failure_at: str, failure: str) -> Edit:
    def edit(keys: dict[str, Any]) -> None:
        if failure_at == "dns":
            for query in keys["queries"]:
                if query["hostname"] == "storage.signal.org":
                    query["answers"], query["failure"] = None, failure
        if failure_at == "tls":
            keys["tls_handshakes"][1]["failure"] = failure  # storage.signal.org's handshake
        request = keys["requests"][1]  # https://storage.signal.org/
        request["failure"], request["response"] = failure, None
        keys["signal_backend_status"], keys["signal_backend_failure"] = "blocked", failure

    return edit


@pytest.mark.parametrize(
    ("where", "failure", "outcome", "layer", "rule", "technique"),
    [
        ("dns", "dns_nxdomain_error", "blocked", "dns", "signal.dns_failure", "dns_nxdomain"),
        ("tls", "connection_reset", "blocked", "tls", "signal.tls_failure", "tls_reset"),
        (
            "tls",
            "ssl_unknown_authority",
            "tampered",
            "tls",
            "signal.tls_certificate_invalid",
            "tls_mitm_certificate",
        ),
        ("http", "generic_timeout_error", "blocked", "http", "signal.http_failure", "http_timeout"),
    ],
)
def test_one_signal_backend_failing_blocks_its_layer(
    where: str, failure: str, outcome: str, layer: str, rule: str, technique: str
) -> None:
    verdict = judge(raw("signal_022"), _storage(where, failure))
    got = (verdict.outcome.value, verdict.layer, verdict.rule, verdict.technique)
    assert got == (outcome, layer, rule, technique)


def test_signal_up_to_0_2_3_after_2023_11_07_is_insufficient() -> None:
    data = raw("signal_022")
    data["test_version"], data["measurement_start_time"] = "0.2.3", "2023-11-08 00:00:00"
    data["annotations"]["engine_version"] = "3.19.0"
    verdict = judge(data)
    assert (verdict.outcome, verdict.rule) == (Outcome.INSUFFICIENT, "signal.inaccurate_probe")
    assert verdict.reason is not None and "ooni/probe#2627" in verdict.reason


# --- whatsapp variants -------------------------------------------------------------------


def test_no_whatsapp_endpoint_connecting_is_tcp_blocking() -> None:
    def refuse_endpoints(keys: dict[str, Any]) -> None:
        for tcp in keys["tcp_connect"]:
            if not tcp["ip"].startswith("31.13."):  # 31.13.73.52 is web's and registration's
                tcp["status"] = {"success": False, "failure": "connection_refused"}

    verdict = judge(raw("whatsapp"), refuse_endpoints)
    assert (verdict.outcome, verdict.layer, verdict.rule) == (
        Outcome.BLOCKED,
        Layer.TCP,
        "whatsapp.endpoints_all_failed",
    )


def test_registration_failing_is_blocked() -> None:
    def reset_registration(keys: dict[str, Any]) -> None:
        for request in keys["requests"]:
            if request["request"]["url"] == "https://v.whatsapp.net/v2/register":
                request["failure"], request["response"] = "connection_reset", None

    verdict = judge(raw("whatsapp"), reset_registration)
    assert (verdict.outcome, verdict.layer, verdict.rule) == (
        Outcome.BLOCKED,
        Layer.HTTP,
        "whatsapp.http_failure",
    )


# --- hostile input -----------------------------------------------------------------------


def test_a_summary_key_of_the_wrong_type_is_a_format_error() -> None:
    data = raw("telegram_nourl")
    data["test_keys"]["telegram_tcp_blocking"] = "yes"
    with pytest.raises(MeasurementFormatError, match="telegram_tcp_blocking"):
        judge(data)


def test_no_test_keys_is_insufficient() -> None:
    data = raw("whatsapp")
    data["test_keys"] = None
    verdict = judge(data)
    assert (verdict.outcome, verdict.reason) == (
        Outcome.INSUFFICIENT,
        "the probe wrote no test keys",
    )


# --- OONI's fastpath, reproduced, and our anomaly beside it ------------------------------

# name -> (blocking_general, accuracy) as fastpath/tests/test_unit.py expects of the fixture
# (test_score_signal_2627, test_score_signal_679, test_score_measurement_telegram_nourl:
# `scores_failed`, test_score_whatsapp_failure); a missing "accuracy" there is 1.0.
FASTPATH_EXPECTS = {
    "signal_022": (0.0, 1.0),
    "signal_2627": (0.0, 0.0),
    "signal_679": (0.0, 0.0),
    "telegram_nourl": (0.0, 0.0),
    "whatsapp": (0.0, 1.0),
}


def _measurement(data: dict[str, Any], edit: Edit | None = None) -> Measurement:
    data = copy.deepcopy(data)
    if edit is not None:
        edit(data["test_keys"])
    return decode_measurement(msgspec.json.encode(data))


def test_the_fastpath_reproduction_scores_the_fixtures_as_ooni_s_tests_expect() -> None:
    wrong = [
        f"{name}: {ooni_scores(_measurement(raw(name)))}, want {want}"
        for name, want in FASTPATH_EXPECTS.items()
        if ooni_scores(_measurement(raw(name))) != want
    ]
    assert not wrong, "\n".join(wrong)


def _with_urls(keys: dict[str, Any]) -> None:
    """telegram_nourl as a Go probe writes it: each request with its URL and method."""
    for request in keys["requests"]:
        host = request["request"]["headers"]["Host"]
        web = host == "web.telegram.org"
        request["request"]["url"] = "https://web.telegram.org/" if web else f"http://{host}/"
        request["request"]["method"] = "GET" if web else "POST"


def _then(*edits: Edit) -> Edit:
    def edit(keys: dict[str, Any]) -> None:
        for one in edits:
            one(keys)

    return edit


def _web_status_blocked(keys: dict[str, Any]) -> None:
    keys["telegram_web_status"], keys["telegram_web_failure"] = "blocked", "connection_reset"


# (fixture, edit) -> OONI's blocking_general by hand: share of failed connects + share of
# failed DC requests + 1 if telegram_web_status is blocked (core.py score_measurement_telegram).
TELEGRAM_SCORES = {
    "as is": (None, 0.0),
    "every DC reset": (_reset_all_dcs, 12 / 12 + 10 / 10),
    "web reset": (_then(_reset_web, _web_status_blocked), 1.0),
    "half the connects time out": (_half_dcs_time_out, 6 / 12),
}


def test_our_anomaly_equals_ooni_s_on_telegram_as_go_probes_write_it() -> None:
    wrong = []
    for name, (edit, score) in TELEGRAM_SCORES.items():
        measurement = _measurement(
            raw("telegram_nourl"), _then(_with_urls, *[e for e in [edit] if e])
        )
        ours = analyze(measurement, NO_FINGERPRINTS).outcome in (Outcome.BLOCKED, Outcome.TAMPERED)
        if ooni_scores(measurement) != (score, 1.0) or ours != (score > 0.5):
            wrong.append(f"{name}: OONI {ooni_scores(measurement)} want {score}; ours {ours}")
    assert not wrong, "\n".join(wrong)


def test_our_anomaly_equals_ooni_s_on_every_real_messaging_measurement() -> None:
    wrong = []
    for name in REAL:
        measurement = _measurement(raw(name))
        ours = analyze(measurement, NO_FINGERPRINTS).outcome in (Outcome.BLOCKED, Outcome.TAMPERED)
        if ours != ooni_anomaly(measurement):
            wrong.append(f"{name}: ours {ours}, OONI's {ooni_anomaly(measurement)}")
    assert not wrong, "\n".join(wrong)


# --- facebook_messenger: the corpus has no measurement; ts-019's example instead ---------

# ooni/spec nettests/ts-019-facebook-messenger.md (e8aafe45), "Example output sample": a
# working measurement (IT, 2016-11-25, ooniprobe 2.0.3.dev0, test 0.4.0), every key of it as
# written, its seven lookups and six connects in order. Each connect's status is
# `{"failure": false, "success": true}`: the boolean that Measurement Kit's
# facebook_messenger also writes (facebook_messenger.cpp `tcp_many`), read as no failure.
# The shared corpus has no facebook_messenger measurement with test keys (its 14 are OONI
# fastpath rows, verdicts only), so this is the one real sample there is.


def _lookup(hostname: str, *answers: tuple[str, str]) -> dict[str, Any]:
    return {
        "answers": [
            {"answer_type": kind, ("ipv4" if kind == "A" else "hostname"): value}
            for kind, value in answers
        ],
        "failure": None,
        "hostname": hostname,
        "query_type": "A",
        "resolver_hostname": None,
        "resolver_port": None,
    }


_Z_M = (("CNAME", "z-m.facebook.com"), ("CNAME", "z-m.c10r.facebook.com"), ("A", "31.13.86.37"))
# the six connects in order, to the addresses above (stun is UDP: not connected)
FB_CONNECTS = (
    "31.13.86.8",
    "31.13.86.37",
    "31.13.86.4",
    "31.13.86.4",
    "31.13.86.2",
    "31.13.86.37",
)
FB_EXAMPLE: dict[str, Any] = {
    "annotations": {"platform": "macos"},
    "data_format_version": "0.2.0",
    "id": "0651db48-f4fb-41fb-8e35-40869380fdd6",
    "input": None,
    "input_hashes": [],
    "measurement_start_time": "2016-11-25 12:52:05",
    "options": [],
    "probe_asn": "AS30722",
    "probe_cc": "IT",
    "probe_city": None,
    "probe_ip": "127.0.0.1",
    "report_id": "OOc2k6mbJ0a4w32uXfr02vdlR7292kpbnN1jTPcSWx4bcUo0N8kurasA4fsvrLbh",
    "software_name": "ooniprobe",
    "software_version": "2.0.3.dev0",
    "test_helpers": {},
    "test_keys": {
        "agent": "redirect",
        **{
            f"facebook_{e}_{what}": True
            for e in ("b_api", "b_graph", "edge", "external_cdn", "scontent_cdn", "star")
            for what in ("dns_consistent", "reachable")
        },
        "facebook_dns_blocking": False,
        "facebook_stun_dns_consistent": True,
        "facebook_stun_reachable": None,
        "facebook_tcp_blocking": False,
        "queries": [
            _lookup("star.c10r.facebook.com", ("A", "31.13.86.8")),
            _lookup("stun.fbsbx.com", ("A", "69.171.239.36")),
            _lookup(
                "external.xx.fbcdn.net", ("CNAME", "scontent.xx.fbcdn.net"), ("A", "31.13.86.4")
            ),
            _lookup("scontent.xx.fbcdn.net", ("A", "31.13.86.4")),
            _lookup(
                "edge-mqtt.facebook.com", ("CNAME", "mqtt.c10r.facebook.com"), ("A", "31.13.86.2")
            ),
            _lookup("b-graph.facebook.com", *_Z_M),
            _lookup("b-api.facebook.com", *_Z_M),
        ],
        "socksproxy": None,
        "tcp_connect": [
            {"ip": ip, "port": 443, "status": {"failure": False, "success": True}}
            for ip in FB_CONNECTS
        ],
    },
    "test_name": "facebook_messenger",
    "test_runtime": 0.43950486183166504,
    "test_start_time": "2016-11-25 12:52:05",
    "test_version": "0.4.0",
}


def _asns(star: int, others: int = 32934) -> Edit:
    """Give the example's addresses the AS a probe with an ASN database would write: star's
    `star`, every other host's `others` (Facebook's unless told)."""

    def edit(keys: dict[str, Any]) -> None:
        for query in keys["queries"]:
            for answer in query["answers"]:
                if answer["answer_type"] == "A":
                    answer["asn"] = star if query["hostname"].startswith("star.") else others

    return edit


def _connect_reset(keys: dict[str, Any]) -> None:
    keys["tcp_connect"][0]["status"] = {"failure": "connection_reset", "success": False}


@pytest.mark.parametrize(
    ("name", "edit", "outcome", "layer", "rule"),
    [
        # no AS in the answers (Measurement Kit wrote none): the keys decide, all true
        ("as written", None, "ok", None, "facebook_messenger.summary_ok"),
        ("answers in AS32934", _asns(32934), "ok", None, "facebook_messenger.tcp_ok"),
        # star's address in another AS: OONI's consistency check fails (fbmessenger.go)
        (
            "star outside",
            _asns(12345),
            "blocked",
            "dns",
            "facebook_messenger.dns_outside_asn",
        ),
        (
            "connect reset",
            _then(_asns(32934), _connect_reset),
            "blocked",
            "tcp",
            "facebook_messenger.tcp_failure",
        ),
    ],
)
def test_facebook_messenger_from_the_spec_example(
    name: str, edit: Edit | None, outcome: str, layer: str | None, rule: str
) -> None:
    verdict = judge(FB_EXAMPLE, edit)
    got = (verdict.outcome.value, verdict.layer.value if verdict.layer else None, verdict.rule)
    assert got == (outcome, layer, rule), name


def test_measurement_kit_s_false_failure_is_no_failure() -> None:
    # every connect of the example worked (success true): its `false` is read as null
    keys = facebook_messenger_keys(decode_measurement(msgspec.json.encode(FB_EXAMPLE)))
    assert keys is not None and keys.tcp_connect is not None
    statuses = [(t.status.success, t.status.failure) for t in keys.tcp_connect]
    assert statuses == [(True, None)] * 6


@pytest.mark.parametrize("failure", [True, 0, 1, [], {}])
def test_any_other_non_string_failure_stays_a_format_error(failure: object) -> None:
    # Measurement Kit's `true` (a connect that failed, facebook_messenger.cpp) names no
    # failure: like any non-string, it is one line naming the key, never a traceback.
    data = copy.deepcopy(FB_EXAMPLE)
    data["test_keys"]["tcp_connect"][1]["status"] = {"failure": failure, "success": False}
    with pytest.raises(MeasurementFormatError) as caught:
        judge(data)
    message = str(caught.value)
    assert "$.test_keys.tcp_connect[1].status.failure" in message
    assert "\n" not in message
