"""What create_app binds: extensions, blueprints, error pages, response headers."""

from __future__ import annotations

import importlib
import os

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from bulletin.i18n import LONDON, select_locale

from bulletin.config import PUBLISHED_SECRETS
from bulletin.extensions import babel, csrf, db, limiter, login_manager, migrate


def validate_config(app: Flask) -> None:
    """Refuse production without SECRET_KEY or with a published one, no HASH_KEY, or half a
    DKIM setup."""
    if app.config["ENV"] != "production":
        return
    keys = app.config["SECRET_KEYS"]
    if not keys or PUBLISHED_SECRETS.intersection(keys):
        raise RuntimeError("SECRET_KEY must be set to a long random value in production")
    if not app.config.get("HASH_KEY"):
        # Without it the suppression-list hashes would change when SECRET_KEY rotates.
        raise RuntimeError("HASH_KEY must be set in production (suppression-list hashes)")
    dkim = [app.config.get(k) for k in ("DKIM_SELECTOR", "DKIM_DOMAIN", "DKIM_PRIVATE_KEY_PATH")]
    if any(dkim) and not all(dkim):
        raise RuntimeError("set all of DKIM_SELECTOR, DKIM_DOMAIN, DKIM_PRIVATE_KEY_PATH or none")
    if all(dkim) and not os.access(dkim[2], os.R_OK):
        raise RuntimeError(f"DKIM_PRIVATE_KEY_PATH is not readable: {dkim[2]}")


def trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXIES reverse proxies, take the client address and scheme from them.

    Only X-Forwarded-For (request.remote_addr: rate limits, consent-trail IP hashes) and
    X-Forwarded-Proto (request.is_secure: HSTS) are needed. X-Forwarded-Host, -Port and
    -Prefix stay untrusted: links in mail come from BASE_URL, never from the request, so
    trusting them would only let a header the proxy might pass through change request.host.
    Each trusted hop consumes one entry from the right of X-Forwarded-For; whatever the
    client wrote further left is ignored.
    """
    hops = app.config["TRUSTED_PROXIES"]
    if hops < 0:
        raise RuntimeError("TRUSTED_PROXIES must be 0 or a positive number of proxies")
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0, x_port=0,
                                x_prefix=0)


def bind_extensions(app: Flask) -> None:
    """Bind every extension to this app."""
    db.init_app(app)
    migrate.init_app(app, db, directory=str(_migrations_dir()), render_as_batch=True,
                     compare_type=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "editor.login"
    from bulletin.editorial import access  # noqa: F401  (installs the user loader)
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=lambda: LONDON.key)
    from bulletin import models  # noqa: F401  (register every table)


def _migrations_dir():
    # bulletin/migrations links to the repository's migrations/ and is copied into the wheel.
    from pathlib import Path

    return Path(__file__).resolve().parent / "migrations"


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    # Foreign keys for ON DELETE CASCADE; WAL so the worker and the web app can share the file.
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")  # WAL: durable across process crashes
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()


#: Modules exposing register(app): the editor door, the API, the archive, the webhooks.
DOORS = (
    "bulletin.editorial.views", "bulletin.editorial.views_sends", "bulletin.editorial.views_subscribers",
    "bulletin.api.views", "bulletin.subscriptions.archive", "bulletin.bounces.webhooks", "bulletin.editorial.views_bounces",
)


def register_blueprints(app: Flask) -> None:
    """Register the doors, error pages, template helpers and security headers."""
    from bulletin.subscriptions.views import bp as subscriptions_bp

    app.register_blueprint(subscriptions_bp)
    for module in DOORS:
        importlib.import_module(module).register(app)
    _register_error_pages(app)
    app.after_request(_security_headers)
    from bulletin.privacy.redaction import install_log_redaction

    install_log_redaction()
    from bulletin.templating import register_template_helpers

    register_template_helpers(app)


def _register_error_pages(app: Flask) -> None:
    from bulletin.api.views import http_error as api_error

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_template("errors/error.html", code=400, reason="csrf"), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if request.path.startswith("/api/"):  # no API route matched: answer as the API does
            return api_error(error)
        return render_template("errors/error.html", code=error.code, reason=None), error.code


def _security_headers(response):
    csp = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-src 'self'; frame-ancestors 'self'; form-action 'self'; base-uri 'none'; "
        "object-src 'none'"
    )
    response.headers.setdefault("Content-Security-Policy", csp)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    if request.is_secure:  # behind a proxy, X-Forwarded-Proto counts when TRUSTED_PROXIES says
        response.headers.setdefault(
            "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
        )
    return response
