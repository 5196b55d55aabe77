"""One HTTP round trip, and JSON posting, over the fake network: results and failures."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Callable

import pytest

from netvigil.failures import BAD_CONTENT_ENCODING, MALFORMED_HTTP_RESPONSE
from netvigil.net.connect import tls_context
from netvigil.net.fake import FakeNetwork, Handler, http_response, reply
from netvigil.net.http import Exchange, round_trip
from netvigil.net.posting import post_json

SITE = ("192.0.2.1", 80)


async def _get(handler: Handler, target: str, max_body: int, deadline: float) -> Exchange:
    network = FakeNetwork(endpoints={SITE: handler})
    reader, writer = await network.connect(*SITE)
    try:
        return await round_trip(
            reader,
            writer,
            method="GET",
            target=target,
            headers=[("Host", "www.example.com")],
            deadline=deadline,
            max_body=max_body,
        )
    finally:
        writer.close()
        await network.join()


def get(
    handler: Handler, *, target: str = "/", max_body: int = 1 << 19, deadline: float = 5
) -> Exchange:
    return asyncio.run(_get(handler, target, max_body, deadline))


def test_a_response_is_read_whole() -> None:
    exchange = get(http_response(200, b"<html>hi</html>", [("Set-Cookie", "a=1")]))
    assert (exchange.status, exchange.body, exchange.failure) == (200, b"<html>hi</html>", None)
    assert ("set-cookie", "a=1") in exchange.headers  # h11 gives header names in lower case
    assert not exchange.truncated


def test_a_body_over_the_cap_is_truncated() -> None:
    exchange = get(http_response(200, b"x" * 1000), max_body=100)
    assert (len(exchange.body), exchange.truncated, exchange.failure) == (100, True, None)


def test_a_gzip_bomb_costs_at_most_the_cap() -> None:
    bomb = gzip.compress(b"\0" * (1 << 22))
    exchange = get(http_response(200, bomb, [("Content-Encoding", "gzip")]), max_body=1000)
    assert (len(exchange.body), exchange.truncated) == (1000, True)


def test_a_reply_that_is_not_http_is_a_malformed_response() -> None:
    assert get(reply(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")).failure == MALFORMED_HTTP_RESPONSE


def test_a_lying_content_encoding_is_a_bad_content_encoding() -> None:
    exchange = get(http_response(200, b"plain text", [("Content-Encoding", "gzip")]))
    assert (exchange.status, exchange.failure) == (200, BAD_CONTENT_ENCODING)


def test_a_connection_closed_mid_body_is_eof_and_keeps_the_status() -> None:
    exchange = get(reply(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this"))
    assert (exchange.status, exchange.failure, exchange.body) == (200, "eof_error", b"")


def test_a_server_that_never_answers_ends_at_the_deadline() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()

    assert get(silent, deadline=0.05).failure == "generic_timeout_error"


@pytest.mark.parametrize(
    ("target", "failure"),
    [
        ("/é", "unknown_failure: UnicodeEncodeError"),
        ("/a b", "unknown_failure: LocalProtocolError"),
    ],
)
def test_a_request_http_cannot_carry_fails_unsent(target: str, failure: str) -> None:
    received: list[bytes] = []

    async def server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await reader.read())

    assert get(server, target=target).failure == failure
    assert received == [b""]  # the connection closed without a byte sent


def test_a_bug_while_reading_raises() -> None:
    class Broken(asyncio.StreamReader):
        async def read(self, n: int = -1) -> bytes:
            raise RuntimeError("a bug, not the network")

    async def go() -> Exchange:
        network = FakeNetwork(endpoints={SITE: http_response()})
        _, writer = await network.connect(*SITE)
        try:
            return await round_trip(
                Broken(), writer, method="GET", target="/", headers=[("Host", "x")], deadline=5
            )
        finally:
            writer.close()

    with pytest.raises(RuntimeError, match="a bug"):
        asyncio.run(go())


def post(
    network: FakeNetwork, url: str, allow: Callable[[str], bool] = lambda address: True
) -> Exchange:
    context = tls_context(None)
    return asyncio.run(
        post_json(
            network, url, b"{}", deadline=5, ssl_context=context, max_body=1 << 16, allow=allow
        )
    )


def test_posting_json() -> None:
    network = FakeNetwork(
        names={"th.example.org": ["192.0.2.1"]},
        endpoints={SITE: http_response(200, b'{"ok": true}')},
    )
    exchange = post(network, "http://th.example.org/")
    assert (exchange.status, exchange.body, exchange.failure) == (200, b'{"ok": true}', None)
    assert (network.resolved, network.connected) == (["th.example.org"], [SITE])


def test_posting_connects_only_to_an_allowed_address() -> None:
    network = FakeNetwork(names={"th.example.org": ["127.0.0.1"]})
    exchange = post(network, "http://th.example.org/", allow=lambda address: False)
    assert exchange.failure == "dns_bogon_error"
    assert network.connected == []


@pytest.mark.parametrize(
    ("url", "failure"),
    [
        ("http://nowhere.example.org/", "dns_nxdomain_error"),
        ("http://192.0.2.1/", "connection_refused"),
        ("http://a..b/", "unknown_failure: UnicodeError"),  # no usable host
        ("http://192.0.2.1:99999/", "unknown_failure: ValueError"),  # no usable port
    ],
)
def test_posting_failures_are_results(url: str, failure: str) -> None:
    assert post(FakeNetwork(), url).failure == failure


def test_a_bug_in_the_backend_raises_out_of_post_json() -> None:
    network = FakeNetwork(names={"th.example.org": RuntimeError("bug")})
    with pytest.raises(RuntimeError):
        post(network, "http://th.example.org/")
