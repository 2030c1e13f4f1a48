"""The public door's route table: sign-up, confirm, manage and unsubscribe, the archive and
its images."""

from __future__ import annotations

from flask import Flask

from bulletin.subscriptions import archive, catalogue, embed, media, views

BLUEPRINTS = (views.bp, archive.bp, catalogue.bp, embed.bp, media.bp)


def register(app: Flask) -> None:
    """Add the public pages."""
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
