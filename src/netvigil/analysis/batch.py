"""Analyse a stream of read items: one result or one per-item error each, in input order.

This is the seam between the readers and the pure analysis functions, shared by the CLI
and the benchmark (and later the pipeline): nothing here prints or exits. A measurement
that cannot be analysed becomes a :class:`~netvigil.readers.ReadError` carrying its
source and line (DESIGN.md principle 5: bad input gets a recorded per-item failure).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import msgspec

from netvigil.analysis.classic import classic_verdict
from netvigil.analysis.classic_legacy import classic_verdict_v04
from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.layered import UnsupportedTest, analyze
from netvigil.analysis.observe import observe
from netvigil.analysis.verdicts import Verdict
from netvigil.readers import Item, ReadError, ReadResult
from netvigil.records import MeasurementFormatError, web_connectivity_keys


class ClassicRecord(msgspec.Struct, frozen=True, kw_only=True):
    """OONI's verdict keys as `analyze --classic` prints them."""

    measurement_uid: str | None
    input: str | None
    blocking: str | bool | None
    accessible: bool | None
    dns_consistency: str | None
    body_proportion: float
    body_length_match: bool | None
    headers_match: bool | None
    status_code_match: bool | None
    title_match: bool | None
    dns_experiment_failure: str | None
    http_experiment_failure: str | None
    engine: str  # which of OONI's algorithms produced the keys: "v0.5" or "v0.4"


def _fail(item: Item, message: str) -> ReadError:
    return ReadError(source=item.source, line=item.line, error=message)


def classic_of(item: Item) -> ClassicRecord | ReadError:
    measurement = item.measurement
    if measurement.test_name != "web_connectivity":
        return _fail(item, f"no classic analysis for test_name {measurement.test_name!r}")
    try:
        keys = web_connectivity_keys(measurement)
    except MeasurementFormatError as exc:
        return _fail(item, f"malformed measurement: {exc}")
    if keys is None:
        return _fail(item, "the measurement has no test_keys")
    seen = observe(keys, measurement.url)
    if seen.legacy:
        verdict, engine = classic_verdict_v04(seen), "v0.4"
    else:
        verdict, engine = classic_verdict(seen), "v0.5"
    return ClassicRecord(
        measurement_uid=measurement.measurement_uid,
        input=measurement.url or None,
        engine=engine,
        **msgspec.structs.asdict(verdict),
    )


def layered_of(item: Item, fingerprints: FingerprintDB) -> Verdict | ReadError:
    try:
        return analyze(item.measurement, fingerprints)
    except UnsupportedTest as exc:
        return _fail(item, str(exc))
    except MeasurementFormatError as exc:
        return _fail(item, f"malformed measurement: {exc}")


def analyse_all(
    items: Iterable[ReadResult], fingerprints: FingerprintDB, *, classic: bool = False
) -> Iterator[tuple[ReadResult, Verdict | ClassicRecord | ReadError]]:
    """Each input paired with its result, lazily and in input order."""
    for item in items:
        if isinstance(item, ReadError):
            yield item, item
        elif classic:
            yield item, classic_of(item)
        else:
            yield item, layered_of(item, fingerprints)
