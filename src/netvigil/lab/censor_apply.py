"""The adapter that makes the censor real: applies a CensorPlan in the censor namespace.

Every command runs as `ip netns exec <censor> argv...` without a shell and with a timeout;
the nftables ruleset goes to `nft -f -` on stdin, so no rule text is ever a shell word.
`apply` first removes whatever an earlier plan left, so applying twice is applying once;
`remove` takes out exactly what is ours (our nft table, our iptables chain and its jump, the
root qdisc of the client-side veth, the servers' process) and skips what is already gone,
so it is idempotent too. A failing command is one line naming it (netns.LabError).
"""

from __future__ import annotations

import select
import subprocess
import sys
from pathlib import Path
from typing import Final

import msgspec

from netvigil.lab.censor import CHAIN, TABLE, CensorPlan
from netvigil.lab.netns import Lab, LabError, run

TIMEOUT: Final = 10.0
READY_TIMEOUT: Final = 30.0  # a bound on a wait for "ready", never asserted on


def _run(namespace: str, argv: tuple[str, ...], stdin: str | None = None) -> str:
    return run(["ip", "netns", "exec", namespace, *argv], stdin=stdin)


def _succeeds(namespace: str, argv: tuple[str, ...]) -> bool:
    try:
        _run(namespace, argv)
    except LabError:
        return False
    return True


class Censor:
    """One lab's censor: :meth:`apply` a plan, :meth:`remove` it; both idempotent."""

    def __init__(self, lab: Lab, folder: Path) -> None:
        self.lab = lab
        self.folder = folder  # where the servers' spec (and the interceptor's CA) is written
        self.namespace = lab.plan.censor
        self.client_interface = lab.plan.links[0].peer
        self.servers: subprocess.Popen[bytes] | None = None

    def apply(self, plan: CensorPlan) -> None:
        """Put `plan` in place of whatever was applied; on failure remove all, then raise."""
        if plan.namespace != self.namespace:
            raise LabError(f"the plan is for {plan.namespace}, not {self.namespace}")
        self.remove()
        try:
            _run(self.namespace, ("nft", "-f", "-"), stdin=plan.nft)
            for argv in (*plan.iptables, *plan.tc):
                _run(self.namespace, argv)
            if plan.servers is not None:
                self._start(plan)
        except BaseException:
            self.remove()
            raise

    def _start(self, plan: CensorPlan) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        spec = self.folder / "censor-servers.json"
        spec.write_bytes(msgspec.json.encode(plan.servers))
        argv = [sys.executable, "-m", "netvigil.lab.censor_main", "--rules", str(spec)]
        child = self.lab.start(self.namespace, argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.servers = child
        assert child.stdout is not None and child.stderr is not None
        ready, _, _ = select.select([child.stdout], [], [], READY_TIMEOUT)
        line = child.stdout.readline() if ready else b""
        if line != b"ready\n":
            child.kill()
            why = child.communicate(timeout=TIMEOUT)[1].decode(errors="replace").strip()
            first = (why.splitlines() or ["no ready line"])[-1]
            raise LabError(f"the censor's servers did not start: {first}")

    def remove(self) -> None:
        """Take out everything of ours in the censor namespace; what is gone is skipped."""
        if self.servers is not None:
            if self.servers.poll() is None:
                self.servers.terminate()
                try:
                    self.servers.wait(TIMEOUT)
                except subprocess.TimeoutExpired:
                    self.servers.kill()
                    self.servers.wait(TIMEOUT)
            self.servers = None
        ns = self.namespace
        if not Path(f"/run/netns/{ns}").exists():
            return  # the lab is down: its rules went with the namespace (ip-netns(8))
        if _succeeds(ns, ("nft", "list", "table", "inet", TABLE)):
            _run(ns, ("nft", "delete", "table", "inet", TABLE))
        while _succeeds(ns, ("iptables", "-w", "-C", "FORWARD", "-j", CHAIN)):
            _run(ns, ("iptables", "-w", "-D", "FORWARD", "-j", CHAIN))
        if _succeeds(ns, ("iptables", "-w", "-L", CHAIN, "-n")):
            _run(ns, ("iptables", "-w", "-F", CHAIN))
            _run(ns, ("iptables", "-w", "-X", CHAIN))
        shown = _run(ns, ("tc", "qdisc", "show", "dev", self.client_interface, "root"))
        if " tbf " in f" {shown}" or " htb " in f" {shown}":
            _run(ns, ("tc", "qdisc", "del", "dev", self.client_interface, "root"))
