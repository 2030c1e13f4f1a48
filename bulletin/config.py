"""Settings, read from the environment: the only module that reads os.environ."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

#: Keys that are published (this repository's old default and test key, common placeholders):
#: production refuses them. With SECRET_KEY unset, other modes generate a key instead.
PUBLISHED_SECRETS = frozenset(
    {
        "dev-only-insecure-secret-change-me",
        "test-secret-key",
        "dev",
        "secret",
        "changeme",
        "change-me",
        "secret-key",
        "development",
    }
)
ROOT = Path(__file__).resolve().parent.parent
#: BASE_URL when none is set (and `bulletin run` has not said where it serves).
DEFAULT_BASE_URL = "http://127.0.0.1:5000"


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def instance_path() -> str | None:
    """BULLETIN_INSTANCE_PATH, absolute; None for Flask's default (instance/ beside the code)."""
    value = _env("BULLETIN_INSTANCE_PATH")
    return str(Path(value).resolve()) if value else None


def _int(name: str, default: int) -> int:
    return int(_env(name, str(default)))


def _float(name: str, default: float) -> float:
    return float(_env(name, str(default)))


class Config:
    """Embedded defaults: SQLite under the instance folder, an outbox folder of .eml files."""

    ENV = _env("BULLETIN_ENV", "development")
    #: Unset: production refuses to start; other modes generate a key into SECRET_KEY_FILE.
    SECRET_KEYS = [k.strip() for k in (_env("SECRET_KEY") or "").split(",") if k.strip()]
    SECRET_KEY_FILE = _env("SECRET_KEY_FILE")  # default: <instance>/secret_key
    HASH_KEY = _env("HASH_KEY")  # defaults to a key derived from the first SECRET_KEY
    DATABASE_URL = _env("DATABASE_URL")  # default: sqlite:///<instance>/bulletin.sqlite3
    SMTP_URL = _env("SMTP_URL")  # unset: write .eml files into OUTBOX_DIR
    SMTP_TIMEOUT = _float("SMTP_TIMEOUT", 30.0)
    OUTBOX_DIR = _env("OUTBOX_DIR")  # default: <instance>/outbox
    MAIL_FROM = _env("MAIL_FROM", "Research bulletin <bulletin@localhost>")
    REPLY_TO = _env("REPLY_TO")
    #: Unset: http://127.0.0.1:5000, or the host and port `bulletin run`/`demo` serve on.
    BASE_URL = (_env("BASE_URL") or "").rstrip("/")
    ORG_NAME = _env("ORG_NAME", "Health and Care Research Bulletin")
    ORG_POSTAL_ADDRESS = _env("ORG_POSTAL_ADDRESS", "1 Example Street, Cardiff, CF10 1AA")
    #: The Welsh name and address, in Welsh pages and mail; unset: the English ones.
    ORG_NAME_CY = _env("ORG_NAME_CY")
    ORG_POSTAL_ADDRESS_CY = _env("ORG_POSTAL_ADDRESS_CY")
    LIST_ID = _env("LIST_ID")  # default: bulletin.<domain of MAIL_FROM>
    BOUNCE_DOMAIN = _env("BOUNCE_DOMAIN")
    #: The host BOUNCE_DOMAIN's MX should name (where the bounce server runs): `bulletin doctor`
    #: checks it; unset, the doctor only checks that an MX exists.
    BOUNCE_MX_HOST = _env("BOUNCE_MX_HOST")
    #: imaps://user:pass@host/INBOX: a mailbox of bounces the worker polls (unset: no polling).
    BOUNCE_IMAP_URL = _env("BOUNCE_IMAP_URL")
    #: PEM file of the CAs that imaps:// trusts instead of the system's (a private mail server).
    BOUNCE_IMAP_CA_FILE = _env("BOUNCE_IMAP_CA_FILE")
    #: How often the worker polls BOUNCE_IMAP_URL, in seconds.
    BOUNCE_IMAP_POLL_SECONDS = _int("BOUNCE_IMAP_POLL_SECONDS", 300)
    #: Soft bounces within BOUNCE_SOFT_WINDOW_DAYS (since the last delivery) that suppress.
    BOUNCE_SOFT_LIMIT = _int("BOUNCE_SOFT_LIMIT", 3)
    BOUNCE_SOFT_WINDOW_DAYS = _int("BOUNCE_SOFT_WINDOW_DAYS", 30)
    #: Largest message the bounce server takes (advertised as SIZE; a larger one gets 552).
    BOUNCE_MAX_MESSAGE_BYTES = _int("BOUNCE_MAX_MESSAGE_BYTES", 5 * 1024 * 1024)
    #: Processes that classify inbound mail at once (per bounce server or worker process).
    BOUNCE_CLASSIFY_WORKERS = _int("BOUNCE_CLASSIFY_WORKERS", 2)
    #: A message still being classified after this long is recorded as unclassified.
    BOUNCE_CLASSIFY_TIMEOUT_SECONDS = _float("BOUNCE_CLASSIFY_TIMEOUT_SECONDS", 10.0)
    #: HTTP basic auth for the Postmark webhooks (unset: the Postmark webhooks refuse everything).
    POSTMARK_WEBHOOK_USER = _env("POSTMARK_WEBHOOK_USER")
    POSTMARK_WEBHOOK_PASSWORD = _env("POSTMARK_WEBHOOK_PASSWORD")
    #: Comma-separated SNS topic ARNs whose SES notifications we accept (empty: none).
    SES_TOPIC_ARNS = [a.strip() for a in (_env("SES_TOPIC_ARNS", "") or "").split(",") if a.strip()]
    #: Requests per client to /webhooks/ (flask-limiter syntax).
    WEBHOOK_RATE_LIMIT = _env("WEBHOOK_RATE_LIMIT", "300 per minute")
    #: Seconds an outgoing webhook POST may take (connect and each read) before it is retried.
    WEBHOOK_TIMEOUT_SECONDS = _float("WEBHOOK_TIMEOUT_SECONDS", 10.0)
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
    #: Partner sites allowed to embed the sign-up (comma-separated origins, like
    #: https://example.org): they may frame /embed/subscribe and post /subscribe/external.
    EMBED_ORIGINS = [o.strip() for o in (_env("EMBED_ORIGINS", "") or "").split(",") if o.strip()]
    #: The proof-of-work a browser does before /subscribe/external accepts a sign-up: it
    #: tries up to this many hashes (half on average), within EMBED_CHALLENGE_MINUTES.
    EMBED_CHALLENGE_MAX_NUMBER = _int("EMBED_CHALLENGE_MAX_NUMBER", 100_000)
    EMBED_CHALLENGE_MINUTES = _int("EMBED_CHALLENGE_MINUTES", 20)
    LOGIN_RATE_LIMIT = _env("LOGIN_RATE_LIMIT", "10 per minute;50 per hour")
    #: An editor session ends after this long without a request, and this long after sign-in.
    SESSION_IDLE_HOURS = _float("SESSION_IDLE_HOURS", 8.0)
    SESSION_MAX_DAYS = _float("SESSION_MAX_DAYS", 7.0)
    #: Test sends of an issue, per client address (each may go to up to 5 addresses).
    TEST_SEND_RATE_LIMIT = _env("TEST_SEND_RATE_LIMIT", "10 per hour")
    RATELIMIT_STORAGE_URI = _env("RATELIMIT_STORAGE_URI", "memory://")
    #: Prefix of the rate-limit keys in Redis, so several installations can share one server.
    RATELIMIT_KEY_PREFIX = _env("RATELIMIT_KEY_PREFIX", "bulletin")
    #: Reverse proxies in front of the app whose X-Forwarded-For/-Proto are believed (0: none).
    TRUSTED_PROXIES = _int("TRUSTED_PROXIES", 0)
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
    #: The media library's storage: "filesystem" (the only one built in; see README for
    #: how an S3-compatible one plugs in), keeping files in MEDIA_DIR (default <instance>/media).
    MEDIA_STORAGE = _env("MEDIA_STORAGE", "filesystem")
    MEDIA_DIR = _env("MEDIA_DIR")
    #: Largest image upload, in bytes, refused before it is decoded.
    MEDIA_MAX_BYTES = _int("MEDIA_MAX_BYTES", 5 * 1024 * 1024)
    #: Largest image, in pixels (width x height), that is decoded: a small file that claims
    #: more (a decompression bomb) is refused. Pillow's MAX_IMAGE_PIXELS is set to it.
    MEDIA_MAX_PIXELS = _int("MEDIA_MAX_PIXELS", 40_000_000)
    #: Count clicks on the links of a send's mail, per link and never per reader: links go
    #: through /r/TOKEN (core/clicks.py). false: links go straight to their targets.
    CLICK_COUNTING = (_env("CLICK_COUNTING", "true") or "true").lower() not in ("0", "false", "no")
    #: Four eyes: a send one editor schedules (or sends now) waits until a second, different
    #: editor approves it (core/sends.py approve_send).
    REQUIRE_APPROVAL = (_env("REQUIRE_APPROVAL", "false") or "false").lower() in (
        "1",
        "true",
        "yes",
    )
    DELIVERY_RETENTION_DAYS = _int("DELIVERY_RETENTION_DAYS", 365)
    PENDING_RETENTION_DAYS = _int("PENDING_RETENTION_DAYS", 30)
    UNPROVEN_REPORT_RETENTION_DAYS = _int("UNPROVEN_REPORT_RETENTION_DAYS", 30)
    #: Bearer token for /metrics (unset: /metrics answers 404, so it is never public).
    METRICS_TOKEN = _env("METRICS_TOKEN")
    #: Set for gunicorn's several processes: prometheus_client keeps each one's web counters
    #: in files here (an empty folder, emptied before gunicorn starts), summed when scraped.
    PROMETHEUS_MULTIPROC_DIR = _env("PROMETHEUS_MULTIPROC_DIR")
    #: "text" (default) or "json": one JSON object per line with a request id.
    LOG_FORMAT = (_env("LOG_FORMAT", "text") or "text").lower()
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "Europe/London"
    MAX_CONTENT_LENGTH = _int("MAX_CONTENT_LENGTH", 16 * 1024 * 1024)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    # Flask-WTF's extra https check wants a same-host Referer on every POST, but our
    # Referrer-Policy (no-referrer, so tokens in URLs never reach another log) means browsers
    # send none: every form would fail once the app knows it is served over https. The
    # session-bound CSRF token and the SameSite=Lax session cookie still guard each POST.
    WTF_CSRF_SSL_STRICT = False
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
    EMBED_CHALLENGE_MAX_NUMBER = 2000  # solved in Python by the tests: keep it quick
    API_RATE_LIMIT = "100000 per minute"
    BASE_URL = "http://localhost"
    MAIL_FROM = "Research bulletin <bulletin@example.org>"
    SMTP_URL = None
    OUTBOX_DIR = None
    IMPORT_DIR = None
    MEDIA_DIR = None


class ProductionConfig(Config):
    """Refuses an unset or published secret (checked by create_app)."""

    ENV = "production"


def generated_secret(path: Path) -> tuple[str, bool]:
    """The key kept in `path`, made when missing (mode 0600); and whether it was made now.

    Processes starting together (web and worker, gunicorn workers) must agree on one key:
    each writes its own candidate to a private temporary file and links it into place,
    which succeeds for exactly one of them, and then everyone reads what is there. So no
    process ever reads a half-written key.
    """
    if not path.exists():
        candidate = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.link(candidate, path)  # fails if another process got there first
            created = True
        except FileExistsError:
            created = False
        finally:
            candidate.unlink(missing_ok=True)
    else:
        created = False
    key = path.read_text().strip()
    if not key:
        raise RuntimeError(f"{path} is empty: delete it to have a new key generated")
    return key, created
