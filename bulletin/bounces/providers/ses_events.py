"""Amazon SES notifications (the JSON inside an SNS message) as classifications."""

from __future__ import annotations

import base64
import binascii

from bulletin.bounces.classify import Classification
from bulletin.bounces.classify.envelope import TOKEN_RE

#: bounceSubType values that say the address will never take mail from us.
SUPPRESSED_SUBTYPES = {"suppressed", "onaccountsuppressionlist"}


def notification_type(event: dict) -> str:
    """Bounce, Complaint, Delivery, Received... (notificationType or, for event publishing,
    eventType)."""
    return str(event.get("notificationType") or event.get("eventType") or "")


def classify_ses(event: dict) -> list[Classification]:
    """One classification per recipient of a Bounce, Complaint or Delivery notification."""
    common = _common(event.get("mail") or {})
    kind = notification_type(event)
    if kind == "Bounce":
        return _bounces(event.get("bounce") or {}, common)
    if kind == "Complaint":
        complaint = event.get("complaint") or {}
        feedback = complaint.get("complaintFeedbackType") or "abuse"
        return [
            Classification("complaint", recipient=_address(r), feedback_type=feedback, **common)
            for r in complaint.get("complainedRecipients") or [{}]
        ]
    if kind == "Delivery":
        delivery = event.get("delivery") or {}
        return [
            Classification(
                "delivered",
                status="2.0.0",
                recipient=address,
                diagnostic=delivery.get("smtpResponse"),
                **common,
            )
            for address in delivery.get("recipients") or [None]
        ]
    return []


def _bounces(bounce: dict, common: dict) -> list[Classification]:
    permanent = str(bounce.get("bounceType")) == "Permanent"
    if str(bounce.get("bounceSubType", "")).lower() in SUPPRESSED_SUBTYPES:
        permanent = True
    found = []
    for recipient in bounce.get("bouncedRecipients") or [{}]:
        status = recipient.get("status") or ("5.0.0" if permanent else "4.0.0")
        found.append(
            Classification(
                "hard" if permanent else "soft",
                status=status,
                recipient=_address(recipient),
                diagnostic=recipient.get("diagnosticCode"),
                **common,
            )
        )
    return found


def _address(recipient: dict) -> str | None:
    address = recipient.get("emailAddress")
    return str(address).strip().strip("<>") if address else None


def _common(mail: dict) -> dict:
    """VERP tokens from the envelope sender, and our Message-ID and List-Id from the headers."""
    tokens = []
    for value in [mail.get("source") or "", *(mail.get("destination") or [])]:
        for match in TOKEN_RE.finditer(str(value)):
            tokens.append((match.group(1).lower(), match.group(2)))
    headers = {
        str(h.get("name", "")).lower(): str(h.get("value", ""))
        for h in mail.get("headers") or []
        if isinstance(h, dict)
    }
    message_id = headers.get("message-id") or (mail.get("commonHeaders") or {}).get("messageId")
    list_id = headers.get("list-id", "")
    if "<" in list_id:
        list_id = list_id.rpartition("<")[2].rstrip(">").strip()
    return {
        "envelope_tokens": tuple(tokens),
        "original_message_id": message_id or None,
        "original_list_id": list_id or None,
    }


def received_mail(event: dict) -> tuple[bytes, list[str]] | None:
    """The raw message and envelope recipients of an SES inbound ("Received") notification."""
    content = event.get("content")
    recipients = [str(r) for r in (event.get("receipt") or {}).get("recipients") or []]
    if not isinstance(content, str):
        return None
    head = content[:2000]
    if ":" in head.partition("\n")[0]:
        return content.encode("utf-8", "surrogateescape"), recipients  # UTF-8 encoding
    try:
        return base64.b64decode(content, validate=False), recipients
    except (binascii.Error, ValueError):
        return None
