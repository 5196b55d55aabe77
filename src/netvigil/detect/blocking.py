"""Blocking changes per (country, network, domain, technique), from the layered verdicts.

The observatory's table has one verdict per measurement: its outcome and, when blocked, the
layer and technique that decided it (observatory/columns.py). For every (country, network,
domain) the verdicts become one hourly series per technique seen blocking there: a
measurement scores 1 when it was blocked by that technique and 0 when it was analysed and
not (accessible, blocked another way, or down for everyone: none of them is this blocking).
A measurement without a verdict (insufficient, unanalysed, error) is no evidence either way
and is left out (DESIGN.md: never say more than the data shows). Each series goes through
the CUSUM of detect/cusum.py; every change it finds is a `blocking_change` event.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

import msgspec

from netvigil.detect.cusum import THRESHOLD, Change, changes, hourly

VERDICTS = frozenset({"ok", "blocked", "down"})  # outcomes that are evidence
# OONI's nettests of one service each (ooni.md §10): a blocking change there is a service
# block (the app, whatever its domains), not the blocking of one web site.
SERVICE_TESTS = frozenset(
    {
        "whatsapp",
        "telegram",
        "signal",
        "facebook_messenger",
        "psiphon",
        "tor",
        "torsf",
        "riseupvpn",
        "vanilla_tor",
    }
)


class Verdict(msgspec.Struct, frozen=True, kw_only=True):
    """What the detector reads of one analysed measurement."""

    uid: str
    time: dt.datetime  # measurement_start_time
    probe_cc: str
    probe_asn: int
    domain: str
    outcome: str
    technique: str | None = None
    test_name: str = "web_connectivity"


class BlockingEvent(msgspec.Struct, frozen=True, kw_only=True):
    """A period during which `technique` blocked `domain` on one network."""

    kind: str = "blocking_change"
    probe_cc: str
    probe_asn: int
    domain: str
    technique: str
    change: Change


def blocking_events(
    verdicts: Iterable[Verdict], *, threshold: float = THRESHOLD
) -> list[BlockingEvent]:
    """Every blocking change in `verdicts`, ordered by network, domain, technique and start."""
    by_target: dict[tuple[str, int, str, str], list[Verdict]] = defaultdict(list)
    for verdict in verdicts:
        if verdict.outcome in VERDICTS and verdict.domain:
            key = (verdict.probe_cc, verdict.probe_asn, verdict.domain, verdict.test_name)
            by_target[key].append(verdict)
    events = []
    for (cc, asn, domain, test_name), seen in sorted(by_target.items()):
        techniques = sorted({v.technique for v in seen if v.outcome == "blocked" and v.technique})
        for technique in techniques:
            points = [
                (v.time, float(v.outcome == "blocked" and v.technique == technique), v.uid)
                for v in seen
            ]
            for change in changes(hourly(points), threshold=threshold):
                events.append(
                    BlockingEvent(
                        kind="service_block" if test_name in SERVICE_TESTS else "blocking_change",
                        probe_cc=cc,
                        probe_asn=asn,
                        domain=domain,
                        technique=technique,
                        change=change,
                    )
                )
    return events
