"""The editor door's command: `bulletin create-editor EMAIL`."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from bulletin.core.editors import AccountError, create_editor
from bulletin.extensions import db
from bulletin.models import Role


@click.command("create-editor")
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice([Role.ADMIN.value, Role.EDITOR.value]),
    default=Role.EDITOR.value,
    show_default=True,
)
@click.option("--name", default=None, help="The editor's name, shown in the audit log.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def create_editor_command(email: str, role: str, name: str | None, password_stdin: bool) -> None:
    """Create an editor account; the password is asked for (or read from stdin)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        editor = create_editor(email, password, role=role, name=name)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"Created {editor.role} {editor.email}")
