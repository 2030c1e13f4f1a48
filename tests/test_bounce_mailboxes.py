"""mbox files, Maildir folders and an IMAP mailbox: processed once, however often read."""

from __future__ import annotations

import logging
import mailbox
import socket
import ssl
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from bulletin.bounces import ingest as ingest_module
from bulletin.bounces.commands import process_bounces_command
from bulletin.bounces.mailboxes import (
    PROCESSED_KEYWORD,
    parse_imap_url,
    poll_bounce_mailbox,
    poll_imap,
)
from bulletin.extensions import db
from bulletin.mail import tokens
from bulletin.models import BounceEvent, ConsentEvent, InboundMessage
from tests.support.bouncemail import BOUNCE_DOMAIN, dsn, plain_mail, sent_verp
from tests.support.imapserver import ImapServer
from tests.support.slow_classifier import install_slow_pool, slow_message
from tests.support.tlscerts import TestCA


@pytest.fixture
def readers(app, make_subscriber):
    app.config["BOUNCE_DOMAIN"] = BOUNCE_DOMAIN
    hard = make_subscriber("hard@example.com")
    leaving = make_subscriber("leaving@example.com")
    mailto = f"unsubscribe+{tokens.make_mailto_token(leaving.uid)}@{BOUNCE_DOMAIN}"
    messages = [
        dsn(hard.email, envelope_to=sent_verp(hard)),
        plain_mail(mailto, subject="unsubscribe me"),
        plain_mail(
            f"bounces@{BOUNCE_DOMAIN}", subject="Out of office", body="I am away until Monday.\n"
        ),
    ]
    return hard, leaving, messages


def counts() -> tuple[int, int]:
    return (
        db.session.scalar(select(func.count(BounceEvent.id))),
        db.session.scalar(select(func.count(InboundMessage.id))),
    )


def check_outcome(hard, leaving) -> None:
    db.session.expire_all()
    assert hard.status == "cleaned" and leaving.status == "unsubscribed"
    assert db.session.scalar(select(ConsentEvent.source).filter_by(kind="unsubscribe")) == "mailto"


def test_mbox_twice_changes_nothing_the_second_time(runner, readers, tmp_path):
    hard, leaving, messages = readers
    path = tmp_path / "bounces.mbox"
    box = mailbox.mbox(str(path))
    for raw in messages:
        box.add(raw)
    box.close()
    first = runner.invoke(process_bounces_command, [str(path)])
    assert first.exit_code == 0, first.output
    assert "3 processed, 0 seen before, 0 failed" in first.output
    check_outcome(hard, leaving)
    assert counts() == (3, 3)
    second = runner.invoke(process_bounces_command, [str(path)])
    assert "0 processed, 3 seen before, 0 failed" in second.output
    assert counts() == (3, 3)


def test_maildir_and_the_same_mail_in_an_mbox_are_one_message(runner, readers, tmp_path):
    hard, leaving, messages = readers
    folder = mailbox.Maildir(str(tmp_path / "Maildir"))
    for raw in messages:
        folder.add(raw)
    result = runner.invoke(process_bounces_command, [str(tmp_path / "Maildir")])
    assert "3 processed" in result.output, result.output
    check_outcome(hard, leaving)
    assert db.session.scalar(select(BounceEvent.source).filter_by(kind="hard")) == "maildir"
    box = mailbox.mbox(str(tmp_path / "copy.mbox"))
    box.add(messages[0].replace(b"\r\n", b"\n"))  # line ends differ, the message does not
    box.close()
    again = runner.invoke(process_bounces_command, [str(tmp_path / "copy.mbox")])
    assert "0 processed, 1 seen before" in again.output
    assert counts() == (3, 3)


def test_a_path_that_is_no_mailbox_is_refused(runner, app, tmp_path):
    (tmp_path / "plain").mkdir()
    result = runner.invoke(process_bounces_command, [str(tmp_path / "plain")])
    assert result.exit_code != 0 and "not a Maildir folder" in result.output
    assert counts() == (0, 0)


@pytest.fixture
def imap():
    server = ImapServer().start()
    yield server
    server.stop()


def imap_url(server: ImapServer) -> str:
    scheme = "imaps" if server.tls else "imap"
    return (
        f"{scheme}://{quote(server.user)}:{quote(server.password, safe='')}"
        f"@127.0.0.1:{server.port}/INBOX"
    )


def test_imap_poll_flags_what_it_recorded(readers, imap):
    hard, leaving, messages = readers
    uids = [imap.add(raw) for raw in messages]
    tally = poll_imap(imap_url(imap))
    assert (tally.processed, tally.duplicates, tally.failed) == (3, 0, 0)
    check_outcome(hard, leaving)
    for uid in uids:
        assert {"\\Seen", PROCESSED_KEYWORD} <= imap.messages[uid].flags
    assert not any("BODY[]" in c and "PEEK" not in c for c in imap.commands)
    again = poll_imap(imap_url(imap))
    assert (again.processed, again.duplicates) == (0, 0)  # nothing left unflagged
    imap.messages[uids[0]].flags.clear()  # flags lost: the ledger still knows the message
    lost = poll_imap(imap_url(imap))
    assert (lost.processed, lost.duplicates) == (0, 1)
    assert PROCESSED_KEYWORD in imap.messages[uids[0]].flags
    assert counts() == (3, 3)


def test_imap_failure_leaves_the_message_for_the_next_poll(readers, imap, monkeypatch):
    hard, _, messages = readers
    uid = imap.add(messages[0])

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(ingest_module, "apply_classification", broken)
    assert poll_imap(imap_url(imap)).failed == 1
    assert imap.messages[uid].flags == set() and counts() == (0, 0)
    monkeypatch.undo()
    assert poll_imap(imap_url(imap)).processed == 1
    db.session.expire_all()
    assert hard.status == "cleaned"


