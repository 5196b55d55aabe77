"""Heartbeats from probe daemons, and the local checks they made while cut off.

- `POST /api/v1/heartbeats` {probe_cc, probe_asn, pseudonym, sent_at}: counted in the
  server's own minute (its receive time), once per pseudonym and minute; more are accepted
  and not counted, and the answer says so. `sent_at` is only compared with the server's
  clock: beyond SKEW the answer reports the difference, so the probe can say its clock is
  off (a wrong clock would misdate its measurements and local checks).
- `POST /api/v1/heartbeats/local` {probe_cc, probe_asn, pseudonym, checks: [{time,
  gateway_up, upstream_down}]}: the probe's own times, one check per minute, each within
  [now - 35 days, now + SKEW]; the first bad item is named in a 400 and nothing is stored.

The client's address is never read (`request.client` is not used here). What is kept:
heartbeat_store.py and docs/design/008-detection.md ("Heartbeats").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated

import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from netvigil.bodies import BadBody, decode
from netvigil.observatory.collector import read_body
from netvigil.observatory.data import iso
from netvigil.observatory.errors import BadRequest, TooLarge
from netvigil.observatory.heartbeat_store import RETENTION, HeartbeatStore, minute_of
from netvigil.patterns import UINT32

SKEW = dt.timedelta(minutes=5)
MAX_HEARTBEAT = 1024  # bytes: a heartbeat is about 150
MAX_CHECKS = 1440  # a day of minutes per batch
MAX_LOCAL = 256 << 10  # bytes: a full batch is about 100 KiB
# The probe's pseudonym: 32 lower-case hex digits (probe/heartbeat.py makes them).
PSEUDONYM = "^[0-9a-f]{32}$"
# A known location only, so that the document states every rule: two capital letters but
# OONI's unknown ZZ and XX; AS1 to AS4294967295, without leading zeros (never AS0).
CC = "^([A-WY][A-Z]|X[A-WYZ]|Z[A-Y])$"
ASN = "^AS" + UINT32.replace("[0-9]{1,9}|[0-3]", "[1-9][0-9]{0,8}|[1-3]", 1) + "$"

Country = Annotated[str, msgspec.Meta(pattern=CC)]
Network = Annotated[str, msgspec.Meta(pattern=ASN)]
Pseudonym = Annotated[str, msgspec.Meta(pattern=PSEUDONYM)]
Moment = Annotated[dt.datetime, msgspec.Meta(tz=True)]


class Beat(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    probe_cc: Country
    probe_asn: Network
    pseudonym: Pseudonym
    sent_at: Moment


class Check(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    time: Moment
    gateway_up: bool
    upstream_down: bool


class Checks(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    probe_cc: Country
    probe_asn: Network
    pseudonym: Pseudonym
    checks: Annotated[list[Check], msgspec.Meta(min_length=1, max_length=MAX_CHECKS)]


async def _body(request: Request, limit: int) -> bytes:
    body = await read_body(request)
    if len(body) > limit:
        raise TooLarge(f"request body over {limit} bytes")
    return body


def _stamp(moment: dt.datetime) -> str:
    return iso(moment.astimezone(dt.UTC))  # the data API's form of a time


def routes(store: HeartbeatStore, *, now: Callable[[], dt.datetime]) -> list[Route]:
    async def heartbeat(request: Request) -> Response:
        body = await _body(request, MAX_HEARTBEAT)
        try:
            beat = decode(body, Beat)
        except BadBody as exc:
            raise BadRequest(f"bad heartbeat: {exc}") from None
        cc, asn = beat.probe_cc, int(beat.probe_asn[2:])
        received = now()
        why_not = store.heard(cc, asn, beat.pseudonym)
        answer: dict[str, object] = {
            "counted": why_not is None,
            "minute": _stamp(dt.datetime.fromtimestamp(minute_of(received), dt.UTC)),
        }
        if why_not is not None:
            answer["reason"] = why_not
        skew = (beat.sent_at - received).total_seconds()
        if abs(skew) > SKEW.total_seconds():
            answer["clock_skew_seconds"] = round(skew)
            answer["warning"] = (
                f"sent_at is {abs(round(skew))} s {'ahead of' if skew > 0 else 'behind'} the "
                f"server's clock ({_stamp(received)}); counted at the server's time"
            )
        return JSONResponse(answer)

    async def local(request: Request) -> Response:
        body = await _body(request, MAX_LOCAL)
        try:
            batch = decode(body, Checks)
        except BadBody as exc:
            raise BadRequest(f"bad local checks: {exc}") from None
        cc, asn = batch.probe_cc, int(batch.probe_asn[2:])
        received = now()
        earliest, latest = received - RETENTION, received + SKEW
        seen: set[int] = set()
        rows = []
        for index, check in enumerate(batch.checks):
            if not earliest <= check.time <= latest:
                raise BadRequest(
                    f"checks[{index}]: time {_stamp(check.time)} is not within the last "
                    f"{RETENTION.days} days and {SKEW.seconds // 60} minutes ahead of the "
                    f"server's clock ({_stamp(received)})"
                )
            minute = minute_of(check.time)
            if minute in seen:
                raise BadRequest(f"checks[{index}]: a second check for the same minute")
            seen.add(minute)
            rows.append((minute, check.gateway_up, check.upstream_down))
        counted = store.local(cc, asn, batch.pseudonym, rows)
        return JSONResponse(
            {"accepted": len(rows), "counted": counted, "not_counted": len(rows) - counted}
        )

    return [
        Route("/api/v1/heartbeats", heartbeat, methods=["POST"]),
        Route("/api/v1/heartbeats/local", local, methods=["POST"]),
    ]
