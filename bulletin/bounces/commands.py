"""The bounce door's commands: `bulletin bounce-server`, `bulletin process-bounces PATH...`
and `bulletin classify-bounce FILE...` (which needs no database or app)."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from bulletin.bounces.classify import classify_message
from bulletin.bounces.mailboxes import process_path


@click.command("classify-bounce")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True))
def classify_bounce(files: tuple[str, ...]) -> None:
    """Print one JSON line per FILE: its kind, status and failed recipient."""
    for name in files:
        result = classify_message(_read(name))
        record = {
            "file": name,
            "kind": result.kind,
            "status": result.status,
            "recipient": result.recipient,
        }
        click.echo(json.dumps(record, ensure_ascii=False))


def _read(name: str) -> bytes:
    try:
        return Path(name).read_bytes()
    except OSError as error:  # a directory or unreadable file classifies as "not-bounce"
        click.echo(f"classify-bounce: cannot read {name}: {error.strerror}", err=True)
        return b""


@click.command("bounce-server")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=2525, show_default=True, type=int)
@click.option("--lmtp", is_flag=True, help="Speak LMTP (for a local MTA) instead of SMTP.")
@with_appcontext
def bounce_server_command(host: str, port: int, lmtp: bool) -> None:
    """Receive bounces, complaints and unsubscribe mail for BOUNCE_DOMAIN until interrupted."""
    from bulletin.bounces.pool import close_classifier_pool
    from bulletin.bounces.server import make_server

    app = current_app._get_current_object()
    if not app.config.get("BOUNCE_DOMAIN"):
        raise click.UsageError("Set BOUNCE_DOMAIN: the server accepts mail for that domain only.")
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    server = make_server(app, host, port, lmtp=lmtp)
    server.start()
    click.echo(
        f"{'LMTP' if lmtp else 'SMTP'} bounce server on {host}:{port} "
        f"for @{app.config['BOUNCE_DOMAIN']}"
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        close_classifier_pool(app)


@click.command("process-bounces")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@with_appcontext
def process_bounces_command(paths: tuple[str, ...]) -> None:
    """Process the messages of mbox files and Maildir folders (again: no change)."""
    failed = 0
    for path in paths:
        try:
            tally = process_path(path)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="PATH") from exc
        click.echo(
            f"{path}: {tally.processed} processed, {tally.duplicates} seen before, "
            f"{tally.failed} failed"
        )
        failed += tally.failed
    if failed:
        raise SystemExit(1)
