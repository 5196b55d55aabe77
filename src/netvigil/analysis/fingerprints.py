"""Blockpage fingerprints: known censor answers and pages, from ooni/blocking-fingerprints.

The two CSVs (``fingerprints_dns.csv``, ``fingerprints_http.csv``; columns and scopes are
described in that repository's Readme.md and in docs/fingerprints.md) list the DNS answers and
the HTTP bodies/headers that censors' blockpages are known to produce. OONI's backend uses them to
mark a measurement *confirmed* (ooni/backend fastpath/core.py ``match_fingerprints`` and
``is_confirmed``). We differ from the fastpath on purpose:

* the fastpath does a substring search for every body row and ignores ``pattern_type``, so its
  14 ``regexp`` rows are effectively literal and never match; we honour ``pattern_type``
  everywhere (full, prefix, contains, regexp), for bodies and headers alike;
* ``fp`` rows are pages known to be *legitimate* (CDN, WAF, captcha, parking): we report them so
  that callers can use them to argue against censorship, but they never confirm blocking
  (see :func:`confirms`).

Censored Planet's newer signatures and false-positive list join the same rows, hence the same
one-pass scanner (analysis/fingerprint_censoredplanet.py), and every row carries the product
its names identify (analysis/vendors.py), so every match has a ``vendor``.

Matching is case-sensitive over ``str`` (callers decode byte bodies as UTF-8 with
``errors="replace"``); header names compare case-insensitively, as HTTP requires. Patterns
keep their bytes: a quoted CRLF stays CRLF, as in the pages it was copied from.
"""

from __future__ import annotations

import csv
import functools
import io
import pathlib
import re
from collections.abc import Mapping, Sequence
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Final

import msgspec

from netvigil.analysis.fingerprint_base64 import decoded_pattern
from netvigil.analysis.fingerprint_censoredplanet import censoredplanet_rows
from netvigil.analysis.fingerprint_index import LiteralIndex
from netvigil.analysis.fingerprint_model import (
    Fingerprint,
    FingerprintError,
    FingerprintMatch,
    confirms,
    is_false_positive_page,
)
from netvigil.analysis.vendors import VendorError, VendorTable

__all__ = [
    "Fingerprint",
    "FingerprintDB",
    "FingerprintError",
    "FingerprintMatch",
    "confirms",
    "is_false_positive_page",
]

DNS_FILE: Final = "fingerprints_dns.csv"
HTTP_FILE: Final = "fingerprints_http.csv"
PATTERN_TYPES: Final = frozenset({"full", "prefix", "contains", "regexp"})
# Columns we need; other_names is read when present; exp_url and notes are documentation only.
REQUIRED_COLUMNS: Final = (
    "name",
    "scope",
    "location_found",
    "pattern_type",
    "pattern",
    "confidence_no_fp",
    "expected_countries",
    "source",
)
VENDORS_FILE: Final = "vendors.csv"


class FingerprintDB:
    """The loaded fingerprints, indexed for fast matching. Immutable; load once and reuse."""

    __slots__ = ("_body", "_by_name", "_dns", "_dns_index", "_headers", "_http")

    def __init__(self, dns: Sequence[Fingerprint], http: Sequence[Fingerprint]) -> None:
        self._dns, self._http = tuple(dns), tuple(http)
        self._by_name: dict[str, Fingerprint] = {}
        for fp in self._dns + self._http:
            self._by_name.setdefault(fp.name, fp)
        dns_index: dict[str, list[int]] = {}
        for row, fp in enumerate(self._dns):
            dns_index.setdefault(fp.pattern, []).append(row)
        self._dns_index = {k: tuple(v) for k, v in dns_index.items()}
        by_location: dict[str, list[tuple[int, str, str]]] = {}
        for row, fp in enumerate(self._http):
            by_location.setdefault(fp.location_found, []).append((row, fp.pattern_type, fp.pattern))
            if fp.decoded is not None:
                by_location[fp.location_found].append((row, "regexp", fp.decoded))
        self._body = LiteralIndex(by_location.pop("body", []))
        # header.<name> -> index keyed by the lowercase header name.
        self._headers = {loc[7:]: LiteralIndex(e) for loc, e in by_location.items()}

    @classmethod
    def load(cls, directory: pathlib.Path | None = None) -> FingerprintDB:
        """Load the bundled CSVs (``None``, cached) or the two CSVs in ``directory``."""
        if directory is None:
            return _bundled()
        return cls._load_from(pathlib.Path(directory))

    @classmethod
    def _load_from(cls, folder: Traversable) -> FingerprintDB:
        """OONI's two CSVs, then Censored Planet's rows they lack (if the folder has the lists),
        each row given the vendor its names identify (the folder's vendors.csv, else ours)."""
        dns = _read_csv(folder.joinpath(DNS_FILE), http=False)
        http = _read_csv(folder.joinpath(HTTP_FILE), http=True)
        http += censoredplanet_rows(folder, http)
        try:
            own = folder.joinpath(VENDORS_FILE).is_file()
            table = VendorTable.load(folder if own else None)
        except VendorError as exc:
            raise FingerprintError(str(exc)) from exc
        return cls(_attributed(dns, table), _attributed(_with_decoded(http), table))

    @property
    def dns(self) -> tuple[Fingerprint, ...]:
        """DNS rows in CSV order."""
        return self._dns

    @property
    def http(self) -> tuple[Fingerprint, ...]:
        """HTTP rows in CSV order."""
        return self._http

    def named(self, name: str) -> Fingerprint | None:
        """The first row called ``name`` (a verdict's technique names its fingerprint)."""
        return self._by_name.get(name)

    def match_dns(self, answer: str) -> tuple[FingerprintMatch, ...]:
        """Rows whose pattern equals this resolver answer (IP or CNAME), in CSV order."""
        return tuple(
            FingerprintMatch(fingerprint=self._dns[row], location="dns", witness=answer)
            for row in self._dns_index.get(answer, ())
        )

    def match_http(
        self, body: str | None, headers: Mapping[str, str] | None
    ) -> tuple[FingerprintMatch, ...]:
        """Rows matching the body or a header, one per row, in CSV order.

        With repeated header names (e.g. ``Location`` and ``location``), the first header in
        the mapping's order that matches provides the witness.
        """
        found: dict[int, tuple[str, str]] = {}
        if body is not None:
            for row, witness in self._body.search(body).items():
                found[row] = ("body", witness)
        for name, value in (headers or {}).items():
            index = self._headers.get(name.lower())
            if index is None:
                continue
            for row in index.search(value):
                found.setdefault(row, (self._http[row].location_found, value))
        return tuple(
            FingerprintMatch(fingerprint=self._http[row], location=loc, witness=witness)
            for row, (loc, witness) in sorted(found.items())
        )


