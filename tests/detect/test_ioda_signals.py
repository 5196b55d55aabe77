"""IODA's signals in: the /signals/raw JSON shape and the dashboard's CSV export of Iran."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from netvigil.detect.ioda_signals import read_ioda
from netvigil.detect.series import SeriesError
from tests.corpus import CORPUS

IRAN = CORPUS / "shutdowns" / "series" / "ioda-iran-2025-12-01_2026-01-29.csv"
T = 1767888000  # 2026-01-08T16:00:00Z


def _raw(datasource: str, step: int, values: list[Any], **entity: Any) -> dict[str, Any]:
    """One series as ioda-api's TimeSeriesNormalizer writes it (src/TimeSeries/)."""
    kind, code = entity.get("kind", "country"), entity.get("code", "IR")
    return {
        "entityType": kind,
        "entityCode": code,
        "entityName": entity.get("name", "Iran"),
        "datasource": datasource,
        "subtype": entity.get("subtype", ""),
        "from": entity.get("start", T),
        "until": entity.get("start", T) + step * len(values),
        "step": step,
        "nativeStep": step,
        "values": values,
    }


def _response(tmp_path: Path, *series: dict[str, Any], error: str | None = None) -> Path:
    """The envelope of ioda-api's src/Response/Envelope.php: data holds one list per entity."""
    envelope = {
        "type": "signals",
        "metadata": {"requestTime": "2026-01-09T00:00:00+00:00"},
        "requestParameters": {"from": str(T), "until": str(T + 3600), "datasource": None},
        "error": error,
        "perf": None,
        "data": None if error else [list(series)],
        "copyright": "This data is Copyright (c) 2021 Georgia Tech Research Corporation.",
    }
    path = tmp_path / "signals.json"
    path.write_text(json.dumps(envelope))
    return path


def _refused(path: Path, entity: str | None = None) -> str:
    with pytest.raises(SeriesError) as caught:
        read_ioda(path, entity)
    assert "\n" not in str(caught.value)
    return str(caught.value)


def test_raw_signals_become_our_series_with_nulls_as_gaps(tmp_path: Path) -> None:
    path = _response(
        tmp_path,
        _raw("bgp", 300, [100, None, 98.5]),
        _raw("ping-slash24", 600, [97, 6.6]),
        _raw("merit-nt", 300, [20, 19]),
        _raw("ucsd-nt", 60, [1, 2, 3]),  # retired: merit-nt is the telescope
        _raw("gtr", 1800, [None, 55], subtype="Search Traffic"),
        _raw("mozilla", 3600, [15]),
        _raw("ping-slash24-loss", 600, [0.1, None]),
    )
    found = {s.signal: s for s in read_ioda(path)}
    assert list(found) == [
        "bgp",
        "active_probing",
        "telescope",
        "google.search_traffic",
        "mozilla",
        "ping-slash24-loss",
    ]
    bgp = found["bgp"]
    assert (bgp.entity, bgp.step, bgp.times.tolist()) == ("country:IR", 300, [T, T + 300, T + 600])
    assert bgp.values[0] == 100 and math.isnan(bgp.values[1]) and bgp.values[2] == 98.5
    assert found["active_probing"].times.tolist() == [T, T + 600]
    assert found["telescope"].values.tolist() == [20, 19]
    assert math.isnan(found["google.search_traffic"].values[0])
    assert all(s.country is None for s in found.values())


def test_ucsd_telescope_alone_is_the_telescope_and_asns_read(tmp_path: Path) -> None:
    path = _response(tmp_path, _raw("ucsd-nt", 300, [4, 5], kind="asn", code="58224"))
    (telescope,) = read_ioda(path)
    assert (telescope.entity, telescope.signal, telescope.country) == (
        "asn:58224",
        "telescope",
        None,
    )


def test_regions_need_the_country_from_the_caller(tmp_path: Path) -> None:
    path = _response(tmp_path, _raw("bgp", 300, [1, 2], kind="region", code="4437", name="Tehran"))
    assert _refused(path) == (
        f"{path}: bgp of '4437': IODA region '4437' does not say its country: give "
        "region:CC-4437 or country:CC"
    )
    assert [s.entity for s in read_ioda(path, "country:ir")] == ["region:IR-4437"]
    assert [s.entity for s in read_ioda(path, "region:IR-4437")] == ["region:IR-4437"]
    assert _refused(path, "region:IR-23") == (
        f"{path}: bgp of '4437': the response is about region:IR-4437, not region:IR-23"
    )
    country = _response(tmp_path, _raw("bgp", 300, [1, 2], code="IQ"))
    assert _refused(country, "country:IR") == (
        f"{country}: bgp of 'IQ': the response is about country:IQ, not country:IR"
    )


@pytest.mark.parametrize(
    ("series", "message"),
    [
        (
            _raw("bgp", 300, [1], kind="continent", code="AS"),
            "bgp of 'AS': entity type 'continent': expected country, region or asn",
        ),
        (
            _raw("bgp", 300, [1], code="Iran"),
            "bgp of 'Iran': unknown entity 'country:Iran': "
            "expected country:CC, region:CC-NAME or asn:N",
        ),
        (_raw("bgp", 0, [1]), "bgp of 'IR': step 0 is not positive"),
        (_raw("bgp", 300, []), "bgp of 'IR': 0 values: expected 1 to 5,000,000"),
        (
            _raw("bgp", 300, [1], start=-300),
            "bgp of 'IR': from -300 and step 300 leave the years 1970 to 9999",
        ),
        (
            _raw("Bad Source", 300, [1]),
            "'Bad Source' of 'IR': datasource 'Bad Source' is no signal name we can use",
        ),
        (
            {**_raw("bgp", 300, [1]), "values": [True]},
            "not an IODA /signals/raw response: "
            "Expected `float | null`, got `bool` - at `$.data[0][0].values[0]`",
        ),
        (
            {**_raw("bgp", 300, [1]), "step": "300"},
            "not an IODA /signals/raw response: Expected `int`, got `str` - at `$.data[0][0].step`",
        ),
    ],
)
def test_bad_raw_series_are_one_line(tmp_path: Path, series: dict[str, Any], message: str) -> None:
    path = _response(tmp_path, series)
    assert _refused(path) == f"{path}: {message}"


