"""A Snowflake broker on loopback: it pairs one client's offer with one proxy's answer.

Debian ships no broker, so this is the rendezvous of snowflake 2.5.1's own messages
(golang-snowflake-dev common/messages): a client POSTs /client, "1.0\\n" then
`{"offer", "nat", "fingerprint"}` (client.go, ClientPollRequest), and is answered
`{"answer"}` or `{"error"}`; a proxy POSTs /proxy, `{Sid, Version "1.x", Type, NAT, Clients,
AcceptedRelayPattern}` (proxy.go, ProxyPollRequest), and gets `{Status: "client match",
Offer, NAT, RelayURL}` or `{Status: "no match"}`, then POSTs /answer, `{Version, Sid,
Answer}`, and is told `{Status: "success"}` or "client gone". The waits are upstream
broker's (broker/ipc.go: a proxy's poll is held up to 10 s, a client's up to 10 s, under
the client's 15 s ResponseHeaderTimeout). /probe, the proxies' NAT self-test, is refused:
the proxy then calls its NAT "unknown", as it does when the test service is down.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from dataclasses import dataclass, field

import h11
import msgspec

HOST = "127.0.0.1"
PROXY_WAIT = CLIENT_WAIT = 10.0
MAX_BODY = 1 << 16  # an SDP offer is a few kB (upstream's readLimit is 100 kB)


class ClientPoll(msgspec.Struct, frozen=True):
    offer: str
    nat: str = "unknown"
    fingerprint: str = ""


class ProxyPoll(msgspec.Struct, frozen=True):
    Sid: str
    Version: str
    Type: str = ""
    NAT: str = "unknown"
    Clients: int = 0
    AcceptedRelayPattern: str | None = None


class ProxyAnswer(msgspec.Struct, frozen=True):
    Version: str
    Sid: str
    Answer: str


@dataclass
class Broker:
    relay: str  # the Snowflake server's WebSocket URL, handed to every matched proxy
    counts: Counter[str] = field(default_factory=Counter)
    offers: asyncio.Queue[tuple[str, asyncio.Future[str]]] = field(default_factory=asyncio.Queue)
    matched: dict[str, asyncio.Future[str]] = field(default_factory=dict)
    server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, HOST, 0)
        return int(self.server.sockets[0].getsockname()[1])

    def close(self) -> None:
        if self.server is not None:
            self.server.close()

    async def _client(self, body: bytes) -> tuple[int, bytes]:
        version, _, rest = body.partition(b"\n")
        if version != b"1.0":
            return 400, b"unsupported message version"
        poll = msgspec.json.decode(rest, type=ClientPoll)
        answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        await self.offers.put((poll.offer, answer))
        try:
            async with asyncio.timeout(CLIENT_WAIT):
                sdp = await answer
        except TimeoutError:
            answer.cancel()  # so that no proxy is matched with a client that left
            return 200, b'{"error":"timed out waiting for answer!"}'
        self.counts["answered"] += 1
        return 200, msgspec.json.encode({"answer": sdp})

    async def _proxy(self, body: bytes) -> tuple[int, bytes]:
        poll = msgspec.json.decode(body, type=ProxyPoll)
        if not poll.Version.startswith("1.") or not poll.Sid:
            return 400, b"bad poll"
        try:
            async with asyncio.timeout(PROXY_WAIT):
                offer, answer = await self.offers.get()
                while answer.done():  # that client gave up: the next one
                    offer, answer = await self.offers.get()
        except TimeoutError:
            return 200, b'{"Status":"no match"}'
        self.counts["matched"] += 1
        self.matched[poll.Sid] = answer
        reply = {"Status": "client match", "Offer": offer, "NAT": "unknown"}
        return 200, msgspec.json.encode(reply | {"RelayURL": self.relay})

    async def _answer(self, body: bytes) -> tuple[int, bytes]:
        message = msgspec.json.decode(body, type=ProxyAnswer)
        waiting = self.matched.pop(message.Sid, None)
        if waiting is None or waiting.done():
            return 200, b'{"Status":"client gone"}'
        waiting.set_result(message.Answer)
        return 200, b'{"Status":"success"}'

    async def _route(self, target: str, body: bytes) -> tuple[int, bytes]:
        self.counts[target] += 1
        routes = {"/client": self._client, "/proxy": self._proxy, "/answer": self._answer}
        if target not in routes:
            return 404, b"not here"  # /probe too: this broker runs no NAT self-test
        try:
            return await routes[target](body)
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            return 400, f"bad message: {error}".encode()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, TimeoutError, h11.ProtocolError):
            async with asyncio.timeout(PROXY_WAIT + 10):
                connection, body, target = h11.Connection(h11.SERVER), b"", ""
                while True:
                    event = connection.next_event()
                    if event is h11.NEED_DATA:
                        connection.receive_data(await reader.read(65536))
                    elif isinstance(event, h11.Request):
                        target = event.target.decode("ascii", "replace")
                    elif isinstance(event, h11.Data):
                        body += bytes(event.data)
                        if len(body) > MAX_BODY:
                            break
                    else:
                        break
                status, data = await self._route(target, body)
                headers = [("Content-Length", str(len(data))), ("Connection", "close")]
                writer.write(connection.send(h11.Response(status_code=status, headers=headers)))
                writer.write(connection.send(h11.Data(data=data)) or b"")
                writer.write(connection.send(h11.EndOfMessage()) or b"")
                await writer.drain()
        writer.close()
