"""`/measurement/{uid}`: one measurement's verdict in plain language, layer by layer, and the
measurement itself.

The layered analysis is run again on the raw measurement (`analysis.layered.analyze`, with
the bundled fingerprints, as the pipeline's rows.py does), so every layer's outcome can be
shown with its rule, its witnesses (which observation, and what the test helper saw of the
same thing) and its counter-evidence, not only the row's summary. The row's stored verdict
is shown beside it when it differs (a row made with older rules). A nettest we do not
analyse, a measurement that cannot be decoded and one without a control say so, in words;
none is ever shown as accessible.

The people who measure are protected: the envelope shows country and network only, and the
raw JSON shown on the page leaves the probe's own address out (raw_view.py: its key, and any
spelling of it elsewhere). `/measurement/{uid}.json` downloads the measurement as
stored, the bytes of `/api/v1/raw_measurement`, as an attachment.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from netvigil.addresses import REAL_WORLD, Bogons
from netvigil.analysis.layered import UnsupportedTest, analyze
from netvigil.analysis.verdicts import Verdict
from netvigil.observatory import ooni_verdicts
from netvigil.observatory.columns import MAX_ERROR
from netvigil.observatory.data import query_rows
from netvigil.records import (
    AnyMeasurement,
    MeasurementFormatError,
    decode_any,
)
from netvigil.web import verdict_text
from netvigil.web.layout import Missing, page, render
from netvigil.web.names import network_names, parse_asn
from netvigil.web.raw_view import shown_json
from netvigil.web.site import Site

# OONI's uids (`20240212203347.000000_IT_web_connectivity_d67d553c4005cdb5`, the older
# `0120170516…`) and ours (observatory/ids.py) are letters, digits, `.`, `_` and `-`.
UID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_ROW = (
    "measurement_uid, report_id, input, probe_cc, probe_asn, probe_network_name, test_name, "
    "strftime(measurement_start_time, '%Y-%m-%d %H:%M:%S') AS measurement_start_time, "
    "outcome, layer, technique, rule, confidence, rules_version, error"
)


class Judgement(msgspec.Struct, frozen=True, kw_only=True):
    """The analysis run again on the raw measurement: a verdict, or why there is none."""

    measurement: AnyMeasurement | None = None
    verdict: Verdict | None = None
    outcome: str  # the verdict's, or "unanalysed" / "error"
    problem: str | None = None


def judge(raw: bytes, bogon: Bogons = REAL_WORLD) -> Judgement:
    try:
        measurement = decode_any(raw)
    except MeasurementFormatError as exc:
        return Judgement(
            outcome="error", problem=(str(exc).splitlines() or ["error"])[0][:MAX_ERROR]
        )
    try:
        verdict = analyze(measurement, verdict_text.fingerprints(), bogon)
    except UnsupportedTest as exc:
        return Judgement(measurement=measurement, outcome="unanalysed", problem=str(exc))
    except MeasurementFormatError as exc:  # the reason the pipeline's error row gives
        problem = (str(exc).splitlines() or ["error"])[0][:MAX_ERROR]
        return Judgement(measurement=measurement, outcome="error", problem=problem)
    return Judgement(measurement=measurement, verdict=verdict, outcome=verdict.outcome.value)


def _layers(judged: Judgement) -> list[dict[str, Any]]:
    verdict, measurement = judged.verdict, judged.measurement
    if verdict is None or measurement is None:
        return []
    found = verdict_text.dns_fingerprints(measurement, verdict)
    return [
        {
            "layer": layer.layer.value.upper(),
            "outcome": layer.outcome.value,
            "measured": not layer.rule.endswith(".no_data"),
            "technique": layer.technique,
            "rule": layer.rule,
            "confidence": f"{layer.confidence:.2f}",
            "confirmed": layer.confirmed,
            "how": verdict_text.how(layer.technique, found, verdict.test_name),
            "witnesses": layer.witnesses,
            "counter_evidence": layer.counter_evidence,
        }
        for layer in verdict.layers
    ]


class Said(msgspec.Struct, frozen=True, kw_only=True):
    """The verdict the page leads with: the analysis run again, else the stored row's."""

    outcome: str
    layer: str | None = None
    technique: str | None = None
    rule: str | None = None
    confidence: float = 0.0
    reason: str | None = None


def said(row: dict[str, Any] | None, judged: Judgement | None) -> Said:
    if judged is None:
        assert row is not None  # the caller has one or the other
        return Said(
            outcome=row["outcome"], layer=row["layer"], technique=row["technique"],
            rule=row["rule"], confidence=float(row["confidence"]), reason=row["error"],
        )  # fmt: skip
    verdict = judged.verdict
    if verdict is None:
        return Said(outcome=judged.outcome, reason=judged.problem)
    return Said(
        outcome=judged.outcome, layer=verdict.layer.value if verdict.layer else None,
        technique=verdict.technique, rule=verdict.rule, confidence=verdict.confidence,
        reason=verdict.reason,
    )  # fmt: skip


