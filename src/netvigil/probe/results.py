"""The results of earlier runs in the data folder, summarised for `netvigil probe list`.

One JSONL file per run of `probe run`, named by the run's UTC start (`YYYYMMDDTHHMMSSZ`),
which is the result's id; a second run started in the same second gets `-2`, and so on
(created exclusively, so two runs never write into one result). A line that cannot be read
is counted, not fatal.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from pathlib import Path

import msgspec

from netvigil.readers import ReadError, read_path


class ResultSummary(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    measurements: int
    blocked: int  # OONI's classic `blocking` is a string
    accessible: int
    unreadable: int


def summarize(path: Path) -> ResultSummary:
    counts: Counter[str] = Counter()
    for item in read_path(path):
        if isinstance(item, ReadError):
            counts["unreadable"] += 1
            continue
        counts["measurements"] += 1
        keys = item.measurement.test_keys_object() or {}
        counts["blocked"] += isinstance(keys.get("blocking"), str)
        counts["accessible"] += keys.get("accessible") is True
    return ResultSummary(
        id=path.stem,
        **{k: counts[k] for k in ("measurements", "blocked", "accessible", "unreadable")},
    )


_ID = re.compile(r"(?P<start>[0-9]{8}T[0-9]{6}Z)(?:-(?P<n>[0-9]+))?")


def new_result(folder: Path, started: dt.datetime) -> Path:
    """The file of a new result started at `started`, created empty and only by us."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = started.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    for n in range(1, 10_000):
        path = folder / (f"{stamp}.jsonl" if n == 1 else f"{stamp}-{n}.jsonl")
        try:
            path.open("xb").close()
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"{folder}: too many results started at {stamp}")


def _order(path: Path) -> tuple[str, int]:
    found = _ID.fullmatch(path.stem)
    return (found["start"], int(found["n"] or 1)) if found else (path.stem, 0)


def results(folder: Path) -> list[Path]:
    """The results in the order they were started, oldest first."""
    return sorted(folder.glob("*.jsonl"), key=_order) if folder.is_dir() else []
