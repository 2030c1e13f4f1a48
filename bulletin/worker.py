"""The worker: APScheduler is the clock; each job is a thin function over the pipeline."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from bulletin.bounces.mailboxes import POLL_SECONDS, poll_bounce_mailbox
from bulletin.core import alerts, heartbeats, rhythm
from bulletin.delivery.backends import MailBackend, make_backend
from bulletin.delivery.jobs import finish_done_sends, run_senders, start_sends
from bulletin.delivery.webhooks import deliver_webhooks
from bulletin.extensions import db
from bulletin.mail.settings import DeliverySettings
from bulletin.privacy.jobs import (
    EXPIRE_IMPORTS_SECONDS,
    PURGE_INTERVAL_SECONDS,
    expire_imports,
    purge_expired,
    run_import_jobs,
)

log = logging.getLogger(__name__)


@dataclass
class Worker:
    """What every job gets: the app, its settings, a name for leases, and its backends."""

    app: Flask
    settings: DeliverySettings
    name: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    _backend: MailBackend | None = None
    #: Called by close(): long-lived parts (the bulk senders) stop and hand back their leases.
    closers: list[Callable[[], None]] = field(default_factory=list)
    #: Names of the jobs running now (the heartbeat reports them).
    running: set[str] = field(default_factory=set)
    _running_lock: threading.Lock = field(default_factory=threading.Lock)

    def current_jobs(self) -> str:
        """The jobs running now, comma-separated, the heartbeat itself left out."""
        with self._running_lock:
            return ",".join(sorted(self.running - {HEARTBEAT}))

    def backend(self) -> MailBackend:
        """The transactional backend, kept open across ticks."""
        if self._backend is None:
            s = self.settings
            self._backend = make_backend(s.smtp_url, s.outbox_dir, s.smtp_timeout)
        return self._backend

    def stop_senders(self) -> None:
        """Stop the long-lived parts: the bulk senders record and hand back their leases."""
        closers, self.closers = self.closers, []
        for closer in closers:
            closer()

    def close(self) -> None:
        self.stop_senders()
        if self._backend is not None:
            self._backend.close()
            self._backend = None


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[Worker], object]
    seconds: float | None = None  #: None: every tick


def deliver_transactional(worker: Worker) -> None:
    """Send due confirmations, welcomes and test sends."""
    from bulletin.delivery.transactional import deliver_outbox

    sent = deliver_outbox(worker.settings, worker.backend())
    if sent:
        log.info("sent %d transactional message(s)", sent)


def send_webhooks(worker: Worker) -> None:
    """POST due webhook deliveries to their endpoints (retries included)."""
    delivered = deliver_webhooks(
        worker.name,
        timeout=worker.app.config["WEBHOOK_TIMEOUT_SECONDS"],
    )
    if delivered:
        log.info("delivered %d webhook(s)", delivered)


#: The daily delivery-health check (a finished send is checked at once: finish_done_sends).
HEALTH_CHECK_SECONDS = 24 * 3600


def check_health(worker: Worker) -> None:
    """Open, update or close the delivery-health alerts; email admins about new ones."""
    alerts.check_health()
    db.session.commit()


#: How often the worker looks for rhythm dates to draft or skip (core/rhythm.py).
RHYTHM_SECONDS = 60


def follow_rhythm(worker: Worker) -> None:
    """Draft the issues whose drafting time has come (and those a stopped worker missed),
    tell the editors; in auto mode, skip drafts nobody approved by their time."""
    for when, outcome in rhythm.draft_due():
        log.info("rhythm: %s %s", outcome, when.isoformat())
    for issue in rhythm.skip_unapproved():
        log.info("rhythm: skipped issue %s (not approved in time)", issue.id)


#: The worker's periodic jobs. Later parts append theirs (sends, purges, bounce polling).
JOBS: list[Job] = [
    Job("deliver-transactional", deliver_transactional),
    Job("start-sends", start_sends),
    Job("run-senders", run_senders),
    Job("finish-sends", finish_done_sends),
    Job("purge-expired", purge_expired, seconds=PURGE_INTERVAL_SECONDS),
    Job("poll-bounce-mailbox", poll_bounce_mailbox, seconds=POLL_SECONDS),
    Job("run-imports", run_import_jobs),
    Job("expire-imports", expire_imports, seconds=EXPIRE_IMPORTS_SECONDS),
    Job("check-health", check_health, seconds=HEALTH_CHECK_SECONDS),
    Job("send-webhooks", send_webhooks),
    Job("follow-rhythm", follow_rhythm, seconds=RHYTHM_SECONDS),
]


def run_job(worker: Worker, job: Job) -> None:
    """Run one job inside an app context; a failing job is logged and retried next tick."""
    with worker._running_lock:
        worker.running.add(job.name)
    with worker.app.app_context():
        try:
            job.run(worker)
        except Exception:
            log.exception("job %s failed", job.name)
            db.session.rollback()
        finally:
            db.session.remove()
            with worker._running_lock:
                worker.running.discard(job.name)


HEARTBEAT = "heartbeat"


def heartbeat(worker: Worker, identity: heartbeats.Identity) -> None:
    """Beat this worker's row with the jobs it is running, and prune long-gone workers."""
    heartbeats.beat(identity, worker.current_jobs())
    heartbeats.prune()
    db.session.commit()


