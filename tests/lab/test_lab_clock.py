"""The lab's clock and the lab observatory's refusals, without root."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
from pathlib import Path

import pytest

from netvigil.lab.clock import LabClock, LabClockError


def test_processes_started_apart_read_one_time() -> None:
    epoch = time.time() - 10.0  # a clock started ten real seconds ago...
    one, other = LabClock(epoch=epoch, speed=15.0), LabClock(epoch=epoch, speed=15.0)
    before = time.time()
    seconds = one.seconds()
    after = time.time()
    assert epoch + (before - epoch) * 15 <= seconds <= epoch + (after - epoch) * 15
    assert seconds - epoch >= 150.0  # ...reads 150 lab seconds later, at least
    assert abs(other.seconds() - seconds) < 1.0
    assert one.now().tzinfo == dt.UTC
    assert one.real(dt.timedelta(minutes=5)) == 20.0


@pytest.mark.parametrize(
    ("epoch", "speed", "message"),
    [
        (0.0, 0.5, "--clock-speed: expected 1 to 1000, got 0.5"),
        (0.0, float("inf"), "--clock-speed: expected 1 to 1000, got inf"),
        (-1.0, 2.0, "--clock-epoch: expected Unix seconds, got -1"),
    ],
)
def test_a_clock_that_cannot_be_used_is_one_line(epoch: float, speed: float, message: str) -> None:
    with pytest.raises(LabClockError) as caught:
        LabClock(epoch=epoch, speed=speed)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--clock-speed", "5000"], "lab observatory: --clock-speed: expected 1 to 1000, got 5000"),
        (["--host", "192.0.2.1"], "lab observatory: --host: 192.0.2.1 is not an address"),
        (["--detection-interval", "0"], "lab observatory: --detection-interval: 0.1 to 3600"),
    ],
)
def test_the_lab_observatory_refuses_in_one_line(
    tmp_path: Path, options: list[str], message: str
) -> None:
    argv = [sys.executable, "-m", "netvigil.cli.lab_observatory", "--data-dir", str(tmp_path / "d")]
    argv += ["--host", "127.0.0.1", "--hooks", str(tmp_path / "h"), "--geoip-db", "/nonexistent"]
    argv += ["--clock-epoch", "1", "--clock-speed", "15", *options]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith(message), done.stderr
    assert len(done.stderr.splitlines()) == 1
    assert "Traceback" not in done.stderr
