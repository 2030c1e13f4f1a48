"""RFC 3464 delivery-status parsing into per-recipient records."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bulletin.bounces.classify.address import field_address

FIELD_RE = re.compile(r"^([A-Za-z][A-Za-z0-9-]{0,60})[ \t]*:[ \t]*(.*)$")
STATUS_RE = re.compile(r"(?<![\w.])([245])\.(\d{1,3})\.(\d{1,3})(?![\w-]|\.\d)")
REPLY_RE = re.compile(r"(?<![\w.-])([245][0-5]\d)(?=[ \t-]|$)")
RECIPIENT_FIELDS = ("final-recipient", "original-recipient", "x-actual-recipient")
MAX_FIELD_CHARS = 8 * 1024
MAX_FIELD_LINES = 100
# A Diagnostic-Code is one SMTP reply; its first 2 KB say all a reason can be read from.
MAX_DIAGNOSTIC_CHARS = 2 * 1024


@dataclass
class Record:
    """What a report says about one recipient."""

    recipient: str | None = None
    status: str | None = None
    action: str | None = None
    diagnostic: str | None = None
    reply_code: str | None = None
    context: str | None = None
    template: str | None = None  # the known NDR template of a plain-text report (ndr.py)


def parse_blocks(text: str) -> list[dict[str, str]]:
    """Split header-like text into blocks (separated by blank lines) of lower-cased fields.

    A field continued over many lines is gathered in a list and joined once (repeated string
    concatenation is quadratic); it keeps MAX_FIELD_LINES lines and MAX_FIELD_CHARS characters.
    """
    blocks: list[dict[str, str]] = []
    current: dict[str, list[str]] = {}
    last: str | None = None
    for line in text.splitlines():
        if not line.strip():
            blocks, current, last = _flush(blocks, current), {}, None
        elif line[0] in " \t" and last:
            _continue(current[last], line)
        elif match := FIELD_RE.match(line):
            name = match.group(1).lower()
            last = None if name in current else name
            current.setdefault(name, [match.group(2).strip()[:MAX_FIELD_CHARS]])
        else:
            last = None
    return _flush(blocks, current)


def _continue(pieces: list[str], line: str) -> None:
    if len(pieces) < MAX_FIELD_LINES:
        pieces.append(line.strip()[:MAX_FIELD_CHARS])


def _flush(blocks: list[dict[str, str]], current: dict[str, list[str]]) -> list[dict[str, str]]:
    if current:
        blocks.append({name: " ".join(v)[:MAX_FIELD_CHARS] for name, v in current.items()})
    return blocks


def status_code(text: str | None) -> str | None:
    """Return the first enhanced status code (``5.1.1``) found in ``text``."""
    match = STATUS_RE.search(text or "")
    return ".".join(match.groups()) if match else None


def reply_code(text: str | None) -> str | None:
    """Return the first SMTP reply code (``550``) found in ``text``."""
    match = REPLY_RE.search(text or "")
    return match.group(1) if match else None


def strip_type(value: str) -> str:
    """Drop the ``smtp;`` style type prefix of a Diagnostic-Code value."""
    kind, sep, rest = value.partition(";")
    if sep and len(kind) < 40 and re.fullmatch(r"[\w-]{1,20}", kind.strip()):
        return rest.strip()
    return value.strip()


def dsn_records(text: str) -> list[Record]:
    """Return one Record per recipient block of a delivery-status text."""
    records = []
    for block in parse_blocks(text):
        recipient = next(
            (field_address(block.get(name)) for name in RECIPIENT_FIELDS if block.get(name)),
            None,
        )
        if recipient is None and not ("action" in block and "status" in block):
            continue
        records.append(_record(block, recipient))
    return records


def _record(block: dict[str, str], recipient: str | None) -> Record:
    diagnostic = strip_type(block.get("diagnostic-code", ""))[:MAX_DIAGNOSTIC_CHARS] or None
    status = status_code(block.get("status"))
    detailed = status_code(diagnostic)
    if detailed and (status is None or status.endswith(".0.0")):
        status = detailed if detailed[0] == (status or detailed)[0] else status
    return Record(
        recipient=recipient,
        status=status,
        action=(block.get("action") or "").split()[0].lower() if block.get("action") else None,
        diagnostic=diagnostic,
        reply_code=reply_code(diagnostic),
    )
