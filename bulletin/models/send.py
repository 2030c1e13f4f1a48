"""Sends of an issue to an audience, and one delivery row per recipient."""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum

from sqlalchemy import DDL, ForeignKey, Index, String, Text, UniqueConstraint, event, text
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bulletin.extensions import db
from bulletin.i18n import CODE_MAX
from bulletin.models.editor import Editor
from bulletin.models.issue import Issue
from bulletin.models.types import UTCDateTime, utcnow


class SendStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    DONE = "done"
    #: Its time passed more than SEND_GRACE_HOURS ago while no worker ran: an editor decides.
    MISSED = "missed"
    #: REQUIRE_APPROVAL: scheduled by one editor, waiting for a second one to approve it.
    AWAITING_APPROVAL = "awaiting-approval"


class DeliveryStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"  #: claimed by a sender (see claimed_by / claimed_until)
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"  #: unsubscribed, suppressed or erased before it went
    CANCELLED = "cancelled"  #: not sent because an editor cancelled the send


#: Statuses in which a delivery still has work to do.
OPEN_DELIVERY = (DeliveryStatus.QUEUED, DeliveryStatus.SENDING)


class Send(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issue.id", ondelete="CASCADE"), index=True)
    #: JSON {"topics": [slug...], "regions": [code...], "languages": [cy|en...]}; empty = all.
    audience: Mapped[str] = mapped_column(Text, default="{}")
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default=SendStatus.DRAFT)
    #: Deliveries materialised when the send started; the other counts are set when it ends.
    recipient_count: Mapped[int] = mapped_column(default=0)
    sent_count: Mapped[int] = mapped_column(default=0)
    failed_count: Mapped[int] = mapped_column(default=0)
    skipped_count: Mapped[int] = mapped_column(default=0)
    #: Leave out readers who already had this issue from an earlier send (see core/sends.py).
    exclude_already_sent: Mapped[bool] = mapped_column(default=True, server_default=sa_true())
    #: The editor's choice: put the issue in the public archive and feed when this send ends.
    publish: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("editor.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The second editor who approved the send (REQUIRE_APPROVAL), and when.
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("editor.id", ondelete="SET NULL"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    issue: Mapped[Issue] = relationship()
    created_by: Mapped[Editor | None] = relationship(foreign_keys=[created_by_id])
    approved_by: Mapped[Editor | None] = relationship(foreign_keys=[approved_by_id])

    __table_args__ = (
        Index(
            "ix_send_due",
            "scheduled_at",
            postgresql_where=text("status = 'scheduled'"),
            sqlite_where=text("status = 'scheduled'"),
        ),
    )

    @property
    def audience_filter(self) -> dict[str, list[str]]:
        """The audience as a dict of lists (topics, regions, languages); empty means all."""
        raw = json.loads(self.audience or "{}")
        return {key: list(raw.get(key) or []) for key in ("topics", "regions", "languages")}

    @property
    def is_open(self) -> bool:
        """Whether the send can still change (not done and not cancelled)."""
        return self.status not in (SendStatus.DONE, SendStatus.CANCELLED)


class Delivery(db.Model):
    """One recipient of one send: queued, then claimed with a lease, then final."""

    id: Mapped[int] = mapped_column(primary_key=True)
    #: No FOREIGN KEY on purpose: its per-row check was a third of the time to materialise
    #: a million deliveries on PostgreSQL. Rows are only inserted by materialise() under
    #: the send's row lock, sends are never deleted (an issue with sends cannot be), and
    #: retention deletes a send's deliveries explicitly.
    send_id: Mapped[int] = mapped_column()
    #: No FOREIGN KEY either, for the same reason: its per-row check (and the row lock it
    #: takes on every subscriber) was half the time left to materialise a million
    #: deliveries. Erasure and retention delete a subscriber's deliveries explicitly, and a
    #: delivery whose subscriber was erased while its send started is skipped at claim time.
    subscriber_id: Mapped[int] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(20), default=DeliveryStatus.QUEUED)
    language: Mapped[str] = mapped_column(String(CODE_MAX))  #: cy, en or i18n.BOTH
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_reply: Mapped[str | None] = mapped_column(String(500))
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    send: Mapped[Send] = relationship(
        primaryjoin="Delivery.send_id == Send.id", foreign_keys=[send_id]
    )

    __table_args__ = (
        UniqueConstraint("send_id", "subscriber_id", name="uq_delivery_send_subscriber"),
        # Only open rows are ever searched for work: the index stays small as sends finish.
        Index(
            "ix_delivery_due",
            "send_id",
            "id",
            postgresql_where=text("status IN ('queued', 'sending')"),
            sqlite_where=text("status IN ('queued', 'sending')"),
        ),
        # Claimed rows by the end of their lease: the recovery of expired leases reads only
        # the rows in flight, not the whole open queue.
        Index(
            "ix_delivery_leased",
            "claimed_until",
            postgresql_where=text("status = 'sending'"),
            sqlite_where=text("status = 'sending'"),
        ),
        # For the hourly rate and retention; unsent rows (all of them, at first) stay out.
        Index(
            "ix_delivery_sent_at",
            "sent_at",
            postgresql_where=text("sent_at IS NOT NULL"),
            sqlite_where=text("sent_at IS NOT NULL"),
        ),
    )


#: A send turns every delivery it sends into a dead tuple: vacuum the table after a few
#: thousand of them rather than after a fifth of the table (PostgreSQL's default), so that
#: index scans of the open queue do not wade through a whole send's worth of dead entries.
#: The migration that added ix_delivery_leased sets the same on existing databases.
DELIVERY_AUTOVACUUM = (
    "autovacuum_vacuum_scale_factor = 0.0, autovacuum_vacuum_threshold = 5000,"
    " autovacuum_analyze_scale_factor = 0.05"
)
event.listen(
    Delivery.__table__,
    "after_create",
    DDL(f"ALTER TABLE delivery SET ({DELIVERY_AUTOVACUUM})").execute_if(dialect="postgresql"),
)
