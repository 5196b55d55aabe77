"""The middlebox nettests against our echo helpers on loopback: through a clean path (ok),
through a tiny rewriting proxy (tampered, each change named), through a proxy that resets
(insufficient: nothing says the helper was there); and OONI's key set and types."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import json
import random
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

import msgspec
import pytest

from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.layered import analyze
from netvigil.analysis.verdicts import Outcome, Verdict
from netvigil.listening import listen
from netvigil.net.backend import AsyncioBackend
from netvigil.probe.middlebox import HeaderFieldManipulation, InvalidRequestLine
from netvigil.probe.nettest import Context, Endpoints, Settings
from netvigil.probe.nettests import NETTESTS
from netvigil.probe.recording import Trace
from netvigil.probe.report import Location, nettest_envelope
from netvigil.records import Record, decode_measurement
from netvigil.scrub import Scrubber
from netvigil.testhelper.echo import EchoLimits, serve_json_headers, serve_tcp_echo
from tests.corpus import MEASUREMENTS
from tests.probe.keyset import missing_or_different

DEADLINE = 10.0
LIMITS = EchoLimits(idle=0.3, lifetime=DEADLINE)  # the helper closes soon after the echo
VIA = ("Via", "1.1 proxy.test (squid/6.10)")  # what a Squid adds (ooni/spec ts-007)
Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def server(handler: Handler) -> AsyncIterator[int]:
    sock = listen("127.0.0.1", 0)
    running = await asyncio.start_server(handler, sock=sock)
    try:
        yield sock.getsockname()[1]
    finally:
        running.close()


@contextlib.asynccontextmanager
async def helper(serve: Callable[..., Coroutine[Any, Any, None]]) -> AsyncIterator[int]:
    sock = listen("127.0.0.1", 0)
    task: asyncio.Task[None] = asyncio.create_task(serve(sock, LIMITS))
    try:
        yield sock.getsockname()[1]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _head(reader: asyncio.StreamReader, http: bool) -> bytes:
    """What the proxy reads before forwarding: a request head (`http`), or a line."""
    end = b"\r\n\r\n" if http else b"\n"
    data = b""
    async with asyncio.timeout(DEADLINE):
        while end not in data:
            chunk = await reader.read(4096)
            if not chunk:
                return data
            data += chunk
    if not http:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.1):  # the "\r" of a line ending "\n\r"
                data += await reader.read(4096)
    return data


def rewrite(data: bytes, http: bool, client: str = "") -> bytes:
    """What the test proxy forwards: a request line's method upper-cased; a head's header
    names lower-cased, a Via and the client's address (X-Forwarded-For) added; a bare
    line's "\n\r" ending made "\r\n"."""
    text = data.decode("latin-1")
    if not http:
        return (text[:-2] + "\r\n" if text.endswith("\n\r") else text).encode("latin-1")
    head, blank, rest = text.partition("\r\n\r\n")
    line, *fields = head.split("\r\n")
    method, sep, tail = line.partition(" ")
    lines = [method.upper() + sep + tail]
    lines += [f"{n.lower()}:{v}" for n, _, v in (f.partition(":") for f in fields)]
    lines.append(": ".join(VIA))
    lines.append(f"X-Forwarded-For: {client}")  # ts-006 "Privacy considerations"
    return ("\r\n".join(lines) + blank + rest).encode("latin-1")


def rewriting_proxy(upstream: int, http: bool) -> Handler:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream)
        try:
            client = writer.get_extra_info("peername")[0]
            up_writer.write(rewrite(await _head(reader, http), http, client))
            await up_writer.drain()
            async with asyncio.timeout(DEADLINE):
                writer.write(await up_reader.read(-1))
                await writer.drain()
        finally:
            up_writer.close()
            writer.close()

    return handle


def resetting(http: bool) -> Handler:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _head(reader, http)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()  # SO_LINGER 0: the close is a TCP reset

    return handle


# The probe's own address, on loopback: what comes back must not carry it.
SCRUB = Scrubber(["127.0.0.1"], lab=[ipaddress.ip_network("127.0.0.0/8")]).data


