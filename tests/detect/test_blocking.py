"""Blocking changes from layered verdicts: per network, domain and technique, evidence only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from netvigil.detect.blocking import Verdict, blocking_events

T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


def _verdicts(
    asn: int, outcomes: Sequence[tuple[str, str | None]], *, domain: str = "news.example"
) -> list[Verdict]:
    return [
        Verdict(
            uid=f"{asn}-{n}",
            time=T0 + n * HOUR + dt.timedelta(minutes=7),
            probe_cc="IT",
            probe_asn=asn,
            domain=domain,
            outcome=outcome,
            technique=technique,
        )
        for n, (outcome, technique) in enumerate(outcomes)
    ]


OK = ("ok", None)
TCP = ("blocked", "tcp_timeout")


def test_a_blocked_period_on_one_network_is_one_event_there_only() -> None:
    blocked = _verdicts(1, [OK] * 40 + [TCP] * 30 + [OK] * 40)
    elsewhere = _verdicts(2, [OK] * 110)
    (event,) = blocking_events([*elsewhere, *blocked])
    assert (event.kind, event.probe_cc, event.probe_asn, event.domain, event.technique) == (
        "blocking_change",
        "IT",
        1,
        "news.example",
        "tcp_timeout",
    )
    assert (event.change.start, event.change.end) == (T0 + 40 * HOUR, T0 + 70 * HOUR)
    assert event.change.during[0] == "1-40" and event.change.after[0] == "1-70"


def test_measurements_without_a_verdict_neither_dilute_nor_make_a_blocking() -> None:
    # Each blocked hour also holds two insufficient measurements: were they counted as
    # accessible, the hour's median would be 0 and no blocking would be seen.
    noisy = _verdicts(1, [OK] * 40 + [TCP] * 30)
    noise = [
        Verdict(uid=f"x{n}-{k}", time=v.time, probe_cc="IT", probe_asn=1, domain=v.domain,
                outcome=outcome, technique=None)
        for n, v in enumerate(noisy[40:])
        for k, outcome in enumerate(("insufficient", "error"))
    ]  # fmt: skip
    (event,) = blocking_events([*noisy, *noise])
    assert event.change.start == T0 + 40 * HOUR and event.change.end is None
    only_noise = _verdicts(3, [("insufficient", None)] * 60 + [("unanalysed", None)] * 60)
    assert blocking_events(only_noise) == []


def test_a_site_down_for_everyone_or_one_odd_technique_is_no_blocking_change() -> None:
    down = _verdicts(1, [OK] * 40 + [("down", None)] * 30 + [OK] * 40)
    odd = _verdicts(2, [OK] * 40 + [("blocked", "dns_nxdomain")] + [OK] * 40)
    assert blocking_events([*down, *odd]) == []


def test_two_techniques_on_one_target_are_two_series() -> None:
    dns = ("blocked", "dns_nxdomain")
    verdicts = _verdicts(1, [OK] * 40 + [TCP] * 30 + [dns] * 30)
    events = blocking_events(verdicts)
    assert [(e.technique, e.change.start, e.change.end) for e in events] == [
        ("dns_nxdomain", T0 + 70 * HOUR, None),
        ("tcp_timeout", T0 + 40 * HOUR, T0 + 70 * HOUR),
    ]


def test_a_services_own_nettest_makes_a_service_block() -> None:
    blocked = [
        Verdict(
            uid=f"w-{n}",
            time=T0 + n * HOUR,
            probe_cc="IT",
            probe_asn=3,
            domain="web.whatsapp.com",
            outcome="ok" if n < 40 or n >= 70 else "blocked",
            technique=None if n < 40 or n >= 70 else "tcp_timeout",
            test_name="whatsapp",
        )
        for n in range(110)
    ]
    (event,) = blocking_events(blocked)
    assert (event.kind, event.domain, event.technique) == (
        "service_block",
        "web.whatsapp.com",
        "tcp_timeout",
    )
