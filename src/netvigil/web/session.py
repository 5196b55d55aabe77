"""Who is at the browser: the web session, its CSRF token, and logging in and out.

- Login makes a session cookie (HttpOnly, SameSite=Strict; Secure on https); every form
  carries the session's CSRF token, checked with a constant-time comparison (of the bytes:
  `hmac.compare_digest` refuses non-ASCII text with a TypeError, and a form is hostile
  input); the login form itself uses a double-submit cookie (`PRE`). Guessing is bounded per
  account in the database, and a browser the member logged in from keeps its own allowance
  (device cookies, incidents/logins.py).
- Every explorer page may show who is logged in: `principal(request, site)` is the one read
  of the session (a database read: call it in a worker thread, as `layout.page` runs
  handlers), and `header(request, site)` the context base.html's header needs.
- `handler(site, work, post=...)` is the endpoint of a page that reads the session: it reads
  the form, refuses a POST without the session's token (403, nothing changed), runs `work`
  in a worker thread and answers an incident refusal (`IncidentError`) with its own status.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
from collections.abc import Callable
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from netvigil.incidents import logins
from netvigil.incidents.access import ANONYMOUS, Principal
from netvigil.incidents.errors import IncidentError, NotFound
from netvigil.incidents.exports import text_of
from netvigil.incidents.levels import Level
from netvigil.web.layout import render
from netvigil.web.site import Site

SESSION, PRE, DEVICE = "netvigil_session", "netvigil_csrf", "netvigil_device"
NO_STORE = {"Cache-Control": "no-store"}  # a page naming its reader is no one else's
UNSEEN = "No such incident, or not one you may read."  # the same words for both, on purpose
EXPIRED = "This form has expired; go back and try again."


def principal(request: Request, site: Site) -> tuple[Principal, str, str]:
    """(who, CSRF token, organisation name) of the request: a live session's member, else
    the anonymous public with the login form's double-submit token (or "")."""
    token = request.cookies.get(SESSION)
    instance = site.instance
    found = logins.by_session(instance.engine, token, instance.now()) if token else None
    who, csrf = found or (ANONYMOUS, request.cookies.get(PRE, ""))
    org = instance.org_names().get(who.org_id or "", "") if who.org_id else ""
    return who, csrf, org


def header(request: Request, site: Site) -> dict[str, Any]:
    """What base.html's header reads: `render(request, name, **header(request, site))`."""
    who, csrf, org = principal(request, site)
    return {"who": who, "csrf": csrf, "org_name": org}


def same_token(given: str, expected: str) -> bool:
    """The form's token is the session's, compared in constant time; "" never matches."""
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


class Visit(msgspec.Struct, frozen=True, kw_only=True):
    """One request to a session page: who asks, their token, the form and the path's and
    query's parameters."""

    request: Request
    who: Principal
    csrf: str
    org_name: str
    form: dict[str, str]
    params: dict[str, str]

    def render(self, name: str, code: int = 200, **context: Any) -> HTMLResponse:
        return render(
            self.request,
            name,
            code,
            NO_STORE,
            who=self.who,
            csrf=self.csrf,
            org_name=self.org_name,
            text=text_of,
            plain=lambda level: Level.parse(level).plain,
            **context,
        )

    def refused(self, status: int, reason: str) -> HTMLResponse:
        return self.render("error.html", status, status=status, reason=reason)


Work = Callable[[Visit], Response]


def handler(site: Site, work: Work, *, post: bool = False) -> Callable[[Request], Any]:
    async def handle(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()} if post else {}
        who, csrf, org = await asyncio.to_thread(principal, request, site)
        params = {**dict(request.query_params), **request.path_params}
        visit = Visit(request=request, who=who, csrf=csrf, org_name=org, form=form, params=params)
        if post and not same_token(form.get("csrf", ""), csrf):
            return visit.refused(403, EXPIRED)
        try:
            return await asyncio.to_thread(work, visit)
        except IncidentError as exc:  # the one translation: a refusal's own status
            return visit.refused(exc.status, UNSEEN if isinstance(exc, NotFound) else str(exc))

    return handle


def see_other(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303, headers=NO_STORE)


def routes(site: Site) -> list[Route]:
    instance = site.instance
    secure = instance.url.startswith("https://")

    def login_form(visit: Visit) -> Response:
        token = secrets.token_urlsafe(32)
        # The header's logout form (a member here already) keeps the session's token.
        response = visit.render("incidents/login.html", login_token=token)
        response.set_cookie(PRE, token, httponly=True, samesite="strict", secure=secure)
        return response

    def login(visit: Visit, device: str) -> Response:
        name, password = visit.form.get("name", "")[:200], visit.form.get("password", "")
        tried = logins.attempt(instance.engine, name, password, device, instance.now())
        if tried.status == "throttled":
            return visit.refused(
                429,
                "Too many failed attempts for this name; try again in 15 minutes, "
                "or from a browser you have logged in from before.",
            )
        if tried.status == "wrong":
            return visit.refused(401, "Wrong name or password.")
        response = see_other("/incidents")
        response.set_cookie(
            SESSION,
            tried.session,
            httponly=True,
            samesite="strict",
            secure=secure,
            max_age=logins.SESSION_HOURS * 3600,
        )
        response.set_cookie(  # sent to the login form only
            DEVICE,
            tried.device,
            httponly=True,
            samesite="strict",
            secure=secure,
            max_age=logins.DEVICE_DAYS * 86400,
            path="/login",
        )
        response.delete_cookie(PRE)
        return response

    async def login_with_device(request: Request) -> Response:
        device = request.cookies.get(DEVICE, "")
        response: Response = await handler(site, lambda v: login(v, device), post=True)(request)
        return response

    async def logout_and_forget(request: Request) -> Response:
        response: Response = await handler(site, lambda v: see_other("/incidents"), post=True)(
            request
        )
        if response.status_code == 303 and (token := request.cookies.get(SESSION)):
            await asyncio.to_thread(logins.logout, instance.engine, token)
            response.delete_cookie(SESSION)
        return response

    return [
        Route("/login", handler(site, login_form), methods=["GET"], include_in_schema=False),
        Route("/login", login_with_device, methods=["POST"], include_in_schema=False),
        Route("/logout", logout_and_forget, methods=["POST"], include_in_schema=False),
    ]
