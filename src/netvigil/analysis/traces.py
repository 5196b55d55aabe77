"""Reading single fields of OONI traces the way OONI's own code reads them.

Tags (`depth=N`, `fetch_body=`; ts-017), the page title (measurexlite/web.go), UTF-8 lengths
and the ASNs a measurement records about its own addresses: what :mod:`observe` needs to
decode a measurement into the model (the test helper reads titles the same way).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from netvigil.records import WebConnectivityKeys

# measurexlite/web.go: the title as the probe's own code extracts it, `(?i)<title>([^<]{1,512})
# </title>`. Spelling the case folds out ([tT]...) is equivalent for these ASCII letters (Go's
# simple folding maps t, i, l, e only to their other case) and lets `re` scan for the literal
# "<" instead of trying a case-insensitive match at every offset of a 512 KiB body.
_TITLE = re.compile(r"<[tT][iI][tT][lL][eE]>([^<]{1,512})</[tT][iI][tT][lL][eE]>")


def tag_depth(tags: list[str] | None) -> int | None:
    """The `depth=N` tag (redirect depth, ts-017); the last valid one wins, as in OONI."""
    return endpoint_tags(tags)[0]


Tags = tuple[int | None, bool | None]
# A measurement's steps share a handful of tag lists (`depth=0`, `fetch_body=true`,
# `classic`, ...), so each is parsed once; the bound keeps odd input from growing the memo.
_PARSED: dict[tuple[str, ...], Tags] = {}
_MAX_PARSED = 4096


def endpoint_tags(tags: list[str] | None) -> Tags:
    """`depth=` and `fetch_body=` (False for connectivity-only checks, ts-017 E001)."""
    if not tags:
        return None, None
    key = tuple(tags)
    found = _PARSED.get(key)
    if found is None:
        found = _parse_tags(key)
        if len(_PARSED) < _MAX_PARSED:
            _PARSED[key] = found
    return found


def _parse_tags(tags: tuple[str, ...]) -> Tags:
    """Both tags in one pass over the list (minipipeline/utils.go utilsExtractTag*)."""
    depth: int | None = None
    fetch_body: bool | None = None
    for tag in tags:
        if tag[:6] == "depth=":
            value = tag[6:]
            if value.isdigit():
                depth = int(value)
        elif tag[:11] == "fetch_body=":
            fetch_body = tag == "fetch_body=true"
    return depth, fetch_body


def title_of(body: str) -> str:
    match = _TITLE.search(body)
    return match.group(1) if match else ""


def asn_table(keys: WebConnectivityKeys) -> dict[str, int]:
    """IP → ASN from the measurement itself: answers' `asn` and the control's `ip_info`.

    OONI's probe looks ASNs up in its own MaxMind-format database at analysis time; the
    measurement already records those lookups, so re-analysis needs no database.
    """
    table: dict[str, int] = {}
    for query in keys.queries or ():
        for answer in query.answers or ():
            address = answer.address
            if address and answer.asn:
                table.setdefault(address, answer.asn)
    if keys.control is not None:
        for address, info in (keys.control.ip_info or {}).items():
            if info.asn:
                table.setdefault(address, info.asn)
    return table


def utf8_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", errors="surrogatepass"))


class ASNTable(Mapping[str, int]):
    """:func:`asn_table`, computed on first use: most layered verdicts never ask for an ASN."""

    __slots__ = ("_keys", "_table")

    def __init__(self, keys: WebConnectivityKeys) -> None:
        self._keys = keys
        self._table: dict[str, int] | None = None

    def _lookup(self) -> dict[str, int]:
        if self._table is None:
            self._table = asn_table(self._keys)
        return self._table

    def __getitem__(self, address: str) -> int:
        return self._lookup()[address]

    def __iter__(self) -> Iterator[str]:
        return iter(self._lookup())

    def __len__(self) -> int:
        return len(self._lookup())
