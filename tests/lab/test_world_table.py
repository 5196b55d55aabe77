"""What the lab's servers serve, read from the scenario table (no root, nothing listens)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from netvigil.lab.scenarios import load_table
from netvigil.lab.world_servers import body_of, certified, zone_of


def test_the_zone_has_every_published_site_and_no_other_name() -> None:
    table = load_table()
    zone = zone_of(table)
    assert zone["www.lab.test"].addresses == ("10.77.2.10",)
    assert zone["b-api.facebook.com"].addresses == ("10.77.2.60",)  # a `real_name`
    assert "ghost.lab.test" not in zone  # published = false: NXDOMAIN
    assert "gone.lab.test" not in zone  # no address at all
    published = {n for n, s in table.sites.items() if s.published and s.address is not None}
    assert set(zone) == published


def test_the_certificate_covers_published_sites_only() -> None:
    table = load_table()
    names = certified(table)
    assert "www.lab.test" in names and "10.77.2.10" in names
    assert "th.lab.test" in names  # the helper's HTTPS uses the same certificate
    # A name that exists nowhere has no valid certificate: the ghost site's would vouch
    # for the censor's forged answer.
    assert "ghost.lab.test" not in names and "10.77.2.23" not in names
    assert "sinkhole.lab.test" not in names


def test_a_page_has_its_title_and_the_tables_size() -> None:
    table = load_table()
    news = table.sites["news.lab.test"]
    body = body_of("news.lab.test", news)
    assert len(body) == news.bytes
    assert b"<title>Independent news</title>" in body
    large = table.sites["largefile.lab.test"]
    assert len(body_of("largefile.lab.test", large)) == large.bytes == 4_194_304


def test_a_bad_table_is_one_line_and_status_2(tmp_path: Path) -> None:
    bad = tmp_path / "scenarios.toml"
    bad.write_text("[lab\n")
    argv = ["--table", str(bad), "--folder", str(tmp_path / "world")]
    done = subprocess.run(
        [sys.executable, "-m", "netvigil.cli.lab_serve", *argv],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("lab serve: scenarios.toml: not TOML")
    assert len(done.stderr.splitlines()) == 1
    assert not (tmp_path / "world").exists()  # nothing made for a table that cannot run
