"""Names beside codes, everywhere: countries by name in the reader's language, networks by AS
name beside their number.

Country names come from Babel's CLDR territory names (localised: "Iran" in English, "ایران" in
Persian), falling back to ISO 3166's English name (pycountry) and then the code itself; a code
that is no country is refused by the pages before it gets here (`CC`). AS names come from the
observatory's data: the GeoIP database's name for analysed addresses, else what probes called
their network (`ObservatoryData.networks`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

import pycountry
from babel import Locale

from netvigil.web.site import Site

CC = re.compile(r"[A-Z]{2}")
ASN = re.compile(r"(?i)AS(\d{1,10})")
MAX_ASN = 2**32 - 1  # AS numbers are 32 bits (RFC 6793)


@functools.cache
def _territories(lang: str) -> dict[str, str]:
    return dict(Locale.parse(lang).territories)


def is_country(cc: str) -> bool:
    """An ISO 3166-1 alpha-2 code of a country (or OONI's ZZ, "unknown")."""
    return cc == "ZZ" or (
        CC.fullmatch(cc) is not None and pycountry.countries.get(alpha_2=cc) is not None
    )


def country_name(cc: str, lang: str = "en") -> str:
    """The country's name in `lang`; OONI's ZZ is "unknown country"."""
    if cc == "ZZ":
        return "—"
    name = _territories(lang).get(cc)
    if name is None:
        found = pycountry.countries.get(alpha_2=cc) if CC.fullmatch(cc) else None
        name = getattr(found, "common_name", None) or getattr(found, "name", None) or cc
    return str(name)


def region_name(code: str) -> str:
    """ISO 3166-2's name of a region (`MM-02` → Bago), else the entity's own spelling."""
    found = pycountry.subdivisions.get(code=code)  # type: ignore[no-untyped-call]
    return str(found.name) if found is not None else code


def entity_name(entity: str, country: Callable[[str], str] = country_name) -> str:
    """A detection entity in words, countries named by `country`: `country:MM` → Myanmar
    (Burma), `region:MM-02` → Bago, Myanmar (Burma), `asn:N` → ASN (a network's name needs
    the observatory: network_names)."""
    kind, _, rest = entity.partition(":")
    if kind == "asn":
        return f"AS{rest}"
    if kind == "region":
        return f"{region_name(rest)}, {country(rest[:2])}"
    return country(rest) if kind == "country" else entity


def parse_asn(text: str) -> int | None:
    """`AS1234` (any case) → 1234; None for anything else or beyond 32 bits."""
    match = ASN.fullmatch(text)
    if match is None:
        return None
    asn = int(match.group(1))
    return asn if asn <= MAX_ASN else None


def network_names(site: Site, asns: list[int]) -> dict[int, str]:
    """AS number → name, for those the observatory knows a name of."""
    return site.data.networks(sorted(set(asns)))


def asn_label(asn: int, name: str | None) -> str:
    """ "AS197207 · Mobile Communication Company of Iran PLC", or just "AS197207"."""
    return f"AS{asn} · {name}" if name else f"AS{asn}"
