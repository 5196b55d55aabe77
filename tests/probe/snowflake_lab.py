"""A Snowflake path inside the test's own network namespace: proxy, server, two veth ends.

For torsf's working variant (tests/probe/test_torsf.py). Debian has the client
(`snowflake-client`, what the probe runs) and the Go sources of the rest
(golang-snowflake-dev 2.5.1: common/, client/lib, proxy/lib; no broker, no server). So:
the broker is ours, in Python (snowflake_broker.py); the server and the proxy are the Go
fixtures in tests/probe/snowflake/, built here from Debian's Go packages only (GOPATH mode,
no module download: GO111MODULE=off, GOPROXY=off, GOPATH=a copy of the fixture:/usr/share/
gocode; "minimal module compatibility" resolves snowflake's /v2 import paths, which it does
only for a package inside a GOPATH whose folder has a go.mod).

WebRTC needs an address that is not loopback: pion (github.com/pion/ice, gather.go) skips
loopback interfaces unless SettingEngine.SetIncludeLoopbackCandidate, which neither the
client nor proxy/lib sets. :func:`add_veth` therefore adds a veth pair inside the namespace,
both ends here with a /32 address each and no route beyond them: traffic between two local
addresses stays in this namespace (the kernel delivers it through `lo`). Every process
started is stopped (terminated, killed if it lingers) and reaped by its caller.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

FIXTURES = Path(__file__).parent / "snowflake"
GOPATH = "/usr/share/gocode"  # golang-snowflake-dev and its golang-*-dev dependencies
VETH = {"sfc": "10.233.0.1", "sfp": "10.233.0.2"}  # the client's end, the proxy's end
PACKAGES = {"go": "golang-go", "ip": "iproute2", "snowflake-client": "snowflake-client"}


class LabFailed(RuntimeError):
    """A fixture did not build or start, or the namespace is not what the test needs."""


def missing() -> list[str]:
    """The Debian packages this lab needs that are not installed (scripts/system-packages.txt)."""
    found = [pkg for tool, pkg in PACKAGES.items() if shutil.which(tool) is None]
    proxy_lib = Path(GOPATH, "src/git.torproject.org/pluggable-transports/snowflake.git/proxy")
    return found + ([] if proxy_lib.is_dir() else ["golang-snowflake-dev"])


def build(root: Path) -> dict[str, Path]:
    """Build the server and proxy fixtures into `root`; their paths by name."""
    built = {}
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(root),
        "GO111MODULE": "off",
        "GOPROXY": "off",
        "GOFLAGS": "",
        "CGO_ENABLED": "0",
        "GOPATH": f"{root / 'gopath'}:{GOPATH}",
        "GOCACHE": str(root / "gocache"),  # a fresh cache: ~20 s for both on 2 cores
    }
    for name in ("server", "proxy"):
        folder = root / "gopath" / "src" / "netvigil.test" / f"snowflake-{name}"
        folder.mkdir(parents=True)
        shutil.copy(FIXTURES / name / "main.go", folder / "main.go")
        (folder / "go.mod").write_text(f"module netvigil.test/snowflake-{name}\n")
        out = root / f"snowflake-{name}"
        done = subprocess.run(
            ["go", "build", "-o", str(out), "."],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            raise LabFailed(f"go build {name}: {done.stderr[-1500:]}")
        built[name] = out
    return built


def add_veth() -> list[str]:
    """The veth pair, up, one /32 address an end; the namespace's interfaces after it."""
    sfc, sfp = VETH
    commands = [
        ["ip", "link", "add", sfc, "type", "veth", "peer", "name", sfp],
        *(["ip", "addr", "add", f"{address}/32", "dev", name] for name, address in VETH.items()),
        *(["ip", "link", "set", name, "up"] for name in VETH),
    ]
    for command in commands:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
        if done.returncode != 0:
            raise LabFailed(f"{' '.join(command)}: {done.stderr.strip()}")
    routes = subprocess.run(
        ["ip", "-4", "route", "show", "default"], capture_output=True, text=True, check=True
    )
    if routes.stdout.strip():
        raise LabFailed(f"the namespace has a default route: {routes.stdout.strip()}")
    return sorted(name for _, name in socket.if_nameindex())


def start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=out)


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
