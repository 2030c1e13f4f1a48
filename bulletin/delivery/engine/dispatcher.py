"""The dispatcher: one thread that claims leased batches and feeds the sender pool.

It owns its thread, its stop event and the `idle` event (set when a claim found nothing,
cleared by drain() as it starts a new wait). It claims nothing while the recorder says
recording fails: the check and the claim happen under the recorder's claim gate, so no
claim can slip in after the recorder has reported a failure. It tells the send states
which sends it claimed from, so the senders' check before each message watches them.
"""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask

from bulletin.delivery.engine.pool import Item, SenderPool
from bulletin.delivery.engine.recorder import Recorder
from bulletin.delivery.engine.states import SendStates
from bulletin.delivery.pipeline import ClaimCursor, claim_batch, sent_in_last_hour
from bulletin.extensions import db
from bulletin.mail.settings import DeliverySettings

log = logging.getLogger(__name__)
#: What _claim returns when it claimed nothing but the engine is busy or paused (not idle).
BUSY = -1


class Dispatcher:
    """Claims batches with a lease and puts them on the pool's work queue."""

    def __init__(
        self,
        app: Flask,
        settings: DeliverySettings,
        name: str,
        pool: SenderPool,
        recorder: Recorder,
        states: SendStates,
    ):
        self.app, self.settings, self.name = app, settings, name
        self.pool, self.recorder, self.states = pool, recorder, states
        self.idle = threading.Event()
        self.cursor = ClaimCursor()  #: where the next claim starts (dispatcher thread only)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start claiming."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="bulk-dispatch", daemon=True)
        self._thread.start()

    def stop(self, timeout: float) -> None:
        """Stop claiming and wait for the thread (what it claimed stays queued for the pool)."""
        self._stop.set()
        self.pool.need_work.set()  # wake it if it waits for room
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        with self.app.app_context():
            while not self._stop.is_set():
                try:
                    claimed = self._claim_unless_failing()
                except Exception:
                    log.exception("claiming deliveries failed")
                    db.session.rollback()
                    claimed = 0
                finally:
                    db.session.remove()
                if claimed == 0:
                    self.idle.set()
                    self._stop.wait(min(self.settings.tick_seconds, 1.0))
                elif claimed == BUSY:
                    self._wait_for_room()

    def _claim_unless_failing(self) -> int:
        with self.recorder.claim_gate:
            if not self.recorder.healthy.is_set():
                return BUSY  # results wait to be written: claim nothing more until they are
            return self._claim()

    def _wait_for_room(self) -> None:
        """Queue full: sleep until a sender says it runs low (a fixed sleep here capped the
        whole engine's rate); server down or recording failing: look again shortly."""
        if not self.recorder.healthy.is_set():
            self.recorder.healthy.wait(0.25)
            return
        if self.pool.is_down():
            self._stop.wait(0.05)
            return
        self.pool.need_work.clear()
        if self.pool.queued() > self.pool.low_water:
            self.pool.need_work.wait(0.5)

    def _claim(self) -> int:
        if self.pool.is_down() or self.pool.queued() > self.pool.low_water:
            return BUSY
        limit = self._claim_limit()
        if limit <= 0:
            return 0
        # The lease runs from the claim's statement, so the deadline counts from before it: a
        # slow claim must not leave senders believing they hold the rows longer than they do.
        claimed_at = time.monotonic()
        recipients = claim_batch(self.name, self.settings, limit, self.cursor)
        if not recipients:
            return 0
        self.idle.clear()
        # The claim read after claimed_at that these sends were sending: watch them from then.
        self.states.hold({r.send_id for r in recipients}, claimed_at)
        # A sender must not send once the lease may have passed to another worker.
        deadline = claimed_at + self.settings.lease_seconds * 0.8
        for recipient in recipients:
            self.pool.put(Item(recipient, deadline))
        return len(recipients)

    def _claim_limit(self) -> int:
        s = self.settings
        limit = min(s.batch_size, self.pool.room())
        if s.rate_per_second > 0:  # claim no more than can go before the lease ends
            limit = min(limit, max(1, int(s.rate_per_second * s.lease_seconds / 2)))
        if s.rate_per_hour > 0:
            limit = min(limit, int(s.rate_per_hour) - sent_in_last_hour())
        return limit
