"""Read OONI measurement files: `.json`, `.jsonl` and `.jsonl.gz`, streaming.

A `.json` file holds one measurement (OONI's API and the fastpath fixtures); `.jsonl`
and `.jsonl.gz` hold one per line (ooni/spec df-000: "a report is JSONL"). Some tools
write JSONL under a `.json` name (probe-cli's `oonireport` test data), so a `.json`
file whose first non-blank byte is `{` and that holds several lines is read as JSONL.

Memory stays constant for JSONL: lines are read one by one, and each item is yielded
before the next is read. Every problem becomes a :class:`ReadError` item carrying the
file and line; the iterator never raises for bad input, so one bad line or one
truncated archive cannot stop a batch (DESIGN.md principle 5).
"""

from __future__ import annotations

import contextlib
import gzip
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import BinaryIO

import msgspec

from netvigil.bridges import scrub_private_bridges
from netvigil.records import AnyMeasurement, MeasurementFormatError, decode_any


class ReadError(msgspec.Struct, frozen=True, kw_only=True):
    """One item that could not be read: where, and why, in one line."""

    source: str
    line: int | None
    error: str

    def describe(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        return f"{where}: {self.error}"


class Item(msgspec.Struct, frozen=True, kw_only=True):
    """One measurement read from a file, with its raw bytes (for byte counts and re-use)."""

    source: str
    line: int | None
    measurement: AnyMeasurement
    raw: bytes  # the JSON as read (kept for archiving; one item is alive at a time)

    @property
    def size(self) -> int:
        return len(self.raw)


ReadResult = Item | ReadError

# A JSON object without `test_name` is not a measurement (e.g. an API response, an
# analysis file, or a time series such as detector_query_ww_BR_2018.json).
_NOT_A_MEASUREMENT = "not an OONI measurement (no test_name)"


def parse_line(data: bytes, source: str, line: int | None) -> ReadResult:
    """Decode one measurement's JSON bytes into an :class:`Item` or a :class:`ReadError`."""
    data = scrub_private_bridges(data)  # ts-023: a private bridge's address is never kept
    try:
        measurement = decode_any(data)
    except MeasurementFormatError as exc:
        return ReadError(source=source, line=line, error=f"malformed measurement: {exc}")
    if not measurement.test_name:
        return ReadError(source=source, line=line, error=_NOT_A_MEASUREMENT)
    return Item(source=source, line=line, measurement=measurement, raw=data)


def read_path(path: Path, read: Callable[[int], None] | None = None) -> Iterator[ReadResult]:
    """Yield every measurement (or error) in one file, in file order.

    `read`, if given, is told after each line how many bytes of the file have been read
    (compressed bytes for .gz), so a progress bar can count bytes of one large file.
    """
    source = str(path)
    name = path.name.lower()
    try:
        if name.endswith(".gz"):
            with path.open("rb") as raw:
                yield from _read_lines(source, lambda: gzip.GzipFile(fileobj=raw), raw, read)
        elif name.endswith(".jsonl"):
            with path.open("rb") as raw:
                yield from _read_lines(source, lambda: contextlib.nullcontext(raw), raw, read)
        else:
            yield from _read_json(source, path)
    except FileNotFoundError:
        yield ReadError(source=source, line=None, error="no such file")
    except IsADirectoryError:
        yield ReadError(source=source, line=None, error="is a directory")
    except PermissionError:
        yield ReadError(source=source, line=None, error="permission denied")
    except OSError as exc:
        yield ReadError(source=source, line=None, error=f"cannot read: {exc.strerror or exc}")


def list_files(paths: Iterable[Path]) -> list[Path]:
    """The files to read, in order: a folder contributes its measurement files, sorted.

    Paths that do not exist are kept, so that reading them yields a per-file error.
    """
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                child
                for child in sorted(path.rglob("*"))
                if child.is_file() and _is_measurement_file(child)
            )
        else:
            found.append(path)
    return found


def read_paths(paths: Iterable[Path]) -> Iterator[ReadResult]:
    """Yield the items of several files or folders, in order."""
    for path in list_files(paths):
        yield from read_path(path)


def _is_measurement_file(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith((".json", ".jsonl", ".jsonl.gz", ".json.gz"))


def _read_lines(
    source: str,
    opener: Callable[[], AbstractContextManager[Iterable[bytes]]],
    handle: BinaryIO,
    read: Callable[[int], None] | None,
) -> Iterator[ReadResult]:
    number = 0
    try:
        with opener() as lines:
            for raw in lines:
                number += 1
                data = raw.strip()
                if data:
                    yield parse_line(data, source, number)
                if read is not None:
                    read(handle.tell())
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        # A truncated or corrupt archive: what came before stays valid.
        yield ReadError(source=source, line=number + 1, error=f"corrupt or truncated gzip: {exc}")


def _read_json(source: str, path: Path) -> Iterator[ReadResult]:
    data = path.read_bytes()
    stripped = data.strip()
    if not stripped:
        yield ReadError(source=source, line=None, error="empty file")
        return
    single = parse_line(stripped, source, None)
    first = stripped.split(b"\n", 1)[0].strip()
    if isinstance(single, Item) or b"\n" not in stripped or not first.endswith(b"}"):
        yield single  # one document (a pretty-printed one too): one item or one error
        return
    # A JSONL report stored under a .json name.
    for number, raw in enumerate(stripped.split(b"\n"), start=1):
        if raw.strip():
            yield parse_line(raw.strip(), source, number)
