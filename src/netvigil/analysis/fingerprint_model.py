"""The fingerprint row, its match, and the confirmation rule (split from fingerprints.py so that
the loaders of each list, fingerprints.py and fingerprint_censoredplanet.py, share them)."""

from __future__ import annotations

from typing import Final

import msgspec

__all__ = [
    "Fingerprint",
    "FingerprintError",
    "FingerprintMatch",
    "confirms",
    "is_false_positive_page",
]

# With no expected_countries, only scopes naming a real censor (national, ISP, institution,
# middlebox product) confirm. OONI's is_confirmed accepts only isp/nat there; prod and inst
# pages are just as specific to a filtering deployment, so we accept them too.
_CONFIRMING_SCOPES: Final = frozenset({"nat", "isp", "inst", "prod"})


class FingerprintError(ValueError):
    """The fingerprint files cannot be used; the message is one line naming the file and row."""


class Fingerprint(msgspec.Struct, frozen=True, kw_only=True):
    """One list row. ``location_found`` is ``dns``, ``body`` or ``header.<lowercase name>``.

    ``other_names`` are the row's names in other lists (OONI's CSV column, e.g. the Citizen Lab
    name of an OONI row); ``vendor`` is the product the names identify (analysis/vendors.py),
    ``None`` when they name none.
    """

    name: str
    scope: str
    location_found: str
    pattern_type: str
    pattern: str
    expected_countries: tuple[str, ...]
    source: str
    confidence_no_fp: int | None
    other_names: tuple[str, ...] = ()
    vendor: str | None = None
    decoded: str | None = None


class FingerprintMatch(msgspec.Struct, frozen=True, kw_only=True):
    """A fingerprint found in a response.

    ``location`` is ``dns``, ``body`` or ``header.<lowercase name>``. ``witness`` is what matched:
    the DNS answer, the whole header value, or for a body the matched text (the pattern itself
    for literal rows, the regex's match for ``regexp`` rows).
    """

    fingerprint: Fingerprint
    location: str
    witness: str

    @property
    def vendor(self) -> str | None:
        """The product this match identifies (the fingerprint's vendor), if any."""
        return self.fingerprint.vendor


def is_false_positive_page(fp: Fingerprint) -> bool:
    """True for ``fp`` rows: known non-censorship pages (CDN/WAF/captcha/parking)."""
    return fp.scope == "fp"


def confirms(fp: Fingerprint, probe_cc: str) -> bool:
    """Whether a match of ``fp`` in a measurement from ``probe_cc`` confirms blocking.

    ``fp`` rows recognise a legitimate page and ``vbw`` ("vague blocking word") rows are
    too generic to stand alone. A row that names countries confirms only there (stricter than
    OONI's is_confirmed, which also accepts any isp/nat row elsewhere: a national blockpage IP
    seen from another country is more likely a resolver quirk than that country's censor).
    """
    if fp.scope in ("fp", "vbw"):
        return False
    if fp.expected_countries:
        return probe_cc.upper() in fp.expected_countries
    return fp.scope in _CONFIRMING_SCOPES
