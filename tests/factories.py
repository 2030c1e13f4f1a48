"""Factories: fixtures that return callables making rows."""

from __future__ import annotations

import itertools

import pytest

from bulletin.extensions import db
from bulletin.models import Subscriber, SubscriberStatus, Topic, utcnow

_counter = itertools.count(1)


@pytest.fixture
def make_subscriber(app):
    def make(
        email: str | None = None,
        *,
        status: str = SubscriberStatus.CONFIRMED,
        language: str = "en",
        region: str = "south-east-wales",
        topics: list[str] | None = None,
        name: str | None = None,
    ) -> Subscriber:
        subscriber = Subscriber(
            email=email or f"reader{next(_counter)}@example.com",
            status=status,
            language=language,
            region=region,
            name=name,
            confirmed_at=utcnow() if status == SubscriberStatus.CONFIRMED else None,
        )
        slugs = topics if topics is not None else ["workshops"]
        subscriber.topics = list(Topic.query.filter(Topic.slug.in_(slugs)).all())
        db.session.add(subscriber)
        db.session.commit()
        return subscriber

    return make


# --- Editorial: editors, the catalogue and issues --------------------------------------------

EDITOR_PASSWORD = "correct horse battery staple"
_password_hashes: dict[str, str] = {}


@pytest.fixture
def make_editor(app):
    """make_editor(email=None, role="editor", password=EDITOR_PASSWORD) -> Editor."""
    from bulletin.core.editors import hash_password
    from bulletin.models import Editor

    def make(
        email: str | None = None,
        *,
        role: str = "editor",
        password: str = EDITOR_PASSWORD,
        name: str | None = None,
    ) -> Editor:
        if password not in _password_hashes:  # Argon2 is slow on purpose: hash once per run
            _password_hashes[password] = hash_password(password)
        editor = Editor(
            email=email or f"editor{next(_counter)}@example.org",
            role=role,
            name=name,
            password_hash=_password_hashes[password],
        )
        db.session.add(editor)
        db.session.commit()
        return editor

    return make


def sign_in(client, editor) -> None:
    """Put an editor's login in a test client's session (what the login form does)."""
    from bulletin.core.sessions import open_session

    open_session(editor)
    db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = editor.get_id()
        session["_fresh"] = True


@pytest.fixture
def editor_client(app, make_editor):
    """A test client signed in as an admin editor; the editor is `editor_client.editor`."""
    client = app.test_client()
    editor = make_editor("admin@example.org", role="admin", name="Admin")
    sign_in(client, editor)
    client.editor = editor
    return client


def _hours_from_now(hours: float):
    from datetime import timedelta

    return utcnow().replace(second=0, microsecond=0) + timedelta(hours=hours)


@pytest.fixture
def make_workshop(app):
    """make_workshop(title_en="...", starts_at=..., **columns) -> Workshop."""
    from datetime import timedelta

    from bulletin.models import Workshop

    def make(
        title_en: str | None = "Allyship in research",
        *,
        title_cy: str | None = None,
        starts_at=None,
        hours: float = 2,
        topics: list[str] | None = None,
        **columns,
    ) -> Workshop:
        number = next(_counter)
        starts = starts_at or _hours_from_now(24 * 7)
        workshop = Workshop(
            slug=columns.pop("slug", f"workshop-{number}"),
            title_en=title_en,
            title_cy=title_cy,
            starts_at=starts,
            ends_at=columns.pop("ends_at", starts + timedelta(hours=hours)),
            **columns,
        )
        if topics:
            workshop.topics = list(Topic.query.filter(Topic.slug.in_(topics)).all())
        db.session.add(workshop)
        db.session.commit()
        return workshop

    return make


@pytest.fixture
def make_opportunity(app):
    """make_opportunity(title_en="...", closes_at=..., kind="survey", **columns) -> Opportunity."""
    from bulletin.models import Opportunity

    def make(
        title_en: str | None = "Join our public panel",
        *,
        title_cy: str | None = None,
        closes_at=None,
        kind: str = "public-contributor",
        **columns,
    ) -> Opportunity:
        opportunity = Opportunity(
            slug=columns.pop("slug", f"opportunity-{next(_counter)}"),
            title_en=title_en,
            title_cy=title_cy,
            kind=kind,
            closes_at=closes_at if closes_at is not None else _hours_from_now(24 * 14),
            **columns,
        )
        db.session.add(opportunity)
        db.session.commit()
        return opportunity

    return make


@pytest.fixture
def make_issue(app):
    """make_issue(items=[Workshop | Opportunity | {"title_en": ..., "body_en": ...}], ...) -> Issue.

    Dicts become news items. `published_at=utcnow()` puts the issue in the public archive.
    """
    from bulletin.models import Issue, IssueItem, Opportunity, Workshop

    def make(
        subject_en: str | None = "Research bulletin",
        *,
        subject_cy: str | None = None,
        items: list | None = None,
        **columns,
    ) -> Issue:
        issue = Issue(
            slug=columns.pop("slug", f"issue-{next(_counter)}"),
            subject_en=subject_en,
            subject_cy=subject_cy,
            **columns,
        )
        for position, entry in enumerate(items or []):
            if isinstance(entry, Workshop):
                item = IssueItem(section="workshops", kind="workshop", workshop=entry)
            elif isinstance(entry, Opportunity):
                item = IssueItem(section="opportunities", kind="opportunity", opportunity=entry)
            else:
                item = IssueItem(section="news", kind="news", **entry)
            item.position = position
            issue.items.append(item)
        db.session.add(issue)
        db.session.commit()
        return issue

    return make


@pytest.fixture
def make_fixed_issue(make_workshop, make_opportunity, make_issue):
    """make_fixed_issue() -> Issue: the same catalogue and issue every time (fixed slugs, dates,
    Welsh and English text), for snapshots of the mail."""
    from datetime import UTC, datetime

    def make():
        workshop = make_workshop(
            "Involving the public in research",
            title_cy="Cynnwys y cyhoedd mewn ymchwil",
            slug="snapshot-workshop",
            starts_at=datetime(2031, 5, 14, 9, 30, tzinfo=UTC),
            hours=3,
            summary_en="A morning on working with public contributors.",
            summary_cy="Bore ar weithio gyda chyfranwyr cyhoeddus.",
            venue_en="Cardiff",
            venue_cy="Caerdydd",
            has_step_free_access=True,
            has_bsl=True,
        )
        opportunity = make_opportunity(
            "Join our public panel",
            title_cy="Ymunwch â'n panel cyhoeddus",
            slug="snapshot-opportunity",
            closes_at=datetime(2031, 6, 30, 17, 0, tzinfo=UTC),
            summary_en="Help shape studies on social care.",
            summary_cy="Helpwch i lunio astudiaethau ar ofal cymdeithasol.",
            url="https://example.org/panel",
        )
        return make_issue(
            "Research bulletin: May",
            subject_cy="Bwletin ymchwil: Mai",
            slug="snapshot-issue",
            intro_en="Welcome to **May's** bulletin.",
            intro_cy="Croeso i fwletin **Mai**.",
            published_at=datetime(2031, 5, 1, 8, 0, tzinfo=UTC),
            items=[
                workshop,
                opportunity,
                {
                    "title_en": "New guidance",
                    "title_cy": "Canllawiau newydd",
                    "body_en": "Read the [new guidance](https://example.org/guidance).",
                    "body_cy": "Darllenwch y [canllawiau newydd](https://example.org/canllawiau).",
                },
            ],
        )

    return make
