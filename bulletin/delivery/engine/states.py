"""The send states: one thread that re-reads, every REFRESH_SECONDS, whether each send the
engine holds work for is still sending, so a pause or a cancel stops the senders within
that time rather than after the batches already claimed.

It owns its thread and the states (under `_lock`; the senders read a snapshot that is
swapped whole, so their check before each message is a set lookup, never a database
round trip). The dispatcher tells it which sends it claimed from (`hold`), with the moment
its claim read that they were sending; a read that began earlier never overwrites it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable

from flask import Flask
from sqlalchemy import select

from bulletin.extensions import db
from bulletin.models import Send, SendStatus

log = logging.getLogger(__name__)
#: How stale a sender's view of a send's state may be: what the connections send in this
#: time after an editor's pause or cancel, beyond the message each has in hand, still goes.
REFRESH_SECONDS = 0.25
#: A send no claim has named for this long, and seen not sending, is forgotten.
FORGET_SECONDS = 60.0


class SendStates:
    """Which of the held sends may still send, re-read from the database while held."""

    def __init__(self, app: Flask, refresh: float = REFRESH_SECONDS):
        self.app, self.refresh = app, refresh
        self._lock = threading.Lock()
        self._as_of: dict[int, float] = {}  #: send id -> monotonic start of the read (lock)
        self._held_at: dict[int, float] = {}  #: send id -> when a claim last named it (lock)
        self._stopped: frozenset[int] = frozenset()  #: swapped whole under _lock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start re-reading."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="bulk-states", daemon=True)
        self._thread.start()

    def stop(self, timeout: float) -> None:
        """Stop re-reading and wait for the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def may_send(self, send_id: int) -> bool:
        """Whether a sender may send a message of this send now (a set lookup)."""
        return send_id not in self._stopped

    def hold(self, send_ids: Iterable[int], read_at: float) -> None:
        """The dispatcher claimed from these sends after reading, at `read_at` (monotonic),
        that they were sending: watch them."""
        with self._lock:
            for send_id in send_ids:
                self._held_at[send_id] = time.monotonic()
                self._update(send_id, SendStatus.SENDING, read_at)
            self._publish()

    def refresh_now(self) -> None:
        """Read the held sends' states once (the thread calls it; tests may too)."""
        with self._lock:
            ids = sorted(self._held_at)
        if not ids:
            return
        read_at = time.monotonic()
        try:
            rows = db.session.execute(select(Send.id, Send.status).where(Send.id.in_(ids))).all()
        finally:
            db.session.remove()
        states = dict(rows)
        now = time.monotonic()
        with self._lock:
            for send_id in ids:
                # A send that is gone (it cannot be: sends are never deleted) stops too.
                self._update(send_id, states.get(send_id, SendStatus.CANCELLED), read_at)
                stale = now - self._held_at.get(send_id, now) > FORGET_SECONDS
                if stale and states.get(send_id) != SendStatus.SENDING:
                    self._held_at.pop(send_id, None)
                    self._as_of.pop(send_id, None)
            self._publish()

    def _update(self, send_id: int, status: str, read_at: float) -> None:
        # (under _lock) The later read wins: a claim that read "sending" before the editor's
        # cancel must not undo a refresh that read "cancelled" after it.
        if read_at < self._as_of.get(send_id, float("-inf")):
            return
        self._as_of[send_id] = read_at
        stopped = set(self._stopped)
        if status == SendStatus.SENDING:
            stopped.discard(send_id)
        else:
            stopped.add(send_id)
        self._stopped = frozenset(stopped)

    def _publish(self) -> None:
        # (under _lock) Only held sends can be stopped: forget the rest.
        self._stopped = frozenset(s for s in self._stopped if s in self._held_at)

    def _run(self) -> None:
        with self.app.app_context():
            while not self._stop.wait(self.refresh):
                try:
                    self.refresh_now()
                except Exception:
                    log.exception("reading the state of the running sends failed")
