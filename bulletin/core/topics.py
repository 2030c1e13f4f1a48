"""The active topics readers choose from, kept in memory for a moment.

Every public form lists them, so each sign-up page would otherwise cost a query. Each process
keeps the list for at most FRESH_SECONDS; a commit that changed a topic in this process drops
it at once. So the editor who saved a topic sees it on the public pages straight away, and
every other process (the other gunicorn workers) within FRESH_SECONDS.
"""

from __future__ import annotations

import time
from typing import NamedTuple

from flask import current_app, has_app_context
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from bulletin.extensions import db
from bulletin.i18n import Language
from bulletin.models import Topic

#: How long another process's topic change may take to reach this process's pages.
FRESH_SECONDS = 2.0
_KEY = "bulletin.active_topics"
_clock = time.monotonic  # tests move it on


class ActiveTopic(NamedTuple):
    slug: str
    name_en: str
    name_cy: str

    def name(self, lang: str) -> str:
        """The topic's name in a language (as Topic.name)."""
        return self.name_cy if lang == Language.CY else self.name_en


def active_topics() -> tuple[ActiveTopic, ...]:
    """The active topics in their order; the same tuple object until the list may have changed
    (callers may key their own caches on it)."""
    cache = current_app.extensions.setdefault(_KEY, {})
    held = cache.get("topics")
    now = _clock()
    if held is not None and now < cache["until"]:
        return held
    query = (
        select(Topic.slug, Topic.name_en, Topic.name_cy)
        .where(Topic.is_active.is_(True))
        .order_by(Topic.position, Topic.id)
    )
    topics = tuple(ActiveTopic(*row) for row in db.session.execute(query))
    if topics != held:
        held = topics
    cache.update(topics=held, until=now + FRESH_SECONDS)
    return held


def forget_active_topics() -> None:
    """Read the topics afresh on next use (after this process changed one)."""
    if has_app_context():
        current_app.extensions.get(_KEY, {}).pop("topics", None)


@event.listens_for(Session, "after_flush")
def _note_topic_change(session: Session, flush_context) -> None:
    if any(
        isinstance(row, Topic)
        for rows in (session.new, session.dirty, session.deleted)
        for row in rows
    ):
        session.info["topics_changed"] = True


@event.listens_for(Session, "after_commit")
def _forget_after_commit(session: Session) -> None:
    if session.info.pop("topics_changed", False):
        forget_active_topics()


@event.listens_for(Session, "after_rollback")
def _nothing_changed(session: Session) -> None:
    session.info.pop("topics_changed", None)
