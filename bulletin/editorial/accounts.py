"""Editor accounts: Argon2id password hashes, sign-in checks, and `bulletin create-editor`."""

from __future__ import annotations

import sys

import click
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from flask.cli import with_appcontext
from sqlalchemy import func, select

from ..audit import record_audit
from ..extensions import db
from ..models import Editor, Role, utcnow
from . import sessions

#: OWASP (SEC-08) asks for at least m=19456 KiB, t=2, p=1; these are argon2-cffi's
#: RFC 9106 "low memory" profile, comfortably above it.
HASHER = PasswordHasher(
    time_cost=3, memory_cost=65536, parallelism=4, hash_len=32, salt_len=16, type=Type.ID
)
MIN_PASSWORD_LENGTH = 12
#: Verified against when the address is unknown, so both failures take as long.
_DUMMY_HASH = HASHER.hash("not-a-real-password")


class AccountError(ValueError):
    """An account could not be created or changed; the message says why."""


def hash_password(password: str) -> str:
    """An Argon2id hash of the password."""
    return HASHER.hash(password)


def check_password(editor: Editor | None, password: str) -> bool:
    """Whether the password is the editor's; rehashes when the parameters have grown."""
    stored = editor.password_hash if editor is not None else _DUMMY_HASH
    try:
        HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
    if editor is None:
        return False
    if HASHER.check_needs_rehash(stored):
        editor.password_hash = hash_password(password)
    return True


def find_editor(email: str) -> Editor | None:
    """The editor with this address (case-insensitive), if any."""
    return db.session.scalar(select(Editor).where(func.lower(Editor.email) == email.lower()))


def authenticate(email: str, password: str) -> Editor | None:
    """The active editor these credentials belong to, or None (one answer for every failure)."""
    editor = find_editor(email.strip())
    if not check_password(editor, password) or editor is None or not editor.is_active:
        return None
    editor.last_login_at = utcnow()
    return editor


def check_new_password(password: str) -> None:
    """Refuse a password that is too short."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"The password must be at least {MIN_PASSWORD_LENGTH} characters.")


def create_editor(
    email: str,
    password: str,
    *,
    role: str = Role.EDITOR,
    name: str | None = None,
    by: Editor | None = None,
) -> Editor:
    """Add an editor account (the caller commits)."""
    email = email.strip()
    if "@" not in email:
        raise AccountError("Enter an email address.")
    if role not in (Role.ADMIN, Role.EDITOR):
        raise AccountError("The role must be admin or editor.")
    if find_editor(email) is not None:
        raise AccountError("An editor with this email address already exists.")
    check_new_password(password)
    editor = Editor(email=email, name=name, role=role, password_hash=hash_password(password))
    db.session.add(editor)
    db.session.flush()
    record_audit("editor.create", editor, detail={"email": email, "role": role}, editor=by)
    return editor


def set_password(editor: Editor, password: str, *, by: Editor | None = None) -> None:
    """Change the password and end every existing session of the account."""
    check_new_password(password)
    editor.password_hash = hash_password(password)
    sessions.end_all_sessions(editor)
    record_audit("editor.password", editor, editor=by)


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
