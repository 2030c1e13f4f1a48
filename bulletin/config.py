"""Settings, read from the environment: the only module that reads os.environ."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_SECRET = "dev-only-insecure-secret-change-me"
ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _int(name: str, default: int) -> int:
    return int(_env(name, str(default)))


def _float(name: str, default: float) -> float:
    return float(_env(name, str(default)))


class Config:
    """Embedded defaults: SQLite under the instance folder, an outbox folder of .eml files."""

    ENV = _env("BULLETIN_ENV", "development")
    SECRET_KEYS = [k.strip() for k in _env("SECRET_KEY", DEFAULT_SECRET).split(",") if k.strip()]
    HASH_KEY = _env("HASH_KEY")  # defaults to a key derived from the first SECRET_KEY
    DATABASE_URL = _env("DATABASE_URL")  # default: sqlite:///<instance>/bulletin.sqlite3
    SMTP_URL = _env("SMTP_URL")  # unset: write .eml files into OUTBOX_DIR
    SMTP_TIMEOUT = _float("SMTP_TIMEOUT", 30.0)
    OUTBOX_DIR = _env("OUTBOX_DIR")  # default: <instance>/outbox
    MAIL_FROM = _env("MAIL_FROM", "Research bulletin <bulletin@localhost>")
    REPLY_TO = _env("REPLY_TO")
    BASE_URL = _env("BASE_URL", "http://127.0.0.1:5000").rstrip("/")
    ORG_NAME = _env("ORG_NAME", "Health and Care Research Bulletin")
    ORG_POSTAL_ADDRESS = _env("ORG_POSTAL_ADDRESS", "1 Example Street, Cardiff, CF10 1AA")
    LIST_ID = _env("LIST_ID")  # default: bulletin.<domain of MAIL_FROM>
    BOUNCE_DOMAIN = _env("BOUNCE_DOMAIN")
    #: imaps://user:pass@host/INBOX: a mailbox of bounces the worker polls (unset: no polling).
    BOUNCE_IMAP_URL = _env("BOUNCE_IMAP_URL")
    #: How often the worker polls BOUNCE_IMAP_URL, in seconds.
    BOUNCE_IMAP_POLL_SECONDS = _int("BOUNCE_IMAP_POLL_SECONDS", 300)
    #: Soft bounces within BOUNCE_SOFT_WINDOW_DAYS (since the last delivery) that suppress.
    BOUNCE_SOFT_LIMIT = _int("BOUNCE_SOFT_LIMIT", 3)
    BOUNCE_SOFT_WINDOW_DAYS = _int("BOUNCE_SOFT_WINDOW_DAYS", 30)
    #: HTTP basic auth for the Postmark webhooks (unset: the Postmark webhooks refuse everything).
    POSTMARK_WEBHOOK_USER = _env("POSTMARK_WEBHOOK_USER")
    POSTMARK_WEBHOOK_PASSWORD = _env("POSTMARK_WEBHOOK_PASSWORD")
    #: Comma-separated SNS topic ARNs whose SES notifications we accept (empty: none).
    SES_TOPIC_ARNS = [a.strip() for a in (_env("SES_TOPIC_ARNS", "") or "").split(",") if a.strip()]
    #: Requests per client to /webhooks/ (flask-limiter syntax).
    WEBHOOK_RATE_LIMIT = _env("WEBHOOK_RATE_LIMIT", "300 per minute")
    #: Requests per client address to /api/ (flask-limiter syntax).
    API_RATE_LIMIT = _env("API_RATE_LIMIT", "300 per minute")
    #: Largest JSON request body the API reads, in bytes; a larger one gets 413.
    API_MAX_BODY_BYTES = _int("API_MAX_BODY_BYTES", 1024 * 1024)
    DKIM_SELECTOR = _env("DKIM_SELECTOR")
    DKIM_DOMAIN = _env("DKIM_DOMAIN")
    DKIM_PRIVATE_KEY_PATH = _env("DKIM_PRIVATE_KEY_PATH")
    CONFIRM_MAX_AGE_DAYS = _int("CONFIRM_MAX_AGE_DAYS", 7)
    CONFIRMATIONS_PER_ADDRESS_PER_DAY = _int("CONFIRMATIONS_PER_ADDRESS_PER_DAY", 3)
    SUBSCRIBE_RATE_LIMIT = _env("SUBSCRIBE_RATE_LIMIT", "10 per minute;60 per hour")
    LOGIN_RATE_LIMIT = _env("LOGIN_RATE_LIMIT", "10 per minute;50 per hour")
    #: Test sends of an issue, per client address (each may go to up to 5 addresses).
    TEST_SEND_RATE_LIMIT = _env("TEST_SEND_RATE_LIMIT", "10 per hour")
    RATELIMIT_STORAGE_URI = _env("RATELIMIT_STORAGE_URI", "memory://")
    #: Prefix of the rate-limit keys in Redis, so several installations can share one server.
    RATELIMIT_KEY_PREFIX = _env("RATELIMIT_KEY_PREFIX", "bulletin")
    OUTBOX_MAX_AGE_HOURS = _int("OUTBOX_MAX_AGE_HOURS", 72)
    WORKER_TICK_SECONDS = _float("WORKER_TICK_SECONDS", 2.0)
    SEND_GRACE_HOURS = _float("SEND_GRACE_HOURS", 12.0)
    SMTP_CONNECTIONS = _int("SMTP_CONNECTIONS", 4)
    SEND_RATE_PER_SECOND = _float("SEND_RATE_PER_SECOND", 0.0)  # 0: no limit
    SEND_RATE_PER_HOUR = _float("SEND_RATE_PER_HOUR", 0.0)
    SEND_MAX_ATTEMPTS = _int("SEND_MAX_ATTEMPTS", 5)
    SEND_BATCH_SIZE = _int("SEND_BATCH_SIZE", 100)
    SEND_LEASE_SECONDS = _int("SEND_LEASE_SECONDS", 120)
    #: First retry delay after a 4xx reply to a bulk message; doubles per attempt (max 1 h).
    SEND_RETRY_SECONDS = _float("SEND_RETRY_SECONDS", 60.0)
    #: First pause when the SMTP server refuses connections; doubles per failure (max 5 min).
    SMTP_DOWN_PAUSE_SECONDS = _float("SMTP_DOWN_PAUSE_SECONDS", 5.0)
    #: Where CSV files uploaded for import wait for the worker (default: <instance>/imports).
    IMPORT_DIR = _env("IMPORT_DIR")
    #: Hours an import job (its file, report and row problems) is kept; a queued job that no
    #: worker started by then fails.
    IMPORT_RETENTION_HOURS = _int("IMPORT_RETENTION_HOURS", 72)
    DELIVERY_RETENTION_DAYS = _int("DELIVERY_RETENTION_DAYS", 365)
    PENDING_RETENTION_DAYS = _int("PENDING_RETENTION_DAYS", 30)
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "Europe/London"
    MAX_CONTENT_LENGTH = _int("MAX_CONTENT_LENGTH", 16 * 1024 * 1024)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    TESTING = False


class TestConfig(Config):
    """For the test suite: no rate limits unless a test asks, a fixed secret."""

    ENV = "testing"
    TESTING = True
    SECRET_KEYS = ["test-secret-key"]
    RATELIMIT_STORAGE_URI = "memory://"
    SUBSCRIBE_RATE_LIMIT = "1000 per minute"
    LOGIN_RATE_LIMIT = "1000 per minute"
    TEST_SEND_RATE_LIMIT = "1000 per minute"
    API_RATE_LIMIT = "100000 per minute"
    BASE_URL = "http://localhost"
    MAIL_FROM = "Research bulletin <bulletin@example.org>"
    SMTP_URL = None
    OUTBOX_DIR = None
    IMPORT_DIR = None


class ProductionConfig(Config):
    """Refuses the default secret (checked by create_app)."""

    ENV = "production"
