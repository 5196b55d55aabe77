"""Every technique and finding the nettest analysers produce has words on the explorer.

The measurements are tests/analysis/nettest_samples.py's: OONI's own
(shared/corpus/ooni-measurements/ooni-backend-fastpath-other/), the spec examples the analyser
tests build, and variants of each failing in each way the failure vocabulary spells. A
technique without words would reach the page as UNKNOWN's "The probe saw <technique>"; the
failure message lists every one. The pages are the real app's (server.create_app) over a
data folder holding one messaging measurement (telegram_nourl.json, and two edits of it) and
one tampered one (mbx-1.json).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from jinja2 import Environment, PackageLoader
from starlette.testclient import TestClient

from netvigil.analysis.messaging_trace import technique
from netvigil.analysis.nettests import ANALYSERS, TECHNIQUES
from netvigil.analysis.verdicts import Layer, Outcome, Verdict
from netvigil.datadir import DataDir
from netvigil.failures import Failure, FailureKind, kind_of
from netvigil.observatory import tables
from netvigil.observatory.ingest import ingest_file
from netvigil.server import create_app
from netvigil.web import verdict_text
from netvigil.web.nettest_words import APPS
from tests.analysis.nettest_samples import OTHER, Keys, connects, half_connects, verdicts
from tests.analysis.test_tls_interception import SITE, certificate, measured


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


def test_every_declared_technique_has_a_sentence() -> None:
    """Each family's ids (analysis/nettests.py), produced by the samples or not."""
    missing = [t for t in TECHNIQUES if _unknown(verdict_text.how(t))]
    assert not missing, missing


def test_every_technique_a_place_page_lists_has_its_words(
    judged: list[tuple[str, Verdict]],
) -> None:
    """The place pages list blocked verdicts' techniques (place_queries.py) through the
    `technique` macro; one without words there would show as its bare id."""
    env = Environment(loader=PackageLoader("netvigil.web", "templates"), autoescape=True)
    env.add_extension("jinja2.ext.i18n")
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    macro = env.from_string('{% import "place_macros.html" as m %}{{ m.technique(name) }}')
    blocked = {v.technique for _, v in judged if v.outcome is Outcome.BLOCKED and v.technique}
    assert "tor.bootstrap_stalled" in blocked and "snowflake.bootstrap_failed" in blocked
    assert any(t.startswith("tor.") and t.endswith("_unreachable") for t in blocked), blocked
    bare = sorted(t for t in blocked if text(macro.render(name=t)).strip() == t)
    assert not bare, bare


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
        _telegram(lambda k: connects(k, "connection_reset"), "20191203T122313Z_reset"),
        _telegram(lambda k: half_connects(k, "generic_timeout_error"), "20191203T122313Z_half"),
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
