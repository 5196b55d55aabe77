"""The incidents REST API under /api/v1 (and the instance's public keys).

Callers authenticate with `Authorization: Bearer nvk_...` (an API key; sessions are for the
pages, which carry CSRF tokens); no header is the anonymous public. Every handler loads its
object and asks the access rules about that object (access.py); what the caller may not
read is a 404, the same as what does not exist. Lists, counts, exports and feeds are built
from the same readable set, so none can say more than a read would.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from netvigil.bodies import BadBody, decode_object
from netvigil.incidents import exports, feeds, misp, stix
from netvigil.incidents.access import ANONYMOUS, SCOPES, Principal
from netvigil.incidents.errors import IncidentError, NotFound, TooLarge, Unauthorised
from netvigil.incidents.filters import BadFilter, parse_filter
from netvigil.incidents.instance import Instance
from netvigil.incidents.keys import by_key
from netvigil.incidents.validate import InvalidIncident, decode_input

MAX_BODY = 1 << 20
MAX_KEY_DAYS = 366  # keys.create_key's bound
ACTIONS = ("publish", "review", "retract", "sightings")
MEDIA = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "atom": "application/atom+xml",
    "stix": "application/stix+json;version=2.1",
    "misp": "application/json",
}


def error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


async def body_of(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_BODY:
        raise TooLarge(f"request body over {MAX_BODY} bytes")
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_BODY:
            raise TooLarge(f"request body over {MAX_BODY} bytes")
    return bytes(data)


def render(instance: Instance, who: Principal, found: list[Any], kind: str, path: str) -> Response:
    """An export of incidents the caller may read, as they may read them."""
    shown = instance.service.view(who, found)
    names = instance.org_names()
    if kind == "json":
        body = exports.to_json(shown, instance=instance.url, keys=[instance.keyring.current])
    elif kind == "csv":
        body = exports.to_csv(shown, instance=instance.url, names=names).encode()
    elif kind == "atom":
        body = feeds.atom(
            shown, instance=instance.url, path=path, title="netvigil incidents", now=instance.now()
        )
    elif kind == "stix":
        body = stix.bundle(shown, names).serialize(pretty=True).encode()
    else:
        body = json.dumps(misp.events(shown, names, instance.url), indent=1).encode()
    return Response(body, media_type=MEDIA[kind])


class Call(msgspec.Struct, frozen=True):
    """What a handler gets: the request's parameters and its (bounded) body."""

    query: dict[str, str]
    path: dict[str, str]
    body: bytes

    def fields(self) -> dict[str, Any]:
        try:
            return decode_object(self.body)
        except BadBody as exc:
            raise InvalidIncident([str(exc)]) from None

    def text(self, name: str, *, required: bool = False, longest: int = 2000) -> str:
        """A string field of the body (400 naming it when it is not one)."""
        value = self.fields().get(name)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or len(value) > longest or (required and not value):
            raise InvalidIncident([f"{name}: a string of 1 to {longest} characters"])
        return value


