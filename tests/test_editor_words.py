"""Editor pages show statuses, mail kinds and audit actions as words, in both languages."""

from __future__ import annotations

from bulletin.core.audit import record_audit
from bulletin.extensions import db
from bulletin.mail import outbox
from bulletin.models import SubscriberStatus


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
