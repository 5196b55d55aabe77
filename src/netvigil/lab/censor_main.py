"""`python -m netvigil.lab.censor_main --rules FILE`: the censor's servers, in its namespace.

lab/censor_apply.py starts this with the Lab's process start (so teardown stops it) after
writing FILE, lab/censor.py's `Servers` as JSON. It runs the servers of lab/censor_dns.py,
censor_http.py and censor_tls.py that the rules need, on the censor's client-side address,
prints one line "ready" once every port is bound (the adapter waits for it, counting no
time), and serves until SIGTERM or SIGINT, then closes them all. A bad file or a port in use
is one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path
from typing import Protocol

import msgspec

from netvigil.lab.censor import Servers
from netvigil.lab.censor_dns import CensorDNS
from netvigil.lab.censor_http import CensorHTTP
from netvigil.lab.censor_tls import CensorTLS

_LIMIT = 1024 * 1024  # a spec is a few kilobytes; refuse anything that is not one


class _Server(Protocol):
    async def start(self, host: str = ..., port: int = ...) -> int: ...
    async def close(self) -> None: ...


def read_spec(path: Path) -> Servers:
    """The spec in `path`, or ValueError with one line naming the file."""
    try:
        data = path.read_bytes()[: _LIMIT + 1]
    except OSError as exc:
        raise ValueError(f"{path}: {exc.strerror or exc}") from None
    if len(data) > _LIMIT:
        raise ValueError(f"{path}: over {_LIMIT} bytes")
    try:
        return msgspec.json.decode(data, type=Servers, strict=True)
    except msgspec.ValidationError as exc:
        raise ValueError(f"{path}: {exc}") from None
    except msgspec.DecodeError as exc:
        raise ValueError(f"{path}: not JSON ({exc})") from None


def _servers(spec: Servers) -> list[tuple[_Server, int]]:
    made: list[tuple[_Server, int]] = []
    if spec.dns_port is not None:
        made.append((CensorDNS(spec.rules, spec.resolver), spec.dns_port))
    if spec.http_port is not None:
        made.append((CensorHTTP(spec.rules, spec.http_upstreams), spec.http_port))
    if spec.tls_port is not None:
        if spec.site_ca is None or spec.folder is None:
            raise ValueError("tls_port needs site_ca and folder")
        tls = CensorTLS(
            spec.rules, spec.tls_upstreams, folder=Path(spec.folder), site_ca=Path(spec.site_ca)
        )
        made.append((tls, spec.tls_port))
    return made


async def serve(spec: Servers) -> None:
    """Start every server the spec names, say "ready", serve until told to stop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    started: list[_Server] = []
    try:
        for server, port in _servers(spec):
            await server.start(spec.listen, port)
            started.append(server)
        print("ready", flush=True)
        await stop.wait()
    finally:
        for server in started:
            await server.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="netvigil.lab.censor_main")
    parser.add_argument("--rules", type=Path, required=True, help="the Servers spec (JSON)")
    args = parser.parse_args(argv)
    try:
        asyncio.run(serve(read_spec(args.rules)))
    except (ValueError, OSError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        print(f"censor servers: {why}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
