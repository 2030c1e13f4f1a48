"""Bounce and complaint decisions, and the ledger of inbound messages already handled."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bulletin.extensions import db
from bulletin.models.types import UTCDateTime, utcnow


class BounceAction(StrEnum):
    """What the policy did with an inbound report."""

    CLEANED = "cleaned"  #: hard bounce, or the soft-bounce limit reached: cleaned + suppressed
    SUPPRESSED = "suppressed"  #: an address with no subscriber row was suppressed
    COUNTED = "counted"  #: a soft bounce below the limit
    RESET = "reset"  #: a delivered report: the soft-bounce count starts again
    UNSUBSCRIBED = "unsubscribed"  #: a complaint or a mailto: unsubscribe
    ALERT = "alert"  #: the fault is ours (policy, reputation, authentication): nobody changed
    NONE = "none"  #: nothing to do (auto-reply, not a bounce, already handled)
    #: About nobody we know: a proof whose delivery or reader is gone, or a provider's report
    #: about an address that is no subscriber's.
    UNMATCHED = "unmatched"
    #: No proof that we sent that message to that reader (a signed VERP or mailto token, or
    #: a Message-ID whose MAC verifies): recorded for admins, nobody changed.
    UNPROVEN = "unproven"


class BounceEvent(db.Model):
    """One decision taken on a bounce, complaint or unsubscribe mail (what, about whom, why)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    #: Null once the subscriber is erased (the event stays, with no address in it).
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscriber.id", ondelete="SET NULL"), index=True
    )
    #: The delivery the VERP token or Message-ID named; null when unknown or purged.
    delivery_id: Mapped[int | None] = mapped_column(
        ForeignKey("delivery.id", ondelete="SET NULL"), index=True
    )
    #: hard / soft / complaint / auto-reply / delivered / not-bounce / unsubscribe /
    #: unclassified (the classifier did not finish: see bounces/pool.py)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str | None] = mapped_column(String(20))  #: enhanced status code, e.g. 5.1.1
    #: The remote server's words, with the recipient's address masked.
    diagnostic: Mapped[str | None] = mapped_column(Text)
    feedback_type: Mapped[str | None] = mapped_column(String(40))
    is_sender_fault: Mapped[bool] = mapped_column(default=False)
    #: smtp / mbox / maildir / imap / ses / postmark
    source: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(20))
    #: HMAC of the address the report is about (never the address itself).
    recipient_hash: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_bounce_event_subscriber_kind", "subscriber_id", "kind", "created_at"),
    )


class InboundMessage(db.Model):
    """A message or webhook notification already processed: seen twice, it changes nothing."""

    id: Mapped[int] = mapped_column(primary_key=True)
    #: sha256 of Message-ID + content digest, or of the provider's notification id.
    key: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[str] = mapped_column(String(20))
    bounce_event_id: Mapped[int | None] = mapped_column(
        ForeignKey("bounce_event.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)
