"""A running lab for a test, removed however the test ends (the fixture's finally)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from netvigil.lab.netns import Lab, down_recorded, lab_running
from netvigil.lab.topology import plan
from tests.lab.namespaces import new_id


@pytest.fixture
def lab_folder(tmp_path: Path) -> Iterator[Path]:
    """The state folder of the test's labs; whatever they left is removed afterwards, by
    record and by this run's ids' names (never another run's labs)."""
    folder = tmp_path / "lab"
    try:
        yield folder
    finally:
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            down_recorded(folder, path.stem)


@pytest.fixture
def running(lab_folder: Path) -> Iterator[Lab]:
    lab_id = new_id()
    try:
        with lab_running(plan(lab_id), lab_folder) as lab:
            yield lab
    finally:
        down_recorded(lab_folder, lab_id)  # a no-op when the context manager did its job
