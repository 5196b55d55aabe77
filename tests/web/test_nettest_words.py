"""Every technique and finding the nettest analysers produce has words on the explorer.

The measurements are OONI's own (shared/corpus/ooni-measurements/ooni-backend-fastpath-other/)
and variants of them with each layer's steps failing in each way the failure vocabulary
(netvigil.failures.Failure) spells, plus the dnscheck and STUN spec examples the resolver
tests build (tests/analysis/test_resolvers.py). A technique without words would reach the
page as UNKNOWN's "The probe saw <technique>"; the failure message lists every one. The pages
are the real app's (server.create_app) over a data folder holding one messaging measurement
(telegram_nourl.json, and two edits of it) and one tampered one (mbx-1.json).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import msgspec
import pytest
from starlette.testclient import TestClient

from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.messaging_trace import technique
from netvigil.analysis.nettests import ANALYSERS
from netvigil.analysis.verdicts import Layer, Verdict
from netvigil.datadir import DataDir
from netvigil.failures import Failure, FailureKind, kind_of
from netvigil.observatory import tables
from netvigil.observatory.ingest import ingest_file
from netvigil.records import MeasurementFormatError, decode_measurement
from netvigil.server import create_app
from netvigil.web import verdict_text
from netvigil.web.nettest_words import APPS
from tests.analysis.test_messaging import FB_EXAMPLE, _asns
from tests.analysis.test_resolvers import DNSCHECK_EXAMPLE, OK_KEY, STUN_EXAMPLE
from tests.analysis.test_tls_interception import SITE, certificate, measured
from tests.analysis.test_tunnels import PSIPHON
from tests.corpus import MEASUREMENTS

OTHER = MEASUREMENTS / "ooni-backend-fastpath-other"
DB = FingerprintDB.load()
Keys = dict[str, Any]
# One spelling of each failure kind (the vocabulary's first), and a top-level failure.
FAILURES = (
    *{kind_of(f): str(f) for f in reversed(list(Failure))}.values(),
    "unknown_failure: something else",
)


def _dicts(value: object) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _connects(keys: Keys, failure: str) -> None:
    for tcp in _dicts(keys.get("tcp_connect")):
        tcp["status"] = {**(tcp.get("status") or {}), "failure": failure, "success": False}


def _half_connects(keys: Keys, failure: str) -> None:
    for tcp in _dicts(keys.get("tcp_connect"))[::2]:
        tcp["status"] = {**(tcp.get("status") or {}), "failure": failure, "success": False}


def _queries(keys: Keys, failure: str) -> None:
    for query in _dicts(keys.get("queries")):
        query["answers"], query["failure"] = None, failure


def _handshakes(keys: Keys, failure: str) -> None:
    for handshake in _dicts(keys.get("tls_handshakes")):
        handshake["failure"] = failure


def _requests(keys: Keys, failure: str) -> None:
    for request in _dicts(keys.get("requests")):
        request["failure"], request["response"] = failure, None


def _top(keys: Keys, failure: str) -> None:
    keys["failure"] = failure


def _targets(keys: Keys, failure: str) -> None:
    targets = keys.get("targets")
    for target in targets.values() if isinstance(targets, dict) else ():
        target["failure"] = failure
        _connects(target, failure)


EDITS: tuple[Callable[[Keys, str], None], ...] = (
    _connects,
    _half_connects,
    _queries,
    _handshakes,
    _requests,
    _top,
    _targets,
)


def _bootstraps(keys: Keys) -> Iterator[Keys]:
    """vanilla_tor and torsf stopping in each bracket of tor's bootstrap phases."""
    for progress in (0, 5, 15, 50):
        yield {**keys, "tor_progress": progress, "tor_progress_tag": "conn"}


def _dnscheck_variants() -> Iterator[dict[str, Any]]:
    """The ts-028 example with its DoT endpoint failing at each step, in each way."""
    for failure in FAILURES:
        for step in ("tcp_connect", "tls_handshakes", "queries", "bootstrap"):
            data = copy.deepcopy(DNSCHECK_EXAMPLE)
            keys = data["test_keys"]
            lookup = keys["lookups"][OK_KEY]
            if step == "bootstrap":
                keys["bootstrap_failure"] = failure
            elif step == "tcp_connect":
                lookup["tls_handshakes"] = None
                _connects(lookup, failure)
            elif step == "tls_handshakes":
                _handshakes(lookup, failure)
            _queries(lookup, failure)
            yield data
        for scheme in ("udp://8.8.8.8:53", "https://dns.google/dns-query"):
            data = copy.deepcopy(DNSCHECK_EXAMPLE)
            lookups = data["test_keys"]["lookups"]
            lookup = copy.deepcopy(lookups[OK_KEY])
            lookup["tls_handshakes"] = None
            for query in lookup["queries"]:
                query["engine"] = "udp" if scheme.startswith("udp") else "doh"
            _queries(lookup, failure)
            lookups[scheme] = lookup
            yield data
    for failure in FAILURES:
        for dns in (False, True):
            data = copy.deepcopy(STUN_EXAMPLE)
            data["test_keys"]["failure"] = failure
            if dns:
                _queries(data["test_keys"], failure)
            yield data


