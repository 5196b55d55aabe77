"""The raw archive: append-only, durable before acknowledged, each measurement stored once.

Theory of operation (reliability.md §2.4): a submission is acknowledged only after its line
is on disk — written, the file fsynced, and the directory fsynced when a segment file is
created. Writes are group-committed: one writer task drains every pending submission,
writes them, and fsyncs once for the batch, so many concurrent probes cost one fsync, not
one each. The deduplication index (key → uid) is rebuilt from the segments at start; a
last line cut short by a crash was never acknowledged and is dropped. `fsync` is a
parameter so a test can make the disk fail; a failed fsync fails every submission of the
batch (the caller answers 5xx), and the archive refuses further writes until restarted,
because after a failed fsync the kernel's page cache no longer tells the truth
(PostgreSQL's "fsyncgate").
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec

SEGMENT_BYTES = 64 << 20
MAX_BATCH = 512


class Stored(msgspec.Struct, frozen=True, kw_only=True):
    """One archived measurement and what the collector learnt on receipt."""

    uid: str
    key: str
    received: str
    report_id: str | None
    flags: tuple[str, ...] = ()
    measurement: msgspec.Raw = msgspec.Raw(b"null")


class ArchiveError(OSError):
    """The archive could not make a submission durable (a 5xx, never an acknowledgement)."""


_DECODER = msgspec.json.Decoder(Stored)


class Archive:
    def __init__(self, folder: Path, *, fsync: Callable[[int], None] = os.fsync) -> None:
        self.folder = folder
        self.fsync = fsync
        folder.mkdir(parents=True, exist_ok=True)
        self.index: dict[str, str] = {}  # dedup key -> uid
        self.locations: dict[str, tuple[Path, int]] = {}  # uid -> (segment, offset)
        self._queue: asyncio.Queue[tuple[Stored, asyncio.Future[str]]] = asyncio.Queue()
        self._pending: dict[str, asyncio.Future[str]] = {}
        self._broken: str | None = None
        self._segment, self._size = self._recover()

    # --- start-up ------------------------------------------------------------------------

    def segments(self) -> list[Path]:
        return sorted(self.folder.glob("segment-*.jsonl"))

    def _recover(self) -> tuple[Path, int]:
        segments = self.segments()
        for segment in segments:
            self._truncate_partial(segment)
            for offset, stored in self._scan(segment):
                self.index.setdefault(stored.key, stored.uid)
                self.locations.setdefault(stored.uid, (segment, offset))
        if not segments:
            return self._new_segment(1), 0
        last = segments[-1]
        return last, last.stat().st_size

    @staticmethod
    def _truncate_partial(segment: Path) -> None:
        data = segment.read_bytes()
        if data and not data.endswith(b"\n"):
            with open(segment, "r+b") as handle:  # never acknowledged: drop it
                handle.truncate(data.rfind(b"\n") + 1)

    @staticmethod
    def _scan(segment: Path) -> Iterator[tuple[int, Stored]]:
        offset = 0
        with open(segment, "rb") as handle:
            for line in handle:
                try:
                    stored = _DECODER.decode(line)
                except (msgspec.DecodeError, RecursionError):
                    stored = None  # a damaged line cannot be served; skip it
                if stored is not None:
                    yield offset, stored
                offset += len(line)

    def _new_segment(self, number: int) -> Path:
        path = self.folder / f"segment-{number:06d}.jsonl"
        path.touch()
        self._fsync_dir()
        return path

    def _fsync_dir(self) -> None:
        descriptor = os.open(self.folder, os.O_RDONLY)
        try:
            self.fsync(descriptor)
        finally:
            os.close(descriptor)

    # --- writing -------------------------------------------------------------------------

    async def store(self, stored: Stored) -> str:
        """Append and make durable; the uid (the first one, for a duplicate)."""
        if self._broken is not None:
            raise ArchiveError(self._broken)
        if stored.key in self.index:
            return self.index[stored.key]
        if stored.key in self._pending:  # the same measurement, in flight concurrently
            return await asyncio.shield(self._pending[stored.key])
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._pending[stored.key] = future
        await self._queue.put((stored, future))
        return await asyncio.shield(future)

    async def run(self) -> None:
        """The writer: runs for the server's lifetime, inside its task group."""
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty() and len(batch) < MAX_BATCH:
                batch.append(self._queue.get_nowait())
            try:
                if self._broken is not None:
                    raise ArchiveError(self._broken)
                written = await asyncio.to_thread(self._write, [s for s, _ in batch])
            except OSError as exc:
                self._broken = f"archive write failed: {exc}"
                for stored, future in batch:
                    self._pending.pop(stored.key, None)
                    if not future.done():
                        future.set_exception(ArchiveError(self._broken))
                continue
            for (stored, future), (segment, offset) in zip(batch, written, strict=True):
                self.index[stored.key] = stored.uid
                self.locations[stored.uid] = (segment, offset)
                self._pending.pop(stored.key, None)
                if not future.done():
                    future.set_result(stored.uid)

    def _write(self, batch: list[Stored]) -> list[tuple[Path, int]]:
        if self._size >= SEGMENT_BYTES:
            number = int(self._segment.stem.split("-")[1]) + 1
            self._segment, self._size = self._new_segment(number), 0
        lines = [msgspec.json.encode(stored) + b"\n" for stored in batch]
        positions = []
        with open(self._segment, "ab") as handle:
            for line in lines:
                positions.append((self._segment, self._size))
                handle.write(line)
                self._size += len(line)
            handle.flush()
            self.fsync(handle.fileno())
        return positions

    # --- reading -------------------------------------------------------------------------

    def read(self, uid: str) -> Stored | None:
        location = self.locations.get(uid)
        if location is None:
            return None
        segment, offset = location
        with open(segment, "rb") as handle:
            handle.seek(offset)
            return _DECODER.decode(handle.readline())

    def all(self) -> Iterator[Stored]:
        for segment in self.segments():
            for _, stored in self._scan(segment):
                yield stored


def read_since(
    folder: Path,
    position: dict[str, int],
    damaged: Callable[[str, int, str], None] | None = None,
) -> Iterator[tuple[Stored, dict[str, int]]]:
    """Records after `position` ({segment name: byte offset}), updating it as it goes.

    Read-only, so another process (the pipeline, `netvigil reanalyze`) can read while the
    server writes: a line without its newline is being written, and is left for later. A
    whole line that is no record (a damaged disk block) is skipped, and told to `damaged`
    (segment name, offset, reason), so the pipeline can make it an error row.
    """
    for segment in sorted(folder.glob("segment-*.jsonl")):
        start = position.get(segment.name, 0)
        with open(segment, "rb") as handle:
            handle.seek(start)
            for line in handle:
                if not line.endswith(b"\n"):
                    break
                offset, start = start, start + len(line)
                position[segment.name] = start
                try:
                    stored = _DECODER.decode(line)
                except (msgspec.DecodeError, RecursionError) as exc:
                    if damaged is not None:
                        damaged(segment.name, offset, str(exc))
                    continue
                yield stored, position
