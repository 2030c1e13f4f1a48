"""The bulletin's rhythm: the dates issues go out, and the drafts the worker makes for them.

An admin sets the rhythm (one row, Europe/London wall-clock time). `days_before` each date,
the worker drafts the issue with the fill rule (core/fill.py) and emails the editors a link
to review it. Nothing goes without an editor: approving the draft schedules its send at the
rhythm's date with the rhythm's audience. In "auto" mode a draft nobody approved by its time
is skipped, and the editors are told. An empty draft is never made: the editors are told.

Each date is dealt with once: the worker claims it with a compare-and-set update of
Rhythm.handled_through, and an issue's rhythm_date is unique. The caller commits.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from itertools import takewhile

from babel.dates import format_date
from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from bulletin.core import sends
from bulletin.core.audit import record_audit
from bulletin.core.catalogue import unique_slug
from bulletin.core.fill import FILL_DEFAULT_WEEKS, fill_issue, fill_window_end
from bulletin.extensions import db
from bulletin.i18n import LANGUAGES, Language, london_to_utc_safe, org_name, utc_to_london
from bulletin.mail.links import external_url
from bulletin.mail.outbox import enqueue_to_staff
from bulletin.mail.rendering import RenderedEmail, render_email
from bulletin.models import (
    Editor,
    Issue,
    Rhythm,
    RhythmFrequency,
    RhythmMode,
    Send,
    SendStatus,
    utcnow,
)

log = logging.getLogger(__name__)

#: Monthly rhythms: the 1st to 4th weekday of the month, or the last one.
LAST_WEEK = -1
WEEKS = (1, 2, 3, 4, LAST_WEEK)
#: How many dates still to come one pass of the worker deals with at most.
MAX_DATES_PER_PASS = 12
#: Why the worker made no draft for a date (the editors' mail words them).
SKIP_EMPTY, SKIP_MISSED, SKIP_UNAPPROVED = "empty", "missed", "unapproved"
#: A draft whose sends are all in these states has not been approved (auto mode skips it).
NOT_APPROVED = (SendStatus.CANCELLED, SendStatus.AWAITING_APPROVAL)


class RhythmError(ValueError):
    """The draft cannot be approved (not a rhythm draft, already scheduled, skipped)."""


def get_rhythm() -> Rhythm | None:
    """The rhythm (one row), or None when no admin has set one."""
    return db.session.scalar(select(Rhythm).order_by(Rhythm.id).limit(1))


# ----- the dates -----


def _matches(rhythm: Rhythm, day: date) -> bool:
    if day.weekday() != rhythm.weekday:
        return False
    if rhythm.frequency != RhythmFrequency.MONTHLY:
        return True
    if rhythm.week == LAST_WEEK:
        return (day + timedelta(days=7)).month != day.month
    return (day.day - 1) // 7 + 1 == rhythm.week


def _moment(rhythm: Rhythm, day: date) -> datetime:
    """The rhythm's wall-clock time on `day` in UTC; a time in the spring gap moves an hour
    on (01:30 on the last Sunday of March is 02:30 BST); an autumn repeat is the first."""
    local = datetime.combine(day, time(rhythm.hour, rhythm.minute))
    return london_to_utc_safe(local) or london_to_utc_safe(local + timedelta(hours=1))


def iter_dates(rhythm: Rhythm, after: datetime) -> Iterator[datetime]:
    """Every date of the rhythm strictly after `after` (aware UTC), in order."""
    day = utc_to_london(after).date()
    while True:
        if _matches(rhythm, day):
            moment = _moment(rhythm, day)
            if moment > after:
                yield moment
        day += timedelta(days=1)


def next_dates(rhythm: Rhythm, after: datetime, count: int = 1) -> list[datetime]:
    """The rhythm's next `count` dates strictly after `after`, in UTC (DST-correct: the same
    London wall-clock time either side of the clocks changing)."""
    found: list[datetime] = []
    for moment in iter_dates(rhythm, after):
        found.append(moment)
        if len(found) == count:
            break
    return found


def draft_at(rhythm: Rhythm, issue_date: datetime) -> datetime:
    """When the worker drafts the issue of `issue_date`: days_before it."""
    return issue_date - timedelta(days=rhythm.days_before)


# ----- the admin's verbs -----


def save_rhythm(data: dict, editor: Editor | None) -> Rhythm:
    """Create or change the rhythm. A new (or re-activated) rhythm starts from now: dates
    already past are never drafted."""
    rhythm = get_rhythm()
    if rhythm is None:
        rhythm = Rhythm()
        db.session.add(rhythm)
    was_active = bool(rhythm.is_active)
    for name in ("is_active", "frequency", "weekday", "week", "hour", "minute", "days_before"):
        setattr(rhythm, name, data[name])
    rhythm.mode = data["mode"]
    rhythm.audience = sends.audience_json(**data["audience"])
    rhythm.intro_cy = (data.get("intro_cy") or "").strip() or None
    rhythm.intro_en = (data.get("intro_en") or "").strip() or None
    if rhythm.is_active and not was_active:
        # Dates that passed while it was off are never drafted; none is dealt with twice.
        rhythm.handled_through = max(rhythm.handled_through or utcnow(), utcnow())
    db.session.flush()
    record_audit(
        "rhythm.save",
        rhythm,
        detail={
            "frequency": rhythm.frequency,
            "weekday": rhythm.weekday,
            "week": rhythm.week,
            "time": f"{rhythm.hour:02d}:{rhythm.minute:02d}",
            "mode": rhythm.mode,
            "active": rhythm.is_active,
        },
        editor=editor,
    )
    return rhythm


# ----- the worker's drafting -----


def _claim(rhythm_id: int, issue_date: datetime) -> bool:
    """Claim a date for this worker: the one compare-and-set that keeps two workers apart."""
    claimed = db.session.execute(
        update(Rhythm)
        .where(
            Rhythm.id == rhythm_id,
            (Rhythm.handled_through.is_(None)) | (Rhythm.handled_through < issue_date),
        )
        .values(handled_through=issue_date)
        .execution_options(synchronize_session=False)
    )
    return claimed.rowcount == 1


def _local_day(moment: datetime, lang: str) -> str:
    return format_date(utc_to_london(moment).date(), "d MMMM y", locale=lang)


def _new_draft(rhythm: Rhythm, issue_date: datetime, following: datetime) -> Issue:
    issue = Issue(
        slug="",
        rhythm_date=issue_date,
        closing_soon_before=following,
        intro_cy=rhythm.intro_cy,
        intro_en=rhythm.intro_en,
    )
    for lang in LANGUAGES:
        setattr(issue, f"subject_{lang}", f"{org_name(lang)}: {_local_day(issue_date, lang)}")
    stamp = utc_to_london(issue_date).strftime("%Y-%m-%d")
    issue.slug = unique_slug(Issue, f"{stamp} bulletin", "issue")
    db.session.add(issue)
    db.session.flush()  # the unique rhythm_date: a second draft of the date fails here
    record_audit("issue.draft", issue, detail={"rhythm_date": issue_date.isoformat()})
    return issue


def draft_due(now: datetime | None = None) -> list[tuple[datetime, str]]:
    """Deal with every rhythm date whose drafting time has come and that no worker dealt
    with: draft it ("drafted"), or skip it and tell the editors ("empty": nothing in the
    window; "missed": its date passed while no worker ran). Commits each date on its own.
    Returns (date, outcome) for the dates this call dealt with."""
    now = now or utcnow()
    done: list[tuple[datetime, str]] = []
    rhythm = get_rhythm()
    if rhythm is None or not rhythm.is_active:
        return done
    start = rhythm.handled_through or now
    passed = list(takewhile(lambda moment: moment <= now, iter_dates(rhythm, start)))
    if passed:
        # Dates gone by while no worker ran: one mail about the latest, not one for each.
        if not _claim(rhythm.id, passed[-1]):
            db.session.rollback()
            return done
        log.warning("rhythm: %d issue(s) not drafted in time, the last %s", len(passed), passed[-1])
        tell_editors(SKIP_MISSED, passed[-1])
        db.session.commit()
        done.append((passed[-1], SKIP_MISSED))
        start = passed[-1]
    for issue_date in next_dates(rhythm, start, MAX_DATES_PER_PASS):
        if draft_at(rhythm, issue_date) > now:
            break
        outcome = _deal_with(rhythm.id, issue_date, now)
        db.session.commit()
        if outcome is None:  # another worker has it
            break
        done.append((issue_date, outcome))
        rhythm = get_rhythm()
    return done


def _deal_with(rhythm_id: int, issue_date: datetime, now: datetime) -> str | None:
    if not _claim(rhythm_id, issue_date):
        db.session.rollback()
        return None
    rhythm = db.session.get(Rhythm, rhythm_id)
    following = next_dates(rhythm, issue_date)[0]
    try:
        issue = _new_draft(rhythm, issue_date, following)
    except IntegrityError:
        # The date has its draft already (the rhythm was switched off and on again): move on.
        db.session.rollback()
        return "exists" if _claim(rhythm_id, issue_date) else None
    until = fill_window_end(issue_date, FILL_DEFAULT_WEEKS)
    report = fill_issue(issue, until=until, send_at=issue_date)
    if not report.added:
        # Nothing in the window: no draft. Undo it all, then claim the date again to say so.
        db.session.rollback()
        if not _claim(rhythm_id, issue_date):
            db.session.rollback()
            return None
        log.info("rhythm: nothing to put in the issue of %s", issue_date.isoformat())
        tell_editors(SKIP_EMPTY, issue_date)
        return SKIP_EMPTY
    log.info("rhythm: drafted issue %s for %s", issue.id, issue_date.isoformat())
    tell_editors("drafted", issue_date, issue=issue, added=len(report.added))
    return "drafted"


def open_send(issue: Issue) -> Send | None:
    """The issue's send that is not cancelled, if any (the draft is then approved)."""
    return db.session.scalar(
        select(Send)
        .where(Send.issue_id == issue.id, Send.status != SendStatus.CANCELLED)
        .order_by(Send.id.desc())
        .limit(1)
    )


