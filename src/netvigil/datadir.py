"""The data folder: where a probe keeps its state, and an observatory its data.

A probe's folder holds its consent, its results awaiting upload and its configuration; an
observatory's its archive, analysis table, collector secret, incident database and GeoIP
database. `DataDir` names each, so that no caller spells a path inside the folder.

The folder belongs to a person who may be at risk (reliability.md §1): it records that they
agreed to measure censorship and which sites they measured from their network. So we create it
private to its owner (mode 0o700) and never guess its location from anything but the
environment we are given.

Precedence, first found wins:

1. the ``--data-dir`` option;
2. ``NETVIGIL_HOME``;
3. ``$XDG_DATA_HOME/netvigil`` (XDG Base Directory Specification: user data files);
4. ``$HOME/.local/share/netvigil`` (the specification's default for ``XDG_DATA_HOME``).

The environment is a parameter (not ``os.environ``) so that callers and tests decide what the
world looks like; nothing here reads the process environment or the password database.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Final

import msgspec

# Owner only: the folder holds the consent record and the results of a person at risk.
DIR_MODE: Final = 0o700
_APP: Final = "netvigil"


class DataDirError(ValueError):
    """No usable data folder; the message is one line saying what to set."""


def _absolute(environ: Mapping[str, str], name: str) -> Path | None:
    """The variable as an absolute path, or None when unset, empty or relative.

    The XDG specification says a relative path in its variables is invalid and must be ignored;
    we apply the same rule to HOME, since a relative home would move with the working directory
    and the consent given yesterday would silently vanish.
    """
    value = environ.get(name, "")
    if not value:
        return None
    path = Path(value)
    return path if path.is_absolute() else None


def resolve_data_dir(option: Path | None, environ: Mapping[str, str]) -> Path:
    """The data folder, by the precedence in the module docstring. It is not created here."""
    if option is not None:
        # An explicit per-run choice: used as given, relative paths included.
        return option
    home_value = environ.get("NETVIGIL_HOME", "")
    if home_value:
        # Our own variable: a relative value is a mistake we report rather than ignore, because
        # ignoring it would put the person's data somewhere they did not choose.
        if not Path(home_value).is_absolute():
            raise DataDirError(f"NETVIGIL_HOME must be an absolute path, not {home_value!r}")
        return Path(home_value)
    xdg = _absolute(environ, "XDG_DATA_HOME")
    if xdg is not None:
        return xdg / _APP
    home = _absolute(environ, "HOME")
    if home is not None:
        return home / ".local" / "share" / _APP
    raise DataDirError(
        "cannot find a data folder: pass --data-dir or set NETVIGIL_HOME, XDG_DATA_HOME or HOME"
        " to an absolute path"
    )


def ensure(path: Path) -> Path:
    """Create the folder (and missing parents) if needed, private to its owner; return it.

    A folder we create gets exactly 0o700: ``mkdir``'s mode is filtered by the umask, so we set
    it again afterwards (a umask can only remove bits, but an odd one such as 0o277 would leave
    the owner unable to write). A folder that already exists keeps its permissions: it was
    chosen by the user (``--data-dir``, ``NETVIGIL_HOME``) and may be their own, so tightening
    it behind their back could break other things. Parents get the default mode, as for any
    ``~/.local/share``.
    """
    if path.is_dir():
        return path
    if path.exists():
        raise DataDirError(f"data folder {path} exists but is not a folder")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir(mode=DIR_MODE)
        os.chmod(path, DIR_MODE)
    except FileExistsError:
        if path.is_dir():  # created concurrently by another probe process
            return path
        raise DataDirError(f"cannot create data folder {path}: a file is in the way") from None
    except OSError as exc:
        raise DataDirError(f"cannot create data folder {path}: {exc.strerror or exc}") from None
    return path


def is_private(path: Path) -> bool:
    """True if no one but the owner can read, write or enter ``path`` (for a warning)."""
    mode = stat.S_IMODE(path.stat().st_mode)
    return mode & 0o077 == 0


class DataDir(msgspec.Struct, frozen=True, kw_only=True):
    """The files inside the data folder; a name for each, so that no caller spells a path.

    Inside `tables/` the observatory keeps its own bookkeeping beside the table (the lock
    files of observatory/tables.py, the pipeline's read position): that is the table's
    business, derived from `tables` where it is used.
    """

    root: Path

    @property
    def consent(self) -> Path:
        """The consent record (JSON; see :mod:`netvigil.probe.consent`)."""
        return self.root / "consent.json"

    @property
    def results(self) -> Path:
        """Folder of measurement results, one JSON object per line (``*.jsonl``)."""
        return self.root / "results"

    @property
    def uploaded(self) -> Path:
        """What the probe has uploaded: content key and the collector's uid, one per line."""
        return self.root / "uploaded.jsonl"

    @property
    def pseudonym_secret(self) -> Path:
        """The probe's random secret its daily heartbeat pseudonyms are derived from."""
        return self.root / "pseudonym.secret"

    @property
    def local_checks(self) -> Path:
        """What the probe saw while it could not reach its server, one check per line."""
        return self.root / "local-checks.jsonl"

    @property
    def local_checks_uploaded(self) -> Path:
        """How many lines of `local_checks` the server has acknowledged (one number)."""
        return self.root / "local-checks.uploaded"

    @property
    def heartbeats(self) -> Path:
        """The observatory's heartbeat counts per network and minute (SQLite)."""
        return self.root / "heartbeats.sqlite"

    @property
    def config(self) -> Path:
        """Optional user settings (TOML)."""
        return self.root / "config.toml"

    @property
    def archive(self) -> Path:
        """The observatory's raw archive: what the collector received (segment files)."""
        return self.root / "archive"

    @property
    def tables(self) -> Path:
        """The analysis table, one row per measurement (hive-partitioned Parquet files)."""
        return self.root / "tables" / "analysis"

    @property
    def ooni_verdicts(self) -> Path:
        """OONI's own verdicts (its fastpath's rows; one Parquet file), apart from the analysis
        table: they are OONI's, never ours (observatory/ooni_verdicts.py)."""
        return self.root / "tables" / "ooni-verdicts.parquet"

    @property
    def series(self) -> Path:
        """Signals from outside (CSV files in detection's format: entity,signal,time,value;
        detect/series.py), kept so the explorer draws an event over the series it came
        from (the demo's Monash pings)."""
        return self.root / "series"

    @property
    def collector_secret(self) -> Path:
        """The key of the collector's report ids (their HMAC tag)."""
        return self.root / "collector.secret"

    @property
    def signing_keys(self) -> Path:
        """The incident instance's signing key and the public keys it ever had."""
        return self.root / "keys"

    @property
    def incidents_database(self) -> Path:
        """The incident database when no other is configured (SQLite)."""
        return self.root / "incidents.sqlite"

    @property
    def events(self) -> Path:
        """The detector's current events, when each was first seen and last changed (SQLite)."""
        return self.root / "events.sqlite"

    @property
    def demo(self) -> Path:
        """There when `serve --demo` loaded its fixed sample here (cli/demo_data.py): what
        works in a place is then told as of its newest measurement, never as of today
        (observatory/works_here.py)."""
        return self.root / "demo"

    @property
    def lab(self) -> Path:
        """What each lab running on this machine made, one state file per lab
        (lab/labstate.py), so that `netvigil lab down` removes it after any crash."""
        return self.root / "lab"

    def geoip_database(self) -> Path | None:
        """The folder's MaxMind-format database, if any: `geoip.mmdb`, else the newest of
        `geoip/*.mmdb`. OONI publishes dated files (`YYYY-MM-DD-ip2country_as.mmdb`), so the
        last name in sort order is the newest, and a new one can be dropped in beside the old."""
        single = self.root / "geoip.mmdb"
        if single.is_file():
            return single
        found = sorted((self.root / "geoip").glob("*.mmdb"))
        return found[-1] if found else None
