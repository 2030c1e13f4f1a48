"""Sends, as both doors see them: the audience query, the editor's verbs, progress figures.

The editor web schedules, pauses and cancels by writing rows; the worker (delivery/) does
the sending. Both use audience_select, so the count shown before scheduling is the number
the worker materialises (less anyone who leaves in between). A later send of the same issue
leaves out, by default, readers who already had it (already_had, send_audience_select).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import ColumnElement, Select, and_, case, exists, func, literal, select, update

from bulletin.core.audit import record_audit
from bulletin.extensions import db
from bulletin.i18n import BOTH, LANGUAGES, READER_CHOICES, Language
from bulletin.models import (
    Delivery,
    DeliveryStatus,
    Editor,
    Issue,
    Send,
    SendStatus,
    Subscriber,
    SubscriberStatus,
    Topic,
    subscriber_topic,
    utcnow,
)


class SendStateError(ValueError):
    """The send is not in a state that allows this change."""


class SelfApproval(SendStateError):
    """Four eyes: the editor who scheduled a send cannot approve it too."""

    def __init__(self):
        super().__init__("the editor who scheduled a send cannot approve it")


class EmptyAudience(SendStateError):
    """The audience, after its exclusions, has no readers: a send to it would reach nobody.

    `all_had_it`: people match, but every one of them already had the issue.
    """

    def __init__(self, all_had_it: bool):
        super().__init__(
            "every reader in this audience already had this issue"
            if all_had_it
            else "no confirmed subscriber matches it"
        )
        self.all_had_it = all_had_it


def audience_json(topics: list[str], regions: list[str], languages: list[str]) -> str:
    """The stored form of an audience (empty lists mean everyone)."""
    return json.dumps(
        {"topics": sorted(topics), "regions": sorted(regions), "languages": sorted(languages)}
    )


def delivery_language(issue: Issue):
    """SQL expression for the language each subscriber gets: theirs (both, for a reader who
    chose BOTH), else the one there is."""
    has_cy, has_en = issue.has_language(Language.CY), issue.has_language(Language.EN)
    if has_cy and has_en:
        return case(
            (Subscriber.language == Language.CY, str(Language.CY)),
            (Subscriber.language == BOTH, BOTH),
            else_=str(Language.EN),
        )
    return literal(str(Language.CY if has_cy else Language.EN))


def audience_languages(languages: list[str]) -> list[str]:
    """The reader choices a send's languages reach: a reader who chose both languages is a
    Welsh reader and an English reader, so any language reaches them (one mail each)."""
    return [*languages, BOTH] if languages else []


def audience_select(audience: dict[str, list[str]], *columns) -> Select:
    """Confirmed subscribers matching topics x regions x languages (an empty list: any)."""
    query = select(*(columns or (Subscriber.id,))).where(
        Subscriber.status == SubscriberStatus.CONFIRMED
    )
    if audience.get("regions"):
        query = query.where(Subscriber.region.in_(audience["regions"]))
    if audience.get("languages"):
        query = query.where(Subscriber.language.in_(audience_languages(audience["languages"])))
    if audience.get("topics"):
        chosen = exists().where(
            and_(
                subscriber_topic.c.subscriber_id == Subscriber.id,
                subscriber_topic.c.topic_id == Topic.id,
                Topic.slug.in_(audience["topics"]),
            )
        )
        query = query.where(chosen)
    return query


def already_had(issue_id: int, but_send_id: int | None = None):
    """SQL test: the subscriber already had this issue from another send of it.

    Only a delivery with status sent counts. A failed or skipped one does not (that reader
    should get it now), nor a queued or sending one of a send still running: if that send
    is cancelled or the delivery fails, the reader would otherwise never get the issue.
    """
    earlier = (
        select(Delivery.id)
        .join(Send, Send.id == Delivery.send_id)
        .where(
            Delivery.subscriber_id == Subscriber.id,
            Delivery.status == DeliveryStatus.SENT,
            Send.issue_id == issue_id,
        )
    )
    if but_send_id is not None:
        earlier = earlier.where(Send.id != but_send_id)
    return earlier.exists()


def send_audience_select(send: Send, *columns) -> Select:
    """The send's recipients: its audience, less those who had the issue if it says so."""
    query = audience_select(send.audience_filter, *columns)
    if send.exclude_already_sent and _has_other_send(send):
        query = query.where(~already_had(send.issue_id, send.id))
    return query


