"""Login limiting: guesses bounded per account in the database, device cookies for members.

The unit tests move a clock; the server test counts answers of a real `netvigil serve`
(50 parallel wrong guesses, then a restart), never durations.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from netvigil.incidents import accounts, db, logins
from netvigil.incidents.db import open_database
from tests.incidents.world import Clock
from tests.observatory.running import wait_ready
from tests.probe.world import free_port

PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def member(engine: sa.Engine, name: str) -> str:
    now = Clock()()
    org = accounts.create_org(engine, f"Org of {name}", actor="op", now=now)
    return accounts.create_member(
        engine, org, name, "member", password=PASSWORD, actor="op", now=now
    )


def test_guesses_are_counted_in_the_database_until_the_window_ends(database_url: str) -> None:
    clock, engine = Clock(), open_database(database_url)
    member(engine, "maryam")
    for _ in range(logins.ATTEMPTS):
        assert logins.attempt(engine, "maryam", "guess", "", clock()).status == "wrong"
    assert logins.attempt(engine, "maryam", PASSWORD, "", clock()).status == "throttled"
    assert logins.attempt(engine, "MARYAM", "guess", "", clock()).status == "throttled"
    engine.dispose()
    again = open_database(database_url)  # a restart: the count is in the database
    assert logins.attempt(again, "maryam", PASSWORD, "", clock()).status == "throttled"
    clock.advance(minutes=14, seconds=59)
    assert logins.attempt(again, "maryam", PASSWORD, "", clock()).status == "throttled"
    clock.advance(seconds=1)
    assert logins.attempt(again, "maryam", PASSWORD, "", clock()).status == "ok"
    # A name that does not exist is limited the same way, and is not stored as typed.
    for _ in range(logins.ATTEMPTS + 1):
        logins.attempt(again, "nobody-by-this-name", "guess", "", clock())
    with again.connect() as connection:
        keys = [r.key for r in connection.execute(sa.select(db.login_limits))]
    assert len(keys) == 1 and all("nobody" not in k for k in keys)
    assert logins.attempt(again, "nobody-by-this-name", "x", "", clock()).status == "throttled"


def test_a_member_with_a_device_cookie_is_not_locked_out_by_strangers(database_url: str) -> None:
    clock, engine = Clock(), open_database(database_url)
    member(engine, "maryam")
    member(engine, "omid")
    first = logins.attempt(engine, "maryam", PASSWORD, "", clock())
    assert first.status == "ok" and first.device
    for _ in range(3 * logins.ATTEMPTS):  # strangers, without the cookie
        logins.attempt(engine, "maryam", "guess", "", clock())
    assert logins.attempt(engine, "maryam", PASSWORD, "", clock()).status == "throttled"
    again = logins.attempt(engine, "maryam", PASSWORD, first.device, clock())
    assert again.status == "ok" and again.device == first.device
    # The cookie is maryam's: for another name it is no cookie at all.
    for _ in range(logins.ATTEMPTS):
        logins.attempt(engine, "omid", "guess", first.device, clock())
    assert logins.attempt(engine, "omid", PASSWORD, first.device, clock()).status == "throttled"
    # The cookie has an allowance of its own, not an unlimited one.
    for _ in range(logins.ATTEMPTS):
        assert logins.attempt(engine, "maryam", "guess", first.device, clock()).status == "wrong"
    assert logins.attempt(engine, "maryam", PASSWORD, first.device, clock()).status == ("throttled")


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[tuple[str, Callable[[], None]]]:
    """`netvigil serve` on loopback with one member; (url, the command to start it again)."""
    engine = open_database(database_url)
    member(engine, "maryam")
    engine.dispose()
    port = free_port()
    command = [sys.executable, "-m", "netvigil", "serve", "--port", str(port)]
    command += ["--data-dir", str(tmp_path / "data"), "--database", database_url]
    running = [subprocess.Popen(command, stdin=subprocess.DEVNULL)]

    def restart() -> None:
        running[0].terminate()
        running[0].wait(30)
        running[0] = subprocess.Popen(command, stdin=subprocess.DEVNULL)
        wait_ready(f"http://127.0.0.1:{port}", 60)

    wait_ready(f"http://127.0.0.1:{port}", 60)
    yield f"http://127.0.0.1:{port}", restart
    running[0].terminate()
    running[0].wait(30)


def browser(url: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=url, timeout=60)
    return client, form_token(client)


def form_token(client: httpx.Client) -> str:
    """The login form's CSRF token (double-submit: its cookie is set at the same time)."""
    token = CSRF.search(client.get("/login").text)
    assert token is not None
    return token.group(1)


def log_in(client: httpx.Client, csrf: str, password: str) -> int:
    form = {"csrf": csrf, "name": "maryam", "password": password}
    return client.post("/login", data=form, follow_redirects=False).status_code


def test_fifty_parallel_guesses_get_five_tries_and_a_restart_keeps_the_count(
    server: tuple[str, Callable[[], None]],
) -> None:
    url, restart = server
    hers, token = browser(url)
    assert log_in(hers, token, PASSWORD) == 303  # she has logged in from this browser before
    hers.cookies.delete("netvigil_session")
    stranger, token = browser(url)
    with ThreadPoolExecutor(50) as pool:
        answers = Counter(pool.map(lambda _: log_in(stranger, token, "guess"), range(50)))
    assert answers == {401: logins.ATTEMPTS, 429: 50 - logins.ATTEMPTS}
    restart()
    fresh, token = browser(url)
    assert log_in(fresh, token, PASSWORD) == 429  # a new browser waits, even with her password
    assert log_in(hers, form_token(hers), PASSWORD) == 303  # hers does not