def envelope(
    site: Site, row: dict[str, Any] | None, measurement: AnyMeasurement | None
) -> dict[str, Any]:
    """Where and when, by country and network only (never the probe's address)."""
    m = measurement
    cc = str(row["probe_cc"]) if row else (m.probe_cc or "ZZ").upper() if m else "ZZ"
    asn = int(row["probe_asn"]) if row else parse_asn(m.probe_asn or "") if m else None
    name = network_names(site, [asn]).get(asn) if asn else None
    software = " ".join(p for p in (m.software_name, m.software_version) if p) if m else None
    return {
        "cc": cc,
        "asn": asn,
        "network_name": name or (row["probe_network_name"] if row else None),
        "test": (row["test_name"] if row else None) or (m.test_name if m else ""),
        "input": (row["input"] if row else None) or (m.url if m else None),
        "time": (row["measurement_start_time"] if row else None)
        or (m.measurement_start_time if m else None),
        "software": software,
        "report_id": (row["report_id"] if row else None) or (m.report_id if m else None),
    }


def context(site: Site, uid: str) -> dict[str, Any]:
    """What the page shows of `uid`; Missing when the instance holds nothing of it."""
    rows = query_rows(site.tables, f"SELECT {_ROW} FROM analysis WHERE measurement_uid = ?", [uid])
    row = rows[0] if rows else None
    raw = site.data.raw_measurement(uid)
    ooni_rows = ooni_verdicts.measurement(site.folder.ooni_verdicts, uid)
    if row is None and raw is None:
        if not ooni_rows:
            raise Missing(f"This instance holds no measurement {uid}.")
        return only_ooni(site, uid, ooni_rows[0])
    judged = judge(raw, site.bogon) if raw is not None else None
    measurement = judged.measurement if judged is not None else None
    verdict = judged.verdict if judged is not None else None
    where = envelope(site, row, measurement)
    lead = said(row, judged)
    found = verdict_text.dns_fingerprints(measurement, verdict) if measurement and verdict else ()
    sentences = verdict_text.summary(
        lead.outcome, layer=lead.layer, technique=lead.technique, rule=lead.rule,
        confidence=lead.confidence, reason=lead.reason, test=where["test"], fingerprints=found,
    )  # fmt: skip
    differs = row is not None and (row["outcome"], row["rule"]) != (lead.outcome, lead.rule)
    text, cut = shown_json(raw) if raw is not None else ("", False)
    return {
        "uid": uid,
        "outcome": lead.outcome,
        "sentences": sentences,
        "layers": _layers(judged) if judged is not None else [],
        "findings": verdict_text.findings(verdict.findings if verdict else ()),
        "stored": row if differs and judged is not None else None,
        "envelope": where,
        "rules_version": verdict.rules_version if verdict else None,
        "raw": raw is not None,
        "raw_text": text,
        "raw_cut": cut,
        "raw_size": len(raw) if raw is not None else 0,
        "ooni": [ooni_said(r) for r in ooni_rows],
    }


def ooni_said(row: ooni_verdicts.Verdict) -> dict[str, Any]:
    """OONI's verdict for the page, labelled with its source."""
    found = row.scores.get("fingerprints")
    names = (
        [str(f["name"]) for f in found if isinstance(f, dict) and "name" in f]
        if isinstance(found, list)
        else []
    )
    return {"source": row.source, "sentence": verdict_text.ooni(row), "fingerprints": names}


def only_ooni(site: Site, uid: str, row: ooni_verdicts.Verdict) -> dict[str, Any]:
    """A measurement known only by OONI's verdict of it: that verdict, labelled, and no
    verdict of ours (we have not seen the measurement)."""
    name = network_names(site, [row.probe_asn]).get(row.probe_asn)
    where = {
        "cc": row.probe_cc, "asn": row.probe_asn, "network_name": name, "test": row.test_name,
        "input": row.input or None, "report_id": row.report_id or None,
        "time": row.measurement_start_time.strftime("%Y-%m-%d %H:%M:%S"),
        "software": " ".join(p for p in (row.software_name, row.software_version) if p),
    }  # fmt: skip
    return {
        "uid": uid, "outcome": "ooni_only", "sentences": [], "layers": [], "findings": (),
        "stored": None, "envelope": where, "rules_version": None, "raw": False,
        "raw_text": "", "raw_cut": False, "raw_size": 0, "ooni": [ooni_said(row)],
    }  # fmt: skip


def _uid(request: Request) -> str:
    uid = str(request.path_params["uid"])
    if not UID.fullmatch(uid):
        raise Missing("That is not a measurement id: ids are letters, digits, '.', '_' and '-'.")
    return uid


def show(request: Request, site: Site) -> Response:
    return render(request, "measurement.html", **context(site, _uid(request)))


def download(request: Request, site: Site) -> Response:
    uid = _uid(request)
    raw = site.data.raw_measurement(uid)
    if raw is None:
        raise Missing(f"This instance holds no raw measurement {uid}.")
    disposition = f'attachment; filename="{uid}.json"'
    return Response(
        raw, media_type="application/json", headers={"Content-Disposition": disposition}
    )


def routes(site: Site) -> list[Route]:
    return [
        Route(
            "/measurement/{uid}.json",
            page(site, download),
            methods=["GET"],
            include_in_schema=False,
        ),
        Route("/measurement/{uid}", page(site, show), methods=["GET"], include_in_schema=False),
    ]
