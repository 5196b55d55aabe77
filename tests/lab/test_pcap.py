"""lab/pcap.py on capture files built here byte by byte (no root, no tcpdump): the packets,
their flags and payload lengths, a ClientHello's SNI, both byte orders and time units, the
link types tcpdump writes, and hostile files."""

from __future__ import annotations

import ipaddress
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netvigil.lab.pcap import Packet, PcapError, parse_pcap
from tests.lab.hello import client_hello

CLIENT, SITE = "10.77.1.2", "10.77.2.11"
SYN, RST, PSH, ACK, FIN = 0x02, 0x04, 0x08, 0x10, 0x01


def _ipv4(src: str, dst: str, proto: int, segment: bytes, *, fragment: int = 0) -> bytes:
    header = struct.pack(
        ">BBHHHBBH4s4s", 0x45, 0, 20 + len(segment), 1, fragment, 64, proto, 0,
        ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed,
    )  # fmt: skip
    return header + segment


def _tcp(sport: int, dport: int, flags: int, payload: bytes = b"", seq: int = 1) -> bytes:
    return struct.pack(">HHIIBBHHH", sport, dport, seq, 7, 5 << 4, flags, 64, 0, 0) + payload


def _udp(sport: int, dport: int, payload: bytes) -> bytes:
    return struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload


def _ether(ip: bytes, kind: int = 0x0800) -> bytes:
    return b"\x02" * 6 + b"\x04" * 6 + struct.pack(">H", kind) + ip


def _pcap(
    frames: list[bytes], *, order: str = "<", nano: bool = False, link: int = 1, snap: int = 65535
) -> bytes:
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = struct.pack(f"{order}IHHiIII", magic, 2, 4, 0, 0, snap, link)
    for i, frame in enumerate(frames):
        kept = frame[:snap]
        out += struct.pack(f"{order}IIII", 1_700_000_000 + i, 500, len(kept), len(frame)) + kept
    return out


def _flow() -> list[bytes]:
    hello = client_hello("news.lab.test")
    return [
        _ether(_ipv4(CLIENT, SITE, 6, _tcp(40000, 443, SYN))),
        _ether(_ipv4(SITE, CLIENT, 6, _tcp(443, 40000, SYN | ACK))),
        _ether(_ipv4(CLIENT, SITE, 6, _tcp(40000, 443, ACK))),
        _ether(_ipv4(CLIENT, SITE, 6, _tcp(40000, 443, PSH | ACK, hello))),
        _ether(_ipv4(SITE, CLIENT, 6, _tcp(443, 40000, RST, seq=99))),
    ]


def test_a_reset_flow_reads_as_tcpdump_shows_it() -> None:
    capture = parse_pcap(_pcap(_flow()))
    assert capture.link_type == 1 and not capture.truncated and capture.skipped == 0
    assert [p.flags for p in capture.packets] == ["S", "SA", "A", "PA", "R"]
    hello, reset = capture.packets[3], capture.packets[4]
    assert hello.client_hello and hello.sni == "news.lab.test"
    assert hello.payload_len == len(client_hello("news.lab.test"))
    assert (hello.src, hello.sport, hello.dst, hello.dport) == (CLIENT, 40000, SITE, 443)
    assert reset.has("R") and reset.seq == 99 and reset.payload_len == 0
    assert capture.packets[0].time == pytest.approx(1_700_000_000.0005)


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("nano", [False, True])
def test_either_byte_order_and_time_unit(order: str, nano: bool) -> None:
    capture = parse_pcap(_pcap(_flow(), order=order, nano=nano))
    assert [p.sni for p in capture.packets if p.client_hello] == ["news.lab.test"]
    fraction = 500e-9 if nano else 500e-6
    assert capture.packets[0].time == pytest.approx(1_700_000_000 + fraction)


def test_cooked_and_raw_captures_read_the_same() -> None:
    ip = _ipv4(CLIENT, SITE, 17, _udp(5000, 53, b"q" * 12))
    sll = b"\x00\x04" + b"\x00\x01" + b"\x00\x06" + b"\x02" * 8 + b"\x08\x00" + ip
    sll2 = b"\x08\x00\x00\x00" + b"\x00" * 16 + ip
    expected = Packet(
        time=1_700_000_000.0005, proto="udp", src=CLIENT, dst=SITE, sport=5000, dport=53,
        payload_len=12,
    )  # fmt: skip
    for link, frame in ((113, sll), (276, sll2), (101, ip), (1, _ether(ip))):
        assert parse_pcap(_pcap([frame], link=link)).packets == (expected,), link


def test_what_is_not_ipv4_tcp_or_udp_is_counted_not_returned() -> None:
    arp = _ether(b"\x00" * 28, kind=0x0806)
    icmp = _ether(_ipv4(SITE, CLIENT, 1, b"\x03\x03" + b"\x00" * 6))
    later_fragment = _ether(_ipv4(CLIENT, SITE, 6, b"x" * 20, fragment=185))
    capture = parse_pcap(_pcap([arp, icmp, later_fragment, *_flow()]))
    assert capture.skipped == 3 and len(capture.packets) == 5


def test_a_hello_cut_by_the_snap_length_is_a_hello_without_a_name() -> None:
    capture = parse_pcap(_pcap(_flow(), snap=200))
    hello = capture.packets[3]
    assert hello.client_hello and hello.sni is None
    assert hello.payload_len == len(client_hello("news.lab.test"))  # from the IP header


def test_a_capture_cut_mid_record_keeps_what_came_before() -> None:
    whole = _pcap(_flow())
    for cut in (len(whole) - 10, len(whole) - len(_flow()[-1]) - 8):
        capture = parse_pcap(whole[:cut])
        assert capture.truncated and len(capture.packets) == 4


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "shorter than its 24-byte header"),
        (b"\x0a\x0d\x0d\x0a" + b"\x00" * 40, "not a pcap file"),
        (_pcap([], link=105), "link type 105 is not read"),
        (
            _pcap([]) + struct.pack("<IIII", 0, 0, 1 << 30, 1 << 30),
            "claims 1073741824 bytes, over the snap length",
        ),
    ],
)
def test_hostile_files_are_one_line(data: bytes, message: str) -> None:
    with pytest.raises(PcapError, match=message) as caught:
        parse_pcap(data)
    assert "\n" not in str(caught.value)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120), st.sampled_from([0x45, 0x46, 0x4F, 0x40]), st.booleans())
def test_garbage_inside_ipv4_frames_never_raises(body: bytes, first: int, tcp: bool) -> None:
    """Any bytes after an IPv4 version nibble: read or skipped, never an IndexError."""
    ip = bytes([first]) + body[:8] + bytes([6 if tcp else 17]) + body[8:]
    hello = b"\x16\x03\x01" + len(body).to_bytes(2, "big") + b"\x01" + body  # a hello's start
    frames = [_ether(ip), _ether(_ipv4(CLIENT, SITE, 6 if tcp else 17, body))]
    frames.append(_ether(_ipv4(CLIENT, SITE, 6, _tcp(40000, 443, PSH | ACK, hello))))
    capture = parse_pcap(_pcap(frames))
    assert capture.skipped + len(capture.packets) == 3
    assert capture.packets[-1].client_hello
