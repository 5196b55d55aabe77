"""Tests for netvigil.datadir: where the data folder is, and that it is private."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from netvigil.datadir import DIR_MODE, DataDir, DataDirError, ensure, is_private
from netvigil.datadir import resolve_data_dir as resolve
from tests.geo import tiny_database

FULL_ENV = {
    "NETVIGIL_HOME": "/srv/netvigil",
    "XDG_DATA_HOME": "/home/ana/.data",
    "HOME": "/home/ana",
}


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_option_wins_over_everything() -> None:
    assert resolve(Path("/tmp/here"), FULL_ENV) == Path("/tmp/here")
    # A relative --data-dir is an explicit choice for this run and is kept as given.
    assert resolve(Path("rel"), FULL_ENV) == Path("rel")


def test_precedence_of_the_environment() -> None:
    assert resolve(None, FULL_ENV) == Path("/srv/netvigil")
    no_home = {k: v for k, v in FULL_ENV.items() if k != "NETVIGIL_HOME"}
    assert resolve(None, no_home) == Path("/home/ana/.data/netvigil")
    assert resolve(None, {"HOME": "/home/ana"}) == Path("/home/ana/.local/share/netvigil")


def test_empty_variables_count_as_unset() -> None:
    env = {"NETVIGIL_HOME": "", "XDG_DATA_HOME": "", "HOME": "/home/ana"}
    assert resolve(None, env) == Path("/home/ana/.local/share/netvigil")


def test_relative_xdg_is_ignored_as_the_spec_says() -> None:
    env = {"XDG_DATA_HOME": "relative/data", "HOME": "/home/ana"}
    assert resolve(None, env) == Path("/home/ana/.local/share/netvigil")


def test_relative_netvigil_home_is_an_error_not_a_guess() -> None:
    with pytest.raises(DataDirError, match="NETVIGIL_HOME must be an absolute path"):
        resolve(None, {"NETVIGIL_HOME": "data", "HOME": "/home/ana"})


@pytest.mark.parametrize("env", [{}, {"USER": "ana"}, {"HOME": ""}, {"HOME": "not/absolute"}])
def test_no_home_and_no_xdg_is_an_error(env: dict[str, str]) -> None:
    with pytest.raises(DataDirError) as info:
        resolve(None, env)
    message = str(info.value)
    assert "\n" not in message
    assert "--data-dir" in message and "NETVIGIL_HOME" in message


def test_ensure_creates_a_private_folder_with_its_parents(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "netvigil"
    assert ensure(target) == target
    assert target.is_dir()
    assert _mode(target) == DIR_MODE == 0o700
    assert is_private(target)
    # Idempotent.
    assert ensure(target) == target
    assert _mode(target) == 0o700


def test_ensure_leaves_an_existing_folder_alone(tmp_path: Path) -> None:
    existing = tmp_path / "mine"
    existing.mkdir()
    existing.chmod(0o755)
    assert ensure(existing) == existing
    assert _mode(existing) == 0o755
    assert not is_private(existing)


def test_ensure_refuses_a_file(tmp_path: Path) -> None:
    file = tmp_path / "netvigil"
    file.write_text("not a folder")
    with pytest.raises(DataDirError, match="not a folder"):
        ensure(file)


def test_ensure_reports_an_impossible_folder_in_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DataDirError, match="cannot create data folder") as info:
        ensure(blocker / "netvigil")
    assert "\n" not in str(info.value)


def test_data_dir_names_its_files() -> None:
    """The names are the layout existing folders have on disk: changing one loses data."""
    data = DataDir(root=Path("/d"))
    assert data.consent == Path("/d/consent.json")
    assert data.results == Path("/d/results")
    assert data.config == Path("/d/config.toml")
    assert data.archive == Path("/d/archive")
    assert data.tables == Path("/d/tables/analysis")
    assert data.collector_secret == Path("/d/collector.secret")
    assert data.incidents_database == Path("/d/incidents.sqlite")
    assert data.signing_keys == Path("/d/keys")
    assert data.uploaded == Path("/d/uploaded.jsonl")


def test_the_geoip_database_is_geoip_mmdb_else_the_newest_dated_one(tmp_path: Path) -> None:
    data = DataDir(root=tmp_path)
    assert data.geoip_database() is None
    older = tiny_database(tmp_path / "geoip" / "2024-01-01-ip2country_as.mmdb")
    newer = tiny_database(tmp_path / "geoip" / "2025-06-01-ip2country_as.mmdb")
    assert older != newer and data.geoip_database() == newer
    chosen = tiny_database(tmp_path / "geoip.mmdb")
    assert data.geoip_database() == chosen
