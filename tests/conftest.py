"""Fixtures: a fresh app on a real database, clients, a real SMTP server, factories."""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path

import pytest
from sqlalchemy import text

from bulletin import create_app
from bulletin.bounces.pool import close_classifier_pool
from bulletin.config import TestConfig
from bulletin.extensions import db
from tests.support.smtp import SMTPServer
from tests.support.worker import run_worker_once as _run_worker_once

pytest_plugins = ["tests.factories", "tests.browser.fixtures", "tests.support.api_fixtures"]

SNAPSHOTS = Path(__file__).parent / "snapshots"


def pytest_addoption(parser):
    parser.addoption(
        "--snapshot-update",
        action="store_true",
        help="rewrite tests/snapshots/ from what the code makes now (review the diff)",
    )


def config_for(**overrides) -> dict:
    """TestConfig as a mapping, with overrides."""
    values = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    values.update(overrides)
    return values


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    """DATABASE_URL from the environment (CI: PostgreSQL), else a SQLite file for this run."""
    url = os.environ.get("DATABASE_URL") or (
        "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite3")
    )
    app = create_app(config_for(DATABASE_URL=url))
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.session.commit()
    yield url
    with app.app_context():
        db.drop_all()
        db.engine.dispose()


def _empty_tables() -> None:
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        # Fresh ids each test keep failures readable; harmless elsewhere.
        for (seq,) in db.session.execute(
            text("SELECT sequence_name FROM information_schema.sequences")
        ).all():
            db.session.execute(text(f'ALTER SEQUENCE "{seq}" RESTART WITH 1'))
        db.session.commit()


@pytest.fixture
def make_app(database_url, tmp_path):
    """Build an app on the test database with config overrides."""
    made = []

    def build(**overrides):
        settings = config_for(
            DATABASE_URL=database_url,
            OUTBOX_DIR=str(tmp_path / "outbox"),
            IMPORT_DIR=str(tmp_path / "imports"),
            MEDIA_DIR=str(tmp_path / "media"),
        )
        settings.update(overrides)
        application = create_app(settings)
        made.append(application)
        return application

    yield build
    for application in made:
        close_classifier_pool(application)  # the bounce doors' worker processes, if started
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app):
    from bulletin.core.defaults import ensure_defaults

    application = make_app()
    with application.app_context():
        _empty_tables()
        ensure_defaults()
    with application.app_context():
        yield application
        db.session.rollback()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def run_worker_once():
    """run_worker_once(app, settings=None, *, times=1): every job, `times` passes, one worker."""
    return _run_worker_once


@pytest.fixture
def smtp_server():
    server = SMTPServer().start()
    yield server
    server.stop()


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token(html: str) -> str:
    """The CSRF token in a rendered form."""
    match = CSRF_RE.search(html) or re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


@pytest.fixture
def snapshot(request):
    """snapshot(name, text): fails with a diff when text differs from tests/snapshots/<name>;
    `pytest --snapshot-update` (or UPDATE_SNAPSHOTS=1) writes it instead."""
    update = (
        request.config.getoption("--snapshot-update") or os.environ.get("UPDATE_SNAPSHOTS") == "1"
    )

    def check(name: str, actual: str) -> None:
        path = SNAPSHOTS / name
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(actual, encoding="utf-8")
            return
        if not path.exists():
            pytest.fail(f"no snapshot {path}: run pytest --snapshot-update, review and commit it")
        expected = path.read_text(encoding="utf-8")
        if actual != expected:
            diff = "".join(
                difflib.unified_diff(
                    expected.splitlines(True), actual.splitlines(True), f"snapshots/{name}", "now"
                )
            )
            pytest.fail(
                f"{name} changed. If that is intended, run pytest --snapshot-update and "
                f"commit the new snapshot.\n{diff}",
                pytrace=False,
            )

    return check
