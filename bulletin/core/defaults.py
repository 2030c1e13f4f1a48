"""Rows every installation starts with: the default topics and the consent wording."""

from __future__ import annotations

from sqlalchemy import select

from bulletin.core.consent import ensure_wording
from bulletin.extensions import db
from bulletin.models import Topic

#: (slug, English, Welsh)
DEFAULT_TOPICS = [
    ("workshops", "Workshops and events", "Gweithdai a digwyddiadau"),
    ("public-involvement", "Public involvement opportunities", "Cyfleoedd cynnwys y cyhoedd"),
    ("studies-surveys", "Research studies and surveys", "Astudiaethau ymchwil ac arolygon"),
    ("news", "News", "Newyddion"),
]


def ensure_defaults() -> None:
    """Insert the default topics and consent wording where missing (idempotent)."""
    existing = set(db.session.scalars(select(Topic.slug)))
    for position, (slug, name_en, name_cy) in enumerate(DEFAULT_TOPICS):
        if slug not in existing:
            db.session.add(Topic(slug=slug, name_en=name_en, name_cy=name_cy, position=position))
    ensure_wording()
    db.session.commit()
