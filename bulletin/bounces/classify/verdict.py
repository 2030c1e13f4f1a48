"""Turn a per-recipient record into a kind: hard, soft or delivered."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bulletin.bounces.classify.dsn import Record
from bulletin.bounces.classify.ndr import block_is_complete
from bulletin.bounces.classify.patterns import (
    about_sender,
    disguised_filter,
    hard_reason,
    policy_block,
    smtp_stage,
    soft_reason,
)

# RFC 3463 status codes are read before any wording. Class 4 is transient: soft. In class 5:
# - these say by themselves that the address is gone (hard), unless the diagnostic names a
#   specific contrary reason (mailbox full, suspended, a named policy block);
HARD_CODES = {
    "5.1.1": "userunknown",
    "5.1.10": "userunknown",
    "5.1.3": "userunknown",
    "5.1.2": "hostunknown",
    "5.1.6": "hasmoved",
}
# - the sender's address, not the recipient's (5.1.7, 5.1.8), and security or policy (5.7.x,
#   BNC-05): soft, and a sender-side fault;
SENDER_CODES = ("5.1.7", "5.1.8")
SECURITY_CODE_RE = re.compile(r"(?<![\w.])[45]\.7\.\d{1,3}\b")
# - the mailbox exists but cannot take this message (x.2.2 full, x.2.3 too big, x.2.4 list
#   expansion, x.3.4 too big for the system) or the content is refused (x.6.x): soft,
#   whatever the words say;
ALIVE_CODES = ("5.2.2", "5.2.3", "5.2.4", "5.3.4")
ALIVE_SUBJECTS = ("5.6.",)
# - every other code (x.0.0, 5.1.0, 5.2.0 and 5.2.1 "disabled", 5.3.x, 5.4.x, 5.5.x, ...) is
#   undecided: the diagnostic's reason decides (patterns.py, after sisimai's reasons), and
#   "user unknown" answering DATA is a content filter (sisimai's Filtered), not a dead address.
ALIVE_REASONS = ("mailboxfull", "suspend", "filtered")
# Vendor wording, only where the codes and the reasons cannot decide: Exchange Online's
# directory-based edge blocking refuses an address missing from the tenant's directory with
# "550 5.4.1 Recipient address rejected: Access denied" (Microsoft's NDR reference for
# 5.4.1). "Access denied" alone, or under another code (a 5.7.1), stays a policy refusal.
EXCHANGE_ONLINE_GONE_RE = re.compile(
    r"recipient address rejected: access denied.{0,120}\.protection\.outlook\.com", re.I
)
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
    if status == "5.4.1" and EXCHANGE_ONLINE_GONE_RE.search(record.diagnostic or ""):
        return Verdict("hard", reason="userunknown")
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
    if status in HARD_CODES and not policy_code:
        # The code says the address is gone: only a named block overrides it (sisimai's
        # UserUnknown defers to Blocked, NoRelaying, Rejected ... for a 5.1.1), not any word
        # of the wide sender-fault family such as "denied" or "security".
        return policy_block(record.diagnostic)
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
    if status in ALIVE_CODES or status.startswith(ALIVE_SUBJECTS):
        return False
    if not coded and (stage == "DATA" or status.startswith("5.2.") and stage != "RCPT"):
        return False  # "user unknown" after the content was sent is a filter, not a dead address
    return bool(hard) or (coded and soft in (None, "transient"))
