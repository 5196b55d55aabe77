"""tcpdump in a lab namespace: a packet capture of what the probe saw on its wire.

A measurement says what the probe's sockets reported; a capture says what crossed the link,
so a lab run can show both agree (the censor's forged RST is on the client's veth, coming
from the site's address). The capture is tcpdump, started with `Lab.start` so the lab's
record and teardown know the process (a crash leaves no tcpdump holding a namespace), and
read back with lab/pcap.py.

- **Start**: `tcpdump -i IFACE -U --immediate-mode -w -`, the pcap on stdout, which is the
  file we opened: tcpdump may drop root for its own user before it opens an output file
  (`-Z`, pcap-savefile(5)), and a file we open is ours whatever it does. `-U` writes each
  packet as it comes and `--immediate-mode` hands it over at once (TPACKET_V3 otherwise
  waits for a block to fill or a timeout), so what is on the wire is in the file by the time
  the block ends. Ready when tcpdump prints "listening on" to stderr: packets before that are
  not captured, so nothing is run until then.
- **Stop**: SIGINT, on which tcpdump writes what it holds and prints its counts (captured,
  received by filter, dropped by kernel), kept in :class:`CaptureStats`; SIGKILL after a
  grace, and then the last record may be cut (lab/pcap.py reads up to it).

`capturing(lab, namespace, interface, path)` is the whole lifecycle as a context manager;
`capturing_client(lab, path)` is that on the client's veth (what `netvigil lab run --capture
DIR` runs around each scenario's probe, into DIR/<scenario>.pcap).
"""

from __future__ import annotations

import re
import select
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Final

import msgspec

from netvigil.lab.netns import Lab, LabError
from netvigil.lab.pcap import Capture, parse_pcap

__all__ = ["CaptureStats", "PacketCapture", "capturing", "capturing_client", "read_capture"]

READY_TIMEOUT: Final = 10.0  # a bound on the wait for "listening on", never asserted on
STOP_GRACE: Final = 5.0
_COUNT = re.compile(rb"^(\d+) packets? (captured|received by filter|dropped by kernel)$", re.M)


class CaptureStats(msgspec.Struct, frozen=True, kw_only=True):
    """tcpdump's own counts at exit; `received` over `captured` means packets were lost
    between the kernel and the file (all None when tcpdump was killed before printing)."""

    captured: int | None = None
    received: int | None = None
    dropped: int | None = None


class PacketCapture:
    """One tcpdump writing `path`, from :meth:`start` (returns when it listens) to :meth:`stop`."""

    def __init__(self, lab: Lab, namespace: str, interface: str, path: Path) -> None:
        self.lab, self.namespace, self.interface, self.path = lab, namespace, interface, path
        self._child: subprocess.Popen[bytes] | None = None
        self.stats: CaptureStats | None = None  # once stopped

    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        argv = ["tcpdump", "-i", self.interface, "-U", "--immediate-mode", "-w", "-"]
        with self.path.open("wb") as out:  # the child keeps its own copy of the descriptor
            self._child = self.lab.start(self.namespace, argv, stdout=out, stderr=subprocess.PIPE)
        said = self._wait_listening(self._child)
        if said is not None:
            self.stop()
            raise LabError(f"tcpdump -i {self.interface} in {self.namespace}: {said}")

    @staticmethod
    def _wait_listening(child: subprocess.Popen[bytes]) -> str | None:
        """None once tcpdump listens; else the last thing it said (or why it said nothing)."""
        assert child.stderr is not None
        deadline = time.monotonic() + READY_TIMEOUT
        last = "it exited saying nothing"
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([child.stderr], [], [], left)
            if not ready:
                break
            line = child.stderr.readline()
            if not line:  # tcpdump exited: its last line says why (no such device...)
                return last
            text = line.decode(errors="replace").strip()
            if "listening on" in text:
                return None
            last = text.removeprefix("tcpdump: ") or last
        return f"not listening after {READY_TIMEOUT:g} s ({last})"

    def stop(self) -> CaptureStats:
        """End tcpdump (SIGINT, SIGKILL after a grace) and return its counts; idempotent."""
        child, self._child = self._child, None
        if child is None:
            return self.stats or CaptureStats()
        if child.poll() is None:
            child.send_signal(signal.SIGINT)
        try:
            _, said = child.communicate(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            child.kill()
            _, said = child.communicate(timeout=STOP_GRACE)
        counts = {kind: int(n) for n, kind in _COUNT.findall(said or b"")}
        self.stats = CaptureStats(
            captured=counts.get(b"captured"),
            received=counts.get(b"received by filter"),
            dropped=counts.get(b"dropped by kernel"),
        )
        return self.stats


@contextmanager
def capturing(lab: Lab, namespace: str, interface: str, path: Path) -> Iterator[PacketCapture]:
    """tcpdump on `interface` in `namespace` into `path` while the block runs: listening
    before the block starts, stopped (its file complete) when it ends, however it ends.
    tcpdump's counts are in `.stats` after the block."""
    capture = PacketCapture(lab, namespace, interface, path)
    capture.start()
    try:
        yield capture
    finally:
        capture.stop()


def capturing_client(lab: Lab, path: Path) -> AbstractContextManager[PacketCapture]:
    """`capturing` on the client's veth, in `client`: everything the probe sends and gets,
    nothing of the censor's own traffic with the servers."""
    return capturing(lab, lab.plan.client, lab.plan.links[0].name, path)


def read_capture(path: Path) -> Capture:
    """The packets of a capture file (lab/pcap.py; PcapError when it is not one)."""
    return parse_pcap(path.read_bytes())
