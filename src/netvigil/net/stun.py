"""STUN binding requests and responses (RFC 5389 §6, §15.2), as pure functions.

Why hand-written: the STUN clients on PyPI (aiostun, pystun3) open their own sockets, and
the probe's only way to the network is its :class:`~netvigil.net.backend.Backend`
(`exchange_udp`); what a binding test needs of the protocol is a 20-byte header and one
attribute, fewer lines than an adapter around someone else's socket code would take.

A response is accepted only when it is a Binding success (0x0101) or error (0x0111)
response carrying our magic cookie and transaction id: anything else on the port (a
middlebox's injected packet, another protocol) is not STUN. The mapped address a server
returns is the probe's own public address (ooni/spec ts-025 "Privacy considerations"):
:func:`parse_response` reports only *whether* one was present, never the address, so no
caller can write it by mistake.
"""

from __future__ import annotations

import secrets
import struct
from dataclasses import dataclass

MAGIC_COOKIE = 0x2112A442
BINDING_REQUEST = 0x0001
BINDING_SUCCESS = 0x0101
BINDING_ERROR = 0x0111
HEADER = struct.Struct("!HHI12s")  # type, length, magic cookie, transaction id
_ATTRIBUTE = struct.Struct("!HH")
MAPPED_ADDRESS = 0x0001
XOR_MAPPED_ADDRESS = 0x0020
ERROR_CODE = 0x0009


def new_transaction_id() -> bytes:
    """96 random bits (RFC 5389 §6: uniformly and cryptographically random)."""
    return secrets.token_bytes(12)


def binding_request(transaction_id: bytes) -> bytes:
    """A Binding request without attributes: the 20 bytes OONI's probe sends (ts-025)."""
    if len(transaction_id) != 12:
        raise ValueError("a STUN transaction id is 12 bytes")
    return HEADER.pack(BINDING_REQUEST, 0, MAGIC_COOKIE, transaction_id)


@dataclass(frozen=True)
class Response:
    """What a datagram said, without the address it may carry."""

    is_stun: bool  # a well-formed response to *our* request
    success: bool = False  # a Binding success response
    has_mapped_address: bool = False  # (XOR-)MAPPED-ADDRESS present (its value is not kept)
    error_code: int | None = None  # from ERROR-CODE in an error response
    problem: str = ""  # why it is not a valid response, in words


def parse_response(datagram: bytes, transaction_id: bytes) -> Response:
    """Read one datagram as the answer to our Binding request; never raises on bytes."""
    if len(datagram) < HEADER.size:
        return Response(is_stun=False, problem="shorter than a STUN header")
    kind, length, cookie, tid = HEADER.unpack_from(datagram)
    if kind & 0xC000 or cookie != MAGIC_COOKIE:
        return Response(is_stun=False, problem="not a STUN message")
    if tid != transaction_id:
        return Response(is_stun=False, problem="another transaction id")
    if kind not in (BINDING_SUCCESS, BINDING_ERROR):
        return Response(is_stun=False, problem=f"message type 0x{kind:04x}")
    if length % 4 or HEADER.size + length > len(datagram):
        return Response(is_stun=False, problem="attribute length past the datagram")
    mapped, error = False, None
    offset, end = HEADER.size, HEADER.size + length
    while offset + _ATTRIBUTE.size <= end:
        attribute, size = _ATTRIBUTE.unpack_from(datagram, offset)
        value = datagram[offset + _ATTRIBUTE.size : min(offset + _ATTRIBUTE.size + size, end)]
        if len(value) < size:
            return Response(is_stun=False, problem="truncated attribute")
        if attribute in (MAPPED_ADDRESS, XOR_MAPPED_ADDRESS) and size >= 8:
            mapped = True
        elif attribute == ERROR_CODE and size >= 4:
            error = (value[2] & 0x07) * 100 + value[3]  # RFC 5389 §15.6: class * 100 + number
        offset += _ATTRIBUTE.size + size + (-size % 4)  # attributes are padded to 4 bytes
    return Response(
        is_stun=True,
        success=kind == BINDING_SUCCESS,
        has_mapped_address=mapped,
        error_code=error,
    )


def binding_response(
    transaction_id: bytes, address: tuple[str, int] | None, *, error: int | None = None
) -> bytes:
    """A server's reply (for the lab and tests): success with XOR-MAPPED-ADDRESS of an IPv4
    `address`, or an error response with ERROR-CODE `error`."""
    if error is not None:
        reason = b"lab"
        value = struct.pack("!HBB", 0, error // 100, error % 100) + reason
        body = _ATTRIBUTE.pack(ERROR_CODE, len(value)) + value + b"\0" * (-len(value) % 4)
        return HEADER.pack(BINDING_ERROR, len(body), MAGIC_COOKIE, transaction_id) + body
    assert address is not None
    host, port = address
    packed = bytes(int(part) for part in host.split("."))
    xport = port ^ (MAGIC_COOKIE >> 16)
    xaddr = bytes(a ^ b for a, b in zip(packed, struct.pack("!I", MAGIC_COOKIE), strict=True))
    value = struct.pack("!BBH", 0, 0x01, xport) + xaddr
    body = _ATTRIBUTE.pack(XOR_MAPPED_ADDRESS, len(value)) + value
    return HEADER.pack(BINDING_SUCCESS, len(body), MAGIC_COOKIE, transaction_id) + body


def transaction_of(request: bytes) -> bytes | None:
    """The transaction id of a Binding request (for a server), None if it is not one."""
    if len(request) < HEADER.size:
        return None
    kind, _length, cookie, tid = HEADER.unpack_from(request)
    return tid if kind == BINDING_REQUEST and cookie == MAGIC_COOKIE else None
