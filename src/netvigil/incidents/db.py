"""The incident store's tables (SQLAlchemy Core) and how a database is opened and migrated.

SQLite in the data folder is the embedded default; PostgreSQL serves deployments
(`--database postgresql+psycopg://...` or `NETVIGIL_DATABASE_URL`). The schema is created and
upgraded by Alembic migrations shipped in the package (`incidents/migrations`), run on every
open, so an instance upgraded in place migrates itself; a test checks that the migrated
schema equals these table definitions.

A revision's full signed JSON is stored as text (`revisions.body`): it is the record, and
what is signed must come back byte for byte. The `incidents` row repeats what access checks
and lists need (author, level, recipients, group, status, publication state, times).
"""

from __future__ import annotations

import os
from pathlib import Path

import alembic.util.exc
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from netvigil.datadir import DataDir

metadata = sa.MetaData()
Stamp = sa.DateTime(timezone=True)

orgs = sa.Table(
    "orgs",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("created_at", Stamp, nullable=False),
)
members = sa.Table(
    "members",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("org_id", sa.String(36), sa.ForeignKey("orgs.id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("password_hash", sa.String(300)),
    sa.Column("created_at", Stamp, nullable=False),
)
api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.String(16), primary_key=True),  # the key's public prefix
    sa.Column("member_id", sa.String(36), sa.ForeignKey("members.id"), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("scopes", sa.String(100), nullable=False),
    sa.Column("expires_at", Stamp, nullable=False),
    sa.Column("revoked", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", Stamp, nullable=False),
)
sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("hash", sa.String(64), primary_key=True),
    sa.Column("member_id", sa.String(36), sa.ForeignKey("members.id"), nullable=False),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("expires_at", Stamp, nullable=False),
)
sharing_groups = sa.Table(
    "sharing_groups",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("created_at", Stamp, nullable=False),
)
group_orgs = sa.Table(
    "group_orgs",
    metadata,
    sa.Column("group_id", sa.String(36), sa.ForeignKey("sharing_groups.id"), primary_key=True),
    sa.Column("org_id", sa.String(36), sa.ForeignKey("orgs.id"), primary_key=True),
)
incidents = sa.Table(
    "incidents",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("author_org", sa.String(36), sa.ForeignKey("orgs.id"), nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("visibility", sa.String(20), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("publication", sa.String(20), nullable=False),  # none | requested | approved
    sa.Column("requested_by", sa.String(36)),
    sa.Column("recipients", sa.Text, nullable=False),  # JSON list of org ids
    sa.Column("sharing_group", sa.String(36)),
    sa.Column("embargo_until", Stamp),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("updated_at", Stamp, nullable=False),
)
revisions = sa.Table(
    "revisions",
    metadata,
    sa.Column("incident_id", sa.String(36), sa.ForeignKey("incidents.id"), primary_key=True),
    sa.Column("revision", sa.Integer, primary_key=True),
    sa.Column("visibility", sa.String(20), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("created_at", Stamp, nullable=False),
)
audit = sa.Table(
    "audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", Stamp, nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("object_type", sa.String(20), nullable=False),
    sa.Column("object_id", sa.String(64), nullable=False),
    sa.Column("org_id", sa.String(36)),  # the organisation the object belongs to
    sa.Column("before_hash", sa.String(64)),
    sa.Column("after_hash", sa.String(64)),
)
subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("member_id", sa.String(36), sa.ForeignKey("members.id"), nullable=False),
    sa.Column("url", sa.String(2000), nullable=False),
    sa.Column("secret", sa.String(100), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", Stamp, nullable=False),
)
outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("webhook_id", sa.String(64), nullable=False, unique=True),
    sa.Column("subscription_id", sa.String(36), sa.ForeignKey("subscriptions.id"), nullable=False),
    sa.Column("incident_id", sa.String(36), nullable=False),
    sa.Column("event", sa.String(40), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", Stamp, nullable=False),
    sa.Column("delivered_at", Stamp),
    sa.Column("last_error", sa.String(300)),
    sa.Column("created_at", Stamp, nullable=False),
)
feeds = sa.Table(
    "feeds",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("member_id", sa.String(36), sa.ForeignKey("members.id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("filter", sa.Text, nullable=False),  # JSON: the saved filter
    sa.Column("created_at", Stamp, nullable=False),
)

# Login limiting (logins.py): a counter per account (sha256 of the name as typed) or per
# device cookie; no client address, ever.
login_limits = sa.Table(
    "login_limits",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("window_start", Stamp, nullable=False, index=True),
)
devices = sa.Table(
    "devices",
    metadata,
    sa.Column("hash", sa.String(64), primary_key=True),  # sha256 of the device cookie
    sa.Column("member_id", sa.String(36), sa.ForeignKey("members.id"), nullable=False),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("expires_at", Stamp, nullable=False),
)

MIGRATIONS = Path(__file__).with_name("migrations")

# What opening a database can raise for a reason the operator can fix: a URL SQLAlchemy cannot
# parse or whose dialect it does not know, a driver that is not installed, a server that does
# not answer, a file that is not a database, a database at a revision this version does not
# know. Anything else is a bug and propagates.
OPEN_ERRORS: tuple[type[Exception], ...] = (
    sa.exc.SQLAlchemyError,
    ImportError,
    alembic.util.exc.CommandError,
)


def database_url(data_dir: Path, given: str | None = None) -> str:
    """`given`, else $NETVIGIL_DATABASE_URL, else SQLite in the data folder."""
    return (
        given
        or os.environ.get("NETVIGIL_DATABASE_URL")
        or (f"sqlite:///{DataDir(root=data_dir).incidents_database}")
    )


def open_database(url: str) -> sa.Engine:
    """Connect and migrate to the newest schema."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(connection: object, _: object) -> None:
            cursor = connection.cursor()  # type: ignore[attr-defined]
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.close()
    else:
        engine = sa.create_engine(url, pool_pre_ping=True)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return engine
