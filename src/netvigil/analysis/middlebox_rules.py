"""The middlebox nettests' rules (rule id -> (blocked, down, ok)) and their shared words.

A tampering rule whose argmax is "blocked" gives the outcome "tampered" (verdicts.RuleBook):
what reached the echo helper was altered on the way; nothing was refused.
"""

from __future__ import annotations

from typing import NamedTuple

from netvigil.analysis.middlebox_products import Identified
from netvigil.analysis.verdicts import Finding, Layer, LayerVerdict, RuleBook, Witness

RULES = RuleBook(
    {
        # http_header_field_manipulation
        "hhfm.no_request": (0.0, 0.0, 0.0),  # the probe recorded no request (fastpath: accuracy 0)
        "hhfm.helper_unreachable": (0.0, 0.0, 0.0),  # no response: helper down, or cut off
        # The helper always answers 200 (oonib SimpleHTTPChannel); another status came from
        # something else on the path, or from a broken front of the helper.
        "hhfm.unexpected_status": (0.6, 0.4, 0.0),
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
)

HEADER_REWRITE = "middlebox.header_rewrite"
LINE_REWRITE = "middlebox.request_line_rewrite"
PROXY = "middlebox.transparent_proxy"
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
