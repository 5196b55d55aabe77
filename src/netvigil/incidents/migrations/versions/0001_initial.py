"""The first schema: organisations, members, keys, sessions, groups, incidents and their
revisions, the audit log, webhook subscriptions and their outbox, saved feeds.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Stamp = sa.DateTime(timezone=True)


def _id(length: int = 36) -> sa.Column[str]:
    return sa.Column("id", sa.String(length), primary_key=True)


def _ref(name: str, target: str, *, key: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(36), sa.ForeignKey(target), primary_key=key, nullable=False)


def upgrade() -> None:
    op.create_table(
        "orgs",
        _id(),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("created_at", Stamp, nullable=False),
    )
    op.create_table(
        "members",
        _id(),
        _ref("org_id", "orgs.id"),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("password_hash", sa.String(300)),
        sa.Column("created_at", Stamp, nullable=False),
    )
    op.create_table(
        "api_keys",
        _id(16),
        _ref("member_id", "members.id"),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("scopes", sa.String(100), nullable=False),
        sa.Column("expires_at", Stamp, nullable=False),
        sa.Column("revoked", sa.Boolean, nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
    )
    op.create_table(
        "sessions",
        sa.Column("hash", sa.String(64), primary_key=True),
        _ref("member_id", "members.id"),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("expires_at", Stamp, nullable=False),
    )
    op.create_table(
        "sharing_groups",
        _id(),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("created_at", Stamp, nullable=False),
    )
    op.create_table(
        "group_orgs",
        _ref("group_id", "sharing_groups.id", key=True),
        _ref("org_id", "orgs.id", key=True),
    )
    op.create_table(
        "incidents",
        _id(),
        _ref("author_org", "orgs.id"),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("visibility", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("publication", sa.String(20), nullable=False),
        sa.Column("requested_by", sa.String(36)),
        sa.Column("recipients", sa.Text, nullable=False),
        sa.Column("sharing_group", sa.String(36)),
        sa.Column("embargo_until", Stamp),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
    )
    op.create_table(
        "revisions",
        _ref("incident_id", "incidents.id", key=True),
        sa.Column("revision", sa.Integer, primary_key=True),
        sa.Column("visibility", sa.String(20), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
    )
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", Stamp, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("object_type", sa.String(20), nullable=False),
        sa.Column("object_id", sa.String(64), nullable=False),
        sa.Column("org_id", sa.String(36)),
        sa.Column("before_hash", sa.String(64)),
        sa.Column("after_hash", sa.String(64)),
    )
    op.create_table(
        "subscriptions",
        _id(),
        _ref("member_id", "members.id"),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("secret", sa.String(100), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("webhook_id", sa.String(64), nullable=False, unique=True),
        _ref("subscription_id", "subscriptions.id"),
        sa.Column("incident_id", sa.String(36), nullable=False),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", Stamp, nullable=False),
        sa.Column("delivered_at", Stamp),
        sa.Column("last_error", sa.String(300)),
        sa.Column("created_at", Stamp, nullable=False),
    )
    op.create_table(
        "feeds",
        _id(),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        _ref("member_id", "members.id"),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("filter", sa.Text, nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "feeds",
        "outbox",
        "subscriptions",
        "audit",
        "revisions",
        "incidents",
        "group_orgs",
        "sharing_groups",
        "sessions",
        "api_keys",
        "members",
        "orgs",
    ):
        op.drop_table(table)
