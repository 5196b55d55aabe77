"""bench/lab_bench.py's refusals: a bad flag, an unknown or shutdown scenario and a user
without root each get one line and exit 2, before anything is made (no root needed)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOBODY = 65534


def _bench(*args: str, unprivileged: bool = False) -> subprocess.CompletedProcess[str]:
    prefix: list[str] = []
    if unprivileged and os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to run the bench as an unprivileged user"
        prefix = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    return subprocess.run(
        [*prefix, sys.executable, "bench/lab_bench.py", *args],
        cwd=ROOT,
        env={**os.environ, "HOME": "/tmp", "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("--rounds", "0"), "--rounds: 1 to 100, not 0"),
        (("--rounds", "x"), "argument --rounds: invalid int value: 'x'"),
        (("--bogus",), "unrecognized arguments: --bogus"),
        (("--id", "Not/An/Id"), "--id: lab id must be"),
        (("web-http-okk",), "unknown scenario 'web-http-okk': did you mean web-http-ok"),
        (("shutdown-blackout",), "shutdown scenarios are not benched"),
    ],
)
def test_a_bad_argument_is_one_line_and_exit_2(args: tuple[str, ...], said: str) -> None:
    done = _bench(*args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and said in done.stderr, done.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="setpriv: Linux")
def test_without_root_it_says_so_in_one_line() -> None:
    done = _bench("web-http-ok", unprivileged=True)
    assert done.returncode == 2, done.stdout + done.stderr
    assert (
        done.stderr
        == "lab_bench.py: the lab bench needs Linux and root: it creates network namespaces\n"
    )
