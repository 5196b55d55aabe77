"""The middlebox nettests' bytes on the wire: a helper's connection, what it sends back,
the JSON echo's answer read and OONI's summary of it filled.

The answer is read without an HTTP library (oonib's helper writes `HTTP/1.1 200 OK`, a
blank line and the JSON, then closes: no Content-Length), and its headers are kept as
spelled. The summary is ts-006's `tampering`, computed as ooni/probe-cli hhfm.go
FillTampering does, so our measurements carry the keys OONI's readers expect; our own
verdict recomputes everything from the recorded request and echo (analysis/middlebox.py).
"""

from __future__ import annotations

import asyncio

from netvigil.addresses import parse_ip
from netvigil.failures import Failure
from netvigil.net.connect import Connection, connect_tcp
from netvigil.net.errors import map_failures
from netvigil.probe.nettest import Context
from netvigil.probe.recording import tags
from netvigil.probe.steps import resolve_system
from netvigil.records.middlebox import EchoAnswer, HHFMTampering


async def open_helper(ctx: Context, host: str, port: int) -> tuple[Connection | None, str | None]:
    """A TCP connection to a helper, recorded in the trace (the name resolved first)."""
    ips = [host] if parse_ip(host) is not None else []
    if not ips:
        ips = await resolve_system(ctx.backend, ctx.trace, host, depth=0)
        if not ips:
            return None, ctx.trace.queries[-1].failure or Failure.DNS_NO_ANSWER
    connection, record = await connect_tcp(
        ctx.backend, ips[0], port, timeout=ctx.settings.connect_timeout, clock=ctx.trace.now
    )
    ctx.trace.record(record, ctx.trace.endpoint_transaction(), tags(depth=0))
    return connection, record.status.failure


async def read_to_close(
    connection: Connection, limit: int, timeout: float
) -> tuple[bytes, str | None]:
    """What arrives until the peer closes, `limit` bytes, or `timeout`; and the failure."""
    data = bytearray()
    with map_failures() as caught:
        async with asyncio.timeout(timeout):
            while len(data) < limit:
                chunk = await connection.reader.read(min(1 << 16, limit - len(data)))
                if not chunk:
                    break
                data += chunk
    return bytes(data), caught.failure


async def send(connection: Connection, payload: bytes) -> str | None:
    with map_failures() as caught:
        connection.writer.write(payload)
        await connection.writer.drain()
    return caught.failure


def parse_response(raw: bytes) -> tuple[int, list[tuple[str, str]], bytes] | None:
    """(status, headers as spelled, body) of an HTTP/1.x answer; None when it is not one."""
    ends = [(i, n) for i, n in ((raw.find(b"\r\n\r\n"), 4), (raw.find(b"\n\n"), 2)) if i >= 0]
    if not raw.startswith(b"HTTP/1.") or not ends:
        return None
    end, skip = min(ends)
    lines = [line.removesuffix("\r") for line in raw[:end].decode("latin-1").split("\n")]
    status = lines[0].split(" ", 2)
    if len(status) < 2 or not status[1].isdigit() or len(status[1]) != 3:
        return None
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep and name:
            headers.append((name, value.strip()))
    return int(status[1]), headers, raw[end + skip :]


def tampering_of(
    method: str, sent: list[tuple[str, str]], answer: EchoAnswer | None, *, failed: bool
) -> HHFMTampering:
    """ts-006 `tampering`; `total` when the helper's answer is missing or not its JSON."""
    if failed or answer is None or answer.headers_dict is None:
        return HHFMTampering(
            total=True,
            request_line_capitalization=False,
            header_name_capitalization=False,
            header_field_value=False,
            header_field_number=False,
            header_field_name=False,
            header_name_diff=[],
        )
    received = answer.headers_dict
    ours = {name.lower(): (name, value) for name, value in sent}
    theirs = {name.lower(): name for name in received}
    diff: list[str] = []
    value_changed = False
    for key in ours.keys() & theirs.keys():
        name, value = ours[key]
        if theirs[key] != name:
            diff += [name, theirs[key]]
        got = received[theirs[key]]
        value_changed = value_changed or len(got) != 1 or got[0] != value
    return HHFMTampering(
        total=False,
        request_line_capitalization=answer.request_line != f"{method} / HTTP/1.1",
        header_name_capitalization=bool(diff),
        header_field_value=value_changed,
        header_field_number=len(sent) != len(received),
        header_field_name=False,  # hhfm.go declares it and never sets it
        header_name_diff=diff,
    )
