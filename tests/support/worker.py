"""Running the worker once, as `bulletin worker --once` does: the one way the tests do it."""

from __future__ import annotations

from flask import Flask

from bulletin.mail.settings import DeliverySettings
from bulletin.worker import Worker, run_once


def run_worker_once(
    app: Flask, settings: DeliverySettings | None = None, *, times: int = 1
) -> None:
    """`times` passes of every worker job, in order, by one worker that is closed after.

    Each job runs in an app context of its own (run_job), so the caller needs none. Settings
    default to the app's config.
    """
    worker = Worker(app=app, settings=settings or DeliverySettings.from_app(app))
    try:
        for _ in range(times):
            run_once(worker)
    finally:
        worker.close()
