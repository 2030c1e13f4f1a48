"""The worker's bulk-send jobs: start due sends, keep the senders running, finish sends."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from bulletin.core.alerts import check_health
from bulletin.delivery.engine import SendEngine
from bulletin.delivery.pipeline import finish_sends, start_due_sends
from bulletin.extensions import db

if TYPE_CHECKING:
    from bulletin.worker import Worker

log = logging.getLogger(__name__)


def start_sends(worker: Worker) -> None:
    """Claim due scheduled sends (row lock, SKIP LOCKED) and materialise their deliveries."""
    started = start_due_sends(worker.settings)
    if started:
        log.info("started send(s) %s", ", ".join(map(str, started)))


def run_senders(worker: Worker) -> None:
    """Keep this worker's sender threads running (or, outside the scheduler, drain once)."""
    if threading.current_thread() is threading.main_thread():
        # `bulletin worker --once` runs jobs in the main thread: send what is due, then return.
        SendEngine(worker.app, worker.settings, worker.name).drain()
        return
    engine = getattr(worker, "bulk_engine", None)
    if engine is None:
        engine = SendEngine(worker.app, worker.settings, worker.name).start()
        worker.bulk_engine = engine
        worker.closers.append(engine.stop)
        log.info("%d sender connection(s) started", engine.connections)


def finish_done_sends(worker: Worker) -> None:
    """Close sends whose deliveries are all final; their issues appear in the archive. The
    delivery-health alerts are checked at once (refusals while sending count already)."""
    finished = finish_sends()
    for send_id in finished:
        log.info("send %s finished", send_id)
    if finished:
        check_health()
        db.session.commit()
