"""What works here now, read from a real Parquet table: each status, never more than the data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from netvigil.observatory.works_here import (
    BLOCKED,
    MIXED,
    NO_EVIDENCE,
    WORKS,
    Tally,
    ago,
    assess,
    guidance,
    status_of,
    works_here,
)
from tests.observatory.works_rows import IRANCELL, MCI, NOW, tables

# test_name -> (status, counts, latest uid, witness uid): by hand from works_rows.ROWS.
EXPECTED = {
    "signal": (WORKS, {"insufficient": 1, "ok": 2}, "sig-3", "sig-2"),
    "telegram": (MIXED, {"blocked": 1, "ok": 1}, "tg-2", "tg-1"),
    "whatsapp": (BLOCKED, {"blocked": 2}, "wa-2", "wa-2"),
    "facebook_messenger": (
        NO_EVIDENCE,
        {"error": 1, "insufficient": 1, "unanalysed": 1},
        "fb-1",
        None,
    ),
    "tor": (NO_EVIDENCE, {}, None, None),  # one out of the window, one after NOW
    "vanilla_tor": (BLOCKED, {"blocked": 3}, "vt-1", "vt-1"),
    "torsf": (WORKS, {"ok": 1}, "sf-1", "sf-1"),
    "psiphon": (MIXED, {"tampered": 1}, "ps-1", "ps-1"),
    "riseupvpn": (NO_EVIDENCE, {"down": 1}, "ru-1", None),
    "openvpn": (MIXED, {"ok": 1, "tampered": 1}, "ov-2", "ov-2"),
    "stunreachability": (NO_EVIDENCE, {}, None, None),
}


def test_each_app_and_tool_gets_the_status_its_verdicts_allow(tmp_path: Path) -> None:
    place = works_here(tables(tmp_path), "IR", now=NOW)
    got = {i.test_name: (i.status, i.counts, i.latest_uid, i.witness_uid) for i in place.items}
    mismatches = [
        f"{test}: got {got.get(test)}, expected {wanted}"
        for test, wanted in EXPECTED.items()
        if got.get(test) != wanted
    ]
    assert not mismatches, "\n".join(mismatches)
    assert list(got) == list(EXPECTED)  # every app and tool, web_connectivity not among them
    assert (place.since, place.until) == (NOW - dt.timedelta(days=1), NOW)


def test_works_is_never_said_without_an_ok_and_with_a_block(tmp_path: Path) -> None:
    for item in works_here(tables(tmp_path), "IR", now=NOW).items:
        if item.status == WORKS:
            assert item.counts.get("ok", 0) > 0, item
            assert item.counts.get("blocked", 0) == item.counts.get("tampered", 0) == 0, item


def test_by_network_the_mixed_country_splits_into_what_each_network_saw(tmp_path: Path) -> None:
    place = works_here(tables(tmp_path), "IR", now=NOW)
    by_network = {n.probe_asn: {i.test_name: i.status for i in n.items} for n in place.networks}
    assert by_network[IRANCELL]["telegram"] == BLOCKED
    assert by_network[MCI] == {"signal": NO_EVIDENCE, "telegram": WORKS}
    one = works_here(tables(tmp_path), "IR", now=NOW, asn=MCI)
    assert {i.test_name: i.status for i in one.items if i.measurements} == {
        "signal": NO_EVIDENCE,
        "telegram": WORKS,
    }


def test_the_window_and_the_country_are_parameters(tmp_path: Path) -> None:
    folder = tables(tmp_path)
    later = works_here(folder, "IR", now=NOW + dt.timedelta(hours=2))
    tor = {i.test_name: i for i in later.items}["tor"]
    assert (tor.status, tor.counts) == (BLOCKED, {"blocked": 1})  # tor-2 is in the past now
    week = works_here(folder, "IR", now=NOW, window=dt.timedelta(days=7))
    assert {i.test_name: i.status for i in week.items}["tor"] == WORKS  # tor-1, 48 h ago
    italy = {i.test_name: i.status for i in works_here(folder, "IT", now=NOW).items}
    assert italy["signal"] == BLOCKED and italy["telegram"] == NO_EVIDENCE


def test_as_of_newest_ends_the_window_at_the_newest_app_or_tool_measurement(
    tmp_path: Path,
) -> None:
    """A fixed archive (the demo's) read a month later: the window, still a parameter, ends
    at the place's newest app or tool measurement up to `now`, and the Place says when."""
    folder = tables(tmp_path)
    month = NOW + dt.timedelta(days=30)
    italy = works_here(folder, "IT", now=month, as_of_newest=True)
    it_1 = NOW - dt.timedelta(hours=1)  # works_rows: it-1, Italy's only measurement
    assert (italy.as_of, italy.since, italy.until) == (it_1, it_1 - dt.timedelta(days=1), it_1)
    assert {i.test_name: i.status for i in italy.items}["signal"] == BLOCKED
    live = works_here(folder, "IT", now=month)  # as asked, without it: nothing that recent
    assert live.as_of is None and {i.status for i in live.items} == {NO_EVIDENCE}
    # Not past `now`: tor-2 (an hour after NOW) is left out, so Iran's newest is sf-1 (0.5 h
    # before); web-1 is no app or tool. Over a 2 h window: sig-2 and sig-3, not sig-1 (3 h).
    sf_1 = NOW - dt.timedelta(hours=0.5)
    iran = works_here(folder, "IR", now=NOW, window=dt.timedelta(hours=2), as_of_newest=True)
    assert (iran.as_of, iran.since) == (sf_1, sf_1 - dt.timedelta(hours=2))
    got = {i.test_name: (i.status, i.counts) for i in iran.items}
    assert got["signal"] == (WORKS, {"insufficient": 1, "ok": 1})
    assert got["torsf"] == (WORKS, {"ok": 1}) and got["tor"] == (NO_EVIDENCE, {})
    # a network's newest is its own: MCI's is sig-3, an hour before NOW
    mci = works_here(folder, "IR", now=month, asn=MCI, as_of_newest=True)
    assert mci.as_of == NOW - dt.timedelta(hours=1)
    # no measurement at all: nothing to anchor at, the window ends at `now`
    nothing = works_here(folder, "FR", now=month, as_of_newest=True)
    assert (nothing.as_of, nothing.until) == (None, month)


def test_a_fresh_instance_has_no_evidence_of_anything(tmp_path: Path) -> None:
    place = works_here(tmp_path / "tables" / "analysis", "IR", now=NOW)
    assert {i.status for i in place.items} == {NO_EVIDENCE} and place.networks == ()


def test_guidance_is_built_from_the_statuses_only(tmp_path: Path) -> None:
    place = works_here(tables(tmp_path), "IR", now=NOW)
    assert guidance(place.items, NOW) == [
        "Signal works (signal) — 3 measurements, last 1 h ago",
        "Telegram mixed results (telegram) — 2 measurements, last 2 h ago",
        "WhatsApp blocked (whatsapp) — 2 measurements, last 1 h ago",
        "Tor blocked (vanilla_tor) — 3 measurements, last 2 h ago",
        "Snowflake works (torsf) — 1 measurement, last 30 min ago",
        "Psiphon mixed results (psiphon) — 1 measurement, last 3 h ago",
        "OpenVPN mixed results (openvpn) — 2 measurements, last 2 h ago",
    ]


@pytest.mark.parametrize(
    ("counts", "wanted"),
    [
        ({"ok": 1}, WORKS),
        ({"ok": 3, "down": 2, "insufficient": 1}, WORKS),
        ({"ok": 1, "blocked": 1}, MIXED),
        ({"tampered": 1}, MIXED),
        ({"blocked": 1, "tampered": 1}, BLOCKED),
        ({"blocked": 1, "error": 4}, BLOCKED),
        ({"insufficient": 2, "unanalysed": 1, "error": 1}, NO_EVIDENCE),
        ({"down": 1}, NO_EVIDENCE),
        ({}, NO_EVIDENCE),
    ],
)
def test_status_of_outcome_counts(counts: dict[str, int], wanted: str) -> None:
    assert status_of(counts) == wanted


def test_a_run_s_verdicts_are_assessed_alike_and_only_for_its_own_nettests() -> None:
    run = [
        Tally(test_name="telegram", outcome="ok", count=1, last=NOW, uid=None),
        Tally(test_name="web_connectivity", outcome="blocked", count=1, last=NOW, uid=None),
    ]
    (item,) = assess(run, ["telegram", "web_connectivity"])
    assert (item.test_name, item.status, item.witness_uid) == ("telegram", WORKS, None)


@pytest.mark.parametrize(
    ("seconds", "wanted"),
    [(30, "under a minute"), (59 * 60, "59 min"), (3 * 3600 + 59, "3 h"), (72 * 3600, "3 days")],
)
def test_ages_read_short(seconds: int, wanted: str) -> None:
    assert ago(dt.timedelta(seconds=seconds)) == wanted
