"""OONI's collector protocol: open a report, submit measurements, close (ooni.md §5.1).

Checks (as OONI's `reports.py`, and stricter where it loses data silently):
- the report id must be one this collector opened (its HMAC tag, see ids.py), and the
  cc, asn and test name it carries must match the measurement's;
- the measurement must decode as the typed records (`netvigil.records`: the df-000 envelope,
  and web_connectivity's test keys), or it is a 400 naming the field
  (``$.content.probe_network_name``): what is acknowledged, the pipeline can read;
- unlike OONI, `ZZ`/`AS0` measurements are stored and flagged `unknown_location`, not
  dropped; a start time in the future or before 2012 is flagged;
- a `probe_ip` other than 127.0.0.1 is replaced (`probe_ip_replaced`), and every textual
  form of that address is scrubbed from every field first (netvigil.scrub, the probe's own
  scrubber), so neither the dedup key, the archive, the tables nor the API ever see it;
- bodies may be zstd-compressed (`Content-Encoding: zstd`), at most 16 MiB either way, and
  are read before a capacity slot is taken, under a deadline (intake.py);
- over capacity the answer is 503 with Retry-After, never a failure to store.

The client's address is never read: probes are volunteers.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from netvigil.bodies import BadBody, decode_object
from netvigil.bridges import scrub_private_bridges
from netvigil.observatory.archive import Archive, ArchiveError, Stored
from netvigil.observatory.errors import BadRequest, Busy, Conflict, NotFound, NotStored
from netvigil.observatory.ids import (
    ReportIdError,
    dedup_key,
    measurement_uid,
    new_report_id,
    parse_report_id,
)
from netvigil.observatory.intake import MAX_BODY, Intake
from netvigil.patterns import PROBE_ASN, START_TIME
from netvigil.records import Measurement, WebMeasurement
from netvigil.scrub import Scrubber, public_address

__all__ = ["MAX_BODY", "Capacity", "check", "read_body", "routes", "typed_content"]

BACKEND_VERSION = "netvigil-1"
EARLIEST = dt.datetime(2012, 1, 1, tzinfo=dt.UTC)
_CC = re.compile(r"[A-Z]{2}")
_ASN = re.compile(PROBE_ASN)
_TEST = re.compile(r"[a-z0-9_]{1,64}")


class Submission(msgspec.Struct, frozen=True):
    """OONI's submission body: the format, and the measurement (checked on its own, below)."""

    format: str = "json"
    content: msgspec.Raw = msgspec.Raw(b"null")


_SUBMISSION = msgspec.json.Decoder(Submission)
_WEB = msgspec.json.Decoder(WebMeasurement)
_ANY = msgspec.json.Decoder(Measurement)


def typed_content(data: bytes, web: bool) -> Measurement | WebMeasurement:
    """The measurement as the pipeline will read it; raises msgspec.ValidationError (or
    DecodeError, RecursionError for absurd nesting) whose message names the field."""
    return _WEB.decode(data) if web else _ANY.decode(data)


_SERVICES = Intake()  # the probe services' bodies (check-in, geolookup), under the same rules


async def read_body(request: Request) -> bytes:
    """A body read under intake.py's rules (deadline, bounds); raises ObservatoryError."""
    return await _SERVICES.read(request)


def _reason(exc: Exception, root: str = "$") -> str:
    """msgspec's message with the path from the body's root (`$.content.probe_cc`)."""
    if isinstance(exc, RecursionError):
        return "JSON nested too deep"
    message = str(exc)
    if "- at `$" in message:
        return message.replace("- at `$", f"- at `{root}", 1)
    return f"{message} - at `{root}`" if isinstance(exc, msgspec.ValidationError) else message


