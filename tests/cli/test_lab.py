"""`netvigil lab up | run | down`: what they print, and the polite refusal without root."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.lab.namespaces import links, netns_names, new_id

NEEDS = "error: netvigil lab needs Linux and root: it creates network namespaces"
NOBODY = 65534


def _netvigil(
    *args: str, prefix: list[str] | None = None, home: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    if home is not None:
        env["NETVIGIL_HOME"] = str(home)
    return subprocess.run(
        [*(prefix or []), sys.executable, "-m", "netvigil", "lab", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def _unprivileged() -> list[str]:
    """Run as nobody when we are root (a real unprivileged process, not a flag of ours)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed to run the command as an unprivileged user"
    return [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the refusal there is tested as is"
)
@pytest.mark.parametrize("command", ["up", "run", "down"])
def test_without_root_it_is_one_polite_line_and_nothing_done(command: str, tmp_path: Path) -> None:
    before = netns_names() if os.geteuid() == 0 else set()
    home = Path("/tmp") / f"netvigil-lab-refusal-{new_id()}"  # nobody cannot enter tmp_path
    done = _netvigil(command, prefix=_unprivileged(), home=home)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [NEEDS] and done.stdout == ""
    assert not home.exists()  # not even the data folder
    if os.geteuid() == 0:
        assert netns_names() == before


def test_a_bad_id_is_one_line() -> None:
    done = _netvigil("up", "--id", "../Etc")
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    if os.geteuid() == 0 and sys.platform.startswith("linux"):
        assert lines == [
            "error: --id: lab id must be 1-8 lowercase letters or digits, not '../Etc'"
        ]
    else:
        assert lines == [NEEDS]


@pytest.mark.lab
def test_up_prints_what_it_made_and_down_what_it_removed(tmp_path: Path) -> None:
    lab_id = new_id()
    names = [f"nvlab-{lab_id}-{role}" for role in ("client", "censor", "server")]
    try:
        made = _netvigil("up", "--id", lab_id, "--json", home=tmp_path)
        assert made.returncode == 0, made.stderr
        report = json.loads(made.stdout)
        assert report["namespaces"] == dict(zip(("client", "censor", "server"), names, strict=True))
        assert report["client"] == "10.77.1.2" and report["server"] == "10.77.2.2"
        assert set(names) <= netns_names()
        assert (tmp_path / "lab" / f"{lab_id}.json").is_file()
        again = _netvigil("up", "--id", lab_id, home=tmp_path)
        assert again.returncode == 1 and len(again.stderr.splitlines()) == 1
        assert "already up" in again.stderr
        removed = _netvigil("down", "--id", lab_id, home=tmp_path)
        assert removed.returncode == 0, removed.stderr
        assert removed.stdout.splitlines() == [f"removed namespace {n}" for n in names]
        assert not set(names) & netns_names()
        assert not any(lab_id in name for name in links())
        nothing = _netvigil("down", "--id", lab_id, home=tmp_path)
        assert nothing.stdout == "no lab was up: nothing to remove\n"
    finally:
        _netvigil("down", "--id", lab_id, home=tmp_path)


@pytest.mark.lab
def test_up_in_words(tmp_path: Path) -> None:
    lab_id = new_id()
    try:
        made = _netvigil("up", "--id", lab_id, home=tmp_path)
        assert made.returncode == 0, made.stderr
        lines = made.stdout.splitlines()
        assert lines[0] == f"lab {lab_id} is up (netvigil lab down removes it)"
        assert (
            f"  veth nvlab-{lab_id}-client/nv-{lab_id}-c <-> nvlab-{lab_id}-censor/nv-{lab_id}-cc"
            in lines
        )
    finally:
        _netvigil("down", "--id", lab_id, home=tmp_path)


@pytest.mark.lab
def test_a_record_that_cannot_be_written_is_one_line_and_nothing_made(tmp_path: Path) -> None:
    lab_id = new_id()
    (tmp_path / "lab").write_text("a file where the lab folder goes")
    done = _netvigil("up", "--id", lab_id, home=tmp_path)
    assert done.returncode == 1 and done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"error: cannot record the lab in {tmp_path}/lab/{lab_id}.json")
    assert not any(name.startswith(f"nvlab-{lab_id}-") for name in netns_names())


def test_list_needs_no_root_and_names_every_scenario_once() -> None:
    from netvigil.lab.scenarios import load_table

    done = _netvigil("list", prefix=_unprivileged())
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    names = [s.name for s in load_table().scenarios]
    assert [line.split()[0] for line in lines] == names


def test_list_json_and_selection() -> None:
    done = _netvigil("list", "--json", "dns-nxdomain", "web-https-ok")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["name"] for r in rows] == ["dns-nxdomain", "web-https-ok"]
    assert rows[0]["rules"][0]["kind"] == "dns_answer"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nosuch"], "error: unknown scenario 'nosuch'"),
        (["dns_nxdomain"], "error: unknown scenario 'dns_nxdomain': did you mean dns-nxdomain?"),
        (["--table", "/nonexistent/table.toml"], "error: "),
    ],
)
def test_list_refuses_in_one_line(args: list[str], message: str) -> None:
    done = _netvigil("list", *args)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(message) and done.stderr.count("\n") == 1, done.stderr


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["no-such-scenario"], "error: unknown scenario 'no-such-scenario'"),
        (["--id", "UP"], "error: --id: lab id must be 1-8 lowercase letters or digits, not 'UP'"),
    ],
)
def test_run_refuses_a_bad_scenario_or_id_in_one_line_before_anything(
    args: list[str], line: str, tmp_path: Path
) -> None:
    done = _netvigil("run", *args, home=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    (said,) = done.stderr.splitlines()
    assert said.startswith(line)
    assert not (tmp_path / "lab").exists()  # nothing made, not even the run's folder
