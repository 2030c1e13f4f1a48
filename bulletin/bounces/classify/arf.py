"""RFC 5965 (ARF) feedback reports and provider-specific complaint formats."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message

from bulletin.bounces.classify.address import field_address, normalise
from bulletin.bounces.classify.dsn import parse_blocks
from bulletin.bounces.classify.mime import Parts, header

FEEDBACK_LINE_RE = re.compile(r"^Feedback-Type:[ \t]*([\w-]+)", re.IGNORECASE | re.MULTILINE)
RECIPIENT_FIELDS = ("original-rcpt-to", "removal-recipient")


@dataclass(frozen=True)
class Complaint:
    """A complaint: its feedback type and the complaining recipient."""

    feedback_type: str
    recipient: str | None


def find_complaint(msg: Message, parts: Parts) -> Complaint | None:
    """Return the Complaint carried by ``msg``, or None when it is not a complaint."""
    report_type = (msg.get_param("report-type") or "") if msg.is_multipart() else ""
    fields = _feedback_fields(parts)
    if fields or str(report_type).lower() == "feedback-report":
        return Complaint(_feedback_type(fields), _recipient(fields, parts.original))
    if header(parts.original, "X-HmXmrOriginalRecipient"):
        address = normalise(header(parts.original, "X-HmXmrOriginalRecipient"))
        return Complaint("abuse", address or _recipient({}, parts.original))
    if header(msg, "X-Apple-Unsubscribe").lower() == "true":
        return Complaint("opt-out", normalise(header(msg, "From")))
    return None


def _feedback_fields(parts: Parts) -> dict[str, str]:
    texts = parts.feedback or [t for t in parts.texts if FEEDBACK_LINE_RE.search(t)]
    fields: dict[str, str] = {}
    for text in texts:
        for block in parse_blocks(text):
            for name, value in block.items():
                fields.setdefault(name, value)
    return fields if "feedback-type" in fields else {}


def _feedback_type(fields: dict[str, str]) -> str:
    value = fields.get("feedback-type", "").split()
    return value[0].lower() if value else "abuse"


def _recipient(fields: dict[str, str], original: Message | None) -> str | None:
    for name in RECIPIENT_FIELDS:
        if address := field_address(fields.get(name)):
            return address
    return normalise(header(original, "To"))
