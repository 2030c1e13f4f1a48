"""The public door's route table: sign-up, confirm, manage and unsubscribe, and the archive."""

from __future__ import annotations

from flask import Flask

from bulletin.subscriptions import archive, catalogue, embed, views

BLUEPRINTS = (views.bp, archive.bp, catalogue.bp, embed.bp)


def register(app: Flask) -> None:
    """Add the public pages."""
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
