"""Outgoing webhooks: the endpoints admins register, and the outbox of signed deliveries."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bulletin.extensions import db
from bulletin.models.types import UTCDateTime, utcnow


class WebhookEndpoint(db.Model):
    """A receiver's URL, the events it wants, and the secret that signs what it gets."""

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(200), default="")
    #: Space-separated event types (see core/webhooks.py EVENT_TYPES).
    event_types: Mapped[str] = mapped_column(Text, default="")
    #: whsec_<base64>: kept in clear, since it signs every delivery (as a DKIM key would).
    secret: Mapped[str] = mapped_column(String(100))
    #: The secret before the last rotation: deliveries carry both signatures until then.
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    active: Mapped[bool] = mapped_column(default=True)
    #: Set when the worker gave up (3 days of failures) or an admin switched it off.
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: "failing" (the worker gave up: the admin page shows a flag) or "admin".
    disabled_reason: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def types(self) -> list[str]:
        return self.event_types.split()


class WebhookDeliveryStatus(StrEnum):
    PENDING = "pending"  #: waiting for its next attempt (or claimed: see claimed_until)
    DELIVERED = "delivered"  #: the receiver answered 2xx
    FAILED = "failed"  #: retried for WEBHOOK_RETRY_HOURS, or its endpoint was disabled


class WebhookDelivery(db.Model):
    """One event for one endpoint: written in the transaction of the event, sent by the worker."""

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoint.id", ondelete="CASCADE"), index=True
    )
    #: The webhook-id header: the same on every retry, so receivers can drop repeats.
    msg_id: Mapped[str] = mapped_column(String(40), unique=True)
    event_type: Mapped[str] = mapped_column(String(40))
    #: The reader the payload names, so that erasure deletes it (no FOREIGN KEY: a cleaned
    #: reader's row may go before the delivery does).
    subscriber_id: Mapped[int | None] = mapped_column(index=True)
    #: The JSON body, exactly as signed and sent.
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=WebhookDeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None] = mapped_column()
    #: A timeout, a refused connection, or the first 1 KB of the receiver's answer.
    last_response: Mapped[str | None] = mapped_column(Text)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    endpoint: Mapped[WebhookEndpoint] = relationship()

    __table_args__ = (
        Index(
            "ix_webhook_delivery_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        Index("ix_webhook_delivery_log", "endpoint_id", "id"),
    )
