"""A packet capture read into typed records: the libpcap file format, no IO.

What the lab's captures hold is simple (tcpdump `-w` on a veth): the classic libpcap file
(a 24-byte header, then a 16-byte header per packet; pcap-savefile(5)), Ethernet frames and
IPv4 inside them. The format is parsed here rather than tcpdump's text output (`-r -nn -tt`),
whose layout changes between versions and mixes what we need with prose; nothing in
requirements.lock reads pcap. Either byte order and both time resolutions (micro- and
nanoseconds, by the magic number) are read; Linux cooked captures (`-i any`, SLL and SLL2)
and raw IP too, so a capture of another interface reads the same.

A TCP segment whose payload starts a TLS handshake record holding a ClientHello carries its
server name (lab/clienthello.py's parser, the censor's own). A hello split over segments
(larger than one MSS: not Python's) is recognised, its name left None: a reader of one
packet at a time does not reassemble streams.

Hostile or cut input: a file that is not a pcap, or a record longer than the file's own
snap length, is one line (:class:`PcapError`); a last record cut short (a capture stopped by
SIGKILL mid-write) ends the packets and sets `truncated`. Frames that are not IPv4 TCP or
UDP (ARP, IPv6, ICMP) are counted in `skipped`, not returned.
"""

from __future__ import annotations

import ipaddress
import struct
from typing import Final

import msgspec

from netvigil.lab.clienthello import MalformedHello, server_name

__all__ = ["Capture", "Packet", "PcapError", "parse_pcap"]

_MAGIC: Final = {0xA1B2C3D4: 1e-6, 0xA1B23C4D: 1e-9}  # seconds per fraction unit
_ETHERNET, _RAW, _SLL, _IPV4_RAW, _SLL2 = 1, 101, 113, 228, 276
_ETHERTYPE_IPV4, _ETHERTYPE_VLAN = 0x0800, 0x8100
_TCP, _UDP = 6, 17
# (bit, letter) in tcpdump's order: S, F, P, R, U, then ACK (which it prints as ".").
_FLAGS: Final = ((0x02, "S"), (0x01, "F"), (0x08, "P"), (0x04, "R"), (0x20, "U"), (0x10, "A"))
_MAX_SNAPLEN: Final = 1 << 18  # tcpdump's default snap length is 262144


class PcapError(ValueError):
    """The bytes are not a pcap file this reader can read; the message is one line."""


class Packet(msgspec.Struct, frozen=True, kw_only=True):
    """One IPv4 TCP or UDP packet as captured. `flags` is tcpdump's letters in its order
    (``S``, ``SA``, ``PA``, ``R``, ``RA``, ``FA``...; empty for UDP); `seq`/`ack` are absolute
    (tcpdump -S); `payload_len` is the transport payload's length on the wire, even when the
    snap length cut what was captured."""

    time: float  # seconds since the epoch
    proto: str  # "tcp" or "udp"
    src: str
    dst: str
    sport: int
    dport: int
    flags: str = ""
    seq: int = 0
    ack: int = 0
    payload_len: int = 0
    client_hello: bool = False
    sni: str | None = None

    def has(self, flag: str) -> bool:
        return flag in self.flags


class Capture(msgspec.Struct, frozen=True, kw_only=True):
    """A whole capture file: its link type, its packets in file order, what was skipped."""

    link_type: int
    packets: tuple[Packet, ...]
    skipped: int = 0
    truncated: bool = False


