"""The bulletin's rhythm: when issues go out, and how the worker drafts them (one row)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bulletin.extensions import db
from bulletin.models.types import UTCDateTime, utcnow


class RhythmFrequency(StrEnum):
    WEEKLY = "weekly"  #: every week on `weekday`
    MONTHLY = "monthly"  #: the `week`th `weekday` of each month (-1: the last)


class RhythmMode(StrEnum):
    #: An editor approves each draft; an unapproved one waits for them.
    APPROVE = "approve"
    #: An approved draft goes at its time; one nobody approved by then is skipped.
    AUTO = "auto"


class Rhythm(db.Model):
    """One row: the bulletin's rhythm in Europe/London wall-clock time (core/rhythm.py)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    frequency: Mapped[str] = mapped_column(String(20), default=RhythmFrequency.WEEKLY)
    weekday: Mapped[int] = mapped_column(default=0)  #: 0 Monday ... 6 Sunday
    week: Mapped[int] = mapped_column(default=1)  #: monthly: 1-4, or -1 for the last
    hour: Mapped[int] = mapped_column(default=9)
    minute: Mapped[int] = mapped_column(default=0)
    #: The default audience, as a send stores it (core/sends.py audience_json).
    audience: Mapped[str] = mapped_column(Text, default="{}")
    intro_en: Mapped[str | None] = mapped_column(Text)
    intro_cy: Mapped[str | None] = mapped_column(Text)
    days_before: Mapped[int] = mapped_column(default=3)
    mode: Mapped[str] = mapped_column(String(20), default=RhythmMode.APPROVE)
    #: The latest issue date the worker has dealt with (drafted, or skipped and said so):
    #: claimed by a compare-and-set update, so two workers never deal with one date twice.
    handled_through: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
