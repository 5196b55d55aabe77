"""The results of earlier runs in the data folder, summarised for `netvigil probe list`.

One JSONL file per run of `probe run`, named by the run's UTC start (`YYYYMMDDTHHMMSSZ`),
which is the result's id. A line that cannot be read is counted, not fatal.
"""

from __future__ import annotations

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


def results(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.jsonl")) if folder.is_dir() else []
