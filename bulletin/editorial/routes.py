"""The editor door's route table: every page under /editor, guarded as a whole."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from bulletin.editorial import (
    labels,
    views,
    views_admin,  # noqa: F401  (adds its pages to views.bp)
    views_api_tokens,
    views_bounces,
    views_catalogue,  # noqa: F401  (adds its pages to views.bp)
    views_embed,  # noqa: F401  (adds its page to views.bp)
    views_issues,  # noqa: F401  (adds its pages to views.bp)
    views_sends,
    views_subscribers,
)
from bulletin.extensions import login_manager

BLUEPRINTS = (views.bp, views_sends.bp, views_subscribers.bp, views_bounces.bp, views_api_tokens.bp)


def register(app: Flask) -> None:
    """Add the editor pages: nothing under /editor without a sign-in."""
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    labels.register(app)
    app.before_request(views.require_editor)
    app.teardown_request(views.forget_request_state)
    login_manager.login_message = _l("Sign in to use the editor pages.")
    login_manager.login_message_category = "info"
