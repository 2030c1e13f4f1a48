"""Issues of the bulletin and their ordered items."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bulletin.extensions import db
from bulletin.models.catalogue import Bilingual, Opportunity, Workshop
from bulletin.models.media import Media
from bulletin.models.types import UTCDateTime, utcnow


class ItemKind(StrEnum):
    WORKSHOP = "workshop"
    OPPORTUNITY = "opportunity"
    NEWS = "news"


#: The sections an issue's items are grouped in, in the order readers see them unless the
#: issue chooses another (Issue.section_order).
SECTION_KEYS: tuple[str, ...] = ("workshops", "opportunities", "news")


class Issue(Bilingual, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    subject_en: Mapped[str | None] = mapped_column(String(200))
    subject_cy: Mapped[str | None] = mapped_column(String(200))
    preheader_en: Mapped[str | None] = mapped_column(String(250))
    preheader_cy: Mapped[str | None] = mapped_column(String(250))
    intro_en: Mapped[str | None] = mapped_column(Text)  #: Markdown
    intro_cy: Mapped[str | None] = mapped_column(Text)
    #: The issue's own order of its sections (keys of SECTION_KEYS, comma-separated); null
    #: means the usual order.
    section_order: Mapped[str | None] = mapped_column(String(100))
    #: Optimistic locking: a save names the version it edited; a stale one is refused.
    version: Mapped[int] = mapped_column(default=1)
    #: Set when the first send of the issue finishes (the issue has been sent).
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    #: Set while the issue is kept out of the public archive and feed: an editor unpublished
    #: it, or it has only gone to a segment. The archive page then answers 410.
    unpublished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The rhythm's date this issue was drafted for (core/rhythm.py): one issue per date.
    rhythm_date: Mapped[datetime | None] = mapped_column(UTCDateTime, unique=True)
    #: The date of the issue after this one: opportunities closing before it are marked
    #: "closing soon" (set when the rhythm drafts the issue).
    closing_soon_before: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When the rhythm skipped this draft because nobody approved it in time (auto mode).
    rhythm_skipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    items: Mapped[list[IssueItem]] = relationship(
        back_populates="issue", order_by="IssueItem.position", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_in_archive(self) -> bool:
        """Whether the public archive and feed show the issue."""
        return self.published_at is not None and self.unpublished_at is None

    def has_language(self, lang: str) -> bool:
        """Whether the issue has a subject in this language."""
        return bool(self.text("subject", lang))

    @property
    def sections(self) -> tuple[str, ...]:
        """Every section key, in this issue's order (unknown keys dropped, missing ones last)."""
        chosen = [k for k in (self.section_order or "").split(",") if k in SECTION_KEYS]
        chosen = list(dict.fromkeys(chosen))
        return (*chosen, *(k for k in SECTION_KEYS if k not in chosen))

    def reading_order(self) -> list[IssueItem]:
        """The items as readers see them: by section in the issue's order, then position."""
        rank = {key: index for index, key in enumerate(self.sections)}
        return sorted(
            self.items,
            key=lambda i: (rank.get(i.section, len(rank)), i.position, i.id or 0),
        )


class IssueItem(Bilingual, db.Model):
    """One entry of an issue: a workshop, an opportunity, or a free-text news item."""

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issue.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    section: Mapped[str] = mapped_column(String(30))  #: "workshops", "opportunities", "news"
    kind: Mapped[str] = mapped_column(String(20))
    workshop_id: Mapped[int | None] = mapped_column(ForeignKey("workshop.id", ondelete="CASCADE"))
    opportunity_id: Mapped[int | None] = mapped_column(
        ForeignKey("opportunity.id", ondelete="CASCADE")
    )
    #: News items carry their own text; catalogue items use the catalogue's.
    title_en: Mapped[str | None] = mapped_column(String(200))
    title_cy: Mapped[str | None] = mapped_column(String(200))
    body_en: Mapped[str | None] = mapped_column(Text)
    body_cy: Mapped[str | None] = mapped_column(Text)
    #: One image from the media library, shown with the item (a library image in use cannot
    #: be deleted: core/media.py checks, and the foreign key refuses).
    image_id: Mapped[int | None] = mapped_column(ForeignKey("media.id"), index=True)

    issue: Mapped[Issue] = relationship(back_populates="items")
    image: Mapped[Media | None] = relationship()
    workshop: Mapped[Workshop | None] = relationship()
    opportunity: Mapped[Opportunity | None] = relationship()
