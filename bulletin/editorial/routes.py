"""The editor door's route table: every page under /editor, guarded as a whole."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from bulletin.core.alerts import LIMITS
from bulletin.core.health import RECENT_DAYS
from bulletin.editorial import (
    charts,
    labels,
    views,
    views_admin,  # noqa: F401  (adds its pages to views.bp)
    views_api_tokens,
    views_bounces,
    views_catalogue,  # noqa: F401  (adds its pages to views.bp)
    views_clicks,  # noqa: F401  (adds its pages to views.bp)
    views_embed,  # noqa: F401  (adds its page to views.bp)
    views_insights,
    views_issues,  # noqa: F401  (adds its pages to views.bp)
    views_media,  # noqa: F401  (adds its pages to views.bp)
    views_rhythm,  # noqa: F401  (adds its pages to views.bp)
    views_send_report,
    views_sends,
    views_subscribers,
    views_webhooks,
)
from bulletin.extensions import login_manager

BLUEPRINTS = (
    views.bp,
    views_sends.bp,
    views_send_report.bp,
    views_subscribers.bp,
    views_bounces.bp,
    views_api_tokens.bp,
    views_webhooks.bp,
)


def register(app: Flask) -> None:
    """Add the editor pages: nothing under /editor without a sign-in."""
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    labels.register(app)
    charts.register(app)
    app.jinja_env.globals.update(
        health_alerts=views_insights.health_alerts,
        health_limits=LIMITS,
        health_recent_days=RECENT_DAYS,
    )
    app.before_request(views.require_editor)
    app.teardown_request(views.forget_request_state)
    login_manager.login_message = _l("Sign in to use the editor pages.")
    login_manager.login_message_category = "info"
