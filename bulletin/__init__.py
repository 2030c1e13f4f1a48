"""bulletin: a self-hosted, bilingual email bulletin and mailing-list service."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from flask import Flask

from bulletin import config as config_module

_HERE = Path(__file__).resolve().parent


def _template_folder() -> str:
    # bulletin/templates links to the repository's templates/ and is copied into the wheel.
    return str(_HERE / "templates")


def create_app(config: type | Mapping | None = None) -> Flask:
    """Build the app: load config, bind extensions, register blueprints and the CLI."""
    app = Flask(__name__, template_folder=_template_folder(), instance_relative_config=True)
    _load_config(app, config)
    from bulletin.web import bind_extensions, register_blueprints, trust_proxies, validate_config

    validate_config(app)
    trust_proxies(app)
    bind_extensions(app)
    register_blueprints(app)
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