def _has_other_send(send: Send) -> bool:
    # The usual first send of an issue skips the anti-join: on a million readers it is a
    # million index probes for nothing.
    other = select(Send.id).where(Send.issue_id == send.issue_id, Send.id != send.id).limit(1)
    return db.session.scalar(other) is not None


def count_audience(audience: dict[str, list[str]], *, less_issue_id: int | None = None) -> int:
    """How many people the audience reaches right now (less those who had that issue)."""
    query = audience_select(audience).with_only_columns(func.count(Subscriber.id))
    if less_issue_id is not None:
        query = query.where(~already_had(less_issue_id))
    return db.session.scalar(query) or 0


@dataclass(frozen=True)
class Reach:
    """What the editor sees before a send: the audience and how many already had the issue."""

    audience: int
    already_had: int
    #: (reader choice, count) for cy, en and both (i18n.READER_CHOICES), in that order.
    by_language: tuple[tuple[str, int], ...] = ()

    @property
    def rest(self) -> int:
        return self.audience - self.already_had


def count_reach(
    issue: Issue, audience: dict[str, list[str]], *, by_language: bool = False
) -> Reach:
    """The audience's size and how many of it already had this issue (and, when asked, how
    many chose each language: the send form's count step shows it)."""
    everyone = count_audience(audience)
    return Reach(
        everyone,
        everyone - count_audience(audience, less_issue_id=issue.id),
        count_by_language(audience) if by_language else (),
    )


def count_by_language(audience: dict[str, list[str]]) -> tuple[tuple[str, int], ...]:
    """How many of the audience chose Welsh, English and both languages (one query)."""
    query = (
        audience_select(audience)
        .with_only_columns(Subscriber.language, func.count(Subscriber.id))
        .group_by(Subscriber.language)
    )
    counts = dict(db.session.execute(query).all())
    return tuple((choice, counts.get(choice, 0)) for choice in READER_CHOICES)


def require_readers(
    issue: Issue, audience: dict[str, list[str]], *, exclude_already_sent: bool
) -> Reach:
    """The one rule against a send to nobody: EmptyAudience when the audience, less those who
    had the issue (when the send leaves them out), has no readers; else its reach."""
    reach = count_reach(issue, audience)
    if reach.audience == 0:
        raise EmptyAudience(all_had_it=False)
    if exclude_already_sent and reach.rest == 0:
        raise EmptyAudience(all_had_it=True)
    return reach


def publishes_by_default(audience: dict[str, list[str]]) -> bool:
    """A send to everyone publishes the issue unless told not to; a segment-only send does not."""
    return not any(audience.get(key) for key in ("topics", "regions", "languages"))


def schedule_send(
    issue: Issue,
    audience: str,
    when: datetime | None,
    editor: Editor | None,
    *,
    exclude_already_sent: bool = True,
    publish: bool | None = None,
) -> Send:
    """Create a scheduled send; `when=None` means now (the next worker tick starts it).

    `publish`: whether the issue goes into the public archive and feed when the send ends;
    None chooses by audience (publishes_by_default). With REQUIRE_APPROVAL the send waits,
    awaiting approval, until a second editor approves it (approve_send).
    """
    if not any(issue.has_language(lang) for lang in LANGUAGES):
        raise SendStateError("the issue has no subject in either language")
    require_readers(issue, json.loads(audience), exclude_already_sent=exclude_already_sent)
    if publish is None:
        publish = publishes_by_default(json.loads(audience))
    send = Send(
        issue=issue,
        audience=audience,
        publish=publish,
        scheduled_at=when or utcnow(),
        status=SendStatus.AWAITING_APPROVAL if approval_required() else SendStatus.SCHEDULED,
        created_by=editor,
        exclude_already_sent=exclude_already_sent,
    )
    db.session.add(send)
    db.session.flush()
    return send


def approval_required() -> bool:
    """REQUIRE_APPROVAL: every send needs a second editor's approval before it goes."""
    return bool(current_app.config.get("REQUIRE_APPROVAL"))


def approve_send(send: Send, editor: Editor) -> None:
    """Four eyes: a second editor approves a send awaiting approval, which is then scheduled
    (at its time, or now if that has passed). The one who scheduled it cannot (SelfApproval).
    A send scheduled before REQUIRE_APPROVAL was turned on waits too, and is approved the
    same way. Recorded in the audit log."""
    _require(send, SendStatus.AWAITING_APPROVAL, SendStatus.SCHEDULED)
    if send.approved_at is not None:
        raise SendStateError("the send is approved already")
    if send.created_by_id is not None and send.created_by_id == editor.id:
        raise SelfApproval()
    now = utcnow()
    send.approved_by, send.approved_at = editor, now
    send.status = SendStatus.SCHEDULED
    if send.scheduled_at is None or send.scheduled_at < now:
        send.scheduled_at = now
    record_audit(
        "send.approve",
        send,
        detail={"scheduled_by": send.created_by_id, "scheduled_at": send.scheduled_at.isoformat()},
        editor=editor,
    )


