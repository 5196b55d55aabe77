"""The migrations build exactly the schema the table definitions describe (each backend)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from netvigil.incidents import db


def test_migrated_schema_equals_the_table_definitions(database_url: str) -> None:
    engine = db.open_database(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []
