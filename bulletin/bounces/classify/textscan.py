"""Recipient, status and diagnostic extraction from human-readable (non-RFC 3464) bounces."""

from __future__ import annotations

import re

from bulletin.bounces.classify.address import ADDRESS_RE, normalise
from bulletin.bounces.classify.dsn import STATUS_RE, Record, status_code

_ADDR = ADDRESS_RE.pattern
# Every blank run is bounded ({0,N}), and two blank runs never meet without a required
# character between them: "to" followed by a megabyte of spaces must cost linear time.
_BLANK = r"[ \t]{0,16}"
_BULLET = r"(?:[*\u2022-][ \t]{1,16})?"
# Ways MTAs name the failed recipient, strongest first.
RECIPIENT_RES = tuple(
    re.compile(p, re.IGNORECASE | re.MULTILINE)
    for p in (
        rf"^{_BLANK}{_BULLET}<{_ADDR}>",
        rf"^{_BLANK}{_BULLET}{_ADDR}{_BLANK}(?:$|\.\.\.|:|\(|<|\[|on\b|\bcould\b|\bwas\b)",
        rf"^{_BLANK}[245]\d\d[ -]<{_ADDR}>\.\.\.",
        rf"^[ \t>]{{0,16}}(?:(?:final-)?recipient(?:\(s\))?(?: address)?|rcpt to){_BLANK}:"
        rf"{_BLANK}<?(?:rfc822;{_BLANK})?{_ADDR}",
        rf"\b(?:rcpt to|to|for|recipient|address|user|mailbox|destinataire|empf\w{{1,4}}nger)"
        rf"(?:{_BLANK}[:=])?{_BLANK}[<\"'(\[]{_BLANK}{_ADDR}",
        rf"\b(?:deliver(?:y|ed)?|send|sent|message|undeliverable) to[ \t]{{1,16}}{_ADDR}",
        rf":{_BLANK}<?{_ADDR}",
        rf"<{_ADDR}>",
    )
)
STRONG = 3  # the first patterns name the recipient even when it is also the report's addressee
REGION_CHARS = 900
MAX_LINE_CHARS = 2 * 1024  # a diagnostic or transcript line is read no further than this
NEXT_RECIPIENT_RE = re.compile(
    rf"^{_BLANK}{_BULLET}(?:[245]\d\d[ -])?<?{_ADDR}>?{_BLANK}(?:$|:|\.\.\.|\(|\[)", re.MULTILINE
)
QMAIL_STATUS_RE = re.compile(r"\(#([245]\.\d{1,3}\.\d{1,3})\)")


def find_recipient(text: str, exclude: set[str]) -> tuple[str | None, int]:
    """Return the failed recipient named by a plain-text bounce and where it is named."""
    fallback: tuple[str | None, int] = (None, -1)
    for index, pattern in enumerate(RECIPIENT_RES):
        for match in pattern.finditer(text):
            address = normalise(match.group(1))
            if address and address.lower() not in exclude:
                return address, match.start(1)
            if address and index < STRONG and fallback[0] is None:
                fallback = (address, match.start(1))
    return fallback


def region_after(text: str, start: int) -> str:
    """Return the stretch of text that explains the failure of the recipient named at ``start``."""
    if start < 0:
        return text[: REGION_CHARS * 5]
    first = ADDRESS_RE.match(text, start)
    start = text.rfind("\n", 0, start) + 1  # from the start of the line naming the recipient
    before, region = _transcript_before(text, start), text[start : start + REGION_CHARS]
    line_end = region.find("\n")
    for match in NEXT_RECIPIENT_RE.finditer(region, line_end + 1 if line_end >= 0 else len(region)):
        if first is None or normalise(match.group(1)) != normalise(first.group(1)):
            return before + region[: match.start()]
    return before + region


def _transcript_before(text: str, start: int) -> str:
    lines = text[: text.rfind("\n", 0, start) + 1].splitlines(keepends=True)
    kept: list[str] = []
    while lines and lines[-1].lstrip().startswith((">>>", "<<<")) and len(kept) < 3:
        line = lines.pop()
        kept.insert(0, line if len(line) <= MAX_LINE_CHARS else line[:MAX_LINE_CHARS] + "\n")
    return "".join(kept)


def text_record(text: str, exclude: set[str], fallback: str | None = None) -> Record:
    """Build a Record for a plain-text bounce from its report text."""
    recipient, position = find_recipient(text, exclude)
    region = region_after(text, position)
    status = _status(region) or _status(text)
    code = reply_code_in(region) or reply_code_in(text)
    return Record(
        recipient=recipient or fallback,
        status=status,
        action="failed",
        diagnostic=diagnostic_line(region) or diagnostic_line(text),
        reply_code=code,
        context=region,
    )


def _status(text: str) -> str | None:
    qmail = QMAIL_STATUS_RE.search(text)
    return qmail.group(1) if qmail else status_code(text)


# Only failure replies (4xx, 5xx): a failure report's "Size (in bytes): 222" is no reply.
# The code follows a blank, a line start or one of the words MTAs put before a reply. These
# are look-behinds, not "(word|\s)[ \t]*": a blank run could then be split between the two
# in every way, from every blank (quadratic on a long run of spaces).
SMTP_REPLY_RE = re.compile(
    r"(?=[45])(?:^|(?<=\s)|(?<=<<<)|"
    + "|".join(f"(?<={word})|(?<={word}:)" for word in ("said", "response", "reply", "error"))
    + r")([45][0-5]\d)(?:[ \t:-]|$)",
    re.IGNORECASE | re.MULTILINE,
)


def reply_code_in(text: str) -> str | None:
    """Return the first SMTP failure reply code (4xx or 5xx) quoted in bounce text."""
    match = SMTP_REPLY_RE.search(text)
    return match.group(1) if match else None


REPLY_LINE_RE = re.compile(
    r"(?<![\w.])[245]\d\d[ -]{1,8}(?:[245]\.\d{1,3}\.\d{1,3}[ -]{1,8})?[A-Za-z<'\"]"
)
DIAGNOSTIC_HINT_RE = re.compile(
    r"unknown|not exist|no such|invalid|full|quota|reject|refused|denied|blocked|unavailable"
    r"|disabled|not found|failed|error|spam",
    re.IGNORECASE,
)


def diagnostic_line(text: str) -> str | None:
    """Return the most informative line of a failure explanation (trimmed to 500 chars)."""
    lines = [" ".join(line[:MAX_LINE_CHARS].split()) for line in text.splitlines()]
    lines = [line for line in lines if len(line) > 3]
    for pattern in (REPLY_LINE_RE, STATUS_RE, DIAGNOSTIC_HINT_RE):
        found = next((line for line in lines if pattern.search(line)), None)
        if found:
            return found[:500]
    return None
