"""`python -m netvigil.cli.lab_serve --table T --folder F`: the lab's servers in one process.

Started in the lab's `server` namespace with `Lab.start` (so teardown stops it): the honest
resolver and the sites (lab/world_servers.py), and our own test helper on the table's
`test_helper` site, HTTPS with the lab's certificate, resolving through the lab's resolver
and trusting the lab's CA, as the real helper resolves and validates on the open Internet.
It lives here rather than in lab/ because lab/ may not import testhelper/
(docs/design/007-layout.md). The collector is a separate process (`netvigil serve --host
10.77.2.2`): it owns a data folder and its own lifecycle, and the lab starts it the same way.

When everything listens it prints one JSON line, {"ready": [...]}, each server's name,
address, port and protocol; SIGTERM or SIGINT end it with status 0. A bad table, or an
address that is not this namespace's, is one line on stderr and status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import signal
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

import msgspec

from netvigil.lab.scenario_records import Table
from netvigil.lab.scenarios import TableError, load_table
from netvigil.lab.world_servers import DNS_PORT, Listening, WorldServers, start_world
from netvigil.listening import ListenError, listen
from netvigil.net.backend import StubResolverBackend
from netvigil.serving import serve_here
from netvigil.testhelper.app import create_app
from netvigil.testhelper.measure import HelperSettings

HELPER_PORT = 443


def _helper_site(table: Table) -> tuple[str, str] | None:
    return next(
        (
            (name, site.address)
            for name, site in sorted(table.sites.items())
            if site.service == "test_helper" and site.address is not None
        ),
        None,
    )


async def _serve(table: Table, folder: Path) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        # uvicorn swaps in its own handlers while it serves and raises the signal again
        # when it is done, so this one still sees it (uvicorn/server.py capture_signals).
        loop.add_signal_handler(signum, stop.set)
    helper = _helper_site(table)
    skip = frozenset({helper[0]}) if helper else frozenset()
    world = await start_world(table, folder, now=dt.datetime.now(dt.UTC), skip=skip)
    waiting: list[asyncio.Task[object]] = [asyncio.create_task(stop.wait())]
    try:
        listening = list(world.listening)
        if helper is not None:
            sock = listen(helper[1], HELPER_PORT)  # listening before "ready" is printed
            waiting.append(asyncio.create_task(_helper(world, table, helper[1], sock)))
            listening.append(
                Listening(name=helper[0], address=helper[1], port=HELPER_PORT, protocol="https")
            )
        ready = msgspec.json.encode({"ready": listening, "ca_file": str(world.ca.cert_file)})
        print(ready.decode(), flush=True)
        done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()  # the helper's own failure, if it ended first
    finally:
        for task in waiting:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*waiting, return_exceptions=True)
        await world.close()


async def _helper(world: WorldServers, table: Table, address: str, sock: socket.socket) -> None:
    # The helper's own traffic leaves from its address, as a real helper's from its host.
    backend = StubResolverBackend((table.lab.resolver, DNS_PORT), source=address)
    settings = HelperSettings(allow_private=True, ca_file=str(world.ca.cert_file))
    app = create_app(backend, settings)
    tls = (str(world.leaf.cert_file), str(world.leaf.key_file))
    await serve_here(app, sock, lifespan="off", tls=tls)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m netvigil.cli.lab_serve")
    parser.add_argument("--table", type=Path, default=None, help="scenario table (TOML)")
    parser.add_argument("--folder", type=Path, required=True, help="where ca.pem is written")
    args = parser.parse_args(argv)
    try:
        table = load_table(args.table)
        asyncio.run(_serve(table, args.folder))
    except (TableError, ListenError) as exc:
        print(f"lab serve: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # an address this namespace does not have, port 53 taken...
        print(f"lab serve: cannot listen: {exc.strerror or exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
