"""Signal (ts-029): do Signal's servers answer HTTPS, verified against Signal's own CA?

OONI's probe GETs each backend (cdsi, chat, sfu.voip, storage `.signal.org` today; older
versions also api.directory, cdn, cdn2, textsecure-service) with the certificate checked
against Signal's pinned CA plus Mozilla's roots, and says `signal_backend_status: blocked`
when any of them fails; the DNS lookup of uptime.signal.org is recorded and ignored
(probe-cli internal/experiment/signal/signal.go). We trace every backend through its
lookups, connects, handshakes and GET (messaging_trace) and judge each layer: any backend
failing there blocks it (OONI's rule), a replaced certificate is tampering, and the verdict
is ok only when the backends answered over HTTP.

Inaccurate versions are insufficient, as OONI's fastpath scores them `accuracy 0`
(ooni/backend fastpath/fastpath/core.py `score_signal`): test_version 0.2.4 (ooni/probe#2636);
≤ 0.2.3 from 2023-11-07 (ooni/probe#2627: Signal's new certificates); < 0.2.2 from 2022-10-19;
an OONI engine older than 3.17.2 from 2023-05-02 (ooni/backend#679: a retired backend).
"""

from __future__ import annotations

import datetime as dt

from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.messaging_rules import every_target, summary_witness, tampering, target_rules
from netvigil.analysis.messaging_trace import TECHNIQUES, trace
from netvigil.analysis.nettest_verdict import verdict_of
from netvigil.analysis.verdicts import Layer, LayerVerdict, RuleBook, Verdict, Witness
from netvigil.records import AnyMeasurement
from netvigil.records.envelope import decode_keys
from netvigil.records.messaging import SignalKeys

APP = "signal"
RULES = RuleBook(
    {
        **target_rules(APP),
        "signal.inaccurate_probe": (0.0, 0.0, 0.0),
        "signal.summary_blocked": (0.6, 0.4, 0.0),
        "signal.summary_ok": (0.0, 0.0, 0.6),
    },
    tampering=tampering(APP),
    techniques=TECHNIQUES,
)


def _version(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split("."):
        digits = "".join(c for c in piece if c.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def inaccurate(measurement: AnyMeasurement, *, any_engine: bool = False) -> str | None:
    """Why OONI marks this measurement inaccurate (words), or None.

    OONI's fastpath reads `engine_version` whatever the engine (a missing one is 0.0.0), so
    it would mark any other probe's signal measurement inaccurate after 2023-05-02; we apply
    that rule to OONI's engine only, unless `any_engine` (to reproduce the fastpath)."""
    version = _version(measurement.test_version or "0.0.0")
    try:
        start = dt.datetime.strptime(measurement.measurement_start_time or "", "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return "no valid measurement_start_time: OONI cannot date the probe's known bugs"
    shown = f"signal {measurement.test_version} of {start:%Y-%m-%d}"
    if version == (0, 2, 4):
        return f"{shown}: OONI marks test_version 0.2.4 inaccurate (ooni/probe#2636)"
    if version <= (0, 2, 3) and start >= dt.datetime(2023, 11, 7):
        return (
            f"{shown}: versions up to 0.2.3 lack Signal's new CA from 2023-11-07 (ooni/probe#2627)"
        )
    if version < (0, 2, 2) and start >= dt.datetime(2022, 10, 19):
        return f"{shown}: versions before 0.2.2 are inaccurate from 2022-10-19 (OONI fastpath)"
    annotations = measurement.annotations or {}
    engine = annotations.get("engine_version") or ("0.0.0" if any_engine else None)
    if (
        (any_engine or annotations.get("engine_name") == "ooniprobe-engine")
        and isinstance(engine, str)
        and _version(engine) < (3, 17, 2)
        and start >= dt.datetime(2023, 5, 2)
    ):
        return f"{shown}: OONI engine {engine} < 3.17.2 tests a retired backend (ooni/backend#679)"
    return None


def _from_summary(keys: SignalKeys) -> list[LayerVerdict]:
    status = keys.signal_backend_status
    if status not in ("ok", "blocked"):
        return []
    rule = "signal.summary_blocked" if status == "blocked" else "signal.summary_ok"
    witnesses = [summary_witness("signal_backend_status", status)]
    if keys.signal_backend_failure:
        witnesses.append(summary_witness("signal_backend_failure", keys.signal_backend_failure))
    return [RULES.verdict(Layer.HTTP, rule, witnesses=tuple(witnesses))]


def analyse(measurement: AnyMeasurement, fingerprints: FingerprintDB) -> Verdict:
    keys = decode_keys(measurement, SignalKeys)
    if keys is None:
        return verdict_of(measurement, (), access=Layer.HTTP, reason="the probe wrote no test keys")
    why = inaccurate(measurement)
    if why is not None:
        witness = Witness(ref="test_version", observed=measurement.test_version or "")
        layer = RULES.verdict(Layer.HTTP, "signal.inaccurate_probe", witnesses=(witness,))
        return verdict_of(measurement, (layer,), access=Layer.HTTP, reason=why)
    requests = keys.requests or []
    targets = [trace(keys, r.request.url, i) for i, r in enumerate(requests) if r.request.url]
    layers = every_target(APP, targets, RULES) if targets else _from_summary(keys)
    return verdict_of(
        measurement,
        layers,
        access=Layer.HTTP,
        reason="no backend request and no summary key recorded",
    )


ANALYSERS = {APP: analyse}
