"""`netvigil th serve`: a bad geoip database is one line, before anything listens."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from netvigil.cli import app


def test_a_bad_geoip_database_is_one_line(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.mmdb"
    garbage.write_bytes(b"not a database")
    result = CliRunner().invoke(app, ["th", "serve", "--port", "1", "--geoip-db", str(garbage)])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --geoip-db: cannot read garbage.mmdb")
