"""The censor's TLS interceptor: a man in the middle with its own CA, keyed on the SNI.

The censor's nftables rules DNAT the client's port-443 connections here (docs/design/011-lab.md).
The box reads the ClientHello without answering it (lab/clienthello.py) and decides on its
server name, as interception boxes do (ooni.md §1.5, reliability.md §4.3 "fake root CA"):

- `TLSIntercept`: terminate TLS with a certificate for the SNI issued by a CA whose name is the
  rule's `issuer` (a lab/ca.py TestCA the probe does not trust, so its handshake fails with an
  unknown authority), read the request head, and send it on over a fresh TLS connection to the
  real site that trusts the lab's CA, so a client that does trust the censor (as users told to
  install a "security certificate" do) still gets the page;
- any other SNI: relay to the original destination (`upstreams`, SNI → address, port, as the
  HTTP box's map) byte for byte, the ClientHello included, so the site's own certificate and
  handshake reach the client untouched. A hello with no SNI, or an SNI with no upstream, is
  closed (unroutable); a malformed or truncated one is closed (rejected).

SNI-keyed reset, drop and timeout (`TLSSNIBlock`) need no server: packet rules do them.

The bytes of the ClientHello are already read when the box decides to terminate; an asyncio
TLS server cannot be handed them back, so the box replays them into its own TLS endpoint
through a socket pair, and the client's connection is spliced onto the pair's other end.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import ssl
from collections.abc import Iterable, Mapping
from pathlib import Path

from netvigil.lab.ca import TestCA
from netvigil.lab.censor_conn import Limits, StreamService, read_head, relay, reset
from netvigil.lab.clienthello import MalformedHello, read_hello
from netvigil.lab.rules import Rule, TLSIntercept

__all__ = ["CensorTLS"]

_HEAD_LIMIT = 16 * 1024  # the decrypted request head, as the HTTP box's


class CensorTLS(StreamService):
    """:meth:`start` → port (certificates are made then, one CA per issuer); :meth:`close`."""

    def __init__(
        self,
        rules: Iterable[Rule],
        upstreams: Mapping[str, tuple[str, int]],
        *,
        folder: Path,
        site_ca: Path,
        limits: Limits | None = None,
    ) -> None:
        # A ClientHello may fill a whole 16 KiB record (a large post-quantum key share).
        super().__init__(limits or Limits(head_limit=32 * 1024))
        self.intercepts = {r.sni.lower(): r.issuer for r in rules if isinstance(r, TLSIntercept)}
        self.upstreams = {name.lower(): target for name, target in upstreams.items()}
        self.folder = folder
        self.site_ca = site_ca
        self.authorities: dict[str, TestCA] = {}  # issuer → the censor's CA
        self._contexts: dict[str, ssl.SSLContext] = {}  # SNI → the forged server side
        self._site_tls = ssl.create_default_context(cafile=str(site_ca))  # the real sites' CA
        self.intercepted = 0  # ClientHellos answered with the censor's certificate
        self.decrypted = 0  # of those, handshakes the client completed
        self.proxied = 0  # decrypted requests sent on to the real site
        self.passed = 0  # connections relayed untouched
        self.unroutable = 0  # no SNI, or no upstream for it
        self.upstream_down = 0  # the site refused or was unreachable

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        now = dt.datetime.now(dt.UTC)
        for sni, issuer in sorted(self.intercepts.items()):
            if issuer not in self.authorities:
                where = self.folder / f"censor-ca-{len(self.authorities)}"
                where.mkdir(parents=True, exist_ok=True)
                self.authorities[issuer] = TestCA(where, now=now, name=issuer)
            leaf = self.authorities[issuer].issue(sni)
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(leaf.cert_file, leaf.key_file)
            self._contexts[sni] = context
        return await super().start(host, port)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(self.limits.head_timeout):
                hello, sni = await read_hello(reader, self.limits.head_limit)
        except MalformedHello:
            self.rejected += 1
            return
        target = self.upstreams.get(sni or "")
        if sni is None or target is None:
            self.unroutable += 1
            return
        if sni in self._contexts:
            await self._intercept(hello, sni, target, reader, writer)
            return
        try:
            site_reader, site_writer = await asyncio.open_connection(*target)
        except OSError:
            self.upstream_down += 1  # passed on as a reset, as the HTTP box does
            reset(writer)
            return
        self.passed += 1
        site_writer.write(hello)
        await relay(reader, writer, site_reader, site_writer)

    async def _intercept(
        self,
        hello: bytes,
        sni: str,
        target: tuple[str, int],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        loop = asyncio.get_running_loop()
        near, far = socket.socketpair()
        far_reader, far_writer = await asyncio.open_connection(sock=far)
        far_writer.write(hello)  # replayed into the box's own TLS endpoint on `near`
        splice = asyncio.create_task(relay(reader, writer, far_reader, far_writer))
        try:
            tls_reader = asyncio.StreamReader(limit=_HEAD_LIMIT)
            protocol = asyncio.StreamReaderProtocol(tls_reader)
            self.intercepted += 1
            async with asyncio.timeout(self.limits.head_timeout):
                transport, _ = await loop.connect_accepted_socket(
                    lambda: protocol, near, ssl=self._contexts[sni]
                )
                self.decrypted += 1
                tls_writer = asyncio.StreamWriter(transport, protocol, tls_reader, loop)
                head = await read_head(tls_reader)
            if head is None:
                self.rejected += 1
                tls_writer.close()
            else:
                site_reader, site_writer = await asyncio.open_connection(
                    *target, ssl=self._site_tls, server_hostname=sni
                )
                self.proxied += 1
                site_writer.write(head)
                await relay(tls_reader, tls_writer, site_reader, site_writer)
            await splice  # the last bytes, the close_notify included, reach the client
        finally:
            splice.cancel()
            near.close()
