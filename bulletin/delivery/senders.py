"""The senders: one dispatcher claims leased batches, N sender threads (one SMTP connection
each) personalise and send, one recorder writes results back in small batches.

Only the dispatcher and the recorder talk to the database, a few times a second; the
senders never do. The recorder flushes every `batch_size` outcomes or half a second: the
outcomes not yet flushed are what a crash may send twice (`max_unrecorded` reports it).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask

from bulletin.mail.messages import Personal

from bulletin.extensions import db
from bulletin.delivery.backends import MailBackend, make_backend
from bulletin.delivery.pipeline import (
    Outcome,
    Recipient,
    claim_batch,
    record_results,
    release,
    sent_in_last_hour,
)
from bulletin.mail.settings import DeliverySettings
from bulletin.delivery.templates import TemplateCache

log = logging.getLogger(__name__)
FLUSH_SECONDS = 0.5


class RateLimiter:
    """Token bucket shared by the sender threads of one worker (0: no limit)."""

    def __init__(self, per_second: float):
        self.per_second = per_second
        self.lock = threading.Lock()
        self.next_at = time.monotonic()

    def wait(self, stop: threading.Event) -> None:
        if self.per_second <= 0:
            return
        with self.lock:
            now = time.monotonic()
            at = max(self.next_at, now)
            self.next_at = at + 1.0 / self.per_second
        if at > now:
            stop.wait(at - now)


@dataclass
class Item:
    recipient: Recipient
    deadline: float  #: monotonic time the lease runs out; after it, do not send


@dataclass
class Counters:
    sent: int = 0
    unrecorded: int = 0  #: sent, result not yet written: what a crash may repeat
    unflushed: int = 0  #: results and hand-backs not yet written
    max_unrecorded: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class SendEngine:
    """Long-lived sender threads for one worker process."""

    def __init__(self, app: Flask, settings: DeliverySettings, name: str,
                 backend_factory: Callable[[], MailBackend] | None = None):
        self.app, self.settings, self.name = app, settings, name
        self.backend_factory = backend_factory or (lambda: make_backend(
            settings.smtp_url, settings.outbox_dir, settings.smtp_timeout))
        self.connections = max(1, settings.smtp_connections)
        # Claim a batch when the queue runs low: senders never wait on the database.
        self.low_water = max(settings.batch_size // 2, self.connections * 4)
        self.work: queue.Queue[Item] = queue.Queue(maxsize=self.low_water + settings.batch_size)
        #: Outcomes and handed-back ids; a deque (append/popleft are atomic) because the
        #: recorder wakes on a timer anyway, so a Queue's per-item locking buys nothing.
        self.results: deque[Outcome | int] = deque()
        self.stop_event = threading.Event()
        self.idle = threading.Event()  #: set when a claim found nothing to do
        self.need_work = threading.Event()  #: set by senders when the queue runs low
        self.rate = RateLimiter(settings.rate_per_second)
        self.templates = TemplateCache(settings)
        self.counters = Counters()
        self.down_until = 0.0
        self.down_failures = 0
        self.threads: list[threading.Thread] = []
        self.senders: list[threading.Thread] = []
        self.busy: set[int] = set()  #: sender threads holding a message

    def start(self) -> SendEngine:
        """Start the dispatcher, the senders and the recorder."""
        self.senders = [threading.Thread(target=self._send, name=f"bulk-sender-{i}", daemon=True)
                        for i in range(self.connections)]
        others = [threading.Thread(target=self._dispatch, name="bulk-dispatch", daemon=True),
                  threading.Thread(target=self._record, name="bulk-record", daemon=True)]
        for thread in self.senders + others:
            thread.start()
        # Stop order: the dispatcher, then the senders, then the recorder flushes the rest.
        self.threads = [others[0], *self.senders, others[1]]
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the message in hand, hand back the rest, record everything, stop."""
        self.stop_event.set()
        for thread in self.threads:
            thread.join(timeout)
        self.threads = []

    def _quiet(self) -> bool:
        return self.work.empty() and not self.busy and self.counters.unflushed == 0

    def drain(self, timeout: float = 600.0) -> None:
        """Start, send until nothing is claimable and everything is recorded, then stop."""
        if not self.threads:
            self.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.idle.clear()
            # Idle only counts when a claim found nothing after everything was recorded.
            if self.idle.wait(max(0.0, deadline - time.monotonic())) and self._quiet():
                self.idle.clear()
                if self.idle.wait(max(0.0, deadline - time.monotonic())) and self._quiet():
                    break
        self.stop()

    # The dispatcher ------------------------------------------------------------------
    def _dispatch(self) -> None:
        with self.app.app_context():
            while not self.stop_event.is_set():
                try:
                    claimed = self._claim()
                except Exception:
                    log.exception("claiming deliveries failed")
                    db.session.rollback()
                    claimed = 0
                finally:
                    db.session.remove()
                if claimed == 0:
                    self.idle.set()
                    self.stop_event.wait(min(self.settings.tick_seconds, 1.0))
                elif claimed < 0:
                    self._wait_for_room()

    def _wait_for_room(self) -> None:
        """Queue full: sleep until a sender says it runs low (a fixed sleep here capped the
        whole engine's rate); server down: look again shortly."""
        if time.monotonic() < self.down_until:
            self.stop_event.wait(0.05)
            return
        self.need_work.clear()
        if self.work.qsize() > self.low_water:
            self.need_work.wait(0.5)

    def _claim(self) -> int:
        if time.monotonic() < self.down_until or self.work.qsize() > self.low_water:
            return -1  # busy or paused: not idle, nothing claimed
        limit = self._claim_limit()
        if limit <= 0:
            return 0
        recipients = claim_batch(self.name, self.settings, limit)
        if not recipients:
            return 0
        self.idle.clear()
        # A sender must not send once the lease may have passed to another worker.
        deadline = time.monotonic() + self.settings.lease_seconds * 0.8
        for recipient in recipients:
            self.work.put(Item(recipient, deadline))
        return len(recipients)

    def _claim_limit(self) -> int:
        s = self.settings
        limit = min(s.batch_size, self.work.maxsize - self.work.qsize())
        if s.rate_per_second > 0:  # claim no more than can go before the lease ends
            limit = min(limit, max(1, int(s.rate_per_second * s.lease_seconds / 2)))
        if s.rate_per_hour > 0:
            limit = min(limit, int(s.rate_per_hour) - sent_in_last_hour())
        return limit

    # The senders ---------------------------------------------------------------------
    def _send(self) -> None:
        backend = self.backend_factory()
        try:
            with self.app.app_context():
                while True:
                    try:
                        item = self.work.get(timeout=0.1)
                    except queue.Empty:
                        if self.stop_event.is_set():
                            return
                        continue
                    self.busy.add(threading.get_ident())
                    if self.work.qsize() <= self.low_water:
                        self.need_work.set()
                    try:
                        if self.stop_event.is_set():
                            self._hand_back(item.recipient.delivery_id)
                        else:
                            self._send_one(backend, item)
                    except Exception:
                        log.exception("sending delivery %s failed", item.recipient.delivery_id)
                        self._hand_back(item.recipient.delivery_id)
                        self.stop_event.wait(1.0)
                    finally:
                        self.busy.discard(threading.get_ident())
        finally:
            backend.close()

    def _send_one(self, backend: MailBackend, item: Item) -> None:
        r = item.recipient
        if time.monotonic() >= item.deadline or time.monotonic() < self.down_until:
            self._hand_back(r.delivery_id)
            return
        self.rate.wait(self.stop_event)
        try:
            built = self.templates.get(r.send_id, r.language).personalise(
                Personal(r.delivery_id, r.uid, r.email, r.name))
        except ValueError as exc:
            self._outcome(Outcome(r.delivery_id, r.email, ok=False, code=550, reply=str(exc)))
            return
        result = backend.send(built.message, built.sender, [built.recipient])
        if result.connection_error:
            self._server_down(result.reply)
            self._hand_back(r.delivery_id)
            return
        self.down_failures = 0
        self._outcome(Outcome(r.delivery_id, r.email, result.ok, result.code, result.reply,
                              result.enhanced_status))

    def _outcome(self, outcome: Outcome) -> None:
        c = self.counters
        with c.lock:
            c.unrecorded += 1
            c.unflushed += 1
            c.max_unrecorded = max(c.max_unrecorded, c.unrecorded)
        self.results.append(outcome)

    def _hand_back(self, delivery_id: int) -> None:
        with self.counters.lock:
            self.counters.unflushed += 1
        self.results.append(delivery_id)

    def _server_down(self, reply: str) -> None:
        now = time.monotonic()
        if now >= self.down_until:  # one step of backoff per outage, not per thread
            self.down_failures += 1
            pause = min(self.settings.smtp_down_pause_seconds * 2 ** (self.down_failures - 1),
                        300.0)
            self.down_until = now + pause
            log.warning("SMTP server unreachable (%s): pausing %.1f s", reply, pause)

    # The recorder --------------------------------------------------------------------
    def _record(self) -> None:
        with self.app.app_context():
            pending: list[Outcome] = []
            handed_back: list[int] = []
            first_at = 0.0
            while True:
                stopping = self.stop_event.is_set() and not any(
                    t.is_alive() for t in self.senders)
                took = self._take_results(pending, handed_back)
                if took and len(pending) + len(handed_back) == took:
                    first_at = time.monotonic()
                waiting = pending or handed_back
                full = len(pending) >= self.settings.batch_size
                late = waiting and time.monotonic() - first_at >= FLUSH_SECONDS
                if full or late or (stopping and waiting):
                    self._flush(pending, handed_back)
                    pending, handed_back = [], []
                elif stopping and not self.results:
                    return
                elif not took:
                    time.sleep(0.02)

    def _take_results(self, pending: list[Outcome], handed_back: list[int]) -> int:
        """Move what the senders left into the two lists; how many were taken."""
        took = 0
        while self.results and len(pending) < self.settings.batch_size:
            entry = self.results.popleft()
            (pending if isinstance(entry, Outcome) else handed_back).append(entry)
            took += 1
        return took

    def _flush(self, pending: list[Outcome], handed_back: list[int]) -> None:
        for attempt in range(5):
            try:
                if pending:
                    record_results(pending, self.settings)
                if handed_back:
                    release(handed_back)
                break
            except Exception:
                log.exception("recording %d result(s) failed (attempt %d)", len(pending),
                              attempt + 1)
                db.session.rollback()
                time.sleep(0.5 * (attempt + 1))
            finally:
                db.session.remove()
        c = self.counters
        with c.lock:
            c.unrecorded -= len(pending)
            c.unflushed -= len(pending) + len(handed_back)
            c.sent += sum(1 for o in pending if o.ok)
