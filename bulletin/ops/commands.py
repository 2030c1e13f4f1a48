"""The operator's commands: `bulletin doctor`, `bulletin backup FILE`, `bulletin restore FILE`."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import ScriptInfo, with_appcontext

from bulletin.ops import backup, doctor


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print the checks as one JSON object.")
@click.option(
    "--skip",
    multiple=True,
    type=click.Choice(doctor.GROUPS),
    help="Leave out a group of checks (repeatable).",
)
@click.pass_context
def doctor_command(ctx: click.Context, as_json: bool, skip: tuple[str, ...]) -> None:
    """Check the configuration, database, SMTP relay and DNS; say what to fix (exit 1 on FAIL)."""
    try:
        app = ctx.ensure_object(ScriptInfo).load_app()
    except RuntimeError as exc:  # create_app refuses a production setting: that is a finding
        checks = [doctor.fail("config.startup", f"the app refuses to start: {exc}")]
    else:
        checks = doctor.run_checks(app, skip=skip)
    failed = any(check.status is doctor.Status.FAIL for check in checks)
    if as_json:
        click.echo(
            json.dumps({"ok": not failed, "checks": [c.as_dict() for c in checks]}, indent=2)
        )
    else:
        for check in checks:
            click.echo(check.line())
        click.echo(
            "FAILED: fix the lines marked FAIL"
            if failed
            else "All checks passed"
            + (
                " (see the WARN lines)"
                if any(c.status is doctor.Status.WARN for c in checks)
                else ""
            )
        )
    ctx.exit(1 if failed else 0)


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(file: Path) -> None:
    """Write the database and the instance folder to FILE (a tar with a manifest)."""
    if not file.parent.resolve().is_dir():
        raise click.ClickException(f"no such folder: {file.parent}")
    try:
        manifest = backup.create_backup(current_app, file)
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    rows = sum(manifest["row_counts"].values())
    click.echo(
        f"Backed up {manifest['database_kind']} at {manifest['migration_head']} "
        f"({rows} rows in {len(manifest['row_counts'])} tables) and "
        f"{current_app.instance_path} to {file}"
    )


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--force", is_flag=True, help="Replace a database that already holds rows (they are lost)."
)
@with_appcontext
def restore_command(file: Path, force: bool) -> None:
    """Restore FILE (from `bulletin backup`) into an empty database, then migrate to head."""
    try:
        done = backup.restore_backup(current_app, file, force=force)
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    manifest = done["manifest"]
    click.echo(
        f"Restored the backup of {manifest['created_at']} (bulletin "
        f"{manifest['bulletin_version']}, schema {manifest['migration_head']}); "
        f"the database is now at {done['migration_head']} with "
        f"{sum(done['row_counts'].values())} rows. Restart the web app and workers."
    )
