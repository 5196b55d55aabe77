"""The country page's "What works here now": each status in words, never "works" without an
ok, by network when there are several, each with its witness measurement."""

from __future__ import annotations

import re
from pathlib import Path

from starlette.testclient import TestClient

from netvigil.server import create_app
from tests.observatory.works_rows import IRANCELL, MCI, NOW, tables

WORDS = {
    "works": "works",
    "blocked": "blocked",
    "mixed": "mixed results: access and interference both, or traffic altered",
    "no recent evidence": "no recent evidence",
}
# test_name -> status at NOW, by hand from works_rows.ROWS (the query's own test agrees).
STATUSES = {
    "signal": "works",
    "telegram": "mixed",
    "whatsapp": "blocked",
    "facebook_messenger": "no recent evidence",
    "tor": "no recent evidence",
    "vanilla_tor": "blocked",
    "torsf": "works",
    "psiphon": "mixed",
    "riseupvpn": "no recent evidence",
    "openvpn": "mixed",
    "stunreachability": "no recent evidence",
}
ROW = re.compile(
    r'<tr data-test="(?P<test>[a-z_]+)" data-status="(?P<status>[a-z ]+)">(?P<cells>.*?)</tr>',
    re.S,
)


def _page(tmp_path: Path, path: str = "/country/IR") -> str:
    tables(tmp_path)
    client = TestClient(create_app(tmp_path, now=lambda: NOW))
    response = client.get(path, headers={"Accept": "text/html"})
    assert response.status_code == 200
    return str(response.text)


def _section(html: str) -> str:
    start = html.index('<h2 id="works-here">')
    return html[start : html.index("</section>", start)]


def test_each_app_and_tool_reads_its_status_in_words(tmp_path: Path) -> None:
    section = _section(_page(tmp_path))
    first_table = section[: section.index("</table>")]
    rows = {m["test"]: m for m in ROW.finditer(first_table)}
    mismatches = [
        f"{test}: {rows[test]['status'] if test in rows else 'missing'}, expected {status}"
        for test, status in STATUSES.items()
        if test not in rows or rows[test]["status"] != status
    ]
    assert not mismatches, "\n".join(mismatches)
    for test, status in STATUSES.items():
        cells = re.sub(r"\s+", " ", rows[test]["cells"])
        assert f"<td>{WORDS[status]}</td>" in cells, (test, cells)
    # The witness of Snowflake's "works" is its ok measurement, linked.
    assert 'href="/measurement/sf-1"' in rows["torsf"]["cells"]
    assert 'href="/measurement/wa-2"' in rows["whatsapp"]["cells"]
    assert "/measurement/" not in rows["riseupvpn"]["cells"]  # no witness of anything


def test_works_is_never_shown_without_an_ok_measurement(tmp_path: Path) -> None:
    section = _section(_page(tmp_path))
    for row in ROW.finditer(section):
        if row["status"] == "works":
            assert "showed access" in row["cells"], row["test"]
            assert "showed blocking" not in row["cells"], row["test"]
            assert "altered in transit" not in row["cells"], row["test"]


def test_a_country_of_several_networks_shows_each(tmp_path: Path) -> None:
    section = _section(_page(tmp_path))
    assert "By network" in section
    assert f'href="/network/AS{IRANCELL}"' in section and f'href="/network/AS{MCI}"' in section
    tables_ = section.split("<table")[1:]
    assert len(tables_) == 3  # the country's, then one per network
    mci = {m["test"]: m["status"] for m in ROW.finditer(tables_[2])}
    assert mci == {"signal": "no recent evidence", "telegram": "works"}
    assert 'href="/api/v1/works_here?probe_cc=IR"' in section


def test_a_country_without_apps_measured_says_so(tmp_path: Path) -> None:
    section = _section(_page(tmp_path, "/country/UG"))
    assert "No app or circumvention tool was measured here in the last day." in section
    assert "<table" not in section


def test_the_network_page_shows_what_works_on_it(tmp_path: Path) -> None:
    section = _section(_page(tmp_path, f"/network/AS{MCI}"))
    assert {m["test"]: m["status"] for m in ROW.finditer(section) if "none" not in m["cells"]} == {
        "signal": "no recent evidence",
        "telegram": "works",
    }
    assert "By network" not in section
    assert f'href="/api/v1/works_here?probe_cc=IR&amp;probe_asn={MCI}"' in section
