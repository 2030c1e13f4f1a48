"""Subscribers, their topics and their append-only consent trail."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from bulletin.core.addresses import address_key
from bulletin.extensions import db
from bulletin.i18n import CODE_MAX, Language
from bulletin.models.types import UTCDateTime, utcnow


class SubscriberStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    UNSUBSCRIBED = "unsubscribed"
    CLEANED = "cleaned"


subscriber_topic = Table(
    "subscriber_topic",
    db.metadata,
    Column("subscriber_id", ForeignKey("subscriber.id", ondelete="CASCADE"), primary_key=True),
    Column("topic_id", ForeignKey("topic.id", ondelete="CASCADE"), primary_key=True),
    #: The subscriber list's topic filter and counts go from topic to subscribers.
    Index("ix_subscriber_topic_topic_id", "topic_id"),
)


class Topic(db.Model):
    """A subject readers can choose; editors manage the list."""

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name_en: Mapped[str] = mapped_column(String(120))
    name_cy: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(default=True)

    def name(self, lang: str) -> str:
        """The topic's name in a language."""
        return self.name_cy if lang == Language.CY else self.name_en


def _key_of_inserted(context) -> str:
    # Column default: every INSERT that names no key (ORM, Core, executemany) gets the key of
    # its email, so no path that creates subscribers can forget it.
    return address_key(context.get_current_parameters()["email"])


class Subscriber(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    #: Random public identifier carried in tokens; never reused, unlike integer ids.
    uid: Mapped[str] = mapped_column(String(32), unique=True, default=lambda: uuid.uuid4().hex)
    #: The address as typed (domain lower-cased and IDNA-encoded): where mail goes.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    #: The mailbox's identity (core.addresses.address_key): unique, used by every look-up.
    email_key: Mapped[str] = mapped_column(String(320), default=_key_of_inserted)
    name: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default=SubscriberStatus.PENDING)
    language: Mapped[str] = mapped_column(String(CODE_MAX), default=Language.EN)
    region: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    topics: Mapped[list[Topic]] = relationship(secondary=subscriber_topic, order_by=Topic.position)

    __table_args__ = (
        Index("ix_subscriber_status_language", "status", "language"),
        Index("ix_subscriber_email_key", "email_key", unique=True),
        # The admin subscriber list's filters (core/subscriber_list.py); its part-of-address
        # search uses trigram indexes that exist on PostgreSQL only (migration b4e8d2f1a6c3).
        Index("ix_subscriber_region", "region"),
        Index("ix_subscriber_created_at", "created_at"),
    )

    @validates("email")
    def _keep_key(self, _name: str, email: str) -> str:
        self.email_key = address_key(email)
        return email

    @property
    def is_mailable(self) -> bool:
        """Whether bulk mail may go to this subscriber."""
        return self.status == SubscriberStatus.CONFIRMED


class ConsentWording(db.Model):
    """The exact consent text shown at sign-up, one row per version and language."""

    version: Mapped[str] = mapped_column(String(40), primary_key=True)
    language: Mapped[str] = mapped_column(String(2), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConsentEvent(db.Model):
    """Append-only record of what a person agreed to or withdrew, when and how."""

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Null once the subscriber is erased; subject_uid still groups the trail.
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscriber.id", ondelete="SET NULL"), index=True
    )
    subject_uid: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[str] = mapped_column(String(30))  #: signup, confirm, preferences, unsubscribe...
    wording_version: Mapped[str | None] = mapped_column(String(40))
    language: Mapped[str | None] = mapped_column(String(CODE_MAX))  #: the reader's choice then
    source: Mapped[str] = mapped_column(String(120))  #: e.g. "web:/subscribe", "one-click"
    ip_hash: Mapped[str | None] = mapped_column(String(64))
    #: JSON of what was submitted, never the address itself.
    details: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The send whose mail the reader unsubscribed from (its signed unsubscribe link named
    #: it): what a send's report counts (core/send_report.py). Null for everything else.
    send_id: Mapped[int | None] = mapped_column(ForeignKey("send.id", ondelete="SET NULL"))

    __table_args__ = (
        # The insights page counts events of a kind by week (core/insights.py).
        Index("ix_consent_event_kind_created_at", "kind", "created_at"),
        # Only attributed unsubscribes carry a send: the index stays as small as they are.
        Index(
            "ix_consent_event_send_id",
            "send_id",
            postgresql_where=text("send_id IS NOT NULL"),
            sqlite_where=text("send_id IS NOT NULL"),
        ),
    )