def parse_pcap(data: bytes) -> Capture:
    """Every IPv4 TCP and UDP packet of a libpcap file's bytes."""
    if len(data) < 24:
        raise PcapError("not a pcap file: shorter than its 24-byte header")
    for order in ("<", ">"):
        (magic,) = struct.unpack_from(f"{order}I", data)
        if magic in _MAGIC:
            break
    else:
        raise PcapError("not a pcap file (pcapng is not read: tcpdump -w writes pcap)")
    unit = _MAGIC[magic]
    snaplen, link_type = struct.unpack_from(f"{order}II", data, 16)
    link_type &= 0xFFFF  # the upper bits carry the FCS length (pcap-savefile(5))
    if link_type not in (_ETHERNET, _RAW, _SLL, _IPV4_RAW, _SLL2):
        raise PcapError(f"link type {link_type} is not read (Ethernet, cooked or raw IP are)")
    limit = min(snaplen or _MAX_SNAPLEN, _MAX_SNAPLEN)
    packets: list[Packet] = []
    skipped, at, truncated = 0, 24, False
    while at < len(data):
        if at + 16 > len(data):
            truncated = True
            break
        seconds, fraction, caplen, _wire = struct.unpack_from(f"{order}IIII", data, at)
        if caplen > limit:
            raise PcapError(f"packet at byte {at} claims {caplen} bytes, over the snap length")
        frame = data[at + 16 : at + 16 + caplen]
        if len(frame) < caplen:
            truncated = True
            break
        at += 16 + caplen
        packet = _packet(seconds + fraction * unit, link_type, frame)
        if packet is None:
            skipped += 1
        else:
            packets.append(packet)
    return Capture(
        link_type=link_type, packets=tuple(packets), skipped=skipped, truncated=truncated
    )


def _ipv4_of(link_type: int, frame: bytes) -> bytes | None:
    """The IPv4 datagram in a frame, or None when it holds something else."""
    if link_type in (_RAW, _IPV4_RAW):
        return frame if frame[:1] and frame[0] >> 4 == 4 else None
    if link_type == _SLL:  # 16-byte header, protocol type last (pcap-linktype(7))
        kind, rest = int.from_bytes(frame[14:16], "big"), frame[16:]
    elif link_type == _SLL2:  # 20-byte header, protocol type first
        kind, rest = int.from_bytes(frame[0:2], "big"), frame[20:]
    else:
        kind, rest = int.from_bytes(frame[12:14], "big"), frame[14:]
        if kind == _ETHERTYPE_VLAN:  # one 802.1Q tag
            kind, rest = int.from_bytes(frame[16:18], "big"), frame[18:]
    return rest if kind == _ETHERTYPE_IPV4 else None


def _packet(time: float, link_type: int, frame: bytes) -> Packet | None:
    ip = _ipv4_of(link_type, frame)
    if ip is None or len(ip) < 20 or ip[0] >> 4 != 4:
        return None
    header_len, total_len, proto = (ip[0] & 0x0F) * 4, int.from_bytes(ip[2:4], "big"), ip[9]
    fragment = int.from_bytes(ip[6:8], "big") & 0x1FFF
    if header_len < 20 or total_len < header_len or fragment or proto not in (_TCP, _UDP):
        return None  # a later fragment has no transport header to read
    segment = ip[header_len:total_len]  # what the snap length kept of it
    on_wire = total_len - header_len
    src, dst = str(ipaddress.IPv4Address(ip[12:16])), str(ipaddress.IPv4Address(ip[16:20]))
    if proto == _UDP:
        if len(segment) < 8:
            return None
        sport, dport = struct.unpack_from(">HH", segment)
        return Packet(
            time=time,
            proto="udp",
            src=src,
            dst=dst,
            sport=sport,
            dport=dport,
            payload_len=on_wire - 8,
        )
    if len(segment) < 20:
        return None
    sport, dport, seq, ack, offset, bits = struct.unpack_from(">HHIIBB", segment)
    data_at = (offset >> 4) * 4
    if data_at < 20:
        return None
    flags = "".join(letter for bit, letter in _FLAGS if bits & bit)
    payload = segment[data_at:]
    hello, sni = _client_hello(payload)
    return Packet(
        time=time,
        proto="tcp",
        src=src,
        dst=dst,
        sport=sport,
        dport=dport,
        flags=flags,
        seq=seq,
        ack=ack,
        payload_len=max(on_wire - data_at, 0),
        client_hello=hello,
        sni=sni,
    )


def _client_hello(payload: bytes) -> tuple[bool, str | None]:
    """(starts a ClientHello, its server name when the whole hello is in this segment)."""
    # A handshake record (22), TLS major version 3, whose message is a ClientHello (1).
    if len(payload) < 6 or payload[0] != 22 or payload[1] != 3 or payload[5] != 1:
        return False, None
    record_len = int.from_bytes(payload[3:5], "big")
    message = payload[5 : 5 + record_len]
    if len(message) < 4 or len(message) < 4 + int.from_bytes(message[1:4], "big"):
        return True, None  # the rest is in later segments (or past the snap length)
    try:
        return True, server_name(message)
    except MalformedHello:
        return True, None