def approve_draft(issue: Issue, editor: Editor) -> Send:
    """An editor approves a rhythm draft: its send is scheduled at the rhythm's date (now, if
    that has passed) to the rhythm's audience. With REQUIRE_APPROVAL the send then waits for
    a second editor (core/sends.py). RhythmError when it cannot be approved;
    sends.EmptyAudience when the audience has no readers."""
    rhythm = get_rhythm()
    if issue.rhythm_date is None or rhythm is None:
        raise RhythmError("not a draft of the rhythm")
    if issue.rhythm_skipped_at is not None:
        raise RhythmError("skipped: nobody approved it in time")
    if open_send(issue) is not None:
        raise RhythmError("already approved")
    when = issue.rhythm_date if issue.rhythm_date > utcnow() else None
    send = sends.schedule_send(issue, rhythm.audience, when, editor)
    record_audit(
        "issue.approve",
        issue,
        detail={"send": send.id, "rhythm_date": issue.rhythm_date.isoformat()},
        editor=editor,
    )
    record_audit(
        "send.schedule",
        send,
        detail={
            "audience": json.loads(rhythm.audience),
            "publish": send.publish,
            "scheduled_at": send.scheduled_at.isoformat(),
            "via": "rhythm",
        },
        editor=editor,
    )
    return send


