"""Building bounce, complaint and unsubscribe mails for the bounce tests."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

from bulletin.extensions import db
from bulletin.mail import tokens
from bulletin.models import Delivery, Send, Subscriber, utcnow
from tests.support.delivery_helpers import make_issue_row

BOUNCE_DOMAIN = "bounces.example.org"


def sent_delivery(subscriber: Subscriber) -> Delivery:
    """A new send, sent to the subscriber: its delivery."""
    send = Send(issue=make_issue_row(), status="done")
    db.session.add(send)
    db.session.flush()
    delivery = Delivery(
        send_id=send.id, subscriber_id=subscriber.id, language="en", status="sent", sent_at=utcnow()
    )
    db.session.add(delivery)
    db.session.commit()
    return delivery


def sent_verp(subscriber: Subscriber) -> str:
    """The VERP address of a new delivery to the subscriber: what a genuine bounce of our
    mail is addressed to, and the proof that we sent it (a bare address proves nothing)."""
    delivery = sent_delivery(subscriber)
    return f"bounces+{tokens.make_bounce_token(f'd{delivery.id}')}@{BOUNCE_DOMAIN}"


def original_headers(
    to: str,
    *,
    message_id: str | None = None,
    list_id: str | None = None,
    return_path: str | None = None,
) -> str:
    """The headers of the message that bounced, as a report quotes them."""
    lines = [
        "From: Research bulletin <bulletin@example.org>",
        f"To: {to}",
        "Subject: Research bulletin",
        f"Message-ID: {message_id or make_msgid()}",
    ]
    if list_id:
        lines.append(f"List-Id: Bulletin <{list_id}>")
    if return_path:
        lines.insert(0, f"Return-Path: <{return_path}>")
    return "\r\n".join(lines) + "\r\n"


def _report(report_type: str, head: list[str], text: str, fields: str, original: str) -> bytes:
    boundary = "report-" + make_msgid().strip("<>").split("@")[0].replace(".", "")
    lines = head + [
        "MIME-Version: 1.0",
        f'Content-Type: multipart/report; report-type={report_type}; boundary="{boundary}"',
        "",
        f"--{boundary}",
        "Content-Type: text/plain; charset=us-ascii",
        "",
        text,
        "",
        f"--{boundary}",
        "Content-Type: message/"
        + ("delivery-status" if report_type == "delivery-status" else "feedback-report"),
        "",
        fields,
        "",
        f"--{boundary}",
        "Content-Type: text/rfc822-headers",
        "",
        original,
        f"--{boundary}--",
        "",
    ]
    return "\r\n".join(lines).encode()


def dsn(
    recipient: str,
    *,
    status: str = "5.1.1",
    action: str = "failed",
    envelope_to: str = f"bounces@{BOUNCE_DOMAIN}",
    diagnostic: str | None = None,
    message_id: str | None = None,
    list_id: str | None = None,
    original_to: str | None = None,
    original: str | None = None,
) -> bytes:
    """An RFC 3464 delivery status notification about one recipient (`original`: the
    headers of the message that bounced, verbatim)."""
    subject = (
        "Undelivered Mail Returned to Sender"
        if action == "failed"
        else "Delivery Status Notification"
    )
    head = [
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>",
        f"To: {envelope_to}",
        f"Subject: {subject}",
        f"Message-ID: {make_msgid(domain='mx.example.net')}",
    ]
    code = "250" if action == "delivered" else ("550" if status.startswith("5") else "451")
    why = diagnostic or "mailbox problem"
    fields = (
        f"Reporting-MTA: dns; mx.example.net\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: {action}\r\nStatus: {status}\r\n"
        f"Diagnostic-Code: smtp; {code} {status} {why}"
    )
    text = f"This is the mail system at host mx.example.net.\r\n\r\n<{recipient}>: {why}"
    original = original or original_headers(
        original_to or recipient, message_id=message_id, list_id=list_id
    )
    return _report("delivery-status", head, text, fields, original)


def arf(
    recipient: str,
    *,
    feedback_type: str = "abuse",
    envelope_to: str = "fbl@example.org",
    original_mail_from: str | None = None,
    message_id: str | None = None,
    original: str | None = None,
) -> bytes:
    """An RFC 5965 abuse report about one of our messages (`original`: its headers)."""
    head = [
        "From: Feedback Loop <fbl@isp.example.net>",
        f"To: {envelope_to}",
        "Subject: Abuse report",
        f"Message-ID: {make_msgid(domain='isp.example.net')}",
    ]
    fields = [
        f"Feedback-Type: {feedback_type}",
        "User-Agent: ExampleFBL/1.0",
        "Version: 1",
        f"Original-Rcpt-To: {recipient}",
    ]
    if original_mail_from:
        fields.append(f"Original-Mail-From: <{original_mail_from}>")
    return _report(
        "feedback-report",
        head,
        "This is an email abuse report.",
        "\r\n".join(fields),
        original or original_headers(recipient, message_id=message_id),
    )


def plain_mail(
    to: str,
    *,
    subject: str = "Please remove me",
    body: str = "Thanks.\n",
    sender: str = "reader@example.com",
) -> bytes:
    """An ordinary message (for example to the List-Unsubscribe mailto:)."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="example.com")
    msg.set_content(body)
    return msg.as_bytes()
