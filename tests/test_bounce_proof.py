"""Bounces and complaints act only on proof that we sent that message to that reader.

A real send goes through the aiosmtpd test server; one reader (the attacker) keeps their own
copy and forges reports about another (the victim) through every way in. Genuine reports,
made from the messages the readers received, still clean and unsubscribe.
"""

from __future__ import annotations

import mailbox
import re
import smtplib
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from bulletin.bounces.commands import process_bounces_command
from bulletin.bounces.mailboxes import poll_imap
from bulletin.bounces.server import make_server
from bulletin.delivery.pipeline import start_due_sends
from bulletin.extensions import db
from bulletin.models import BounceEvent, Delivery, Send, Subscriber, Suppression
from tests.support.bouncemail import BOUNCE_DOMAIN, arf, dsn, plain_mail
from tests.support.delivery_helpers import configure, drain, make_send
from tests.support.imapserver import ImapServer
from tests.support.smtp import Received, free_port

READERS = ("victim", "attacker", "bounced", "complains")


@pytest.fixture
def sent(app, smtp_server, make_subscriber):
    """One real bulk send to four readers: {name: (Subscriber, Received)} and the Send."""
    settings = configure(app, smtp_server, BOUNCE_DOMAIN=BOUNCE_DOMAIN)
    readers = {name: make_subscriber(f"{name}@example.com") for name in READERS}
    send = make_send()
    start_due_sends(settings)
    drain(app, settings)
    received = {r.rcpt_tos[0]: r for r in smtp_server.received}
    assert set(received) == {f"{name}@example.com" for name in READERS}
    return {name: (s, received[s.email]) for name, s in readers.items()}, send


def headers_of(copy: Received) -> str:
    """The header block of a received message, as a report quotes it (with the Return-Path
    the final MTA adds)."""
    head = re.split(rb"\r?\n\r?\n", copy.raw, maxsplit=1)[0].decode("ascii")
    return (
        f"Return-Path: <{copy.mail_from}>\r\n"
        + head.replace("\r\n", "\n").replace("\n", "\r\n")
        + "\r\n"
    )


def flip(text: str) -> str:
    """The text with its last hex digit changed."""
    return text[:-1] + ("0" if text[-1] != "0" else "1")


def forgeries(sent) -> list[tuple[str, bytes]]:
    """(envelope recipient, message): what the attacker can make from their own copy."""
    readers, send = sent
    victim, own = readers["victim"][0], readers["attacker"][1]
    victim_delivery = db.session.scalar(select(Delivery).filter_by(subscriber_id=victim.id))
    send = db.session.get(Send, send.id)
    own_id = own.message["Message-ID"]
    # The Message-ID the old code gave the victim's copy: ids and the send's creation time.
    old_form = f"<{send.id}.{victim_delivery.id}.{int(send.created_at.timestamp())}@example.org>"
    guessed = re.sub(r"^<(\d+)\.\d+\.", rf"<\g<1>.{victim_delivery.id}.", own_id)
    victim_verp = readers["victim"][1].mail_from
    made_up = f"bounces+d{victim_delivery.id}-0123456789abcdef@{BOUNCE_DOMAIN}"
    flipped = flip(victim_verp.partition("@")[0]) + "@" + BOUNCE_DOMAIN
    postmaster, abuse = f"postmaster@{BOUNCE_DOMAIN}", f"abuse@{BOUNCE_DOMAIN}"
    return [
        (postmaster, dsn(victim.email, envelope_to=postmaster)),
        (abuse, arf(victim.email, envelope_to=abuse, message_id=old_form)),
        (abuse, arf(victim.email, envelope_to=abuse, message_id=guessed)),
        (made_up, dsn(victim.email, envelope_to=made_up)),
        (flipped, dsn(victim.email, envelope_to=flipped)),
        (
            f"unsubscribe+{victim.uid}-0123456789abcdef@{BOUNCE_DOMAIN}",
            plain_mail(
                f"unsubscribe+{victim.uid}-0123456789abcdef@{BOUNCE_DOMAIN}", sender=victim.email
            ),
        ),
    ]


