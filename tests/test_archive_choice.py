"""The archive is the editor's choice: publish per send, unpublish (410) and republish."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import func, select, update

from bulletin.delivery.pipeline import finish_sends, start_due_sends
from bulletin.extensions import db
from bulletin.models import AuditLog, Delivery, DeliveryStatus, Issue, OutboxMessage, Send
from tests.conftest import csrf_token
from tests.support.delivery_helpers import configure, make_issue_row

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(autouse=True)
def readers(make_subscriber):
    """Readers in every audience these tests choose: a send to nobody is refused."""
    make_subscriber(language="en", region="south-east-wales", topics=["workshops", "news"])
    make_subscriber(language="cy", region="mid-wales", topics=["workshops", "news"])
    make_subscriber(language="cy", region="north-wales", topics=["news"])


def _send_form(client, issue, **extra) -> dict:
    page = client.get("/editor/sends/new")
    data = {"csrf_token": csrf_token(page.text), "issue": str(issue.id), "when": "now"}
    data.update(extra)
    return data


def _schedule(client, issue, **extra) -> tuple[Send, str]:
    """Count, then confirm; the send row and the confirmation page's text."""
    data = _send_form(client, issue, **extra)
    counted = client.post("/editor/sends/new", data=data)
    assert counted.status_code == 200
    data["confirmed"] = _reach(counted.text)
    assert client.post("/editor/sends/new", data=data).status_code == 303
    send = db.session.scalar(select(Send).order_by(Send.id.desc()))
    return send, counted.text


def _reach(html: str) -> str:
    marker = 'name="confirmed" type="hidden" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def _run_send(app, send: Send) -> Issue:
    """Start and close a send (its deliveries skipped: nothing goes out); the issue after it."""
    settings = configure(app)
    assert send.id in start_due_sends(settings)
    db.session.execute(
        update(Delivery).where(Delivery.send_id == send.id).values(status=DeliveryStatus.SKIPPED)
    )
    db.session.commit()
    assert send.id in finish_sends()
    db.session.expire_all()
    return db.session.get(Issue, send.issue_id)


def _feed_titles(client) -> list[str]:
    root = ET.fromstring(client.get("/issues.atom?lang=en").data)
    return [entry.findtext(f"{ATOM}title") for entry in root.iter(f"{ATOM}entry")]


def test_a_send_to_everyone_publishes_by_default_and_a_segment_send_does_not(app, editor_client):
    issue = make_issue_row(subject_en="Everyone bulletin", slug="everyone")
    send, page = _schedule(editor_client, issue)
    assert send.publish is True
    assert "the issue appears in the public archive and feed" in page
    segment_issue = make_issue_row(subject_en="Segment bulletin", slug="segment")
    send, page = _schedule(editor_client, segment_issue, regions="north-wales")
    assert send.publish is False
    assert "will not appear in the public archive or feed" in page
    (audit,) = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "send.schedule", AuditLog.target_id == send.id)
    )
    assert '"publish": false' in audit.detail


def test_the_editor_can_override_the_default_either_way(editor_client):
    issue = make_issue_row()
    send, _ = _schedule(editor_client, issue, regions="north-wales", archive="yes")
    assert send.publish is True
    send, _ = _schedule(editor_client, issue, archive="no")
    assert send.publish is False
    bad = editor_client.post(
        "/editor/sends/new", data=_send_form(editor_client, issue, archive="sometimes")
    )
    assert bad.status_code == 400 and db.session.scalar(select(func.count(Send.id))) == 2


def test_a_segment_send_keeps_the_issue_out_until_a_publishing_send(app, client, editor_client):
    issue = make_issue_row(subject_en="Quiet bulletin", slug="quiet")
    send, _ = _schedule(editor_client, issue, languages="cy")
    issue = _run_send(app, send)
    assert issue.published_at is not None and not issue.is_in_archive
    assert client.get("/issues/quiet").status_code == 410
    assert "Quiet bulletin" not in client.get("/issues").text
    assert "Quiet bulletin" not in _feed_titles(client)
    send, _ = _schedule(editor_client, issue)  # to everyone: publishes
    issue = _run_send(app, send)
    assert issue.is_in_archive and client.get("/issues/quiet").status_code == 200
    assert "Quiet bulletin" in _feed_titles(client)


