"""Factories: fixtures that return callables making rows."""

from __future__ import annotations

import itertools

import pytest

from bulletin.extensions import db
from bulletin.models import Subscriber, SubscriberStatus, Topic, utcnow

_counter = itertools.count(1)


@pytest.fixture
def make_subscriber(app):
    def make(email: str | None = None, *, status: str = SubscriberStatus.CONFIRMED,
             language: str = "en", region: str = "south-east-wales",
             topics: list[str] | None = None, name: str | None = None) -> Subscriber:
        subscriber = Subscriber(
            email=email or f"reader{next(_counter)}@example.com", status=status,
            language=language, region=region, name=name,
            confirmed_at=utcnow() if status == SubscriberStatus.CONFIRMED else None,
        )
        slugs = topics if topics is not None else ["workshops"]
        subscriber.topics = list(Topic.query.filter(Topic.slug.in_(slugs)).all())
        db.session.add(subscriber)
        db.session.commit()
        return subscriber

    return make
