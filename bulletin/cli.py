"""The `bulletin` command: Flask's CLI for this app, plus the worker and admin commands."""

from __future__ import annotations

import logging
import threading

import click
from flask import current_app
from flask.cli import FlaskGroup, routes_command, shell_command, with_appcontext

from bulletin import create_app, demo
from bulletin.api import commands as api_commands
from bulletin.bounces import commands as bounce_commands
from bulletin.delivery import commands as delivery_commands
from bulletin.editorial import commands as editor_commands
from bulletin.ops import commands as ops_commands
from bulletin.privacy import commands as privacy_commands


def _create_app(*_args, **_kwargs):
    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False)
def main() -> None:
    """bulletin: a bilingual email bulletin service."""


main.add_command(shell_command)
main.add_command(routes_command)


def prepare_database() -> None:
    """Create or upgrade the schema (Alembic), then insert the default rows."""
    from flask_migrate import upgrade

    from bulletin.core.defaults import ensure_defaults

    upgrade()
    ensure_defaults()


@main.command("init")
@with_appcontext
def init_command() -> None:
    """Create or upgrade the database and insert the default topics."""
    prepare_database()
    click.echo(f"Database ready: {current_app.config['DATABASE_URL']}")


@main.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-worker", is_flag=True, help="Serve the web app only.")
@with_appcontext
def run_command(host: str, port: int, no_worker: bool) -> None:
    """Upgrade the database, start the worker, and serve the app (embedded mode)."""
    serve(host, port, with_worker=not no_worker)


def serve(host: str, port: int, *, with_worker: bool) -> None:
    """Serve the current app with Werkzeug, the worker in background threads."""
    from bulletin.worker import start_scheduler

    app = current_app._get_current_object()
    if app.config.get("BASE_URL_FOLLOWS_SERVER"):
        app.config["BASE_URL"] = served_url(host, port)
    prepare_database()
    _configure_logging()  # after Alembic, whose logging config would replace ours
    scheduler = None
    if with_worker:
        scheduler, _worker = start_scheduler(app, mode="embedded")
    mode = (
        f"SMTP relay {app.config['SMTP_URL']}"
        if app.config.get("SMTP_URL")
        else f"outbox folder {app.config['OUTBOX_DIR']}"
    )
    click.echo(f"bulletin on http://{host}:{port}/  database: {app.config['DATABASE_URL']}")
    click.echo(f"links in mail start {app.config['BASE_URL']}")
    click.echo(f"mail goes to the {mode}")
    try:
        # Werkzeug directly: Flask's app.run() refuses to run inside its own CLI.
        from werkzeug.serving import run_simple

        run_simple(host, port, app, use_reloader=False, use_debugger=False, threaded=True)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)


def served_url(host: str, port: int) -> str:
    """Where a browser on this machine reaches `bulletin run --host --port`: links in mail
    follow it when BASE_URL is unset (an any-address host is reached as 127.0.0.1)."""
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


@main.command("worker")
@click.option("--once", is_flag=True, help="Run every job once and exit.")
@with_appcontext
def worker_command(once: bool) -> None:
    """Run the clock and the senders until interrupted (any number, on any hosts)."""
    from bulletin.mail.settings import DeliverySettings
    from bulletin.worker import Worker, run_forever, run_once

    app = current_app._get_current_object()
    _configure_logging()
    if once:
        worker = Worker(app=app, settings=DeliverySettings.from_app(app))
        run_once(worker)
        worker.close()
        return
    run_forever(app, threading.Event())


def _configure_logging() -> None:
    from bulletin.ops.logs import configure_logging

    configure_logging(current_app.config["LOG_FORMAT"])  # text, or JSON lines
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


@main.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Only seed the database, then exit.")
@with_appcontext
def demo_command(host: str, port: int, no_serve: bool) -> None:
    """Seed a bilingual demo (workshops, opportunities, a published issue) and serve it."""
    prepare_database()
    password = demo.seed_demo()
    if password:
        click.echo(f"Demo admin: {demo.DEMO_ADMIN}  password: {password}")
        click.echo("The password is shown only this once.")
    else:
        click.echo(
            f"The demo admin account {demo.DEMO_ADMIN} already exists; its password is "
            f"unchanged. Set a new one with `bulletin set-password {demo.DEMO_ADMIN}`."
        )
    click.echo(f"Sign in at {served_url(host, port)}/editor/login ; the archive is at /issues")
    if not no_serve:
        serve(host, port, with_worker=True)


# Commands that live beside the code they drive, each named here.
for _command in (
    editor_commands.create_editor_command,
    editor_commands.set_password_command,
    bounce_commands.classify_bounce,
    bounce_commands.bounce_server_command,
    bounce_commands.process_bounces_command,
    delivery_commands.sends_command,
    delivery_commands.send_status_command,
    privacy_commands.purge_command,
    privacy_commands.import_command,
    privacy_commands.export_command,
    api_commands.api_token_group,
    ops_commands.doctor_command,
    ops_commands.backup_command,
    ops_commands.restore_command,
):
    main.add_command(_command)
