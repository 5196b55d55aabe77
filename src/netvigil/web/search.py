"""`/search?q=`: from what a person types to the page about it.

What `q` may be, tried in this order, the first exact match winning (a 303 to its page):
a measurement uid the instance holds; an AS number (`AS1234`, `as1234`, `1234`) of a network
it has measurements from; a country, by ISO code or by name in English or the page's
language (Babel's CLDR names, ISO 3166's official and common names); a website, by domain or
by a URL whose host it is. Otherwise the results page lists what matched in part (countries,
networks by AS name, domains), or says that nothing did; one partial match is redirected to
as well. An empty or over-long `q` is a 400 page: there is nothing to look for.
"""

from __future__ import annotations

import functools
import re
from typing import Any
from urllib.parse import quote, urlsplit

import pycountry
from babel import Locale
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from netvigil.observatory.data import query_rows
from netvigil.observatory.query import BadQuery, once
from netvigil.web.layout import Refused, language, page, render
from netvigil.web.measurement import UID
from netvigil.web.names import country_name, is_country, parse_asn
from netvigil.web.site import Site

MAX_Q = 300  # the search box's maxlength
MAX_LISTED = 20
_DOMAIN = re.compile(r"(?i)(?=.{1,253}$)([\w-]{1,63}\.)+[\w-]{2,63}\.?")


@functools.cache
def country_names(lang: str) -> dict[str, str]:
    """Lower-case name → code, in English, ISO 3166's spellings and `lang`."""
    names: dict[str, str] = {}
    for country in pycountry.countries:
        for attr in ("name", "common_name", "official_name"):
            if (text := getattr(country, attr, None)) is not None:
                names[str(text).casefold()] = country.alpha_2
    for locale in dict.fromkeys(("en", lang)):
        for code, text in Locale.parse(locale).territories.items():
            if len(code) == 2 and code.isalpha() and is_country(code):
                names[text.casefold()] = code
    return names


def _held(site: Site, sql: str, args: list[object]) -> list[dict[str, Any]]:
    return query_rows(site.tables, sql, args)


def exact(site: Site, q: str, lang: str) -> str | None:
    """The one page `q` names exactly, if the instance has it."""
    if UID.fullmatch(q) and _held(
        site, "SELECT 1 FROM analysis WHERE measurement_uid = ? LIMIT 1", [q]
    ):
        return f"/measurement/{q}"
    asn = parse_asn(q) if not q.isdigit() else parse_asn(f"AS{q}") if len(q) <= 10 else None
    if asn is not None:
        known = _held(site, "SELECT 1 FROM analysis WHERE probe_asn = ? LIMIT 1", [asn])
        return f"/network/AS{asn}" if known else None
    if len(q) == 2 and is_country(q.upper()) and q.upper() != "ZZ":
        return f"/country/{q.upper()}"
    if (cc := country_names(lang).get(q.casefold())) is not None:
        return f"/country/{cc}"
    host = domain_of(q)
    if host is not None and _held(site, "SELECT 1 FROM analysis WHERE domain = ? LIMIT 1", [host]):
        return f"/domain/{quote(host)}"
    return None


def domain_of(q: str) -> str | None:
    """The host a URL or a bare domain names, lower case; None when `q` is neither."""
    text = q if "://" in q else f"http://{q}" if _DOMAIN.fullmatch(q.split("/")[0]) else ""
    try:
        host = urlsplit(text).hostname if text else None
    except ValueError:
        return None
    return host.rstrip(".") if host and _DOMAIN.fullmatch(host) else None


def partial(site: Site, q: str, lang: str) -> list[dict[str, str]]:
    """What `q` matches in part: countries, networks by name, domains; each with its page."""
    needle = q.casefold()
    found: dict[str, dict[str, str]] = {}
    # Two letters are a code or nothing: "zz" is in "Congo - Brazzaville" but names neither.
    names = sorted(country_names(lang).items()) if len(needle) > 2 else []
    for name, cc in names:
        if needle in name and f"/country/{cc}" not in found:
            found[f"/country/{cc}"] = {"kind": "country", "label": country_name(cc, lang)}
    pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    networks = _held(
        site,
        "SELECT probe_asn, mode(probe_network_name) AS name FROM analysis "
        "WHERE probe_network_name ILIKE ? ESCAPE '\\' GROUP BY probe_asn ORDER BY probe_asn "
        f"LIMIT {MAX_LISTED}",
        [pattern],
    )
    for row in networks:
        found[f"/network/AS{row['probe_asn']}"] = {
            "kind": "network",
            "label": f"AS{row['probe_asn']} · {row['name']}",
        }
    host = domain_of(q) or needle
    domains = _held(
        site,
        "SELECT DISTINCT domain FROM analysis WHERE domain ILIKE ? ESCAPE '\\' "
        f"ORDER BY domain LIMIT {MAX_LISTED}",
        ["%" + host.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"],
    )
    for row in domains:
        found[f"/domain/{quote(str(row['domain']))}"] = {
            "kind": "domain",
            "label": str(row["domain"]),
        }
    return [{"href": href, **what} for href, what in list(found.items())[: 3 * MAX_LISTED]]


def search(request: Request, site: Site) -> Response:
    pairs = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    once(pairs)
    if any(k != "q" for k, _ in pairs):
        raise BadQuery("this page takes one parameter, q")
    q = request.query_params.get("q", "").strip()
    if not q:
        raise Refused("Type what to look for: a country, an AS number, a website or a measurement.")
    if len(q) > MAX_Q:
        raise Refused(f"That is too long to look for: at most {MAX_Q} characters.")
    lang = language(request)
    target = exact(site, q, lang)
    if target is not None:
        return RedirectResponse(target, status_code=303)
    matches = partial(site, q, lang)
    if len(matches) == 1:
        return RedirectResponse(matches[0]["href"], status_code=303)
    return render(request, "search.html", q=q, matches=matches)


def routes(site: Site) -> list[Route]:
    return [Route("/search", page(site, search), methods=["GET"], include_in_schema=False)]
