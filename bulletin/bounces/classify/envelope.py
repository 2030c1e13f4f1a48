"""VERP tokens and identifiers of the original message carried by a report."""

from __future__ import annotations

import re
from email.message import Message

from bulletin.bounces.classify.dsn import parse_blocks
from bulletin.bounces.classify.mime import header, headers

# The token is bounded: an unbounded run would be rescanned from every "bounces+" in a
# crafted header that never reaches an "@".
TOKEN_RE = re.compile(r"(?<![\w.+-])(bounces|unsubscribe)\+([^@\s<>\"',;]{1,256})@", re.IGNORECASE)
TOKEN_HEADERS = (
    "To",
    "Delivered-To",
    "X-Original-To",
    "Return-Path",
    "Envelope-To",
    "X-Envelope-To",
    "Original-Mail-From",
)
TOKEN_FIELDS = ("original-mail-from", "x-postfix-sender", "original-envelope-id")
ANGLE_RE = re.compile(r"<([^<>\s]+)>")


def envelope_tokens(
    report: Message | None, original: Message | None, blocks_text: list[str]
) -> tuple[tuple[str, str], ...]:
    """Collect ("bounces"|"unsubscribe", TOKEN) pairs from the relevant envelope headers."""
    values: list[str] = []
    for msg in (report, original):
        for name in TOKEN_HEADERS:
            values.extend(headers(msg, name))
    for text in blocks_text:
        for block in parse_blocks(text):
            values.extend(block.get(name, "") for name in TOKEN_FIELDS)
    found: list[tuple[str, str]] = []
    for value in values:
        for match in TOKEN_RE.finditer(value):
            pair = (match.group(1).lower(), match.group(2))
            if pair not in found:
                found.append(pair)
    return tuple(found)


def original_message_id(original: Message | None) -> str | None:
    """Return the Message-ID of the enclosed original message in ``<id>`` form."""
    value = header(original, "Message-ID").strip()
    if not value:
        return None
    match = ANGLE_RE.search(value)
    return f"<{match.group(1)}>" if match else f"<{value.split()[0].strip('<>')}>"


def original_list_id(original: Message | None) -> str | None:
    """Return the List-Id identifier (the part in angle brackets) of the original message."""
    value = header(original, "List-Id").strip()
    if not value:
        return None
    match = ANGLE_RE.search(value)
    return match.group(1) if match else value