def skip_unapproved(now: datetime | None = None) -> list[Issue]:
    """Auto mode: rhythm drafts whose time has come with no send are skipped; the editors are
    told, once (a compare-and-set on rhythm_skipped_at). Commits."""
    now = now or utcnow()
    rhythm = get_rhythm()
    if rhythm is None or rhythm.mode != RhythmMode.AUTO:
        return []
    approved = (
        select(Send.id).where(Send.issue_id == Issue.id, Send.status.not_in(NOT_APPROVED)).exists()
    )
    due = db.session.scalars(
        select(Issue.id).where(
            Issue.rhythm_date.is_not(None),
            Issue.rhythm_date <= now,
            Issue.rhythm_skipped_at.is_(None),
            Issue.published_at.is_(None),
            ~approved,
        )
    ).all()
    skipped = []
    for issue_id in due:
        claimed = db.session.execute(
            update(Issue)
            .where(Issue.id == issue_id, Issue.rhythm_skipped_at.is_(None))
            .values(rhythm_skipped_at=now)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            db.session.rollback()
            continue
        issue = db.session.get(Issue, issue_id)
        db.session.refresh(issue)
        for send in db.session.scalars(
            select(Send).where(
                Send.issue_id == issue_id, Send.status == SendStatus.AWAITING_APPROVAL
            )
        ):
            sends.cancel_send(send)  # approved by one editor only (REQUIRE_APPROVAL): too late
        record_audit("issue.skip", issue, detail={"rhythm_date": issue.rhythm_date.isoformat()})
        tell_editors(SKIP_UNAPPROVED, issue.rhythm_date, issue=issue)
        db.session.commit()
        skipped.append(issue)
    return skipped


# ----- telling the editors -----


def tell_editors(event: str, issue_date: datetime, *, issue: Issue | None = None, added=0) -> int:
    """Queue the bilingual mail about a rhythm date to every active editor."""
    addresses = db.session.scalars(
        select(Editor.email).where(Editor.is_active_account.is_(True)).order_by(Editor.id)
    ).all()
    if not addresses:
        return 0
    rendered = render_rhythm_email(event, issue_date, issue=issue, added=added)
    return enqueue_to_staff(addresses, rendered, kind=f"rhythm-{event}")


def render_rhythm_email(
    event: str, issue_date: datetime, *, issue: Issue | None = None, added: int = 0
) -> RenderedEmail:
    """The mail about a draft (event "drafted") or a skipped date: Welsh, then English."""
    context = {
        "event": event,
        "issue": issue,
        "added": added,
        "review_url": external_url("editor.edit_issue", issue_id=issue.id) if issue else None,
        "rhythm_url": external_url("editor.rhythm"),
    }
    subjects = {
        "drafted": lambda day: _("The bulletin of %(date)s is drafted: please review it", date=day),
        SKIP_EMPTY: lambda day: _("No bulletin on %(date)s: nothing to put in it", date=day),
        SKIP_MISSED: lambda day: _("The bulletin of %(date)s was not drafted in time", date=day),
        SKIP_UNAPPROVED: lambda day: _(
            "The bulletin of %(date)s was skipped: nobody approved it", date=day
        ),
    }
    parts = []
    for lang in LANGUAGES:
        with force_locale(lang):
            day = _local_day(issue_date, lang)
            parts.append(
                {
                    "lang": lang,
                    "html": Markup(render_template("email/_rhythm-body.html", day=day, **context)),
                    "text": render_template("email/_rhythm-body.txt", day=day, **context),
                    "subject": subjects[event](day),
                }
            )
    return render_email("staff-notice", Language.CY, parts=parts)