def test_bad_responses_are_one_line(tmp_path: Path) -> None:
    failed = _response(tmp_path, error="Missing required request\nparameter 'from'")
    assert _refused(failed) == (
        f"{failed}: IODA answered with an error: Missing required request parameter 'from'"
    )
    empty = _response(tmp_path)
    assert _refused(empty) == f"{empty}: no series in the response"
    twice = _response(tmp_path, _raw("bgp", 300, [1]), _raw("bgp", 600, [1]))
    assert _refused(twice) == f"{twice}: country:IR bgp comes twice"
    truncated = tmp_path / "truncated.json"
    truncated.write_text('{"data": [[{"entityType": "country"')
    assert _refused(truncated) == (
        f"{truncated}: not an IODA /signals/raw response: Input data was truncated"
    )
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    assert _refused(junk, "country:IR") == (
        f"{junk}: neither an IODA /signals/raw response nor a dashboard export"
    )
    folder = tmp_path / "folder.json"
    folder.mkdir()
    assert _refused(folder) == f"{folder}: cannot read: Is a directory"


def test_the_iran_dashboard_export_as_the_file_has_it() -> None:
    series = read_ioda(IRAN, "country:IR")
    assert [s.signal for s in series] == ["google", "telescope", "bgp", "active_probing", "mozilla"]
    # The file: 2,864 rows every 30 minutes, 2025-12-01 00:00 to 2026-01-29 15:30 UTC.
    assert {(s.entity, s.step, len(s.times)) for s in series} == {("country:IR", 1800, 2864)}
    google, telescope, bgp, probing, mozilla = series
    assert probing.times[0] == 1764547200 and probing.times[-1] == 1769700600
    assert google.values[0] == 20.889866479049164 and mozilla.values[0] == 15
    assert bgp.values[0] == 99.62301301445518 and telescope.values[0] == 22.143438335464374
    # Active probing falls from 90.2 at 16:00 to 6.56 at 17:00 UTC on 2026-01-08.
    at = {int(t): v for t, v in zip(probing.times, probing.values, strict=True)}
    assert at[T] == 90.21934936950302 and at[T + 1800] == 53.2796439546466
    assert at[T + 3600] == 6.561937056267881
    # Mozilla reports hourly: every :30 row of its column is empty (1,448 cells), and
    # Google's last two rows (its lag).
    assert math.isnan(mozilla.values[1]) and int(np.isnan(mozilla.values).sum()) == 1448
    assert np.isnan(google.values[-2:]).all() and int(np.isnan(google.values).sum()) == 2
    assert int(np.isnan(telescope.values).sum()) == 274 and int(np.isnan(bgp.values).sum()) == 7


def _dashboard(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "export.csv"
    path.write_text(text)
    return path


def test_bad_dashboard_exports_are_one_line(tmp_path: Path) -> None:
    header = '"Time (UTC)","BGP (#Visible /24s)","Active Probing (#/24s Up)"\n'
    good = _dashboard(tmp_path, header + '"2026-01-08 16:00:00",99,90\n"2026-01-08 16:30:00",,53\n')
    assert _refused(good) == f"{good}: an IODA dashboard export does not name its entity"
    assert _refused(good, "Iran") == (
        f"{good}: unknown entity 'Iran': expected country:CC, region:CC-NAME or asn:N"
    )
    bgp, probing = read_ioda(good, "asn:58224")
    assert (bgp.entity, bgp.signal, bgp.step) == ("asn:58224", "bgp", 1800)
    assert math.isnan(bgp.values[1]) and probing.values.tolist() == [90, 53]
    value = _dashboard(tmp_path, header + '"2026-01-08 16:00:00",99,NaN\n')
    assert _refused(value, "country:IR") == (
        f"{value}:2: value 'NaN' is not a finite number (leave it empty for a gap)"
    )
    short = _dashboard(tmp_path, header + '"2026-01-08 16:00:00",99\n')
    assert _refused(short, "country:IR") == f"{short}:2: 2 fields, expected 3"
    grid = _dashboard(
        tmp_path,
        header + '"2026-01-08 16:00:00",1,1\n"2026-01-08 16:30:00",1,1\n'
        '"2026-01-08 16:45:00",1,1\n"2026-01-08 17:10:00",1,1\n',
    )
    assert _refused(grid, "country:IR") == (
        f"{grid}:5: country:IR bgp at 2026-01-08T17:10:00Z is off the 900 s grid that starts "
        "at 2026-01-08T16:00:00Z"
    )
    only = _dashboard(tmp_path, header)
    assert _refused(only, "country:IR") == f"{only}:1: no rows after the header"
    same = _dashboard(tmp_path, '"Time (UTC)","BGP (a)","BGP (b)"\n"2026-01-08 16:00:00",1,1\n')
    assert _refused(same, "country:IR") == f"{same}:1: two columns are the same signal: bgp, bgp"
