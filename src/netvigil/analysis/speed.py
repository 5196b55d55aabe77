"""Verdicts of the speed nettests, `ndt` (ndt7, ts-022) and `dash` (ts-021).

OONI does not score them: the fastpath gives ndt no anomaly and dash's failures only lower
its accuracy (ooni.md §4; ooni/backend fastpath/core.py). Ours says what one measurement
shows and no more:

- **ok** when the test completed and moved data: an ndt7 summary with a positive download
  speed (access shown at TCP: a flow carried bytes end to end, layer tcp), or a dash run with
  a positive median bitrate (layer http: segments were fetched). The summary is the witness,
  and the throughput is kept as a finding.
- **insufficient** when the test failed (its failure string is the reason), wrote no summary,
  or moved nothing: a speed test that failed once says nothing about censorship.
- never **blocked** nor "throttled": a slow network is not a censored one unless it fell
  against its own past or its neighbours, a comparison over time or across networks that only
  the throughput detector makes (detect/throughput.py; ts-022 "Possible conclusions").

ndt5 measurements (ts-022: a `test_s2c` key, no `protocol` 7) have no ndt7 summary: they are
insufficient with that reason.
"""

from __future__ import annotations

from typing import Any, Final

from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.nettest_verdict import verdict_of
from netvigil.analysis.verdicts import Finding, Layer, Outcome, RuleBook, Verdict, Witness
from netvigil.records import AnyMeasurement
from netvigil.records.envelope import decode_keys
from netvigil.records.speed import DashKeys, NdtKeys, ndt_download

TECHNIQUES: Final[frozenset[str]] = frozenset()  # no verdict says how: none says "throttled"
RULES = RuleBook(
    {
        "ndt.completed": (0.0, 0.0, 0.9),  # a summary with a positive download speed
        "ndt.failed": (0.0, 0.0, 0.0),  # `failure` set: no evidence either way
        "ndt.no_summary": (0.0, 0.0, 0.0),  # ndt5, or a run that wrote no summary
        "ndt.no_download": (0.0, 0.0, 0.0),  # completed, but nothing was downloaded
        "dash.completed": (0.0, 0.0, 0.9),  # segments fetched at a positive median bitrate
        "dash.failed": (0.0, 0.0, 0.0),
        "dash.no_bitrate": (0.0, 0.0, 0.0),
    },
    techniques=TECHNIQUES,
)
NOT_SCORED = "OONI does not score speed tests (ooni.md §4)"


def _count(samples: list[Any] | None) -> int:
    return len(samples or ())


def analyse_ndt(measurement: AnyMeasurement, fingerprints: FingerprintDB) -> Verdict:
    keys = decode_keys(measurement, NdtKeys)
    if keys is None:
        return _insufficient(measurement, Layer.TCP, "ndt.no_summary", "no test keys")
    if keys.failure is not None:
        witness = Witness(ref="test_keys.failure", observed=keys.failure)
        reason = f"the speed test failed ({keys.failure}); {NOT_SCORED}"
        return _insufficient(measurement, Layer.TCP, "ndt.failed", reason, witness)
    if keys.summary is None or keys.protocol != 7:
        reason = f"no ndt7 summary (protocol {keys.protocol}): nothing measured to judge"
        return _insufficient(measurement, Layer.TCP, "ndt.no_summary", reason)
    summary = keys.summary
    shown = (
        f"download {summary.download:.1f} kbit/s, upload {summary.upload:.1f} kbit/s, "
        f"min_rtt {summary.min_rtt:.3f} ms, avg_rtt {summary.avg_rtt:.3f} ms, "
        f"{_count(keys.download)} download and {_count(keys.upload)} upload samples"
    )
    witness = Witness(ref="test_keys.summary", observed=shown)
    if not summary.download > 0:
        reason = "the speed test downloaded nothing: no evidence of a working path"
        return _insufficient(measurement, Layer.TCP, "ndt.no_download", reason, witness)
    layer = RULES.verdict(Layer.TCP, "ndt.completed", witnesses=(witness,))
    finding = Finding(kind="throughput", layer=Layer.TCP, detail=shown, witnesses=(witness,))
    return verdict_of(measurement, [layer], [finding], access=Layer.TCP)


def analyse_dash(measurement: AnyMeasurement, fingerprints: FingerprintDB) -> Verdict:
    keys = decode_keys(measurement, DashKeys)
    if keys is None:
        return _insufficient(measurement, Layer.HTTP, "dash.no_bitrate", "no test keys")
    if keys.failure is not None:
        witness = Witness(ref="test_keys.failure", observed=keys.failure)
        reason = f"the streaming test failed ({keys.failure}); {NOT_SCORED}"
        return _insufficient(measurement, Layer.HTTP, "dash.failed", reason, witness)
    simple = keys.simple
    segments = _count(keys.receiver_data)
    if simple is None or not simple.median_bitrate > 0 or segments == 0:
        reason = "no segment was streamed (no median bitrate): nothing measured to judge"
        return _insufficient(measurement, Layer.HTTP, "dash.no_bitrate", reason)
    shown = (
        f"median_bitrate {simple.median_bitrate:g} kbit/s, connect_latency "
        f"{simple.connect_latency:g} s, min_playout_delay {simple.min_playout_delay:g} s, "
        f"{segments} segments"
    )
    witness = Witness(ref="test_keys.simple", observed=shown)
    layer = RULES.verdict(Layer.HTTP, "dash.completed", witnesses=(witness,))
    finding = Finding(kind="throughput", layer=Layer.HTTP, detail=shown, witnesses=(witness,))
    return verdict_of(measurement, [layer], [finding], access=Layer.HTTP)


def _insufficient(
    measurement: AnyMeasurement,
    layer: Layer,
    rule: str,
    reason: str,
    *witnesses: Witness,
) -> Verdict:
    judged = RULES.verdict(layer, rule, witnesses=witnesses)
    return verdict_of(measurement, [judged], access=layer, reason=reason)


def throughput_of(measurement: AnyMeasurement, verdict: Verdict) -> float | None:
    """The download speed (kbit/s) an ok ndt measurement shows, for the analysis table's
    `throughput` column (the throughput detector's input); None for anything else."""
    if measurement.test_name != "ndt" or verdict.outcome is not Outcome.OK:
        return None
    return ndt_download(decode_keys(measurement, NdtKeys))


ANALYSERS = {"ndt": analyse_ndt, "dash": analyse_dash}
