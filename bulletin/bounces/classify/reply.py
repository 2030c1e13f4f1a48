"""Why a delivery failed, from the SMTP reply our relay gave, in the groups a send's report
shows. The bounce classifier judges the reply (verdict.judge); nothing here is a second
classifier, only the mapping of its verdict onto the report's groups."""

from __future__ import annotations

from bulletin.bounces.classify.dsn import Record, reply_code, status_code
from bulletin.bounces.classify.patterns import soft_reason
from bulletin.bounces.classify.verdict import judge

MAILBOX_UNKNOWN = "mailbox-unknown"
SPAM = "spam"
MAILBOX_FULL = "mailbox-full"
REFUSED = "refused"
OTHER = "other"
#: The groups, in the order a report lists them.
FAILURE_REASONS = (MAILBOX_UNKNOWN, SPAM, MAILBOX_FULL, REFUSED, OTHER)
FULL_CODES = ("4.2.2", "5.2.2")


def failure_reason(reply: str | None) -> str:
    """The report group of a failed delivery's last reply ("550 5.1.1 No such user").

    - mailbox-unknown: the classifier's hard verdict (the address or its domain is gone);
    - mailbox-full: x.2.2, or the words say the mailbox is over its quota;
    - spam: the classifier's sender-fault verdict (spam, block lists, reputation, policy);
    - refused: any other permanent (5xx) refusal;
    - other: a temporary (4xx) refusal that ran out of retries, or no reply at all.
    """
    text = (reply or "").strip()
    code = reply_code(text[:16])
    if code is None:
        return OTHER
    record = Record(status=status_code(text), diagnostic=text, reply_code=code)
    verdict = judge(record)
    if verdict.kind == "hard":
        return MAILBOX_UNKNOWN
    if record.status in FULL_CODES or soft_reason(text) == "mailboxfull":
        return MAILBOX_FULL
    if verdict.is_sender_fault:
        return SPAM
    return REFUSED if code.startswith("5") else OTHER
