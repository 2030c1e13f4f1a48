"""The recorder: one thread that writes outcomes and hand-backs to the database in batches.

It owns the inbox (senders put, only it takes), the entries waiting to be written (only
its thread touches them), the counters (under `counters.lock`: senders add, it subtracts),
and the `healthy` event with the `claim_gate` lock. It writes every `batch_size` entries
or half a second: what is sent but not yet written is what a crash may send twice
(`max_unrecorded` reports it).

When a write fails it keeps everything, clears `healthy` (the dispatcher then claims
nothing more: more claims would only grow what is at risk) and retries with a capped
backoff until the write succeeds, or until it has been told to stop and a grace period
has passed; then it logs the ids it could not record. It never drops an outcome as if
it were written: that left rows `sending` until their lease ran out and sent them again.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

from flask import Flask

from bulletin.delivery.pipeline import Lease, Outcome, record_results, release
from bulletin.extensions import db
from bulletin.mail.settings import DeliverySettings

log = logging.getLogger(__name__)
FLUSH_SECONDS = 0.5
#: After a failed write: the first pause before retrying, doubled each time up to the cap.
RETRY_FIRST_SECONDS = 0.25
RETRY_MAX_SECONDS = 30.0
#: Once told to stop, how long it keeps retrying before it logs what stays unrecorded.
STOP_GRACE_SECONDS = 10.0


@dataclass(frozen=True)
class HandBack:
    """A claimed delivery not sent (server down, lease near its end, stopping)."""

    delivery_id: int
    claimed_until: datetime  #: the lease of the claim: the hand-back is fenced on it


@dataclass
class Counters:
    sent: int = 0
    unrecorded: int = 0  #: sent, result not yet written: what a crash may repeat
    unflushed: int = 0  #: results and hand-backs not yet written
    max_unrecorded: int = 0
    failed_writes: int = 0  #: writes that failed, in all
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Waiting:
    """Entries taken from the inbox and not yet written (the recorder thread's alone)."""

    outcomes: list[Outcome] = field(default_factory=list)
    handed_back: list[HandBack] = field(default_factory=list)
    first_at: float = 0.0  #: monotonic time the oldest entry was taken

    def __len__(self) -> int:
        return len(self.outcomes) + len(self.handed_back)


class Recorder:
    """Writes what the senders report; pauses the dispatcher while it cannot."""

    def __init__(self, app: Flask, settings: DeliverySettings, name: str):
        self.app, self.settings, self.name = app, settings, name
        self.inbox: queue.SimpleQueue[Outcome | HandBack] = queue.SimpleQueue()
        self.counters = Counters()
        #: Set while writes succeed. Cleared (under claim_gate) when one fails; the
        #: dispatcher checks it under the same lock before each claim.
        self.healthy = threading.Event()
        self.healthy.set()
        self.claim_gate = threading.Lock()
        self._failures = 0  #: failed writes in a row (recorder thread only)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the recorder thread."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="bulk-record", daemon=True)
        self._thread.start()

    def stop(self, timeout: float) -> None:
        """Write what is left (call it once the senders stopped), then end the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def add(self, entry: Outcome | HandBack) -> None:
        """Called by the senders: an outcome or a hand-back to write."""
        c = self.counters
        with c.lock:
            c.unflushed += 1
            if isinstance(entry, Outcome):
                c.unrecorded += 1
                c.max_unrecorded = max(c.max_unrecorded, c.unrecorded)
        self.inbox.put(entry)

    def unflushed(self) -> int:
        """Results and hand-backs not yet written."""
        with self.counters.lock:
            return self.counters.unflushed

    # The recorder thread ------------------------------------------------------------------
    def _run(self) -> None:
        with self.app.app_context():
            waiting = Waiting()
            give_up_at = None
            while True:
                stopping = self._stop.is_set()
                if stopping and give_up_at is None:
                    give_up_at = time.monotonic() + STOP_GRACE_SECONDS
                took = self._take(waiting, 0.0 if stopping or waiting else 0.05)
                if waiting and self._due(waiting, stopping):
                    if self._write_all(waiting):
                        continue
                    if stopping and time.monotonic() >= give_up_at:
                        self._log_unrecorded(waiting)
                        return
                    self._pause(stopping, give_up_at)
                elif stopping and not took:
                    return
                elif not took and waiting:
                    time.sleep(0.02)

    def _due(self, waiting: Waiting, stopping: bool) -> bool:
        full = len(waiting) >= self.settings.batch_size
        late = time.monotonic() - waiting.first_at >= FLUSH_SECONDS
        return full or late or stopping or self._failures > 0

    def _take(self, waiting: Waiting, timeout: float) -> int:
        """Move entries from the inbox until a batch is waiting; how many were taken."""
        took = 0
        while len(waiting) < self.settings.batch_size:
            try:
                entry = (
                    self.inbox.get(timeout=timeout)
                    if timeout and not took
                    else self.inbox.get_nowait()
                )
            except queue.Empty:
                break
            if not waiting:
                waiting.first_at = time.monotonic()
            if isinstance(entry, Outcome):
                waiting.outcomes.append(entry)
            else:
                waiting.handed_back.append(entry)
            took += 1
        return took

    def _write_all(self, waiting: Waiting) -> bool:
        """Write what is waiting, a batch per transaction; False when a write failed."""
        size = self.settings.batch_size
        while waiting:
            outcomes, handed_back = waiting.outcomes[:size], waiting.handed_back[:size]
            try:
                self._write(outcomes, handed_back)
            except Exception:
                self._failed(waiting)
                return False
            del waiting.outcomes[:size], waiting.handed_back[:size]
            self._written(outcomes, handed_back)
        return True

    def _write(self, outcomes: list[Outcome], handed_back: list[HandBack]) -> None:
        try:
            if outcomes:
                record_results(outcomes, self.settings, self.name, commit=False)
            leases: dict[datetime, list[int]] = {}
            for entry in handed_back:
                leases.setdefault(entry.claimed_until, []).append(entry.delivery_id)
            for until, ids in leases.items():
                release(ids, Lease(self.name, until), commit=False)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        finally:
            db.session.remove()

    def _written(self, outcomes: list[Outcome], handed_back: list[HandBack]) -> None:
        c = self.counters
        with c.lock:
            c.unrecorded -= len(outcomes)
            c.unflushed -= len(outcomes) + len(handed_back)
            c.sent += sum(1 for o in outcomes if o.ok)
        if self._failures:
            log.warning(
                "recording works again after %d failed attempt(s): claiming resumes", self._failures
            )
            self._failures = 0
            self.healthy.set()

    def _failed(self, waiting: Waiting) -> None:
        self._failures += 1
        with self.counters.lock:
            self.counters.failed_writes += 1
        with self.claim_gate:  # no claim may start after this without seeing it
            self.healthy.clear()
        log.error(
            "recording %d result(s) and %d hand-back(s) failed (attempt %d): claiming "
            "is paused and nothing is dropped; retrying",
            len(waiting.outcomes),
            len(waiting.handed_back),
            self._failures,
            exc_info=self._failures == 1,
        )

    def _pause(self, stopping: bool, give_up_at: float | None) -> None:
        delay = min(RETRY_FIRST_SECONDS * 2 ** (self._failures - 1), RETRY_MAX_SECONDS)
        if stopping and give_up_at is not None:
            time.sleep(max(0.0, min(delay, give_up_at - time.monotonic())))
        else:
            self._stop.wait(delay)

    def _log_unrecorded(self, waiting: Waiting) -> None:
        while True:  # everything the senders left, not only the batch in hand
            try:
                entry = self.inbox.get_nowait()
            except queue.Empty:
                break
            (waiting.outcomes if isinstance(entry, Outcome) else waiting.handed_back).append(entry)
        # Ids only: no address goes into the log.
        sent = [o.delivery_id for o in waiting.outcomes if o.ok]
        refused = [o.delivery_id for o in waiting.outcomes if not o.ok]
        log.error(
            "stopping with %d result(s) and %d hand-back(s) NOT recorded after %d "
            "failed attempt(s); these rows stay 'sending' until their lease runs out "
            "and the sent ones will then go again. Sent: %s; refused: %s; handed back: %s",
            len(waiting.outcomes),
            len(waiting.handed_back),
            self._failures,
            sent,
            refused,
            [h.delivery_id for h in waiting.handed_back],
        )
