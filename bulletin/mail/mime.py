"""MIME for one message at a time (transactional mail, test sends); bulk sends use
delivery/bulk.py's templates, which never build MIME per recipient."""

from __future__ import annotations

import email.policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid, parseaddr

from bulletin.i18n import language_tag

from bulletin.models import utcnow
from bulletin.mail.rendering import RenderedEmail

SMTP_POLICY = email.policy.SMTP.clone(max_line_length=78)


def safe_header(value: str) -> str:
    """Refuse CR/LF in a header value (MSG-09): never let user text start a new header."""
    if "\r" in value or "\n" in value:
        raise ValueError("header value contains a line break")
    return value


def domain_of(mail_from: str) -> str:
    """The domain of a From address ("Name <a@b>"): our Message-IDs end with it."""
    return parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"


def build_message(rendered: RenderedEmail, to: str, *, mail_from: str,
                  reply_to: str | None = None, to_name: str | None = None,
                  subject_prefix: str = "", auto_submitted: bool = True) -> bytes:
    """A multipart/alternative message (text, then inlined HTML) as CRLF bytes."""
    msg = EmailMessage(policy=SMTP_POLICY)
    name, address = parseaddr(mail_from)
    msg["From"] = formataddr((name, address))
    msg["To"] = formataddr((safe_header(to_name), to)) if to_name else safe_header(to)
    msg["Subject"] = safe_header(subject_prefix + " ".join(rendered.subject.split()))
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = make_msgid(domain=domain_of(mail_from))
    if reply_to:
        msg["Reply-To"] = safe_header(reply_to)
    if auto_submitted:
        msg["Auto-Submitted"] = "auto-generated"
    msg["Content-Language"] = language_tag(rendered.language)
    msg.set_content(rendered.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8", cte="quoted-printable")
    for part in msg.iter_parts():
        part["Content-Language"] = language_tag(rendered.language)
    return msg.as_bytes(policy=SMTP_POLICY)
