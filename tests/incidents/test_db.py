"""The schema is defined once: db.py's tables. The migrations, run on a fresh database of each
backend, must build exactly that schema (Alembic's own comparison: tables, columns, types,
nullability, server defaults, indexes, unique and foreign keys), down and up again."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from netvigil.incidents import db


def differences(engine: sa.Engine, metadata: sa.MetaData) -> list[Any]:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, metadata))


def migrate(engine: sa.Engine, to: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(db.MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        if to == "base":
            command.downgrade(config, to)
        else:
            command.upgrade(config, to)


def test_the_migrations_build_exactly_the_table_definitions(database_url: str) -> None:
    engine = sa.create_engine(database_url)
    assert sa.inspect(engine).get_table_names() == []  # a fresh database
    migrate(engine, "head")
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    config = Config()
    config.set_main_option("script_location", str(db.MIGRATIONS))
    assert current == ScriptDirectory.from_config(config).get_current_head()
    assert differences(engine, db.metadata) == []
    migrate(engine, "base")
    assert sa.inspect(engine).get_table_names() == ["alembic_version"]
    migrate(engine, "head")
    assert differences(engine, db.metadata) == []
    engine.dispose()


def test_the_comparison_sees_a_table_definition_the_migrations_lack(database_url: str) -> None:
    """The check above can fail: one more column in the definitions is a difference."""
    engine = db.open_database(database_url)
    drifted = sa.MetaData()
    for table in db.metadata.tables.values():
        table.to_metadata(drifted)
    drifted.tables["feeds"].append_column(sa.Column("colour", sa.String(20)))
    (found,) = differences(engine, drifted)
    assert found[0] == "add_column" and (found[2], found[3].name) == ("feeds", "colour")
    engine.dispose()
