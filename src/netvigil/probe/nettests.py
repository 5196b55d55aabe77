"""The nettests the probe runs besides web_connectivity (probe/webconnectivity.py), by name.

Each module defines its :class:`~netvigil.probe.nettest.Nettest` and is listed here once;
`netvigil probe run --test NAME` looks names up in :data:`NETTESTS`.
"""

from __future__ import annotations

from netvigil.probe.nettest import Nettest

NETTESTS: dict[str, Nettest] = {}
