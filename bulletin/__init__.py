"""bulletin: a self-hosted, bilingual email bulletin and mailing-list service."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from bulletin import config as config_module
from bulletin.config import PUBLISHED_SECRETS
from bulletin.extensions import babel, csrf, db, limiter, login_manager, migrate
from bulletin.i18n import LONDON, select_locale

_HERE = Path(__file__).resolve().parent


def _template_folder() -> str:
    # bulletin/templates links to the repository's templates/ and is copied into the wheel.
    return str(_HERE / "templates")


def create_app(config: type | Mapping | None = None) -> Flask:
    """Build the app: load config, bind extensions, then add each door, named here."""
    from bulletin import web
    from bulletin.api import routes as api
    from bulletin.bounces import routes as bounces
    from bulletin.core.redaction import install_log_redaction
    from bulletin.editorial import routes as editorial
    from bulletin.ops import routes as ops
    from bulletin.subscriptions import routes as public

    app = Flask(
        __name__,
        template_folder=_template_folder(),
        instance_relative_config=True,
        instance_path=config_module.instance_path(),
    )
    _load_config(app, config)
    _validate_config(app)
    _check_embed_origins(app)
    _trust_proxies(app)
    _bind_extensions(app)
    public.register(app)
    editorial.register(app)
    api.register(app)
    bounces.register(app)
    ops.register(app)
    web.register_error_pages(app, json_errors={"/api/": api.http_error})
    app.after_request(web.security_headers)
    install_log_redaction()
    web.register_template_helpers(app)
    return app


def _load_config(app: Flask, config: type | Mapping | None) -> None:
    app.config.from_object(config_module.Config)
    if isinstance(config, type):
        app.config.from_object(config)
    elif config is not None:
        app.config.update(config)
    if app.config["ENV"] == "production" and config is None:
        app.config.from_object(config_module.ProductionConfig)
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    if not app.config.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = f"sqlite:///{instance / 'bulletin.sqlite3'}"
    if not app.config.get("OUTBOX_DIR"):
        app.config["OUTBOX_DIR"] = str(instance / "outbox")
    if not app.config.get("IMPORT_DIR"):
        app.config["IMPORT_DIR"] = str(instance / "imports")
    if not app.config.get("MEDIA_DIR"):
        app.config["MEDIA_DIR"] = str(instance / "media")
    # With BASE_URL unset, `bulletin run` and `demo` point links at where they serve.
    app.config["BASE_URL_FOLLOWS_SERVER"] = not app.config.get("BASE_URL")
    if not app.config.get("BASE_URL"):
        app.config["BASE_URL"] = config_module.DEFAULT_BASE_URL
    app.config["SQLALCHEMY_DATABASE_URI"] = _sqlalchemy_url(app.config["DATABASE_URL"])
    if not app.config["SECRET_KEYS"] and app.config["ENV"] != "production":
        _use_generated_secret(app, instance)
    app.config["SECRET_KEY"] = next(iter(app.config["SECRET_KEYS"]), None)
    app.config["SESSION_COOKIE_SECURE"] = app.config["BASE_URL"].startswith("https://")
    app.config["RATELIMIT_STORAGE_URI"] = app.config["RATELIMIT_STORAGE_URI"]


def _use_generated_secret(app: Flask, instance: Path) -> None:
    # No shared default key, ever: a random one per installation, kept in the instance folder
    # so restarts and the other processes (worker, gunicorn workers) use the same one.
    path = Path(app.config.get("SECRET_KEY_FILE") or instance / "secret_key")
    key, created = config_module.generated_secret(path)
    if created:
        app.logger.warning("SECRET_KEY is not set: generated a random key into %s", path)
    app.config["SECRET_KEYS"] = [key]


def _sqlalchemy_url(url: str) -> str:
    # Accept the common postgres:// spellings and use psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _validate_config(app: Flask) -> None:
    """Refuse an unknown MEDIA_STORAGE; in production, no SECRET_KEY or a published one, no
    HASH_KEY, or half a DKIM setup."""
    from bulletin.core.media import STORAGES

    if app.config["MEDIA_STORAGE"] not in STORAGES:
        raise RuntimeError(f"MEDIA_STORAGE must be one of: {', '.join(STORAGES)}")
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


def _check_embed_origins(app: Flask) -> None:
    """Refuse EMBED_ORIGINS entries that are not origins: they go into the CSP header."""
    from bulletin.core.embeds import bad_origins

    bad = bad_origins(app.config["EMBED_ORIGINS"])
    if bad:
        raise RuntimeError(
            f"EMBED_ORIGINS takes origins like https://partner.example, not: {', '.join(bad)}"
        )


def _trust_proxies(app: Flask) -> None:
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
        app.wsgi_app = ProxyFix(
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=0, x_port=0, x_prefix=0
        )


def _bind_extensions(app: Flask) -> None:
    """Bind every extension to this app."""
    db.init_app(app)
    migrate.init_app(
        app, db, directory=str(_migrations_dir()), render_as_batch=True, compare_type=True
    )
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
