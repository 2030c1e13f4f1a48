"""Turn a per-recipient record into a kind: hard, soft or delivered."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bulletin.bounces.dsn import Record
from bulletin.bounces.patterns import (
    about_sender,
    disguised_filter,
    hard_reason,
    smtp_stage,
    soft_reason,
)

# Enhanced status codes that by themselves say the address is gone.
HARD_CODES = {
    "5.1.1": "userunknown", "5.1.10": "userunknown", "5.1.3": "userunknown",
    "5.1.2": "hostunknown", "5.1.6": "hasmoved",
}
SENDER_CODES = ("5.1.7", "5.1.8")
SECURITY_CODE_RE = re.compile(r"(?<![\w.])[45]\.7\.\d{1,3}\b")
ALIVE_REASONS = ("mailboxfull", "suspend")
DELIVERED_ACTIONS = ("delivered", "relayed", "expanded")


@dataclass(frozen=True)
class Verdict:
    """The kind of a failure, and whether it is the sender's fault (policy, reputation)."""

    kind: str
    is_sender_fault: bool = False


def judge(record: Record) -> Verdict:
    """Classify one recipient record; only a permanent, address-is-gone failure is hard."""
    status = record.status or ""
    if record.action in DELIVERED_ACTIONS or status.startswith("2."):
        return Verdict("delivered")
    text = f"{record.diagnostic or ''}\n{record.context or ''}"
    hard, soft = reasons(record)
    stage = smtp_stage(text)
    sender_fault = (soft == "senderfault" or status[1:3] == ".7" or status in SENDER_CODES
                    or stage == "MAIL" or bool(SECURITY_CODE_RE.search(record.diagnostic or "")))
    alive = soft_reason(record.context) in ALIVE_REASONS  # the report's own words disagree
    if is_permanent(record, stage) and not (sender_fault or alive) and _is_hard(
        status, hard, soft, text
    ):
        return Verdict("hard")
    return Verdict("soft", sender_fault or about_sender(record.diagnostic))


def reasons(record: Record) -> tuple[str | None, str | None]:
    """Return the (hard, soft) reasons named by the diagnostic, else by the surrounding text."""
    for text in (record.diagnostic, record.context):
        hard, soft = hard_reason(text), soft_reason(text)
        if hard or soft:
            return hard, soft
    return None, None


def is_permanent(record: Record, stage: str | None) -> bool:
    """Tell whether a record carries a machine-readable permanent failure.

    That is a 5.x.x status, or a 5xx reply the remote server gave to RCPT TO.
    """
    if record.action == "delayed" or (record.status or "").startswith("4"):
        return False
    if record.status:
        return record.status.startswith("5")
    return (record.reply_code or "").startswith("5") and stage == "RCPT"


def _is_hard(status: str, hard: str | None, soft: str | None, text: str) -> bool:
    if soft in ALIVE_REASONS or disguised_filter(text) or about_sender(text):
        return False
    coded = status in HARD_CODES
    stage = smtp_stage(text)
    if not coded and (stage == "DATA" or status.startswith("5.2.") and stage != "RCPT"):
        return False  # "user unknown" after the content was sent is a filter, not a dead address
    if hard:
        return True
    return coded and soft in (None, "transient")
