"""The restore drill: back up, wipe, restore, compare, on SQLite and on PostgreSQL."""

from __future__ import annotations

import io
import json
import os
import tarfile
import uuid
from pathlib import Path

import pytest
from flask.cli import ScriptInfo
from flask_migrate import upgrade
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from bulletin import create_app
from bulletin.cli import main
from bulletin.core.defaults import ensure_defaults
from bulletin.extensions import db
from bulletin.models import Editor, Issue, Subscriber, SubscriberStatus, Topic, utcnow
from bulletin.ops import backup, schema
from tests.conftest import config_for

OLDER = "7c1e2f9a4b3d"  # before import_job


class Database:
    """A database of one kind that the test can wipe: url, wipe()."""

    def __init__(self, url: str, server=None, name: str | None = None):
        self.url, self.server, self.name = url, server, name

    def wipe(self) -> None:
        if self.server is None:
            path = make_url(self.url).database
            for suffix in ("", "-wal", "-shm"):
                Path(path + suffix).unlink(missing_ok=True)
            return
        with self.server.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path, monkeypatch):
    instance = tmp_path / "instance"
    monkeypatch.setenv("BULLETIN_INSTANCE_PATH", str(instance))
    if request.param == "sqlite":
        instance.mkdir()
        # Inside the instance folder, as by default: the backup must not copy the live file.
        yield Database(f"sqlite:///{instance / 'bulletin.sqlite3'}")
        return
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        pytest.skip("PostgreSQL run only: set DATABASE_URL=postgresql://... (CI does)")
    server_url = make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))
    server = create_engine(server_url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = f"bulletin_restore_{uuid.uuid4().hex[:8]}"
    with server.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield Database(
        server_url.set(database=name).render_as_string(hide_password=False), server, name
    )
    with server.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    server.dispose()


def make_drill_app(database: Database, revision: str = "head"):
    app = create_app(config_for(DATABASE_URL=database.url))
    with app.app_context():
        upgrade(revision=revision)
        db.engine.dispose()
    return app


def populate() -> None:
    """Rows in several related tables: topics, readers with topics, an editor, an issue."""
    ensure_defaults()
    topics = db.session.scalars(select(Topic).order_by(Topic.id)).all()
    for n in range(25):
        db.session.add(
            Subscriber(
                email=f"reader{n}@example.com",
                language="cy" if n % 2 else "en",
                status=SubscriberStatus.CONFIRMED,
                region="south-east-wales",
                confirmed_at=utcnow(),
                topics=topics[: 1 + n % len(topics)],
            )
        )
    db.session.add(Editor(email="ed@example.org", role="admin", password_hash="x"))
    db.session.add(Issue(slug="spring", subject_en="Spring", subject_cy="Gwanwyn"))
    db.session.commit()


def snapshot() -> dict[str, list[tuple]]:
    """Up to 30 rows of every table, in primary-key order."""
    rows = {}
    present = set(inspect(db.engine).get_table_names())
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            if table.name in present:
                query = select(table).order_by(*table.primary_key.columns).limit(30)
                rows[table.name] = [tuple(r) for r in conn.execute(query)]
    return rows


def run(app, *args):
    """Invoke `bulletin ARGS` on this app; then close its connections (a wipe may follow)."""
    result = app.test_cli_runner().invoke(
        main, args=list(args), obj=ScriptInfo(create_app=lambda: app)
    )
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return result


def test_the_restore_drill_gives_back_every_row_and_the_instance_folder(database, tmp_path):
    app = make_drill_app(database)
    instance = Path(app.instance_path)
    (instance / "secret_key").write_text("kept-secret\n")
    (instance / "media").mkdir()
    (instance / "media" / "logo.png").write_bytes(b"\x89PNG not really")
    with app.app_context():
        populate()
        with db.engine.connect() as conn:
            counts = schema.row_counts(conn)
        before = snapshot()
        db.engine.dispose()
    archive = tmp_path / "bulletin.tar"
    result = run(app, "backup", str(archive))
    assert result.exit_code == 0, result.output
    assert oct(archive.stat().st_mode & 0o777) == "0o600"  # it holds the keys

    manifest = backup.read_manifest(archive)
    with app.app_context():
        assert manifest["migration_head"] == schema.code_head()
    assert manifest["database_kind"] == make_url(database.url).get_backend_name()
    assert manifest["row_counts"] == counts and counts["subscriber"] == 25
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    assert {"instance/secret_key", "instance/media/logo.png"} <= names
    assert not any(n.startswith("instance/bulletin.sqlite3") for n in names)

    database.wipe()
    for path in (instance / "secret_key", instance / "media" / "logo.png"):
        path.unlink()
    app = create_app(config_for(DATABASE_URL=database.url))
    result = run(app, "restore", str(archive))
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert f"now at {schema.code_head()}" in result.output
    with app.app_context():
        with db.engine.connect() as conn:
            assert schema.row_counts(conn) == counts
        assert snapshot() == before
        db.engine.dispose()
    assert (instance / "secret_key").read_text() == "kept-secret\n"
    assert (instance / "media" / "logo.png").read_bytes() == b"\x89PNG not really"


def test_restore_into_a_database_with_rows_needs_force(database, tmp_path):
    app = make_drill_app(database)
    with app.app_context():
        populate()
        db.engine.dispose()
    archive = tmp_path / "bulletin.tar"
    assert run(app, "backup", str(archive)).exit_code == 0
    with app.app_context():
        db.session.execute(text("DELETE FROM subscriber_topic"))
        db.session.execute(text("DELETE FROM subscriber"))
        db.session.commit()
        db.engine.dispose()

    refused = run(app, "restore", str(archive))
    assert refused.exit_code == 1
    assert "already holds" in refused.output and "--force" in refused.output
    with app.app_context():
        assert db.session.scalar(text("SELECT COUNT(*) FROM subscriber")) == 0  # untouched
        db.session.remove()
        db.engine.dispose()

    forced = run(app, "restore", "--force", str(archive))
    assert forced.exit_code == 0, forced.output
    with app.app_context():
        assert db.session.scalar(text("SELECT COUNT(*) FROM subscriber")) == 25
        db.session.remove()
        db.engine.dispose()


def test_an_older_schema_is_restored_and_migrated_to_head(database, tmp_path):
    app = make_drill_app(database, revision=OLDER)
    with app.app_context():
        db.session.execute(
            text(
                "INSERT INTO topic (slug, name_en, name_cy, position, is_active) "
                "VALUES ('old', 'Old', 'Hen', 0, true)"
            )
        )
        db.session.commit()
        db.engine.dispose()
    archive = tmp_path / "old.tar"
    assert run(app, "backup", str(archive)).exit_code == 0
    assert backup.read_manifest(archive)["migration_head"] == OLDER
    with app.app_context():
        db.engine.dispose()  # the wipe ends every connection to the database
    database.wipe()
    result = run(app, "restore", str(archive))
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert schema.database_revision() == schema.code_head()
        assert "import_job" in inspect(db.engine).get_table_names()
        assert db.session.scalar(text("SELECT name_cy FROM topic WHERE slug = 'old'")) == "Hen"
        db.session.remove()
        db.engine.dispose()


def _rewrite_manifest(archive: Path, **changes) -> None:
    with tarfile.open(archive) as tar:
        members = [(m, tar.extractfile(m).read() if m.isfile() else None) for m in tar.getmembers()]
    with tarfile.open(archive, "w:gz") as tar:
        for member, data in members:
            if member.name == backup.MANIFEST:
                data = json.dumps(json.loads(data) | changes).encode()
                member.size = len(data)
            tar.addfile(member, io.BytesIO(data) if data is not None else None)


def test_a_newer_schema_than_the_code_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("BULLETIN_INSTANCE_PATH", str(tmp_path / "instance"))
    source = Database(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    app = make_drill_app(source)
    archive = tmp_path / "new.tar"
    assert run(app, "backup", str(archive)).exit_code == 0
    _rewrite_manifest(archive, migration_head="ffffffffffff", bulletin_version="9.0")
    target = create_app(config_for(DATABASE_URL=f"sqlite:///{tmp_path / 'b.sqlite3'}"))
    result = run(target, "restore", str(archive))
    assert result.exit_code == 1
    assert "newer than this code knows" in result.output and "bulletin 9.0" in result.output
    with target.app_context():
        assert inspect(db.engine).get_table_names() == []  # nothing was written
        db.engine.dispose()


def test_a_file_that_is_not_a_backup_is_refused(tmp_path):
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"hello")
    app = create_app(config_for(DATABASE_URL=f"sqlite:///{tmp_path / 'c.sqlite3'}"))
    result = run(app, "restore", str(junk))
    assert result.exit_code == 1 and "is not a bulletin backup" in result.output
