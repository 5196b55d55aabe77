"""`scripts/test`, the README's test command: what it does before any test runs.

Run by someone who is not root on a machine lacking a package the tests need, it must stop
at once with one line naming the apt-get command, and run nothing. The check runs the real
script under an unprivileged user (`setpriv` when the suite runs as root, as CI does) against
a package list holding one package every Debian system has and one that exists nowhere.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOBODY = 65534
ABSENT = "netvigil-test-no-such-package"


@pytest.fixture
def checkout() -> Iterator[Path]:
    """A copy of the script beside a package list of our own, readable by an unprivileged user."""
    # Not tmp_path: pytest's base folder is private to the user running the suite.
    folder = Path(tempfile.mkdtemp(prefix="netvigil-scripts-"))
    try:
        (folder / "scripts").mkdir()
        shutil.copy2(ROOT / "scripts" / "test", folder / "scripts" / "test")
        (folder / "scripts" / "system-packages.txt").write_text(
            f"# comments and blank lines are not packages\n\nbash   # every Debian has it\n"
            f"{ABSENT}  # a package that exists nowhere\n"
        )
        for path in [folder, *folder.rglob("*")]:
            path.chmod(0o755)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _unprivileged(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed to run the script as an unprivileged user"
    return [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *command]


def test_the_readme_test_command_is_what_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    first_block = readme.split("```sh\n", 1)[1].split("```", 1)[0].splitlines()
    assert len(first_block) == 2, "the README starts with two commands: serve, test"
    assert first_block[1] in (ROOT / ".ci" / "run").read_text().splitlines()
    assert os.access(ROOT / "scripts" / "test", os.X_OK)


def test_without_the_system_packages_a_user_is_told_what_to_install(checkout: Path) -> None:
    done = subprocess.run(
        _unprivileged(["scripts/test", "tests/test_scripts.py"]),
        cwd=checkout,
        env={"PATH": "/usr/bin:/bin", "HOME": str(checkout), "LANG": "C.UTF-8"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    command = line.split("as root run: ", 1)[1].split()
    assert command[:2] == ["apt-get", "install"]
    assert [word for word in command[2:] if not word.startswith("-")] == [ABSENT]
    assert not (checkout / ".venv").exists(), "it went on after finding a package missing"
