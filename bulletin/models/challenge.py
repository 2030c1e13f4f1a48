"""Spent proof-of-work challenges: each solved challenge is accepted once (no replay)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from bulletin.extensions import db
from bulletin.models.types import UTCDateTime


class SpentChallenge(db.Model):
    """A challenge already used for a sign-up; kept until it would have expired anyway."""

    #: The challenge: hex SHA-256 of its salt and the answer, unique per issued challenge.
    challenge: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
