"""Editor pages show statuses, mail kinds and audit actions as words, in both languages."""

from __future__ import annotations

from bulletin.core.audit import record_audit
from bulletin.core.subscribers import record_event
from bulletin.core.suppressions import suppress
from bulletin.editorial.labels import consent_source_label
from bulletin.extensions import db
from bulletin.mail import outbox
from bulletin.models import BounceEvent, SubscriberStatus


def test_the_profile_names_statuses_and_mail_kinds_in_both_languages(
    editor_client, make_subscriber
):
    reader = make_subscriber("reader@example.com", status=SubscriberStatus.CONFIRMED)
    outbox.enqueue(reader, "welcome")
    db.session.commit()
    for lang, words, code in (
        ("en", ["Subscribed", "Welcome", "Waiting to be sent"], "confirmed"),
        ("cy", ["Wedi tanysgrifio", "Croeso", "Yn aros i gael ei anfon"], "confirmed"),
    ):
        page = editor_client.get(f"/editor/subscribers/{reader.id}?lang={lang}").text
        for word in words:
            assert word in page
        assert f"<dd>{code}</dd>" not in page and "<td>welcome</td>" not in page


def test_the_audit_log_names_actions_in_both_languages(editor_client):
    record_audit("api_token.create", detail={"name": "CRM"}, editor=editor_client.editor)
    record_audit("something.new", editor=editor_client.editor)  # no words yet: shown as is
    db.session.commit()
    english = editor_client.get("/editor/admin/audit?lang=en").text
    assert "API token created" in english and "<td>api_token.create</td>" not in english
    assert "something.new" in english
    welsh = editor_client.get("/editor/admin/audit?lang=cy").text
    assert "Tocyn API wedi&#39;i greu" in welsh or "Tocyn API wedi'i greu" in welsh
    dashboard = editor_client.get("/editor/?lang=cy").text
    assert "Tocyn API wedi" in dashboard and "api_token.create" not in dashboard


def test_bounce_records_and_the_consent_trail_are_words_in_both_languages(
    editor_client, make_subscriber
):
    reader = make_subscriber("trail@example.com")
    record_event(reader, "signup", source="web:/subscribe")
    record_event(reader, "import", source="import:Spring list")
    record_event(reader, "unsubscribe", source="one-click")
    db.session.add(
        BounceEvent(subscriber_id=reader.id, kind="hard", source="ses", action="cleaned")
    )
    db.session.commit()
    for lang, words in (
        ("en", ["Signed up", "Sign-up form", "Import: Spring list", "One-click unsubscribe"]),
        ("cy", ["Ffurflen gofrestru", "Mewnforio: Spring list", "Dad-danysgrifio ag un clic"]),
    ):
        page = editor_client.get(f"/editor/subscribers/{reader.id}?lang={lang}").text
        for word in words:
            assert word in page, (lang, word)
        assert "<td>web:/subscribe</td>" not in page and "<td>signup</td>" not in page
    for lang, words in (
        ("en", ["Permanent failure (hard bounce)", "Amazon SES notification", "Removed and"]),
        ("cy", ["Methiant parhaol (bowns caled)", "Hysbysiad Amazon SES"]),
    ):
        page = editor_client.get(f"/editor/bounces/subscribers/{reader.id}?lang={lang}").text
        for word in words:
            assert word in page, (lang, word)
        assert "<td>hard</td>" not in page and "<td>ses</td>" not in page


def test_suppression_reasons_and_complaint_types_are_words(editor_client, make_subscriber):
    reader = make_subscriber("complainer@example.com")
    suppress(reader.email, "complaint", source="complaint:postmark")
    db.session.add(
        BounceEvent(
            subscriber_id=reader.id,
            kind="complaint",
            feedback_type="abuse",
            source="postmark",
            action="unsubscribed",
        )
    )
    db.session.commit()
    listing = editor_client.get("/editor/suppressions?lang=en").text
    assert "The person complained" in listing and "<td>complaint</td>" not in listing
    bounces = editor_client.get(f"/editor/bounces/subscribers/{reader.id}?lang=cy").text
    assert "Cwyn sbam (sbam)" in bounces and "Hysbysiad Postmark" in bounces
    assert "(abuse)" not in bounces


def test_a_code_with_no_words_yet_is_shown_as_it_is(app):
    assert consent_source_label("web:/somewhere-new") == "web:/somewhere-new"
    assert consent_source_label("complaint:postmark") == "Complaint: Postmark notification"