def routes(instance: Instance) -> list[Route]:
    service = instance.service

    def principal(request: Request) -> Principal:
        header = request.headers.get("authorization", "")
        if not header:
            return ANONYMOUS
        scheme, _, token = header.partition(" ")
        found = (
            by_key(instance.engine, token.strip(), instance.now())
            if scheme.lower() == "bearer"
            else None
        )
        if found is None:
            raise Unauthorised("invalid, expired or revoked API key")
        return found

    def endpoint(
        work: Callable[[Call, Principal], Any], *, status: int = 200
    ) -> Callable[[Request], Any]:
        async def handle(request: Request) -> Response:
            try:
                query = dict(request.query_params)
                if len(query) < len(request.query_params.multi_items()):
                    raise BadFilter("a query parameter is given more than once")
                body = await body_of(request) if request.method in ("POST", "PUT") else b""
                call = Call(query, dict(request.path_params), body)
                who = await asyncio.to_thread(principal, request)
                result = await asyncio.to_thread(work, call, who)
                if isinstance(result, Response):
                    return result
                return Response(
                    msgspec.json.encode(result), status_code=status, media_type="application/json"
                )
            except IncidentError as exc:  # the one translation: a refusal's own status
                return error(exc.status, str(exc), **exc.extra())

        return handle

    def listing(call: Call, who: Principal) -> dict[str, Any]:
        chosen = parse_filter(call.query)
        found = instance.select(who, chosen)
        page = found[chosen.offset : chosen.offset + chosen.limit]
        return {
            "metadata": {"count": len(found), "limit": chosen.limit, "offset": chosen.offset},
            "results": service.view(who, page),
        }

    def create(call: Call, who: Principal) -> Any:
        return service.create(who, decode_input(call.body))

    def show(call: Call, who: Principal) -> Any:
        number = call.query.get("revision")
        whole = number is not None and number.isascii() and number.isdigit() and len(number) < 19
        if number is not None and not (whole and 1 <= int(number) <= 10**9):
            raise BadFilter("revision: a whole number from 1")
        found = service.get(who, call.path["id"], int(number) if number else None)
        return service.view(who, [found])[0]

    def revise(call: Call, who: Principal) -> Any:
        return service.revise(who, call.path["id"], decode_input(call.body))

    def history(call: Call, who: Principal) -> Any:
        return service.view(who, service.history(who, call.path["id"]))

    def act(name: str) -> Callable[[Call, Principal], Any]:
        def work(call: Call, who: Principal) -> Any:
            fields, ident = call.fields(), call.path["id"]
            if name == "publish":
                done = service.request_publication(who, ident)
            elif name == "review":
                approve = fields.get("approve", False)
                if not isinstance(approve, bool):
                    raise InvalidIncident(["approve: true or false"])
                done = service.review(who, ident, approve=approve)
            elif name == "retract":
                done = service.retract(who, ident, call.text("reason"))
            else:
                org = instance.org_names().get(who.org_id or "", who.kind)
                kind, note = call.text("kind", required=True), call.text("note")
                done = service.sight(who, ident, kind, note, org)
            return service.view(who, [done])[0]

        return work

    def export(call: Call, who: Principal) -> Response:
        kind = call.query.get("format", "json")
        if kind not in MEDIA:
            raise BadFilter(f"format: one of {', '.join(MEDIA)}")
        found = instance.select(who, parse_filter(call.query, paged=False))
        return render(instance, who, found, kind, "/api/v1/incidents/export")

    def public_feed(call: Call, who: Principal) -> Response:
        found = instance.select(ANONYMOUS, parse_filter(call.query, paged=False))
        return render(instance, ANONYMOUS, found, "atom", "/api/v1/incidents/feed")

    def new_feed(call: Call, who: Principal) -> Any:
        return instance.create_feed(
            who, call.text("name", required=True, longest=200), call.fields().get("filter", {})
        )

    def saved_feed(call: Call, who: Principal) -> Response:
        found = instance.feed(call.path["token"])
        if found is None:
            raise NotFound("no such feed")
        owner, chosen = found
        path = "/api/v1/feeds/" + call.path["token"]
        return render(instance, owner, instance.select(owner, chosen), "atom", path)

    def subscribe(call: Call, who: Principal) -> Any:
        return instance.subscribe(who, call.text("url", required=True))

    def new_key(call: Call, who: Principal) -> Any:
        fields = call.fields()
        days, scopes = fields.get("days", 90), fields.get("scopes")
        if isinstance(days, float) and days.is_integer():
            days = int(days)  # 90.0 is a whole number (JSON has one number type)
        if type(days) is not int or not 1 <= days <= MAX_KEY_DAYS:  # JSON true is no number
            raise BadFilter(f"days: a whole number from 1 to {MAX_KEY_DAYS}")
        if not isinstance(scopes, list) or not scopes or not set(map(str, scopes)) <= SCOPES:
            raise BadFilter(f"scopes: a list of some of {', '.join(sorted(SCOPES))}")
        return instance.new_key(who, scopes, days)

    def revoke_key(call: Call, who: Principal) -> Any:
        call.fields()  # nothing is read from it, but a body, as everywhere, is a JSON object
        return instance.revoke_key(who, call.path["id"])

    def audit(call: Call, who: Principal) -> Any:
        return {"results": instance.audit(who)}

    def keys(call: Call, who: Principal) -> Any:
        return {"keys": instance.keyring.public_keys()}

    def schema(call: Call, who: Principal) -> Any:
        return exports.schema()

    base = "/api/v1/incidents"
    return [
        Route(base, endpoint(listing), methods=["GET"]),
        Route(base, endpoint(create, status=201), methods=["POST"]),
        Route(f"{base}/schema", endpoint(schema), methods=["GET"]),
        Route(f"{base}/export", endpoint(export), methods=["GET"]),
        Route(f"{base}/feed", endpoint(public_feed), methods=["GET"]),
        Route(base + "/{id}", endpoint(show), methods=["GET"]),
        Route(base + "/{id}", endpoint(revise), methods=["PUT"]),
        Route(base + "/{id}/revisions", endpoint(history), methods=["GET"]),
        *(Route(base + "/{id}/" + name, endpoint(act(name)), methods=["POST"]) for name in ACTIONS),
        Route("/api/v1/feeds", endpoint(new_feed, status=201), methods=["POST"]),
        Route("/api/v1/feeds/{token}", endpoint(saved_feed), methods=["GET"]),
        Route("/api/v1/webhooks", endpoint(subscribe, status=201), methods=["POST"]),
        Route("/api/v1/keys", endpoint(new_key, status=201), methods=["POST"]),
        Route("/api/v1/keys/{id}/revoke", endpoint(revoke_key), methods=["POST"]),
        Route("/api/v1/audit", endpoint(audit), methods=["GET"]),
        Route("/.well-known/netvigil/keys", endpoint(keys), methods=["GET"]),
    ]
