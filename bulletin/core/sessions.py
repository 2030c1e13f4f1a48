"""Server-side editor sessions: the cookie names a row, and only a live row opens anything.

Signing out deletes the row, so a copy of the cookie is refused from then on; a password
change and disabling an account delete all of an editor's rows. A row also dies after
SESSION_IDLE_HOURS without a request and SESSION_MAX_DAYS after sign-in.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, or_, select

from bulletin.extensions import db
from bulletin.models import Editor, EditorSession, utcnow

#: last_seen_at is written at most this often, so a busy editor does not write on every click.
TOUCH_EVERY = timedelta(minutes=1)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _limits() -> tuple[timedelta, timedelta]:
    config = current_app.config
    return (
        timedelta(hours=config["SESSION_IDLE_HOURS"]),
        timedelta(days=config["SESSION_MAX_DAYS"]),
    )


def _is_alive(row: EditorSession, now: datetime) -> bool:
    idle, lifetime = _limits()
    return now - row.last_seen_at < idle and now - row.created_at < lifetime


def open_session(editor: Editor) -> None:
    """Start a session for the editor; `editor.get_id()` then names it (the caller commits)."""
    _drop_expired(editor)
    key = secrets.token_urlsafe(32)
    row = EditorSession(editor_id=editor.id, key_hash=_digest(key))
    db.session.add(row)
    editor.session_key, editor.session_row = key, row


def load_editor(user_id: str) -> Editor | None:
    """The active editor of a live session named by `<editor id>:<session key>`, else None."""
    editor_id, _, key = user_id.partition(":")
    if not editor_id.isdigit() or not key:
        return None
    row = db.session.scalar(
        select(EditorSession)
        .where(EditorSession.key_hash == _digest(key))
        .execution_options(populate_existing=True)  # another process may have touched it
    )
    if row is None or row.editor_id != int(editor_id) or not _is_alive(row, utcnow()):
        return None
    editor = db.session.get(Editor, row.editor_id)
    if editor is None or not editor.is_active:
        return None
    editor.session_key, editor.session_row = key, row
    return editor


def touch_session(editor: Editor) -> None:
    """Record activity on the editor's current session (commits, at most once a minute).

    Uses the row the user loader read for this request: no second query per page."""
    now = utcnow()
    row = editor.session_row
    if row is not None and now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        db.session.commit()


def end_session(editor: Editor) -> None:
    """End the session this request runs in (the caller commits)."""
    if editor.session_key:
        db.session.execute(
            delete(EditorSession).where(EditorSession.key_hash == _digest(editor.session_key))
        )
    editor.session_key = editor.session_row = None


def end_all_sessions(editor: Editor) -> None:
    """End every session of the editor, on every device (the caller commits)."""
    db.session.execute(delete(EditorSession).where(EditorSession.editor_id == editor.id))
    editor.session_key = editor.session_row = None


def _drop_expired(editor: Editor) -> None:
    # Rows of sessions that can no longer open anything; tidied when the editor signs in.
    idle, lifetime = _limits()
    now = utcnow()
    db.session.execute(
        delete(EditorSession).where(
            EditorSession.editor_id == editor.id,
            or_(
                EditorSession.last_seen_at <= now - idle, EditorSession.created_at <= now - lifetime
            ),
        )
    )