def _stop_heartbeat(app: Flask, identity: heartbeats.Identity) -> None:
    with app.app_context():
        try:
            heartbeats.stop(identity)
            db.session.commit()
        except Exception:
            log.exception("could not mark worker %s stopped", identity.name)
            db.session.rollback()
        finally:
            db.session.remove()


def run_once(worker: Worker) -> None:
    """One pass of every job, in order (tests and `bulletin worker --once`)."""
    for job in JOBS:
        run_job(worker, job)


def start_scheduler(app: Flask, *, mode: str = "worker") -> tuple[BackgroundScheduler, Worker]:
    """Start the clock in background threads; the caller keeps the process alive.

    `mode` is "worker" (`bulletin worker`) or "embedded" (`bulletin run`), shown to admins.
    The worker beats its heartbeat row at once, then every BEAT_SECONDS; close() marks it
    stopped.
    """
    worker = Worker(app=app, settings=DeliverySettings.from_app(app))
    identity = heartbeats.Identity.here(mode)
    beat = Job(HEARTBEAT, lambda w: heartbeat(w, identity), seconds=heartbeats.BEAT_SECONDS)
    run_job(worker, beat)
    worker.closers.append(lambda: _stop_heartbeat(app, identity))
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(
        run_job,
        "interval",
        args=[worker, beat],
        seconds=beat.seconds,
        id=beat.name,
        max_instances=1,
        coalesce=True,
    )
    for job in JOBS:
        seconds = job.seconds or worker.settings.tick_seconds
        scheduler.add_job(
            run_job,
            "interval",
            args=[worker, job],
            seconds=seconds,
            id=job.name,
            max_instances=1,
            coalesce=True,
            next_run_time=_now(),
        )
    scheduler.start()
    log.info("worker %s started with jobs: %s", worker.name, ", ".join(j.name for j in JOBS))
    return scheduler, worker


def _now():
    from bulletin.models import utcnow

    return utcnow()


def run_forever(app: Flask, stop: threading.Event | None = None) -> None:
    """`bulletin worker`: run the clock until interrupted."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        import signal

        # SIGTERM (systemd, docker stop) stops cleanly: senders record what they sent.
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    scheduler, worker = start_scheduler(app)
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        # Hand back the leases first: a long job in hand (a materialise, a bounce poll)
        # must not keep claimed deliveries from other workers until it ends.
        scheduler.pause()
        worker.stop_senders()
        scheduler.shutdown(wait=True)
        worker.close()  # and an engine a job started meanwhile, and the transactional backend
