"""IODA's signals in: the API v2 `/signals/raw` JSON and the dashboard's CSV export.

Facts of the shapes, read in InetIntel/ioda-api (src/Controller/SignalsController.php,
src/TimeSeries/TimeSeries.php and its normalizers; reference/shutdowns.md §1.6), nothing of
its code reused (its licence forbids it):

- `/signals/raw/{entityType}/{entityCode}` answers an envelope `{type, metadata,
  requestParameters, error, perf, data, copyright}`; `data` holds one list per entity, each of
  series `{entityType, entityCode, entityName, datasource, subtype, from, until, step,
  nativeStep, values}`. `values[i]` is the bin starting at `from + i * step` (Unix seconds),
  null where IODA has nothing; we read null as a gap (NaN).
- A series names its entity by type and code only. Region codes are IODA's numeric ids
  (`geo.netacuity.NA.US.4437`) and the series does not say their country, so a region needs
  the caller's entity: `region:CC-<code>` itself, or the `country:CC` the regions lie in.
  Continents, counties and geoasns are no entity we detect on and are refused.
- The dashboard's "export CSV" has a `Time (UTC)` column of naive UTC times and one column
  per signal, labelled `Name (unit)`, at one step for all; empty cells are gaps. It does not
  name its entity: the caller does.

Datasources become our signal names: `bgp` → bgp, `ping-slash24` → active_probing,
`merit-nt` and `ucsd-nt` → telescope (merit-nt wins when both come: UCSD-NT is retired,
reference/shutdowns.md §1.1), `gtr` → google, `mozilla` → mozilla, others keep their name. A
non-empty subtype is appended after a dot (`google.web_search`). Errors are the series'
`SeriesError`, one line, `FILE: reason` (`FILE:LINE: reason` for the CSV).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import msgspec
import numpy as np

from netvigil.detect.model import EntityError, Series, country_of, entity
from netvigil.detect.series import (
    LAST_TIME,
    MAX_BINS,
    MAX_FILE_BINS,
    MAX_ROWS,
    Points,
    SeriesError,
    csv_rows,
    on_grid,
    parse_time,
    parse_value,
)

# 100 days (the API's limit) of 60 s bins is 144,000 values, about 3 MB, per series.
MAX_JSON_BYTES = 64 * 2**20
TIME_COLUMN = "Time (UTC)"
SIGNALS = {
    "bgp": "bgp",
    "ping-slash24": "active_probing",
    "merit-nt": "telescope",
    "ucsd-nt": "telescope",
    "gtr": "google",
    "mozilla": "mozilla",
}
# Dashboard column labels before their "(unit)", lower-cased.
LABELS = {"active probing": "active_probing", "google": "google", "bgp": "bgp"}
_NAME = re.compile(r"^[a-z0-9_.-]{1,64}$")


class _Raw(msgspec.Struct, rename="camel", frozen=True):
    entity_type: str
    entity_code: str
    datasource: str
    start: int = msgspec.field(name="from")
    step: int
    values: list[float | None]
    subtype: str | None = None


class _Envelope(msgspec.Struct, frozen=True):
    data: list[list[_Raw]] | None = None
    error: str | None = None


def read_ioda(path: Path, entity_name: str | None = None) -> list[Series]:
    """A `/signals/raw` JSON response or a dashboard CSV export, told apart by content."""
    where = str(path)
    given = _checked(where, entity_name)
    try:
        with path.open("rb") as handle:
            head = handle.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    except OSError as exc:
        raise SeriesError(f"{where}: cannot read: {exc.strerror or exc}") from None
    if head.startswith(b"{"):
        return raw_signals(path, given)
    if head.lstrip(b'"').startswith(TIME_COLUMN.encode()):
        if given is None:
            raise SeriesError(f"{where}: an IODA dashboard export does not name its entity")
        return dashboard_csv(path, given)
    raise SeriesError(f"{where}: neither an IODA /signals/raw response nor a dashboard export")


def raw_signals(path: Path, entity_name: str | None = None) -> list[Series]:
    """The series of a `/signals/raw` response. `entity_name`, when given, is what the file
    must be about: that entity, or regions of that country."""
    where = str(path)
    entity_name = _checked(where, entity_name)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_JSON_BYTES + 1)
    except OSError as exc:
        raise SeriesError(f"{where}: cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_JSON_BYTES:
        raise SeriesError(f"{where}: larger than {MAX_JSON_BYTES:,} bytes")
    try:
        envelope = msgspec.json.decode(data, type=_Envelope)
    except msgspec.DecodeError as exc:
        raise SeriesError(f"{where}: not an IODA /signals/raw response: {exc}") from None
    if envelope.error:
        said = " ".join(envelope.error.split())  # IODA's words, on one line
        raise SeriesError(f"{where}: IODA answered with an error: {said}")
    raws = [raw for per_entity in envelope.data or [] for raw in per_entity]
    names = {(raw.entity_type, raw.entity_code, raw.datasource) for raw in raws}
    found: dict[tuple[str, str], Series] = {}
    budget = MAX_FILE_BINS
    for raw in raws:
        if raw.datasource == "ucsd-nt" and (raw.entity_type, raw.entity_code, "merit-nt") in names:
            continue
        try:
            series = _series(raw, entity_name, min(MAX_BINS, budget))
        except (EntityError, SeriesError) as exc:
            source = raw.datasource if _NAME.match(raw.datasource) else repr(raw.datasource)
            raise SeriesError(f"{where}: {source} of {raw.entity_code!r}: {exc}") from None
        key = (series.entity, series.signal)
        if key in found:
            raise SeriesError(f"{where}: {series.entity} {series.signal} comes twice")
        found[key] = series
        budget -= len(series.values)
    if not found:
        raise SeriesError(f"{where}: no series in the response")
    return list(found.values())


def _series(raw: _Raw, entity_name: str | None, max_bins: int) -> Series:
    name = _entity(raw.entity_type, raw.entity_code, entity_name)
    signal = SIGNALS.get(raw.datasource, raw.datasource)
    if raw.subtype:
        signal = f"{signal}.{re.sub(r'[^a-z0-9_.-]', '_', raw.subtype.lower())}"
    if not _NAME.match(signal):
        raise SeriesError(f"datasource {raw.datasource!r} is no signal name we can use")
    if raw.step <= 0:
        raise SeriesError(f"step {raw.step} is not positive")
    if not raw.values or len(raw.values) > max_bins:
        raise SeriesError(f"{len(raw.values):,} values: expected 1 to {max_bins:,}")
    if not 0 <= raw.start <= raw.start + raw.step * len(raw.values) <= LAST_TIME:
        raise SeriesError(f"from {raw.start} and step {raw.step} leave the years 1970 to 9999")
    values = np.array([math.nan if v is None else v for v in raw.values], dtype=np.float64)
    times = raw.start + raw.step * np.arange(len(values), dtype=np.int64)
    return Series(entity=name, signal=signal, step=raw.step, times=times, values=values)


def _entity(kind: str, code: str, given: str | None) -> str:
    """Our entity for IODA's (type, code), checked against the one the caller gave."""
    if kind == "region":
        country = country_of(given) if given else None
        if country is None:
            raise SeriesError(
                f"IODA region {code!r} does not say its country: give region:CC-{code} "
                "or country:CC"
            )
        name = entity(f"region:{country}-{code}")
    elif kind in ("country", "asn"):
        name = entity(f"{kind}:{code}")
    else:
        raise SeriesError(f"entity type {kind!r}: expected country, region or asn")
    if given and name != given and not (given.startswith("country:") and kind == "region"):
        raise SeriesError(f"the response is about {name}, not {given}")
    return name


