"""Deliver the transactional outbox: confirmations, welcomes, manage links, test sends."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select, update

from bulletin.core.suppressions import Report, hard_bounce, is_hard_bounce, is_suppressed
from bulletin.delivery.backends import MailBackend, SendResult
from bulletin.delivery.pipeline import SMTP_REPLY
from bulletin.extensions import db
from bulletin.mail import tokens
from bulletin.mail.dkim import make_signer
from bulletin.mail.links import external_url
from bulletin.mail.messages import build_transactional, envelope_sender
from bulletin.mail.rendering import render_email
from bulletin.mail.settings import DeliverySettings
from bulletin.models import OutboxMessage, OutboxStatus, utcnow

log = logging.getLogger(__name__)

#: Kinds that go even to a suppressed address: a new double opt-in the person asked for.
IGNORES_SUPPRESSION = {"confirm"}


def claim_outbox(settings: DeliverySettings, limit: int = 50) -> list[int]:
    """Lease due outbox rows to this worker; a lease that runs out frees them again."""
    now = utcnow()
    due = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.next_attempt_at <= now,
            (OutboxMessage.claimed_until.is_(None)) | (OutboxMessage.claimed_until < now),
        )
        .order_by(OutboxMessage.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list(db.session.scalars(due))
    if ids:
        until = now + timedelta(seconds=settings.lease_seconds)
        db.session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(claimed_until=until)
        )
    db.session.commit()
    return ids


def deliver_outbox(settings: DeliverySettings, backend: MailBackend, limit: int = 50) -> int:
    """Send what is due; returns how many went. Stops early when the server is unreachable."""
    sent = 0
    ids = claim_outbox(settings, limit)
    for position, row_id in enumerate(ids):
        row = db.session.get(OutboxMessage, row_id)
        if row is None or row.status != OutboxStatus.PENDING:
            continue
        result = _deliver_one(row, settings, backend)
        db.session.commit()
        if result is not None and result.ok:
            sent += 1
        if result is not None and result.connection_error:
            _release(ids[position + 1 :])
            break
    return sent


def _deliver_one(
    row: OutboxMessage, settings: DeliverySettings, backend: MailBackend
) -> SendResult | None:
    try:
        prepared = _prepare(row, settings)
    except ValueError as exc:  # an address the builder refuses (it would need SMTPUTF8)
        row.status, row.claimed_until, row.last_error = OutboxStatus.FAILED, None, str(exc)
        return None
    if prepared is None:
        row.status, row.claimed_until = OutboxStatus.SKIPPED, None
        return None
    message, recipient = prepared
    sign = make_signer(settings)  # the signer of bulk sends too: every mail is signed alike
    if sign is not None:
        message = sign(message)
    result = backend.send(message, envelope_sender(settings, f"o{row.id}"), [recipient])
    record_outbox_result(row, result, settings)
    return result


def _prepare(row: OutboxMessage, settings: DeliverySettings) -> tuple[bytes, str] | None:
    if row.message is not None and row.to_address:  # a test send, built when it was queued
        if is_suppressed(row.to_address):
            return None
        return row.message, row.to_address
    subscriber = row.subscriber
    if subscriber is None:
        return None
    if row.kind not in IGNORES_SUPPRESSION and is_suppressed(subscriber.email):
        return None
    return build_outbox_message(row, settings), subscriber.email


def build_outbox_message(row: OutboxMessage, settings: DeliverySettings) -> bytes:
    """A subscriber's transactional mail, rendered in their language, not yet signed."""
    subscriber = row.subscriber
    rendered = render_email(row.kind, subscriber.language, **_links(row.kind, subscriber))
    return build_transactional(rendered, settings, outbox_id=row.id, to=subscriber.email).message


def _links(kind: str, subscriber) -> dict:
    from flask import current_app

    links = {
        "manage_url": external_url("public.manage", token=tokens.make_manage_token(subscriber.uid)),
        "max_age_days": current_app.config["CONFIRM_MAX_AGE_DAYS"],
    }
    if kind == "confirm":
        links["confirm_url"] = external_url(
            "public.confirm", token=tokens.make_confirm_token(subscriber.uid)
        )
        links["manage_url"] = None  # nothing to manage until confirmed
    if kind == "welcome":  # the first mail of a subscription says how to leave it
        links["unsubscribe_url"] = external_url(
            "public.unsubscribe", token=tokens.make_unsubscribe_token(subscriber.uid)
        )
    return links


def record_outbox_result(
    row: OutboxMessage, result: SendResult, settings: DeliverySettings
) -> None:
    """Sent, failed for good (5xx or too old), or retried later with exponential backoff."""
    now = utcnow()
    row.attempts += 1
    row.claimed_until = None
    if result.ok:
        row.status, row.sent_at, row.last_error = OutboxStatus.SENT, now, None
        return
    row.last_error = f"{result.code or ''} {result.reply}".strip()[:500]
    too_old = now - row.created_at > timedelta(hours=settings.outbox_max_age_hours)
    if result.is_permanent or too_old:
        row.status = OutboxStatus.FAILED
        if is_hard_bounce(result.code, result.enhanced_status):
            _hard_bounce(row, result)
        return
    row.next_attempt_at = now + timedelta(seconds=min(30 * 2 ** (row.attempts - 1), 3600))
    log.info("outbox message %s deferred: %s", row.id, row.last_error)


def _hard_bounce(row: OutboxMessage, result: SendResult) -> None:
    # The one hard-bounce policy (core.suppressions), as for a bulk send or an ingested DSN:
    # a confirmation refused with 5.1.1 cleans the pending reader.
    subscriber = row.subscriber
    address = row.to_address or (subscriber.email if subscriber is not None else None)
    hard_bounce(
        Report(
            subscriber=subscriber,
            address=address,
            source=SMTP_REPLY,
            status=result.enhanced_status,
            diagnostic=row.last_error,
        )
    )


def _release(ids: list[int]) -> None:
    # The server is down: hand our remaining leases back for a later tick.
    if ids:
        db.session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(claimed_until=None)
        )
        db.session.commit()
