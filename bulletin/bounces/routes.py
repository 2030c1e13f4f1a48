"""The bounce door's route table: providers' webhooks under /webhooks/."""

from __future__ import annotations

from flask import Flask

from bulletin.bounces import webhooks


def register(app: Flask) -> None:
    """Add the webhooks."""
    app.register_blueprint(webhooks.bp)
