"""`bulletin purge`, `bulletin import` and `bulletin export`."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext
from tqdm import tqdm

from bulletin.core.audit import record_audit
from bulletin.extensions import db
from bulletin.i18n import CODES
from bulletin.privacy.csvsource import MappingError, parse_mapping
from bulletin.privacy.exporter import ExportFilter, stream_subscribers_csv
from bulletin.privacy.importer import ImportOptions, ImportReport, import_csv
from bulletin.privacy.retention import Policy, purge


@click.command("purge")
@click.option(
    "--dry-run",
    "mode",
    flag_value="dry-run",
    default=True,
    help="Report what would be removed (the default).",
)
@click.option("--apply", "mode", flag_value="apply", help="Remove it.")
@with_appcontext
def purge_command(mode: str) -> None:
    """Apply the retention policy: old pending sign-ups, delivery rows and sent mail."""
    report = purge(Policy.from_config(current_app.config), dry_run=mode == "dry-run")
    if mode == "apply":
        record_audit("retention.purge", detail=report.as_dict())
        db.session.commit()
    else:
        db.session.rollback()
    verb = "Would remove" if mode == "dry-run" else "Removed"
    click.echo(
        f"{verb}: {report.pending_subscribers} unconfirmed sign-up(s), "
        f"{report.deliveries} delivery row(s) of {report.sends_reduced} send(s), "
        f"{report.outbox_messages + report.erased_leftovers} outbox message(s)."
    )


def _count_lines(path: str) -> int:
    with open(path, "rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))


@click.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--map",
    "mapping",
    multiple=True,
    metavar="FIELD=HEADER",
    help="Which column holds a field, e.g. --map 'email=Email Address'. "
    "Fields: email, name, topics, region, language, consent_date, consent_source.",
)
@click.option(
    "--invite", is_flag=True, help="Send rows without a consent date a double opt-in invitation."
)
@click.option("--dry-run", is_flag=True, help="Check the file and report; change nothing.")
@click.option("--encoding", default="utf-8-sig", show_default=True)
@with_appcontext
def import_command(
    path: str, mapping: tuple[str, ...], invite: bool, dry_run: bool, encoding: str
) -> None:
    """Import subscribers from a CSV file (suppressed, erased and existing addresses skipped)."""
    try:
        options = ImportOptions(
            mapping=parse_mapping(list(mapping)),
            invite=invite,
            dry_run=dry_run,
            label=path.rsplit("/", 1)[-1],
            encoding=encoding,
        )
        with (
            open(path, "rb") as stream,
            tqdm(
                total=max(_count_lines(path) - 1, 0), unit="row", file=sys.stderr, mininterval=0.5
            ) as bar,
        ):
            report = import_csv(stream, options, progress=bar.update)
    except MappingError as exc:
        raise click.UsageError(str(exc)) from exc
    if not dry_run:
        record_audit("subscribers.import", detail={"via": "cli", **report.as_dict()})
        db.session.commit()
    _echo_report(report)


def _echo_report(report: ImportReport) -> None:
    prefix = "Dry run, nothing changed. Would import" if report.dry_run else "Imported"
    click.echo("Columns: " + ", ".join(f"{k}={v!r}" for k, v in report.columns.items()))
    click.echo(
        f"{prefix} {report.confirmed} confirmed and {report.pending} pending "
        f"subscriber(s); {report.invited} invitation(s) queued."
    )
    click.echo(
        f"Skipped {report.existing} already on the list, "
        f"{report.suppressed} suppressed or erased, {report.problem_count} bad row(s)."
    )
    for line, message in report.problems:
        click.echo(f"  line {line}: {message}")
    if report.problem_count > len(report.problems):
        click.echo(f"  ... and {report.problem_count - len(report.problems)} more.")


@click.command("export")
@click.option("--status")
@click.option("--topic", help="Topic slug.")
@click.option("--region", help="Region code.")
@click.option("--language", type=click.Choice(CODES))
@click.option("-o", "--output", type=click.File("w", encoding="utf-8", lazy=True), default="-")
@with_appcontext
def export_command(status, topic, region, language, output) -> None:
    """Write subscribers as CSV (streamed; formula-like cells escaped); audit-logged."""
    selection = ExportFilter(status=status, topic=topic, region=region, language=language)
    record_audit("subscribers.export", detail={"via": "cli", **selection.as_dict()})
    db.session.commit()
    lines = -1  # the header
    for chunk in stream_subscribers_csv(selection):
        output.write(chunk)
        lines += 1
    click.echo(f"Exported {max(lines, 0)} subscriber(s).", err=True)
