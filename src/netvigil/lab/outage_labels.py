"""The outage labels of the replay benchmark: labels_unified.csv read leniently.

`shared/corpus/shutdowns/labels_unified.csv` merges IODA's curated outages (minute
precision), Access Now's STOP sheets (day precision) and Disco's RIPE Atlas events (second
precision), with each source's spelling of countries and scopes (SOURCES.md). Every row is
either a `Label` (an entity, a start and an end in Unix seconds, whether it was deliberate,
which outside signals saw it) or a reason it was skipped, counted, never silently dropped.
"""

from __future__ import annotations

import collections
import csv
import datetime as dt
import re
from collections.abc import Iterable
from pathlib import Path

import msgspec
import numpy as np
import pycountry

from netvigil.detect.model import entity

HOUR = 3600
DAY = 86400
# A blank, "ongoing" or unknown end: 6 h, about the 5.5 h median of IODA's confirmed
# shutdowns (reference/shutdowns.md §1.4).
DEFAULT_DURATION = 6 * HOUR
# Kashmir's 2019-2020 cut lasted 550 days; a week is IODA's maxduration (§1.2), past which a
# level shift and an outage look alike to any baseline. Longer labels are cut to it, counted.
MAX_DURATION = 7 * DAY
# Access Now STOP extents that are no connectivity loss (a blocked app, a slowed network):
# the service-block and throttling detectors are scored elsewhere.
NOT_CONNECTIVITY = ("service-based", "throttling")

# Spellings pycountry does not resolve (the sources' own names, SOURCES.md).
ODD_NAMES = {
    "Democratic Republic of (DRC)": "CD",
    "DemocraticRepublicCongo": "CD",
    "Democratic Republic of the Congo": "CD",
    "Congo": "CG",
    "Myanmar/Burma": "MM",
    "Iran": "IR",
    "Russia": "RU",
    "Syria": "SY",
    "Laos": "LA",
    "North Korea": "KP",
    "South Korea": "KR",
    "Vietnam": "VN",
    "Great Britain": "GB",
    "Macedonia": "MK",
    "Swaziland": "SZ",
    "Cape Verde": "CV",
    "Ivory Coast (Cote d'Ivoire)": "CI",
    "Kyrgyz Republic (Kyrgyzstan)": "KG",
    "United States of America (USA)": "US",
    "Palestine": "PS",
    "Palestinian Territories": "PS",
    "SriLanka": "LK",
    "Timor Leste": "TL",
    "Federated States Of Micronesia": "FM",
    "Saint Martin": "MF",
    "Turkey": "TR",
    "Bosnia & Herzegovina": "BA",
    "Antigua & Barbuda": "AG",
    "Bonaire/Sint Eustatius/Saba": "BQ",
    "Reunion": "RE",
    "Curacao": "CW",
    "Somaliland": "SO",
    "Iran (Islamic Republic of)": "IR",
    "Venezuela (Bolivarian Republic of)": "VE",  # not in ISO 3166; it lies in Somalia's code
}
_NEXT, _DEFAULT, _CAP = (
    "end before start: the next day's",
    "no usable end: 6 h",
    "longer than a week: cut to 7 days",
)
_TWO_LETTERS = re.compile(r"^[A-Z]{2}$")


class Label(msgspec.Struct, frozen=True, kw_only=True):
    source: str
    source_id: str
    entity: str  # country:CC, region:CC-NAME or asn:N
    country: str | None  # ISO 3166-1 alpha-2; None for a Disco network without one
    start: int  # Unix seconds
    end: int
    deliberate: bool | None  # None: unknown
    bgp: bool  # the label's outage shows in BGP (blank flags: both drop)
    ap: bool
    mobile: bool = False
    cause: str = ""  # the source's words: "Exams", "Power-Outage", ...


class Labels(msgspec.Struct, frozen=True, kw_only=True):
    labels: tuple[Label, ...]
    skipped: dict[str, int]  # reason -> rows
    fixed: dict[str, int]  # repair -> rows (an end cut to a week, a default end, ...)


