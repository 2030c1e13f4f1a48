"""Amazon SES notifications (JSON, possibly wrapped in an SNS envelope) delivered by e-mail."""

from __future__ import annotations

import re

from bulletin.bounces.classify.address import normalise
from bulletin.bounces.classify.arf import Complaint
from bulletin.bounces.classify.dsn import Record, status_code, strip_type

# JSON blanks and string values are bounded (MAX_VALUE_CHARS): an unterminated string would
# otherwise be rescanned to the end of the text from every occurrence of its field name.
MAX_VALUE_CHARS = 2048
_BLANK = r"[ \t\r\n]{0,16}"
_STRING = rf'"((?:[^"\\]|\\.){{0,{MAX_VALUE_CHARS}}})"'
TYPE_RE = re.compile(rf'"notificationType"{_BLANK}:{_BLANK}"(Bounce|Complaint|Delivery)"')


def _field(text: str, name: str, after: str = "") -> str | None:
    start = text.find(f'"{after}"') if after else 0
    match = re.compile(rf'"{name}"{_BLANK}:{_BLANK}{_STRING}').search(text, max(start, 0))
    return match.group(1) if match else None


def _first_listed(text: str, name: str) -> str | None:
    match = re.search(rf'"{name}"{_BLANK}:{_BLANK}\[{_BLANK}{_STRING}', text)
    return match.group(1) if match else None


def ses_notice(text: str) -> Record | Complaint | None:
    """Return the bounce Record or Complaint of an SES notification found in ``text``."""
    flat = text.replace('\\"', '"')
    kind = TYPE_RE.search(flat)
    if kind is None:
        return None
    if kind.group(1) == "Complaint":
        recipient = normalise(_field(flat, "emailAddress", "complainedRecipients"))
        return Complaint(_field(flat, "complaintFeedbackType") or "abuse", recipient)
    if kind.group(1) == "Delivery":
        response = _field(flat, "smtpResponse") or ""
        return Record(
            recipient=normalise(_first_listed(flat, "recipients")),
            status=status_code(response) or "2.0.0",
            action="delivered",
            diagnostic=response or None,
        )
    return _bounce(flat)


def _bounce(flat: str) -> Record:
    diagnostic = strip_type(_field(flat, "diagnosticCode", "bouncedRecipients") or "") or None
    transient = (_field(flat, "bounceType") or "").lower() != "permanent"
    return Record(
        recipient=normalise(_field(flat, "emailAddress", "bouncedRecipients")),
        status=status_code(_field(flat, "status", "bouncedRecipients")) or status_code(diagnostic),
        action="delayed" if transient else "failed",
        diagnostic=diagnostic,
    )