def _attributed(rows: tuple[Fingerprint, ...], table: VendorTable) -> tuple[Fingerprint, ...]:
    return tuple(
        msgspec.structs.replace(fp, vendor=table.vendor_of(fp.name, fp.other_names)) for fp in rows
    )


def _with_decoded(rows: tuple[Fingerprint, ...]) -> tuple[Fingerprint, ...]:
    """Body rows that are base64 of a page also carry the text they encode (module docstring
    of analysis/fingerprint_base64.py); ``pattern`` stays as written, for OONI's matcher."""
    out = []
    for fp in rows:
        text = decoded_pattern(fp.pattern) if fp.location_found == "body" else None
        out.append(fp if text is None else msgspec.structs.replace(fp, decoded=text))
    return tuple(out)


@functools.cache
def _bundled() -> FingerprintDB:
    return FingerprintDB._load_from(resources.files("netvigil") / "data" / "fingerprints")


def _read_csv(source: Traversable, *, http: bool) -> tuple[Fingerprint, ...]:
    """Parse one CSV; every problem becomes a one-line FingerprintError naming file and line."""
    try:
        # Bytes, then decode: read_text's universal newlines would turn the CRLF inside six
        # quoted multi-line patterns (e.g. ooni.th_12) into LF, and CRLF pages never match.
        # "utf-8-sig" tolerates a BOM from spreadsheet tools.
        text = source.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise FingerprintError(f"{source}: cannot read fingerprint file ({exc})") from exc
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise ValueError(f"missing column(s) {', '.join(missing)}")
        return tuple(_parse_row(row, http=http) for row in reader)
    except (ValueError, csv.Error) as exc:
        msg = str(exc).replace("\n", " ")
        raise FingerprintError(f"{source}: line {reader.line_num}: {msg}") from exc


def _parse_row(row: dict[str, str | None], *, http: bool) -> Fingerprint:
    values = {c: row.get(c) for c in REQUIRED_COLUMNS}
    if any(v is None for v in values.values()):
        raise ValueError("row has fewer fields than the header")
    v = {k: (s or "").strip() for k, s in values.items()}
    name = v["name"]
    location = v["location_found"].lower()
    pattern_type = v["pattern_type"]
    pattern = values["pattern"] or ""  # leading/trailing spaces are part of some patterns
    if pattern_type not in PATTERN_TYPES:
        raise ValueError(f"{name}: unknown pattern_type {pattern_type!r}")
    if not pattern:
        raise ValueError(f"{name}: empty pattern")
    if http and location != "body" and not (location.startswith("header.") and location[7:]):
        raise ValueError(f"{name}: location_found {location!r} is not body or header.<name>")
    if not http and (location, pattern_type) != ("dns", "full"):
        raise ValueError(f"{name}: DNS rows must be location_found=dns, pattern_type=full")
    if pattern_type == "regexp":
        try:
            re.compile(pattern)
        except (re.error, OverflowError, RecursionError) as exc:
            raise ValueError(f"{name}: regexp {pattern!r} does not compile ({exc})") from exc
    raw_confidence = v["confidence_no_fp"]
    try:
        confidence = int(raw_confidence) if raw_confidence else None
    except ValueError:
        raise ValueError(f"{name}: confidence_no_fp {raw_confidence!r} is not an int") from None
    others = tuple(n.strip() for n in (row.get("other_names") or "").split(",") if n.strip())
    countries = tuple(cc.strip().upper() for cc in v["expected_countries"].split(",") if cc.strip())
    return Fingerprint(
        name=name,
        scope=v["scope"],
        location_found=location,
        pattern_type=pattern_type,
        pattern=pattern,
        expected_countries=countries,
        source=v["source"],
        confidence_no_fp=confidence,
        other_names=others,
    )