def test_unpublish_answers_410_drops_from_feed_and_republish_restores(app, client, editor_client):
    issue = make_issue_row(subject_en="Spring bulletin", slug="spring")
    send, _ = _schedule(editor_client, issue)
    issue = _run_send(app, send)
    assert client.get("/issues/spring").status_code == 200
    assert _feed_titles(client) == ["Spring bulletin"]

    page = editor_client.get(f"/editor/issues/{issue.id}")
    assert "Unpublish from the archive and feed" in page.text
    url = f"/editor/issues/{issue.id}/archive/unpublish"
    assert editor_client.post(url, data={}).status_code == 400  # no CSRF token
    done = editor_client.post(url, data={"csrf_token": csrf_token(page.text)})
    assert done.status_code == 303
    db.session.expire_all()
    assert db.session.get(Issue, issue.id).unpublished_at is not None
    for lang, note in (
        ("en", "This bulletin is not in the archive"),
        ("cy", "Nid yw’r bwletin hwn yn yr archif"),
    ):
        gone = client.get(f"/issues/spring?lang={lang}")
        assert gone.status_code == 410 and note in gone.text
        # Republishing must show at once: no browser may keep the 410 (the browser flow
        # once saw Chromium answer from its cache).
        assert gone.headers["Cache-Control"] == "no-cache"
    assert _feed_titles(client) == [] and "Spring bulletin" not in client.get("/issues").text
    again = editor_client.post(url, data={"csrf_token": csrf_token(page.text)})
    assert again.status_code == 303  # already out: nothing changes, no second audit entry

    page = editor_client.get(f"/editor/issues/{issue.id}")
    assert "Publish in the archive and feed" in page.text
    back = editor_client.post(
        f"/editor/issues/{issue.id}/archive/republish",
        data={"csrf_token": csrf_token(page.text)},
    )
    assert back.status_code == 303
    assert client.get("/issues/spring").status_code == 200
    assert _feed_titles(client) == ["Spring bulletin"]
    actions = db.session.scalars(
        select(AuditLog.action).where(AuditLog.target_id == issue.id).order_by(AuditLog.id)
    ).all()
    assert [a for a in actions if a.startswith("issue.")] == ["issue.unpublish", "issue.republish"]


def test_a_draft_cannot_be_republished_and_stays_404(client, editor_client):
    issue = make_issue_row(slug="draft-one")
    page = editor_client.get(f"/editor/issues/{issue.id}")
    response = editor_client.post(
        f"/editor/issues/{issue.id}/archive/republish",
        data={"csrf_token": csrf_token(page.text)},
    )
    assert response.status_code == 409
    assert client.get("/issues/draft-one").status_code == 404


def test_api_send_publish_default_override_and_issue_fields(app, api):
    issue = make_issue_row(subject_en="API bulletin", slug="api-bulletin")
    url = f"/api/v1/issues/{issue.id}/sends"
    segment = api.post(url, json={"audience": {"regions": ["mid-wales"]}, "scheduled_at": "now"})
    assert segment.status_code == 201 and segment.get_json()["publish"] is False
    everyone = api.post(url, json={"audience": {}, "scheduled_at": "now"}).get_json()
    assert everyone["publish"] is True
    forced = api.post(
        url, json={"audience": {"languages": ["cy"]}, "scheduled_at": "now", "publish": True}
    ).get_json()
    assert forced["publish"] is True
    bad = api.post(url, json={"audience": {}, "scheduled_at": "now", "publish": "yes"})
    assert bad.status_code == 422 or bad.status_code == 400
    body = api.get(f"/api/v1/issues/{issue.id}").get_json()
    assert body["in_archive"] is False and body["unpublished_at"] is None
    _run_send(app, db.session.get(Send, everyone["id"]))
    body = api.get(f"/api/v1/issues/{issue.id}").get_json()
    assert body["in_archive"] is True and body["published_at"] is not None


def test_a_test_send_never_publishes(app, client, editor_client):
    issue = make_issue_row(subject_en="Trial bulletin", slug="trial")
    page = editor_client.get(f"/editor/issues/{issue.id}/preview?in=en")
    response = editor_client.post(
        f"/editor/issues/{issue.id}/test-send",
        data={
            "csrf_token": csrf_token(page.text),
            "addresses": "a@example.org",
            "language": "both",
        },
    )
    assert response.status_code == 303
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 2
    db.session.expire_all()
    assert db.session.get(Issue, issue.id).published_at is None
    assert db.session.scalar(select(func.count(Send.id))) == 0
    assert client.get("/issues/trial").status_code == 404
    assert _feed_titles(client) == []


def test_the_issue_list_tells_published_from_sent_but_kept_out(app, editor_client):
    shown = make_issue_row(subject_en="Shown bulletin")
    kept = make_issue_row(subject_en="Kept bulletin")
    for issue, archive in ((shown, "yes"), (kept, "no")):
        send, _ = _schedule(editor_client, issue, archive=archive)
        _run_send(app, send)
    page = editor_client.get("/editor/issues?lang=en").text
    assert page.count("Sent ") == 1 and "not in the archive" in page and "Published " in page
