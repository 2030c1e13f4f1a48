"""The sender pool: N threads, each holding one SMTP connection, sending claimed items.

The pool owns the work queue (the dispatcher puts, the senders get), the `need_work`
event (senders set it when the queue runs low; the dispatcher clears and waits on it),
the rate limiter, and the server-down backoff, which every sender reads and writes and so
sits under `_lock`. Each sender owns its backend. Before each message a sender asks the send
states (states.py) whether its send is still sending: a paused or cancelled send's claimed
items go back unsent, and only the message in a connection's hands still goes. What a sender
learns goes to the recorder, as an Outcome (the server answered) or a HandBack (not sent:
give it back).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask

from bulletin.delivery.backends import MailBackend
from bulletin.delivery.engine.recorder import HandBack, Recorder
from bulletin.delivery.engine.states import SendStates
from bulletin.delivery.pipeline import Outcome, Recipient
from bulletin.delivery.templates import TemplateCache
from bulletin.mail.messages import Personal
from bulletin.mail.settings import DeliverySettings

log = logging.getLogger(__name__)


class RateLimiter:
    """Token bucket shared by the sender threads of one worker (0: no limit)."""

    def __init__(self, per_second: float):
        self.per_second = per_second
        self.lock = threading.Lock()
        self.next_at = time.monotonic()  #: guarded by lock

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


class SenderPool:
    """Sender threads fed by the dispatcher through a bounded queue."""

    def __init__(
        self,
        app: Flask,
        settings: DeliverySettings,
        backend_factory: Callable[[], MailBackend],
        recorder: Recorder,
        states: SendStates,
    ):
        self.app, self.settings, self.recorder = app, settings, recorder
        self.states = states
        self.backend_factory = backend_factory
        self.connections = max(1, settings.smtp_connections)
        # The dispatcher claims when the queue runs low: senders never wait on the database.
        self.low_water = max(settings.batch_size // 2, self.connections * 4)
        self.work: queue.Queue[Item] = queue.Queue(maxsize=self.low_water + settings.batch_size)
        self.need_work = threading.Event()
        self.rate = RateLimiter(settings.rate_per_second)
        self.templates = TemplateCache(settings)
        self._stop = threading.Event()
        self._lock = threading.Lock()  #: guards the two fields below
        self._down_until = 0.0  #: monotonic time until which the server counts as down
        self._down_failures = 0  #: outages in a row, for the backoff
        self._threads: list[threading.Thread] = []

    # Used by the dispatcher and the engine ----------------------------------------------
    def start(self) -> None:
        """Start the sender threads."""
        self._stop.clear()
        self._threads = [
            threading.Thread(target=self._run, name=f"bulk-sender-{i}", daemon=True)
            for i in range(self.connections)
        ]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float) -> None:
        """Finish the message in hand, hand back what is queued, close the connections."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        if any(thread.is_alive() for thread in self._threads):
            log.error(
                "a sender thread did not stop within %.0f s: its message in hand is "
                "unrecorded and will be sent again when its lease runs out",
                timeout,
            )
        self._threads = []
        self._hand_back_queued()

    def put(self, item: Item) -> None:
        """Queue a claimed item for the senders."""
        self.work.put(item)

    def queued(self) -> int:
        """Items waiting for a sender."""
        return self.work.qsize()

    def room(self) -> int:
        """How many more items the queue takes."""
        return self.work.maxsize - self.work.qsize()

    def unfinished(self) -> int:
        """Items queued or in a sender's hands (an item is finished once its outcome or
        hand-back is with the recorder)."""
        with self.work.mutex:
            return self.work.unfinished_tasks

    def is_down(self) -> bool:
        """Whether the SMTP server was found unreachable and the pause has not run out."""
        with self._lock:
            return time.monotonic() < self._down_until

    # The senders --------------------------------------------------------------------------
    def _run(self) -> None:
        backend = self.backend_factory()
        try:
            with self.app.app_context():
                while True:
                    try:
                        item = self.work.get(timeout=0.1)
                    except queue.Empty:
                        if self._stop.is_set():
                            return
                        continue
                    try:
                        self._handle(backend, item)
                    finally:
                        self.work.task_done()
        finally:
            backend.close()

    def _handle(self, backend: MailBackend, item: Item) -> None:
        if self.work.qsize() <= self.low_water:
            self.need_work.set()
        try:
            if self._stop.is_set():
                self._hand_back(item.recipient)
            else:
                self._send_one(backend, item)
        except Exception:
            log.exception("sending delivery %s failed", item.recipient.delivery_id)
            self._hand_back(item.recipient)
            self._stop.wait(1.0)

    def _send_one(self, backend: MailBackend, item: Item) -> None:
        r = item.recipient
        if not self.states.may_send(r.send_id):  # paused or cancelled: not even a rate token
            self._hand_back(r)
            return
        self.rate.wait(self._stop)
        # After the rate limit's wait: that wait may have used up what was left of the lease,
        # and the editor may have paused or cancelled the send.
        if (
            time.monotonic() >= item.deadline
            or self.is_down()
            or not self.states.may_send(r.send_id)
        ):
            self._hand_back(r)
            return
        try:
            built = self.templates.get(r.send_id, r.language).personalise(
                Personal(r.delivery_id, r.uid, r.email, r.name, r.region, r.topics)
            )
        except ValueError as exc:
            self.recorder.add(
                Outcome(
                    r.delivery_id,
                    r.email,
                    ok=False,
                    code=550,
                    reply=str(exc),
                    claimed_until=r.claimed_until,
                )
            )
            return
        result = backend.send(built.message, built.sender, [built.recipient])
        if result.connection_error:
            self.server_down(result.reply)
            self._hand_back(r)
            return
        self._server_up()
        self.recorder.add(
            Outcome(
                r.delivery_id,
                r.email,
                result.ok,
                result.code,
                result.reply,
                result.enhanced_status,
                r.claimed_until,
            )
        )

    def _hand_back(self, r: Recipient) -> None:
        self.recorder.add(HandBack(r.delivery_id, r.claimed_until))

    def _hand_back_queued(self) -> None:
        # After the senders stopped (or gave up waiting for them): give back what is left.
        while True:
            try:
                item = self.work.get_nowait()
            except queue.Empty:
                return
            self._hand_back(item.recipient)
            self.work.task_done()

    def server_down(self, reply: str) -> None:
        """Pause sending: one step of backoff per outage, not per thread."""
        with self._lock:
            now = time.monotonic()
            if now < self._down_until:
                return
            self._down_failures += 1
            pause = min(
                self.settings.smtp_down_pause_seconds * 2 ** (self._down_failures - 1), 300.0
            )
            self._down_until = now + pause
        log.warning("SMTP server unreachable (%s): pausing %.1f s", reply, pause)

    def _server_up(self) -> None:
        if self._down_failures:  # a read needs no lock; the write takes it
            with self._lock:
                self._down_failures = 0
