"""Pause and cancel stop a running send within the senders' state refresh: after the editor's
click only the message each SMTP connection has in hand goes, plus at most one per connection
that started before the senders saw the change (REFRESH_SECONDS, shorter than one slowed
message here). Real aiosmtpd slowed per message, real database, the click from another
thread through the core verb (as the editor web, another process, does it)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from bulletin.core.sends import cancel_send, pause_send, resume_send, send_progress
from bulletin.delivery.engine import SendEngine, states
from bulletin.delivery.pipeline import Lease, claim_batch, release, start_due_sends
from bulletin.extensions import db
from bulletin.models import Delivery, Send, SendStatus
from tests.support.delivery_helpers import configure, make_send, seed_subscribers, status_counts
from tests.support.smtp import Handler, SMTPServer

#: Each message takes this long on the server: well over the senders' state refresh.
SLOW_SECONDS = 1.0
CONNECTIONS = 3


@dataclass
class SlowHandler(Handler):
    """Takes SLOW_SECONDS to accept each message; notes when each began (MAIL FROM: the
    sender has handed it to the connection) and ended (accepted)."""

    began: list[float] = field(default_factory=list)
    ended: list[float] = field(default_factory=list)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        with self.lock:
            self.began.append(time.monotonic())
        envelope.mail_from, envelope.mail_options = address, list(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(SLOW_SECONDS)
        reply = await super().handle_DATA(server, session, envelope)
        with self.lock:
            self.ended.append(time.monotonic())
        return reply


@pytest.fixture
def slow_server():
    server = SMTPServer()
    server.handler = SlowHandler()
    server.start()
    yield server
    server.stop()


@dataclass
class Click:
    """What the server had when the editor's change was committed."""

    at: float = 0.0
    received: int = 0
    in_hand: int = 0  #: messages begun (MAIL FROM) and not yet accepted

    def after(self, handler: SlowHandler) -> tuple[int, int, int]:
        """(received after the click, of which in hand at the click, of which begun after)."""
        with handler.lock:
            ended_after = sum(1 for t in handler.ended if t > self.at)
            begun_after = sum(1 for t in handler.began if t > self.at)
        return ended_after, self.in_hand, begun_after


def click(app, server: SMTPServer, send_id: int, verb) -> Click:
    """Apply the editor's verb from another thread (its own session) and note the moment."""
    seen = Click()

    def editor():
        with app.app_context():
            send = db.session.get(Send, send_id)
            verb(send)
            db.session.commit()
            handler = server.handler
            with handler.lock:
                seen.at = time.monotonic()
                seen.received = len(handler.ended)
                seen.in_hand = len(handler.began) - len(handler.ended)
            db.session.remove()

    thread = threading.Thread(target=editor)
    thread.start()
    thread.join(30)
    return seen


def run_until(app, settings, server: SMTPServer, count: int) -> SendEngine:
    engine = SendEngine(app, settings, "stopper").start()
    server.wait_for(count, timeout=60)
    assert len(server.received) >= count
    return engine


def assert_stopped_in_time(seen: Click, server: SMTPServer) -> tuple[int, int, int]:
    after, in_hand, begun_after = seen.after(server.handler)
    # Every connection had at most its message in hand; each may have begun one more
    # before the state refresh told it (a slowed message outlasts a refresh).
    assert in_hand <= CONNECTIONS
    assert begun_after <= CONNECTIONS
    assert after <= in_hand + begun_after <= 2 * CONNECTIONS
    return after, in_hand, begun_after


def figures_add_up(send: Send) -> None:
    db.session.expire_all()
    p = send_progress(db.session.get(Send, send.id))
    assert p.total == send.recipient_count
    assert p.queued + p.sending + p.sent + p.failed + p.skipped + p.cancelled == p.total


