"""The STUN codec against RFC 5769's test vectors, and hostile datagrams."""

from __future__ import annotations

import pytest

from netvigil.net import stun

# RFC 5769 §2.2 "Sample IPv4 Response": SOFTWARE "test vector", XOR-MAPPED-ADDRESS
# 192.0.2.1:32853, MESSAGE-INTEGRITY and FINGERPRINT.
VECTOR_TID = bytes.fromhex("b7e7a701bc34d686fa87dfae")
VECTOR = bytes.fromhex(
    "0101003c2112a442b7e7a701bc34d686fa87dfae"
    "8022000b7465737420766563746f7220"
    "00200008 0001a147e112a643".replace(" ", "")
    + "000800142b91f599fd9e90c38c7489f92af9ba53f06be7d7"
    "80280004c07d4c96"
)


def test_the_rfc_5769_ipv4_response_is_a_binding_success_with_a_mapped_address() -> None:
    assert stun.parse_response(VECTOR, VECTOR_TID) == stun.Response(
        is_stun=True, success=True, has_mapped_address=True
    )


def test_our_xor_mapped_address_is_the_vectors() -> None:
    ours = stun.binding_response(VECTOR_TID, ("192.0.2.1", 32853))
    assert ours[20:] == VECTOR[36:48]  # attribute header and value, as RFC 5769 spells them
    assert ours[:2] == b"\x01\x01" and ours[2:4] == b"\x00\x0c"


def test_a_binding_request_is_twenty_bytes_with_the_cookie() -> None:
    tid = stun.new_transaction_id()
    request = stun.binding_request(tid)
    assert request == b"\x00\x01\x00\x00\x21\x12\xa4\x42" + tid
    assert stun.transaction_of(request) == tid
    with pytest.raises(ValueError, match="12 bytes"):
        stun.binding_request(b"short")


def test_an_error_response_carries_its_code() -> None:
    reply = stun.binding_response(VECTOR_TID, None, error=420)
    assert stun.parse_response(reply, VECTOR_TID) == stun.Response(is_stun=True, error_code=420)


@pytest.mark.parametrize(
    ("datagram", "problem"),
    [
        (b"", "shorter than a STUN header"),
        (b"HTTP/1.1 200 OK\r\n\r\nhello", "not a STUN message"),
        (VECTOR[:8] + bytes(12) + VECTOR[20:], "another transaction id"),
        (b"\x00\x01" + VECTOR[2:], "message type 0x0001"),  # a request is not an answer
        (VECTOR[:60], "attribute length past the datagram"),
        # a 16-byte message whose SOFTWARE attribute claims 64 bytes
        (
            VECTOR[:2] + b"\x00\x10" + VECTOR[4:20] + b"\x80\x22\x00\x40" + VECTOR[24:],
            "truncated attribute",
        ),
    ],
)
def test_what_is_not_our_response_is_named_and_never_raises(datagram: bytes, problem: str) -> None:
    parsed = stun.parse_response(datagram, VECTOR_TID)
    assert (parsed.is_stun, parsed.problem) == (False, problem)
