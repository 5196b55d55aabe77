"""Server-rendered pages: list, read, create, review and publish incidents, without JavaScript.

- Jinja2 with autoescaping: every member-supplied string is text, never markup; the
  Content-Security-Policy allows no script at all (`script-src 'none'`), so even a string that
  slipped through could not run (reliability.md §3.3: XSS is MISP's largest CVE class).
- Login makes a session cookie (HttpOnly, SameSite=Strict; Secure on https); every form
  carries the session's CSRF token, checked with a constant-time comparison; the login form
  itself uses a double-submit cookie. Guessing is bounded per account in the database, and
  a browser the member logged in from keeps its own allowance (device cookies, logins.py).
- The same service and access rules as the API: a page never shows more than a read would.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import secrets
from collections.abc import Callable
from importlib.resources import files
from typing import Any, get_args

import msgspec
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from netvigil.incidents import access, logins, store
from netvigil.incidents.access import ANONYMOUS, Principal
from netvigil.incidents.errors import IncidentError, NotFound
from netvigil.incidents.exports import text_of
from netvigil.incidents.filters import Filter
from netvigil.incidents.instance import Instance
from netvigil.incidents.levels import Level
from netvigil.incidents.model import IncidentInput, Kind
from netvigil.incidents.places import places
from netvigil.incidents.validate import InvalidIncident, describe

SESSION, PRE, DEVICE = "netvigil_session", "netvigil_csrf", "netvigil_device"
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
UNSEEN = "No such incident, or not one you may read."  # the same words for both, on purpose
CSS = files("netvigil.incidents").joinpath("static/netvigil.css").read_bytes()

templates = Environment(
    loader=PackageLoader("netvigil.incidents", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
)
templates.globals.update(text=text_of, plain=lambda level: Level.parse(level).plain)


class Page(msgspec.Struct, frozen=True):
    who: Principal
    csrf: str
    form: dict[str, str]


def routes(instance: Instance) -> list[Route]:
    secure = instance.url.startswith("https://")

    def html(name: str, page: Page, code: int = 200, **context: Any) -> HTMLResponse:
        org = instance.org_names().get(page.who.org_id or "", "")
        body = templates.get_template(name).render(
            who=page.who, csrf=page.csrf, org_name=org, message=None, **context
        )
        return HTMLResponse(body, status_code=code, headers=HEADERS)

    def refused(page: Page, status: int, reason: str) -> HTMLResponse:
        return html("error.html", page, status, status=status, reason=reason)

    def session(request: Request) -> tuple[Principal, str]:
        token = request.cookies.get(SESSION)
        found = logins.by_session(instance.engine, token, instance.now()) if token else None
        return found or (ANONYMOUS, request.cookies.get(PRE, ""))

    def page(work: Callable[[Page, dict[str, str]], Response], *, post: bool = False) -> Any:
        async def handle(request: Request) -> Response:
            form = {k: str(v) for k, v in (await request.form()).items()} if post else {}
            who, csrf = await asyncio.to_thread(session, request)
            current = Page(who, csrf, form)
            if post and not (csrf and hmac.compare_digest(form.get("csrf", ""), csrf)):
                return refused(current, 403, "This form has expired; go back and try again.")
            params = {**request.path_params, **dict(request.query_params)}
            try:
                return await asyncio.to_thread(work, current, params)
            except IncidentError as exc:  # the one translation: a refusal's own status
                return refused(
                    current, exc.status, UNSEEN if isinstance(exc, NotFound) else str(exc)
                )

        return handle

    def listing(p: Page, params: dict[str, str]) -> Response:
        found = instance.service.view(p.who, instance.select(p.who, Filter(limit=10**9)))
        return html("list.html", p, incidents=found)

    def show(p: Page, params: dict[str, str]) -> Response:
        service = instance.service
        incident = service.view(p.who, [service.get(p.who, params["id"])])[0]
        with instance.engine.connect() as connection:
            sharing = store.sharing_of(connection, incident)
            requester = store.requested_by(connection, incident.id)
        actions = []
        live = incident.status != "retracted"
        unpublished = incident.publication == "none" and incident.visibility != "public"
        if live and unpublished and access.can_revise(p.who, sharing):
            actions.append(("publish", "Ask to publish"))
        requested = incident.publication == "requested"
        if live and requested and access.can_review(p.who, sharing, requester):
            actions.append(("review", "Approve publication"))
        if live and access.can_retract(p.who, sharing):
            actions.append(("retract", "Retract"))
        where = places(incident, service.evidence)
        return html("show.html", p, incident=incident, actions=actions, places=where)

    def act(name: str) -> Callable[[Page, dict[str, str]], Response]:
        def work(p: Page, params: dict[str, str]) -> Response:
            ident, service = params["id"], instance.service
            if name == "publish":
                service.request_publication(p.who, ident)
            elif name == "review":
                service.review(p.who, ident, approve=True)
            else:
                service.retract(p.who, ident, p.form.get("reason", ""))
            return RedirectResponse(f"/incidents/{ident}", status_code=303, headers=HEADERS)

        return work

    def new_form(p: Page, params: dict[str, str]) -> Response:
        if p.who.kind != "member":
            return RedirectResponse("/login", status_code=303)
        return _form(p, [], 200)

    def _form(p: Page, problems: list[str], status: int) -> Response:
        groups = instance.group_names()
        levels = [(level.label, level.plain) for level in Level]
        return html(
            "new.html",
            p,
            status,
            problems=problems,
            form=p.form,
            groups=groups,
            levels=levels,
            kinds=get_args(Kind),
        )

    def create(p: Page, params: dict[str, str]) -> Response:
        f = p.form
        try:
            start = dt.datetime.fromisoformat(f.get("start", "")).replace(tzinfo=dt.UTC)
            data = msgspec.convert(
                {
                    "title": f.get("title", ""),
                    "summary": f.get("summary", ""),
                    "kind": f.get("kind", ""),
                    "start": {"time": start},
                    "countries": [
                        c.strip().upper() for c in f.get("countries", "").split(",") if c.strip()
                    ],
                    "visibility": f.get("visibility", "draft"),
                    "sharing_group": f.get("sharing_group") or None,
                },
                IncidentInput,
            )
            made = instance.service.create(p.who, data)
        except msgspec.ValidationError as exc:  # the form again, saying what to correct
            return _form(p, [describe(exc)], 400)
        except InvalidIncident as exc:
            return _form(p, exc.problems, 400)
        except ValueError as exc:  # a start that is not a date
            return _form(p, [str(exc).splitlines()[0]], 400)
        return RedirectResponse(f"/incidents/{made.id}", status_code=303, headers=HEADERS)

    def login_form(p: Page, params: dict[str, str]) -> Response:
        token = secrets.token_urlsafe(32)
        response = html("login.html", Page(p.who, token, {}))
        response.set_cookie(PRE, token, httponly=True, samesite="strict", secure=secure)
        return response

    def login(p: Page, params: dict[str, str], device: str) -> Response:
        name, password = p.form.get("name", "")[:200], p.form.get("password", "")
        tried = logins.attempt(instance.engine, name, password, device, instance.now())
        if tried.status == "throttled":
            return refused(
                p,
                429,
                "Too many failed attempts for this name; try again in 15 minutes, "
                "or from a browser you have logged in from before.",
            )
        if tried.status == "wrong":
            return refused(p, 401, "Wrong name or password.")
        response = RedirectResponse("/incidents", status_code=303, headers=HEADERS)
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
        response: Response = await page(lambda p, params: login(p, params, device), post=True)(
            request
        )
        return response

    def logout(p: Page, params: dict[str, str]) -> Response:
        return RedirectResponse("/incidents", status_code=303, headers=HEADERS)

    async def logout_and_forget(request: Request) -> Response:
        response: Response = await page(logout, post=True)(request)
        if response.status_code == 303 and (token := request.cookies.get(SESSION)):
            await asyncio.to_thread(logins.logout, instance.engine, token)
            response.delete_cookie(SESSION)
        return response

    async def stylesheet(request: Request) -> Response:
        return Response(CSS, media_type="text/css", headers={"Cache-Control": "max-age=3600"})

    return [
        Route("/incidents", page(listing), methods=["GET"], include_in_schema=False),
        Route("/incidents/new", page(new_form), methods=["GET"], include_in_schema=False),
        Route("/incidents/new", page(create, post=True), methods=["POST"], include_in_schema=False),
        Route("/incidents/{id}", page(show), methods=["GET"], include_in_schema=False),
        *(
            Route(
                f"/incidents/{{id}}/{name}",
                page(act(name), post=True),
                methods=["POST"],
                include_in_schema=False,
            )
            for name in ("publish", "review", "retract")
        ),
        Route("/login", page(login_form), methods=["GET"], include_in_schema=False),
        Route("/login", login_with_device, methods=["POST"], include_in_schema=False),
        Route("/logout", logout_and_forget, methods=["POST"], include_in_schema=False),
        Route("/static/netvigil.css", stylesheet, methods=["GET"], include_in_schema=False),
    ]
