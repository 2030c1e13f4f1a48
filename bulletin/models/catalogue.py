"""The catalogue: workshops and opportunities, with text in Cymraeg and English."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bulletin.extensions import db
from bulletin.i18n import other_language
from bulletin.models.subscriber import Topic
from bulletin.models.types import UTCDateTime, utcnow

workshop_topic = Table(
    "workshop_topic",
    db.metadata,
    Column("workshop_id", ForeignKey("workshop.id", ondelete="CASCADE"), primary_key=True),
    Column("topic_id", ForeignKey("topic.id", ondelete="CASCADE"), primary_key=True),
)

opportunity_topic = Table(
    "opportunity_topic",
    db.metadata,
    Column("opportunity_id", ForeignKey("opportunity.id", ondelete="CASCADE"), primary_key=True),
    Column("topic_id", ForeignKey("topic.id", ondelete="CASCADE"), primary_key=True),
)


class Bilingual:
    """Columns `<field>_en` / `<field>_cy`; either language may be missing."""

    def text(self, field: str, lang: str) -> str | None:
        """The field in a language, or None when that language is missing."""
        return getattr(self, f"{field}_{lang}") or None

    def text_with_fallback(self, field: str, lang: str) -> tuple[str | None, str]:
        """(text, language it is in): the other language when this one is missing."""
        own = self.text(field, lang)
        if own:
            return own, lang
        other = other_language(lang)
        return self.text(field, other), other

    def has_language(self, lang: str) -> bool:
        """Whether the item has its title in this language."""
        return bool(self.text("title", lang))


class Workshop(Bilingual, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    title_en: Mapped[str | None] = mapped_column(String(200))
    title_cy: Mapped[str | None] = mapped_column(String(200))
    summary_en: Mapped[str | None] = mapped_column(Text)
    summary_cy: Mapped[str | None] = mapped_column(Text)
    body_en: Mapped[str | None] = mapped_column(Text)  #: Markdown
    body_cy: Mapped[str | None] = mapped_column(Text)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    is_online: Mapped[bool] = mapped_column(default=False)
    venue_en: Mapped[str | None] = mapped_column(Text)  #: address, when in person
    venue_cy: Mapped[str | None] = mapped_column(Text)
    has_step_free_access: Mapped[bool] = mapped_column(default=False)
    has_bsl: Mapped[bool] = mapped_column(default=False)
    has_hearing_loop: Mapped[bool] = mapped_column(default=False)
    has_captions: Mapped[bool] = mapped_column(default=False)
    has_quiet_room: Mapped[bool] = mapped_column(default=False)
    accessibility_en: Mapped[str | None] = mapped_column(Text)
    accessibility_cy: Mapped[str | None] = mapped_column(Text)
    partners: Mapped[str | None] = mapped_column(Text)  #: partner organisations, one per line
    booking_url: Mapped[str | None] = mapped_column(String(1000))
    booking_deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    region: Mapped[str | None] = mapped_column(String(40))
    is_archived: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    topics: Mapped[list[Topic]] = relationship(secondary=workshop_topic)


class OpportunityKind(StrEnum):
    PUBLIC_CONTRIBUTOR = "public-contributor"
    RESEARCH_STUDY = "research-study"
    SURVEY = "survey"
    CONSULTATION = "consultation"
    OTHER = "other"


class Opportunity(Bilingual, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(30), default=OpportunityKind.OTHER)
    title_en: Mapped[str | None] = mapped_column(String(200))
    title_cy: Mapped[str | None] = mapped_column(String(200))
    summary_en: Mapped[str | None] = mapped_column(Text)
    summary_cy: Mapped[str | None] = mapped_column(Text)
    body_en: Mapped[str | None] = mapped_column(Text)
    body_cy: Mapped[str | None] = mapped_column(Text)
    payment_en: Mapped[str | None] = mapped_column(Text)  #: payment and expenses
    payment_cy: Mapped[str | None] = mapped_column(Text)
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    url: Mapped[str | None] = mapped_column(String(1000))
    region: Mapped[str | None] = mapped_column(String(40))
    is_archived: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    topics: Mapped[list[Topic]] = relationship(secondary=opportunity_topic)