class Capacity:
    """At most `limit` submissions in flight, and at most `rate` a second on average (a token
    bucket holding `rate` tokens); beyond either, 503 with Retry-After. Limits are global:
    the collector never looks at who is asking."""

    def __init__(
        self, limit: int, rate: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.in_flight = 0
        self.rate = rate
        self.tokens = rate
        self.clock = clock
        self.updated = clock()

    def try_acquire(self) -> bool:
        now = self.clock()
        self.tokens = min(self.rate, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.in_flight >= self.limit or self.tokens < 1:
            return False
        self.tokens -= 1
        self.in_flight += 1
        return True

    def release(self) -> None:
        self.in_flight -= 1


def _validated(data: bytes, *, web: bool) -> bytes:
    """The measurement's JSON, checked against the typed records and scrubbed of the probe's
    address in every textual form (OONI probes send 127.0.0.1, and then nothing changes).
    Raises BadRequest naming the field."""
    data = scrub_private_bridges(data)  # ts-023: a private bridge's address is never kept
    try:
        measurement = typed_content(data, web)
        address = public_address(measurement.probe_ip)
        if address is None:
            return data
        scrubbed = Scrubber([address]).json(data)
        if scrubbed != data:  # a number spelling the address became a string: check again
            typed_content(scrubbed, web)
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError) as exc:
        # (ValidationError is a DecodeError)
        raise BadRequest(f"invalid measurement: {_reason(exc, '$.content')}") from None
    return scrubbed


def routes(
    archive: Archive,
    secret: bytes,
    *,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    capacity: int = 256,
    rate: float = 5000.0,
    intake: Intake | None = None,
) -> list[Route]:
    gate = Capacity(capacity, rate)
    intake = intake or Intake()

    async def open_report(request: Request) -> Response:
        body = await intake.read(request)
        try:
            spec = decode_object(body)
            cc, asn, test = spec["probe_cc"], spec["probe_asn"], spec["test_name"]
        except (BadBody, KeyError):
            raise BadRequest("expected JSON with probe_cc, probe_asn and test_name") from None
        # ASCII only, as a report id holds them (str.isalpha and isdigit accept any script).
        if not (isinstance(cc, str) and _CC.fullmatch(cc)):
            raise BadRequest(f"bad probe_cc {cc!r}: two capital letters")
        if not (isinstance(asn, str) and _ASN.fullmatch(asn)):
            raise BadRequest(f"bad probe_asn {asn!r}: AS and a 32-bit number")
        if not (isinstance(test, str) and _TEST.fullmatch(test)):
            raise BadRequest(f"bad test_name {test!r}: lower-case letters, digits and _")
        report = new_report_id(secret, now=now(), test_name=test, probe_cc=cc, probe_asn=asn)
        return JSONResponse(
            {"backend_version": BACKEND_VERSION, "report_id": report, "supported_formats": ["json"]}
        )

    async def submit(request: Request) -> Response:
        value = request.path_params["report_id"]
        try:
            report = parse_report_id(secret, value)
        except ReportIdError as exc:
            raise NotFound(str(exc), Connection="close") from None  # its body is left unread
        body = await intake.read(request)  # before the slot: see intake.py
        if not gate.try_acquire():
            raise Busy("collector over capacity, retry later", **{"Retry-After": "5"})
        try:
            return await _submit(value, report.probe_cc, report.probe_asn, report.test_name, body)
        finally:
            gate.release()

    async def _submit(value: str, cc: str, asn: str, test: str, body: bytes) -> Response:
        try:
            envelope = _SUBMISSION.decode(body)
        except (msgspec.DecodeError, RecursionError, UnicodeDecodeError) as exc:
            shape = '{"format": "json", "content": {...}}'
            raise BadRequest(f"expected {shape}: {_reason(exc)}") from None
        if envelope.format != "json" or bytes(envelope.content) == b"null":
            raise BadRequest('only {"format": "json"} with a measurement object is accepted')
        scrubbed = _validated(bytes(envelope.content), web=test == "webconnectivity")
        content = msgspec.json.decode(scrubbed)
        conflict = mismatch(content, cc, asn, test)
        if conflict is not None:
            raise Conflict(f"report_id {value!r}: {conflict}")
        problem, flags = check(content, cc, asn, test, now())
        if problem is not None:
            raise BadRequest(f"report_id {value!r}: {problem}")
        content["report_id"] = value
        key = dedup_key(content)
        received = now()
        uid = measurement_uid(
            key, received=received, probe_cc=content["probe_cc"], test_name=content["test_name"]
        )
        stored = Stored(
            uid=uid,
            key=key,
            received=received.isoformat(),
            report_id=value,
            flags=flags,
            measurement=msgspec.Raw(msgspec.json.encode(content)),
        )
        try:
            uid = await archive.store(stored)
        except ArchiveError:
            raise NotStored("the measurement could not be stored durably; retry later") from None
        return JSONResponse({"measurement_uid": uid})

    async def close(request: Request) -> Response:
        try:
            parse_report_id(secret, request.path_params["report_id"])
        except ReportIdError as exc:
            raise NotFound(str(exc)) from None
        return JSONResponse({})

    return [
        Route("/report", open_report, methods=["POST"]),
        Route("/report/{report_id}", submit, methods=["POST"]),
        Route("/report/{report_id}/close", close, methods=["POST"]),
    ]


def mismatch(content: dict[str, Any], cc: str, asn: str, test: str) -> str | None:
    """How the measurement contradicts its report (a 409: the report says otherwise)."""
    name = content.get("test_name")
    if not isinstance(name, str) or name.replace("_", "") != test:
        return f"test_name {name!r} does not match the report's {test!r}"
    if content.get("probe_cc") != cc:
        return f"probe_cc {content.get('probe_cc')!r} does not match the report's {cc!r}"
    if content.get("probe_asn") != asn:
        return f"probe_asn {content.get('probe_asn')!r} does not match the report's {asn!r}"
    return None


def check(
    content: dict[str, Any], cc: str, asn: str, test: str, now: dt.datetime
) -> tuple[str | None, tuple[str, ...]]:
    """(problem, flags): a problem rejects the submission, flags are stored with it."""
    if (problem := mismatch(content, cc, asn, test)) is not None:
        return problem, ()
    flags: list[str] = []
    if cc == "ZZ" or asn == "AS0":
        flags.append("unknown_location")
    if content.get("probe_ip", "127.0.0.1") != "127.0.0.1":
        content["probe_ip"] = "127.0.0.1"
        flags.append("probe_ip_replaced")
    started = content.get("measurement_start_time")
    if not isinstance(started, str) or not re.fullmatch(START_TIME, started):
        return f"measurement_start_time {started!r} is not 'YYYY-MM-DD hh:mm:ss'", ()
    moment = dt.datetime.strptime(started, "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.UTC)
    if moment > now + dt.timedelta(days=1):
        flags.append("start_time_in_future")
    elif moment < EARLIEST:
        flags.append("start_time_too_old")
    return None, tuple(flags)
