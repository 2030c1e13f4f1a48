"""Editors, their API tokens, and the audit log of editorial changes."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bulletin.extensions import db
from bulletin.models.types import UTCDateTime, utcnow

#: Per-account throttle: after `free` wrong passwords in a row, each further one pauses the
#: account's password checks for `first` seconds, doubling per failure up to `cap` seconds.
#: The cap is short so that a stranger guessing cannot lock an editor out for long.
THROTTLE = (5, 1, 300)


class Role(StrEnum):
    ADMIN = "admin"
    EDITOR = "editor"


class Editor(UserMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default=Role.EDITOR)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active_account: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Wrong passwords since the last right one (sign-in and the change-password page).
    failed_login_count: Mapped[int] = mapped_column(default=0, server_default="0")
    last_failed_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    #: The key of the session this request runs in (set by the user loader; not stored:
    #: the editor_session table keeps only its hash), and that session's row as it loaded.
    session_key = None
    session_row = None

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.is_active_account

    def get_id(self) -> str:  # Flask-Login: the editor and the server-side session together
        if not self.session_key:
            raise RuntimeError("open a session (editorial.sessions.open_session) before login_user")
        return f"{self.id}:{self.session_key}"

    def password_checks_paused_until(self) -> datetime | None:
        """When the next password check is allowed, if failures pause it now (see THROTTLE)."""
        free, first, cap = THROTTLE
        if self.failed_login_count < free or self.last_failed_login_at is None:
            return None
        delay = min(first * 2 ** (self.failed_login_count - free), cap)
        return self.last_failed_login_at + timedelta(seconds=delay)


class EditorSession(db.Model):
    """A signed-in browser: the cookie carries the key, this row its hash and its times.

    Deleting the row ends the session for good, whatever copies of the cookie exist.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    editor_id: Mapped[int] = mapped_column(ForeignKey("editor.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)  #: SHA-256 of the key
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    editor: Mapped[Editor] = relationship()


class ApiToken(db.Model):
    """A bearer token for /api/v1, stored as a SHA-256 hash; admins issue and revoke."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    editor_id: Mapped[int] = mapped_column(ForeignKey("editor.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: What the token may do: scope names separated by spaces (core/api_tokens.py SCOPES).
    scopes: Mapped[str] = mapped_column(String(200))

    editor: Mapped[Editor] = relationship()


class AuditLog(db.Model):
    """Who changed what, when: one row per editorial change."""

    id: Mapped[int] = mapped_column(primary_key=True)
    editor_id: Mapped[int | None] = mapped_column(ForeignKey("editor.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(60))  #: e.g. "workshop.create", "send.schedule"
    target_type: Mapped[str | None] = mapped_column(String(40))
    target_id: Mapped[int | None]
    detail: Mapped[str | None] = mapped_column(Text)  #: JSON
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    editor: Mapped[Editor | None] = relationship()