def needs_approval(send: Send) -> bool:
    """Whether the send waits for a second editor before the worker may start it."""
    if send.status == SendStatus.AWAITING_APPROVAL:
        return True
    return send.status == SendStatus.SCHEDULED and send.approved_at is None and approval_required()


def due_sends(now: datetime, *, require_approval: bool) -> list[ColumnElement[bool]]:
    """The one rule for a send the worker may start: scheduled, its time come, and, when
    REQUIRE_APPROVAL is on, approved by a second editor."""
    rule = [Send.status == SendStatus.SCHEDULED, Send.scheduled_at <= now]
    if require_approval:
        rule.append(Send.approved_at.is_not(None))
    return rule


def _require(send: Send, *allowed: str) -> None:
    if send.status not in allowed:
        raise SendStateError(f"a {send.status} send cannot do that")


def send_now(send: Send) -> None:
    """Start a scheduled or missed send at the next tick (EmptyAudience if it would reach
    nobody now)."""
    _require(send, SendStatus.SCHEDULED, SendStatus.MISSED)
    require_readers(
        send.issue, send.audience_filter, exclude_already_sent=send.exclude_already_sent
    )
    send.status, send.scheduled_at = SendStatus.SCHEDULED, utcnow()


def is_starting(send: Send, now: datetime | None = None) -> bool:
    """A scheduled send whose time has come: the next worker tick starts it ("sending now")."""
    return (
        not needs_approval(send)
        and send.status == SendStatus.SCHEDULED
        and send.scheduled_at is not None
        and send.scheduled_at <= (now or utcnow())
    )


def pause_send(send: Send) -> None:
    """Stop sending within a refresh of the senders' state check (see delivery/engine/
    states.py): only messages already in an SMTP connection's hands still go; the claimed
    rest go back to the queue (unsent_status)."""
    _require(send, SendStatus.SENDING)
    send.status = SendStatus.PAUSED


def resume_send(send: Send) -> None:
    """Carry on a paused send."""
    _require(send, SendStatus.PAUSED)
    send.status = SendStatus.SENDING


#: The reply recorded on a delivery that was not sent because its send was cancelled.
CANCELLED_REPLY = "send cancelled"


def cancel_send(send: Send) -> None:
    """Cancel a scheduled, missed, paused or running send: its queued deliveries are cancelled
    now; those a sender holds are cancelled when it hands them back (unsent_status), unless
    they were already in an SMTP connection's hands, and then they count as sent."""
    _require(
        send,
        SendStatus.SCHEDULED,
        SendStatus.MISSED,
        SendStatus.SENDING,
        SendStatus.PAUSED,
        SendStatus.DRAFT,
        SendStatus.AWAITING_APPROVAL,
    )
    send.status, send.finished_at = SendStatus.CANCELLED, utcnow()
    db.session.execute(
        update(Delivery)
        .where(Delivery.send_id == send.id, Delivery.status == DeliveryStatus.QUEUED)
        .values(status=DeliveryStatus.CANCELLED, last_reply=CANCELLED_REPLY)
        .execution_options(synchronize_session=False)
    )


def unsent_status():
    """SQL value for a delivery that goes back unsent (handed back, lease expired, a retry):
    queued again, unless its send was cancelled, and then cancelled. The one rule, so that a
    paused send's claimed rows wait for the resume and a cancelled send's never go."""
    cancelled = (
        select(Send.id)
        .where(Send.id == Delivery.send_id, Send.status == SendStatus.CANCELLED)
        .exists()
    )
    return case(
        (cancelled, literal(DeliveryStatus.CANCELLED.value)),
        else_=literal(DeliveryStatus.QUEUED.value),
    )


def will_not_send(send: Send) -> int:
    """How many would not get this send if it were cancelled now: the deliveries still
    waiting (those in a sender's hands included: all but the few on an SMTP connection
    stay unsent), or, before it started, the audience it would reach."""
    if send.started_at is None:
        return count_audience(
            send.audience_filter,
            less_issue_id=send.issue_id if send.exclude_already_sent else None,
        )
    counts = delivery_counts(send.id)
    return counts.get(DeliveryStatus.QUEUED, 0) + counts.get(DeliveryStatus.SENDING, 0)