def _examples() -> Iterator[tuple[str, dict[str, Any]]]:
    """The corpus's files of analysed nettests, and the spec examples the analyser tests use
    where the corpus has none (ts-019's facebook_messenger, ts-015's psiphon)."""
    for path in sorted(OTHER.glob("*.json")):
        data = json.loads(path.read_text())
        if isinstance(data, dict) and data.get("test_name") in ANALYSERS:
            yield path.name, data
    yield "ts-019 example", FB_EXAMPLE
    for asn in (32934, 64500):  # Facebook's AS, and another: consistent, then not
        data = copy.deepcopy(FB_EXAMPLE)
        _asns(asn, asn)(data["test_keys"])
        yield f"ts-019 example in AS{asn}", data
    yield "ts-015 example", PSIPHON
    data = copy.deepcopy(PSIPHON)
    data["test_keys"]["queries"] = copy.deepcopy(STUN_EXAMPLE["test_keys"]["queries"])
    yield "ts-015 example resolving outside its tunnel", data


def measurements() -> Iterator[tuple[str, dict[str, Any]]]:
    """(what it is, the measurement) for every example, each of its variants, and the
    resolver examples' variants."""
    for name, data in _examples():
        yield name, data
        keys = data.get("test_keys")
        if not isinstance(keys, dict) or len(json.dumps(keys)) > 200_000:
            continue
        for edit in EDITS:
            for failure in FAILURES:
                edited = copy.deepcopy(data)
                edit(edited["test_keys"], failure)
                yield f"{name} {edit.__name__} {failure}", edited
        if data["test_name"] in ("vanilla_tor", "torsf"):
            for variant in _bootstraps(keys):
                yield f"{name} {variant['tor_progress']}%", {**data, "test_keys": variant}
    yield "ts-028 example", DNSCHECK_EXAMPLE
    for n, variant in enumerate(_dnscheck_variants()):
        yield f"resolver variant {n}", variant


def verdicts() -> Iterator[tuple[str, Verdict]]:
    for name, data in measurements():
        measurement = decode_measurement(msgspec.json.encode(data))
        try:
            verdict = ANALYSERS[measurement.test_name](measurement, DB)
        except MeasurementFormatError:
            continue  # an edit the records refuse: an error row, no words needed
        yield name, verdict


@pytest.fixture(scope="module")
def judged() -> list[tuple[str, Verdict]]:
    return list(verdicts())


def _unknown(said: verdict_text.Sentence | None) -> bool:
    return said is None or said.text == verdict_text.UNKNOWN


def test_every_technique_produced_has_words(judged: list[tuple[str, Verdict]]) -> None:
    techniques: dict[tuple[str, str], str] = {}
    for name, verdict in judged:
        for layer in verdict.layers:
            if layer.technique:
                techniques.setdefault((verdict.test_name, layer.technique), name)
    # Every analyser's nettest was run; tampered, blocked and ok techniques among them.
    assert {t for t, _ in techniques} >= set(ANALYSERS) - {"stunreachability", "ndt", "dash"}
    missing = [
        f"{test}: {name!r} (from {where})"
        for (test, name), where in sorted(techniques.items())
        if _unknown(verdict_text.how(name)) or _unknown(verdict_text.how(name, (), test))
    ]
    assert not missing, f"{len(missing)} of {len(techniques)} without words:\n" + "\n".join(missing)


def test_every_finding_produced_has_words(judged: list[tuple[str, Verdict]]) -> None:
    # A forged certificate a web_connectivity measurement was shown (tls_interception.py),
    # as tests/analysis/test_tls_interception.py builds it.
    forged = measured(certificate("CN=FortiGate CA,O=Fortinet,C=US", [SITE]))
    kinds = {f.kind: name for name, verdict in judged for f in verdict.findings}
    kinds.update({f.kind: "a forged certificate" for f in forged.findings})
    # Read in the analysers: partial DC connects, a product named, a tunnel's fetch failing.
    wanted = {"telegram.partial_dc_connects", "middlebox_product", "tunnel_use_failed"}
    assert wanted | {"tls_interception"} <= set(kinds)
    missing = [f"{k} (from {where})" for k, where in sorted(kinds.items()) if not _words(k)]
    assert not missing, "findings without words:\n" + "\n".join(missing)


def _words(kind: str) -> bool:
    return verdict_text.finding(kind) is not None


