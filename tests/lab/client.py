"""What the client namespace does in the censor's tests: one try, one word on stdout.

`tcp ADDRESS PORT PAYLOAD`, `http ADDRESS HOST`, `tls ADDRESS SNI`, `udp ADDRESS COUNT`
(datagrams sent, replies counted) and `dns NAME` (the rcode the lab's resolver address
answers). A connection that gets nothing before its deadline is "timeout": counted as an
event, never timed.
"""

from __future__ import annotations

import socket
import ssl
import sys

import dns.exception
import dns.message
import dns.query
import dns.rcode

DEADLINE = 2.0


def tcp(address: str, port: int, payload: bytes) -> str:
    try:
        with socket.create_connection((address, port), timeout=DEADLINE) as conn:
            conn.sendall(payload)
            got = b""
            while chunk := conn.recv(65536):
                got += chunk
            return "ok" if got.startswith(b"ok:") else f"bytes:{len(got)}"
    except ConnectionRefusedError:
        return "refused"
    except ConnectionResetError:
        return "reset"
    except TimeoutError:
        return "timeout"


def tls(address: str, sni: str) -> str:
    context = ssl.create_default_context()
    try:
        with (
            socket.create_connection((address, 443), timeout=DEADLINE) as conn,
            context.wrap_socket(conn, server_hostname=sni),
        ):
            return "handshake"
    except ConnectionResetError:
        return "reset"
    except TimeoutError:
        return "timeout"
    except ssl.SSLCertVerificationError:
        return "untrusted"  # a certificate from an authority the client does not know
    except ssl.SSLError:
        return "passed"  # the world's plain service answered the hello: it got through


def udp(address: str, count: int) -> str:
    replies = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(DEADLINE)
        for n in range(count):
            sock.sendto(b"%d" % n, (address, 9999))
            try:
                sock.recv(100)
                replies += 1
            except TimeoutError:
                pass
    return f"replies:{replies}"


def query(name: str) -> str:
    try:
        reply = dns.query.udp(dns.message.make_query(name, "A"), "10.77.2.53", timeout=DEADLINE)
    except dns.exception.Timeout:
        return "timeout"
    answers = [r.address for rrset in reply.answer for r in rrset]
    return f"{dns.rcode.to_text(reply.rcode())}:{','.join(answers)}"


if __name__ == "__main__":
    mode, *rest = sys.argv[1:]
    if mode == "tcp":
        print(tcp(rest[0], int(rest[1]), rest[2].encode()))
    elif mode == "http":
        print(tcp(rest[0], 80, f"GET / HTTP/1.1\r\nHost: {rest[1]}\r\n\r\n".encode()))
    elif mode == "tls":
        print(tls(rest[0], rest[1]))
    elif mode == "udp":
        print(udp(rest[0], int(rest[1])))
    else:
        print(query(rest[0]))
