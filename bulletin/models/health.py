"""Delivery-health alerts: raised when complaints or hard bounces pass their limits."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Float, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from bulletin.extensions import db
from bulletin.models.types import UTCDateTime, utcnow


class AlertScope(StrEnum):
    SEND = "send"  #: the last finished send
    RECENT = "recent"  #: every bulk delivery of the last RECENT_DAYS days (core/health.py)


class AlertMetric(StrEnum):
    COMPLAINTS = "complaints"
    HARD_BOUNCES = "hard-bounces"


class HealthAlert(db.Model):
    """One alert, open (cleared_at null) while its rate stays over the limit.

    The editor pages' banner reads the open rows (a handful at most), so no page view
    computes a rate; the worker's health check writes them (core/alerts.py).
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(20))
    metric: Mapped[str] = mapped_column(String(20))
    #: The send the figures are about (scope "send"); sends are never deleted.
    send_id: Mapped[int | None] = mapped_column()
    rate: Mapped[float] = mapped_column(Float)  #: count / base, 0.002 for 0.2 %
    count: Mapped[int] = mapped_column()  #: complaints or hard bounces
    base: Mapped[int] = mapped_column()  #: deliveries the rate is of
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: When the admins were emailed (once per alert).
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_health_alert_scope_metric", "scope", "metric", "cleared_at"),)
