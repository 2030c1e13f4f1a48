"""Admin subscriber pages: search, consent trail, subject access, export, import; admins only."""

from __future__ import annotations

import csv
import io
import json

from sqlalchemy import select

from bulletin.core import subscribers as operations
from bulletin.extensions import db
from bulletin.mail.settings import DeliverySettings
from bulletin.models import AuditLog, Subscriber, SubscriberStatus
from bulletin.privacy.exporter import ExportFilter, escape_cell, stream_subscribers_csv
from bulletin.privacy.jobs import run_import_jobs
from bulletin.worker import Worker
from tests.conftest import csrf_token
from tests.factories import sign_in


def audit_actions() -> list[str]:
    return list(db.session.scalars(select(AuditLog.action).order_by(AuditLog.id)))


def signed_up(email="ann@example.org") -> Subscriber:
    operations.subscribe(
        email,
        operations.Choices(["news"], "mid-wales", "cy", "Ann"),
        source="web:/subscribe",
        ip="192.0.2.1",
    )
    subscriber = operations.find_by_email(email)
    operations.confirm(subscriber, ip="192.0.2.1")
    db.session.commit()
    return subscriber


def test_search_by_exact_address_leads_to_the_profile_and_trail(app, editor_client):
    subscriber = signed_up()
    page = editor_client.get("/editor/subscribers")
    assert page.status_code == 200
    found = editor_client.post(
        "/editor/subscribers",
        data={"csrf_token": csrf_token(page.text), "email": "ann@EXAMPLE.org"},
    )
    assert found.status_code == 303
    assert found.headers["Location"].endswith(f"/editor/subscribers/{subscriber.id}")
    profile = editor_client.get(found.headers["Location"])
    assert profile.status_code == 200
    trail = ("Signed up", "Sign-up form", "Confirmed", "Confirmation link")  # words, not codes
    for text in ("ann@example.org", *trail, "2026-11-v1", "welcome"):
        assert text in profile.text
    missing = editor_client.post(
        "/editor/subscribers",
        data={"csrf_token": csrf_token(page.text), "email": "nobody@example.org"},
    )
    assert missing.status_code == 200 and "No subscriber has that address" in missing.text


def test_consent_trail_downloads_as_csv_and_json(app, editor_client):
    subscriber = signed_up()
    page = editor_client.get(f"/editor/subscribers/{subscriber.id}")
    token = csrf_token(page.text)
    as_csv = editor_client.post(
        f"/editor/subscribers/{subscriber.id}/consent.csv", data={"csrf_token": token}
    )
    rows = list(csv.reader(io.StringIO(as_csv.text)))
    assert rows[0][:2] == ["at", "kind"] and [r[1] for r in rows[1:]] == ["signup", "confirm"]
    assert rows[1][3] == "2026-11-v1"
    as_json = editor_client.post(
        f"/editor/subscribers/{subscriber.id}/consent.json", data={"csrf_token": token}
    ).get_json()
    assert [e["kind"] for e in as_json] == ["signup", "confirm"]
    assert as_json[0]["details"]["topics"] == ["news"]
    assert audit_actions() == ["subscriber.consent_export", "subscriber.consent_export"]


def test_subject_access_for_admins_is_complete_and_audited(app, editor_client):
    subscriber = signed_up()
    page = editor_client.get(f"/editor/subscribers/{subscriber.id}")
    response = editor_client.post(
        f"/editor/subscribers/{subscriber.id}/data.json", data={"csrf_token": csrf_token(page.text)}
    )
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    data = json.loads(response.data)
    assert data["profile"]["email"] == "ann@example.org"
    assert data["topics"] == ["news"]
    assert [e["kind"] for e in data["consent_events"]] == ["signup", "confirm"]
    assert {m["kind"] for m in data["service_emails"]} == {"confirm", "welcome"}
    assert "bulletin_deliveries" in data and "bounces" in data
    assert audit_actions() == ["subscriber.subject_access"]


def test_subscriber_pages_are_for_admins_only(app, make_editor, make_subscriber):
    reader = make_subscriber()
    anonymous = app.test_client()
    for path in (
        "/editor/subscribers",
        f"/editor/subscribers/{reader.id}",
        "/editor/subscribers/export",
        "/editor/subscribers/import",
    ):
        assert anonymous.get(path).status_code in (302, 401)
    plain = app.test_client()
    sign_in(plain, make_editor(role="editor"))
    for path in (
        "/editor/subscribers",
        f"/editor/subscribers/{reader.id}",
        "/editor/subscribers/export",
        "/editor/subscribers/import",
    ):
        assert plain.get(path).status_code == 403


