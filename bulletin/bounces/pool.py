"""Classify inbound mail in worker processes, each message with a time limit.

The classifier is pure Python and holds the GIL while it works: in a thread, one crafted message
would stop every other thread of the process (the bounce server's event loop, or the web app when
the worker polls IMAP inside `bulletin run`). A worker process holds only its own GIL, and one that
overruns its time limit is killed and replaced; the message is recorded as unclassified.

concurrent.futures.ProcessPoolExecutor cannot kill one stuck worker before Python 3.14 (killing the
whole pool would fail every other session's message in flight), hence this small pool of
long-lived processes, each answering one message at a time over a pipe.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection

from flask import Flask, current_app

from bulletin.bounces.classify import Classification, classify_message

log = logging.getLogger(__name__)

#: The kind recorded for a message the classifier could not finish (for admins to look at).
UNCLASSIFIED = "unclassified"
#: Where an app keeps its pool (tests put a pool with their own classifier here).
EXTENSION = "bounce_classifier_pool"
#: A worker has this long to start (import the classifier) before its pool gives up on it.
START_SECONDS = 60.0
_READY = "ready"
_CREATE_LOCK = threading.Lock()

Classifier = Callable[[bytes], Classification]


class ClassifierUnavailable(RuntimeError):
    """No worker could take the message (pool closed, or a worker would not start): retry later."""


def _context() -> multiprocessing.context.BaseContext:
    # Never plain fork: the bounce server and the web app have threads (and database
    # connections) that a forked child would inherit half-way. The fork server is a clean,
    # single-threaded process that has imported the classifier once, so replacing a worker is cheap.
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["bulletin.bounces.classify"])
    return context


def _serve(conn: Connection, classifier: Classifier) -> None:
    """A worker's life: classify each message received until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent, which kills us
    conn.send(_READY)
    while True:
        try:
            raw = conn.recv_bytes()
        except EOFError:
            return
        conn.send(classifier(raw))


class _Worker:
    """One worker process and our end of its pipe."""

    def __init__(self, context: multiprocessing.context.BaseContext, classifier: Classifier):
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=_serve, args=(child, classifier), daemon=True, name="bounce-classifier"
        )
        self.process.start()
        child.close()
        try:
            ready = self.conn.poll(START_SECONDS) and self.conn.recv() == _READY
        except (EOFError, OSError):
            ready = False
        if not ready:
            self.stop()
            raise ClassifierUnavailable("a classifier process did not start")

    def classify(self, raw: bytes, timeout: float) -> Classification:
        """The worker's verdict; TimeoutError when late, EOFError when the process died."""
        try:
            self.conn.send_bytes(raw)
        except OSError as error:  # it died while idle: not this message's doing
            raise ClassifierUnavailable("a classifier process had died") from error
        if not self.conn.poll(timeout):
            raise TimeoutError
        return self.conn.recv()

    def stop(self) -> None:
        """Kill the process (it may be stuck in C code that no signal but SIGKILL interrupts)."""
        self.process.kill()
        self.process.join()
        self.conn.close()


class ClassifierPool:
    """At most `workers` messages classified at once, each in a process, each within `timeout`."""

    def __init__(self, *, workers: int, timeout: float, classifier: Classifier = classify_message):
        self.timeout, self.classifier = timeout, classifier
        self._slots = threading.BoundedSemaphore(max(1, workers))
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._closed = False
        self._context = _context()

    def classify(self, raw: bytes) -> Classification:
        """The message's classification, or an "unclassified" one when it took too long."""
        with self._slots:  # a caller past the limit waits for a worker, never for the GIL
            worker = self._checkout()
            try:
                result = worker.classify(raw, self.timeout)
            except TimeoutError:
                self._discard(worker)
                log.warning(
                    "classifying a message took over %g s: recorded as unclassified, "
                    "its worker process replaced",
                    self.timeout,
                )
                return unclassified(f"classification did not finish within {self.timeout:g} s")
            except EOFError:
                self._discard(worker)
                if self._closed:
                    raise ClassifierUnavailable("the classifier pool is closed") from None
                log.warning("a classifier process died on a message: recorded as unclassified")
                return unclassified("the classifier process died on this message")
            except BaseException:
                self._discard(worker)
                raise
            self._checkin(worker)
            return result

    def close(self) -> None:
        """Kill every worker; a message being classified gets ClassifierUnavailable."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            busy = list(self._busy)
        for worker in idle:
            worker.stop()
        for worker in busy:  # its caller sees the pipe close, then tidies up
            worker.process.kill()

    def _checkout(self) -> _Worker:
        with self._lock:
            if self._closed:
                raise ClassifierUnavailable("the classifier pool is closed")
            while self._idle:
                worker = self._idle.pop()
                if worker.process.is_alive():
                    self._busy.add(worker)
                    return worker
                worker.stop()
        worker = _Worker(self._context, self.classifier)  # slow: outside the lock
        with self._lock:
            self._busy.add(worker)
        return worker

    def _checkin(self, worker: _Worker) -> None:
        with self._lock:
            self._busy.discard(worker)
            if not self._closed:
                self._idle.append(worker)
                return
        worker.stop()

    def _discard(self, worker: _Worker) -> None:
        with self._lock:
            self._busy.discard(worker)
        worker.stop()


def unclassified(reason: str) -> Classification:
    """What is recorded for a message the classifier could not finish."""
    return Classification(UNCLASSIFIED, diagnostic=reason)


def classifier_pool(app: Flask) -> ClassifierPool:
    """The app's pool (one per process and app), made on first use from its config."""
    with _CREATE_LOCK:
        pool = app.extensions.get(EXTENSION)
        if pool is None:
            pool = app.extensions[EXTENSION] = ClassifierPool(
                workers=int(app.config["BOUNCE_CLASSIFY_WORKERS"]),
                timeout=float(app.config["BOUNCE_CLASSIFY_TIMEOUT_SECONDS"]),
            )
        return pool


def classify_isolated(raw: bytes) -> Classification:
    """Classify one message in the current app's pool (see the module docstring)."""
    return classifier_pool(current_app._get_current_object()).classify(raw)


def close_classifier_pool(app: Flask) -> None:
    """Stop the app's worker processes, if it started any."""
    with _CREATE_LOCK:
        pool = app.extensions.pop(EXTENSION, None)
    if pool is not None:
        pool.close()
