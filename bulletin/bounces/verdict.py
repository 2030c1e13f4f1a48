"""Turn a per-recipient record into a kind: hard, soft or delivered."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bulletin.bounces.dsn import Record
from bulletin.bounces.ndr import block_is_complete
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
    reason: str | None = None  # for "hard": userunknown, hostunknown, hasmoved or notaccept


def judge(record: Record) -> Verdict:
    """Classify one recipient record; only a permanent, address-is-gone failure is hard."""
    status = record.status or ""
    if record.action in DELIVERED_ACTIONS or status.startswith("2."):
        return Verdict("delivered")
    text = f"{record.diagnostic or ''}\n{record.context or ''}"
    hard, soft = reasons(record)
    stage = smtp_stage(text)
    sender_fault = _sender_fault(record, soft, stage)
    if not sender_fault and is_permanent(record, stage, hard):
        if _is_hard(record, hard, soft, stage, text):
            return Verdict("hard", reason=hard or HARD_CODES.get(status))
    return Verdict("soft", sender_fault or about_sender(record.diagnostic))


def reasons(record: Record) -> tuple[str | None, str | None]:
    """Return the (hard, soft) reasons named by the diagnostic, else by the surrounding text."""
    for text in (record.diagnostic, record.context):
        hard, soft = hard_reason(text), soft_reason(text)
        if hard or soft:
            return hard, soft
    return None, None


def is_permanent(record: Record, stage: str | None, hard: str | None) -> bool:
    """Tell whether a record carries a permanent (5.x.x or 5xx) failure.

    Without any code, only a known MTA final-failure template (ndr.py) whose block for the
    named recipient states an address-gone reason counts: BNC-06 keeps anything vaguer (a
    bare "Undeliverable", a template with no or a mixed reason) soft.
    """
    if record.action == "delayed" or (record.status or "").startswith("4"):
        return False
    if record.status:
        return record.status.startswith("5")
    if record.reply_code:
        # A bare 5xx reply counts when it answered RCPT TO, when the domain does not exist,
        # or when an MTA's final-failure template quotes it in the recipient's block.
        return record.reply_code.startswith("5") and (
            stage == "RCPT" or hard == "hostunknown" or _template_says_gone(record)
        )
    return _template_says_gone(record)


def _template_says_gone(record: Record) -> bool:
    block = record.context
    if not (record.template and record.recipient and block_is_complete(record.template, block)):
        return False
    return bool(hard_reason(block)) and soft_reason(block) is None


def _sender_fault(record: Record, soft: str | None, stage: str | None) -> bool:
    status = record.status or ""
    if stage == "MAIL" or status in SENDER_CODES:
        return True
    policy_code = status[1:3] == ".7" or bool(SECURITY_CODE_RE.search(record.diagnostic or ""))
    if soft != "senderfault" and not policy_code:
        return False
    # A 5.7.x code is a policy rejection (BNC-05) unless the remote server's own words say
    # only that the address is gone ("553 Invalid recipient" filed under 5.7.1 by the
    # reporting MTA): the diagnostic, codes aside, names an address-gone reason and no
    # policy, sender or other soft phrase ("Recipient address rejected: Access denied" stays
    # a policy rejection).
    return not _only_gone(record.diagnostic)


def _only_gone(diagnostic: str | None) -> bool:
    words = SECURITY_CODE_RE.sub(" ", diagnostic or "")
    return bool(hard_reason(words)) and soft_reason(words) is None and not about_sender(words)


def _is_hard(
    record: Record, hard: str | None, soft: str | None, stage: str | None, text: str
) -> bool:
    alive = soft in ALIVE_REASONS or soft_reason(record.context) in ALIVE_REASONS
    if alive or disguised_filter(text) or about_sender(text):
        return False
    status = record.status or ""
    coded = status in HARD_CODES
    if not coded and (stage == "DATA" or status.startswith("5.2.") and stage != "RCPT"):
        return False  # "user unknown" after the content was sent is a filter, not a dead address
    return bool(hard) or (coded and soft in (None, "transient"))