def test_every_messaging_layer_and_failure_kind_has_an_app_sentence() -> None:
    """messaging_trace.technique names `<layer>_<kind>` for any layer and failure kind."""
    spelled = {kind_of(str(f)): str(f) for f in Failure}
    missing = []
    for layer in (Layer.DNS, Layer.TCP, Layer.TLS, Layer.HTTP):
        for kind in FailureKind:
            name = technique(layer, spelled.get(kind))
            for test, app in APPS.items():
                said = verdict_text.how(name, (), test)
                if _unknown(said) or said is None or said.params.get("app") != app:
                    missing.append(f"{test}: {name}")
    assert not missing, "\n".join(missing)


def test_tampered_says_how() -> None:
    said = verdict_text.summary(
        "tampered", layer="http", technique="middlebox.header_rewrite", rule="hhfm.echo_changed",
        confidence=0.95, test="http_header_field_manipulation",
    )  # fmt: skip
    assert [s.text % s.params for s in said] == [
        "The request's headers reached the echo helper changed",
        "Tampered with: traffic was altered in transit at the HTTP layer, not refused "
        "(rule hhfm.echo_changed, confidence 0.95).",
    ]


# --- the pages ---------------------------------------------------------------------------

TAGS = re.compile(r"<[^>]+>")


def text(html: str) -> str:
    import html as entities

    return re.sub(r"\s+", " ", entities.unescape(TAGS.sub(" ", html)))


def _telegram(edit: Callable[[Keys], None], report: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((OTHER / "telegram_nourl.json").read_text())
    data["report_id"] = report
    edit(data["test_keys"])
    return data


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    root = tmp_path_factory.mktemp("words")
    folder = DataDir(root=root)
    edited = root / "telegram-edited.jsonl"
    lines = [
        _telegram(lambda k: _connects(k, "connection_reset"), "20191203T122313Z_reset"),
        _telegram(lambda k: _half_connects(k, "generic_timeout_error"), "20191203T122313Z_half"),
    ]
    edited.write_text("".join(json.dumps(line) + "\n" for line in lines))
    for name in ("telegram_nourl.json", "mbx-1.json", "vanilla_tor_ok.json"):
        path = OTHER / name
        result = ingest_file(str(path), str(folder.tables))
        assert result.rows > 0 and not result.errors, result
    for path in (edited,):
        result = ingest_file(str(path), str(folder.tables))
        assert result.rows > 0 and not result.errors, result
    tables.compact(folder.tables)
    return TestClient(create_app(root), headers={"Accept": "text/html"})


def _page(site: TestClient, test: str, report: str | None = None) -> str:
    listed = site.get(
        "/api/v1/measurements?limit=100", headers={"Accept": "application/json"}
    ).json()["results"]
    (row,) = [
        r for r in listed if r["test_name"] == test and (report is None or r["report_id"] == report)
    ]
    page = site.get(f"/measurement/{row['measurement_uid']}")
    assert page.status_code == 200
    return text(page.text)


TELEGRAM_REPORT = "20191203T122313Z_AS30722_53QEjcU6gIhMdgN3YCbEi7JQ5RYjdql8PEjy4rd2BtwEnbSpEQ"


def test_a_telegram_measurement_in_words(site: TestClient) -> None:
    # telegram_nourl.json: all 12 data-centre connects succeeded and the DCs answered
    # (telegram_tcp_blocking and telegram_http_blocking false).
    words = _page(site, "telegram", TELEGRAM_REPORT)
    assert "Works: the probe reached the service (rule telegram.dc_http_answered" in words
    assert "TCP: ok" in words and "HTTP: ok" in words
    # Every data-centre connect reset: the app's words, then the rule's conclusion.
    words = _page(site, "telegram", "20191203T122313Z_reset")
    assert (
        "The connection to Telegram's servers was reset "
        "Blocked at the TCP layer: rule telegram.dc_tcp_all_failed" in words
    )
    # Half of them timing out: ok, and the partial failure as a finding in words.
    words = _page(site, "telegram", "20191203T122313Z_half")
    assert (
        "Some of Telegram's data centres could not be connected to; the others could "
        "telegram.partial_dc_connects (TCP): 6 of 12 dc_connects failed" in words
    )


def test_a_tampered_measurement_in_words(site: TestClient) -> None:
    # mbx-1 (ooni/backend fastpath tests, ooni/pipeline#294): every invalid request line got
    # AdGuard's HTTP 400 blocking page back instead of its echo.
    words = _page(site, "http_invalid_request_line")
    assert (
        "What came back was not the echo helper's echo: something on the path handled the "
        "request Tampered with: traffic was altered in transit at the HTTP layer" in words
    )
    assert "A product on the path named itself in what came back middlebox_product (HTTP)" in words


def test_a_tor_bootstrap_in_words_on_the_tunnel_layer(site: TestClient) -> None:
    # vanilla_tor_ok.json: tor's log reaches "Bootstrapped 100%".
    words = _page(site, "vanilla_tor")
    assert (
        "Tor bootstrapped fully (100%) Works: the probe reached the service "
        "(rule vanilla_tor.bootstrapped" in words
    )
    assert "Tunnel: ok" in words