def country_code(name: str) -> str | None:
    """ISO alpha-2 for a source's country name, or None when it names none (or several)."""
    name = name.strip()
    if _TWO_LETTERS.match(name):
        return name if pycountry.countries.get(alpha_2=name) else None
    if name in ODD_NAMES:
        return ODD_NAMES[name]
    try:
        return str(pycountry.countries.lookup(name).alpha_2)
    except LookupError:
        pass
    try:
        return str(pycountry.countries.search_fuzzy(name)[0].alpha_2)
    except LookupError:
        return None


def _time(text: str) -> int | None:
    text = text.strip()
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())
        return int(dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return None


def _flag(text: str) -> bool:
    return text.strip() != "0"  # blank: unknown, so both signals drop (the brief's rule)


def _place(row: dict[str, str]) -> tuple[str, str | None] | str:
    """(entity, country) for a row, or the reason it has none we model."""
    source, level, name = row["source"], row["scope_level"].strip(), row["scope_name"].strip()
    if source == "disco-ripe-atlas":
        tokens = name.split()
        asns = [t for t in tokens if t.isdigit()]
        codes = [t for t in tokens if _TWO_LETTERS.match(t)]
        if len(asns) > 1 or len(codes) > 1:
            return "disco: several networks or countries"
        country = codes[0] if codes else None
        if asns:
            return f"asn:{asns[0]}", country
        return (f"country:{country}", country) if country else "disco: probe cluster only"
    country = country_code(row["country"])
    if country is None:
        return "country name not mapped"
    if level == "as":
        return (f"asn:{name}", country) if name.isdigit() else "network without a number"
    national = level in ("country", "National", "Level 3") or name.lower().startswith(
        ("national", "nationwide", "entire country")
    )
    if national:
        return f"country:{country}", country
    if not name:
        return "region without a name"
    clean = " ".join(name.replace(",", " /").split()).rstrip(".")
    return entity(f"region:{country}-{clean}"), country


def start_times(rows: Iterable[dict[str, str]]) -> np.ndarray:
    """Seconds after midnight of the minute-precision starts: what day-precision rows draw."""
    found = [_time(r["start_utc"]) for r in rows if r["time_precision"] == "minute"]
    return np.array([t % DAY for t in found if t is not None], dtype=np.int64)


def read_labels(path: Path, rng: np.random.Generator) -> Labels:
    """Every usable row as a Label, in file order; `rng` draws the day-precision start times."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    minutes = start_times(rows)
    skipped: collections.Counter[str] = collections.Counter()
    labels = []
    fixed: collections.Counter[str] = collections.Counter()
    for row in rows:
        place = _place(row)
        extent = row["extent"].strip().lower()
        start = _time(row["start_utc"])
        if isinstance(place, str):
            skipped[place] += 1
            continue
        if extent.startswith(NOT_CONNECTIVITY):
            skipped["service-based or throttling: no connectivity loss"] += 1
            continue
        if start is None:
            skipped["no start time"] += 1
            continue
        end = _time(row["end_utc"])
        if row["time_precision"] == "day":  # a day: the time of day as IODA's starts fall
            offset = int(rng.choice(minutes))
            start += offset
            end = None if end is None or end <= start - offset else end + offset
        if end is not None and end <= start < end + DAY:  # Myanmar's 18:30 -> 02:30 rows
            end, fixed[_NEXT] = end + DAY, fixed[_NEXT] + 1
        if end is None or end <= start:
            end, fixed[_DEFAULT] = start + DEFAULT_DURATION, fixed[_DEFAULT] + 1
        if end - start > MAX_DURATION:
            end, fixed[_CAP] = start + MAX_DURATION, fixed[_CAP] + 1
        deliberate = {"yes": True, "no": False}.get(row["deliberate_shutdown"].strip())
        labels.append(
            Label(
                source=row["source"],
                source_id=row["source_id"],
                entity=place[0],
                country=place[1],
                start=start,
                end=end,
                deliberate=deliberate,
                bgp=_flag(row["bgp_visible"]),
                ap=_flag(row["ap_visible"]),
                mobile="mobile" in extent,
                cause=row["cause"].strip(),
            )
        )
    return Labels(labels=tuple(labels), skipped=dict(skipped), fixed=dict(fixed))
