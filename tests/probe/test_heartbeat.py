"""The heartbeat's pseudonym and the daemon's schedule, as pure functions of the time."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import stat
from pathlib import Path

import msgspec
import pytest

from netvigil.datadir import DataDirError
from netvigil.probe import heartbeat as hb

MIDNIGHT = dt.datetime(2026, 1, 9, tzinfo=dt.UTC)
SECOND = dt.timedelta(seconds=1)


def test_the_secret_is_made_once_private_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "pseudonym.secret"
    secret = hb.load_secret(path)
    assert len(secret) == 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert hb.load_secret(path) == secret


def test_a_damaged_secret_is_one_line_not_a_new_identity(tmp_path: Path) -> None:
    path = tmp_path / "pseudonym.secret"
    path.write_bytes(b"short")
    with pytest.raises(DataDirError, match=r"is not a pseudonym secret: remove it"):
        hb.load_secret(path)
    assert path.read_bytes() == b"short"


def test_the_pseudonym_is_the_hmac_of_the_utc_day() -> None:
    secret = bytes(range(32))
    expected = hmac.new(secret, b"netvigil-heartbeat|2026-01-08", hashlib.sha256).hexdigest()
    assert hb.pseudonym(secret, MIDNIGHT - SECOND) == expected[:32]


def test_the_pseudonym_rotates_at_the_utc_day_boundary_not_the_local_one() -> None:
    secret = bytes(32)
    before, at = hb.pseudonym(secret, MIDNIGHT - SECOND), hb.pseudonym(secret, MIDNIGHT)
    assert before != at
    assert hb.pseudonym(secret, MIDNIGHT - dt.timedelta(hours=23, minutes=59)) == before
    assert hb.pseudonym(secret, MIDNIGHT + dt.timedelta(hours=23, minutes=59)) == at
    # 00:30 at UTC+02:00 is still the 8th in UTC.
    plus_two = dt.timezone(dt.timedelta(hours=2))
    assert hb.pseudonym(secret, dt.datetime(2026, 1, 9, 0, 30, tzinfo=plus_two)) == before


def test_installs_have_their_own_pseudonyms(tmp_path: Path) -> None:
    one, two = hb.load_secret(tmp_path / "a"), hb.load_secret(tmp_path / "b")
    assert hb.pseudonym(one, MIDNIGHT) != hb.pseudonym(two, MIDNIGHT)


def test_a_heartbeat_holds_location_pseudonym_and_time_only() -> None:
    beat = hb.heartbeat(bytes(32), "IT", "AS137", MIDNIGHT)
    assert msgspec.json.decode(msgspec.json.encode(beat)) == {
        "probe_cc": "IT",
        "probe_asn": "AS137",
        "pseudonym": hb.pseudonym(bytes(32), MIDNIGHT),
        "sent_at": "2026-01-09T00:00:00Z",
    }


def plan() -> hb.Plan:
    return hb.start(1000.0, interval=60.0, cadence=3600.0)


def test_at_start_a_heartbeat_and_a_run_are_due() -> None:
    assert hb.due(plan(), 1000.0) == ["heartbeat", "measure"]


def test_an_answered_heartbeat_sends_the_backlog_and_waits_for_the_next() -> None:
    p = hb.measuring(plan(), 1000.0)
    p = hb.heard(p, 1000.2, reached=True)
    assert hb.due(p, 1000.2) == ["upload"]  # what an earlier run left
    p = hb.uploaded(hb.uploading(p), 1001.0, complete=True, left=False)
    assert hb.due(p, 1001.0) == [] and hb.wait(p, 1001.0) == 59.0
    assert hb.due(p, 1060.0) == ["heartbeat"]


def test_an_unanswered_heartbeat_makes_a_local_check_and_no_upload() -> None:
    p = hb.measuring(plan(), 1000.0)
    p = hb.heard(p, 1000.0, reached=False)
    assert hb.due(p, 1000.0) == ["local_check"]
    p = hb.checked(p)
    assert hb.due(p, 1000.0) == [] and p.backlog
    p = hb.heard(p, 1060.0, reached=False)
    assert hb.due(p, 1060.0) == ["local_check"]
    p = hb.heard(hb.checked(p), 1120.0, reached=True)  # back: the backlog goes
    assert hb.due(p, 1120.0) == ["upload"]


def test_a_run_in_progress_is_not_started_twice_and_missed_runs_are_skipped() -> None:
    p = hb.measuring(plan(), 1000.0)
    assert p.measure_at == 4600.0
    assert "measure" not in hb.due(p, 5000.0)  # the first run is still going
    p = hb.measured(p)
    assert "measure" in hb.due(p, 5000.0)
    p = hb.measuring(p, 12000.0)  # suspended for hours: one run now, the next on the grid
    assert p.measure_at == 15400.0


def test_a_failed_upload_waits_for_the_next_answered_heartbeat() -> None:
    p = hb.heard(hb.measuring(plan(), 1000.0), 1000.0, reached=True)
    p = hb.uploaded(hb.uploading(p), 1005.0, complete=False, left=False)
    assert hb.due(p, 1005.0) == [] and p.backlog
    p = hb.heard(p, 1060.0, reached=True)
    assert hb.due(p, 1060.0) == ["upload"]


def test_local_checks_of_the_current_minute_wait_for_its_end() -> None:
    p = hb.heard(hb.measuring(plan(), 1000.0), 1000.0, reached=True)
    p = hb.uploaded(hb.uploading(p), 1010.0, complete=True, left=True)
    assert hb.due(p, 1010.0) == [] and hb.wait(p, 1010.0) == 10.0  # 1020 = 17 × 60 ends the minute
    assert hb.due(p, 1020.0) == ["upload"]


def test_a_run_ending_during_an_upload_is_uploaded_after_it() -> None:
    p = hb.uploading(hb.heard(hb.measuring(plan(), 1000.0), 1000.0, reached=True))
    p = hb.measured(p)
    p = hb.uploaded(p, 1002.0, complete=True, left=False)
    assert hb.due(p, 1002.0) == ["upload"]


def test_waiting_local_checks_do_not_hold_back_a_run() -> None:
    p = hb.heard(hb.measuring(plan(), 1000.0), 1000.0, reached=True)
    p = hb.uploaded(hb.uploading(p), 1010.0, complete=True, left=True)
    p = hb.measured(p)
    assert hb.due(p, 1011.0) == ["upload"]
