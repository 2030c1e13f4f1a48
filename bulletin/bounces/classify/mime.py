"""Defensive MIME helpers: parse raw bytes, decode headers and text, split a report.

Everything here reads untrusted mail, so every step is bounded (the classifier must answer
in well under a second whatever it is sent; see tests/test_bounce_pathological.py):

- the parser keeps at most MAX_HEADERS header fields per part, each cut to
  MAX_HEADER_CHARS, so the standard library's header helpers (RFC 2047 decoding, parameter
  splitting), which are quadratic on some inputs, only ever see short values;
- at most MAX_CONTAINERS multipart/* and message/* parts are parsed as containers; any
  further one is read as opaque text, so nesting cannot drive the parser's recursion;
- each text part contributes at most MAX_PART_CHARS of text, the report text as a whole at
  most MAX_TEXT_CHARS, and no more than MAX_PARTS parts are visited.

A delivery report puts its explanation, status fields and the returned headers first, so
what is cut is the long tail that only a crafted or very large message has.
"""

from __future__ import annotations

import email
import html
import re
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.message import Message
from email.policy import Policy, compat32

MAX_HEADERS = 300
MAX_HEADER_CHARS = 8 * 1024
MAX_CONTAINERS = 32
MAX_PART_CHARS = 64 * 1024
MAX_TEXT_CHARS = 128 * 1024
MAX_PARTS = 64
MAX_BLOCKS = 50  # per-recipient blocks of a delivery-status part

STATUS_TYPES = ("message/delivery-status", "message/global-delivery-status")
FEEDBACK_TYPES = ("message/feedback-report",)
ORIGINAL_TYPES = ("message/rfc822", "message/global", "message/partial")
HEADER_TYPES = ("text/rfc822-headers", "message/rfc822-headers", "message/global-headers")

# A line that introduces the returned copy of the original message in a plain-text bounce.
# Quantifiers are bounded: "--" followed by a long run of spaces must not make the blank
# and the "[A-Za-z ]" runs trade characters with each other (quadratic backtracking).
SEPARATOR_RE = re.compile(
    r"^[ \t]{0,20}[-=_|*]{2,200}[ \t]{0,20}(?:Below this line is a copy of the message"
    r"|This is a copy of the message|[A-Za-z ]{0,60}(?:original|returned|unsent|undelivered"
    r"|rejected|your) (?:message|mail|e-mail|email)\b|Message (?:header|text)s? follows?"
    r"|[A-Za-z ]{0,60}original (?:message )?headers?\b|The (?:header|body) of the original"
    r"|Original-Nachricht)"
    r"|^[ \t]{0,20}(?:Original message follows|Message headers? follows?|Original message headers?"
    r"|Below is a copy of the original message|Below this line is a copy of the message"
    r"|The original message (?:was|is) (?:attached|included|below))[ \t.:]{0,20}$"
    r"|^Content-Type:[ \t]*(?:message/rfc822|text/rfc822-headers)",
    re.IGNORECASE | re.MULTILINE,
)
HEADER_LINE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{1,40}:[ \t]?\S")
# Tags never span a "<": each match attempt stops at the next one, so a page full of
# unclosed "<br" costs linear time (comments are removed first, by _drop_comments).
TAG_BREAK_RE = re.compile(r"<[ \t\r\n]{0,8}(?:br|/p|/div|/tr|/li|/h\d)\b[^<>]*>", re.IGNORECASE)
TAG_RE = re.compile(r"<[^<>]*>")
CONTAINER_TYPE_RE = re.compile(r"^[ \t\r\n]*(?:multipart|message)/", re.IGNORECASE)


@dataclass
class Parts:
    """The pieces of a report: human text, status blocks, feedback blocks, returned original."""

    texts: list[str] = field(default_factory=list)
    dsn: list[str] = field(default_factory=list)
    feedback: list[str] = field(default_factory=list)
    original: Message | None = None
    visited: int = 0  # parts walked so far (MAX_PARTS)
    text_chars: int = 0  # report text collected so far (MAX_TEXT_CHARS)


class _Budget:
    """How many more container parts one parse may open (MAX_CONTAINERS)."""

    def __init__(self) -> None:
        self.containers = MAX_CONTAINERS


