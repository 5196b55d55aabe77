"""Vendor attribution: which filtering product a blockpage fingerprint identifies.

The fingerprint lists name their product rows after the product: Citizen Lab's
(filtering-annotations, carried in OONI's CSV as ``cl.prod_<vendor>_...`` or in ``other_names``)
and Censored Planet's (``a_prod_<vendor>_N``, in OONI's CSV as ``cp.a_prod_...``, some ISP or
corporate rows as ``..._using_a_prod_<vendor>``). ``data/fingerprints/vendors.csv`` maps the
``<vendor>`` token of those names to a product name, with the evidence for each mapping, plus a
few rows whose name does not say but whose OONI notes do (``kind=row``, exact fingerprint name).

A name identifies a product only through the table: a token missing from it gives ``None``
(never a guess), and tests/analysis/test_fingerprints.py checks that every ``prod`` token in the
bundled lists is in the table.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Iterable, Mapping
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Final

import msgspec

__all__ = ["VENDORS_FILE", "VendorError", "VendorRule", "VendorTable", "product_token"]

VENDORS_FILE: Final = "vendors.csv"
_KINDS: Final = frozenset({"product", "row"})
# `prod_` starts the product part in both lists' names: `cl.prod_zscaler_block`,
# `cl.dns_prod_skydns_1`, `cp.a_prod_fortinet_3`, `cp.d_corp_mckesson_using_a_prod_paloalto`.
_PROD: Final = re.compile(r"(?:^|[._])prod_([a-z0-9_]+)")


class VendorError(ValueError):
    """The vendor table cannot be used; the message is one line naming the file and line."""


class VendorRule(msgspec.Struct, frozen=True, kw_only=True):
    """One line of vendors.csv: ``kind`` is ``product`` (a name token) or ``row`` (a name)."""

    kind: str
    key: str
    vendor: str
    evidence: str


def product_token(name: str) -> str | None:
    """The text after ``prod_`` in a name: ``cl.prod_zscaler_block`` -> ``zscaler_block``."""
    m = _PROD.search(name)
    return m.group(1) if m else None


class VendorTable:
    """The loaded table; :meth:`vendor_of` attributes a fingerprint by its names."""

    __slots__ = ("_rows", "_rules", "_tokens")

    def __init__(self, rules: Iterable[VendorRule]) -> None:
        self._rules = tuple(rules)
        self._rows: Mapping[str, str] = {r.key: r.vendor for r in self._rules if r.kind == "row"}
        # Longest token first, so `cisco_opendns` wins over `cisco` and `squidguard` over `squid`.
        tokens = [(r.key, r.vendor) for r in self._rules if r.kind == "product"]
        self._tokens = tuple(sorted(tokens, key=lambda kv: -len(kv[0])))

    @classmethod
    def load(cls, folder: Traversable | None = None) -> VendorTable:
        """The bundled table (``None``, cached) or ``vendors.csv`` in ``folder``."""
        if folder is None:
            return _bundled()
        return cls(_read(folder.joinpath(VENDORS_FILE)))

    @property
    def rules(self) -> tuple[VendorRule, ...]:
        return self._rules

    def vendor_of_token(self, token: str) -> str | None:
        """The product a name's ``prod_`` part names: a table token equal to it or to its start
        up to an underscore (``fortiguard_webfilter_blocktext`` -> ``fortiguard``)."""
        for key, vendor in self._tokens:
            if token == key or token.startswith(key + "_"):
                return vendor
        return None

    def vendor_of(self, name: str, other_names: Iterable[str] = ()) -> str | None:
        """The product fingerprint ``name`` (or one of its other names) identifies, if any."""
        if name in self._rows:
            return self._rows[name]
        for candidate in (name, *other_names):
            token = product_token(candidate)
            if token is not None and (vendor := self.vendor_of_token(token)) is not None:
                return vendor
        return None


@functools.cache
def _bundled() -> VendorTable:
    return VendorTable.load(resources.files("netvigil") / "data" / "fingerprints")


def _read(source: Traversable) -> tuple[VendorRule, ...]:
    try:
        text = source.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise VendorError(f"{source}: cannot read the vendor table ({exc})") from exc
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rules: list[VendorRule] = []
    try:
        for row in reader:
            values = [(row.get(c) or "").strip() for c in ("kind", "key", "vendor", "evidence")]
            kind, key, vendor, evidence = values
            if kind not in _KINDS:
                raise ValueError(f"kind {kind!r} is not product or row")
            if not (key and vendor and evidence):
                raise ValueError("key, vendor and evidence must all be given")
            rules.append(VendorRule(kind=kind, key=key, vendor=vendor, evidence=evidence))
    except (ValueError, csv.Error) as exc:
        msg = str(exc).replace("\n", " ")
        raise VendorError(f"{source}: line {reader.line_num}: {msg}") from exc
    return tuple(rules)