@dataclass(frozen=True)
class Progress:
    """A send's figures, as the page, the JSON endpoint and the CLI show them.

    queued + sending + sent + failed + skipped + cancelled = total, the deliveries the send
    materialised (its recipient_count, less any erased since)."""

    status: str
    total: int
    queued: int
    sending: int
    sent: int
    failed: int
    skipped: int
    cancelled: int
    rate_per_second: float  #: over the last minute while it runs; the average once it ended
    seconds_left: float | None
    #: Sent messages over started_at -> finished_at (or now, while it runs); None before.
    average_per_second: float | None = None
    average_per_minute: float | None = None

    @property
    def done(self) -> int:
        """Deliveries that are final, whatever the outcome (not the number sent)."""
        return self.sent + self.failed + self.skipped + self.cancelled

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0

    def as_dict(self) -> dict:
        data = dict(self.__dict__)
        data.update(done=self.done, percent=self.percent)
        return data


def delivery_counts(send_id: int) -> dict[str, int]:
    """How many of a send's deliveries are in each status."""
    return dict(
        db.session.execute(
            select(Delivery.status, func.count())
            .where(Delivery.send_id == send_id)
            .group_by(Delivery.status)
        ).all()
    )


def average_rate(send: Send, sent: int, now: datetime | None = None) -> float | None:
    """Messages sent a second over the send's life: started_at to finished_at (to now while
    it runs). None before it started or when no time has passed."""
    if send.started_at is None:
        return None
    end = send.finished_at or now or utcnow()
    seconds = (end - send.started_at).total_seconds()
    if seconds <= 0:
        return None
    return sent / seconds


def send_progress(send: Send, window_seconds: int = 60) -> Progress:
    """Counts by status, the rate (over the last minute while it runs, the average over the
    whole send once it ended) and the time left at that rate."""
    counts = delivery_counts(send.id)
    now = utcnow()
    sent = counts.get(DeliveryStatus.SENT, 0)
    average = average_rate(send, sent, now)
    if send.is_open:
        since = now.timestamp() - window_seconds
        recent = (
            db.session.scalar(
                select(func.count()).where(
                    Delivery.send_id == send.id,
                    Delivery.status == DeliveryStatus.SENT,
                    Delivery.sent_at >= datetime.fromtimestamp(since, tz=now.tzinfo),
                )
            )
            or 0
        )
        started = send.started_at.timestamp() if send.started_at else since
        rate = recent / max(1.0, min(window_seconds, now.timestamp() - started))
    else:
        rate = average or 0.0
    rate = round(rate, 1) if send.is_open else round(rate, 2)
    left = counts.get(DeliveryStatus.QUEUED, 0) + counts.get(DeliveryStatus.SENDING, 0)
    return Progress(
        status=send.status,
        total=sum(counts.values()),
        queued=counts.get(DeliveryStatus.QUEUED, 0),
        sending=counts.get(DeliveryStatus.SENDING, 0),
        sent=sent,
        failed=counts.get(DeliveryStatus.FAILED, 0),
        skipped=counts.get(DeliveryStatus.SKIPPED, 0),
        cancelled=counts.get(DeliveryStatus.CANCELLED, 0),
        rate_per_second=rate,
        seconds_left=round(left / rate) if rate > 0 and left else (0 if not left else None),
        average_per_second=None if average is None else round(average, 2),
        average_per_minute=None if average is None else round(average * 60, 1),
    )


def export_deliveries(subscriber: Subscriber) -> list[dict]:
    """Subject access: every bulletin delivery to this subscriber (see core/subject_access.py)."""
    rows = db.session.execute(
        select(Delivery, Send.issue_id, Issue.slug)
        .join(Send, Send.id == Delivery.send_id)
        .join(Issue, Issue.id == Send.issue_id)
        .where(Delivery.subscriber_id == subscriber.id)
        .order_by(Delivery.id)
    ).all()
    return [
        {
            "issue": slug,
            "send_id": d.send_id,
            "status": d.status,
            "language": d.language,
            "attempts": d.attempts,
            "last_reply": d.last_reply,
            "sent_at": d.sent_at.isoformat() if d.sent_at else None,
        }
        for d, _issue_id, slug in rows
    ]


def sends_of_issue(issue_id: int, limit: int = 50) -> list[Send]:
    """An issue's sends, newest first (the issue page links each to its report)."""
    query = select(Send).where(Send.issue_id == issue_id).order_by(Send.id.desc()).limit(limit)
    return list(db.session.scalars(query))
