"""The nettests the probe runs besides web_connectivity (probe/webconnectivity.py), by name.

Each module defines its :class:`~netvigil.probe.nettest.Nettest` and is listed here once;
`netvigil probe run --test NAME` looks names up in :data:`NETTESTS`.
"""

from __future__ import annotations

from netvigil.probe.dnscheck import DNSCheck
from netvigil.probe.fbmessenger import FacebookMessenger
from netvigil.probe.middlebox import HeaderFieldManipulation, InvalidRequestLine
from netvigil.probe.ndt7 import Ndt7
from netvigil.probe.nettest import Nettest
from netvigil.probe.signal import Signal
from netvigil.probe.stun import STUNReachability
from netvigil.probe.telegram import Telegram
from netvigil.probe.tor import Tor
from netvigil.probe.tor_bootstrap import TorSnowflake, VanillaTor
from netvigil.probe.whatsapp import WhatsApp

NETTESTS: dict[str, Nettest] = {
    n.name: n
    for n in (
        Signal(),
        Telegram(),
        WhatsApp(),
        FacebookMessenger(),
        Tor(),
        VanillaTor(),
        TorSnowflake(),
        DNSCheck(),
        STUNReachability(),
        Ndt7(),
        HeaderFieldManipulation(),
        InvalidRequestLine(),
    )
}
