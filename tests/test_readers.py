"""Readers stream .json/.jsonl/.jsonl.gz and turn every problem into a per-item error."""

from __future__ import annotations

import gzip
from pathlib import Path

from netvigil.readers import Item, ReadError, read_path, read_paths
from tests.corpus import JSONL, MEASUREMENTS, QA


def test_jsonl_and_gzip_give_the_same_items(tmp_path: Path) -> None:
    gz = tmp_path / "corpus.jsonl.gz"
    gz.write_bytes(gzip.compress(JSONL.read_bytes()))
    plain = [i.measurement for i in read_path(JSONL) if isinstance(i, Item)]
    packed = [i.measurement for i in read_path(gz) if isinstance(i, Item)]
    assert len(plain) == 64 and plain == packed


def test_malformed_line_is_a_per_line_error_and_the_rest_survives(tmp_path: Path) -> None:
    lines = JSONL.read_bytes().splitlines()[:3]
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(lines[0] + b"\n{not json\n\n" + lines[1] + b"\n")
    items = list(read_path(bad))
    assert [type(i) for i in items] == [Item, ReadError, Item]
    error = items[1]
    assert isinstance(error, ReadError) and error.line == 2
    assert "malformed" in error.describe() and str(bad) in error.describe()


def test_truncated_gzip_keeps_what_came_before(tmp_path: Path) -> None:
    data = gzip.compress(JSONL.read_bytes())
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(data[: len(data) * 2 // 3])
    items = list(read_path(cut))
    assert isinstance(items[-1], ReadError) and "gzip" in items[-1].error
    assert sum(isinstance(i, Item) for i in items) > 10


def test_missing_file_and_directory_listing(tmp_path: Path) -> None:
    (missing,) = read_path(tmp_path / "nope.json")
    assert isinstance(missing, ReadError) and missing.error == "no such file"
    items = list(read_paths([QA]))
    assert len(items) == 50 and all(isinstance(i, Item) for i in items)


def test_not_a_measurement(tmp_path: Path) -> None:
    (item,) = read_path(
        MEASUREMENTS / "ooni-backend-fastpath-other" / "detector_query_ww_BR_2018.json"
    )
    assert isinstance(item, ReadError)
    api = tmp_path / "api.json"
    api.write_text('{"status": 200, "body": "{}"}')
    (item,) = read_path(api)
    assert isinstance(item, ReadError) and "not an OONI measurement" in item.error


def test_jsonl_under_a_json_name() -> None:
    path = MEASUREMENTS / "probe-cli-misc" / "oonireport-testmeasurement.jsonl"
    items = list(read_path(path))
    assert len(items) == 2 and all(isinstance(i, Item) for i in items)


def test_reading_is_lazy(tmp_path: Path) -> None:
    # Constant memory: the reader yields the first item before reading the rest.
    big = tmp_path / "big.jsonl"
    line = JSONL.read_bytes().splitlines()[0]
    big.write_bytes(b"\n".join([line] * 200))
    stream = read_path(big)
    first = next(stream)
    assert isinstance(first, Item) and first.line == 1
