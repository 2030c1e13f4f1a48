"""Header rules shared by the message builder (bulletin.mail.messages) and its readers."""

from __future__ import annotations

import email.policy
from email.utils import parseaddr

SMTP_POLICY = email.policy.SMTP.clone(max_line_length=78)


def safe_header(value: str) -> str:
    """Refuse CR/LF in a header value (MSG-09): never let user text start a new header."""
    if "\r" in value or "\n" in value:
        raise ValueError("header value contains a line break")
    return value


def domain_of(mail_from: str) -> str:
    """The domain of a From address ("Name <a@b>"): our Message-IDs end with it."""
    return parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"
