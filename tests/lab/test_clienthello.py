"""The censor's ClientHello parser: real hellos give their SNI; any other bytes are refused
with MalformedHello, never another exception (hostile input, reliability.md §4.1)."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netvigil.lab.clienthello import MalformedHello, read_hello, server_name
from tests.lab.hello import client_hello


def test_server_name_of_real_hellos() -> None:
    hello = client_hello("Blocked.Lab.Test")
    assert server_name(hello[5:]) == "blocked.lab.test"
    assert server_name(client_hello(None)[5:]) is None


def test_every_truncation_is_malformed() -> None:
    message = client_hello("blocked.lab.test")[5:]
    for end in range(len(message)):
        with pytest.raises(MalformedHello):
            server_name(message[:end])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_never_raise_anything_else(data: bytes) -> None:
    with contextlib.suppress(MalformedHello):
        server_name(data)


def _read(data: bytes, limit: int = 32 * 1024) -> tuple[bytes, str | None]:
    async def go() -> tuple[bytes, str | None]:
        reader = asyncio.StreamReader()
        reader.feed_data(data)
        reader.feed_eof()
        return await read_hello(reader, limit)

    return asyncio.run(go())


def test_read_hello_joins_records_and_keeps_the_bytes() -> None:
    hello = client_hello("split.lab.test")
    assert _read(hello) == (hello, "split.lab.test")
    # The same message in two records (RFC 8446 §5.1 allows a split anywhere).
    message = hello[5:]
    first, second = message[:40], message[40:]
    split = b"".join(
        b"\x16\x03\x01" + len(part).to_bytes(2, "big") + part for part in (first, second)
    )
    assert _read(split) == (split, "split.lab.test")


@pytest.mark.parametrize(
    "data",
    [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",  # not TLS
        b"\x16\x03\x01\x00\x00",  # an empty record
        b"\x16\x03\x01\x40\x01" + bytes(10),  # cut inside the record
        b"\x16\x03",  # cut inside the header
    ],
)
def test_read_hello_refuses_what_is_not_a_whole_hello(data: bytes) -> None:
    with pytest.raises(MalformedHello):
        _read(data)


def test_read_hello_caps_the_bytes() -> None:
    with pytest.raises(MalformedHello, match="over 100 bytes"):
        _read(client_hello("big.lab.test"), limit=100)
