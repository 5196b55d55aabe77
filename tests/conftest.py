"""Fixtures shared by the test folders.

Every test taking `database_url` runs on each incident database backend (SQLite, and
PostgreSQL in a throwaway cluster). `live` is one `netvigil serve --demo` shared by the
black-box tests (schemathesis, hostile input, the home page): starting one loads the sample,
so they share it. Tests marked `lab` need root and `ip` (tests/lab/namespaces.py). Every
test runs under tests/netguard.py: a socket of this process that would reach past loopback
raises instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import netguard
from tests.incidents.coalition import Coalition, coalition_on
from tests.incidents.databases import BACKENDS, Cluster, cluster
from tests.lab.namespaces import lab_prerequisites_missing
from tests.observatory.live import Live, live_server

netguard.install()


def pytest_runtest_setup(item: pytest.Item) -> None:
    """`lab` tests make network namespaces: without root or `ip` they are skipped, saying
    why, unless NETVIGIL_LAB_REQUIRED=1 (scripts/test as root, CI), where that is a failure:
    a lab suite that silently skips proves nothing."""
    if item.get_closest_marker("lab") is None:
        return
    missing = lab_prerequisites_missing()
    if missing is None:
        return
    if os.environ.get("NETVIGIL_LAB_REQUIRED") == "1":
        pytest.fail(f"NETVIGIL_LAB_REQUIRED=1 but {missing}", pytrace=False)
    pytest.skip(f"lab test: {missing}")


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
