"""Who serves a blockpage and what product it runs, from the fingerprints one response matches.

A response often matches several rows: Russian ISPs' pages quote the national register
(``ooni.ru_5``, scope nat) beside their own text (``cl.isp_ru_...``, isp); Batelco's page
forwards into Netsweeper (``ooni.bh_0`` isp, ``cl.prod_netsweeper_inject_3`` prod). We answer two
questions separately, both from the matched rows only:

* **scope** — the narrowest operator a row names: an institution's own signature before an
  ISP's, an ISP's before a country's (a national order is carried out by the ISP whose page it
  is); a product's only when no operator's row matched (a product is always deployed by someone,
  and the row that names that someone says more); a vague blocking word last. ``fp`` rows are not
  blocking evidence: they are kept apart as evidence of a legitimate page (Censored Planet's
  matcher lets them veto a blockpage; we report both and let the verdict weigh them).
* **vendor** — the product of the first row (in list order) that names one, whatever its scope:
  Batelco's page is ISP-scoped *and* Netsweeper's. A row whose own scope is not ``prod`` but
  whose names identify a product (OONI's ``ooni.au_2``, other name ``cl.prod_contentkeeper``)
  counts as product evidence for the scope too.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import msgspec

from netvigil.analysis.fingerprint_model import FingerprintMatch, confirms
from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.verdicts import LayerVerdict, Outcome

__all__ = ["SCOPE_ORDER", "Attribution", "attribute", "attributed_scope", "blockpage_vendor"]

# Narrowest operator first, then product, then vague words (module docstring).
SCOPE_ORDER: Final = ("inst", "isp", "nat", "prod", "vbw")
_RANK: Final = {scope: i for i, scope in enumerate(SCOPE_ORDER)}


class Attribution(msgspec.Struct, frozen=True, kw_only=True):
    """The blocking evidence of one response: its scope, its vendor and the rows behind them.

    ``scope`` is ``None`` when no blocking row matched; ``decisive`` is the match that gave the
    scope, ``vendor_match`` the one that named the vendor; ``false_positive`` the ``fp`` rows
    that matched (evidence of a legitimate page).
    """

    scope: str | None
    vendor: str | None
    decisive: FingerprintMatch | None
    vendor_match: FingerprintMatch | None
    false_positive: tuple[FingerprintMatch, ...]


def attributed_scope(match: FingerprintMatch) -> str | None:
    """The scope a match argues for: ``prod`` if its row names a product, else the row's scope
    if it is one of SCOPE_ORDER (``fp``, ``injb``, ``prov`` argue for none)."""
    if match.fingerprint.scope == "fp":
        return None
    if match.vendor is not None:
        return "prod"
    scope = match.fingerprint.scope
    return scope if scope in _RANK else None


def attribute(matches: Iterable[FingerprintMatch]) -> Attribution:
    """Scope and vendor of one response's matches (HTTP and/or DNS, in list order)."""
    decisive: FingerprintMatch | None = None
    vendor_match: FingerprintMatch | None = None
    false_positive: list[FingerprintMatch] = []
    for match in matches:
        if match.fingerprint.scope == "fp":
            false_positive.append(match)
            continue
        if vendor_match is None and match.vendor is not None:
            vendor_match = match
        scope = attributed_scope(match)
        if scope is None:
            continue
        best = attributed_scope(decisive) if decisive is not None else None
        if best is None or _RANK[scope] < _RANK[best]:
            decisive = match
    return Attribution(
        scope=attributed_scope(decisive) if decisive is not None else None,
        vendor=vendor_match.vendor if vendor_match is not None else None,
        decisive=decisive,
        vendor_match=vendor_match,
        false_positive=tuple(false_positive),
    )


def blockpage_vendor(
    primary: LayerVerdict | None,
    fingerprints: FingerprintDB,
    probe_cc: str,
    dns_answers: Iterable[str] = (),
) -> str | None:
    """The product the decisive blockpage of a blocked web_connectivity verdict names, if any.

    An HTTP blockpage verdict names its fingerprint in its technique (``http_blockpage:<name>``,
    analysis/http_rules.py); a DNS one (``dns.blockpage_answer``, analysis/dns_rules.py) is the
    first confirming row of the sorted answers, which is the rule dns_rules applies.
    """
    if primary is None or primary.outcome is not Outcome.BLOCKED:
        return None
    technique = primary.technique or ""
    if technique.startswith("http_blockpage:"):
        fp = fingerprints.named(technique.removeprefix("http_blockpage:"))
        return fp.vendor if fp is not None else None
    if primary.rule == "dns.blockpage_answer":
        for ip in sorted(set(dns_answers)):
            for match in fingerprints.match_dns(ip):
                if confirms(match.fingerprint, probe_cc):
                    return match.vendor
    return None
