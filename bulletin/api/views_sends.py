"""Sends: schedule an issue for an audience, watch its progress, pause, resume or cancel it.

Like the editor pages, these only write rows; the worker starts and sends.
"""

from __future__ import annotations

from dataclasses import asdict

from flask import g
from sqlalchemy import select

from bulletin.api.schemas import ID_MAX
from bulletin.api.serialize import page_json, send_json
from bulletin.api.validation import ApiError, invalid, parse_timestamp
from bulletin.api.views import PAGING, get_or_404, operation, page_window, paginate
from bulletin.core import sends as send_ops
from bulletin.core.audit import record_audit
from bulletin.core.send_report import build_report, failed_recipients, failed_total
from bulletin.extensions import db
from bulletin.models import Issue, Send, SendStatus, Topic, utcnow

SEND_FILTERS = (
    {
        "name": "issue_id",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": ID_MAX},
    },
    {
        "name": "status",
        "in": "query",
        "required": False,
        "schema": {"type": "string", "enum": [str(s) for s in SendStatus]},
    },
)


def _audience(body: dict) -> dict[str, list[str]]:
    given = body["audience"]
    audience = {key: list(given.get(key) or []) for key in ("topics", "regions", "languages")}
    active = set(
        db.session.scalars(
            select(Topic.slug).where(Topic.is_active, Topic.slug.in_(audience["topics"]))
        )
    )
    unknown = [slug for slug in audience["topics"] if slug not in active]
    if unknown:
        raise invalid("audience.topics", f"Unknown or inactive topic: {unknown[0]}.")
    return audience


def _when(raw: str):
    if raw == "now":
        return None
    moment = parse_timestamp("scheduled_at", raw)
    if moment <= utcnow():
        raise invalid("scheduled_at", "The date and time must be in the future.")
    return moment


@operation(
    "/issues/<int:issue_id>/sends",
    "POST",
    "scheduleSend",
    "Schedule a send of the issue to an audience, now or at a time.",
    "sends",
    body="SendCreate",
    status=201,
    returns="Send",
    errors=(409,),
)
def schedule_send(issue_id: int, body: dict):
    issue = get_or_404(Issue, issue_id)
    audience, when = _audience(body), _when(body["scheduled_at"])
    exclude = body.get("exclude_already_sent", True)
    try:
        send = send_ops.schedule_send(
            issue,
            send_ops.audience_json(**audience),
            when,
            g.api_token.editor,
            exclude_already_sent=exclude,
            publish=body.get("publish"),
        )
    except send_ops.EmptyAudience as exc:
        raise invalid("audience", f"This audience has no readers: {exc}.") from None
    except send_ops.SendStateError as exc:
        raise ApiError(409, f"This issue cannot be sent: {exc}.") from None
    record_audit(
        "send.schedule",
        send,
        detail={
            "audience": audience,
            "publish": send.publish,
            "via": "api",
            "scheduled_at": send.scheduled_at.isoformat(),
            "exclude_already_sent": exclude,
        },
    )
    db.session.commit()
    return send_json(send), 201, {"Location": f"/api/v1/sends/{send.id}"}


@operation(
    "/sends",
    "GET",
    "listSends",
    "Sends, newest first.",
    "sends",
    returns="SendPage",
    query=(*SEND_FILTERS, *PAGING),
)
def list_sends(query: dict):
    statement = select(Send).order_by(Send.id.desc())
    if query["issue_id"] is not None:
        statement = statement.where(Send.issue_id == query["issue_id"])
    if query["status"] is not None:
        statement = statement.where(Send.status == query["status"])
    rows, total, limit, offset = paginate(statement, query)
    return page_json(rows, total, limit, offset, send_json)


@operation(
    "/sends/<int:send_id>",
    "GET",
    "getSend",
    "A send with its progress: counts by delivery status, rate and time left.",
    "sends",
    returns="Send",
)
def get_send(send_id: int):
    return send_json(get_or_404(Send, send_id))


def _change(send_id: int, verb, action: str, words: str) -> dict:
    send = get_or_404(Send, send_id)
    try:
        verb(send)
    except send_ops.SendStateError:
        raise ApiError(409, f"A {send.status} send cannot be {words}.") from None
    record_audit(action, send, detail={"status": send.status, "via": "api"})
    db.session.commit()
    return send_json(send)


@operation(
    "/sends/<int:send_id>/pause",
    "POST",
    "pauseSend",
    "Pause a running send: within a second only the messages already on an SMTP "
    "connection still go; the rest wait, queued, for resumeSend.",
    "sends",
    returns="Send",
    errors=(409,),
)
def pause_send(send_id: int):
    return _change(send_id, send_ops.pause_send, "send.pause", "paused")


@operation(
    "/sends/<int:send_id>/resume",
    "POST",
    "resumeSend",
    "Carry on a paused send.",
    "sends",
    returns="Send",
    errors=(409,),
)
def resume_send(send_id: int):
    return _change(send_id, send_ops.resume_send, "send.resume", "resumed")


@operation(
    "/sends/<int:send_id>/cancel",
    "POST",
    "cancelSend",
    "Cancel a send that has not finished: within a second only the messages already on an "
    "SMTP connection still go; the rest are cancelled (progress.cancelled).",
    "sends",
    returns="Send",
    errors=(409,),
)
def cancel_send(send_id: int):
    return _change(send_id, send_ops.cancel_send, "send.cancel", "cancelled")


@operation(
    "/sends/<int:send_id>/report",
    "GET",
    "getSendReport",
    "What happened after a send: delivered, failed by reason, bounced later, complaints and "
    "unsubscribes through its links, by language and by region (counts from 1 to 4 in a "
    "breakdown are null: the small-number rule). Counts only, never addresses.",
    "sends",
    returns="SendReport",
)
def get_send_report(send_id: int):
    return build_report(get_or_404(Send, send_id)).as_dict()


@operation(
    "/sends/<int:send_id>/report/failed",
    "GET",
    "listSendFailures",
    "Admins only: the send's failed deliveries, with each address, the reason group and "
    "the server's last reply (every read is audit-logged).",
    "sends",
    returns="SendFailurePage",
    query=PAGING,
    errors=(403,),
)
def list_send_failures(send_id: int, query: dict):
    editor = g.api_token.editor
    if not editor.is_admin:
        raise ApiError(403, "Only an admin's token can read failed addresses.")
    send = get_or_404(Send, send_id)
    limit, offset = page_window(query)
    rows = failed_recipients(send.id, limit=limit, offset=offset)
    record_audit("send.failed_export", send, detail={"via": "api", "offset": offset})
    db.session.commit()
    return page_json(rows, failed_total(send.id), limit, offset, asdict)


#: This module's operations, in the order of the OpenAPI document.
OPERATIONS = (
    schedule_send,
    list_sends,
    get_send,
    get_send_report,
    list_send_failures,
    pause_send,
    resume_send,
    cancel_send,
)
