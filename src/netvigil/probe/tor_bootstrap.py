"""`vanilla_tor` (ts-016) and `torsf` (ts-030): bootstrap the local `tor` binary and watch it.

As ooni/probe-cli internal/experiment/vanillator and torsf do: start tor with a fresh
DataDirectory, keep its "Bootstrapped N%" notices (probe-cli torlogs.go keeps only those:
tor's other lines name relays and bridges, so they are neither kept nor logged), stop at
"Bootstrapped 100%" or at the deadline (200 s for vanilla_tor, 600 s for torsf: probe-cli
`maxRuntime`), and always stop tor: terminated, then killed if it lingers, then reaped.

The torrc is ours only (`--defaults-torrc` is an empty file: /etc/tor/torrc-defaults adds no
port or bridge). vanilla_tor uses tor's own authorities unless `--endpoint dirauth=HOST:PORT`
names the lab's (with `dirauth_id`, a private network's identities): then tor's fallback
directories are off (`UseDefaultFallbackDirs 0`), and `TestingTorNetwork 1` lets tor dial
authorities all on private or loopback addresses. torsf adds Debian's `snowflake-client` as
the pluggable transport with probe-cli's domain-fronting rendezvous (ptx/snowflake.go: broker,
front domain; its bridge line's 192.0.2.3:1 is a placeholder the transport ignores).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from netvigil.addresses import is_bogon, join_host_port, parse_ip
from netvigil.failures import unknown
from netvigil.probe.nettest import Context, EndpointError, Endpoints
from netvigil.records.tor import BootstrapKeys

BOOTSTRAPPED = re.compile(r"\[notice\] Bootstrapped (\d{1,3})% \(([A-Za-z_]+)\): (.*)$")
_VERSION = re.compile(r"\[notice\] Tor (\S+) running on")
_IDENTITY = re.compile(r"([0-9A-Fa-f]{40}):([0-9A-Fa-f]{40})")
_TORRC_WORD = re.compile(r"[A-Za-z0-9.:,/_?=&%+-]{1,512}")
MAX_LINES = 100_000  # tor writes a few dozen lines while bootstrapping; a flood is cut off
SNOWFLAKE_BRIDGE = "snowflake 192.0.2.3:1 2B280B23E1107BB62ABFC40DDCC8824814F80A72"
BROKER = "https://1098762253.rsc.cdn77.org/"  # probe-cli ptx/snowflake.go, domain_fronting
FRONT = "www.phpmyadmin.net"
DIRAUTH_ID_HELP = "private test networks only: each dirauth's FINGERPRINT:V3IDENT, in order"
ICE = "stun:stun.epygi.com:3478,stun:stun.uls.co.za:3478"  # probe-cli stuninput


class ToolMissing(RuntimeError):
    """A binary the nettest runs is not installed (the message is one line, with the fix)."""


def find_binary(given: str | None, name: str, package: str) -> str:
    found = shutil.which(given or name)
    if found is None:
        raise ToolMissing(
            f"{name}: no `{given or name}` binary found; install it: apt install {package}"
        )
    return found


def _identities(endpoints: Endpoints, addresses: list[bytes]) -> list[tuple[str, str]]:
    """(fingerprint, v3ident) per `dirauth`: `dirauth_id`'s, a private network's (the link
    handshake checks the first, the consensus's signatures the second), else derived from the
    address (nothing else is known of them; SHA-1 only names them, as tor's fingerprints do)."""
    given = endpoints.get("dirauth_id", ())
    if not given:
        sha1 = [(hashlib.sha1(a), hashlib.sha1(b"v3ident " + a)) for a in addresses]
        return [(key.hexdigest().upper(), v3.hexdigest().upper()) for key, v3 in sha1]
    found = [m for v in given if (m := _IDENTITY.fullmatch(v))]
    if len(found) != len(given) or len(given) != len(addresses):
        raise EndpointError(f"--endpoint dirauth_id: not FINGERPRINT:V3IDENT per dirauth {given}")
    return [(m[1].upper(), m[2].upper()) for m in found]


def authority_lines(endpoints: Endpoints) -> list[str]:
    """DirAuthority lines for `--endpoint dirauth=HOST:PORT` (OR and dir port alike: a client
    fetches directories over the OR port, tor's begindir), a lab's authorities."""
    hosts = endpoints.host_ports("dirauth", ())
    if bad := [f"{h}:{p}" for h, p in hosts if parse_ip(h) is None]:
        raise EndpointError(f"--endpoint dirauth={bad[0]}: tor needs an IP address")
    identities = _identities(endpoints, [join_host_port(h, p).encode() for h, p in hosts])
    return [
        f"DirAuthority lab{n} orport={port} no-v2 v3ident={v3} {host}:{port} {key}"
        for n, ((host, port), (key, v3)) in enumerate(zip(hosts, identities, strict=True))
    ]


def _safe(key: str, value: str) -> str:
    """A value that goes into the torrc: one word of a plain alphabet (no line, no space)."""
    if not _TORRC_WORD.fullmatch(value):
        raise EndpointError(f"--endpoint {key}={value!r}: not a plain URL, name or list")
    return value


def torrc(data: Path, endpoints: Endpoints, transport: str | None) -> str:
    lines = [
        f"DataDirectory {data}",
        "SocksPort 127.0.0.1:auto",  # a client with no port does not bootstrap
        "Log notice stdout",
        "ClientOnly 1",
        "AvoidDiskWrites 1",
    ]
    authorities = authority_lines(endpoints)
    if authorities:
        lines += [*authorities, "UseDefaultFallbackDirs 0"]
        if all(is_bogon(h) for h, _ in endpoints.host_ports("dirauth", ())):
            lines.append("TestingTorNetwork 1")
    if transport is None:
        lines.append("UseBridges 0")
    else:
        broker = _safe("broker", endpoints.urls("broker", (BROKER,))[0])
        front = _safe("front", endpoints.get("front", (FRONT,))[0])
        ice = _safe("ice", endpoints.get("ice", (ICE,))[0])
        args = f"-url {broker} -ice {ice}" + (f" -front {front}" if front != "none" else "")
        lines += [
            "UseBridges 1",
            f"ClientTransportPlugin snowflake exec {transport} {args}",
            f"Bridge {SNOWFLAKE_BRIDGE}",
        ]
    return "\n".join(lines) + "\n"


@dataclass
class _Run:
    logs: list[str]
    version: str = ""
    done: bool = False
    exit_code: int | None = None


async def _watch(process: asyncio.subprocess.Process, run: _Run) -> None:
    assert process.stdout is not None
    for _ in range(MAX_LINES):
        raw = await process.stdout.readline()
        if not raw:
            run.exit_code = await process.wait()
            return
        line = raw.decode("utf-8", "replace").rstrip()
        if (version := _VERSION.search(line)) is not None:
            run.version = version[1]
        if (found := BOOTSTRAPPED.search(line)) is not None:
            run.logs.append(line)
            if found[1] == "100":
                run.done = True
                return


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            async with asyncio.timeout(5):
                await process.wait()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


async def bootstrap(
    binary: str, endpoints: Endpoints, *, timeout: float, transport: str | None = None
) -> BootstrapKeys:
    """Run tor until it bootstraps or `timeout` seconds pass; tor is always stopped."""
    run, started = _Run(logs=[]), time.monotonic()
    with tempfile.TemporaryDirectory(prefix="netvigil-tor-") as folder:
        root = Path(folder)
        (root / "data").mkdir(mode=0o700)
        (root / "torrc").write_text(torrc(root / "data", endpoints, transport))
        (root / "defaults").write_text("")
        process = await asyncio.create_subprocess_exec(
            *(binary, "--defaults-torrc", str(root / "defaults"), "-f", str(root / "torrc")),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            limit=1 << 20,
        )
        timed_out = False
        try:
            async with asyncio.timeout(timeout):
                await _watch(process, run)
        except TimeoutError:
            timed_out = True
        finally:
            await _stop(process)
    return _keys(run, timed_out, time.monotonic() - started, timeout, transport)


def _keys(
    run: _Run, timed_out: bool, elapsed: float, timeout: float, transport: str | None
) -> BootstrapKeys:
    failure = error = None
    if not run.done:
        failure = "generic_timeout_error" if timed_out else unknown(f"tor exited ({run.exit_code})")
        error = "timeout-reached" if timed_out else "unknown-error"
    last = BOOTSTRAPPED.search(run.logs[-1]) if run.logs else None
    return BootstrapKeys(
        bootstrap_time=round(elapsed, 9) if run.done else 0.0,
        error=error,
        failure=failure,
        success=run.done,
        timeout=float(timeout),
        tor_logs=run.logs,
        tor_progress=int(last[1]) if last else 0,
        tor_progress_tag=last[2] if last else "",
        tor_progress_summary=last[3] if last else "",
        tor_version=run.version,
        transport_name="vanilla" if transport is None else "snowflake",
        persistent_datadir=None if transport is None else False,
        rendezvous_method=None if transport is None else "domain_fronting",
    )


class VanillaTor:
    name = "vanilla_tor"
    version = "0.3.0"  # probe-cli vanillator testVersion
    input: Literal["none", "required", "optional"] = "none"
    endpoint_help: Mapping[str, str] = {
        "dirauth": "a lab's directory authority, HOST:PORT (default: tor's own)",
        "dirauth_id": DIRAUTH_ID_HELP,
    }

    def __init__(self, timeout: float = 200.0) -> None:
        self.timeout = timeout

    async def measure(self, input: str | None, ctx: Context) -> BootstrapKeys:
        ctx.endpoints.check(self.endpoint_help)
        binary = find_binary(ctx.settings.tor_binary, "tor", "tor")
        return await bootstrap(binary, ctx.endpoints, timeout=self.timeout)


class TorSnowflake:
    name = "torsf"
    version = "0.5.1"  # probe-cli torsf testVersion
    input: Literal["none", "required", "optional"] = "none"
    endpoint_help: Mapping[str, str] = {
        "dirauth": "a lab's directory authority, HOST:PORT (default: tor's own)",
        "dirauth_id": DIRAUTH_ID_HELP,
        "broker": f"the Snowflake broker's URL (default: {BROKER})",
        "front": f"the front domain, or 'none' (default: {FRONT})",
        "ice": f"comma-separated STUN servers (default: {ICE})",
    }

    def __init__(self, timeout: float = 600.0) -> None:
        self.timeout = timeout

    async def measure(self, input: str | None, ctx: Context) -> BootstrapKeys:
        ctx.endpoints.check(self.endpoint_help)
        binary = find_binary(ctx.settings.tor_binary, "tor", "tor")
        transport = find_binary(None, "snowflake-client", "snowflake-client")
        return await bootstrap(binary, ctx.endpoints, timeout=self.timeout, transport=transport)
