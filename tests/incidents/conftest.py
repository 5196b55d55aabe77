"""Fixtures of the incident tests: every test taking `database_url` runs on each backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from netvigil.observatory.app import create_app
from tests.incidents.coalition import Coalition
from tests.incidents.databases import BACKENDS, Cluster, cluster

PUBLIC_URL = "https://netvigil.example"


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
    """The observatory app with incidents on `database_url`, and a coalition in it."""
    app = create_app(tmp_path, database=database_url, public_url=PUBLIC_URL)
    with TestClient(app) as client:
        yield Coalition(client)
