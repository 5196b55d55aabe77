"""`vanilla_tor` (ts-016) and `torsf` (ts-030): bootstrap the local `tor` binary and watch it.

As ooni/probe-cli internal/experiment/vanillator and torsf do: start tor with a fresh
DataDirectory, keep its "Bootstrapped N%" notices (probe-cli torlogs.go keeps only those:
tor's other lines name relays and bridges, so they are neither kept nor logged), stop at
"Bootstrapped 100%" or at the deadline (200 s for vanilla_tor, 600 s for torsf: probe-cli
`maxRuntime`), and always stop tor: terminated, then killed if it lingers, then reaped.

The torrc is probe/torrc.py's; this module runs tor with it and reads tor's log.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from netvigil.failures import unknown
from netvigil.probe.nettest import Context, Endpoints
from netvigil.probe.torrc import BROKER, FRONT, ICE, torrc
from netvigil.records.tor import BootstrapKeys

BOOTSTRAPPED = re.compile(r"\[notice\] Bootstrapped (\d{1,3})% \(([A-Za-z_]+)\): (.*)$")
_VERSION = re.compile(r"\[notice\] Tor (\S+) running on")
MAX_LINES = 100_000  # tor writes a few dozen lines while bootstrapping; a flood is cut off
DIRAUTH_ID_HELP = "private test networks only: each dirauth's FINGERPRINT:V3IDENT, in order"


class ToolMissing(RuntimeError):
    """A binary the nettest runs is not installed (the message is one line, with the fix)."""


def find_binary(given: str | None, name: str, package: str) -> str:
    found = shutil.which(given or name)
    if found is None:
        raise ToolMissing(
            f"{name}: no `{given or name}` binary found; install it: apt install {package}"
        )
    return found


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
