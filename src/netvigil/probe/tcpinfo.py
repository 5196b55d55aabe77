"""The kernel's view of one of our TCP connections: Linux TCP_INFO, as ndt7's `TCPInfo`.

ndt7 servers read `struct tcp_info` of their socket (m-lab/ndt-server; ts-022 lists the
fields). The speed test's client reads its own the same way (probe/ndt7.py says why). The
offsets are those of `struct tcp_info` in linux/include/uapi/linux/tcp.h, fixed since each
field was added (the kernel only ever appends); a shorter answer from an older kernel leaves
the later fields out. Elsewhere than Linux, or on a stream without a socket (a fake
network), there is nothing to read: None.
"""

from __future__ import annotations

import asyncio
import socket
import struct

from netvigil.records.speed import TCPInfo

SIZE = 232  # sizeof(struct tcp_info) as of Linux 5.x
# field -> (offset, struct format), from linux/tcp.h
_FIELDS = {
    "SndMSS": (16, "I"),
    "RTT": (68, "I"),
    "RTTVar": (72, "I"),
    "AdvMSS": (84, "I"),
    "BytesAcked": (120, "Q"),
    "BytesReceived": (128, "Q"),
    "MinRTT": (148, "I"),
    "BusyTime": (168, "Q"),
    "RWndLimited": (176, "Q"),
    "SndBufLimited": (184, "Q"),
    "BytesSent": (200, "Q"),
    "BytesRetrans": (208, "Q"),
}


def parse(raw: bytes, elapsed: int) -> TCPInfo:
    """The fields of a `struct tcp_info` that `raw` holds whole."""
    found: dict[str, int] = {}
    for name, (offset, kind) in _FIELDS.items():
        if offset + struct.calcsize(kind) <= len(raw):
            found[name] = struct.unpack_from(f"={kind}", raw, offset)[0]
    return TCPInfo(ElapsedTime=elapsed, **found)


def tcp_info(writer: asyncio.StreamWriter, elapsed: int) -> TCPInfo | None:
    """A snapshot of the connection's TCP_INFO (through TLS too: the socket is beneath)."""
    option = getattr(socket, "TCP_INFO", None)
    sock = writer.get_extra_info("socket")
    if option is None or sock is None:
        return None
    try:
        raw = sock.getsockopt(socket.IPPROTO_TCP, option, SIZE)
    except OSError:
        return None  # the connection is gone: no snapshot, the sample keeps its AppInfo
    return parse(raw, elapsed)
