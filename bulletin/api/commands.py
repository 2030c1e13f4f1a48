"""`bulletin api-token create|list|revoke`: manage API tokens from the command line."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from bulletin.core import api_tokens as auth
from bulletin.core.editors import find_editor
from bulletin.extensions import db
from bulletin.models import ApiToken


@click.group("api-token")
def api_token_group() -> None:
    """Issue, list and revoke bearer tokens for the JSON API (/api/v1)."""


@api_token_group.command("create")
@click.option("--editor", "email", required=True, help="Address of the editor it acts as.")
@click.option("--name", required=True, help="What the token is for.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice(auth.SCOPES),
    help="What it may do (repeat the option); default: catalogue, issues and sends. "
    "The subscriber scopes need an admin editor.",
)
@with_appcontext
def create_token_command(email: str, name: str, scopes: tuple[str, ...]) -> None:
    """Issue a token and print it once (only its hash is stored)."""
    editor = find_editor(email)
    if editor is None or not editor.is_active:
        raise click.ClickException(f"No active editor {email}.")
    if not name.strip() or len(name) > 120:
        raise click.ClickException("Give a name of 1 to 120 characters.")
    try:
        row, token = auth.issue_token(editor, name, scopes=scopes or auth.DEFAULT_SCOPES)
    except auth.ScopeRefused as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(
        f"Token {row.id} ({row.name}) for {editor.email}. Copy it now; it is not shown again:",
        err=True,
    )
    click.echo(token)


@api_token_group.command("list")
@with_appcontext
def list_tokens_command() -> None:
    """Tokens with their editor and state (never the tokens themselves)."""
    for row in db.session.scalars(select(ApiToken).order_by(ApiToken.id)):
        state = f"revoked {row.revoked_at:%Y-%m-%d %H:%M} UTC" if row.revoked_at else "active"
        click.echo(f"{row.id}\t{row.name}\t{row.editor.email}\t{row.scopes}\t{state}")


@api_token_group.command("revoke")
@click.argument("token_id", type=int)
@with_appcontext
def revoke_token_command(token_id: int) -> None:
    """Revoke a token by its id: it stops working at once."""
    row = db.session.get(ApiToken, token_id) if 0 < token_id < 2**31 else None
    if row is None:
        raise click.ClickException(f"No token {token_id}.")
    if not auth.revoke_token(row):
        click.echo(f"Token {token_id} was already revoked.")
        return
    db.session.commit()
    click.echo(f"Revoked token {token_id} ({row.name}).")
