"""Parity with OONI's fastpath: its scores of its own fixtures, and our anomaly beside its.

The fixtures are ooni/backend's fastpath test data at commit 32d8349dc544 (the corpus's
SOURCES.md). The expected scores are what ooni/backend's own tests assert for these files
(`fastpath/fastpath/tests/test_unit.py`, `test_functional.py`; the function and its line
are cited per row) or, where those tests assert nothing, computed by hand from core.py's
rule and the file's keys (the computation is the row's comment). The second test holds our
layered verdict's anomaly (blocked or tampered) to OONI's; the differences we make on
purpose are in DIFFERENCES, each with its reason, and only ever in one direction: OONI
calls it an anomaly, we do not say more than the data shows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from netvigil.analysis.fastpath import SCORERS, fastpath_scores
from netvigil.analysis.fastpath_signal import BadVersion, version_key
from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.layered import UnsupportedTest, analyze
from netvigil.analysis.verdicts import Outcome
from netvigil.readers import Item, ReadError, read_paths
from netvigil.records import AnyMeasurement, MeasurementFormatError, decode_any
from tests.corpus import MEASUREMENTS

OTHER = MEASUREMENTS / "ooni-backend-fastpath-other"
WEB = MEASUREMENTS / "ooni-backend-fastpath"
NOT_A_MEASUREMENT = "detector_query_ww_BR_2018.json"  # a per-hour anomaly series (a list)
DB = FingerprintDB.load()

UNIT = "test_unit.py"
FUNCTIONAL = "test_functional.py"


def z(**changed: Any) -> dict[str, Any]:
    """core.py `init_scores()` (every blocking locality 0.0) with some keys set."""
    scores: dict[str, Any] = {
        "blocking_general": 0.0,
        "blocking_global": 0.0,
        "blocking_country": 0.0,
        "blocking_isp": 0.0,
        "blocking_local": 0.0,
    }
    scores.update(changed)
    return scores


FAILED = z(accuracy=0.0)  # test_unit.py:19 `scores_failed`


def fp(name: str, location: str, confidence: int, country: str) -> dict[str, Any]:
    return {
        "name": name,
        "scope": "nat",
        "location_found": location,
        "confidence_no_fp": confidence,
        "expected_countries": [country],
    }


# file -> (OONI's scores dict, None for its `{}`; where the expectation comes from)
EXPECTED: dict[str, tuple[dict[str, Any] | None, str]] = {
    "browser_web.json": (
        z(extra={"browser_name": "chrome", "load_time_ms": 357.40000000037253}),
        f"{UNIT}:713 test_score_browser_web",
    ),
    "browser_web_error.json": (
        z(blocking_general=1.0, extra={"browser_name": "chrome", "load_time_ms": 680}),
        f"{UNIT}:726 test_score_browser_web_error",
    ),
    "http_header_field_manipulation_1.json": (FAILED, f"{UNIT}:257"),
    "http_header_field_manipulation_2.json": (FAILED, f"{UNIT}:264"),
    "http_header_field_manipulation_3.json": (FAILED, f"{UNIT}:271"),
    "http_requests_1.json": (FAILED, f"{UNIT}:562 test_score_http_requests"),
    "mbx-1.json": (z(blocking_general=1.0), f"{FUNCTIONAL}:1065"),
    "mbx-2.json": (z(blocking_general=1.0), f"{FUNCTIONAL}:1083"),
    "meek.json": (z(blocking_general=1.0), f"{UNIT}:520 test_score_meek"),
    "meek2.json": (z(), f"{UNIT}:533 test_score_meek2"),
    "meek3.json": (z(blocking_general=0.5), f"{UNIT}:546 test_score_meek3"),
    "openvpn.json": (z(extra={"test_runtime": 37.975210163}), f"{UNIT}:697 test_score_openvpn"),
    # by hand, score_web_connectivity: blocking false -> no blocking score; accessible true;
    # title_match true; no *_failure starts "unknown_failure" (all null); no fingerprint:
    # the DNS answers 52.200.20.147, 52.3.56.44 are no DNS row, the body is "...", and no
    # header row (full/prefix) fits its headers -> init_scores(), no accuracy key.
    "report1blocked.json": (z(), "by hand"),
    # by hand, the same: blocking false, accessible true, title_match true, no failures,
    # 213.138.112.121 no DNS row, bodies "BODY-IS-HERE" and null, no header row -> zeros.
    "report2.json": (z(), "by hand"),
    "riseupvpn.json": (None, f"{UNIT}:511 test_score_riseupvpn"),
    "signal_022.json": (z(), f"{UNIT}:593 (in test_score_signal_2627)"),
    "signal_2627.json": (FAILED, f"{UNIT}:579 test_score_signal_2627"),
    "signal_679.json": (FAILED, f"{UNIT}:604 test_score_signal_679"),
    "telegram_nourl.json": (FAILED, f"{UNIT}:247 test_score_measurement_telegram_nourl"),
    "test_keys_none.json": (FAILED, f"{UNIT}:800 test_bug_test_keys_None"),
    "tor.json": (z(extra={"test_runtime": 0.767114298}), f"{UNIT}:481 test_score_tor"),
    "tor_list.json": (FAILED, f"{UNIT}:494 test_score_tor_list"),
    "torsf_1.json": (z(blocking_general=1.0), f"{UNIT}:659 test_score_torsf"),
    "torsf_2.json": (
        z(extra={"bootstrap_time": 78.980935917, "test_runtime": 79.196301917}),
        f"{UNIT}:671 test_score_torsf2",
    ),
    "torsf_383.json": (FAILED, f"{UNIT}:684 test_score_torsf383"),
    "vanilla_tor.json": (z(blocking_general=0.98), f"{UNIT}:314 test_score_vanilla_tor"),
    "vanilla_tor_ok.json": (z(), f"{UNIT}:327 test_score_vanilla_tor_ok"),
    "whatsapp.json": (
        z(
            analysis={
                "registration_server_accessible": True,
                "whatsapp_endpoints_accessible": True,
                "whatsapp_web_accessible": True,
            }
        ),
        f"{UNIT}:293 test_score_whatsapp_failure",
    ),
    # by hand, score_http_requests: no top-level control_failure/experiment_failure;
    # body_length_match true and headers_match true -> reachable, no blocking score; the
    # non-Tor response (an Apache 301 page, headers Age ... Server "Apache/2.2.22 (Debian)")
    # holds no body pattern and fits no header row -> init_scores().
    "yaml16_0.json": (z(), "by hand"),
    # by hand, score_dns_consistency: "TODO: implement scoring", always init_scores().
    "yaml17_0.json": (z(), "by hand"),
}

# ooni-backend-fastpath/: the web_connectivity fixtures whose whole scores OONI asserts.
EXPECTED_WEB: dict[str, tuple[dict[str, Any] | None, str]] = {
    "bug_351.json": (
        z(blocking_general=1.0, analysis={"blocking_type": "http-failure"}, accuracy=0.0),
        f"{UNIT}:742 test_bug_backend351",
    ),
    "bug_352.json": (
        z(
            blocking_general=2.0,
            blocking_country=1.0,
            analysis={"blocking_type": "dns"},
            confirmed=True,
            fingerprints=[fp("ooni.ir_10dot10_ipv4_1", "dns", 10, "IR")],
        ),
        f"{UNIT}:757 test_bug_backend352",
    ),
    "requests_none.json": (
        z(blocking_general=1.0, analysis={"blocking_type": "dns"}),
        f"{UNIT}:783 test_bug_requests_None",
    ),
    "web_connectivity_ir_fp.json": (
        z(
            blocking_general=2.0,
            blocking_country=1.0,
            confirmed=True,
            analysis={"blocking_type": "dns"},
            fingerprints=[fp("ooni.ir_10dot10_ipv4_1", "dns", 10, "IR")],
        ),
        f"{UNIT}:184 test_score_web_connectivity_dns_ir_fingerprint",
    ),
    "web_connectivity_odd_hdr.json": (
        z(blocking_general=1.0, analysis={"blocking_type": "dns"}),
        f"{UNIT}:415 test_score_web_connectivity_odd_hdr",
    ),
    "web_connectivity_no_body.json": (z(), f"{UNIT}:429 test_score_web_connectivity_no_body"),
    "web_connectivity_null.json": (FAILED, f"{UNIT}:450 test_score_web_connectivity_bug_610"),
    "web_connectivity_null2.json": (FAILED, f"{UNIT}:456 test_score_web_connectivity_bug_610_2"),
}


def _read(path: Path) -> AnyMeasurement:
    return decode_any(path.read_bytes())


def _mismatches(folder: Path, table: dict[str, tuple[dict[str, Any] | None, str]]) -> list[str]:
    wrong = []
    for name, (expected, source) in sorted(table.items()):
        score = fastpath_scores(_read(folder / name), DB)
        got = None if score is None else score.scores
        if got != expected:
            wrong.append(f"{name} ({source}): expected {expected}, got {got}")
        elif score is not None and expected is not None:
            flags = (score.anomaly, score.failure, score.confirmed)
            wanted = (
                expected["blocking_general"] > 0.5,  # process_measurement's flags
                expected.get("accuracy", 1.0) < 0.5,
                expected.get("confirmed", False),
            )
            if flags != wanted:
                wrong.append(f"{name}: flags {flags}, expected {wanted}")
    return wrong


def test_every_other_fixture_is_read_and_scored_as_ooni_scores_it() -> None:
    files = sorted(p.name for p in OTHER.glob("*.json"))
    assert len(files) == 31, files
    read = list(read_paths([OTHER]))  # the importers' reader: one result per file here
    errors = [Path(r.source).name for r in read if isinstance(r, ReadError)]
    assert errors == [NOT_A_MEASUREMENT]  # a per-item error for the one non-measurement
    items = sorted(Path(r.source).name for r in read if isinstance(r, Item))
    with pytest.raises(MeasurementFormatError, match="Expected `object`, got `array`"):
        _read(OTHER / NOT_A_MEASUREMENT)
    assert sorted(EXPECTED) == items == [f for f in files if f != NOT_A_MEASUREMENT]
    wrong = _mismatches(OTHER, EXPECTED)
    assert not wrong, "\n".join(wrong)


def test_web_connectivity_fixtures_are_scored_as_ooni_scores_them() -> None:
    wrong = _mismatches(WEB, EXPECTED_WEB)
    assert not wrong, "\n".join(wrong)


def _measurement(**fields: Any) -> AnyMeasurement:
    return decode_any(json.dumps(fields).encode())


def _signal_022(**changed: Any) -> AnyMeasurement:
    raw = json.loads((OTHER / "signal_022.json").read_text())
    keys = changed.pop("test_keys", {})
    raw.update(changed)
    raw["test_keys"].update(keys)
    return decode_any(json.dumps(raw).encode())


# The spec's psiphon example (ooni/spec nettests/ts-015-psiphon.md, "Example output sample"):
# its envelope keys and test keys; the corpus has no psiphon measurement.
PSIPHON = {
    "test_name": "psiphon",
    "test_version": "0.3.2",
    "measurement_start_time": "2020-01-11 16:49:24",
    "test_runtime": 16.896564945,
    "probe_cc": "IT",
    "probe_asn": "AS30722",
    "resolver_ip": "172.217.34.2",
    "report_id": "20200111T164924Z_AS30722_lKxNuG9w1Av9hyl49LSGIS0PxoaMq7aMarT8mwBjvnWVBAI5Hc",
    "test_keys": {"bootstrap_time": 6.604589285, "failure": None, "max_runtime": 60},
}
FB_TRUE = {
    f"facebook_{ep}_{what}": True
    for ep in ("b_api", "b_graph", "edge", "external_cdn", "scontent_cdn", "star")
    for what in ("dns_consistent", "reachable")
} | {"facebook_stun_dns_consistent": True}
TELEGRAM_KEYS = {
    "telegram_web_status": "blocked",
    "tcp_connect": [
        {"ip": "149.154.175.50", "port": 443, "status": {"success": True, "failure": None}},
        {"ip": "149.154.167.51", "port": 443, "status": {"success": False, "failure": "x"}},
    ],
    "requests": [
        {"request": {"url": "http://149.154.175.50/"}, "failure": None},
        {"request": {"url": "http://149.154.167.51/"}, "failure": "connection_reset"},
        {"request": {"url": "https://web.telegram.org/"}, "failure": "connection_reset"},
    ],
}

# name -> (measurement, OONI's scores or None for `{}`, where the expectation comes from)
SYNTHETIC: dict[str, tuple[AnyMeasurement, dict[str, Any] | None, str]] = {
    "stun ok": (
        _measurement(
            test_name="stunreachability",
            test_keys={"endpoint": "stun.l.google.com:19302", "failure": None},
        ),
        z(extra={"endpoint": "stun.l.google.com:19302"}),
        f"{UNIT}:623 test_score_stunreachability",
    ),
    "stun failed": (
        _measurement(test_name="stunreachability", test_keys={"failure": "boo"}),
        z(blocking_general=1.0, extra={"endpoint": None, "failure": "boo"}),
        f"{UNIT}:639 test_score_stunreachability_fail",
    ),
    "dash no keys": (_measurement(test_name="dash"), FAILED, f"{UNIT}:465"),
    "wc no keys": (
        _measurement(
            input="foo",
            measurement_start_time="",
            probe_asn="1",
            report_id="123",
            test_name="web_connectivity",
            test_start_time="",
            probe_cc="IE",
            test_keys={},
        ),
        FAILED,
        f"{UNIT}:343 test_score_measurement_simple",
    ),
    "wc confirmed": (
        _measurement(
            input="foo",
            report_id="123",
            test_name="web_connectivity",
            probe_cc="IT",
            test_keys={
                "requests": [{"response": {"body": "GdF Stop Page"}}],
                "blocking": False,
                "accessible": True,
            },
        ),
        z(
            blocking_general=1.0,
            blocking_country=1.0,
            confirmed=True,
            fingerprints=[fp("ooni.it_0", "body", 5, "IT")],
        ),
        f"{UNIT}:380 test_score_measurement_confirmed",
    ),
    # by hand, score_psiphon: failure null, bootstrap_time 6.60 > 0 -> accuracy 1.0;
    # resolver_ip present; extra = test_runtime and bootstrap_time.
    "psiphon ok": (
        _measurement(**PSIPHON),
        z(accuracy=1.0, extra={"test_runtime": 16.896564945, "bootstrap_time": 6.604589285}),
        "by hand",
    ),
    # by hand: failure set -> accuracy 1.0 and blocking_general 1.0 (bootstrap_time 0 kept).
    "psiphon failed": (
        _measurement(**(PSIPHON | {"test_keys": {"bootstrap_time": 0, "failure": "eof_error"}})),
        z(
            accuracy=1.0,
            blocking_general=1.0,
            extra={"test_runtime": 16.896564945, "bootstrap_time": 0},
        ),
        "by hand",
    ),
    # by hand: 0.2.2 <= 0.2.3 and started on/after 2023-11-07 (ooni/probe#2627) -> accuracy 0.
    "signal 0.2.2 after 2023-11-07": (
        _signal_022(measurement_start_time="2023-11-08 10:00:00"),
        FAILED,
        "by hand",
    ),
    # by hand: the same version the day before is judged (its status "ok": zeros).
    "signal 0.2.2 on 2023-11-06": (
        _signal_022(
            measurement_start_time="2023-11-06 10:00:00",
            annotations={"engine_version": "3.19.0"},
        ),
        z(),
        "by hand",
    ),
    "signal 0.2.4": (_signal_022(test_version="0.2.4"), FAILED, "by hand: ooni/probe#2636"),
    # by hand: status "blocked" -> 1.0, with the backend failure in `analysis`.
    "signal blocked": (
        _signal_022(
            test_keys={
                "signal_backend_status": "blocked",
                "signal_backend_failure": "connection_reset",
            }
        ),
        z(blocking_general=1.0, analysis={"signal_backend_failure": "connection_reset"}),
        "by hand",
    ),
    # by hand, score_measurement_facebook_messenger: the workaround needs
    # facebook_dns_blocking true, so the keys count: edge_reachable false +0.5,
    # tcp_blocking true +0.5 -> 1.0, both keys copied.
    "facebook": (
        _measurement(
            test_name="facebook_messenger",
            test_keys=FB_TRUE
            | {
                "facebook_edge_reachable": False,
                "facebook_tcp_blocking": True,
                "facebook_dns_blocking": False,
            },
        ),
        z(blocking_general=1.0, facebook_edge_reachable=False, facebook_tcp_blocking=True),
        "by hand",
    ),
    # by hand, score_measurement_telegram: 1 of 2 DC connects failed (0.5) + 1 of 2 DC
    # requests failed (0.5; the web.telegram.org request is not counted) + web blocked (1).
    "telegram": (
        _measurement(test_name="telegram", test_keys=TELEGRAM_KEYS),
        z(
            blocking_general=2.0,
            web_failure="connection_reset",
            accessible_endpoints=1,
            unreachable_endpoints=1,
            http_success_cnt=1,
            http_failure_cnt=1,
            msg="failure: connection_reset",
        ),
        "by hand",
    ),
    # by hand, score_tcp_connect: connection_refused_error is a known failure -> 0.8.
    "tcp_connect refused": (
        _measurement(
            test_name="tcp_connect",
            input="192.0.2.1:80",
            test_keys={"connection": "connection_refused_error"},
        ),
        z(blocking_general=0.8),
        "by hand",
    ),
    # score_measurement: an unknown test_name ("Unsupported test name") scores a failure.
    "urlgetter": (_measurement(test_name="urlgetter", test_keys={}), FAILED, "by hand"),
    "dnscheck": (_measurement(test_name="dnscheck", test_keys={}), FAILED, "by hand"),
    "ndt": (_measurement(test_name="ndt", test_keys={}), None, "by hand: score_ndt is a stub"),
    # by hand, flag_measurements_with_wrong_date: received 2024-01-01 00:00:00, started
    # 2022-11-18 10:44:20, over 31536000 s (a year) before -> accuracy 0 and its message.
    "signal too old": (
        _signal_022(measurement_uid="20240101000000.000000_IT_signal_0123456789abcdef"),
        z(accuracy=0.0, msg="Measurement start time too old"),
        "by hand",
    ),
    # by hand: received 2022-02-19 00:00:00, started 2022-02-20 00:21:47, more than an hour
    # later -> the check fills riseupvpn's empty `{}` too.
    "riseupvpn from the future": (
        decode_any(
            json.dumps(
                json.loads((OTHER / "riseupvpn.json").read_text())
                | {"measurement_uid": "20220219000000.000000_AF_riseupvpn_0123456789abcdef"}
            ).encode()
        ),
        {"accuracy": 0.0, "msg": "Measurement start time from the future"},
        "by hand",
    ),
}


def test_scorers_without_a_fixture_score_as_ooni_rules_say() -> None:
    wrong = []
    for name, (measurement, expected, source) in SYNTHETIC.items():
        score = fastpath_scores(measurement, DB)
        got = None if score is None else score.scores
        if got != expected:
            wrong.append(f"{name} ({source}): expected {expected}, got {got}")
    assert not wrong, "\n".join(wrong)


def test_versions_compare_as_pep_440_orders_them() -> None:
    # PEP 440: a pre-release sorts before its release, a dev release before its pre-releases.
    ordered = ["0.2.2", "0.2.3", "1.0.dev0", "1.0a0", "1.0rc1", "1.0", "1.0.post1", "3.17.0-alpha"]
    keys = [version_key(v) for v in ordered]
    assert keys == sorted(keys)
    assert version_key("3.17.0-alpha") < version_key("3.17.0") < version_key("3.17.2")
    assert version_key("0.2.3") == version_key("0.2.3.0")
    with pytest.raises(BadVersion):
        version_key("3.17.2-foo")


# --- our anomaly beside OONI's --------------------------------------------------------------

# Nettests no helper analyses, on purpose: their rows stay "unanalysed" (never ok, no anomaly).
NOT_ANALYSED = frozenset(
    {"browser_web", "meek_fronted_requests_test", "http_requests", "dns_consistency"}
)
ANOMALIES = frozenset({Outcome.BLOCKED.value, Outcome.TAMPERED.value})

# file -> (our outcome, why it differs from OONI's anomaly). Only OONI-anomaly / ours-not.
DIFFERENCES: dict[str, tuple[str, str]] = {
    "browser_web_error.json": (
        "unanalysed",
        "browser_web (ooniprobe-web loading a page in the user's browser) is not analysed: "
        "a load error with no control and no network trace cannot show blocking",
    ),
    "meek.json": (
        "unanalysed",
        "meek_fronted_requests_test is a legacy ooniprobe 2.x nettest we do not analyse; "
        "OONI scores any non-200 response an anomaly, a fronting CDN's error included",
    ),
    "bug_351.json": (
        "insufficient",
        'the probe crashed decoding the page (http_experiment_failure "unknown_failure '
        "'ascii' codec ...\"), no network evidence; OONI also marks it a failure (accuracy 0)",
    ),
    "requests_none.json": (
        "down",
        "the test helper's resolver got no address either (control.dns.addrs is a name "
        "only): the site was down, not blocked (tests/analysis/test_layered.py)",
    ),
}


def _our_outcome(measurement: AnyMeasurement) -> str:
    try:
        return analyze(measurement, DB).outcome.value
    except UnsupportedTest:
        return "unanalysed"


def _scored() -> list[tuple[Path, str, bool]]:
    """Every fixture the fastpath scores: (path, test_name, OONI's anomaly)."""
    found = []
    for path in sorted([*OTHER.glob("*.json"), *WEB.glob("*.json")]):
        if path.name == NOT_A_MEASUREMENT:
            continue
        measurement = _read(path)
        score = fastpath_scores(measurement, DB)
        if score is not None:
            found.append((path, measurement.test_name, score.anomaly))
    return found


SCORED = _scored()


def _mismatch(path: Path, ooni_anomaly: bool) -> str | None:
    measurement = _read(path)
    ours = _our_outcome(measurement)
    if ours == "unanalysed" and measurement.test_name not in NOT_ANALYSED:
        return f"{path.name}: no analyser for {measurement.test_name}"
    if path.name in DIFFERENCES:
        wanted, _why = DIFFERENCES[path.name]
        if not ooni_anomaly or ours in ANOMALIES or ours != wanted:
            listed = f"listed as a difference ({wanted})"
            return f"{path.name}: {listed}, now OONI anomaly {ooni_anomaly}, ours {ours}"
        return None
    if (ours in ANOMALIES) != ooni_anomaly:
        return f"{path.name}: OONI anomaly {ooni_anomaly}, our outcome {ours}"
    return None


@pytest.mark.parametrize(
    ("path", "ooni_anomaly"),
    [pytest.param(path, anomaly, id=path.name) for path, _name, anomaly in SCORED],
)
def test_our_anomaly_is_oonis(path: Path, ooni_anomaly: bool) -> None:
    problem = _mismatch(path, ooni_anomaly)
    assert problem is None, problem


def test_our_anomaly_is_oonis_for_every_analysed_fixture() -> None:
    """The same over every scored fixture, listing every mismatch at once."""
    # 30 measurements in ooni-backend-fastpath-other/ and 13 in ooni-backend-fastpath/,
    # all scored but riseupvpn.json (OONI writes `{}` since ooni/backend#745).
    assert len(SCORED) == 30 + 13 - 1
    wrong = [
        problem
        for path, _name, anomaly in SCORED
        if (problem := _mismatch(path, anomaly)) is not None
    ]
    assert not wrong, "\n".join(wrong)
    assert set(DIFFERENCES) <= {path.name for path, _, _ in SCORED}


# --- hostile input ---------------------------------------------------------------------------

ODD: tuple[Any, ...] = (None, [], {}, "x", "", 0, 1.5, True, [None], [1], ["x"], [{}], [[]])
ODD += ({"a": None}, [{"request": None}], [{"response": None, "request": {}}], [{"failure": ""}])
SHAPED: tuple[str, ...] = (
    "requests",
    "tcp_connect",
    "targets",
    "tor_logs",
    "tor_progress",
    "failure",
    "sent",
)
SHAPED += ("received", "queries", "result", "connection", "signal_backend_status", "blocking")


# By hand from core.py: where it raises, process_measurement logs the exception and stores no
# row (None); where it catches the error, the measurement is a failure.
HOSTILE: tuple[tuple[str, dict[str, Any], dict[str, Any] | None, str], ...] = (
    ("tor", {"targets": "x"}, None, "score_tor: 'x'.values() raises AttributeError"),
    ("http_header_field_manipulation", {"requests": None}, FAILED, "TypeError caught"),
    ("vanilla_tor", {"tor_logs": "started", "tor_progress": "x"}, None, "float('x') raises"),
    ("http_invalid_request_line", {"sent": None, "received": None}, None, "len(None) raises"),
    ("telegram", {"requests": [{"request": {}, "failure": None}]}, FAILED, "KeyError caught"),
    ("tcp_connect", {"connection": "success"}, None, "no input: msm['input'] raises"),
)


def test_no_shape_of_test_keys_makes_a_scorer_raise() -> None:
    """Where core.py itself would raise, we say None (no row); nothing ever raises here."""
    names = [*SCORERS, "web_connectivity", "http_requests", "urlgetter"]
    calls = 0
    for name, odd in ((n, v) for n in names for v in ODD):
        for keys in (odd, *({key: odd} for key in SHAPED)):
            raw = {"test_name": name, "input": "x", "probe_cc": "IT", "test_keys": keys}
            fastpath_scores(decode_any(json.dumps(raw).encode()), DB)
            calls += 1
    assert calls == len(names) * len(ODD) * (1 + len(SHAPED))
    wrong = []
    for name, keys, expected, why in HOSTILE:
        score = fastpath_scores(_measurement(test_name=name, probe_cc="IT", test_keys=keys), DB)
        if (None if score is None else score.scores) != expected:
            wrong.append(f"{name} {keys} ({why}): expected {expected}, got {score}")
    assert not wrong, "\n".join(wrong)
