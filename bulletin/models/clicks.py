"""Aggregate click counts: one row per link of a send, and never anything about a reader."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bulletin.extensions import db
from bulletin.models.types import UTCDateTime, utcnow


class ClickLink(db.Model):
    """A link in one send's mail, behind /r/<token>: where it goes and how often it was
    followed. The token names (send_id, id); the target is read from here, never from it."""

    __tablename__ = "click_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    send_id: Mapped[int] = mapped_column(ForeignKey("send.id", ondelete="CASCADE"))
    #: sha256 of (item, target): every render of the send (each language, each worker)
    #: finds the same row for the same link.
    link_key: Mapped[str] = mapped_column(String(64))
    #: Where the item comes in the issue as readers see it (0: the introduction).
    item_order: Mapped[int] = mapped_column(default=0)
    #: "intro", "workshop", "opportunity" or "news".
    item_kind: Mapped[str] = mapped_column(String(20))
    #: The workshop's or opportunity's id; None for news and the introduction.
    item_id: Mapped[int | None] = mapped_column()
    #: The issue item the link sat in (news items have no other identity).
    issue_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("issue_item.id", ondelete="SET NULL")
    )
    #: "more" (the item's page), "booking", "calendar" or "text" (a link in its Markdown).
    role: Mapped[str] = mapped_column(String(20))
    target: Mapped[str] = mapped_column(Text)
    #: Followed by a person, as far as we can tell (see core/clicks.py for the rules).
    clicks: Mapped[int] = mapped_column(default=0)
    #: Fetched by a link scanner or preview bot: counted apart, never as a click.
    scanner_hits: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("send_id", "link_key", name="uq_click_link_send_key"),
        Index("ix_click_link_item", "item_kind", "item_id"),
    )
