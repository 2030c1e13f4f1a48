"""Postmark webhooks (bounce, spam complaint, inbound) as classifications."""

from __future__ import annotations

import base64
import binascii

from bulletin.bounces.classify import Classification

#: Postmark bounce "Type" values by what they mean for the list (Postmark's bounce API docs).
HARD = {"HardBounce", "BadEmailAddress", "ManuallyDeactivated"}
SOFT = {"SoftBounce", "Transient", "DnsError", "Unknown"}
COMPLAINT = {"SpamComplaint", "SpamNotification"}
SENDER_FAULT = {"Blocked", "DMARCPolicy", "SMTPApiError"}
AUTO_REPLY = {"AutoResponder", "ChallengeVerification"}


def record_id(payload: dict) -> str | None:
    """The replay key of a bounce or complaint record: its type and Postmark ID."""
    if payload.get("ID") is None:
        return None
    return f"{payload.get('RecordType') or 'Bounce'}:{payload['ID']}"


def classify_postmark(payload: dict) -> Classification | None:
    """The classification of a Bounce or SpamComplaint record; None for anything else."""
    record_type = payload.get("RecordType")
    bounce_type = str(payload.get("Type") or "")
    if record_type not in ("Bounce", "SpamComplaint") or not payload.get("Email"):
        return None
    recipient = str(payload["Email"]).strip()
    diagnostic = str(payload.get("Details") or payload.get("Description") or "") or None
    if record_type == "SpamComplaint" or bounce_type in COMPLAINT:
        return Classification("complaint", recipient=recipient, feedback_type="abuse")
    if bounce_type in SENDER_FAULT:
        return Classification(
            "hard", status="5.7.1", recipient=recipient, diagnostic=diagnostic, is_sender_fault=True
        )
    if bounce_type in HARD:
        return Classification("hard", status="5.1.1", recipient=recipient, diagnostic=diagnostic)
    if bounce_type in SOFT:
        return Classification("soft", status="4.0.0", recipient=recipient, diagnostic=diagnostic)
    kind = "auto-reply" if bounce_type in AUTO_REPLY else "not-bounce"
    return Classification(kind, recipient=recipient, diagnostic=diagnostic)


def is_inbound(payload: dict) -> bool:
    """Whether the payload is an inbound-mail webhook (not a bounce or complaint record)."""
    return "RecordType" not in payload and ("OriginalRecipient" in payload or "ToFull" in payload)


def inbound_recipients(payload: dict) -> list[str]:
    """The envelope and header recipients of an inbound message."""
    found = [str(payload.get("OriginalRecipient") or "")]
    for field in ("ToFull", "CcFull", "BccFull"):
        found += [
            str(item.get("Email") or "")
            for item in payload.get(field) or []
            if isinstance(item, dict)
        ]
    return [address for address in found if address]


def inbound_raw(payload: dict) -> bytes | None:
    """The raw message of an inbound webhook, when Postmark was asked to include it."""
    raw = payload.get("RawEmail")
    if not isinstance(raw, str) or not raw:
        return None
    if ":" in raw.partition("\n")[0]:
        return raw.encode("utf-8", "surrogateescape")
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return None
