"""The lab's record: written atomically, read back exactly, and a bad or hostile one is one
line and never acted on (teardown deletes what a record names)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from netvigil.lab import labstate, reaper
from netvigil.lab.labstate import LabState, LabStateError, Process
from netvigil.lab.netns import Lab, down_recorded
from netvigil.lab.topology import plan
from tests.lab.namespaces import alive, netns_names, new_id

STATE = LabState(
    lab_id="a1",
    namespaces=("nvlab-a1-client", "nvlab-a1-censor", "nvlab-a1-server"),
    veths=("nv-a1-c",),
    processes=(Process(pid=7, start_ticks=9, namespace="nvlab-a1-server", argv=("sleep",)),),
)


def test_a_record_reads_back_as_written(tmp_path: Path) -> None:
    path = labstate.write(tmp_path / "lab", STATE)
    assert path == tmp_path / "lab" / "a1.json"
    assert labstate.read(path) == STATE
    assert labstate.recorded(tmp_path / "lab") == [path]
    assert (path.parent.stat().st_mode & 0o777) == 0o700
    labstate.forget(tmp_path / "lab", "a1")
    assert labstate.recorded(tmp_path / "lab") == []


@pytest.mark.parametrize(
    ("name", "content", "why"),
    [
        ("a1.json", b"\x00 not json", "is not a lab's record"),
        ("a1.json", b'{"lab_id": "a1"}', "is not a lab's record"),
        ("a1.json", b'{"lab_id":"a1","namespaces":[],"veths":[],"x":1}', "is not a lab's record"),
        ("a1.json", b'{"lab_id":"../x","namespaces":[],"veths":[]}', "is not a lab's record"),
        ("b2.json", b'{"lab_id":"a1","namespaces":[],"veths":[]}', "names another lab"),
        ("a1.json", b'{"lab_id":"a1","namespaces":["default"],"veths":[]}', "not of its lab"),
        ("a1.json", b'{"lab_id":"a1","namespaces":["nvlab-b2-client"],"veths":[]}', "not of its"),
    ],
)
def test_a_bad_record_is_one_line(tmp_path: Path, name: str, content: bytes, why: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(LabStateError) as raised:
        labstate.read(path)
    assert len(str(raised.value).splitlines()) == 1 and why in str(raised.value)


@pytest.mark.lab
def test_teardown_touches_no_namespace_and_no_process_that_is_not_the_labs(
    lab_folder: Path,
) -> None:
    lab_id = new_id()
    foreign = f"nvtest-{lab_id}"  # a namespace of someone else's, named in a hostile record
    outsider = subprocess.Popen(["sleep", "1000"])  # a process in the host's namespace
    subprocess.run(["ip", "netns", "add", foreign], check=True, timeout=30)
    try:
        lab = Lab(plan(lab_id), lab_folder)
        lab.up()
        labstate.write(
            lab_folder,
            LabState(
                lab_id=lab_id,
                namespaces=lab.plan.namespaces,
                veths=(),
                processes=(
                    Process(
                        pid=outsider.pid,
                        start_ticks=reaper.start_ticks(outsider.pid) or 0,
                        namespace=lab.plan.server,
                        argv=("sleep", "1000"),
                    ),
                ),
            ),
        )
        removed, problems = down_recorded(lab_folder, lab_id)
        assert problems == [] and set(removed.namespaces) == set(lab.plan.namespaces)
        assert alive(outsider.pid)  # recorded, but not inside the lab: not ours to kill
        hostile = lab_folder / f"{lab_id}.json"
        hostile.write_bytes(
            b'{"lab_id":"%s","namespaces":["%s"],"veths":[]}' % (lab_id.encode(), foreign.encode())
        )
        removed, problems = down_recorded(lab_folder, lab_id)
        assert len(problems) == 1 and "not of its lab" in problems[0]
        assert foreign in netns_names() and removed.namespaces == ()
    finally:
        outsider.kill()
        outsider.wait(30)
        subprocess.run(["ip", "netns", "delete", foreign], timeout=30, check=False)
        down_recorded(lab_folder, lab_id)
