"""The explorer's layout: one Jinja2 environment per language, one way to render a page, and
friendly pages for what cannot be shown.

- Autoescaping everywhere: every string from the data (a domain, an AS name, an incident's
  title) is text, never markup; the Content-Security-Policy allows scripts and styles from
  this server only, so a string that slipped through could still not run (reliability.md §3.3).
- `jinja2.ext.i18n` with the request's catalogue (i18n.py): an environment per language,
  made once, so no request installs translations another is reading (the server renders in
  worker threads).
- `page(handler)` runs a page's work off the event loop and is the one place its refusals
  become pages: `Missing` → 404, `Refused` or a query the data API refuses (`BadQuery`) → 400,
  each saying in one sentence what was wrong and where to go. A bug still raises (a 500).
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from netvigil import __version__
from netvigil.observatory.query import BadQuery
from netvigil.web import i18n
from netvigil.web.names import asn_label, country_name
from netvigil.web.site import Site

HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Vary": "Accept-Language, Cookie",
}
YEAR = 365 * 86400


class Missing(Exception):
    """Nothing here by that name: a 404 page with this sentence."""


class Refused(Exception):
    """A request the page cannot answer as asked: a 400 page with this sentence."""


@functools.cache
def environment(lang: str) -> Environment:
    """The templates in `lang` (one of `i18n.available()`)."""
    env = Environment(
        loader=PackageLoader("netvigil.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(i18n.translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(
        lang=lang,
        dir=i18n.direction(lang),
        languages=i18n.available(),
        version=__version__,
        country=lambda cc: country_name(cc, lang),
        network=asn_label,
    )
    return env


def language(request: Request) -> str:
    return i18n.choose(
        request.query_params.get("lang"),
        request.cookies.get(i18n.COOKIE),
        request.headers.get("accept-language", ""),
    )


def render(
    request: Request,
    name: str,
    code: int = 200,
    headers: Mapping[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """The page `name` in the request's language; `?lang=` is remembered in a cookie."""
    lang = language(request)
    here = request.url.path
    others = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    switch = {
        other: here + "?" + urlencode([*others, ("lang", other)]) for other in i18n.available()
    }
    body = environment(lang).get_template(name).render(here=here, switch=switch, **context)
    response = HTMLResponse(body, status_code=code, headers={**HEADERS, **(headers or {})})
    asked = request.query_params.get("lang")
    if asked is not None and asked == lang:
        response.set_cookie(i18n.COOKIE, lang, max_age=YEAR, samesite="lax", httponly=True)
    return response


def refusal(request: Request, status: int, reason: str) -> HTMLResponse:
    """A friendly error page: what was wrong, in one sentence, and where to go from here."""
    return render(request, "error.html", status, status=status, reason=reason)


def wants_html(request: Request) -> bool:
    """A browser's request for a page, not the API's: HTML accepted before JSON, and not under
    `/api/` (whose clients are told in JSON)."""
    accept = request.headers.get("accept", "")
    if request.url.path.startswith("/api/") or "text/html" not in accept:
        return False
    return "application/json" not in accept or accept.index("text/html") < accept.index(
        "application/json"
    )


Handler = Callable[[Request, Site], Response]

# What social networks and newsletters add to a shared link (Facebook's fbclid, Google's
# gclid and utm_*, Mailchimp's mc_*, ...): pages drop them before reading their parameters,
# so a shared link opens instead of being refused as an unknown parameter (the API, whose
# clients are programs, still refuses what it does not know).
TRACKING = re.compile(r"utm_[a-z_]{1,32}|fbclid|gclid|dclid|msclkid|yclid|igshid|mc_cid|mc_eid")


def untracked(request: Request) -> Request:
    """The request without tracking parameters in its query string."""
    raw = request.scope.get("query_string", b"").decode("latin-1")
    pairs = parse_qsl(raw, keep_blank_values=True, encoding="latin-1")  # byte for byte
    kept = [(name, value) for name, value in pairs if not TRACKING.fullmatch(name)]
    if len(kept) == len(pairs):
        return request
    query = urlencode(kept, encoding="latin-1").encode("latin-1")
    return Request({**request.scope, "query_string": query}, request.receive)


def page(site: Site, handler: Handler) -> Callable[[Request], Any]:
    """An endpoint running `handler(request, site)` in a worker thread."""

    async def endpoint(request: Request) -> Response:
        try:
            return await asyncio.to_thread(handler, untracked(request), site)
        except Missing as exc:
            return refusal(request, 404, str(exc))
        except (Refused, BadQuery) as exc:
            return refusal(request, 400, str(exc))

    return endpoint
