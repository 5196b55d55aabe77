"""Naive reference matcher: the obviously-correct baseline for differential tests and the bench.

It tries every fingerprint row in CSV order with plain ``str`` operations and ``re.search``,
i.e. the semantics that :class:`~netvigil.analysis.fingerprints.FingerprintDB` implements with an
Aho-Corasick automaton. Both must return identical tuples. Not for production use: it scans each
body once per row (~1,300 times).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from netvigil.analysis.fingerprints import Fingerprint, FingerprintMatch

__all__ = ["NaiveMatcher"]


class NaiveMatcher:
    """Sequential matcher over ``rows`` (DNS and/or HTTP fingerprints, in CSV order)."""

    def __init__(self, rows: Iterable[Fingerprint]) -> None:
        self._rows = tuple(rows)
        # Compiled once here so that timing the matcher measures matching, not compiling.
        self._regex = {
            i: re.compile(fp.pattern)
            for i, fp in enumerate(self._rows)
            if fp.pattern_type == "regexp"
        }
        self._decoded = {
            i: re.compile(fp.decoded) for i, fp in enumerate(self._rows) if fp.decoded is not None
        }

    def match_dns(self, answer: str) -> tuple[FingerprintMatch, ...]:
        return tuple(
            FingerprintMatch(fingerprint=fp, location="dns", witness=answer)
            for fp in self._rows
            if fp.location_found == "dns" and fp.pattern == answer
        )

    def match_http(
        self, body: str | None, headers: Mapping[str, str] | None
    ) -> tuple[FingerprintMatch, ...]:
        out: list[FingerprintMatch] = []
        for i, fp in enumerate(self._rows):
            if fp.location_found == "body" and body is not None:
                witness = self._apply(i, fp, body)
                if witness is None and i in self._decoded:
                    m = self._decoded[i].search(body)
                    witness = m.group() if m is not None else None
                if witness is not None:
                    out.append(FingerprintMatch(fingerprint=fp, location="body", witness=witness))
            elif fp.location_found.startswith("header."):
                for name, value in (headers or {}).items():
                    if name.lower() == fp.location_found[len("header.") :] and (
                        self._apply(i, fp, value) is not None
                    ):
                        loc = fp.location_found
                        out.append(FingerprintMatch(fingerprint=fp, location=loc, witness=value))
                        break
        return tuple(out)

    def _apply(self, i: int, fp: Fingerprint, text: str) -> str | None:
        """The matched text if ``fp`` matches ``text``, else None."""
        if fp.pattern_type == "full":
            return fp.pattern if text == fp.pattern else None
        if fp.pattern_type == "prefix":
            return fp.pattern if text.startswith(fp.pattern) else None
        if fp.pattern_type == "contains":
            return fp.pattern if fp.pattern in text else None
        m = self._regex[i].search(text)
        return m.group() if m is not None else None
