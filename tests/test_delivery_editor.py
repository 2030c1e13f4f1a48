"""Editor send pages and the `sends` / `send-status` commands."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from bulletin.delivery.commands import send_status_command, sends_command
from bulletin.delivery.pipeline import start_due_sends
from bulletin.extensions import db
from bulletin.models import Delivery, Send, SendStatus
from tests.conftest import csrf_token
from tests.support.delivery_helpers import configure, make_issue_row, make_send


def _form(client, issue, **extra):
    page = client.get("/editor/sends/new")
    assert page.status_code == 200
    data = {
        "csrf_token": csrf_token(page.get_data(as_text=True)),
        "issue": str(issue.id),
        "when": "now",
    }
    data.update(extra)
    return data


def test_schedule_shows_the_reach_then_schedules_in_london_time(editor_client, make_subscriber):
    issue = make_issue_row()
    make_subscriber(region="north-wales")
    make_subscriber(region="mid-wales")
    year = datetime.now(UTC).year + 1
    data = _form(
        editor_client, issue, when="later", at=f"{year}-07-01T09:30", regions="north-wales"
    )
    first = editor_client.post("/editor/sends/new", data=data)
    assert first.status_code == 200 and "This send reaches 1 person." in first.get_data(True)
    assert db.session.scalar(select(Send)) is None
    data["confirmed"] = "1"
    done = editor_client.post("/editor/sends/new", data=data)
    assert done.status_code == 303
    send = db.session.scalar(select(Send))
    assert send.status == SendStatus.SCHEDULED
    assert send.scheduled_at == datetime(year, 7, 1, 8, 30, tzinfo=UTC)  # BST is UTC+1
    assert send.audience_filter["regions"] == ["north-wales"]


def test_a_time_skipped_by_the_clocks_is_refused(editor_client):
    issue = make_issue_row()
    data = _form(editor_client, issue, when="later", at="2031-03-30T01:30")
    response = editor_client.post("/editor/sends/new", data=data)
    assert response.status_code == 400 and "clocks go forward" in response.get_data(True)
    assert db.session.scalar(select(Send)) is None


def test_progress_page_json_and_controls(app, editor_client, make_subscriber):
    settings = configure(app)
    make_subscriber(), make_subscriber()
    send = make_send()
    start_due_sends(settings)
    page = editor_client.get(f"/editor/sends/{send.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "send-progress.js" in html and "<script>" not in html
    data = editor_client.get(f"/editor/sends/{send.id}/progress.json").get_json()
    assert (data["total"], data["queued"], data["sent"], data["status"]) == (2, 2, 0, "sending")
    token = csrf_token(html)
    for action, status in (("pause", "paused"), ("resume", "sending"), ("cancel", "cancelled")):
        response = editor_client.post(
            f"/editor/sends/{send.id}/{action}", data={"csrf_token": token}
        )
        assert response.status_code == 303
        db.session.expire_all()
        assert db.session.get(Send, send.id).status == status
    statuses = set(db.session.scalars(select(Delivery.status)))
    assert statuses == {"skipped"}
    again = editor_client.post(f"/editor/sends/{send.id}/resume", data={"csrf_token": token})
    assert again.status_code == 303
    assert db.session.get(Send, send.id).status == SendStatus.CANCELLED


def test_missed_send_offers_send_now(app, editor_client, make_subscriber):
    make_subscriber()
    settings = configure(app, SEND_GRACE_HOURS=1)
    send = make_send(minutes_ago=180)
    start_due_sends(settings)
    html = editor_client.get(f"/editor/sends/{send.id}").get_data(as_text=True)
    assert "Missed" in html and "send-now" in html
    editor_client.post(f"/editor/sends/{send.id}/send-now", data={"csrf_token": csrf_token(html)})
    assert start_due_sends(settings) == [send.id]
    db.session.expire_all()
    assert db.session.get(Send, send.id).status == SendStatus.SENDING


def test_cli_shows_the_same_figures(app, runner, make_subscriber):
    settings = configure(app)
    make_subscriber(), make_subscriber(), make_subscriber()
    send = make_send()
    start_due_sends(settings)
    listing = runner.invoke(sends_command)
    assert listing.exit_code == 0 and f"#{send.id} sending" in listing.output
    assert "queued 3" in listing.output
    status = runner.invoke(send_status_command, [str(send.id)])
    assert status.exit_code == 0 and "Queued 3 (in flight 0), sent 0" in status.output
    assert runner.invoke(send_status_command, ["999"]).exit_code != 0
    from bulletin.cli import main

    assert {"sends", "send-status"} <= set(main.commands)


def test_later_without_a_date_is_a_form_error_not_a_crash(editor_client):
    issue = make_issue_row()
    data = _form(editor_client, issue, when="later", at="")
    response = editor_client.post("/editor/sends/new", data=data)
    assert response.status_code == 400
    assert "Enter the date and time to send" in response.get_data(True)
    assert db.session.scalar(select(Send)) is None


def test_the_count_step_warns_about_text_missing_in_a_language(editor_client, make_subscriber):
    make_subscriber()
    english_only = make_issue_row(subject_cy=None)
    page = editor_client.post("/editor/sends/new", data=_form(editor_client, english_only))
    assert page.status_code == 200 and 'id="missing-languages"' in page.get_data(True)
    assert "has no Welsh version" in page.get_data(True)
    both = make_issue_row()
    page = editor_client.post("/editor/sends/new", data=_form(editor_client, both))
    assert page.status_code == 200 and 'id="missing-languages"' not in page.get_data(True)


def test_an_audience_with_no_readers_is_refused_in_both_languages(editor_client, make_subscriber):
    issue = make_issue_row()
    make_subscriber(region="north-wales")
    for lang, words in (
        ("en", "This audience has no readers: no confirmed subscriber matches it."),
        ("cy", "Does gan y gynulleidfa hon ddim darllenwyr"),
    ):
        data = _form(editor_client, issue, regions="mid-wales")
        refused = editor_client.post(f"/editor/sends/new?lang={lang}", data=data)
        assert refused.status_code == 400
        page = refused.get_data(as_text=True)
        assert words in page and 'href="#topics-0"' in page
        data["confirmed"] = "0"  # a forged confirmation is refused the same way
        assert editor_client.post("/editor/sends/new", data=data).status_code == 400
    assert db.session.scalar(select(Send)) is None


def test_send_now_refuses_a_send_whose_readers_have_all_left(editor_client, make_subscriber):
    reader = make_subscriber()
    send = make_send(minutes_ago=-60)
    reader.status = "unsubscribed"
    db.session.commit()
    page = editor_client.get(f"/editor/sends/{send.id}").get_data(as_text=True)
    response = editor_client.post(
        f"/editor/sends/{send.id}/send-now", data={"csrf_token": csrf_token(page)}
    )
    assert response.status_code == 303
    shown = editor_client.get(f"/editor/sends/{send.id}").get_data(as_text=True)
    assert "This audience has no readers" in shown
    db.session.expire_all()
    assert db.session.get(Send, send.id).scheduled_at.replace(tzinfo=UTC) > datetime.now(UTC)
