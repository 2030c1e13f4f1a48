"""Liveness and readiness: a handful of cheap queries, and nothing about any person."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from pathlib import Path

from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bulletin.core import heartbeats
from bulletin.extensions import db
from bulletin.mail import outbox

#: Readiness fails when the oldest transactional mail still waiting is older than this.
OUTBOX_STUCK_AFTER = timedelta(minutes=10)


@dataclass
class Check:
    """One readiness check: its name, whether it passed, and a few figures (never personal)."""

    name: str
    ok: bool
    detail: dict = field(default_factory=dict)


@cache
def code_heads(migrations_dir: str) -> frozenset[str]:
    """The Alembic head revisions shipped with this code (read once per process)."""
    config = AlembicConfig()
    config.set_main_option("script_location", migrations_dir)
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def database_revisions() -> frozenset[str]:
    """The revisions the database is stamped with (empty when never migrated)."""
    try:
        return frozenset(
            db.session.execute(text("SELECT version_num FROM alembic_version")).scalars()
        )
    except SQLAlchemyError:  # no alembic_version table: never migrated
        db.session.rollback()
        return frozenset()


def check_database() -> Check:
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        db.session.rollback()
        return Check("database", False, {"error": type(exc).__name__})
    return Check("database", True)


def check_migrations(migrations_dir: str) -> Check:
    code, stamped = code_heads(migrations_dir), database_revisions()
    return Check("migrations", stamped == code, {"database": sorted(stamped), "code": sorted(code)})


def check_workers() -> Check:
    live = heartbeats.live_worker_count()
    return Check("workers", live > 0, {"live": live, "within_seconds": heartbeats.LIVE_SECONDS})


def check_outbox() -> Check:
    _count, age = outbox.waiting()
    limit = OUTBOX_STUCK_AFTER.total_seconds()
    return Check(
        "outbox", age < limit, {"oldest_pending_seconds": round(age), "limit_seconds": round(limit)}
    )


def readiness(migrations_dir: str | Path) -> list[Check]:
    """Every readiness check; with the database down, the others are reported failed."""
    database = check_database()
    if not database.ok:
        skipped = {"skipped": "database unreachable"}
        return [database] + [
            Check(name, False, dict(skipped)) for name in ("migrations", "workers", "outbox")
        ]
    runs = {
        "migrations": lambda: check_migrations(str(migrations_dir)),
        "workers": check_workers,
        "outbox": check_outbox,
    }
    checks = [database]
    for name, run in runs.items():
        try:
            checks.append(run())
        except SQLAlchemyError as exc:  # e.g. a table missing from a database never migrated
            db.session.rollback()
            checks.append(Check(name, False, {"error": type(exc).__name__}))
    db.session.rollback()  # read only: end the transaction
    return checks
