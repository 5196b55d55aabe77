"""Fixtures shared by the test folders.

Every test taking `database_url` runs on each incident database backend (SQLite, and
PostgreSQL in a throwaway cluster). `live` is one `netvigil serve --demo` shared by the
black-box tests (schemathesis, hostile input, the home page): starting one loads the sample,
so they share it. Every test runs under tests/netguard.py: a socket of this process that
would reach past loopback raises instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import netguard
from tests.incidents.coalition import Coalition, coalition_on
from tests.incidents.databases import BACKENDS, Cluster, cluster
from tests.observatory.live import Live, live_server

netguard.install()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", BACKENDS, scope="session")


@pytest.fixture(scope="session")
def postgres() -> Iterator[Cluster]:
    yield from cluster()


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'incidents.sqlite'}"
    server: Cluster = request.getfixturevalue("postgres")
    return server.database()


@pytest.fixture
def coalition(database_url: str, tmp_path: Path) -> Iterator[Coalition]:
    """The incident routes alone on `database_url`, and a coalition in it (coalition.py)."""
    with coalition_on(database_url, tmp_path) as found:
        yield found


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    with live_server(tmp_path_factory.mktemp("live")) as server:
        yield server
