"""The scenario table's records: the lab's sites, and each scenario with what it must show.

The table itself is data (netvigil/data/lab/scenarios.toml, read by lab/scenarios.py); these
Structs are its schema, so a field spelled wrong or of the wrong type is refused where it
is, with its path (docs/design/011-lab.md, "Scenario table"). The censor's rules are
lab/rules.py's records, used as they are.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from netvigil.analysis.verdicts import Layer, Outcome
from netvigil.lab.rules import Rule

__all__ = ["Classic", "Expect", "Lab", "Scenario", "Site", "Table"]

# The servers the lab can run at a site's address (lab/webserver.py and the nettests' own
# counterparts: a Tor relay's ORPort and DirPort, a STUN server; the apps' servers are
# sites, which answer any request, a Telegram data centre's POSTs included).
Service = Literal[
    "page",
    "large_file",
    "test_helper",
    "signal",
    "telegram_dc",
    "whatsapp",
    "facebook",
    "tor_relay",
    "stun",
]


class _Record(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class Lab(_Record, frozen=True, kw_only=True):
    """What the analysis of the lab's measurements must be told (addresses.Bogons.with_lab)."""

    networks: tuple[str, ...]
    resolver: str


class Site(_Record, frozen=True, kw_only=True):
    """One host of the lab's world; `address` is on the server's veth (10.77.2.10-99)."""

    address: str | None = None
    service: Service = "page"
    ports: tuple[int, ...] = (80, 443)  # TCP; empty: the address answers, nothing listens
    udp_ports: tuple[int, ...] = ()  # a `stun` site's STUN server
    # A `tor_relay`'s DirPort, one of its `ports` (plain HTTP); the others are ORPorts (TLS).
    dir_port: int | None = None
    # False: the honest DNS has no record for the name (only a censor may answer for it).
    published: bool = True
    # A real-world name the lab's DNS answers for, because the nettest's analysis knows its
    # hosts by name (messaging_facebook.py reads only FACEBOOK_ENDPOINTS' names). Safe: the
    # name resolves to this address only, inside the namespaces, and nothing routes out.
    real_name: bool = False
    # The AS the lab's ASN lookup gives the address (facebook_messenger checks its hosts
    # resolve into Facebook's AS32934); none for the rest, so no answer is vouched for by AS.
    asn: int | None = None
    title: str = ""
    # A page's size: large enough that a blockpage differs from it in OONI's body-length
    # test (httpdiff: proportion > 0.7 matches), and a large file outlasts a throttled fetch.
    bytes: int = 4096


class Classic(_Record, frozen=True, kw_only=True):
    """OONI's classic keys. TOML has no null, so a key left out is null."""

    blocking: str | bool | None = None
    accessible: bool | None = None


class Expect(_Record, frozen=True, kw_only=True):
    """The layered verdict our analysis must give (analysis/verdicts.Verdict's fields)."""

    outcome: Outcome
    layer: Layer | None = None
    technique: str | None = None
    classic: Classic | None = None  # web_connectivity's only


class Scenario(_Record, frozen=True, kw_only=True):
    name: str
    description: str
    nettest: str  # OONI's test_name
    inputs: tuple[str, ...] = ()
    # The nettest's `--endpoint KEY=VALUE` pairs, so it measures the lab's hosts, never the
    # real ones (probe/nettest.py Endpoints).
    endpoints: dict[str, tuple[str, ...]] = msgspec.field(default_factory=dict)
    rules: tuple[Rule, ...] = ()
    probe_cc: str = "ZZ"  # the country the probe reports: fingerprints confirm by country
    qa: str | None = None  # the OONI netem QA scenario of the same technique
    expect: Expect
    # Shutdown cases only: what the detector must call the heartbeats' silence.
    expect_alert: Literal["shutdown", "outage"] | None = None


class Table(_Record, frozen=True, kw_only=True):
    lab: Lab
    sites: dict[str, Site]
    scenarios: tuple[Scenario, ...]

    def site_of_address(self, address: str) -> str | None:
        return next((n for n, s in self.sites.items() if s.address == address), None)
