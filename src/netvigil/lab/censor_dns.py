"""The censor's forging DNS proxy: the ISP resolver that lies for some names.

The censor's nftables rules DNAT the client's port-53 traffic here (docs/design/011-lab.md).
Queries go on, byte for byte, to the real resolver (`upstream`), except for names with a rule
(ooni.md §1.5 and reliability.md §4.3 list the techniques):

- `DNSAnswer`: the proxy answers itself (NXDOMAIN, SERVFAIL, REFUSED, or addresses such as a
  bogon or a blockpage IP); the upstream never sees the query, as with a lying ISP resolver;
- `DNSInjection`: an on-path injector's forged reply goes out at once, and the real answer,
  asked of the upstream at once too, is let through `delay` seconds after it, so the client
  gets two replies with one id (ooni/spec tq-002, "second DNS reply": the probe keeps both).

Over TCP an injected segment takes the real answer's sequence numbers, so the client's
kernel discards the real one: on TCP an injection rule gives the forged reply only. TCP
queries are asked of the upstream over UDP (the lab's resolver, lab/dnsserver.py, is UDP).
Names match exactly, case-insensitively. Garbage and non-queries are ignored, as resolvers
do; at most `max_pending` upstream questions are open at once, more are dropped (counted).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass

import dns.flags
import dns.message
import dns.opcode

from netvigil.lab.censor_conn import Limits
from netvigil.lab.censor_dns_wire import TCPFraming, ask_upstream, forged_reply
from netvigil.lab.rules import DNSAnswer, DNSInjection, Rule

__all__ = ["CensorDNS", "DNSCounts"]


@dataclass
class DNSCounts:
    queries: int = 0  # well-formed queries received, UDP and TCP
    forged: int = 0  # answers the censor made up
    relayed: int = 0  # upstream answers passed on
    asked: int = 0  # queries sent to the upstream
    lost: int = 0  # upstream questions unanswered within `upstream_timeout`
    garbage: int = 0  # datagrams or TCP messages that are not a DNS query
    dropped: int = 0  # queries over `max_pending`


class CensorDNS(asyncio.DatagramProtocol):
    """UDP and TCP on one port: :meth:`start` returns it, :meth:`close` ends all."""

    def __init__(
        self,
        rules: Iterable[Rule],
        upstream: tuple[str, int],
        *,
        upstream_timeout: float = 2.0,
        max_pending: int = 256,
        tcp_limits: Limits | None = None,
    ) -> None:
        rules = tuple(rules)
        self.answers = {r.domain.lower().rstrip("."): r for r in rules if isinstance(r, DNSAnswer)}
        self.injections = {
            r.domain.lower().rstrip("."): r for r in rules if isinstance(r, DNSInjection)
        }
        self.upstream = upstream
        self.upstream_timeout = upstream_timeout
        self.max_pending = max_pending
        self.counts = DNSCounts()
        self._udp: asyncio.DatagramTransport | None = None
        self.tcp = TCPFraming(self.answer_stream, tcp_limits)  # its own counters: timeouts…
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: self, local_addr=(host, port))
        self._udp = transport
        bound = int(transport.get_extra_info("sockname")[1])
        await self.tcp.start(host, bound)  # the same number: resolvers serve both (RFC 7766)
        return bound

    async def close(self) -> None:
        if self._udp is not None:
            self._udp.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.tcp.close()

    def _query(self, wire: bytes) -> dns.message.Message | None:
        try:
            query = dns.message.from_wire(wire)
        except Exception:  # hostile bytes: dnspython raises many kinds; any is "not a query"
            query = None
        if (
            query is None
            or query.flags & dns.flags.QR
            or query.opcode() != dns.opcode.QUERY
            or len(query.question) != 1
        ):
            self.counts.garbage += 1
            return None
        self.counts.queries += 1
        return query

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        query = self._query(data)
        if query is None:
            return
        name = str(query.question[0].name).rstrip(".").lower()
        if (answer := self.answers.get(name)) is not None:
            self.counts.forged += 1
            self._send(forged_reply(query, answer.rcode, answer.addresses), addr)
            return
        injection = self.injections.get(name)
        delay = 0.0
        if injection is not None:  # the injector keeps no state: it forges even when full
            self.counts.forged += 1
            self._send(forged_reply(query, "NOERROR", injection.addresses), addr)
            delay = injection.delay
        if len(self._tasks) >= self.max_pending:
            self.counts.dropped += 1
            return
        task = asyncio.get_running_loop().create_task(self._relay(data, addr, delay))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _send(self, wire: bytes, addr: tuple[str, int]) -> None:
        if self._udp is not None and not self._udp.is_closing():
            self._udp.sendto(wire, addr)

    async def _relay(self, wire: bytes, addr: tuple[str, int], delay: float) -> None:
        # The upstream is asked at once; the real answer leaves no sooner than `delay` after
        # the forged one, however fast the upstream is.
        loop = asyncio.get_running_loop()
        release = loop.time() + delay
        reply = await self._ask(wire)
        if reply is None:
            return
        await asyncio.sleep(max(0.0, release - loop.time()))
        self.counts.relayed += 1
        self._send(reply, addr)

    async def _ask(self, wire: bytes) -> bytes | None:
        self.counts.asked += 1
        reply = await ask_upstream(wire, self.upstream, self.upstream_timeout)
        if reply is None:
            self.counts.lost += 1
        return reply

    async def answer_stream(self, wire: bytes) -> bytes | None:
        """The reply to one TCP message; None closes the connection (garbage, or the upstream
        did not answer: a client on TCP then sees the close instead of waiting)."""
        query = self._query(wire)
        if query is None:
            return None
        name = str(query.question[0].name).rstrip(".").lower()
        rule = self.answers.get(name) or self.injections.get(name)
        if rule is not None:
            self.counts.forged += 1
            if isinstance(rule, DNSAnswer):
                return forged_reply(query, rule.rcode, rule.addresses)
            return forged_reply(query, "NOERROR", rule.addresses)
        reply = await self._ask(wire)
        if reply is not None:
            self.counts.relayed += 1
        return reply
