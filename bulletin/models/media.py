"""The media library (images editors upload) and the masthead that may show one as a logo."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bulletin.extensions import db
from bulletin.models.types import UTCDateTime, utcnow


class Media(db.Model):
    """One re-encoded image: its bytes live in the media storage under `name`."""

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Content-addressed file name (a digest of the stored bytes and the extension): the
    #: public URL is /media/<name>, so a changed image is a new URL and caches never go stale.
    name: Mapped[str] = mapped_column(String(80), unique=True)
    content_type: Mapped[str] = mapped_column(String(40))
    width: Mapped[int]
    height: Mapped[int]
    size_bytes: Mapped[int]
    #: Alt text in each language; both are required (an image says the same to every reader).
    alt_cy: Mapped[str] = mapped_column(String(300))
    alt_en: Mapped[str] = mapped_column(String(300))
    original_filename: Mapped[str | None] = mapped_column(String(200))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("editor.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def alt(self, lang: str) -> str:
        """The alt text in a language (both are required, so never empty)."""
        return self.alt_cy if lang == "cy" else self.alt_en


class Masthead(db.Model):
    """The top of issue emails and archive pages: one row (id 1), absent until first saved."""

    id: Mapped[int] = mapped_column(primary_key=True)
    logo_id: Mapped[int | None] = mapped_column(ForeignKey("media.id"))
    #: "#rrggbb"; the pair is checked for WCAG contrast (4.5:1) before it is saved.
    background_colour: Mapped[str] = mapped_column(String(7))
    text_colour: Mapped[str] = mapped_column(String(7))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    logo: Mapped[Media | None] = relationship()
