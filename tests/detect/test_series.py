"""The series CSV: what it reads, and one exact line for each way a file can be wrong."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from netvigil.detect import series as series_module
from netvigil.detect.series import SeriesError, parse_time, read_series

HEADER = "entity,signal,time,value\n"
T = 1767888000  # 2026-01-08T16:00:00Z


def _file(tmp_path: Path, body: str | bytes, header: str = HEADER) -> Path:
    path = tmp_path / "series.csv"
    raw = body if isinstance(body, bytes) else (header + body).encode()
    path.write_bytes(raw)
    return path


def _refused(path: Path) -> str:
    with pytest.raises(SeriesError) as caught:
        read_series(path)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_times_values_gaps_and_entities_as_documented(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        # Rows out of order, three spellings of time, a gap, a missing bin, lower-case CC.
        "country:ir,active_probing,2026-01-08T16:20:00Z,90.5\n"
        "country:IR,active_probing,2026-01-08T19:30:00+03:30,97\n"
        f"country:IR,active_probing,{T + 1800},\n"
        f"country:IR,active_probing,{T + 2400}.000,6.6\n"
        f"asn:58224,bgp,{T},1e3\n"
        f"asn:58224,bgp,{T + 300},2.5\n"
        "region:MM-07,pings,2026-01-08T16:00:00Z,12\n"
        "region:MM-07,pings,2026-01-08T16:00:00Z,12\n"  # an exact duplicate: read once
        "region:MM-07,pings,2026-01-08T17:00:00Z,0\n",
    )
    probing, bgp, pings = read_series(path)
    assert (probing.entity, probing.signal, probing.step) == ("country:IR", "active_probing", 600)
    # 19:30+03:30 is 16:00Z; 16:10Z has no row; 16:30Z is empty.
    assert probing.times.tolist() == [T, T + 600, T + 1200, T + 1800, T + 2400]
    assert probing.values[0] == 97 and probing.values[2] == 90.5 and probing.values[4] == 6.6
    assert math.isnan(probing.values[1]) and math.isnan(probing.values[3])
    assert (bgp.entity, bgp.step, bgp.values.tolist()) == ("asn:58224", 300, [1000.0, 2.5])
    assert bgp.country is None and probing.country is None
    assert (pings.entity, pings.step, pings.values.tolist()) == ("region:MM-07", 3600, [12, 0])


def test_bom_crlf_quotes_and_blank_lines_are_plain_csv(tmp_path: Path) -> None:
    body = (
        '\ufeffentity,signal,time,value\r\n"country:IR","bgp","2026-01-08T16:00:00Z",1\r\n'
        '"region:IR-Tehran Province",bgp,1767888300," 2 "\r\n'
        "region:IR-Tehran Province,bgp,1767888600,3\r\ncountry:IR,bgp,1767888300,4\r\n\r\n\n"
    )
    country, region = read_series(_file(tmp_path, body.encode()))
    assert (country.entity, country.times.tolist(), country.values.tolist()) == (
        "country:IR",
        [T, T + 300],
        [1, 4],
    )
    assert (region.entity, region.values.tolist()) == ("region:IR-Tehran Province", [2, 3])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", ":1: no rows after the header"),
        (
            f"city:Paris,bgp,{T},1\n",
            ":2: unknown entity 'city:Paris': expected country:CC, region:CC-NAME or asn:N",
        ),
        (
            f'"region:IR-Tehran, city",bgp,{T},1\n',
            ":2: unknown entity 'region:IR-Tehran, city'"
            ": expected country:CC, region:CC-NAME or asn:N",
        ),
        (
            f"asn:0,bgp,{T},1\n",
            ":2: unknown entity 'asn:0': expected country:CC, region:CC-NAME or asn:N",
        ),
        (
            f"country:IR,BGP,{T},1\n",
            ":2: signal 'BGP': expected at most 64 of a-z, 0-9, '_', '.', '-'",
        ),
        (
            "country:IR,bgp,2026-01-08T16:00:00,1\n",
            ":2: time '2026-01-08T16:00:00' has no UTC offset: add Z or +HH:MM",
        ),
        (
            "country:IR,bgp,yesterday,1\n",
            ":2: time 'yesterday' is neither ISO 8601 nor Unix seconds",
        ),
        (f"country:IR,bgp,{T}.5,1\n", f":2: time '{T}.5' is not a whole second"),
        (
            "country:IR,bgp,2026-01-08T16:00:00.250Z,1\n",
            ":2: time '2026-01-08T16:00:00.250Z' is not a whole second",
        ),
        (
            f"country:IR,bgp,{T},nan\n",
            ":2: value 'nan' is not a finite number (leave it empty for a gap)",
        ),
        (
            f"country:IR,bgp,{T},inf\n",
            ":2: value 'inf' is not a finite number (leave it empty for a gap)",
        ),
        (
            f"country:IR,bgp,{T},1e400\n",
            ":2: value '1e400' is not a finite number (leave it empty for a gap)",
        ),
        (
            f"country:IR,bgp,{T},1_000\n",
            ":2: value '1_000' is not a finite number (leave it empty for a gap)",
        ),
        (f"country:IR,bgp,{T}\n", ":2: 3 fields, expected 4"),
        (f'country:IR,bgp,"{T}"x,1\n', ":2: malformed CSV: ',' expected after '\"'"),
        (f'country:IR,bgp,{T},"1\n', ":2: malformed CSV: unexpected end of data"),
        (f"country:IR,bgp,{T},1\n", ":2: country:IR bgp has one time: its step cannot be inferred"),
    ],
)
def test_each_bad_row_is_one_line_naming_file_and_line(
    tmp_path: Path, body: str, message: str
) -> None:
    path = _file(tmp_path, body)
    assert _refused(path) == f"{path}{message}"


def test_duplicates_with_two_values_name_both_lines(tmp_path: Path) -> None:
    rows = f"country:IR,bgp,{T},1\ncountry:IR,bgp,{T + 300},2\ncountry:IR,bgp,{T},1.5\n"
    path = _file(tmp_path, rows)
    assert _refused(path) == (
        f"{path}:4: country:IR bgp at 2026-01-08T16:00:00Z: value 1.5 here, 1.0 on line 2"
    )
    gap = _file(tmp_path, f"asn:3,x,{T},\nasn:3,x,{T + 60},2\nasn:3,x,{T},7\n")
    assert (
        _refused(gap)
        == f"{gap}:4: asn:3 x at 2026-01-08T16:00:00Z: value 7.0 here, empty on line 2"
    )


def test_times_off_the_inferred_grid_name_the_first_stray_line(tmp_path: Path) -> None:
    # Differences 600 and 400: the step is 400, and T + 600 is not a whole number of them.
    rows = f"country:IR,bgp,{T + 1000},1\ncountry:IR,bgp,{T},1\ncountry:IR,bgp,{T + 600},1\n"
    path = _file(tmp_path, rows)
    assert _refused(path) == (
        f"{path}:4: country:IR bgp at 2026-01-08T16:10:00Z is off the 400 s grid that starts "
        "at 2026-01-08T16:00:00Z"
    )


def test_a_huge_span_is_refused_before_anything_is_allocated(tmp_path: Path) -> None:
    # 1,899,999,960 s is 31,666,666 steps of 60 s: 31,666,667 bins, to 2030-03-17T17:46:00Z.
    path = _file(tmp_path, "asn:3,x,0,1\nasn:3,x,60,1\nasn:3,x,1899999960,1\n")
    assert _refused(path) == (
        f"{path}:4: asn:3 x spans 31,666,667 bins of 60 s from 1970-01-01T00:00:00Z to "
        "2030-03-17T17:46:00Z, more than the 5,000,000 bins per series"
    )


def test_the_file_limits_on_bins_and_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(series_module, "MAX_FILE_BINS", 5)
    two_series = _file(tmp_path, "asn:3,x,0,1\nasn:3,x,180,1\nasn:4,x,0,1\nasn:4,x,60,1\n")
    # asn:3 at a 180 s step: 2 bins; asn:4 at 60 s: 2 more, 4 of the 5.
    assert [len(s.times) for s in read_series(two_series)] == [2, 2]
    three = _file(
        tmp_path,
        "asn:3,x,0,1\nasn:3,x,60,1\nasn:3,x,120,1\nasn:4,x,0,1\nasn:4,x,120,1\nasn:4,x,360,1\n",
    )
    # asn:3: 3 bins, leaving 2; asn:4 at a 120 s step from 0 to 360: 4 bins.
    assert _refused(three) == (
        f"{three}:7: asn:4 x spans 4 bins of 120 s from 1970-01-01T00:00:00Z to "
        "1970-01-01T00:06:00Z, more than the 2 bins left in this file"
    )
    monkeypatch.setattr(series_module, "MAX_ROWS", 2)
    assert _refused(three) == f"{three}:4: more than 2 rows: split the file"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", ":1: empty file, expected the header entity,signal,time,value"),
        (b"\n\n", ":1: empty file, expected the header entity,signal,time,value"),
        (
            b"entity,signal,timestamp,value\n",
            ":1: header 'entity,signal,timestamp,value', expected 'entity,signal,time,value'",
        ),
        (
            b"entity,signal,time,value,unit\n",
            ":1: header 'entity,signal,time,value,unit', expected 'entity,signal,time,value'",
        ),
        (
            b"\nentity,signal,time,value\n",
            ":1: blank, expected the header entity,signal,time,value",
        ),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", ":1: not UTF-8 text"),
        (HEADER.encode() + b"country:IR,bgp,1,\xff\n", ":2: not UTF-8 text"),
        (HEADER.encode() + b"\x00\x01\x02\x03\n", ":2: 1 fields, expected 4"),
        (
            HEADER.encode() + b"country:IR," + b"9" * 5000 + b"\n",
            ":2: a line longer than 4,096 bytes",
        ),
    ],
)
def test_whole_file_problems(tmp_path: Path, raw: bytes, message: str) -> None:
    path = _file(tmp_path, raw)
    assert _refused(path) == f"{path}{message}"


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "missing.csv"
    assert _refused(path) == f"{path}: cannot read: No such file or directory"


def test_parse_time_reads_the_documented_forms() -> None:
    assert parse_time("2026-01-08T16:00:00Z") == T
    assert parse_time("2026-01-08 12:30:00-03:30") == T
    assert parse_time(str(T)) == T
    assert parse_time("2026-01-08 16:00:00", naive_is_utc=True) == T
    assert parse_time("0") == 0
