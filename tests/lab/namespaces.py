"""What the lab tests look at: prerequisites, and the machine's namespaces, links and PIDs.

Read straight from `ip` and /proc rather than from lab/netns.py's own answers, so that a test
of teardown does not ask the code under test whether it tore down.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any


def lab_prerequisites_missing() -> str | None:
    """Why this machine cannot make a lab (one phrase), or None when it can."""
    if not sys.platform.startswith("linux"):
        return "network namespaces need Linux"
    if os.geteuid() != 0:
        return "making network namespaces needs root"
    if shutil.which("ip") is None:
        return "`ip` (iproute2) is not installed"
    if shutil.which("sysctl") is None:
        return "`sysctl` (procps) is not installed"
    return None


def new_id() -> str:
    """A lab id no other test run uses at the same time (t + 6 hex digits: 8 characters)."""
    return "t" + secrets.token_hex(3)


def _ip(*args: str) -> str:
    return subprocess.run(
        ["ip", *args], capture_output=True, text=True, timeout=30, check=True
    ).stdout


def netns_names() -> set[str]:
    return {line.split()[0] for line in _ip("netns", "list").splitlines() if line.strip()}


def links(namespace: str | None = None) -> set[str]:
    """Interface names in a namespace (the root one when None), without "@peer" suffixes."""
    where = () if namespace is None else ("-n", namespace)
    found = json.loads(_ip(*where, "-j", "link", "show"))
    return {link["ifname"] for link in found}


def in_namespace(namespace: str, *argv: str) -> str:
    """Run `argv` inside `namespace`; its stdout (a failure raises with its stderr)."""
    done = subprocess.run(
        ["ip", "netns", "exec", namespace, *argv], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def alive(pid: int) -> bool:
    """True while the PID is a process that has not ended (a zombie has ended)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return text[text.rfind(")") + 2] not in "ZX"


# A one-connection TCP server for a test's namespace: `python -c ONE_CONNECTION ADDRESS
# MESSAGE` listens on ADDRESS:8080, prints "ready", sends MESSAGE to its one client and prints
# the client's address as it saw it.
ONE_CONNECTION = """
import socket, sys
listener = socket.socket()
listener.bind((sys.argv[1], 8080))
listener.listen()
print("ready", flush=True)
conn, peer = listener.accept()
conn.sendall(sys.argv[2].encode() + b"\\n")
print(peer[0], flush=True)
"""


def start_world_servers(lab: Any, folder: Path) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    """The lab's servers (cli/lab_serve.py) started in `server`; the process and its ready line."""
    child: subprocess.Popen[bytes] = lab.start(
        lab.plan.server,
        [sys.executable, "-m", "netvigil.cli.lab_serve", "--folder", str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdout is not None and child.stderr is not None
    line = child.stdout.readline()
    assert line, child.stderr.read().decode()
    ready: dict[str, Any] = json.loads(line)
    return child, ready
