"""The nettests the probe runs besides web_connectivity (probe/webconnectivity.py), by name.

Each module defines its :class:`~netvigil.probe.nettest.Nettest` and is listed here once;
`netvigil probe run --test NAME` looks names up in :data:`NETTESTS`.
"""

from __future__ import annotations

from netvigil.probe.nettest import Nettest
from netvigil.probe.tor import Tor
from netvigil.probe.tor_bootstrap import TorSnowflake, VanillaTor

NETTESTS: dict[str, Nettest] = {
    "tor": Tor(),
    "vanilla_tor": VanillaTor(),
    "torsf": TorSnowflake(),
}
