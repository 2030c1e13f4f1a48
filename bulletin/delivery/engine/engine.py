"""SendEngine: wires the three parts together; start, stop and drain them."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from flask import Flask

from bulletin.delivery.backends import MailBackend, make_backend
from bulletin.delivery.engine.dispatcher import Dispatcher
from bulletin.delivery.engine.pool import SenderPool
from bulletin.delivery.engine.recorder import Counters, Recorder
from bulletin.delivery.engine.states import SendStates
from bulletin.mail.settings import DeliverySettings

log = logging.getLogger(__name__)


class SendEngine:
    """Long-lived sender threads for one worker process."""

    def __init__(
        self,
        app: Flask,
        settings: DeliverySettings,
        name: str,
        backend_factory: Callable[[], MailBackend] | None = None,
    ):
        self.app, self.settings, self.name = app, settings, name
        factory = backend_factory or (
            lambda: make_backend(settings.smtp_url, settings.outbox_dir, settings.smtp_timeout)
        )
        self.recorder = Recorder(app, settings, name)
        self.states = SendStates(app)
        self.pool = SenderPool(app, settings, factory, self.recorder, self.states)
        self.dispatcher = Dispatcher(app, settings, name, self.pool, self.recorder, self.states)
        self.started = False  #: written only by the thread that calls start/stop/drain

    @property
    def connections(self) -> int:
        """How many sender threads (SMTP connections) the engine runs."""
        return self.pool.connections

    @property
    def counters(self) -> Counters:
        """Sent, unrecorded and unflushed counts (read them under counters.lock)."""
        return self.recorder.counters

    def start(self) -> SendEngine:
        """Start the recorder, the send states, the senders and the dispatcher."""
        self.recorder.start()
        self.states.start()
        self.pool.start()
        self.dispatcher.start()
        self.started = True
        return self

    def stop_claiming(self, timeout: float = 30.0) -> None:
        """Claim nothing more; what is already claimed is still sent and recorded."""
        self.dispatcher.stop(timeout)

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the message in hand, hand back the rest, record everything, stop."""
        # In this order, so that nothing is claimed after the senders stop and nothing is
        # sent after the recorder's last write.
        self.dispatcher.stop(timeout)
        self.pool.stop(timeout)
        self.states.stop(timeout)
        self.recorder.stop(timeout)
        self.started = False

    def _quiet(self) -> bool:
        return self.pool.unfinished() == 0 and self.recorder.unflushed() == 0

    def drain(self, timeout: float = 600.0) -> None:
        """Start, send until nothing is claimable and everything is recorded, then stop."""
        if not self.started:
            self.start()
        idle = self.dispatcher.idle
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            idle.clear()
            # Idle only counts when a claim found nothing after everything was recorded.
            if idle.wait(max(0.0, deadline - time.monotonic())) and self._quiet():
                idle.clear()
                if idle.wait(max(0.0, deadline - time.monotonic())) and self._quiet():
                    break
        self.stop()
