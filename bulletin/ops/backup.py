"""`bulletin backup` and `bulletin restore`: the database and the instance folder, one tar.

The archive holds `manifest.json` (bulletin version, migration head, row counts per table,
database kind, created at), the database (`database.pgdump`, pg_dump's custom format, or
`database.sqlite3`, a copy made with SQLite's online backup API) and `instance/` (the
generated keys and whatever else the instance folder holds, less the live SQLite files).
On PostgreSQL the counts are taken in the snapshot pg_dump dumps, so they describe the dump.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import URL

from bulletin.extensions import db
from bulletin.ops import schema

FORMAT = 1
MANIFEST = "manifest.json"
DUMPS = {"postgresql": "database.pgdump", "sqlite": "database.sqlite3"}


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message says why and what to do."""


def bulletin_version() -> str:
    try:
        return metadata.version("bulletin")
    except metadata.PackageNotFoundError:
        return "unknown"


def create_backup(app: Flask, target: Path) -> dict:
    """Write the archive to `target` (mode 0600, replaced only when complete); its manifest."""
    kind = _kind()
    target = target.resolve()
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".bulletin-backup-") as tmp:
        dump = Path(tmp) / DUMPS[kind]
        if kind == "sqlite":
            head, counts = _dump_sqlite(dump)
        else:
            head, counts = _dump_postgresql(dump)
        manifest = {
            "format": FORMAT,
            "bulletin_version": bulletin_version(),
            "migration_head": head,
            "database_kind": kind,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "row_counts": counts,
        }
        (Path(tmp) / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        partial = Path(tmp) / "archive.tar.gz"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with (
            os.fdopen(fd, "wb") as raw,
            tarfile.open(fileobj=raw, mode="w:gz", dereference=True) as archive,
        ):
            archive.add(Path(tmp) / MANIFEST, MANIFEST)
            archive.add(dump, dump.name)
            for path in _instance_files(app, skip={target, Path(tmp)}):
                archive.add(
                    path, "instance/" + str(path.relative_to(app.instance_path)), recursive=False
                )
        os.replace(partial, target)
    return manifest


def _kind() -> str:
    kind = db.engine.dialect.name
    if kind not in DUMPS:
        raise BackupError(f"cannot back up a {kind} database: only PostgreSQL and SQLite")
    return kind


def _sqlite_path() -> Path:
    return Path(db.engine.url.database).resolve()


def _dump_sqlite(dump: Path) -> tuple[str | None, dict[str, int]]:
    source = sqlite3.connect(_sqlite_path())
    copy = sqlite3.connect(dump)
    try:
        source.backup(copy)  # a consistent copy while the web app and workers write
    finally:
        copy.close()
        source.close()
    engine = create_engine(f"sqlite:///{dump}")
    try:
        with engine.connect() as conn:
            return schema.database_revision(conn), schema.row_counts(conn)
    finally:
        engine.dispose()


def _dump_postgresql(dump: Path) -> tuple[str | None, dict[str, int]]:
    tool = pg_tool("pg_dump")
    with db.engine.connect() as conn:
        conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
        snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
        head, counts = schema.database_revision(conn), schema.row_counts(conn)
        _run(
            [
                tool,
                "--format=custom",
                f"--snapshot={snapshot}",
                f"--file={dump}",
                f"--dbname={_libpq_url()}",
            ]
        )
        conn.rollback()
    return head, counts


def _instance_files(app: Flask, skip: set[Path]) -> list[Path]:
    root = Path(app.instance_path).resolve()
    live = set()
    if db.engine.dialect.name == "sqlite":
        database = _sqlite_path()
        live = {Path(f"{database}{suffix}") for suffix in ("", "-wal", "-shm", "-journal")}
    found = []
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if here / d not in skip)
        found += [here / d for d in dirs]
        found += [here / f for f in sorted(files) if here / f not in skip | live]
    return found


def read_manifest(source: Path) -> dict:
    """The manifest of a backup archive, checked for the fields restore needs."""
    try:
        with tarfile.open(source, "r:*") as archive:
            manifest = json.load(archive.extractfile(MANIFEST))
    except (OSError, tarfile.TarError, KeyError, ValueError) as exc:
        raise BackupError(f"{source} is not a bulletin backup: {exc}") from exc
    if manifest.get("format") != FORMAT or manifest.get("database_kind") not in DUMPS:
        raise BackupError(f"{source}: unknown backup format {manifest.get('format')!r}")
    return manifest