def genuine(sent) -> list[tuple[str, bytes]]:
    """A DSN made from the message `bounced` received, sent to its VERP address, and an
    ARF from a feedback loop at a fixed address that quotes only our headers."""
    readers, _ = sent
    bounced, complains = readers["bounced"][1], readers["complains"][1]
    fbl = f"fbl@{BOUNCE_DOMAIN}"
    # Feedback loops often redact the recipient; the Message-ID they quote is the proof.
    quoted = re.sub(r"(?m)^(To|Return-Path): .*\r\n", "", headers_of(complains))
    return [
        (
            bounced.mail_from,
            dsn("bounced@example.com", envelope_to=bounced.mail_from, original=headers_of(bounced)),
        ),
        (fbl, arf("redacted@isp.example.net", envelope_to=fbl, original=quoted)),
    ]


def statuses() -> dict[str, str]:
    db.session.expire_all()
    return {s.email.partition("@")[0]: s.status for s in db.session.scalars(select(Subscriber))}


def check_forgeries_changed_nobody(count: int) -> None:
    assert set(statuses().values()) == {"confirmed"}
    assert db.session.scalar(select(func.count(Suppression.id))) == 0
    actions = db.session.scalars(select(BounceEvent.action)).all()
    assert actions == ["unproven"] * count
    assert db.session.scalar(select(func.count(BounceEvent.subscriber_id))) == 0


def check_genuine_reports_acted() -> None:
    assert statuses() == {
        "victim": "confirmed",
        "attacker": "confirmed",
        "bounced": "cleaned",
        "complains": "unsubscribed",
    }
    assert db.session.scalar(select(func.count(Suppression.id))) == 2
    # Both found their delivery: the VERP token, and the Message-ID alone for the ARF.
    acted = db.session.execute(
        select(BounceEvent.kind, BounceEvent.delivery_id).where(BounceEvent.action != "unproven")
    ).all()
    assert sorted(kind for kind, _ in acted) == ["complaint", "hard"]
    assert all(delivery_id is not None for _, delivery_id in acted)


def hand_over(server, rcpt: str, raw: bytes) -> None:
    """What the bounce domain's MX does: relay the report to `bulletin bounce-server`."""
    with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as client:
        assert client.sendmail("", [rcpt], raw) == {}


def test_smtp_bounce_server_acts_only_on_proof(app, sent):
    server = make_server(app, "127.0.0.1", free_port())
    server.start()
    try:
        forged = forgeries(sent)
        for rcpt, raw in forged:
            hand_over(server, rcpt, raw)
        check_forgeries_changed_nobody(len(forged))
        for rcpt, raw in genuine(sent):
            hand_over(server, rcpt, raw)
    finally:
        server.stop()
    check_genuine_reports_acted()


def test_mbox_acts_only_on_proof(runner, sent, tmp_path):
    forged, real = tmp_path / "forged.mbox", tmp_path / "genuine.mbox"
    for path, messages in ((forged, forgeries(sent)), (real, genuine(sent))):
        box = mailbox.mbox(str(path))
        for _, raw in messages:
            box.add(raw)
        box.close()
    result = runner.invoke(process_bounces_command, [str(forged)])
    assert "6 processed, 0 seen before, 0 failed" in result.output, result.output
    check_forgeries_changed_nobody(6)
    result = runner.invoke(process_bounces_command, [str(real)])
    assert "2 processed" in result.output, result.output
    check_genuine_reports_acted()


def test_imap_acts_only_on_proof(sent):
    server = ImapServer().start()
    try:
        url = (
            f"imap://{quote(server.user)}:{quote(server.password, safe='')}"
            f"@127.0.0.1:{server.port}/INBOX"
        )
        for _, raw in forgeries(sent):
            server.add(raw)
        assert poll_imap(url).processed == 6
        check_forgeries_changed_nobody(6)
        for _, raw in genuine(sent):
            server.add(raw)
        assert poll_imap(url).processed == 2
    finally:
        server.stop()
    check_genuine_reports_acted()
