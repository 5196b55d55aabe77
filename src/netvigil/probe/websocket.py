"""A WebSocket client over the probe's own connections (wsproto, sans-IO).

The connection is the Backend's TCP connection (and TLS for `https`/`wss`), the probe's one
narrow waist (net/backend.py); wsproto only frames bytes on it (RFC 6455). `open_channel`
runs the upgrade and gives the channel, or raises :class:`OpenFailed` with the df-007
failure string of the step that failed; network errors (a name that does not resolve, a
reset, our deadlines) propagate for the caller's `map_failures` to name. Events read with
the upgrade's answer are kept for the first `events()`: a server may send at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import SplitResult

import wsproto
import wsproto.events as ws
from wsproto.connection import ConnectionState

from netvigil.addresses import join_host_port, parse_ip
from netvigil.failures import Failure, unknown
from netvigil.net.connect import Connection, connect_tcp, tls_context, tls_handshake
from netvigil.probe.nettest import Context

READ = 1 << 16


class OpenFailed(Exception):
    """A subtest could not open (its df-007 failure string is the message)."""


@dataclass
class Channel:
    """One WebSocket over one connection: wsproto's state and the streams."""

    connection: Connection
    socket: wsproto.WSConnection
    pending: list[ws.Event] = field(default_factory=list)  # read with the upgrade's answer

    def send(self, event: ws.Event) -> None:
        self.connection.writer.write(self.socket.send(event))

    async def events(self) -> list[ws.Event]:
        """The next events (an empty list once the peer has closed the stream)."""
        if self.pending:
            found, self.pending = self.pending, []
            return found
        while True:
            data = await self.connection.reader.read(READ)
            if not data and self.socket.state is ConnectionState.CONNECTING:
                raise EOFError("closed before the upgrade")  # map_failures: eof_error
            self.socket.receive_data(data or None)
            found = list(self.socket.events())
            if found or not data:
                return found


async def open_connection(ctx: Context, where: SplitResult) -> Connection:
    """TCP (and TLS for `https`/`wss`) to the URL's host; OpenFailed when a step failed (a
    name that does not resolve raises the resolver's error, map_failures names it)."""
    host, secure = where.hostname or "", where.scheme in ("https", "wss")
    port = where.port or (443 if secure else 80)
    ips = [host] if parse_ip(host) else await ctx.backend.resolve(host)
    connection, record = await connect_tcp(
        ctx.backend, ips[0], port, timeout=ctx.settings.connect_timeout, clock=ctx.clock
    )
    if connection is None:
        raise OpenFailed(record.status.failure or Failure.GENERIC_TIMEOUT)
    if secure:
        context = tls_context(ctx.settings.ca_file)
        connection, handshake = await tls_handshake(
            connection, host, context, timeout=ctx.settings.tls_timeout, clock=ctx.clock
        )
        if connection is None:
            raise OpenFailed(handshake.failure or Failure.SSL_FAILED_HANDSHAKE)
    return connection


async def open_channel(ctx: Context, where: SplitResult, path: str, subprotocol: str) -> Channel:
    """The connection (open_connection), then the upgrade on `path` (with any query)."""
    connection = await open_connection(ctx, where)
    channel = Channel(connection, wsproto.WSConnection(wsproto.ConnectionType.CLIENT))
    host = where.hostname or ""
    authority = host if where.port is None else join_host_port(host, where.port)
    channel.send(ws.Request(host=authority, target=path, subprotocols=[subprotocol]))
    while True:
        found = await channel.events()
        for n, event in enumerate(found):
            if isinstance(event, ws.AcceptConnection):
                if event.subprotocol != subprotocol:
                    connection.close()
                    raise OpenFailed(
                        unknown(f"the server did not select the subprotocol {subprotocol}")
                    )
                channel.pending = found[n + 1 :]
                return channel
            if isinstance(event, ws.RejectConnection):
                connection.close()
                raise OpenFailed(Failure.HTTP_UNEXPECTED_STATUS_CODE)