def answering(reply: bytes, http: bool) -> Handler:
    """A middlebox that answers `reply` itself (nothing: it just closes) and closes."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _head(reader, http)
        writer.write(reply)
        await writer.drain()
        writer.close()

    return handle


def context(endpoint: str) -> Context:
    return Context(
        backend=AsyncioBackend(),
        trace=Trace(),
        endpoints=Endpoints.parse([f"backend={endpoint}"]),
        settings=Settings(connect_timeout=DEADLINE, http_timeout=DEADLINE),
        scrub=SCRUB,
    )


def verdict_of(name: str, version: str, keys: Record) -> Verdict:
    start = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    measurement = nettest_envelope(
        name,
        version,
        None,
        keys,
        location=Location(),
        report="r",
        started=start,
        test_started=start,
        runtime=1.0,
    )
    return analyze(decode_measurement(msgspec.json.encode(measurement)), FingerprintDB.load())


async def _through(
    via: str,
    serve: Callable[..., Coroutine[Any, Any, None]],
    http: bool,
    go: Callable[[int], Awaitable[Any]],
) -> Any:
    """Run `go(port)` against the helper directly ("clean") or through a proxy."""
    async with helper(serve) as port:
        if via == "clean":
            return await go(port)
        handlers = {
            "rewriting": rewriting_proxy(port, http),
            "resetting": resetting(http),
            "closing": answering(b"", http),
            "garbage": answering(b"\xff\xfe not http", http),
        }
        handler = handlers[via]
        async with server(handler) as proxy:
            return await go(proxy)


def run_hhfm(via: str) -> Any:
    async def go(port: int) -> Any:
        return await HHFM.measure(None, context(f"http://127.0.0.1:{port}/"))

    return asyncio.run(_through(via, serve_json_headers, True, go))


def test_hhfm_closed_without_an_answer_is_insufficient() -> None:
    keys = run_hhfm("closing")
    assert (keys.failure, keys.requests[0].response) == ("eof_error", None)
    verdict = verdict_of(HHFM.name, HHFM.version, keys)
    assert (verdict.outcome, verdict.rule) == (Outcome.INSUFFICIENT, "hhfm.helper_unreachable")


def test_hhfm_answered_with_bytes_that_are_not_http_is_tampering() -> None:
    keys = run_hhfm("garbage")
    body = msgspec.to_builtins(keys.requests[0].response.body)
    assert body == {"format": "base64", "data": "//4gbm90IGh0dHA="}  # b"\xff\xfe not http"
    verdict = verdict_of(HHFM.name, HHFM.version, keys)
    assert (verdict.outcome, verdict.rule) == (Outcome.TAMPERED, "hhfm.not_echo")


def run_hirl(via: str) -> Any:
    async def go(port: int) -> Any:
        return await HIRL.measure(None, context(f"127.0.0.1:{port}"))

    return asyncio.run(_through(via, serve_tcp_echo, False, go))


HHFM = HeaderFieldManipulation(random.Random(6))
HIRL = InvalidRequestLine(random.Random(7), read_timeout=DEADLINE)


def test_both_nettests_are_registered() -> None:
    assert {"http_header_field_manipulation", "http_invalid_request_line"} <= NETTESTS.keys()


def test_hhfm_through_a_clean_path_is_ok() -> None:
    keys = run_hhfm("clean")
    answer = json.loads(keys.requests[0].response.body)
    assert answer["request_headers"] == keys.requests[0].request.headers_list  # as spelled
    assert answer["request_line"] == "GeT / HTTP/1.1"
    assert not keys.tampering.total and keys.tampering.header_name_diff == []
    verdict = verdict_of(HHFM.name, HHFM.version, keys)
    assert (verdict.outcome, verdict.rule) == (Outcome.OK, "hhfm.echo_intact")


def test_hhfm_through_a_rewriting_proxy_names_each_change() -> None:
    keys = run_hhfm("rewriting")
    sent = keys.requests[0].request.headers_list
    # Expected from what the probe recorded sending, and the proxy's three rewrites.
    expected = [
        (f"header name: {name.lower()}: {value}", f"{name}: {value}")
        for name, value in sent
        if name != name.lower()
    ]
    expected += [(f"header added: {': '.join(VIA)}", "(not sent)")]
    expected += [("header added: X-Forwarded-For: [scrubbed]", "(not sent)")]
    expected += [("request line: GET / HTTP/1.1", "GeT / HTTP/1.1")]
    verdict = verdict_of(HHFM.name, HHFM.version, keys)
    got = [(w.observed, w.control) for w in verdict.layers[0].witnesses]
    assert got == expected, "\n".join(f"{g} != {e}" for g, e in zip(got, expected, strict=False))
    assert (verdict.outcome, verdict.technique, verdict.vendor) == (
        Outcome.TAMPERED,
        "middlebox.header_rewrite",
        "Squid",
    )
    assert keys.tampering.request_line_capitalization and keys.tampering.header_field_number


def test_hhfm_reset_on_the_way_is_insufficient() -> None:
    keys = run_hhfm("resetting")
    assert keys.requests[0].response is None and keys.failure == "connection_reset"
    verdict = verdict_of(HHFM.name, HHFM.version, keys)
    assert (verdict.outcome, verdict.rule) == (Outcome.INSUFFICIENT, "hhfm.helper_unreachable")


def test_hirl_through_a_clean_path_is_ok() -> None:
    keys = run_hirl("clean")
    assert keys.received == keys.sent and keys.tampering is False
    assert keys.sent[4] == "GET cache_object://localhost/ HTTP/1.0\n\r"
    verdict = verdict_of(HIRL.name, HIRL.version, keys)
    assert (verdict.outcome, verdict.rule) == (Outcome.OK, "hirl.echo_intact")


def test_hirl_through_a_rewriting_proxy_names_the_rewritten_lines() -> None:
    keys = run_hirl("rewriting")
    # The proxy makes a "\n\r" ending "\r\n" (the method of these lines is upper-case
    # already): the lines ending so are the ones that change.
    changed = [n for n, line in enumerate(keys.sent) if line.endswith("\n\r")]
    assert changed == [0, 4]
    verdict = verdict_of(HIRL.name, HIRL.version, keys)
    assert (verdict.outcome, verdict.technique) == (
        Outcome.TAMPERED,
        "middlebox.request_line_rewrite",
    )
    assert [(w.ref, w.observed, w.control) for w in verdict.layers[0].witnesses] == [
        (f"test_keys.received[{n}]", keys.sent[n].replace("\n\r", "\r\n"), keys.sent[n])
        for n in changed
    ]


def test_hirl_resets_are_insufficient() -> None:
    keys = run_hirl("resetting")
    assert keys.received == [""] * 5 and None not in keys.failure_list
    verdict = verdict_of(HIRL.name, HIRL.version, keys)
    assert (verdict.outcome, verdict.rule) == (Outcome.INSUFFICIENT, "hirl.no_echo")


OTHER = MEASUREMENTS / "ooni-backend-fastpath-other"
# ooni/probe-cli internal/experiment/hhfm/hhfm.go TestKeys and Tampering, their JSON tags
# and types (no corpus measurement has `tampering`: all three failed before it was filled).
PROBE_CLI_HHFM: dict[str, Any] = {
    "agent": "agent",
    "failure": None,
    "requests": [],
    "socksproxy": None,
    "tampering": {
        "header_field_name": False,
        "header_field_number": False,
        "header_field_value": False,
        "header_name_capitalization": False,
        "header_name_diff": [],
        "request_line_capitalization": False,
        "total": False,
    },
}


@pytest.mark.parametrize(
    "reference",
    ["http_header_field_manipulation_1", "http_header_field_manipulation_3", "probe-cli"],
)
def test_hhfm_keys_are_oonis(reference: str) -> None:
    theirs = (
        PROBE_CLI_HHFM
        if reference == "probe-cli"
        else json.loads((OTHER / f"{reference}.json").read_text())["test_keys"]
    )
    ours = msgspec.to_builtins(run_hhfm("clean"))
    assert missing_or_different(theirs, ours) == []


@pytest.mark.parametrize("reference", ["mbx-1", "mbx-2"])
def test_hirl_keys_are_oonis(reference: str) -> None:
    theirs = json.loads((OTHER / f"{reference}.json").read_text())["test_keys"]
    ours = msgspec.to_builtins(run_hirl("clean"))
    assert missing_or_different(theirs, ours) == []
