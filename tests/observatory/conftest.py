"""One live `netvigil serve --demo` shared by the black-box tests of this folder (schemathesis,
hostile input, the home page): starting one loads the sample, so they share it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.observatory.live import Live, live_server


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    with live_server(tmp_path_factory.mktemp("live")) as server:
        yield server
