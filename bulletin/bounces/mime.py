"""Defensive MIME helpers: parse raw bytes, decode headers and text, split a report."""

from __future__ import annotations

import email
import html
import re
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.message import Message
from email.policy import compat32

STATUS_TYPES = ("message/delivery-status", "message/global-delivery-status")
FEEDBACK_TYPES = ("message/feedback-report",)
ORIGINAL_TYPES = ("message/rfc822", "message/global", "message/partial")
HEADER_TYPES = ("text/rfc822-headers", "message/rfc822-headers", "message/global-headers")

# A line that introduces the returned copy of the original message in a plain-text bounce.
SEPARATOR_RE = re.compile(
    r"^[ \t]*[-=_|*]{2,}[ \t]*(?:Below this line is a copy of the message"
    r"|This is a copy of the message|[A-Za-z ]*(?:original|returned|unsent|undelivered"
    r"|rejected|your) (?:message|mail|e-mail|email)\b|Message (?:header|text)s? follows?"
    r"|[A-Za-z ]*original (?:message )?headers?\b|The (?:header|body) of the original"
    r"|Original-Nachricht)"
    r"|^[ \t]*(?:Original message follows|Message headers? follows?|Original message headers?"
    r"|Below is a copy of the original message|Below this line is a copy of the message"
    r"|The original message (?:was|is) (?:attached|included|below))[ \t.:]*$"
    r"|^Content-Type:[ \t]*(?:message/rfc822|text/rfc822-headers)",
    re.IGNORECASE | re.MULTILINE,
)
HEADER_LINE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{1,40}:[ \t]?\S")
TAG_BREAK_RE = re.compile(r"<\s*(?:br|/p|/div|/tr|/li|/h\d)\b[^>]*>", re.IGNORECASE)
TAG_RE = re.compile(r"<!--.*?-->|<[^<>]*>", re.DOTALL)


@dataclass
class Parts:
    """The pieces of a report: human text, status blocks, feedback blocks, returned original."""

    texts: list[str] = field(default_factory=list)
    dsn: list[str] = field(default_factory=list)
    feedback: list[str] = field(default_factory=list)
    original: Message | None = None


def parse(raw: bytes) -> Message | None:
    """Parse raw bytes into a Message with the forgiving compat32 policy, or None."""
    try:
        return email.message_from_bytes(raw, policy=compat32)
    except Exception:  # noqa: BLE001 - the parser must never take the classifier down
        return None


def decode_value(value: object) -> str:
    """Decode an RFC 2047 header value to a single-line string, never raising."""
    if value is None:
        return ""
    try:
        text = str(make_header(decode_header(str(value))))
    except Exception:  # noqa: BLE001
        try:
            text = str(value)
        except Exception:  # noqa: BLE001
            return ""
    return " ".join(text.split())


def header(msg: Message | None, name: str) -> str:
    """Return the first decoded value of header ``name`` (empty string if absent)."""
    values = headers(msg, name)
    return values[0] if values else ""


def headers(msg: Message | None, name: str) -> list[str]:
    """Return every decoded value of header ``name``."""
    if msg is None:
        return []
    try:
        return [decode_value(v) for v in (msg.get_all(name) or [])]
    except Exception:  # noqa: BLE001
        return []


def content_type(part: Message) -> str:
    """Return the lower-cased content type of a part, defaulting to text/plain."""
    try:
        return part.get_content_type().lower()
    except Exception:  # noqa: BLE001
        return "text/plain"


def decoded_text(part: Message) -> str:
    """Return the transfer-decoded, charset-decoded text of a leaf part."""
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001
        payload = None
    if payload is None:
        raw = part.get_payload()
        return raw if isinstance(raw, str) else ""
    return decode_bytes(payload, _charset(part))


