"""The outside world of a running lab: its servers and our observatory, in `server`.

Two processes, each started with `Lab.start` so the lab's teardown stops them however the
run ends: the lab's servers (`python -m netvigil.cli.lab_serve`: resolver, sites, test
helper), and the observatory (`python -m netvigil serve` on 10.77.2.2, our collector,
pipeline, API and explorer, unchanged, with its own data folder). The observatory is told
the lab's addresses are targets it may reach (`--allow-private-targets`: every lab address
is private), to analyse the lab's range as public addresses (as the probe is: a bogon is
then only what a censor answers, not every lab site) and reads the lab's GeoIP database.
Waiting for them is bounded: the servers print a ready line; the observatory is ready when
its API answers from inside `server` (lab/nsthread.py), polled at most READY_POLLS times.
"""

from __future__ import annotations

import json
import select
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import msgspec

from netvigil.lab.netns import Lab, LabError
from netvigil.lab.nsthread import NamespaceError, call_in

__all__ = ["OBSERVATORY_PORT", "World", "get_json", "get_text", "start_world"]

OBSERVATORY_PORT: Final = 8000
READY_TIMEOUT: Final = 60.0  # a bound on each wait, never asserted on
READY_POLLS: Final = 300
HTTP_TIMEOUT: Final = 10.0


class World(msgspec.Struct, frozen=True, kw_only=True):
    ca_file: Path  # the lab's CA: the only one the probe trusts
    observatory: str  # the observatory's URL, inside the lab
    observatory_dir: Path  # its data folder (it outlives the lab: the user may look)
    namespace: str  # where the observatory is reached from (`server`)


def get_text(world: World, path: str) -> tuple[int, str]:
    """GET the observatory's `path` from inside the lab: (status, body)."""

    def fetch() -> tuple[int, str]:
        try:
            with urllib.request.urlopen(world.observatory + path, timeout=HTTP_TIMEOUT) as r:
                return int(r.status), r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode("utf-8", "replace")

    return call_in(world.namespace, fetch)


def get_json(world: World, path: str) -> tuple[int, Any]:
    status, body = get_text(world, path)
    try:
        return status, json.loads(body)
    except ValueError:
        return status, None


def _servers(lab: Lab, folder: Path, table: Path | None) -> Path:
    argv = [sys.executable, "-m", "netvigil.cli.lab_serve", "--folder", str(folder / "world")]
    argv += ["--table", str(table)] if table is not None else []
    child = lab.start(
        lab.plan.server,
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdout is not None and child.stderr is not None  # PIPEs were asked for
    ready, _, _ = select.select([child.stdout], [], [], READY_TIMEOUT)
    line = child.stdout.readline() if ready else b""
    try:
        return Path(json.loads(line)["ca_file"])
    except (ValueError, KeyError, TypeError):
        child.kill()
        why = child.communicate(timeout=READY_TIMEOUT)[1].decode(errors="replace").strip()
        last = (why.splitlines() or ["no ready line"])[-1]
        raise LabError(f"the lab's servers did not start: {last}") from None


def start_world(
    lab: Lab,
    folder: Path,
    geoip: Path,
    table: Path | None = None,
    *,
    networks: Sequence[str] = (),
    observatory_dir: Path | None = None,
) -> World:
    """Start the servers and the observatory in the lab's `server` namespace; wait for both.
    `networks` are the table's `[lab] networks`: the observatory analyses them, as the probe
    does, as the public addresses they stand for (`--lab-network`, hidden: labs only). The
    observatory's data folder is `observatory_dir` (`netvigil demo` serves it after the lab
    is gone), else the run's own `observatory/`."""
    ca_file = _servers(lab, folder, table)
    data = observatory_dir or folder / "observatory"
    address = lab.plan.server_address
    argv = [sys.executable, "-m", "netvigil", "serve", "--host", address]
    argv += ["--port", str(OBSERVATORY_PORT), "--data-dir", str(data)]
    argv += ["--allow-private-targets", "--geoip-db", str(geoip)]
    for network in networks:
        argv += ["--lab-network", network]
    log = (folder / "observatory.log").open("wb")
    with log:
        # No terminal on stdin: `serve` asks there whether to load the demo into an empty
        # folder, and would wait for an answer the run's user never sees.
        child = lab.start(
            lab.plan.server, argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
    world = World(
        ca_file=ca_file,
        observatory=f"http://{address}:{OBSERVATORY_PORT}",
        observatory_dir=data,
        namespace=lab.plan.server,
    )
    for _ in range(READY_POLLS):
        if child.poll() is not None:
            break
        try:
            if get_text(world, "/api/v1/measurements?limit=1")[0] == 200:
                return world
        except (OSError, NamespaceError):
            pass  # not listening yet
        time.sleep(READY_TIMEOUT / READY_POLLS)
    said = (folder / "observatory.log").read_text(errors="replace").strip().splitlines()
    raise LabError(f"the observatory did not start: {(said or ['no answer'])[-1]}")
