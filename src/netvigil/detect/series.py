"""External series in: the CSV `entity,signal,time,value` (008-detection.md, "External series").

One row is one value of one signal of one entity at one time::

    entity,signal,time,value
    country:IR,active_probing,2026-01-08T16:00:00Z,90.2
    region:MM-02,responses,1617993000,12

- `entity`: `country:CC`, `region:CC-NAME` (an ISO 3166-2 code or any name without a comma)
  or `asn:N` (`model.entity()`); an `asn:` row names no country (`Series.country` None).
- `signal`: a short lower-case name, `[a-z0-9_.-]`, at most 64 characters.
- `time`: ISO 8601 with an offset or `Z`, or Unix seconds, whole, 1970 to 9999-12-30. A
  time without an offset is refused: its zone would be a guess.
- `value`: a number from 0 to 1e15 (counts and levels); an empty value is a gap (NaN).

Each (entity, signal) becomes one `Series`, in the order of first appearance. Its step is the
smallest difference between its times; every time must lie on that grid from the first, and
the bins between are gaps. Rows may come in any order. A row repeated exactly is read once
(overlapping exports repeat their edges); one (entity, signal, time) with two values, a gap
and a number included, is an error naming both lines. Blank lines are skipped; a BOM, CRLF
line ends and quoted fields are read as RFC 4180 has them.

Limits against a hostile file: 2,000,000 rows, lines of 4,096 bytes, 5,000,000 bins per
series, 20,000,000 per file. Every problem is a `SeriesError`, one line `FILE:LINE: reason`.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

from netvigil.detect.model import EntityError, Series, entity

MAX_ROWS = 2_000_000
LAST_TIME = 253_402_214_399  # 9999-12-30T23:59:59Z: a bin and an event's end stay in range
MAX_VALUE = 1e15  # past this the count test's squares overflow; no signal is that large
MAX_LINE = 4096
MAX_BINS = 5_000_000
MAX_FILE_BINS = 20_000_000
HEADER = ("entity", "signal", "time", "value")

_SIGNAL = re.compile(r"^[a-z0-9_.-]{1,64}$")
_UNIX = re.compile(r"^([0-9]{1,12})(?:\.([0-9]+))?$")
# A decimal number as people write it; float() alone would also take "nan", "inf" and "1_0".
_NUMBER = re.compile(r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class SeriesError(ValueError):
    """Input that is not a series as documented; the message is one line."""


def parse_time(text: str, *, naive_is_utc: bool = False) -> int:
    """Unix seconds of an ISO 8601 time with an offset or of Unix seconds.

    `naive_is_utc` is for files that say their zone elsewhere (IODA's "Time (UTC)" column).
    """
    text = text.strip()
    unix = _UNIX.match(text)
    if unix:
        if (unix.group(2) or "0").strip("0"):
            raise SeriesError(f"time {text!r} is not a whole second")
        return _in_range(text, int(unix.group(1)))
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise SeriesError(f"time {text!r} is neither ISO 8601 nor Unix seconds") from None
    if moment.tzinfo is None:
        if not naive_is_utc:
            raise SeriesError(f"time {text!r} has no UTC offset: add Z or +HH:MM")
        moment = moment.replace(tzinfo=dt.UTC)
    if moment.microsecond:
        raise SeriesError(f"time {text!r} is not a whole second")
    return _in_range(text, (moment - _EPOCH) // dt.timedelta(seconds=1))


def _in_range(text: str, seconds: int) -> int:
    if not 0 <= seconds <= LAST_TIME:
        raise SeriesError(f"time {text!r} is outside 1970-01-01 to 9999-12-30")
    return seconds


def parse_value(text: str) -> float:
    """A finite number, or NaN for an empty cell (a gap)."""
    text = text.strip()
    if not text:
        return math.nan
    value = float(text) if _NUMBER.match(text) else math.nan
    if not math.isfinite(value):
        raise SeriesError(f"value {text!r} is not a finite number (leave it empty for a gap)")
    if not 0 <= value <= MAX_VALUE:  # counts and levels: a negative one is no signal we know
        raise SeriesError(f"value {text!r} is outside 0 to 1e15")
    return value


def iso(seconds: int) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat().replace("+00:00", "Z")


def csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line, fields) of each non-blank row of a UTF-8 CSV file, the header first."""
    where = str(path)
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise SeriesError(f"{where}: cannot read: {exc.strerror or exc}") from None
    with handle:
        reader = csv.reader(_lines(handle, where), strict=True)
        try:
            for row in reader:
                if row:
                    yield reader.line_num, row
        except csv.Error as exc:
            raise SeriesError(f"{where}:{reader.line_num}: malformed CSV: {exc}") from None


def _lines(handle: BinaryIO, where: str) -> Iterator[str]:
    """Decoded lines, each checked on its own so that an error names its line."""
    number = 0
    while line := handle.readline(MAX_LINE + 1):
        number += 1
        if len(line) > MAX_LINE:
            raise SeriesError(f"{where}:{number}: a line longer than {MAX_LINE:,} bytes")
        try:
            text = line.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            raise SeriesError(f"{where}:{number}: not UTF-8 text") from None
        yield text


class Points:
    """The rows of one (entity, signal) as read: time, value and line, in file order."""

    def __init__(self) -> None:
        self.times = array("q")
        self.values = array("d")
        self.lines = array("q")

    def add(self, time: int, value: float, line: int) -> None:
        self.times.append(time)
        self.values.append(value)
        self.lines.append(line)


def on_grid(where: str, name: str, signal: str, points: Points, budget: int) -> Series:
    """The series of `points`: duplicates collapsed, the step inferred, gaps NaN.

    `budget` is the number of bins the file may still hold.
    """
    times = np.frombuffer(points.times, dtype=np.int64)
    order = np.argsort(times, kind="stable")
    times = times[order]
    values: npt.NDArray[np.float64] = np.frombuffer(points.values, dtype=np.float64)[order]
    lines = np.frombuffer(points.lines, dtype=np.int64)[order]
    what = f"{name} {signal}"
    repeated = np.flatnonzero(times[1:] == times[:-1])
    for i in repeated:
        a, b = values[i], values[i + 1]
        if not (a == b or (math.isnan(a) and math.isnan(b))):
            raise SeriesError(
                f"{where}:{lines[i + 1]}: {what} at {iso(int(times[i]))}: value {_shown(b)} "
                f"here, {_shown(a)} on line {lines[i]}"
            )
    keep = np.ones(len(times), dtype=bool)
    keep[repeated + 1] = False
    times, values, lines = times[keep], values[keep], lines[keep]
    if len(times) < 2:
        raise SeriesError(f"{where}:{lines[0]}: {what} has one time: its step cannot be inferred")
    step = int(np.diff(times).min())
    off_grid = np.flatnonzero((times - times[0]) % step)
    if off_grid.size:
        bad = int(off_grid[0])
        raise SeriesError(
            f"{where}:{lines[bad]}: {what} at {iso(int(times[bad]))} is off the {step} s grid "
            f"that starts at {iso(int(times[0]))}"
        )
    bins = int((times[-1] - times[0]) // step) + 1
    if bins > min(MAX_BINS, budget):
        limit = "per series" if bins > MAX_BINS else "left in this file"
        raise SeriesError(
            f"{where}:{lines[-1]}: {what} spans {bins:,} bins of {step} s from "
            f"{iso(int(times[0]))} to {iso(int(times[-1]))}, more than the "
            f"{min(MAX_BINS, budget):,} bins {limit}"
        )
    grid = np.full(bins, np.nan)
    grid[(times - times[0]) // step] = values
    return Series(
        entity=name,
        signal=signal,
        step=step,
        times=times[0] + step * np.arange(bins, dtype=np.int64),
        values=grid,
    )


def _shown(value: float) -> str:
    return "empty" if math.isnan(value) else repr(float(value))


def read_series(path: Path) -> list[Series]:
    """The series of a CSV file as documented above; SeriesError on the first problem."""
    where = str(path)
    rows = csv_rows(path)
    first = next(rows, None)
    if first is None:
        raise SeriesError(f"{where}:1: empty file, expected the header {','.join(HEADER)}")
    line, header = first
    if line != 1:
        raise SeriesError(f"{where}:1: blank, expected the header {','.join(HEADER)}")
    if tuple(cell.strip() for cell in header) != HEADER:
        raise SeriesError(
            f"{where}:{line}: header {','.join(header)!r}, expected {','.join(HEADER)!r}"
        )
    entities: dict[str, str] = {}
    found: dict[tuple[str, str], Points] = {}
    for count, (line, row) in enumerate(rows, start=1):
        if count > MAX_ROWS:
            raise SeriesError(f"{where}:{line}: more than {MAX_ROWS:,} rows: split the file")
        if len(row) != len(HEADER):
            raise SeriesError(f"{where}:{line}: {len(row)} fields, expected {len(HEADER)}")
        try:
            if row[0] not in entities:  # checked once per spelling: files repeat them
                entities[row[0]] = entity(row[0])
            name = entities[row[0]]
            signal = row[1].strip()
            if not _SIGNAL.match(signal):
                raise SeriesError(
                    f"signal {row[1]!r}: expected at most 64 of a-z, 0-9, '_', '.', '-'"
                )
            point = (parse_time(row[2]), parse_value(row[3]))
        except (EntityError, SeriesError) as exc:
            raise SeriesError(f"{where}:{line}: {exc}") from None
        found.setdefault((name, signal), Points()).add(*point, line)
    if not found:
        raise SeriesError(f"{where}:{line}: no rows after the header")
    result: list[Series] = []
    budget = MAX_FILE_BINS
    for (name, signal), points in found.items():
        result.append(on_grid(where, name, signal, points, budget))
        budget -= len(result[-1].times)
    return result