def decode_bytes(payload: bytes, charset: str | None) -> str:
    """Decode bytes with the declared charset, falling back to UTF-8 with replacement."""
    jis = b"\x1b$B" in payload or b"\x1b$@" in payload
    for name in (charset, "iso2022_jp" if jis else None, "utf-8"):
        if not name:
            continue
        try:
            return payload.decode(name, errors="replace")
        except (LookupError, ValueError):
            continue
    return payload.decode("latin-1", errors="replace")


def _charset(part: Message) -> str | None:
    try:
        charset = part.get_content_charset()
    except Exception:  # noqa: BLE001
        return None
    return {"unknown-8bit": None, "x-unknown": None}.get(charset or "", charset)


def html_to_text(markup: str) -> str:
    """Reduce HTML to plain text well enough for pattern matching."""
    markup = TAG_BREAK_RE.sub("\n", markup)
    return html.unescape(TAG_RE.sub(" ", markup))


def block_text(part: Message) -> str:
    """Return a message/* part (delivery-status, feedback-report) as header-block text."""
    payload = part.get_payload()
    if not isinstance(payload, list):
        return decoded_text(part)
    chunks = []
    for block in payload:
        if isinstance(block, Message):
            lines = [f"{k}: {decode_value(v)}" for k, v in block.items()]
            body = block.get_payload()
            chunks.append("\n".join(lines) + ("\n\n" + body if isinstance(body, str) else ""))
    return "\n\n".join(chunks)


def split_parts(msg: Message) -> Parts:
    """Walk a message and sort its parts into report text, status, feedback and original."""
    parts = Parts()
    _walk(msg, parts, depth=0)
    return parts


def _walk(part: Message, acc: Parts, depth: int) -> None:
    if depth > 8:
        return
    ctype = content_type(part)
    if ctype in STATUS_TYPES:
        acc.dsn.append(block_text(part))
    elif ctype in FEEDBACK_TYPES:
        acc.feedback.append(block_text(part))
    elif ctype in ORIGINAL_TYPES or ctype in HEADER_TYPES:
        if acc.original is None:
            acc.original = _original_of(part, ctype)
    elif ctype.startswith("multipart/"):
        _walk_children(part, acc, depth, ctype)
    elif ctype.startswith("text/") or ctype == "application/octet-stream" and depth == 0:
        _add_text(part, acc, ctype)


def _walk_children(part: Message, acc: Parts, depth: int, ctype: str) -> None:
    payload = part.get_payload()
    if isinstance(payload, str):
        _add_text(part, acc, "text/plain")
        return
    children = [c for c in payload if isinstance(c, Message)]
    if ctype == "multipart/alternative":
        plain = [c for c in children if content_type(c) == "text/plain"]
        children = plain[:1] or children[:1]
    for child in children:
        _walk(child, acc, depth + 1)


def _add_text(part: Message, acc: Parts, ctype: str) -> None:
    text = decoded_text(part)
    if ctype == "text/html":
        text = html_to_text(text)
    report, original = split_inline(text)
    acc.texts.append(report)
    if acc.original is None and original is not None:
        acc.original = original


def _original_of(part: Message, ctype: str) -> Message | None:
    if ctype in HEADER_TYPES:
        return parse_text_message(decoded_text(part))
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return payload[0]
    return parse_text_message(payload if isinstance(payload, str) else "")


def split_inline(text: str) -> tuple[str, Message | None]:
    """Split a plain-text bounce into its report and its inline copy of the original."""
    match = SEPARATOR_RE.search(text)
    if match is None:
        return text, None
    rest = text[match.end():].split("\n", 1)
    return text[: match.start()], parse_text_message(rest[1] if len(rest) > 1 else "")


def parse_text_message(text: str) -> Message | None:
    """Parse text that starts (within a few lines) with message headers."""
    lines = text.lstrip("\r\n").splitlines()
    for index, line in enumerate(lines[:6]):
        if HEADER_LINE_RE.match(line):
            try:
                return email.message_from_string("\n".join(lines[index:]), policy=compat32)
            except Exception:  # noqa: BLE001
                return None
    return None