class BoundedMessage(Message):
    """A compat32 Message that keeps few, short header fields and limits nested containers.

    The feed parser stores each parsed field through ``set_raw`` and decides whether a part
    is a container from its Content-Type, so bounding here bounds the parse itself.
    """

    def __init__(self, policy: Policy = compat32, budget: _Budget | None = None) -> None:
        super().__init__(policy)
        self._budget = budget or _Budget()

    def set_raw(self, name: str, value: str) -> None:  # type: ignore[override]
        """Store a parsed field, cut to MAX_HEADER_CHARS; drop fields beyond MAX_HEADERS."""
        if len(self._headers) >= MAX_HEADERS:
            return
        value = value[:MAX_HEADER_CHARS]
        if name.lower() == "content-type" and CONTAINER_TYPE_RE.match(value):
            if self._budget.containers <= 0:
                value = "text/plain"  # past the budget a container is opaque text
            self._budget.containers -= 1
        super().set_raw(name, value)


def _parser_factory() -> type[Message]:
    budget = _Budget()

    def factory(policy: Policy = compat32) -> Message:
        return BoundedMessage(policy, budget)

    return factory  # type: ignore[return-value]


def parse(raw: bytes) -> Message | None:
    """Parse raw bytes into a bounded compat32 Message (see the module notes), or None."""
    try:
        return email.message_from_bytes(raw, _parser_factory(), policy=compat32)
    except Exception:  # noqa: BLE001 - the parser must never take the classifier down
        return None


def parse_string(text: str) -> Message | None:
    """Parse message text the same bounded way as ``parse``, or None."""
    try:
        return email.message_from_string(text, _parser_factory(), policy=compat32)
    except Exception:  # noqa: BLE001
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
        return raw[:MAX_PART_CHARS] if isinstance(raw, str) else ""
    return decode_bytes(payload[:MAX_PART_CHARS], _charset(part))[:MAX_PART_CHARS]


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
    markup = TAG_BREAK_RE.sub("\n", _drop_comments(markup))
    return html.unescape(TAG_RE.sub(" ", markup))


def _drop_comments(markup: str) -> str:
    """Remove ``<!-- ... -->`` comments in one pass; an unclosed one runs to the end.

    A lazy ``<!--.*?-->`` regex rescans the rest of the text from every "<!--" that is never
    closed (quadratic); scanning with str.find visits each character once.
    """
    kept: list[str] = []
    position = 0
    while (start := markup.find("<!--", position)) >= 0:
        kept.append(markup[position:start])
        end = markup.find("-->", start + 4)
        if end < 0:
            return "".join(kept)
        kept.append(" ")
        position = end + 3
    kept.append(markup[position:])
    return "".join(kept)


def block_text(part: Message) -> str:
    """Return a message/* part (delivery-status, feedback-report) as header-block text."""
    payload = part.get_payload()
    if not isinstance(payload, list):
        return decoded_text(part)
    chunks = []
    for block in payload[:MAX_BLOCKS]:
        if isinstance(block, Message):
            lines = [f"{k}: {decode_value(v)}" for k, v in block.items()]
            body = block.get_payload()
            body = body[:MAX_PART_CHARS] if isinstance(body, str) else ""
            chunks.append("\n".join(lines) + ("\n\n" + body if body else ""))
    return "\n\n".join(chunks)


def split_parts(msg: Message) -> Parts:
    """Walk a message and sort its parts into report text, status, feedback and original."""
    parts = Parts()
    _walk(msg, parts, depth=0)
    return parts


def _walk(part: Message, acc: Parts, depth: int) -> None:
    if depth > 8 or acc.visited >= MAX_PARTS:
        return
    acc.visited += 1
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
    if acc.text_chars >= MAX_TEXT_CHARS:
        return
    text = decoded_text(part)
    if ctype == "text/html":
        text = html_to_text(text)
    report, original = split_inline(text)
    report = report[: MAX_TEXT_CHARS - acc.text_chars]
    acc.text_chars += len(report)
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
    rest = text[match.end() :].split("\n", 1)
    return text[: match.start()], parse_text_message(rest[1] if len(rest) > 1 else "")


def parse_text_message(text: str) -> Message | None:
    """Parse text that starts (within a few lines) with message headers."""
    lines = text.lstrip("\r\n").splitlines()
    for index, line in enumerate(lines[:6]):
        if HEADER_LINE_RE.match(line):
            return parse_string("\n".join(lines[index:]))
    return None
