"""Classify an inbound message as a hard/soft bounce, complaint, auto-reply or none of these.

Any input at all yields a verdict, in bounded time: only the first MAX_INPUT_BYTES and at
most MAX_INPUT_LINES lines of a message are parsed (the standard library's parser works line
by line in Python, so the line count bounds its time; a report's explanation, status fields
and returned headers come first, and what is cut is the tail of a large returned original).
Every later step reads bounded pieces of that (mime.py, dsn.py, textscan.py, patterns.py).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, replace
from email.message import Message

from bulletin.bounces.classify.address import find_addresses, normalise
from bulletin.bounces.classify.arf import find_complaint
from bulletin.bounces.classify.autoreply import is_auto_reply, is_challenge
from bulletin.bounces.classify.detect import bounce_by_body, bounce_by_headers
from bulletin.bounces.classify.dsn import Record, dsn_records, status_code
from bulletin.bounces.classify.envelope import (
    envelope_tokens,
    original_list_id,
    original_message_id,
)
from bulletin.bounces.classify.mime import Parts, header, headers, parse, split_parts
from bulletin.bounces.classify.ndr import ndr_template
from bulletin.bounces.classify.textscan import (
    diagnostic_line,
    find_recipient,
    region_after,
    text_record,
)
from bulletin.bounces.classify.verdict import judge
from bulletin.bounces.providers.ses import ses_notice

QUOTE_RE = re.compile(r"^> ?", re.MULTILINE)
KINDS = ("hard", "soft", "complaint", "auto-reply", "delivered", "not-bounce")
# RFC 3463 codes for the reasons of a hard verdict reached from report wording alone.
INFERRED_STATUS = {
    "userunknown": "5.1.1",
    "hostunknown": "5.1.2",
    "notaccept": "5.1.2",
    "hasmoved": "5.1.6",
}
EXCLUDED_HEADERS = ("To", "From", "Return-Path", "Reply-To", "Sender")
MAX_INPUT_BYTES = 1024 * 1024
MAX_INPUT_LINES = 10_000  # seven times the longest report in the sisimai corpus
LINE_BREAK_RE = re.compile(rb"\r\n?|\n")  # what the email parser splits lines on


@dataclass(frozen=True)
class Classification:
    """What an inbound message means for the list: its kind and whom it is about."""

    kind: str
    status: str | None = None
    recipient: str | None = None
    diagnostic: str | None = None
    is_sender_fault: bool = False
    feedback_type: str | None = None
    envelope_tokens: tuple[tuple[str, str], ...] = ()
    original_message_id: str | None = None
    original_list_id: str | None = None


NOT_BOUNCE = Classification("not-bounce")


def classify_message(raw: bytes) -> Classification:
    """Classify raw message bytes (their bounded head); never raises ("not-bounce")."""
    try:
        return _classify(bounded_input(bytes(raw or b"")))
    except Exception:  # noqa: BLE001 - any input at all must yield a verdict
        return NOT_BOUNCE


def bounded_input(raw: bytes) -> bytes:
    """Return the part of ``raw`` the classifier reads: MAX_INPUT_BYTES, MAX_INPUT_LINES."""
    head = raw[:MAX_INPUT_BYTES]
    breaks = itertools.islice(LINE_BREAK_RE.finditer(head), MAX_INPUT_LINES - 1, None)
    last = next(breaks, None)
    return head if last is None else head[: last.end()]


def _classify(raw: bytes) -> Classification:
    msg = parse(raw)
    return NOT_BOUNCE if msg is None else _classify_message(msg, depth=0)


def _classify_message(msg: Message, depth: int) -> Classification:
    parts = split_parts(msg)
    base = _base(msg, parts)
    text = "\n".join(parts.texts)
    complaint = find_complaint(msg, parts)
    notice = ses_notice(text) if complaint is None else None
    if isinstance(notice, Record):
        return _bounce(base, notice)
    if complaint := complaint or notice:
        return _with(
            base, "complaint", recipient=complaint.recipient, feedback_type=complaint.feedback_type
        )
    if record := _dsn_record(parts, text):
        return _bounce(base, record)
    if is_challenge(msg, text):
        return _auto_reply(base, msg)
    if bounce_by_headers(msg):
        if depth < 3 and parts.original is not None and _is_bounce(parts.original):
            inner = _classify_message(parts.original, depth + 1)  # a forwarded bounce
            if inner.kind in ("hard", "soft", "delivered") and inner.recipient:
                return inner
        return _bounce(base, _text_record(msg, parts, text))
    if is_auto_reply(msg):
        return _auto_reply(base, msg)
    if bounce_by_body(text):
        return _bounce(base, _text_record(msg, parts, text))
    return base


def _is_bounce(msg: Message) -> bool:
    return split_parts(msg).dsn != [] or bounce_by_headers(msg)


def _base(msg: Message, parts: Parts) -> Classification:
    tokens = envelope_tokens(msg, parts.original, parts.dsn + parts.feedback)
    return Classification(
        "not-bounce",
        envelope_tokens=tokens,
        original_message_id=original_message_id(parts.original),
        original_list_id=original_list_id(parts.original),
    )


def _with(base: Classification, kind: str, **values: object) -> Classification:
    return replace(base, kind=kind, **values)  # type: ignore[arg-type]


def _dsn_record(parts: Parts, text: str) -> Record | None:
    records = [r for blob in parts.dsn for r in dsn_records(blob)]
    if not records:
        return None
    record = next((r for r in records if r.recipient), records[0])
    if record.recipient is None:
        record.recipient, position = find_recipient(text, set())
    else:
        position = text.lower().find(record.recipient.lower())
    record.context = region_after(text, position) if text.strip() else None
    record.diagnostic = record.diagnostic or diagnostic_line(record.context or "")
    if record.status is None or record.status.endswith(".0.0"):
        specific = status_code(record.context)
        if specific and specific[0] == (record.status or specific)[0]:
            record.status = specific
    return record


def _text_record(msg: Message, parts: Parts, text: str) -> Record:
    failed = normalise(header(msg, "X-Failed-Recipients"))
    unquoted = QUOTE_RE.sub("", text)
    records = [r for r in dsn_records(text) or dsn_records(unquoted) if r.recipient]
    if records:
        record = records[0]
        record.context = region_after(text, text.find(record.recipient or ""))
    else:
        record = text_record(text, _excluded(msg, parts.original), _single_to(parts.original))
        record.recipient = failed or record.recipient
    record.template = ndr_template(msg, text)
    return record


def _excluded(msg: Message, original: Message | None) -> set[str]:
    values = [v for name in EXCLUDED_HEADERS for v in headers(msg, name)]
    values += [header(original, name) for name in ("From", "Return-Path", "Sender", "Reply-To")]
    return {address.lower() for address in find_addresses(" ".join(values))}


def _single_to(original: Message | None) -> str | None:
    addresses = find_addresses(header(original, "To"))
    return addresses[0] if len(addresses) == 1 else None


def _bounce(base: Classification, record: Record) -> Classification:
    verdict = judge(record)
    status = record.status
    if status is None and record.reply_code and verdict.kind != "delivered":
        status = f"{record.reply_code[0]}.0.0"  # only an SMTP reply code was given
    elif status is None and verdict.kind == "hard":
        # A known NDR template with no code at all, whose recipient block names an
        # address-gone reason (verdict.py): give the RFC 3463 code of that reason.
        status = INFERRED_STATUS.get(verdict.reason or "", "5.0.0")
    diagnostic = (record.diagnostic or "")[:500] or None
    return _with(
        base,
        verdict.kind,
        status=status,
        recipient=record.recipient,
        diagnostic=diagnostic,
        is_sender_fault=verdict.is_sender_fault,
    )


def _auto_reply(base: Classification, msg: Message) -> Classification:
    return _with(base, "auto-reply", recipient=normalise(header(msg, "From")))
