"""What the middlebox verdicts are made of: their rules, their techniques, and the products a
middlebox's behaviour names.

Rules: rule id -> (blocked, down, ok); a tampering rule whose argmax is "blocked" gives the
outcome "tampered" (verdicts.RuleBook): what reached the echo helper was altered on the way,
nothing was refused.

Products: this is middlebox-behaviour attribution (what the echo helpers saw come back);
blockpages met while fetching a site are the fingerprints' (analysis/fingerprints.py). The
table is small on purpose: every row names the evidence that identified the product, and a
product is named only when its own words or its own header are in what came back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, NamedTuple

from netvigil.analysis.verdicts import Finding, Layer, LayerVerdict, RuleBook, Witness


@dataclass(frozen=True)
class Product:
    vendor: str
    where: str  # "header:<lower-case name>" or "body"
    pattern: re.Pattern[str]  # searched in the header's value or the body
    source: str  # where this identification comes from


def _p(text: str) -> re.Pattern[str]:
    return re.compile(text, re.IGNORECASE)


PRODUCTS: tuple[Product, ...] = (
    Product(
        "Squid",
        "header:via",
        _p(r"\(squid(/[^)]*)?\)|\bsquid/"),
        "ooni/spec ts-007: a Squid cache answers 'Via: 1.0 cache_server:3128 (squid/2.6.STABLE21)'",
    ),
    Product(
        "Squid",
        "header:x-squid-error",
        _p(r"."),
        "ooni/spec ts-007: Squid's answer to an invalid request line carries X-Squid-Error",
    ),
    Product(
        "Squid",
        "header:server",
        _p(r"^squid\b"),
        "ooni/spec ts-007: the same answer's 'Server: squid/2.6.STABLE21'",
    ),
    Product(
        "Blue Coat ProxySG",
        "header:x-bluecoat-via",
        _p(r"."),
        "ooni/backend fastpath/core.py score_measurement_hhfm names X-BlueCoat-Via among the "
        "headers proxies add",
    ),
    Product(
        "AdGuard",
        "body",
        _p(r"Blocking pages for AdGuard projects"),
        "ooni/backend fastpath/tests/data/mbx-1.json (ooni/pipeline#294, 'AdGuard'): the page "
        "AdGuard answered to every invalid request line",
    ),
    Product(
        "gateprotect",
        "body",
        _p(r"GATEPROTECT FIREWALL SERVER"),
        "ooni/backend fastpath/tests/data/mbx-2.json (ooni/pipeline#293): the firewall's "
        "'ERROR: Invalid Request' page",
    ),
)


@dataclass(frozen=True)
class Identified:
    vendor: str
    where: str  # the header or body that matched, e.g. "header:via"
    matched: str  # the text that matched
    source: str


def identify(headers: Iterable[tuple[str, str]], bodies: Iterable[str] = ()) -> Identified | None:
    """The first product whose evidence is among `headers` (name, value) or `bodies`."""
    by_name: dict[str, list[str]] = {}
    for name, value in headers:
        by_name.setdefault(name.strip().lower(), []).append(value)
    texts = tuple(bodies)
    for product in PRODUCTS:
        kind, _, name = product.where.partition(":")
        values = by_name.get(name, []) if kind == "header" else list(texts)
        for value in values:
            found = product.pattern.search(value)
            if found is not None:
                shown = f"{name}: {value}" if kind == "header" else found.group(0)
                return Identified(product.vendor, product.where, shown[:200], product.source)
    return None


def response_parts(text: str) -> tuple[list[tuple[str, str]], str]:
    """The headers and body of what looks like an HTTP response (no headers otherwise)."""
    if not text.startswith("HTTP/"):
        return [], text
    head, _, body = text.replace("\r\n", "\n").partition("\n\n")
    headers = []
    for line in head.split("\n")[1:]:
        name, sep, value = line.partition(":")
        if sep and name.strip():
            headers.append((name.strip(), value.strip()))
    return headers, body


def looks_like_a_response(text: str) -> bool:
    """An HTTP status line or an HTML page: something answered in the helper's place."""
    start = text.lstrip()[:512].lower()
    return start.startswith("http/") or "<html" in start or "<!doctype html" in start


HEADER_REWRITE = "middlebox.header_rewrite"
LINE_REWRITE = "middlebox.request_line_rewrite"
PROXY = "middlebox.transparent_proxy"
TECHNIQUES: Final = frozenset({HEADER_REWRITE, LINE_REWRITE, PROXY})

RULES = RuleBook(
    {
        # http_header_field_manipulation
        "hhfm.no_request": (0.0, 0.0, 0.0),  # the probe recorded no request (fastpath: accuracy 0)
        "hhfm.helper_unreachable": (0.0, 0.0, 0.0),  # no response: helper down, or cut off
        # The helper always answers 200 (oonib SimpleHTTPChannel); another status came from
        # something else on the path, or from a broken front of the helper.
        "hhfm.unexpected_status": (0.6, 0.4, 0.0),
        "hhfm.answer_cut_off": (0.0, 0.0, 0.0),  # a 200 whose body a reset or timeout cut
        "hhfm.not_echo": (0.9, 0.05, 0.05),  # an answer, but not the helper's JSON echo
        "hhfm.echo_changed": (0.95, 0.0, 0.05),
        "hhfm.echo_intact": (0.0, 0.0, 1.0),
        # http_invalid_request_line
        "hirl.no_echo": (0.0, 0.0, 0.0),
        "hirl.echo_differs": (0.9, 0.05, 0.05),
        # Nothing came back for some lines while others were echoed: the helper was there.
        "hirl.echo_missing": (0.7, 0.3, 0.0),
        "hirl.echo_intact": (0.0, 0.0, 1.0),
    },
    tampering=frozenset(
        {
            "hhfm.unexpected_status",
            "hhfm.not_echo",
            "hhfm.echo_changed",
            "hirl.echo_differs",
            "hirl.echo_missing",
        }
    ),
    techniques=TECHNIQUES,
)

_SHOWN = 200  # characters of a received text a witness shows


def short(text: str) -> str:
    return text if len(text) <= _SHOWN else f"{text[:_SHOWN]}… ({len(text)} characters)"


def product_finding(found: Identified, ref: str) -> Finding:
    return Finding(
        kind="middlebox_product",
        layer=Layer.HTTP,
        detail=f"{found.vendor}, named by {found.where} ({found.source})",
        witnesses=(Witness(ref=ref, observed=found.matched),),
    )


class Judged(NamedTuple):
    """A nettest's one layer verdict, why it is insufficient, and the product it names."""

    layer: LayerVerdict
    reason: str | None = None
    found: Identified | None = None
    where: str = ""  # the measurement path where the product showed
