"""A rhythm that drafts itself: the dates, the worker's drafts, approval, four eyes."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bulletin.core import rhythm as ops
from bulletin.core import sends
from bulletin.extensions import db
from bulletin.models import (
    AuditLog,
    Editor,
    Issue,
    OutboxMessage,
    Rhythm,
    Send,
    SendStatus,
)
from bulletin.worker import follow_rhythm
from tests.conftest import _empty_tables, csrf_token
from tests.factories import sign_in


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def rhythm_row(**columns) -> Rhythm:
    values = dict(frequency="weekly", weekday=0, week=1, hour=9, minute=0, audience="{}")
    values.update(columns)
    return Rhythm(**values)


# ----- next dates -----


def test_weekly_dates_keep_london_time_across_both_clock_changes():
    # Sundays at 01:30 London: 2027's clocks go forward on 28 March, back on 31 October.
    sunday = rhythm_row(weekday=6, hour=1, minute=30)
    spring = ops.next_dates(sunday, utc(2027, 3, 15), 3)
    # 21 March GMT; 28 March 01:30 does not exist (moved to 02:30 BST); 4 April BST
    assert spring == [utc(2027, 3, 21, 1, 30), utc(2027, 3, 28, 1, 30), utc(2027, 4, 4, 0, 30)]
    autumn = ops.next_dates(sunday, utc(2027, 10, 20), 3)
    # 24 Oct BST; 31 Oct 01:30 happens twice (the first, BST); 7 Nov GMT
    assert autumn == [utc(2027, 10, 24, 0, 30), utc(2027, 10, 31, 0, 30), utc(2027, 11, 7, 1, 30)]
    monday = rhythm_row(weekday=0, hour=9)
    assert ops.next_dates(monday, utc(2027, 3, 24), 2) == [
        utc(2027, 3, 29, 8, 0),  # after the change: 09:00 BST
        utc(2027, 4, 5, 8, 0),
    ]
    assert ops.next_dates(monday, utc(2027, 10, 27), 1) == [utc(2027, 11, 1, 9, 0)]


def test_monthly_nth_and_last_weekday_across_month_ends():
    first_monday = rhythm_row(frequency="monthly", weekday=0, week=1, hour=10)
    assert ops.next_dates(first_monday, utc(2027, 1, 5), 4) == [
        utc(2027, 2, 1, 10, 0),
        utc(2027, 3, 1, 10, 0),
        utc(2027, 4, 5, 9, 0),  # BST
        utc(2027, 5, 3, 9, 0),
    ]
    last_friday = rhythm_row(frequency="monthly", weekday=4, week=-1, hour=12)
    assert ops.next_dates(last_friday, utc(2027, 1, 1), 3) == [
        utc(2027, 1, 29, 12, 0),
        utc(2027, 2, 26, 12, 0),
        utc(2027, 3, 26, 12, 0),  # two days before the clocks change: still GMT
    ]
    # A date exactly at `after` is not "after" it; the next one is.
    assert ops.next_dates(first_monday, utc(2027, 2, 1, 10, 0), 1) == [utc(2027, 3, 1, 10, 0)]
    fourth_thursday = rhythm_row(frequency="monthly", weekday=3, week=4, hour=9)
    assert ops.next_dates(fourth_thursday, utc(2027, 12, 1), 2) == [
        utc(2027, 12, 23, 9, 0),
        utc(2028, 1, 27, 9, 0),
    ]


# ----- drafting -----

#: The issue date the drafting tests use: Monday 3 May 2027, 09:00 BST.
ISSUE_DATE = utc(2027, 5, 3, 8, 0)


@pytest.fixture
def weekly(app):
    """A weekly Monday 09:00 rhythm set on Wednesday 21 April 2027 (so 26 April is its first
    date, drafted on the 23rd)."""
    row = rhythm_row(
        intro_en="Hello from the rhythm.",
        intro_cy="Helo o'r rhythm.",
        handled_through=utc(2027, 4, 21, 12, 0),
    )
    db.session.add(row)
    db.session.commit()
    return row


def _mail_rows(kind: str | None = None) -> list[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if kind:
        query = query.where(OutboxMessage.kind == kind)
    return list(db.session.scalars(query))


def test_drafts_once_with_the_window_and_marks_closing_soon(
    app, weekly, make_editor, make_workshop, make_opportunity
):
    make_editor("ed@example.org")
    soon = make_workshop("Coming up", starts_at=utc(2027, 4, 28, 10, 0))
    make_workshop("Far away", starts_at=utc(2027, 9, 1, 10, 0))  # after the 6-week window
    closing = make_opportunity("Closes this week", closes_at=utc(2027, 4, 29, 17, 0))
    later = make_opportunity("Closes later", closes_at=utc(2027, 6, 1, 17, 0))
    # 23 April 10:00: the issue of 26 April is due for drafting; the one of 3 May is not.
    done = ops.draft_due(utc(2027, 4, 23, 10, 0))
    assert done == [(utc(2027, 4, 26, 8, 0), "drafted")]
    issue = db.session.scalar(select(Issue))
    assert issue.rhythm_date == utc(2027, 4, 26, 8, 0)
    assert issue.closing_soon_before == ISSUE_DATE
    assert issue.intro_en == "Hello from the rhythm." and issue.intro_cy == "Helo o'r rhythm."
    assert "26 April 2027" in issue.subject_en and "26 Ebrill 2027" in issue.subject_cy
    entries = {i.workshop_id or i.opportunity_id: i.kind for i in issue.items}
    assert entries == {soon.id: "workshop", closing.id: "opportunity", later.id: "opportunity"}
    # Again, and again later the same day: nothing more.
    assert ops.draft_due(utc(2027, 4, 23, 10, 5)) == []
    assert db.session.scalar(select(func.count()).select_from(Issue)) == 1
    [mail] = _mail_rows()
    assert (mail.kind, mail.to_address) == ("rhythm-drafted", "ed@example.org")
    # The email marks the opportunity closing before the next issue, and only that one.
    from bulletin.mail.rendering import render_issue

    for lang, words in (("en", "Closing soon"), ("cy", "Yn cau cyn bo hir")):
        rendered = render_issue(issue, lang, personal=False)
        assert rendered.text.count(words) == 1
        assert rendered.html.count(words) == 1
        before, _after = rendered.text.split(words)
        assert "Closes this week" in before and "Closes later" not in before


@pytest.fixture
def mail_app(make_app, smtp_server):
    application = make_app(SMTP_URL=smtp_server.url)
    with application.app_context():
        _empty_tables()
        from bulletin.core.defaults import ensure_defaults

        ensure_defaults()
        yield application
        db.session.rollback()


def _move_clock(monkeypatch, moment: datetime) -> None:
    monkeypatch.setattr(ops, "utcnow", lambda: moment)


def test_worker_job_emails_the_editors_a_review_link_in_both_languages(
    mail_app, smtp_server, make_editor, make_workshop, run_worker_once, monkeypatch
):
    db.session.add(rhythm_row(handled_through=utc(2027, 4, 21, 12, 0)))
    db.session.commit()
    make_editor("one@example.org")
    make_editor("two@example.org", role="admin")
    make_workshop("Coming up", starts_at=utc(2027, 4, 28, 10, 0))
    _move_clock(monkeypatch, utc(2027, 4, 23, 10, 0))
    run_worker_once(mail_app)  # follow-rhythm queues; the next pass delivers
    run_worker_once(mail_app)
    assert sorted(r for m in smtp_server.received for r in m.rcpt_tos) == [
        "one@example.org",
        "two@example.org",
    ]
    issue = db.session.scalar(select(Issue))
    message = smtp_server.received[0].message
    assert "please review it" in message["Subject"] and "adolygwch" in message["Subject"]
    body = message.get_body(("plain",)).get_content()
    assert f"http://localhost/editor/issues/{issue.id}" in body
    assert "Review the draft" in body and "Adolygwch y drafft" in body


def test_an_empty_window_makes_no_draft_and_tells_the_editors(app, weekly, make_editor):
    make_editor("ed@example.org")
    assert ops.draft_due(utc(2027, 4, 23, 10, 0)) == [(utc(2027, 4, 26, 8, 0), "empty")]
    assert db.session.scalar(select(func.count()).select_from(Issue)) == 0
    assert [m.kind for m in _mail_rows()] == ["rhythm-empty"]
    assert ops.draft_due(utc(2027, 4, 23, 11, 0)) == []  # told once
    assert len(_mail_rows()) == 1


def test_missed_drafts_are_made_on_the_next_run_and_never_twice(
    app, weekly, make_editor, make_workshop
):
    make_editor("ed@example.org")
    make_workshop("In May", starts_at=utc(2027, 5, 10, 10, 0))
    # The worker was down from the 21st until Saturday 1 May: the 26 April issue's date has
    # passed (skipped, and said), the 3 May one is drafted late, the 10 May one is not due.
    done = ops.draft_due(utc(2027, 5, 1, 9, 0))
    assert done == [(utc(2027, 4, 26, 8, 0), "missed"), (ISSUE_DATE, "drafted")]
    assert [m.kind for m in _mail_rows()] == ["rhythm-missed", "rhythm-drafted"]
    assert ops.draft_due(utc(2027, 5, 1, 9, 1)) == []
    assert db.session.scalar(select(Issue.rhythm_date)) == ISSUE_DATE


def test_a_worker_down_for_months_tells_the_editors_once(app, weekly, make_editor):
    make_editor("ed@example.org")
    # Down from 21 April to Wednesday 4 August: 15 Mondays went by; the 9 August issue is
    # not due for drafting until the 6th.
    assert ops.draft_due(utc(2027, 8, 4, 9, 0)) == [(utc(2027, 8, 2, 8, 0), "missed")]
    assert [m.kind for m in _mail_rows()] == ["rhythm-missed"]
    assert ops.draft_due(utc(2027, 8, 4, 9, 5)) == []


def test_two_workers_at_once_draft_the_date_once(app, weekly, make_editor, make_workshop):
    make_editor("ed@example.org")
    make_workshop("In May", starts_at=utc(2027, 5, 10, 10, 0))
    now = utc(2027, 4, 30, 9, 0)  # 26 April missed; 3 May due
    barrier = threading.Barrier(2)
    results, errors = [], []

    def worker():
        try:
            with app.app_context():
                barrier.wait()
                results.append(ops.draft_due(now))
                db.session.remove()
        except Exception as exc:  # pragma: no cover - shown by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    db.session.expire_all()
    dealt = sorted(outcome for result in results for outcome in result)
    assert dealt == [(utc(2027, 4, 26, 8, 0), "missed"), (ISSUE_DATE, "drafted")]
    assert db.session.scalar(select(func.count()).select_from(Issue)) == 1
    assert sorted(m.kind for m in _mail_rows()) == ["rhythm-drafted", "rhythm-missed"]


def test_the_unique_rhythm_date_refuses_a_second_draft(app, make_issue):
    make_issue(rhythm_date=ISSUE_DATE)
    with pytest.raises(Exception, match="(?i)unique"):
        make_issue(rhythm_date=ISSUE_DATE)
    db.session.rollback()


def _draft(weekly, make_workshop) -> Issue:
    make_workshop("In May", starts_at=utc(2027, 5, 10, 10, 0))
    weekly.handled_through = utc(2027, 4, 27, 12, 0)
    db.session.commit()
    assert ops.draft_due(utc(2027, 4, 30, 9, 0)) == [(ISSUE_DATE, "drafted")]
    return db.session.scalar(select(Issue))


def test_approving_the_draft_schedules_the_send_at_the_rhythm_date(
    app, weekly, make_editor, make_workshop, make_subscriber, monkeypatch
):
    make_subscriber("reader@example.org", status="confirmed", language="cy")
    editor = make_editor("ed@example.org")
    weekly.audience = sends.audience_json([], [], ["cy"])
    issue = _draft(weekly, make_workshop)
    client = app.test_client()
    sign_in(client, editor)
    page = client.get(f"/editor/issues/{issue.id}?lang=en").text
    assert "Approve and schedule the send" in page
    _move_clock(monkeypatch, utc(2027, 4, 30, 10, 0))
    reply = client.post(f"/editor/issues/{issue.id}/approve", data={"csrf_token": csrf_token(page)})
    assert reply.status_code == 303
    send = db.session.scalar(select(Send))
    assert (send.status, send.scheduled_at) == (SendStatus.SCHEDULED, ISSUE_DATE)
    assert send.audience_filter == {"topics": [], "regions": [], "languages": ["cy"]}
    assert send.created_by_id == editor.id
    actions = set(db.session.scalars(select(AuditLog.action)))
    assert {"issue.draft", "issue.approve", "send.schedule"} <= actions
    # A second approval is refused with a message, not a second send.
    again = client.post(f"/editor/issues/{issue.id}/approve", data={"csrf_token": csrf_token(page)})
    assert again.status_code == 303
    assert db.session.scalar(select(func.count()).select_from(Send)) == 1


def test_auto_mode_skips_an_unapproved_draft_at_its_time_and_tells(
    app, weekly, make_editor, make_workshop
):
    make_editor("ed@example.org")
    weekly.mode = "auto"
    issue = _draft(weekly, make_workshop)
    assert ops.skip_unapproved(ISSUE_DATE - timedelta(minutes=1)) == []
    assert [i.id for i in ops.skip_unapproved(ISSUE_DATE)] == [issue.id]
    assert ops.skip_unapproved(ISSUE_DATE + timedelta(hours=1)) == []  # told once
    assert [m.kind for m in _mail_rows()] == ["rhythm-drafted", "rhythm-unapproved"]
    db.session.refresh(issue)
    assert issue.rhythm_skipped_at == ISSUE_DATE
    assert db.session.scalar(select(func.count()).select_from(Send)) == 0
    with pytest.raises(ops.RhythmError):
        ops.approve_draft(issue, db.session.scalar(select(Editor)))


def test_approve_mode_leaves_an_unapproved_draft_alone(app, weekly, make_editor, make_workshop):
    make_editor("ed@example.org")
    _draft(weekly, make_workshop)
    assert ops.skip_unapproved(ISSUE_DATE + timedelta(hours=1)) == []
    assert db.session.scalar(select(Issue.rhythm_skipped_at)) is None


def test_follow_rhythm_is_in_the_worker_job_table():
    from bulletin.worker import JOBS

    assert follow_rhythm in [job.run for job in JOBS]


# ----- four eyes -----


@pytest.fixture
def four_eyes(make_app, smtp_server):
    application = make_app(SMTP_URL=smtp_server.url, REQUIRE_APPROVAL=True)
    with application.app_context():
        _empty_tables()
        from bulletin.core.defaults import ensure_defaults

        ensure_defaults()
        yield application
        db.session.rollback()


def test_four_eyes_second_editor_approves_and_the_send_goes(
    four_eyes, smtp_server, make_editor, make_issue, make_subscriber, run_worker_once
):
    make_subscriber("reader@example.org", status="confirmed")
    first, second = make_editor("first@example.org"), make_editor("second@example.org")
    issue = make_issue("Four eyes")
    one, two = four_eyes.test_client(), four_eyes.test_client()
    sign_in(one, first)
    sign_in(two, second)
    form = one.get("/editor/sends/new?lang=en").text
    data = {"csrf_token": csrf_token(form), "issue": issue.id, "when": "now", "archive": "auto"}
    counted = one.post("/editor/sends/new", data=data).text
    data["confirmed"] = "1"
    assert one.post("/editor/sends/new", data=data).status_code == 303
    send = db.session.scalar(select(Send))
    assert send.status == SendStatus.AWAITING_APPROVAL
    assert counted  # the count page came first
    run_worker_once(four_eyes)
    assert smtp_server.received == []  # nothing goes before a second editor approves
    # The scheduler cannot approve it: refused with a message that says why.
    page = one.get(f"/editor/sends/{send.id}?lang=en").text
    assert "Awaiting approval by a second editor" in page
    assert "another editor must approve it" in page
    refused = one.post(
        f"/editor/sends/{send.id}/approve",
        data={"csrf_token": csrf_token(page)},
        follow_redirects=True,
    ).text
    assert "you cannot approve it" in refused
    db.session.expire_all()
    assert db.session.get(Send, send.id).status == SendStatus.AWAITING_APPROVAL
    welsh = two.get(f"/editor/sends/{send.id}?lang=cy").text
    assert "Yn aros i ail olygydd ei gymeradwyo" in welsh
    approved = two.post(f"/editor/sends/{send.id}/approve", data={"csrf_token": csrf_token(welsh)})
    assert approved.status_code == 303
    db.session.expire_all()
    send = db.session.get(Send, send.id)
    assert (send.status, send.approved_by_id) == (SendStatus.SCHEDULED, second.id)
    run_worker_once(four_eyes, times=2)
    assert [m.rcpt_tos for m in smtp_server.received] == [["reader@example.org"]]
    audit = db.session.execute(
        select(AuditLog.action, AuditLog.editor_id).where(AuditLog.target_type == "send")
    ).all()
    assert ("send.schedule", first.id) in audit and ("send.approve", second.id) in audit


def test_four_eyes_core_rule_and_due_filter(four_eyes, make_editor, make_issue, make_subscriber):
    make_subscriber("reader@example.org", status="confirmed")
    ids = make_issue().id, make_editor().id, make_editor().id
    with four_eyes.app_context():  # the app with REQUIRE_APPROVAL, not the default one
        issue = db.session.get(Issue, ids[0])
        editor, other = db.session.get(Editor, ids[1]), db.session.get(Editor, ids[2])
        send = sends.schedule_send(issue, "{}", None, editor)
        assert send.status == SendStatus.AWAITING_APPROVAL
        with pytest.raises(sends.SelfApproval):
            sends.approve_send(send, editor)
        with pytest.raises(sends.SendStateError):
            sends.send_now(send)
        # Even a row forced to "scheduled" without an approval is not due while it is required.
        send.status = SendStatus.SCHEDULED
        db.session.flush()
        due = select(Send.id).where(*sends.due_sends(sends.utcnow(), require_approval=True))
        assert db.session.scalars(due).all() == []
        assert sends.needs_approval(send) and not sends.is_starting(send)
        sends.approve_send(send, other)
        db.session.flush()
        assert send.approved_by_id == other.id and send.status == SendStatus.SCHEDULED
        due = select(Send.id).where(*sends.due_sends(sends.utcnow(), require_approval=True))
        assert db.session.scalars(due).all() == [send.id]
        assert not sends.needs_approval(send) and sends.is_starting(send)
        with pytest.raises(sends.SendStateError):
            sends.approve_send(send, other)  # once is enough
        db.session.commit()


def test_api_send_creation_awaits_approval(four_eyes, make_editor, make_issue, make_subscriber):
    from bulletin.core.api_tokens import issue_token

    make_subscriber("reader@example.org", status="confirmed")
    editor = make_editor()
    _row, token = issue_token(editor, "test", by=editor)
    db.session.commit()
    issue = make_issue()
    reply = four_eyes.test_client().post(
        f"/api/v1/issues/{issue.id}/sends",
        json={"audience": {}, "scheduled_at": "now"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert reply.status_code == 201, reply.text
    assert reply.json["status"] == "awaiting-approval"
    assert (reply.json["approved_by_id"], reply.json["approved_at"]) == (None, None)


# ----- the admin page -----


def test_rhythm_page_is_for_admins_and_saves_the_rhythm(app, editor_client, make_editor):
    plain = app.test_client()
    sign_in(plain, make_editor("plain@example.org"))
    assert plain.get("/editor/admin/rhythm").status_code == 403
    page = editor_client.get("/editor/admin/rhythm?lang=en").text
    data = {
        "csrf_token": csrf_token(page),
        "is_active": "y",
        "frequency": "monthly",
        "weekday": "0",
        "week": "1",
        "at": "10:30",
        "days_before": "0",
        "mode": "auto",
        "languages": ["cy"],
        "intro_cy": "Croeso",
        "intro_en": "Welcome",
    }
    refused = editor_client.post("/editor/admin/rhythm", data=data)
    assert refused.status_code == 400
    assert "Enter a number of days from 1 to 28" in refused.text
    assert db.session.scalar(select(func.count()).select_from(Rhythm)) == 0
    data.update(days_before="three", at="half ten")
    welsh = editor_client.post("/editor/admin/rhythm?lang=cy", data=data)
    assert welsh.status_code == 400
    assert "Rhowch nifer o ddiwrnodau o 1 i 28" in welsh.text
    assert "Rhowch yr amser ar y cloc 24 awr, fel 09:00" in welsh.text
    data.update(days_before="5", at="10:30")
    assert editor_client.post("/editor/admin/rhythm", data=data).status_code == 303
    saved = db.session.scalar(select(Rhythm))
    assert (saved.frequency, saved.weekday, saved.week, saved.hour, saved.minute) == (
        "monthly",
        0,
        1,
        10,
        30,
    )
    assert (saved.days_before, saved.mode, saved.intro_cy) == (5, "auto", "Croeso")
    assert json.loads(saved.audience)["languages"] == ["cy"]
    assert saved.handled_through is not None  # dates already past are never drafted
    shown = editor_client.get("/editor/admin/rhythm?lang=cy").text
    assert "Y rhifynnau nesaf" in shown and 'value="10:30"' in shown
    assert "rhythm.save" in set(db.session.scalars(select(AuditLog.action)))


def test_a_date_that_has_its_draft_already_is_passed_over(
    app, weekly, make_editor, make_workshop, make_issue
):
    make_editor("ed@example.org")
    make_workshop("In May", starts_at=utc(2027, 5, 10, 10, 0))
    make_issue("Made before", rhythm_date=ISSUE_DATE)
    weekly.handled_through = utc(2027, 4, 27, 12, 0)
    db.session.commit()
    assert ops.draft_due(utc(2027, 4, 30, 9, 0)) == [(ISSUE_DATE, "exists")]
    assert ops.draft_due(utc(2027, 4, 30, 9, 5)) == []  # not stuck on it, not retried
    assert db.session.scalar(select(func.count()).select_from(Issue)) == 1
    assert _mail_rows() == []


def test_auto_mode_with_four_eyes_skips_a_draft_only_one_editor_approved(
    four_eyes, make_editor, make_workshop, make_subscriber
):
    make_subscriber("reader@example.org", status="confirmed")
    ids = make_editor("ed@example.org").id
    make_workshop("In May", starts_at=utc(2027, 5, 10, 10, 0))
    with four_eyes.app_context():
        db.session.add(rhythm_row(mode="auto", handled_through=utc(2027, 4, 27, 12, 0)))
        db.session.commit()
        assert ops.draft_due(utc(2027, 4, 30, 9, 0)) == [(ISSUE_DATE, "drafted")]
        issue = db.session.scalar(select(Issue))
        send = ops.approve_draft(issue, db.session.get(Editor, ids))
        db.session.commit()
        assert send.status == SendStatus.AWAITING_APPROVAL
        assert [i.id for i in ops.skip_unapproved(ISSUE_DATE)] == [issue.id]
        db.session.refresh(send)
        assert send.status == SendStatus.CANCELLED  # too late for the second editor
        assert [m.kind for m in _mail_rows()] == ["rhythm-drafted", "rhythm-unapproved"]


def test_every_send_status_has_words_in_both_languages(app):
    from flask_babel import force_locale

    from bulletin.editorial.labels import SEND_STATUSES

    assert set(SendStatus) <= set(SEND_STATUSES)
    with app.test_request_context(), force_locale("cy"):
        assert str(SEND_STATUSES["awaiting-approval"]) == "Yn aros i ail olygydd ei gymeradwyo"
