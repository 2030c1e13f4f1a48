"""Provider webhooks under /webhooks/: Amazon SES (through SNS) and Postmark.

Anything unsigned, unauthenticated or unknown gets a 4xx and changes nothing; a notification
seen before (same SNS MessageId, same Postmark record) is acknowledged and changes nothing.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable

from flask import Blueprint, current_app, request

from bulletin.bounces.ingest import (
    apply_classification,
    apply_mailto,
    claim_once,
    ingest_raw,
    mailto_token,
)
from bulletin.bounces.ingest import notification_key as ledger_key
from bulletin.bounces.pool import ClassifierUnavailable, classify_isolated
from bulletin.bounces.providers.postmark import (
    classify_postmark,
    inbound_raw,
    inbound_recipients,
    is_inbound,
    record_id,
)
from bulletin.bounces.providers.ses_events import classify_ses, notification_type, received_mail
from bulletin.bounces.providers.sns import SnsError, confirm_subscription, verify_message
from bulletin.extensions import csrf, db, limiter

log = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
# Providers sign (SES) or authenticate (Postmark) instead of carrying a CSRF token.
csrf.exempt(bp)
limiter.limit(lambda: current_app.config["WEBHOOK_RATE_LIMIT"])(bp)
SES_KINDS = ("Bounce", "Complaint", "Delivery", "Received")


def _refuse(code: int, reason: str, provider: str):
    log.warning("refused a %s webhook (%d): %s", provider, code, reason)
    db.session.rollback()
    return {"error": reason}, code


def _payload() -> dict | None:
    # SNS posts JSON as text/plain; read the body whatever the content type says.
    try:
        value = json.loads(request.get_data(cache=False, as_text=True) or "null")
    except (ValueError, UnicodeDecodeError, RecursionError):  # deep nesting is bad input too
        return None
    return value if isinstance(value, dict) else None


def _once(provider: str, key: str, handle: Callable[[], object]) -> dict:
    """Run handle() unless this notification was processed before; commit."""
    ledger = claim_once(ledger_key(provider, key), provider)
    if ledger is None:
        db.session.rollback()
        return {"status": "duplicate"}
    event = handle()
    ledger.bounce_event_id = getattr(event, "id", None)
    db.session.commit()
    return {"status": "ok"}


@bp.post("/ses")
def ses():
    """An SNS message carrying SES notifications, or a subscription (un)confirmation."""
    message = _payload()
    if message is None:
        return _refuse(400, "the body is not a JSON object", "ses")
    # The topic first: a message for anyone else's topic must not make us fetch anything.
    if message.get("TopicArn") not in current_app.config["SES_TOPIC_ARNS"]:
        return _refuse(403, "the topic is not in SES_TOPIC_ARNS", "ses")
    try:
        verify_message(message, current_app._get_current_object())
    except SnsError as exc:
        return _refuse(403, str(exc), "ses")
    if message["Type"] == "SubscriptionConfirmation":
        try:
            confirm_subscription(message, current_app._get_current_object())
        except Exception as exc:
            return _refuse(400, f"the subscription could not be confirmed: {exc}", "ses")
        log.info("confirmed the SNS subscription to %s", message["TopicArn"])
        return {"status": "confirmed"}
    if message["Type"] == "UnsubscribeConfirmation":
        log.warning("SNS says we were unsubscribed from %s", message["TopicArn"])
        return {"status": "ok"}
    return _ses_notification(message)


def _ses_notification(message: dict):
    try:
        event = json.loads(message.get("Message") or "")
    except (ValueError, RecursionError):
        event = None
    if not isinstance(event, dict) or notification_type(event) not in SES_KINDS:
        return _refuse(400, "not an SES bounce, complaint, delivery or inbound mail", "ses")
    if notification_type(event) == "Received":
        received = received_mail(event)
        if received is None:
            return _refuse(400, "the inbound mail has no content", "ses")
        raw, recipients = received
        return _ingest_inbound("ses", message["MessageId"], raw, recipients, source="ses")
    results = classify_ses(event)
    return _once("ses", message["MessageId"], lambda: _apply_all(results, "ses"))


def _apply_all(results: list, source: str):
    # A signed SES notification vouches for its recipients: SES only reports on mail our
    # account sent, and the bounce or complaint reached SES, not us.
    events = [apply_classification(result, source=source, vouched=True) for result in results]
    return events[-1] if events else None


def _postmark_authorised() -> bool:
    user = current_app.config.get("POSTMARK_WEBHOOK_USER")
    password = current_app.config.get("POSTMARK_WEBHOOK_PASSWORD")
    given = request.authorization
    if not user or not password or given is None or given.type != "basic":
        return False
    return hmac.compare_digest(
        (given.username or "").encode(), user.encode()
    ) & hmac.compare_digest((given.password or "").encode(), password.encode())


@bp.post("/postmark")
def postmark():
    """Postmark's bounce, spam complaint and inbound webhooks, behind HTTP basic auth."""
    if not _postmark_authorised():
        body, code = _refuse(401, "wrong or missing credentials", "postmark")
        return body, code, {"WWW-Authenticate": 'Basic realm="webhooks"'}
    payload = _payload()
    if payload is None:
        return _refuse(400, "the body is not a JSON object", "postmark")
    if is_inbound(payload):
        return _postmark_inbound(payload)
    result, key = classify_postmark(payload), record_id(payload)
    if result is None or key is None:
        return _refuse(400, "not a Postmark bounce or spam complaint", "postmark")
    # Behind its credentials Postmark vouches for the recipient, as SES does (_apply_all).
    return _once(
        "postmark", key, lambda: apply_classification(result, source="postmark", vouched=True)
    )


def _postmark_inbound(payload: dict):
    recipients, raw = inbound_recipients(payload), inbound_raw(payload)
    token = mailto_token(b"", recipients)
    key = str(payload.get("MessageID") or "")
    if not key or (token is None and raw is None):
        return _refuse(400, "an inbound mail we cannot act on", "postmark")
    if token is not None:
        return _once("postmark-inbound", key, lambda: apply_mailto(token, source="postmark"))
    return _ingest_inbound("postmark-inbound", key, raw, recipients, source="postmark")


def _ingest_inbound(provider: str, key: str, raw: bytes, recipients: list[str], *, source: str):
    """Inbound mail (anyone's words): classified out of process first, then recorded once."""
    try:
        result = classify_isolated(raw)
    except ClassifierUnavailable:
        return _refuse(503, "no classifier could take the message; retry later", source)
    return _once(
        provider,
        key,
        lambda: ingest_raw(raw, source=source, recipients=recipients, classification=result),
    )
