"""The raw measurement behind a row: from the archive, or from the file it was imported from.

Imports are not copied: the files are OONI's own (or the user's) and stay where they are,
as OONI's API serves `raw_measurement` from its S3 cans by file and offset. A row records
the file and line (rows.Row.source, source_line); reading it back checks that the line
still holds the same measurement (same uid), because files can be edited or replaced.

An imported measurement may still carry its volunteer's public address: OONI's probes sent
it in `probe_ip` until they sent 127.0.0.1 in its place, and files of those years are public.
The collector scrubs what probes submit (collector.py); what is read back from an imported
file is scrubbed here, every spelling of that address (netvigil.scrub) and `probe_ip` set to
OONI's placeholder, so no page, download or incident's evidence hash ever holds it
(reliability.md §1.2).
"""

from __future__ import annotations

import gzip
import itertools
import zlib
from collections.abc import Callable
from pathlib import Path

import msgspec

from netvigil.observatory.archive import Archive, read_since
from netvigil.observatory.columns import ARCHIVE
from netvigil.observatory.ingest import uid_of
from netvigil.readers import Item, parse_line, read_path
from netvigil.scrub import Scrubber, public_address

Archived = Callable[[str], bytes | None]  # uid -> the archived measurement, if there


def from_archive(archive: Archive) -> Archived:
    """Lookups in a running server's archive (its in-memory index)."""

    def lookup(uid: str) -> bytes | None:
        stored = archive.read(uid)
        return bytes(stored.measurement) if stored is not None else None

    return lookup


def scan_archive(folder: Path) -> Archived:
    """Lookups by reading the archive's segments, read-only: for a command run beside a
    live server, which must not open (and recover) the archive itself."""

    def lookup(uid: str) -> bytes | None:
        found = (bytes(s.measurement) for s, _ in read_since(folder, {}) if s.uid == uid)
        return next(found, None)

    return lookup


def raw_measurement(
    archived: Archived, uid: str, source: str | None, line: int | None
) -> bytes | None:
    """The measurement's JSON as received or imported; None when it cannot be found."""
    stored = archived(uid)
    if stored is not None:
        return stored
    if source is None or source == ARCHIVE:
        return None
    item = _item_at(Path(source), line)
    if item is None or uid_of(item) != uid:
        return None
    return without_probe_address(item.raw)


def without_probe_address(raw: bytes) -> bytes:
    """The measurement with its probe's public address scrubbed (unchanged without one)."""
    try:
        found = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return raw  # parse_line read it; a reader that could not is no reason to fail here
    address = public_address(found.get("probe_ip")) if isinstance(found, dict) else None
    if address is None:
        return raw
    scrubbed = msgspec.json.decode(Scrubber([address]).json(raw))
    scrubbed["probe_ip"] = "127.0.0.1"
    return msgspec.json.encode(scrubbed)


def _item_at(path: Path, line: int | None) -> Item | None:
    try:
        if line is None or not path.name.lower().endswith((".gz", ".jsonl")):
            # A whole-file measurement, or (small) JSONL stored under a .json name.
            found = (i for i in read_path(path) if isinstance(i, Item) and i.line == line)
            return next(found, None)
        opener = gzip.open if path.name.lower().endswith(".gz") else open
        with opener(path, "rb") as handle:
            data = next(itertools.islice(handle, line - 1, line), b"")
    except (OSError, EOFError, zlib.error):
        return None
    item = parse_line(data.strip(), str(path), line)
    return item if isinstance(item, Item) else None
