"""Editor send pages and the `sends` / `send-status` commands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from bulletin.core.sends import cancel_send, send_progress
from bulletin.delivery.commands import send_status_command, sends_command
from bulletin.delivery.pipeline import claim_batch, finish_sends, start_due_sends
from bulletin.extensions import db
from bulletin.models import Delivery, Send, SendStatus, utcnow
from tests.conftest import csrf_token
from tests.support.delivery_helpers import configure, make_issue_row, make_send, seed_subscribers


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
    assert statuses == {"cancelled"}
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


def _running(app, readers: int) -> Send:
    settings = configure(app)
    seed_subscribers(readers)
    send = make_send()
    start_due_sends(settings)
    return send


def test_cancel_asks_first_and_says_how_many_will_not_be_sent(app, editor_client):
    send = _running(app, 3)
    html = editor_client.get(f"/editor/sends/{send.id}").get_data(as_text=True)
    confirm_url = f"/editor/sends/{send.id}/cancel"
    assert f'href="{confirm_url}"' in html  # a link to the question, not a form that cancels
    assert f'action="{confirm_url}"' not in html
    page = editor_client.get(confirm_url)
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "3 recipients have not had it yet and will not be sent it." in body
    assert f'action="{confirm_url}"' in body and 'name="csrf_token"' in body
    assert f'href="/editor/sends/{send.id}"' in body  # Back
    assert db.session.get(Send, send.id).status == SendStatus.SENDING  # asking changed nothing
    # Without the form's CSRF token nothing happens.
    assert editor_client.post(confirm_url).status_code == 400
    done = editor_client.post(confirm_url, data={"csrf_token": csrf_token(body)})
    assert done.status_code == 303
    shown = editor_client.get(f"/editor/sends/{send.id}").get_data(as_text=True)
    assert "Cancelled: the messages already on their way still go" in shown
    figures = editor_client.get(f"/editor/sends/{send.id}/progress.json").get_json()
    assert (figures["cancelled"], figures["skipped"], figures["sent"]) == (3, 0, 0)
    assert figures["done"] == figures["total"] == 3
    # A cancelled send has nothing left to cancel: the question is not asked again.
    again = editor_client.get(confirm_url)
    assert again.status_code == 303 and again.location.endswith(f"/editor/sends/{send.id}")


def test_cancel_before_the_start_counts_the_audience_in_welsh_too(app, editor_client):
    seed_subscribers(2)
    send = make_send(minutes_ago=-60)  # an hour from now
    body = editor_client.get(f"/editor/sends/{send.id}/cancel").get_data(as_text=True)
    assert "It has not started: 2 people in its audience will not be sent it." in body
    editor_client.get("/editor/?lang=cy")
    welsh = editor_client.get(f"/editor/sends/{send.id}/cancel").get_data(as_text=True)
    assert "Heb ddechrau: ni fydd 2 o bobl" in welsh


def test_send_now_says_sending_now_not_scheduled(app, editor_client, make_subscriber):
    issue = make_issue_row()
    make_subscriber()
    data = _form(editor_client, issue, confirmed="1")
    response = editor_client.post("/editor/sends/new", data=data)
    assert response.status_code == 303
    html = editor_client.get(response.location).get_data(as_text=True)
    assert "Sending now: the worker starts it within a few seconds." in html
    assert "The send is scheduled." not in html
    assert '<dd data-progress="status-label">Sending now: starting</dd>' in html
    assert "Now (sent as soon as the worker starts it)" in html
    listing = editor_client.get("/editor/sends").get_data(as_text=True)
    assert "Sending now: starting" in listing


def test_a_finished_send_shows_its_average_rate(app, editor_client, runner):
    send = _running(app, 3)
    db.session.execute(
        update(Delivery).values(status="sent", sent_at=utcnow(), attempts=1, claimed_by=None)
    )
    row = db.session.get(Send, send.id)
    row.started_at = utcnow() - timedelta(seconds=60)
    db.session.commit()
    finish_sends()
    html = editor_client.get(f"/editor/sends/{send.id}").get_data(as_text=True)
    assert "3.0 messages a minute (0.05 a second)" in html
    figures = editor_client.get(f"/editor/sends/{send.id}/progress.json").get_json()
    assert figures["status"] == "done" and figures["average_per_minute"] == 3.0
    assert figures["rate_per_second"] == figures["average_per_second"] == 0.05
    status = runner.invoke(send_status_command, [str(send.id)])
    assert "sent 3, failed 0, skipped 0, cancelled 0, of 3 (100%)" in status.output
    assert "Average rate 3.0 messages/min (0.05/s)" in status.output


def test_figures_add_up_after_a_cancel_and_done_never_counts_skipped_as_sent(app):
    settings = configure(app)
    seed_subscribers(4)
    send = make_send()
    start_due_sends(settings)
    assert len(claim_batch("w", settings, 1)) == 1  # one in a sender's hands
    left = db.session.scalar(select(Delivery.id).where(Delivery.status == "queued").limit(1))
    db.session.execute(update(Delivery).where(Delivery.id == left).values(status="skipped"))
    cancel_send(db.session.get(Send, send.id))
    db.session.commit()
    p = send_progress(db.session.get(Send, send.id))
    assert (p.sent, p.skipped, p.sending, p.cancelled, p.queued) == (0, 1, 1, 2, 0)
    assert p.queued + p.sending + p.sent + p.failed + p.skipped + p.cancelled == p.total
    assert p.total == db.session.get(Send, send.id).recipient_count == 4
    assert p.done == 3 and p.sent == 0


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
