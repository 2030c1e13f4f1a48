"""Admin pages: the suppression list, a subscriber's bounces, sender-side alerts."""

from __future__ import annotations

import json

from sqlalchemy import select

from bulletin.bounces.ingest import ingest_raw
from bulletin.core.suppressions import is_suppressed, suppress
from bulletin.extensions import db
from bulletin.mail.pseudonyms import hash_address
from bulletin.models import AuditLog, BounceEvent, Suppression
from tests.conftest import csrf_token
from tests.factories import sign_in
from tests.support.bouncemail import dsn, sent_verp


def token(client, path: str = "/editor/suppressions") -> str:
    return csrf_token(client.get(path).get_data(as_text=True))


def test_pages_are_for_admins_only(app, make_editor, make_subscriber):
    reader = make_subscriber()
    client = app.test_client()
    assert client.get("/editor/suppressions").status_code in (302, 303)
    sign_in(client, make_editor(role="editor"))
    for path in (
        "/editor/suppressions",
        "/editor/bounces/alerts",
        "/editor/bounces/unproven",
        f"/editor/bounces/subscribers/{reader.id}",
    ):
        assert client.get(path).status_code == 403


def test_add_search_and_remove_with_a_reason(editor_client):
    page = editor_client.get("/editor/suppressions").get_data(as_text=True)
    assert page.count("<h1") == 1
    response = editor_client.post(
        "/editor/suppressions/add",
        data={
            "add-csrf_token": csrf_token(page),
            "add-email": "Someone@Example.COM",
            "add-reason": "manual",
            "add-note": "asked by phone",
        },
    )
    assert response.status_code == 303 and is_suppressed("someone@example.com")
    found = editor_client.post(
        "/editor/suppressions/search",
        data={"search-csrf_token": token(editor_client), "search-email": "someone@example.com"},
    )
    assert "is on the list" in found.get_data(as_text=True)
    refused = editor_client.post(
        "/editor/suppressions/remove",
        data={
            "csrf_token": csrf_token(found.get_data(as_text=True)),
            "email": "someone@example.com",
            "reason": "",
        },
    )
    assert refused.status_code == 400 and "Say why" in refused.get_data(as_text=True)
    assert is_suppressed("someone@example.com")
    removed = editor_client.post(
        "/editor/suppressions/remove",
        data={
            "csrf_token": token(editor_client),
            "email": "someone@example.com",
            "reason": "confirmed by phone that the address works",
        },
    )
    assert removed.status_code == 303 and not is_suppressed("someone@example.com")
    actions = {a.action: a.detail for a in db.session.scalars(select(AuditLog))}
    assert set(actions) >= {"suppression.add", "suppression.remove"}
    assert "confirmed by phone" in actions["suppression.remove"]
    assert "someone@example.com" not in json.dumps(actions).lower()


def test_bad_address_is_a_400_with_the_error(editor_client):
    response = editor_client.post(
        "/editor/suppressions/add",
        data={
            "add-csrf_token": token(editor_client),
            "add-email": "not an address",
            "add-reason": "manual",
        },
    )
    assert response.status_code == 400
    assert "correct format" in response.get_data(as_text=True)
    assert db.session.scalar(select(Suppression)) is None


def test_csv_export_has_hashes_and_reasons_only(editor_client, app):
    suppress("csv-person@example.com", "bounced", source="smtp")
    db.session.commit()
    response = editor_client.post(
        "/editor/suppressions/export.csv", data={"csrf_token": token(editor_client)}
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="suppressions.csv"'
    assert response.headers["Cache-Control"] == "no-store"
    assert body.splitlines()[0] == "address_hash,reason,source,created_at"
    assert hash_address("csv-person@example.com") in body and "csv-person" not in body
    assert db.session.scalar(select(AuditLog.action).filter_by(action="suppression.export"))


def test_subscriber_page_shows_bounces_and_lifts_with_a_reason(editor_client, app, make_subscriber):
    reader = make_subscriber("bounced-reader@example.com")
    ingest_raw(dsn(reader.email, envelope_to=sent_verp(reader)), source="mbox")
    db.session.commit()
    path = f"/editor/bounces/subscribers/{reader.id}"
    page = editor_client.get(path).get_data(as_text=True)
    assert "5.1.1" in page and "cleaned" in page
    response = editor_client.post(
        f"{path}/lift",
        data={"csrf_token": csrf_token(page), "reason": "new mailbox set up, confirmed by email"},
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert reader.status == "confirmed" and not is_suppressed(reader.email)
    audit = db.session.scalar(select(AuditLog).filter_by(action="suppression.lift"))
    assert "new mailbox" in audit.detail and audit.target_id == reader.id


def test_alerts_page_lists_sender_faults(editor_client, make_subscriber):
    reader = make_subscriber("alert-reader@example.com")
    ingest_raw(
        dsn(
            reader.email,
            status="5.7.515",
            diagnostic="Access denied, sending domain example.org does not meet the "
            "required authentication level",
        ),
        source="smtp",
    )
    db.session.commit()
    assert db.session.scalar(select(BounceEvent.is_sender_fault))
    page = editor_client.get("/editor/bounces/alerts").get_data(as_text=True)
    assert "5.7.515" in page and "authentication level" in page


def test_reports_without_proof_are_listed_for_admins_without_the_address(
    editor_client, make_subscriber
):
    reader = make_subscriber("named-in-a-forgery@example.com")
    ingest_raw(
        dsn(
            reader.email,
            envelope_to="postmaster@bounces.example.org",
            diagnostic=f"<{reader.email}>: no such user",
        ),
        source="smtp",
    )
    db.session.commit()
    page = editor_client.get("/editor/bounces/unproven").get_data(as_text=True)
    assert "Not proven: nobody changed" in page and "5.1.1" in page and "no such user" in page
    assert "named-in-a-forgery" not in page
    mine = editor_client.get(f"/editor/bounces/subscribers/{reader.id}").get_data(as_text=True)
    assert "Reports naming this address without proof" in mine and "Not proven" in mine
    other = make_subscriber("not-named@example.com")
    theirs = editor_client.get(f"/editor/bounces/subscribers/{other.id}").get_data(as_text=True)
    assert "without proof" not in theirs
    db.session.expire_all()
    assert reader.status == "confirmed"
