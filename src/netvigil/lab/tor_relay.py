"""A lab Tor relay as the `tor` nettest measures one: a TLS ORPort and an HTTP DirPort.

What probe/tor.py (ts-023; probe-cli internal/experiment/tor) asks of a directory
authority, and nothing more:

- **ORPort**: a TLS handshake, which the nettest does not validate, since relays present a
  self-signed certificate with random names (tor's link certificate: subject
  `www.<random>.net`, issuer `www.<random>.com`). The relay makes one such certificate at
  start. After the handshake a real relay speaks the link protocol (a VERSIONS cell); the
  nettest stops at the handshake, so this one reads and drops until the peer leaves or
  `OR_IDLE` passes.
- **DirPort**: plain HTTP; `GET /tor/status-vote/current/consensus.z` (or without `.z`)
  answers 200 with a small consensus document, zlib-compressed for `.z` with
  `Content-Encoding: deflate` as tor sends it; the nettest keeps the first 256 bytes. Any
  other path is a 404, as tor answers an unknown directory request.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import ssl
import zlib
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from netvigil.lab.webserver import Behaviour, Router

__all__ = [
    "CONSENSUS",
    "OR_IDLE",
    "ORPort",
    "consensus",
    "dir_router",
    "relay_tls",
    "serve_or_port",
]

CONSENSUS = "/tor/status-vote/current/consensus"
OR_IDLE = 60.0


def _random_host(tld: str) -> str:
    return f"www.{secrets.token_hex(6)}.{tld}"


def relay_tls(folder: Path, *, now: dt.datetime) -> ssl.SSLContext:
    """A server context with a fresh relay-style certificate (written to `folder`)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, _random_host("net"))])
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, _random_host("com"))])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "tor-relay.pem", folder / "tor-relay.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context


def consensus(name: str, address: str, dir_port: int, or_port: int, now: dt.datetime) -> bytes:
    """A consensus document naming this one authority (dir-spec.txt §3.4.1's first lines)."""
    hour = now.replace(minute=0, second=0, microsecond=0)

    def at(hours: int) -> str:
        return (hour + dt.timedelta(hours=hours)).strftime("%Y-%m-%d %H:%M:%S")

    lines = [
        "network-status-version 3",
        "vote-status consensus",
        "consensus-method 32",
        f"valid-after {at(0)}",
        f"fresh-until {at(1)}",
        f"valid-until {at(3)}",
        "voting-delay 300 300",
        "known-flags Authority Running Stable V2Dir Valid",
        f"dir-source {name} {secrets.token_hex(20).upper()} {address} {address} "
        f"{dir_port} {or_port}",
        "directory-footer",
    ]
    return ("\n".join(lines) + "\n").encode()


def dir_router(document: bytes) -> Router:
    """The DirPort's router: the consensus, compressed for `.z`, else 404."""
    plain = Behaviour(body=document, headers=(("Content-Type", "text/plain"),))
    compressed = Behaviour(
        body=zlib.compress(document),
        headers=(("Content-Type", "application/octet-stream"), ("Content-Encoding", "deflate")),
    )
    missing = Behaviour(status=404, body=b"", headers=())

    def route(_host: str, path: str, _client: str) -> Behaviour:
        if path == CONSENSUS + ".z":
            return compressed
        return plain if path == CONSENSUS else missing

    return route


class ORPort:
    """A listening ORPort; `handshakes` counts the TLS handshakes completed."""

    def __init__(self, tls: ssl.SSLContext) -> None:
        self.tls = tls
        self.handshakes = 0
        self.server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.handshakes += 1  # the server's TLS (start_server's ssl=) completed it
        try:
            async with asyncio.timeout(OR_IDLE):
                while await reader.read(4096):
                    pass  # the link protocol's cells: not spoken here
        except (TimeoutError, ConnectionError, ssl.SSLError, OSError):
            pass  # a peer gone silent, or gone: its business
        except asyncio.CancelledError:
            # Only the loop's end cancels a handler; end quietly (3.11's start_server
            # done-callback calls task.exception(), which logs a cancelled task).
            pass
        finally:
            writer.close()

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])


async def serve_or_port(tls: ssl.SSLContext, host: str = "127.0.0.1", port: int = 0) -> ORPort:
    """Listen with TLS from the first byte (asyncio's own: a handshake that fails or stalls
    past `OR_IDLE` is closed without reaching the handler, and a peer that closes right after
    the handshake, as the nettest does, is not taken for a plain-TCP half-close)."""
    relay = ORPort(tls)
    relay.server = await asyncio.start_server(
        relay.handle, host, port, ssl=tls, ssl_handshake_timeout=OR_IDLE
    )
    return relay
