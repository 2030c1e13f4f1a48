"""The public topic list is held in memory briefly (core/topics.py): changes still show."""

from __future__ import annotations

from bulletin.core import topics
from bulletin.core.catalogue import save_topic
from bulletin.extensions import db
from bulletin.models import Topic
from tests.conftest import csrf_token


def _topic(slug: str) -> Topic:
    return db.session.scalar(db.select(Topic).filter_by(slug=slug))


def test_an_editors_topic_change_shows_at_once_in_their_process(editor_client):
    assert "Workshops" in editor_client.get("/subscribe").text  # the list is now held
    page = editor_client.get("/editor/admin/topics/new")
    response = editor_client.post(
        "/editor/admin/topics/new",
        data={
            "csrf_token": csrf_token(page.text),
            "name_en": "Mental health",
            "name_cy": "Iechyd meddwl",
            "is_active": "y",
        },
    )
    assert response.status_code == 303
    assert "Mental health" in editor_client.get("/subscribe").text
    assert "Iechyd meddwl" in editor_client.get("/subscribe?lang=cy").text


def test_a_deactivated_topic_leaves_the_form_and_is_refused(app, client):
    assert 'value="workshops"' in client.get("/subscribe").text
    save_topic(_topic("workshops"), {"name_en": "Workshops", "name_cy": "Gweithdai"})
    db.session.commit()
    page = client.get("/subscribe").text
    assert 'value="workshops"' not in page
    response = client.post(
        "/subscribe",
        data={
            "csrf_token": csrf_token(page),
            "email": "ann@example.org",
            "topics": ["workshops"],
            "region": "mid-wales",
            "language": "en",
            "consent": "y",
        },
    )
    assert response.status_code == 400


def test_a_rolled_back_change_is_not_shown(app, client):
    assert "Workshops" in client.get("/subscribe").text
    _topic("workshops").name_en = "Renamed, then rolled back"
    db.session.flush()
    db.session.rollback()
    assert "Renamed, then rolled back" not in client.get("/subscribe").text


def test_another_process_change_shows_within_the_fresh_period(app, client, make_app, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(topics, "_clock", lambda: now[0])
    assert "Workshops" in client.get("/subscribe").text
    other = make_app()  # another gunicorn worker on the same database
    with other.app_context():
        _topic("workshops").name_en = "Workshops and seminars"
        db.session.commit()
    assert "Workshops and seminars" not in client.get("/subscribe").text  # still held here
    now[0] += topics.FRESH_SECONDS
    assert "Workshops and seminars" in client.get("/subscribe").text


def test_the_same_list_object_until_it_changes(app, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(topics, "_clock", lambda: now[0])
    first = topics.active_topics()
    now[0] += topics.FRESH_SECONDS
    assert topics.active_topics() is first  # read again, unchanged: callers' caches still hold
    _topic("news").name_cy = "Newyddion a mwy"
    db.session.commit()
    changed = topics.active_topics()
    assert changed is not first
    assert [t.name("cy") for t in changed if t.slug == "news"] == ["Newyddion a mwy"]


def test_the_kept_form_fields_follow_language_and_topics(app, client):
    english = client.get("/subscribe").text
    assert client.head("/subscribe").status_code == 200
    welsh = client.get("/subscribe?lang=cy").text
    assert "Newyddion" in welsh and "Newyddion" not in english
    save_topic(None, {"name_en": "Dementia", "name_cy": "Dementia a mwy", "is_active": "y"})
    db.session.commit()
    assert "Dementia a mwy" in client.get("/subscribe").text  # this client now reads Welsh
    # The token is still each session's own, not part of what is kept.
    other = app.test_client()
    page = other.get("/subscribe").text
    sign_up = {
        "email": "ann@example.org",
        "topics": ["news"],
        "region": "mid-wales",
        "language": "en",
        "consent": "y",
    }
    assert (
        client.post("/subscribe", data={**sign_up, "csrf_token": csrf_token(page)}).status_code
        == 400
    )
    assert (
        other.post("/subscribe", data={**sign_up, "csrf_token": csrf_token(page)}).status_code
        == 303
    )
