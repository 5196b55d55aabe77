"""The databases the incident tests run on: SQLite always, PostgreSQL with NETVIGIL_TEST_PG=1.

PostgreSQL is a throwaway cluster in a temporary folder, listening on a Unix socket only
(no TCP port, so nothing leaves the machine), started once per test session; each test gets
a database of its own. With NETVIGIL_TEST_PG=1 and no PostgreSQL installed the tests fail:
CI installs it, and a missing server must not pass as "skipped".
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg

WANTED = os.environ.get("NETVIGIL_TEST_PG") == "1"
BACKENDS = ["sqlite", "postgresql"] if WANTED else ["sqlite"]


def _binaries() -> Path:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not versions:
        raise RuntimeError("NETVIGIL_TEST_PG=1 but PostgreSQL is not installed (initdb)")
    return versions[-1].parent


def _as_postgres(command: list[str]) -> list[str]:
    # initdb refuses to run as root; CI runs as root, so use the package's postgres user.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class Cluster:
    def __init__(self) -> None:
        self.bin = _binaries()
        self.folder = Path(tempfile.mkdtemp(prefix="netvigil-pg-"))
        self.socket = self.folder / "socket"
        self.socket.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
            shutil.chown(self.socket, "postgres")
        self.data = self.folder / "data"
        run = _as_postgres
        subprocess.run(
            run([str(self.bin / "initdb"), "-A", "trust", "-U", "postgres", "-D", str(self.data)]),
            check=True,
            capture_output=True,
        )
        options = f"-c listen_addresses='' -k {self.socket} -c fsync=off"
        log = str(self.folder / "server.log")  # the server must not hold our pipes open
        subprocess.run(
            run(
                [
                    str(self.bin / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-o",
                    options,
                    "-l",
                    log,
                    "-w",
                    "start",
                ]
            ),
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def database(self) -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(
            host=str(self.socket), user="postgres", dbname="postgres", autocommit=True
        ) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@/{name}?host={self.socket}"

    def stop(self) -> None:
        subprocess.run(
            _as_postgres(
                [str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]
            ),
            capture_output=True,
        )
        shutil.rmtree(self.folder, ignore_errors=True)


def cluster() -> Iterator[Cluster]:
    running = Cluster()
    try:
        yield running
    finally:
        running.stop()
