"""`bulletin sends` and `bulletin send-status ID`: the send page's figures on the command line."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from bulletin.core.sends import Progress, send_progress
from bulletin.extensions import db
from bulletin.i18n import LONDON
from bulletin.models import Send


def _when(value) -> str:
    if value is None:
        return "-"
    return value.astimezone(LONDON).strftime("%Y-%m-%d %H:%M %Z")


def _left(progress: Progress) -> str:
    if progress.seconds_left is None:
        return "unknown"
    minutes, seconds = divmod(int(progress.seconds_left), 60)
    return f"{minutes}m{seconds:02d}s"


def describe(send: Send, progress: Progress) -> str:
    """One line: id, status, issue, schedule and the progress figures."""
    return (
        f"#{send.id} {progress.status:<9} {send.issue.slug:<24} {_when(send.scheduled_at)}  "
        f"queued {progress.queued + progress.sending}  sent {progress.sent}  "
        f"failed {progress.failed}  skipped {progress.skipped}  "
        f"cancelled {progress.cancelled}  of {progress.total}  "
        f"{progress.rate_per_second}/s  left {_left(progress)}"
    )


@click.command("sends")
@click.option("--limit", default=20, show_default=True, help="How many recent sends to list.")
@with_appcontext
def sends_command(limit: int) -> None:
    """List recent sends with their progress."""
    sends = db.session.scalars(select(Send).order_by(Send.id.desc()).limit(limit)).all()
    if not sends:
        click.echo("No sends yet.")
    for send in sends:
        click.echo(describe(send, send_progress(send)))


@click.command("send-status")
@click.argument("send_id", type=int)
@with_appcontext
def send_status_command(send_id: int) -> None:
    """Show one send's progress: queued, sent, failed, skipped, cancelled, rate, time left."""
    send = db.session.get(Send, send_id)
    if send is None:
        raise click.ClickException(f"There is no send {send_id}.")
    p = send_progress(send)
    click.echo(f"Send #{send.id} of {send.issue.slug}: {p.status}")
    click.echo(
        f"Scheduled {_when(send.scheduled_at)}, started {_when(send.started_at)}, "
        f"finished {_when(send.finished_at)}"
    )
    click.echo(
        f"Queued {p.queued} (in flight {p.sending}), sent {p.sent}, failed {p.failed}, "
        f"skipped {p.skipped}, cancelled {p.cancelled}, of {p.total} ({p.percent}%)"
    )
    if send.is_open:
        click.echo(f"Rate {p.rate_per_second} messages/s, time left {_left(p)}")
    elif p.average_per_second is not None:
        click.echo(f"Average rate {p.average_per_minute} messages/min ({p.average_per_second}/s)")
