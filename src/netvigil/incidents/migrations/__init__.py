"""Alembic migrations of the incident store (run by `db.open_database`)."""
