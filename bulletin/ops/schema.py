"""Where the database's schema stands against the migrations this code ships."""

from __future__ import annotations

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from bulletin.extensions import db


def scripts() -> ScriptDirectory:
    """The Alembic scripts of this code (Flask-Migrate's folder)."""
    return ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())


def code_head() -> str:
    """The one migration head this code knows."""
    return scripts().get_current_head()


def is_known(revision: str) -> bool:
    """Whether this code has a migration with this id (an unknown one is a newer schema)."""
    try:
        return scripts().get_revision(revision) is not None
    except Exception:  # alembic raises several kinds for an id it cannot resolve
        return False


def database_revision(conn: Connection | None = None) -> str | None:
    """The database's Alembic revision, or None for an unversioned (empty) database."""
    if conn is None:
        with db.engine.connect() as own:
            return database_revision(own)
    return MigrationContext.configure(conn).get_current_revision()


def row_counts(conn: Connection) -> dict[str, int]:
    """Rows in each of the app's tables that exist, by table name."""
    present = set(inspect(conn).get_table_names())
    return {
        table.name: conn.execute(text(f'SELECT COUNT(*) FROM "{table.name}"')).scalar_one()
        for table in db.metadata.sorted_tables
        if table.name in present
    }
