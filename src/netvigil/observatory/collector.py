"""OONI's collector protocol: open a report, submit measurements, close (ooni.md §5.1).

Checks (as OONI's `reports.py`, and stricter where it loses data silently):
- the report id must be one this collector opened (its HMAC tag, see ids.py), and the
  cc, asn and test name it carries must match the measurement's;
- unlike OONI, `ZZ`/`AS0` measurements are stored and flagged `unknown_location`, not
  dropped; a `probe_ip` other than 127.0.0.1 is replaced before storage (`probe_ip_replaced`);
  a start time in the future or before 2012 is flagged;
- bodies may be zstd-compressed (`Content-Encoding: zstd`), at most 16 MiB either way;
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
import zstandard
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from netvigil.bodies import BadBody, decode_object
from netvigil.observatory.archive import Archive, ArchiveError, Stored
from netvigil.observatory.ids import (
    ReportIdError,
    dedup_key,
    measurement_uid,
    new_report_id,
    parse_report_id,
)
from netvigil.observatory.patterns import START_TIME

MAX_BODY = 16 << 20
BACKEND_VERSION = "netvigil-1"
EARLIEST = dt.datetime(2012, 1, 1, tzinfo=dt.UTC)


def error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


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


async def read_body(request: Request) -> bytes | JSONResponse:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return error(413, f"request body over {MAX_BODY} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return error(413, f"request body over {MAX_BODY} bytes")
    if request.headers.get("content-encoding", "").lower() == "zstd":
        try:
            reader = zstandard.ZstdDecompressor().stream_reader(bytes(body))
            inflated = reader.read(MAX_BODY + 1)
        except zstandard.ZstdError:
            return error(400, "body is not valid zstd")
        if len(inflated) > MAX_BODY:
            return error(413, f"decompressed body over {MAX_BODY} bytes")
        return inflated
    return bytes(body)


def routes(
    archive: Archive,
    secret: bytes,
    *,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    capacity: int = 256,
    rate: float = 5000.0,
) -> list[Route]:
    gate = Capacity(capacity, rate)

    async def open_report(request: Request) -> Response:
        body = await read_body(request)
        if isinstance(body, Response):
            return body
        try:
            spec = decode_object(body)
            cc, asn, test = spec["probe_cc"], spec["probe_asn"], spec["test_name"]
        except (BadBody, KeyError):
            return error(400, "expected JSON with probe_cc, probe_asn and test_name")
        # ASCII only, as a report id holds them (str.isalpha and isdigit accept any script).
        if not (isinstance(cc, str) and re.fullmatch("[A-Z]{2}", cc)):
            return error(400, f"bad probe_cc {cc!r}")
        if not (isinstance(asn, str) and re.fullmatch("AS[0-9]{1,10}", asn)):
            return error(400, f"bad probe_asn {asn!r}")
        if not (isinstance(test, str) and re.fullmatch("[a-z0-9_]{1,64}", test)):
            return error(400, f"bad test_name {test!r}")
        report = new_report_id(secret, now=now(), test_name=test, probe_cc=cc, probe_asn=asn)
        return JSONResponse(
            {"backend_version": BACKEND_VERSION, "report_id": report, "supported_formats": ["json"]}
        )

    async def submit(request: Request) -> Response:
        if not gate.try_acquire():
            return error(503, "collector over capacity, retry later", **{"Retry-After": "5"})
        try:
            return await _submit(request)
        finally:
            gate.release()

    async def _submit(request: Request) -> Response:
        value = request.path_params["report_id"]
        try:
            report = parse_report_id(secret, value)
        except ReportIdError as exc:
            return error(404, str(exc))
        body = await read_body(request)
        if isinstance(body, Response):
            return body
        try:
            envelope = decode_object(body)
            content = envelope["content"]
        except (BadBody, KeyError):
            return error(400, 'expected {"format": "json", "content": {...}}')
        if envelope.get("format", "json") != "json" or not isinstance(content, dict):
            return error(400, 'only {"format": "json"} with a measurement object is accepted')
        conflict = mismatch(content, report.probe_cc, report.probe_asn, report.test_name)
        if conflict is not None:
            return error(409, f"report_id {value!r}: {conflict}")
        problem, flags = check(content, report.probe_cc, report.probe_asn, report.test_name, now())
        if problem is not None:
            return error(400, f"report_id {value!r}: {problem}")
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
            return error(500, "the measurement could not be stored durably; retry later")
        return JSONResponse({"measurement_uid": uid})

    async def close(request: Request) -> Response:
        try:
            parse_report_id(secret, request.path_params["report_id"])
        except ReportIdError as exc:
            return error(404, str(exc))
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
