"""Recognise the fixed wording of known MTA non-delivery report (NDR) templates.

Several MTAs send final-failure notices with no RFC 3464 part and no status code or SMTP
reply at all (Exchange 2003, IMail, OpenSMTPD, DragonFly, some Exim and Yahoo notices).
BNC-06 keeps a merely bounce-looking message soft. A message whose *structure* is one of
these templates is a report written by the MTA itself, so the classifier may read its
per-recipient reason (see verdict.py); a template is only matched in full, never by a single
word such as "Undeliverable", and a delay warning is never a final-failure template.
"""

from __future__ import annotations

import re
from email.message import Message

from bulletin.bounces.classify.mime import header


def _phrases(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


# Each template: its name and the phrases that must ALL occur (lower-cased, whitespace
# collapsed) in the report text. Every entry is the sending MTA's fixed notice wording.
TEMPLATES: tuple[tuple[str, tuple[re.Pattern[str], ...]], ...] = (
    (
        "exchange",
        (
            _phrases(
                r"your message .{0,300}did not reach the following recipient",
                r"your message did not reach some or all of the intended recipients",
                r"delivery has failed to these recipients or (?:groups|distribution lists)",
            ),
        ),
    ),
    (
        "exim",
        (
            re.compile(r"this message was created automatically by mail delivery software"),
            re.compile(r"following address(?:\(es\)|es)? failed"),
        ),
    ),
    (
        "qmail",
        (
            re.compile(r"this is the qmail-send program"),
            re.compile(r"permanent error|wasn't able to deliver"),
        ),
    ),
    (
        "postfix",
        (
            re.compile(r"this is the mail system at host"),
            re.compile(r"could not be delivered to one or more recipients"),
        ),
    ),
    ("sendmail", (re.compile(r"the following addresses had permanent fatal errors"),)),
    (
        "opensmtpd",
        (
            re.compile(r"this is the mailer-daemon, please do not reply"),
            re.compile(r"error has occurred while attempting to deliver"),
        ),
    ),
    (
        "dragonfly",
        (
            re.compile(r"this is the dragonfly mail agent"),
            re.compile(r"there was an error delivering your mail to"),
        ),
    ),
    ("yahoo", (re.compile(r"sorry, we were unable to deliver your message to the following"),)),
    # "-{3}" and not "-{3,}": the same matches, without rescanning a long dash run from
    # each of its dashes.
    (
        "failed-addresses",
        (
            re.compile(r"--- ?message log follows: ?---"),
            re.compile(r"--- ?failed addresses follow: ?---"),
        ),
    ),
)
# IMail (Ipswitch) writes "<reason>: <address>" then "Original message follows.", under the
# subject "Undeliverable Mail" and an X-Mailer of "<SMTP32 vN>".
IMAIL_MAILER_RE = re.compile(r"^<smtp32 v", re.IGNORECASE)
IMAIL_SUBJECT_RE = re.compile(r"^undeliverable mail$", re.IGNORECASE)
# Exchange writes each recipient's failure as "MSEXCH:<connector>:... (000C05A6)": its own
# machine-readable error code. A block without that code (older IMC notices saying only
# "Recipient Not Found") is too thin to remove a reader, so it stays soft.
BLOCK_CODES = {"exchange": re.compile(r"msexch:.{0,80}?\([0-9a-f]{8}\)")}
# Wording of delay warnings (the message is still queued): never a final failure.
DELAY_NOTICE_RE = _phrases(
    r"this is a warning only",
    r"do not need to re-?send",
    r"temporary failure report",
    r"will (?:continue to )?(?:re)?try",
    r"\bis (?:being )?delayed\b",
    r"\bdelayed for\b",
    r"not yet been delivered",
    r"still (?:being )?(?:re)?tr(?:y|ied)",
    r"kept in the queue",
    r"warning: (?:message|could not send)",
)


def ndr_template(msg: Message, report_text: str) -> str | None:
    """Return the name of the known final-failure NDR template ``msg`` follows, if any."""
    flat = " ".join(report_text.lower().split())
    if not flat or DELAY_NOTICE_RE.search(flat):
        return None
    for name, required in TEMPLATES:
        if all(pattern.search(flat) for pattern in required):
            return name
    if IMAIL_MAILER_RE.match(header(msg, "X-Mailer")) and IMAIL_SUBJECT_RE.match(
        header(msg, "Subject")
    ):
        return "imail"
    return None


def block_is_complete(template: str, block: str | None) -> bool:
    """Tell whether a recipient's block carries all a template's per-recipient report holds."""
    pattern = BLOCK_CODES.get(template)
    return pattern is None or bool(pattern.search(" ".join((block or "").lower().split())))