@pytest.mark.slow
def test_cancel_mid_send_stops_within_what_the_connections_hold(app, slow_server):
    settings = configure(app, slow_server, SMTP_CONNECTIONS=CONNECTIONS, SEND_BATCH_SIZE=20)
    seed_subscribers(60)
    send = make_send()
    start_due_sends(settings)
    engine = run_until(app, settings, slow_server, 2 * CONNECTIONS)
    seen = click(app, slow_server, send.id, cancel_send)
    engine.drain(timeout=60)  # what it holds goes back; nothing more is claimed
    after, in_hand, begun_after = assert_stopped_in_time(seen, slow_server)
    print(f"cancel: {after} received after the click ({in_hand} in hand, {begun_after} begun)")

    received = len(slow_server.received)
    assert received < 60  # it did stop
    counts = status_counts(send.id)
    # Every message the server took is recorded sent; the rest are cancelled, none waits.
    assert counts == {"sent": received, "cancelled": 60 - received}
    got = Counter(r for m in slow_server.received for r in m.rcpt_tos)
    assert set(got.values()) == {1}
    db.session.expire_all()
    assert db.session.get(Send, send.id).status == SendStatus.CANCELLED
    figures_add_up(send)


@pytest.mark.slow
def test_pause_mid_send_hands_the_claimed_back_and_resume_sends_each_once(app, slow_server):
    settings = configure(app, slow_server, SMTP_CONNECTIONS=CONNECTIONS, SEND_BATCH_SIZE=20)
    seed_subscribers(24)
    send = make_send()
    start_due_sends(settings)
    engine = run_until(app, settings, slow_server, 2 * CONNECTIONS)
    seen = click(app, slow_server, send.id, pause_send)
    engine.drain(timeout=60)
    after, in_hand, begun_after = assert_stopped_in_time(seen, slow_server)
    print(f"pause: {after} received after the click ({in_hand} in hand, {begun_after} begun)")

    received = len(slow_server.received)
    counts = status_counts(send.id)
    # The claimed but unsent went back to the queue, unclaimed.
    assert counts == {"sent": received, "queued": 24 - received}
    assert db.session.scalar(select(Delivery.id).where(Delivery.claimed_by.is_not(None))) is None
    figures_add_up(send)

    click(app, slow_server, send.id, resume_send)
    SendEngine(app, settings, "stopper").drain(timeout=120)
    assert status_counts(send.id) == {"sent": 24}
    got = Counter(r for m in slow_server.received for r in m.rcpt_tos)
    assert len(got) == 24 and set(got.values()) == {1}


def test_a_hand_back_after_a_cancel_is_cancelled_and_after_a_pause_queued(app):
    settings = configure(app)
    seed_subscribers(4)
    paused, cancelled = make_send(), make_send()
    start_due_sends(settings)
    claimed = claim_batch("w", settings, 8)
    assert len(claimed) == 8
    pause_send(db.session.get(Send, paused.id))
    cancel_send(db.session.get(Send, cancelled.id))
    db.session.commit()
    lease = Lease("w", claimed[0].claimed_until)
    assert release([r.delivery_id for r in claimed], lease) == 8
    assert status_counts(paused.id) == {"queued": 4}
    assert status_counts(cancelled.id) == {"cancelled": 4}


def test_the_states_thread_lets_a_later_read_win(app):
    settings = configure(app)
    seed_subscribers(2)
    send = make_send()
    start_due_sends(settings)
    send_id = send.id  # refresh_now() ends this thread's session, as in its own thread
    watch = states.SendStates(app)
    before = time.monotonic()
    watch.hold([send_id], before)
    assert watch.may_send(send_id)
    cancel_send(db.session.get(Send, send_id))
    db.session.commit()
    watch.refresh_now()
    assert not watch.may_send(send_id)
    # A claim that read "sending" before the cancel does not undo the later read.
    watch.hold([send_id], before)
    assert not watch.may_send(send_id)
    # A later claim's read ("sending" again after a resume would) does.
    watch.hold([send_id], time.monotonic())
    assert watch.may_send(send_id)
