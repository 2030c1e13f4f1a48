"""Editors, their API tokens, and the audit log of editorial changes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow


class Role(StrEnum):
    ADMIN = "admin"
    EDITOR = "editor"


class Editor(UserMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default=Role.EDITOR)
    password_hash: Mapped[str] = mapped_column(String(255))
    #: Changes with every password change: sessions carry it, so old sessions die.
    session_version: Mapped[int] = mapped_column(default=1)
    is_active_account: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.is_active_account

    def get_id(self) -> str:  # Flask-Login: id and session version together
        return f"{self.id}:{self.session_version}"


class ApiToken(db.Model):
    """A bearer token for /api/v1, stored as a SHA-256 hash; admins issue and revoke."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    editor_id: Mapped[int] = mapped_column(ForeignKey("editor.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

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
