"""A real `bulletin worker` told to stop (SIGTERM) mid-send hands back what it holds at once."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections import Counter

import pytest
from sqlalchemy import func, select

from bulletin.extensions import db
from bulletin.models import Delivery, DeliveryStatus, Send, SendStatus
from tests.support.delivery_helpers import make_send, seed_subscribers, status_counts
from tests.support.processes import start_worker_process, wait_until
from tests.support.smtp import Handler, SMTPServer

N = 600


class SlowHandler(Handler):
    """A server that takes `delay` seconds to accept each message."""

    delay: float = 0.05

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)


def start_worker(database_url: str, smtp_url: str, tmp_path, **extra) -> subprocess.Popen:
    """A worker process with this file's settings (two connections and batches of 100)."""
    settings = dict(SMTP_CONNECTIONS=2, SEND_BATCH_SIZE=100)
    return start_worker_process(database_url, smtp_url, tmp_path, **(settings | extra))


def counts(send_id: int) -> dict[str, int]:
    db.session.expire_all()
    got = status_counts(send_id)
    db.session.commit()
    return got


def send_is_done(send_id: int) -> bool:
    db.session.expire_all()
    done = db.session.get(Send, send_id).status == SendStatus.DONE
    db.session.commit()
    return done


def kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
        process.wait(30)


@pytest.mark.slow
def test_a_worker_stopped_mid_send_hands_its_leases_back_at_once(app, database_url, tmp_path):
    server = SMTPServer()
    server.handler = SlowHandler()
    server.start()
    seed_subscribers(N)
    send = make_send()
    # A lease of ten minutes: whatever is not handed back stays 'sending' past the test.
    first = start_worker(database_url, server.url, tmp_path, SEND_LEASE_SECONDS=600)
    try:
        server.wait_for(40, timeout=120)
        wait_until(
            lambda: counts(send.id).get(DeliveryStatus.SENDING, 0) >= 50,
            60,
            "the worker to hold a batch",
        )
        assert len(server.received) < N, "the worker finished before it could be stopped"
        stopped_at = time.monotonic()
        first.send_signal(signal.SIGTERM)
        code = first.wait(30)
        took = time.monotonic() - stopped_at
    finally:
        kill(first)
    assert code == 0
    assert took < 15, f"the worker took {took:.1f} s to stop"
    received = Counter(r for m in server.received for r in m.rcpt_tos)
    after_stop = counts(send.id)
    # Nothing held: what was sent is recorded as sent, the rest is queued with no claim.
    assert DeliveryStatus.SENDING not in after_stop, after_stop
    assert after_stop.get(DeliveryStatus.SENT, 0) == len(received)
    assert after_stop.get(DeliveryStatus.QUEUED, 0) == N - len(received) > 0
    assert (
        db.session.scalar(
            select(func.count()).where(
                Delivery.send_id == send.id, Delivery.claimed_by.is_not(None)
            )
        )
        == 0
    )
    db.session.commit()

    server.handler.delay = 0.0
    second = start_worker(database_url, server.url, tmp_path)
    try:
        wait_until(lambda: send_is_done(send.id), 120, "the send to finish")
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)
        kill(second)
        server.stop()
    got = Counter(r for m in server.received for r in m.rcpt_tos)
    assert len(got) == N and set(got.values()) == {1}
    assert counts(send.id) == {DeliveryStatus.SENT: N}