def restore_backup(app: Flask, source: Path, *, force: bool = False) -> dict:
    """Restore `source` into the app's database and instance folder, then migrate to head.

    Refuses a backup from a newer schema, a backup of the other database kind, and (unless
    `force`) a database that already holds rows. Returns the manifest and the counts now.
    """
    manifest = read_manifest(source)
    kind = _kind()
    has_tables = _check_restorable(manifest, kind, force=force)
    with tempfile.TemporaryDirectory(prefix=".bulletin-restore-") as tmp:
        _extract(source, Path(tmp))
        db.session.remove()
        db.engine.dispose()
        if kind == "sqlite":
            _load_sqlite(Path(tmp) / DUMPS[kind])
        else:
            _load_postgresql(Path(tmp) / DUMPS[kind], clean=has_tables)
        _copy_instance(Path(tmp) / "instance", Path(app.instance_path))
    upgrade()
    db.engine.dispose()
    with db.engine.connect() as conn:
        return {
            "manifest": manifest,
            "row_counts": schema.row_counts(conn),
            "migration_head": schema.database_revision(conn),
        }


def _check_restorable(manifest: dict, kind: str, *, force: bool) -> bool:
    """Raise BackupError when the restore must not go ahead; whether the database has tables."""
    head = manifest["migration_head"]
    if manifest["database_kind"] != kind:
        raise BackupError(
            f"the backup is of a {manifest['database_kind']} database and "
            f"DATABASE_URL is {kind}: restore into the same kind"
        )
    if head is not None and not schema.is_known(head):
        raise BackupError(
            f"the backup's schema ({head}) is newer than this code knows "
            f"(head {schema.code_head()}): install bulletin "
            f"{manifest['bulletin_version']} or later, then restore"
        )
    with db.engine.connect() as conn:
        has_tables = bool(inspect(conn).get_table_names())
        rows = {t: n for t, n in schema.row_counts(conn).items() if n}
    if rows and not force:
        raise BackupError(
            f"the database already holds {sum(rows.values())} rows in "
            f"{len(rows)} tables; restoring replaces them all: pass --force"
        )
    return has_tables


def _extract(source: Path, into: Path) -> None:
    with tarfile.open(source, "r:*") as archive:
        for member in archive.getmembers():
            name = Path(member.name)
            if name.is_absolute() or ".." in name.parts or not (member.isfile() or member.isdir()):
                raise BackupError(f"{source}: refusing the archive member {member.name!r}")
        archive.extractall(into, filter="data")


def _load_sqlite(dump: Path) -> None:
    source = sqlite3.connect(dump)
    target = sqlite3.connect(_sqlite_path())
    try:
        source.backup(target)  # replaces every page of the target, whatever it held
    finally:
        target.close()
        source.close()


def _load_postgresql(dump: Path, *, clean: bool) -> None:
    command = [
        pg_tool("pg_restore"),
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--single-transaction",
        f"--dbname={_libpq_url()}",
    ]
    if clean:
        command[1:1] = ["--clean", "--if-exists"]
    _run(command + [str(dump)])


def _copy_instance(source: Path, target: Path) -> None:
    if not source.is_dir():
        return
    for path in sorted(source.rglob("*")):
        destination = target / path.relative_to(source)
        if path.is_dir():
            destination.mkdir(parents=True, exist_ok=True)
        else:
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination)


def _libpq_url() -> str:
    url: URL = db.engine.url
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)


def _run(command: list[str]) -> None:
    # The password travels in PGPASSWORD, never on the command line where `ps` shows it.
    env = dict(os.environ)
    if db.engine.url.password:
        env["PGPASSWORD"] = db.engine.url.password
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {done.stderr.strip()}")


def pg_tool(name: str) -> str:
    """pg_dump or pg_restore at least as new as the server (Debian's versioned one first)."""
    with db.engine.connect() as conn:
        server = int(conn.execute(text("SHOW server_version_num")).scalar_one()) // 10000
    candidates = [f"/usr/lib/postgresql/{server}/bin/{name}", shutil.which(name)]
    for tool in filter(None, candidates):
        if not os.access(tool, os.X_OK):
            continue
        version = subprocess.run([tool, "--version"], capture_output=True, text=True).stdout
        found = re.search(r"(\d+)(?:\.\d+)?", version)
        if found and int(found.group(1)) >= server:
            return tool
    raise BackupError(
        f"no {name} for PostgreSQL {server} or newer: install the "
        f"postgresql-client-{server} package (or newer)"
    )