def dashboard_csv(path: Path, entity_name: str) -> list[Series]:
    """The series of a dashboard export of `entity_name`, one per signal column."""
    where = str(path)
    try:
        name = entity(entity_name)
    except EntityError as exc:
        raise SeriesError(f"{where}: {exc}") from None
    rows = csv_rows(path)
    line, header = next(rows, (1, []))
    if line != 1 or not header or header[0].strip() != TIME_COLUMN or len(header) < 2:
        raise SeriesError(f"{where}:{line}: expected the header {TIME_COLUMN!r},SIGNAL...")
    signals = [_signal_of(where, label) for label in header[1:]]
    if len(set(signals)) < len(signals):
        raise SeriesError(f"{where}:1: two columns are the same signal: {', '.join(signals)}")
    columns = [Points() for _ in signals]
    for count, (line, row) in enumerate(rows, start=1):
        if count > MAX_ROWS:
            raise SeriesError(f"{where}:{line}: more than {MAX_ROWS:,} rows: split the file")
        if len(row) != len(header):
            raise SeriesError(f"{where}:{line}: {len(row)} fields, expected {len(header)}")
        try:
            time = parse_time(row[0], naive_is_utc=True)
            for points, cell in zip(columns, row[1:], strict=True):
                points.add(time, parse_value(cell), line)
        except SeriesError as exc:
            raise SeriesError(f"{where}:{line}: {exc}") from None
    budget = MAX_FILE_BINS
    result = []
    for signal, points in zip(signals, columns, strict=True):
        if not points.times:
            raise SeriesError(f"{where}:{line}: no rows after the header")
        result.append(on_grid(where, name, signal, points, budget))
        budget -= len(result[-1].times)
    return result


def _signal_of(where: str, label: str) -> str:
    """`Active Probing (#/24s Up)` → active_probing; an unknown label → its words joined."""
    words = label.split("(", 1)[0].strip().lower()
    signal = LABELS.get(words, re.sub(r"\s+", "_", words))
    if not _NAME.match(signal):
        raise SeriesError(f"{where}:1: column {label!r} is no signal name we can use")
    return signal


def _checked(where: str, name: str | None) -> str | None:
    try:
        return None if name is None else entity(name)
    except EntityError as exc:
        raise SeriesError(f"{where}: {exc}") from None