def poll_in_app(app, url: str):
    """The worker's poll on its own thread, as in `bulletin run` (embedded mode)."""
    with app.app_context():
        return poll_imap(url)


def test_a_slow_message_in_the_imap_poll_leaves_the_web_app_answering(app, client, readers, imap):
    pool = install_slow_pool(app, workers=1, timeout=600)
    with socket.create_server(("127.0.0.1", 0)) as signal, ThreadPoolExecutor(1) as worker:
        signal.settimeout(60)
        uid = imap.add(slow_message(signal_port=signal.getsockname()[1]))
        polling = worker.submit(poll_in_app, app, imap_url(imap))
        signal.accept()[0].close()  # the poll's classifier is now backtracking, for good
        assert client.get("/subscribe").status_code == 200  # the web process still answers
        assert not polling.done()
        pool.close()  # the stuck worker goes; the message waits for the next poll
        tally = polling.result(timeout=60)
    assert (tally.processed, tally.failed) == (0, 1)
    assert imap.messages[uid].flags == set() and counts() == (0, 0)


def test_imap_message_that_times_out_is_recorded_unclassified_and_flagged(app, readers, imap):
    hard, _, messages = readers
    install_slow_pool(app, workers=1, timeout=2)
    uids = [imap.add(slow_message()), imap.add(messages[0])]
    tally = poll_imap(imap_url(imap))
    assert (tally.processed, tally.failed) == (2, 0)
    db.session.expire_all()
    kinds = db.session.execute(
        select(BounceEvent.kind, BounceEvent.source).order_by(BounceEvent.id)
    ).all()
    assert kinds == [("unclassified", "imap"), ("hard", "imap")]
    assert hard.status == "cleaned"  # the next message had a fresh worker
    for uid in uids:
        assert PROCESSED_KEYWORD in imap.messages[uid].flags


def test_worker_job_polls_only_when_configured(app, readers, imap):
    hard, _, messages = readers
    imap.add(messages[0])

    class Worker:
        pass

    worker = Worker()
    worker.app = app
    app.config["BOUNCE_IMAP_URL"] = None
    poll_bounce_mailbox(worker)
    assert imap.commands == []
    app.config["BOUNCE_IMAP_URL"] = imap_url(imap)
    poll_bounce_mailbox(worker)
    db.session.expire_all()
    assert hard.status == "cleaned"


def test_wrong_imap_password_raises_and_changes_nothing(readers, imap):
    imap.add(readers[2][0])
    url = imap_url(imap)
    imap.password = "something else"
    with pytest.raises(Exception, match="login failed"):
        poll_imap(url)
    assert counts() == (0, 0)


def test_imap_url_is_parsed():
    where = parse_imap_url("imaps://bounce%40example.org:p%3Ass@mail.example.org/Bounces")
    assert (where.is_ssl, where.host, where.port, where.user, where.password, where.mailbox) == (
        True,
        "mail.example.org",
        993,
        "bounce@example.org",
        "p:ss",
        "Bounces",
    )
    with pytest.raises(ValueError):
        parse_imap_url("https://mail.example.org/")


# --- imaps:// verifies the server ----------------------------------------------------------


@pytest.fixture
def test_ca(tmp_path):
    return TestCA(tmp_path)


@pytest.fixture
def imaps(test_ca):
    """An imaps:// server whose certificate (for 127.0.0.1) the test CA signed."""
    server = ImapServer(tls=test_ca.server_context("127.0.0.1")).start()
    yield server
    server.stop()


class FakeWorker:
    def __init__(self, app):
        self.app = app


def logged_in(server: ImapServer) -> bool:
    return any(command.startswith("LOGIN") for command in server.commands)


def test_imaps_refuses_a_server_it_cannot_verify(readers, imaps):
    imaps.add(readers[2][0])
    with pytest.raises(ssl.SSLCertVerificationError):
        poll_imap(imap_url(imaps))  # the system's authorities never signed the test CA
    assert not logged_in(imaps) and counts() == (0, 0)


def test_imaps_checks_the_host_name(readers, test_ca):
    server = ImapServer(tls=test_ca.server_context("mail.example.org")).start()
    try:
        with pytest.raises(ssl.SSLCertVerificationError, match="mismatch|match"):
            poll_imap(imap_url(server), ca_file=test_ca.ca_file)  # trusted CA, wrong name
        assert not logged_in(server)
    finally:
        server.stop()


def test_worker_logs_an_unverified_mailbox_and_polls_again_once_trusted(
    app, readers, imaps, test_ca, caplog
):
    hard, _, messages = readers
    imaps.add(messages[0])
    app.config.update(BOUNCE_IMAP_URL=imap_url(imaps), BOUNCE_IMAP_CA_FILE=None)
    worker = FakeWorker(app)
    with caplog.at_level(logging.ERROR, logger="bulletin.bounces.mailboxes"):
        poll_bounce_mailbox(worker)  # logs and returns: the worker's loop goes on
    assert "refused the IMAP server's TLS certificate" in caplog.text
    assert "BOUNCE_IMAP_CA_FILE" in caplog.text and imaps.password not in caplog.text
    assert not logged_in(imaps) and hard.status == "confirmed"
    app.config["BOUNCE_IMAP_CA_FILE"] = test_ca.ca_file
    poll_bounce_mailbox(worker)
    db.session.expire_all()
    assert logged_in(imaps) and hard.status == "cleaned"
