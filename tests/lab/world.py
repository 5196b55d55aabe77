"""The lab's real world for the censor's tests, run in the server namespace.

`python world.py ADDRESS...`: on each address a TCP service on ports 80 and 443 (it reads
once and answers "ok:" and the first bytes, or 60000 bytes to "bulk"), a UDP echo on port
9999, and the lab's own DNS server (lab/dnsserver.py) on the resolver 10.77.2.53, which knows
`SITES`. Prints "ready" once everything is bound and serves until killed.
"""

from __future__ import annotations

import asyncio
import sys

from netvigil.lab.dnsserver import Answer, DNSServer
from netvigil.lab.topology import RESOLVER

SITES = {"blog.lab.test": "10.77.2.11", "news.lab.test": "10.77.2.12", "www.lab.test": "10.77.2.14"}


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        data = await asyncio.wait_for(reader.read(65536), 10)
        writer.write(b"x" * 60000 if data.startswith(b"bulk") else b"ok:" + data[:16])
        await writer.drain()
    except (OSError, TimeoutError):
        pass
    finally:
        writer.close()


class _Echo(asyncio.DatagramProtocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.transport.sendto(data, addr)  # type: ignore[attr-defined]


async def main(addresses: list[str]) -> None:
    loop = asyncio.get_running_loop()
    for address in addresses:
        for port in (80, 443):
            await asyncio.start_server(_answer, address, port)
        await loop.create_datagram_endpoint(_Echo, local_addr=(address, 9999))
    zone = {name: Answer(addresses=(address,)) for name, address in SITES.items()}
    await loop.create_datagram_endpoint(lambda: DNSServer(zone), local_addr=(RESOLVER, 53))
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
