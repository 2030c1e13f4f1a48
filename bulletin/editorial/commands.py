"""The editor door's commands: `bulletin create-editor EMAIL`, `bulletin set-password EMAIL`."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from bulletin.core.editors import AccountError, create_editor, find_editor, reset_password
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
    password = _read_password(password_stdin)
    try:
        editor = create_editor(email, password, role=role, name=name)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"Created {editor.role} {editor.email}")


@click.command("set-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def set_password_command(email: str, password_stdin: bool) -> None:
    """Give an editor a new password (for an admin locked out): ends the account's sessions
    and lifts its wrong-password pause."""
    editor = find_editor(email.strip())
    if editor is None:
        raise click.ClickException(f"No editor has the address {email.strip()}.")
    password = _read_password(password_stdin)
    try:
        reset_password(editor, password)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"New password set for {editor.role} {editor.email}; their sessions are ended.")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)
