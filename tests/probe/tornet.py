"""A private Tor network on loopback: three directory authorities that are also relays.

For the working variant of `vanilla_tor`: our probe's tor, a client, bootstraps to 100 %
against this network. Facts from torproject/chutney (torrc_templates/common.i, authority.i,
chutney's TorNet.py key generation): `TestingTorNetwork 1`; authority keys from
`tor-gencert --create-identity-key`, the v3 identity being the certificate's "fingerprint";
relay identities from `tor --list-fingerprint`; `AssumeReachable 1` (nothing tests
reachability); every relay voted Guard, Exit and HSDir (`TestingDirAuthVote*`) so three
relays make a path; the fastest voting schedule chutney uses (20 s intervals, 4 s delays).

It must run inside a network namespace that has nothing but `lo` (the caller's `unshare
-rn`): :func:`only_loopback` refuses to start a tor anywhere else. Every wait is bounded and
polls files; every tor started is stopped (terminated, killed if it lingers) and reaped.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
OR_PORT, DIR_PORT = 5100, 7100  # the namespace is new: nothing else listens there
PASSPHRASE = "netvigil-lab\n"  # tor-gencert reads it on stdin (--passphrase-fd 0)
ROUTER = re.compile(r"^r ", re.MULTILINE)
CERT_FINGERPRINT = re.compile(r"^fingerprint ([0-9A-F]{40})$", re.MULTILINE)

# chutney torrc_templates/common.i and authority.i, the options that matter on one machine
AUTHORITY_OPTIONS = """TestingTorNetwork 1
AssumeReachable 1
PathsNeededToBuildCircuits 0.67
TestingDirAuthVoteExit *
TestingDirAuthVoteGuard *
TestingDirAuthVoteHSDir *
TestingMinExitFlagThreshold 0
V3AuthNIntervalsValid 2
AuthoritativeDirectory 1
V3AuthoritativeDirectory 1
TestingV3AuthInitialVotingInterval 20
TestingV3AuthInitialVoteDelay 4
TestingV3AuthInitialDistDelay 4
V3AuthVotingInterval 20
V3AuthVoteDelay 4
V3AuthDistDelay 4
SocksPort 0
ExitRelay 1
ExitPolicy accept *:*
ShutdownWaitLength 0
"""


class TorNetFailed(RuntimeError):
    """The network did not come up in time, or one of its tor processes stopped."""


@dataclass(frozen=True)
class Authority:
    n: int
    folder: Path
    fingerprint: str  # the relay identity (RSA), checked in the link handshake
    v3ident: str  # the authority identity, that signs votes and the consensus

    @property
    def or_port(self) -> int:
        return OR_PORT + self.n

    def line(self) -> str:
        return (
            f"DirAuthority auth{self.n} orport={self.or_port} no-v2 v3ident={self.v3ident}"
            f" {HOST}:{DIR_PORT + self.n} {self.fingerprint}"
        )


def only_loopback() -> None:
    """Refuse to run tor where any interface but the loopback exists."""
    names = [name for _, name in socket.if_nameindex()]
    if names != ["lo"]:
        raise TorNetFailed(f"not in a loopback-only network namespace: interfaces {names}")


def _run(args: list[str], stdin: str = "") -> str:
    done = subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise TorNetFailed(f"{args[0]} exited {done.returncode}: {done.stderr[-500:]}")
    return done.stdout


def make_authority(root: Path, n: int) -> Authority:
    folder = root / f"auth{n}"
    (folder / "keys").mkdir(parents=True, mode=0o700)
    keys = folder / "keys"
    gencert = shutil.which("tor-gencert") or "tor-gencert"
    _run(
        [
            *(gencert, "--create-identity-key", "--passphrase-fd", "0", "-m", "12"),
            *("-a", f"{HOST}:{DIR_PORT + n}", "-i", str(keys / "authority_identity_key")),
            *("-s", str(keys / "authority_signing_key")),
            *("-c", str(keys / "authority_certificate")),
        ],
        stdin=PASSPHRASE,
    )
    certificate = (keys / "authority_certificate").read_text()
    v3ident = CERT_FINGERPRINT.search(certificate)
    if v3ident is None:
        raise TorNetFailed(f"auth{n}: no fingerprint in tor-gencert's certificate")
    # tor writes the relay's identity key and DataDirectory/fingerprint, then exits; the
    # placeholder --dirserver keeps it from reading tor's real authorities (chutney does too)
    _run(
        [
            *(shutil.which("tor") or "tor", "--quiet", "--ignore-missing-torrc"),
            *("--list-fingerprint", "--orport", "1", "--datadirectory", str(folder)),
            *("--dirserver", f"x {HOST}:1 {'f' * 40}", "--nickname", f"auth{n}"),
        ]
    )
    fingerprint = (folder / "fingerprint").read_text().split()[1]
    return Authority(n, folder, fingerprint, v3ident[1])


def torrc(authority: Authority, lines: list[str]) -> str:
    own = [
        f"DataDirectory {authority.folder}",
        f"Nickname auth{authority.n}",
        f"Address {HOST}",
        f"ORPort {HOST}:{authority.or_port}",
        f"DirPort {HOST}:{DIR_PORT + authority.n}",
        f"ContactInfo auth{authority.n}@lab.invalid",
        f"Log notice file {authority.folder / 'notice.log'}",
    ]
    return "\n".join(own) + "\n" + AUTHORITY_OPTIONS + "\n".join(lines) + "\n"


def _consensus_routers(authority: Authority) -> int:
    """The relays in the microdescriptor consensus this authority holds (0: none yet)."""
    path = authority.folder / "cached-microdesc-consensus"
    return len(ROUTER.findall(path.read_text())) if path.exists() else 0


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@dataclass
class TorNet:
    endpoints: list[str]  # `--endpoint` items: dirauth=HOST:ORPORT, dirauth_id=FP:V3IDENT
    processes: list[subprocess.Popen[bytes]]  # every tor started; all reaped once closed


@contextlib.contextmanager
def tor_network(root: Path, *, count: int = 3, deadline: float = 120.0) -> Iterator[TorNet]:
    """Start `count` authority-relays and wait (at most `deadline` s) until each holds a
    consensus listing all of them; yield the `--endpoint` items a client needs, in order."""
    only_loopback()
    authorities = [make_authority(root, n) for n in range(count)]
    lines = [a.line() for a in authorities]
    (root / "defaults").write_text("")  # so /etc/tor/torrc-defaults adds nothing
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for authority in authorities:
            (authority.folder / "torrc").write_text(torrc(authority, lines))
            with (authority.folder / "stdout.log").open("wb") as out:
                processes.append(
                    subprocess.Popen(
                        [
                            *(shutil.which("tor") or "tor", "--defaults-torrc"),
                            *(str(root / "defaults"), "-f", str(authority.folder / "torrc")),
                        ],
                        stdin=subprocess.DEVNULL,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )
        _await_consensus(authorities, processes, deadline)
        items = [f"dirauth={HOST}:{a.or_port}" for a in authorities]
        yield TorNet(
            items + [f"dirauth_id={a.fingerprint}:{a.v3ident}" for a in authorities], processes
        )
    finally:
        _stop(processes)


def _await_consensus(
    authorities: list[Authority], processes: list[subprocess.Popen[bytes]], deadline: float
) -> None:
    end = time.monotonic() + deadline
    for _ in range(int(deadline / 0.5) + 1):
        stopped = [a for a, p in zip(authorities, processes, strict=True) if p.poll() is not None]
        if stopped:
            log = (stopped[0].folder / "stdout.log").read_text()[-1500:]
            raise TorNetFailed(f"auth{stopped[0].n} stopped: {log}")
        if all(_consensus_routers(a) == len(authorities) for a in authorities):
            return
        if time.monotonic() > end:
            break
        time.sleep(0.5)
    seen = [_consensus_routers(a) for a in authorities]
    raise TorNetFailed(f"no consensus of {len(authorities)} relays in {deadline} s: {seen}")
