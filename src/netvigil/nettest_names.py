"""The apps and circumvention tools a nettest measures: the name people know them by.

"What works here now" (observatory/works_here.py), the probe's summary after a run
(cli/results.py) and the explorer's country page (web/country.py) all name a nettest's
subject from this one table, so a page and a terminal never disagree on what `torsf` is.

Which nettest measures what, from OONI's specs (ooni/spec nettests/): ts-027 signal, ts-020
telegram, ts-018 whatsapp, ts-019 facebook_messenger (apps); ts-023 tor (reachability of the
directory authorities and bridges), ts-016 vanilla_tor (a bootstrap of the tor binary),
ts-030 torsf (tor over Snowflake), ts-015 psiphon, ts-026 riseupvpn, ts-040 openvpn, ts-025
stunreachability (the STUN servers Snowflake and WebRTC rely on). Web Connectivity and the
rest measure websites, resolvers or the network itself: they are not in the table.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple


class Kind(StrEnum):
    APP = "app"
    CIRCUMVENTION = "circumvention"


class Subject(NamedTuple):
    """What a nettest's measurement says works or not: its name, and what kind of thing."""

    name: str
    kind: Kind


# In the order people ask about them: the messaging apps, then the ways around blocking,
# Tor's three first (the directory check, plain Tor, then Tor over Snowflake).
SUBJECTS: dict[str, Subject] = {
    "signal": Subject("Signal", Kind.APP),
    "telegram": Subject("Telegram", Kind.APP),
    "whatsapp": Subject("WhatsApp", Kind.APP),
    "facebook_messenger": Subject("Facebook Messenger", Kind.APP),
    "tor": Subject("Tor relays and bridges", Kind.CIRCUMVENTION),
    "vanilla_tor": Subject("Tor", Kind.CIRCUMVENTION),
    "torsf": Subject("Snowflake", Kind.CIRCUMVENTION),
    "psiphon": Subject("Psiphon", Kind.CIRCUMVENTION),
    "riseupvpn": Subject("RiseupVPN", Kind.CIRCUMVENTION),
    "openvpn": Subject("OpenVPN", Kind.CIRCUMVENTION),
    "stunreachability": Subject("STUN (used by Snowflake)", Kind.CIRCUMVENTION),
}
APPS = tuple(name for name, s in SUBJECTS.items() if s.kind is Kind.APP)
TOOLS = tuple(name for name, s in SUBJECTS.items() if s.kind is Kind.CIRCUMVENTION)


def subject(test_name: str) -> Subject | None:
    """What `test_name` measures, or None for a nettest of websites, resolvers or speed."""
    return SUBJECTS.get(test_name)


def display_name(test_name: str) -> str:
    """The name people know it by; the nettest's own name when it is not an app or a tool."""
    found = SUBJECTS.get(test_name)
    return found.name if found is not None else test_name
