"""Tell whether a message without a delivery-status part is a bounce."""

from __future__ import annotations

import re
from email.message import Message

from bulletin.bounces.classify.address import is_daemon, normalise
from bulletin.bounces.classify.mime import header

BOUNCE_SUBJECT_RE = re.compile(
    r"undeliver|undelivered|not delivered|non[- ]?deliver|delivery (?:status )?notification"
    r"|delivery (?:has )?failed|delivery failure|failure notice|mail delivery failed"
    r"|returned mail|return(?:ed)? to sender|could not (?:be )?deliver|mail system error"
    r"|delivery problem|failed delivery|message not delivered|bounced?\b|nondeliverable"
    r"|unzustellbar|non remis|no se puede entregar|permanent error|delivery report"
    r"|warning: could not send|rejected|mail error|error sending|delivery error",
    re.IGNORECASE,
)
DAEMON_NAME_RE = re.compile(
    r"mail delivery (?:system|subsystem|service)|mailer[- ]?daemon|postmaster"
    r"|mail administrator|system administrator|delivery status",
    re.IGNORECASE,
)
BOUNCE_BODY_RE = re.compile(
    r"could not be delivered|was not delivered|wasn't able to deliver|were not delivered"
    r"|unable to deliver|undeliverable|delivery (?:to the following recipients? )?(?:has )?failed"
    r"|did not reach the following|permanent (?:fatal )?errors?|non-?delivery|returned to (?:the )?"
    r"sender|failed to deliver|delivery failure|could not deliver|following addresses? failed"
    r"|delivery to the following recipient|message was rejected|rejected by (?:the )?(?:remote"
    r"|recipient)|no valid recipients|user unknown|mailbox unavailable|recipient address rejected"
    r"|transcript of session follows|this is the mail system at host|qmail-send program",
    re.IGNORECASE,
)


def bounce_by_headers(msg: Message) -> bool:
    """Tell whether the headers of ``msg`` say it is a delivery failure report."""
    if header(msg, "X-Failed-Recipients"):
        return True
    sender = header(msg, "From")
    if is_daemon(normalise(sender)) or DAEMON_NAME_RE.search(sender):
        return True
    return bool(BOUNCE_SUBJECT_RE.search(header(msg, "Subject")))


def bounce_by_body(text: str) -> bool:
    """Tell whether a message body reads like a delivery failure report."""
    return bool(BOUNCE_BODY_RE.search(text[:20000]))