def test_export_is_filtered_streamed_escaped_and_audited(app, editor_client, make_subscriber):
    admin_id = editor_client.editor.id
    make_subscriber(
        "cy1@example.org", language="cy", name='=HYPERLINK("http://x")', topics=["news"]
    )
    make_subscriber("cy2@example.org", language="cy", name="@SUM(A1)", topics=["workshops"])
    make_subscriber("en1@example.org", language="en", name="-2+3", topics=["news"])
    make_subscriber(
        "pend@example.org", language="cy", status=SubscriberStatus.PENDING, topics=["news"]
    )
    page = editor_client.get("/editor/subscribers/export")
    response = editor_client.post(
        "/editor/subscribers/export",
        data={
            "csrf_token": csrf_token(page.text),
            "status": "confirmed",
            "language": "cy",
            "topic": "",
            "region": "",
        },
    )
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="subscribers.csv"'
    assert response.headers["Cache-Control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["email"] for r in rows] == ["cy1@example.org", "cy2@example.org"]
    assert rows[0]["name"] == '\'=HYPERLINK("http://x")' and rows[1]["name"] == "'@SUM(A1)"
    [entry] = db.session.scalars(select(AuditLog)).all()
    assert entry.action == "subscribers.export" and entry.editor_id == admin_id
    assert json.loads(entry.detail) == {"via": "web", "status": "confirmed", "language": "cy"}

    by_topic = "".join(stream_subscribers_csv(ExportFilter(topic="news")))
    assert "cy1@example.org" in by_topic and "en1@example.org" in by_topic
    assert "cy2@example.org" not in by_topic and "'-2+3" in by_topic


def test_formula_cells_are_escaped_and_others_left_alone():
    for dangerous in ("=1+1", "+1", "-1", "@cmd", "\tx", "\rx"):
        assert escape_cell(dangerous) == "'" + dangerous
    for safe in ("Ann", "a=b", "", None, 3, "Siân ŵ"):
        assert escape_cell(safe) == ("" if safe is None else str(safe))


def test_export_command_writes_csv_and_audits(app, runner, make_subscriber, tmp_path):
    make_subscriber("one@example.org", region="north-wales")
    make_subscriber("two@example.org", region="mid-wales")
    from bulletin.privacy.commands import export_command

    out = tmp_path / "out.csv"
    result = runner.invoke(export_command, ["--region", "mid-wales", "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [r["email"] for r in rows] == ["two@example.org"]
    assert audit_actions() == ["subscribers.export"]


def test_import_page_dry_run_then_import(app, editor_client):
    page = editor_client.get("/editor/subscribers/import")
    assert page.status_code == 200
    body = b"Email Address,Consent date\nweb1@example.org,2024-01-01\nbad,\nweb2@example.org,\n"

    def upload(**fields):
        data = {
            "csrf_token": csrf_token(page.text),
            "map_email": "Email Address",
            "file": (io.BytesIO(body), "list.csv"),
            **fields,
        }
        queued = editor_client.post(
            "/editor/subscribers/import", data=data, content_type="multipart/form-data"
        )
        assert queued.status_code == 303
        run_import_jobs(Worker(app=app, settings=DeliverySettings.from_app(app)))
        return editor_client.get(queued.headers["Location"])

    checked = upload(dry_run="y")
    assert checked.status_code == 200 and "nothing was changed" in checked.text
    assert db.session.scalar(select(Subscriber.id)) is None
    done = upload(invite="y")
    assert done.status_code == 200 and "Import finished" in done.text
    assert ">3<" in done.text  # the bad row's line number
    assert {s.email: s.status for s in db.session.scalars(select(Subscriber))} == {
        "web1@example.org": "confirmed",
        "web2@example.org": "pending",
    }
    assert audit_actions() == ["subscribers.import"]
    wrong = editor_client.post(
        "/editor/subscribers/import",
        data={
            "csrf_token": csrf_token(page.text),
            "map_email": "Nope",
            "file": (io.BytesIO(body), "list.csv"),
        },
        content_type="multipart/form-data",
    )
    assert wrong.status_code == 400 and "No column is called Nope" in wrong.text
