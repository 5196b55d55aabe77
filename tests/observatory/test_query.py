"""Data-API parameters: ASCII numbers, enums that name the valid values, real dates."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from netvigil.observatory.query import (
    BadQuery,
    asn_number,
    conditions,
    integer,
    once,
    output_format,
    technique,
)
from netvigil.patterns import START_TIME, WHEN


@pytest.mark.parametrize("value", ["²", "٣", "-1", "", "1.0", "9" * 5000, "10001", " 5"])
def test_integer_refuses_all_but_ascii_whole_numbers_in_range(value: str) -> None:
    with pytest.raises(BadQuery, match="limit: expected a whole number from 1 to 10000"):
        integer({"limit": value}, "limit", 100, 1, 10_000)


def test_integer_accepts_ascii_digits() -> None:
    assert integer({"limit": "0010000"}, "limit", 100, 1, 10_000) == 10_000
    assert integer({}, "limit", 100, 1, 10_000) == 100


@pytest.mark.parametrize(
    ("name", "value", "named"),
    [
        ("outcome", "censored", "blocked, tampered, down, ok, insufficient, unanalysed, error"),
        ("layer", "ip", "dns, tcp, udp, tls, http, tunnel"),
        ("anomaly", "True", "true, false"),
        ("probe_cc", "ß", "two letters"),
        ("probe_cc", "IT\n", "two letters"),
        ("since", "2023-02-29", "a date like"),
        ("until", "0001-01-01T00:00:00+01:00", "a date like"),
        ("probe_asn", "AS4294967296", "below 2^32"),
        ("probe_asn", "AS٣", "below 2^32"),
        ("input", "", "empty value"),
    ],
)
def test_bad_filters_name_what_is_valid(name: str, value: str, named: str) -> None:
    with pytest.raises(BadQuery) as caught:
        conditions({name: value})
    assert str(caught.value).startswith(name) and named in str(caught.value)


def test_techniques() -> None:
    assert technique("http_blockpage:ooni.id_lamanlabuh_kominfo").startswith("http_blockpage:")
    assert technique("tls_reset") == "tls_reset"
    with pytest.raises(BadQuery, match=r"dns_nxdomain.*http_blockpage:FINGERPRINT"):
        technique("nonsense")


def test_formats_and_repeats() -> None:
    assert output_format({"format": "csv"}) == "CSV" and output_format({}) == "JSON"
    with pytest.raises(BadQuery, match="format: expected one of JSON, CSV"):
        output_format({"format": "XML"})
    with pytest.raises(BadQuery, match="limit: given more than once"):
        once([("limit", "1"), ("limit", "2")])
    assert asn_number("as4294967295") == 2**32 - 1


def test_date_patterns_take_exactly_the_real_dates() -> None:
    day = dt.date(1, 1, 1)
    while day.year < 2101:  # every day (leap days included) of 21 centuries
        text = f"{day.year:04d}-{day.month:02d}-{day.day:02d}"
        assert re.fullmatch(WHEN, text) and re.fullmatch(START_TIME, text + " 23:59:59")
        day += dt.timedelta(days=1)
    for year in (1900, 2023, 2100, 0):
        assert not re.fullmatch(WHEN, f"{year:04d}-02-29")
    for bad in ("2024-02-30", "2024-13-01", "2024-1-01", "2024-01-01 1:2:3", "２０２４-01-01"):
        assert not re.fullmatch(START_TIME, bad + ("" if " " in bad else " 00:00:00")), bad
