"""The explorer's languages: which one a request gets, and pages in it, right to left for
Persian, with their strings from the catalogue."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from babel.messages.pofile import read_po
from starlette.testclient import TestClient

from netvigil.server import create_app
from netvigil.web import i18n

CATALOGUE = Path(i18n.__file__).parent / "locale/fa/LC_MESSAGES/netvigil.po"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("fa-IR,fa;q=0.9,en;q=0.5", ["fa", "en"]),
        ("en;q=0.4, fa;q=0.8", ["fa", "en"]),
        ("de-DE,de;q=0.9", []),  # no catalogue: nothing from this header
        ("fa;q=0, en", ["en"]),  # q=0: "not this one"
        ("fa;q=2, en;q=x, <script>, " + "x" * 5000, []),  # malformed entries are skipped
        ("", []),
    ],
)
def test_accept_language_is_read_with_its_qualities(header: str, expected: list[str]) -> None:
    assert i18n.accepted(header) == expected


def test_the_switch_wins_over_the_cookie_and_the_cookie_over_the_header() -> None:
    assert i18n.choose("fa", "en", "en") == "fa"
    assert i18n.choose(None, "fa", "en") == "fa"
    assert i18n.choose("xx", None, "fa") == "fa"  # an unknown switch is ignored
    assert i18n.choose(None, None, "") == "en"


def persian() -> dict[str, str]:
    with CATALOGUE.open("rb") as handle:
        catalog = read_po(handle, locale="fa")
    return {str(m.id): str(m.string) for m in catalog if m.id and m.string}


def test_every_string_of_the_catalogue_is_translated() -> None:
    with CATALOGUE.open("rb") as handle:
        catalog = read_po(handle, locale="fa")
    untranslated = [m.id for m in catalog if m.id and not m.string]
    assert untranslated == []
    assert not [m.id for m in catalog if m.id and "fuzzy" in m.flags]


def page(tmp_path: Path, path: str, **headers: str) -> httpx.Response:
    """The page from the app, without its lifespan: no background work is needed."""
    client = TestClient(create_app(tmp_path))
    answer: httpx.Response = client.get(path, headers={"Accept": "text/html", **headers})
    return answer


def test_a_missing_page_is_friendly_and_in_persian_right_to_left(tmp_path: Path) -> None:
    answer = page(tmp_path, "/no/such/page", **{"Accept-Language": "fa"})
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert '<html lang="fa" dir="rtl">' in answer.text
    strings = persian()
    assert strings["Not found"] in answer.text and "Not found" not in answer.text
    assert strings["Skip to content"] in answer.text


def test_the_switch_sets_a_cookie_and_keeps_the_query(tmp_path: Path) -> None:
    answer = page(tmp_path, "/nowhere?x=1&lang=fa")
    assert answer.cookies.get("lang") == "fa"
    assert 'href="/nowhere?x=1&amp;lang=en"' in answer.text
    english = page(tmp_path, "/nowhere", **{"Accept-Language": "de, en;q=0.5"})
    assert '<html lang="en" dir="ltr">' in english.text and "Not found" in english.text


def test_the_api_still_answers_json_for_unknown_paths(tmp_path: Path) -> None:
    answer = page(tmp_path, "/api/v1/nothing")
    assert answer.status_code == 404 and answer.json() == {"error": "no such path: /api/v1/nothing"}


def test_the_catalogue_holds_exactly_the_strings_the_templates_and_modules_use(
    tmp_path: Path,
) -> None:
    """pybabel's extraction (scripts/messages, babel.cfg) over web/ now gives exactly the
    Persian catalogue's strings: none missing (English would show in a Persian page), none
    left over."""
    root = Path(__file__).resolve().parents[2]
    template = tmp_path / "now.pot"
    extract = [
        *(sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg"),
        *("--no-location", "-o", str(template), "src/netvigil/web"),
    ]
    subprocess.run(extract, cwd=root, check=True, capture_output=True)
    with template.open("rb") as handle:
        used = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
    with CATALOGUE.open("rb") as handle:
        held = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
    assert sorted(used - held) == [] and sorted(held - used) == []


def test_a_shared_link_with_tracking_parameters_opens(tmp_path: Path) -> None:
    """Social networks add fbclid or utm_* to a shared link: the page drops them (and keeps
    the rest, non-ASCII included); a parameter the page does not know is still refused."""
    client = TestClient(create_app(tmp_path))
    tracked = client.get("/search?q=%D8%A7%DB%8C%D8%B1%D8%A7%D9%86&fbclid=x&utm_source=t")
    plain = client.get("/search?q=%D8%A7%DB%8C%D8%B1%D8%A7%D9%86")
    assert (tracked.status_code, tracked.text) == (plain.status_code, plain.text)
    assert client.get("/events?utm_medium=social").status_code == 200
    assert client.get("/events?color=red").status_code == 400
