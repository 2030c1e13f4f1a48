"""Shared by the delivery tests: seed many subscribers, make a send, run the senders."""

from __future__ import annotations

import itertools
from datetime import timedelta

from sqlalchemy import func, insert, select

from bulletin.delivery.engine import SendEngine
from bulletin.extensions import db
from bulletin.mail.settings import DeliverySettings
from bulletin.models import Delivery, Issue, Send, SendStatus, Subscriber, SubscriberStatus, utcnow

_batch = itertools.count(1)


def seed_subscribers(n: int, *, language: str = "en", region: str = "south-east-wales") -> None:
    """n confirmed subscribers in one executemany (no per-row ORM objects)."""
    tag = next(_batch)
    now = utcnow()
    rows = [
        {
            "email": f"r{tag}-{i}@example.com",
            "status": SubscriberStatus.CONFIRMED,
            "language": language,
            "region": region,
            "confirmed_at": now,
        }
        for i in range(n)
    ]
    db.session.execute(insert(Subscriber), rows)
    db.session.commit()


def make_issue_row(
    subject_en: str = "Research bulletin",
    subject_cy: str | None = "Bwletin ŵ ŷ",
    slug: str | None = None,
) -> Issue:
    issue = Issue(
        slug=slug or f"issue-{next(_batch)}",
        subject_en=subject_en,
        subject_cy=subject_cy,
        intro_en="Hello.",
        intro_cy="Helo ŵ ŷ â ô.",
    )
    db.session.add(issue)
    db.session.commit()
    return issue


def make_send(
    issue: Issue | None = None,
    *,
    audience: str = "{}",
    minutes_ago: float = 0,
    status: str = SendStatus.SCHEDULED,
) -> Send:
    send = Send(
        issue=issue or make_issue_row(),
        audience=audience,
        status=status,
        scheduled_at=utcnow() - timedelta(minutes=minutes_ago),
    )
    db.session.add(send)
    db.session.commit()
    return send


def configure(app, server=None, **overrides) -> DeliverySettings:
    """Point the app at a test SMTP server with fast retries; return its settings."""
    values = {
        "SEND_RETRY_SECONDS": 0.0,
        "SMTP_DOWN_PAUSE_SECONDS": 0.2,
        "WORKER_TICK_SECONDS": 0.1,
        "SEND_BATCH_SIZE": 50,
        "SMTP_CONNECTIONS": 2,
    }
    if server is not None:
        values["SMTP_URL"] = server.url
    values.update(overrides)
    app.config.update(values)
    return DeliverySettings.from_app(app)


def drain(app, settings: DeliverySettings, name: str = "test-worker") -> SendEngine:
    """Run the senders until nothing is claimable and every result is recorded."""
    engine = SendEngine(app, settings, name)
    engine.drain(timeout=120)
    return engine


def status_counts(send_id: int) -> dict[str, int]:
    db.session.expire_all()
    rows = db.session.execute(
        select(Delivery.status, func.count())
        .where(Delivery.send_id == send_id)
        .group_by(Delivery.status)
    ).all()
    return dict(rows)
