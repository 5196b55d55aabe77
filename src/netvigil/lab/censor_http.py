"""The censor's blockpage injector: a transparent HTTP box keyed on the Host header.

The censor's nftables rules DNAT the client's port-80 connections here (docs/design/011-lab.md).
The box reads the request head (within the limits of lab/censor_conn.py) and decides on its
Host header, as the DPI boxes OONI documents do (ooni.md §1.5; reliability.md §4.3):

- `HTTPBlockpage`: answer the censor's page (`status`, `body`) and close; the site never sees
  the request. The page ends with the connection (Connection: close, no Content-Length), as
  injected pages often do: OONI's `headers_match` compares the header names outside its
  common list, and Content-Length is one of those, so a page sending it would "match" every
  lab site and hide the diff (netemx's blockpage in httpDiffWithConsistentDNS has no
  headers at all);
- `HTTPHostReset`: reset the connection (SO_LINGER 0) right after reading the head, before
  any byte of an answer;
- any other host: open a connection to the original destination and relay both ways, the
  head first, byte for byte. After DNAT the box cannot see that destination in the packet,
  but the lab knows it from its own topology, so it is given as `upstreams` (host name →
  address, port); a host not there is closed, counted as unroutable.

Only the first request of a connection is inspected; later ones on a kept-alive connection
are relayed as they come, which is what many real boxes do (and why OONI's probe opens a
fresh connection per measurement).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from http import HTTPStatus

from netvigil.lab.censor_conn import Limits, StreamService, host_of, read_head, relay, reset
from netvigil.lab.rules import HTTPBlockpage, HTTPHostReset, Rule

__all__ = ["CensorHTTP", "blockpage"]


def blockpage(rule: HTTPBlockpage) -> bytes:
    """The censor's whole answer: status line, headers and body, which ends at the close."""
    body = rule.body.encode("utf-8")
    try:
        reason = HTTPStatus(rule.status).phrase
    except ValueError:
        reason = "Blocked"
    head = (
        f"HTTP/1.1 {rule.status} {reason}\r\n"
        "Content-Type: text/html; charset=utf-8\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


class CensorHTTP(StreamService):
    """:meth:`start` → port; :meth:`close`. Counts what it did, per technique."""

    def __init__(
        self,
        rules: Iterable[Rule],
        upstreams: Mapping[str, tuple[str, int]],
        limits: Limits | None = None,
    ) -> None:
        super().__init__(limits or Limits())
        rules = tuple(rules)
        self.pages = {r.host.lower(): r for r in rules if isinstance(r, HTTPBlockpage)}
        self.resets = {r.host.lower() for r in rules if isinstance(r, HTTPHostReset)}
        self.upstreams = {host.lower(): target for host, target in upstreams.items()}
        self.blockpages = 0  # pages injected
        self.reset_count = 0  # connections reset after the head
        self.proxied = 0  # requests relayed to their site
        self.unroutable = 0  # hosts with no rule and no upstream
        self.upstream_down = 0  # the site refused or was unreachable

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async with asyncio.timeout(self.limits.head_timeout):
            head = await read_head(reader)
        if head is None:
            self.rejected += 1  # closed before a whole head: nothing to decide on
            return
        host = host_of(head)
        if host in self.resets:
            self.reset_count += 1
            reset(writer)
            return
        page = self.pages.get(host)
        if page is not None:
            self.blockpages += 1
            writer.write(blockpage(page))
            await writer.drain()
            return
        target = self.upstreams.get(host)
        if target is None:
            self.unroutable += 1
            return
        try:
            site_reader, site_writer = await asyncio.open_connection(*target)
        except OSError:
            # A router passes the site's refusal on as a reset; the box can do no better.
            self.upstream_down += 1
            reset(writer)
            return
        self.proxied += 1
        site_writer.write(head)
        await relay(reader, writer, site_reader, site_writer)
