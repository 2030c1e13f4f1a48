"""`bulletin doctor`: check a deployment and say what to fix, one line per check.

Each check returns `Check`s (OK, WARN or FAIL, with what to do); the command prints them and
exits 1 when any FAILed. The checks read settings from the app but take their outside world
(the SSL context, the DNS resolver) as arguments, so tests give them a private CA and a stub.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import Flask
from sqlalchemy import text

from bulletin.config import PUBLISHED_SECRETS
from bulletin.extensions import db
from bulletin.ops import schema


class Status(StrEnum):
    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Check:
    """One finding: which check, how it went, and what it saw or what to do."""

    name: str
    status: Status
    message: str

    def as_dict(self) -> dict:
        return asdict(self) | {"status": str(self.status)}

    def line(self) -> str:
        return f"{self.status:<4} {self.name}: {self.message}"


def ok(name: str, message: str) -> Check:
    return Check(name, Status.OK, message)


def warn(name: str, message: str) -> Check:
    return Check(name, Status.WARN, message)


def fail(name: str, message: str) -> Check:
    return Check(name, Status.FAIL, message)


def check_config(app: Flask) -> Iterable[Check]:
    """Production settings: mode, keys, BASE_URL over https, mail and DKIM settings."""
    config = app.config
    production = config["ENV"] == "production"
    yield (ok if production else warn)(
        "config.env",
        f"BULLETIN_ENV={config['ENV']}"
        + ("" if production else ": set BULLETIN_ENV=production on a live installation"),
    )
    yield _check_secret(config, production)
    if config.get("HASH_KEY"):
        yield ok("config.hash_key", "HASH_KEY is set")
    else:
        yield (fail if production else warn)(
            "config.hash_key",
            "HASH_KEY is unset: set a long random value, kept for good "
            "(suppression-list hashes depend on it)",
        )
    base_url = config["BASE_URL"]
    if base_url.startswith("https://"):
        yield ok("config.base_url", f"BASE_URL={base_url}")
    else:
        yield (fail if production else warn)(
            "config.base_url",
            f"BASE_URL={base_url} is not https: links in mail and the "
            "session cookie need https; set BASE_URL=https://your-host",
        )
    if config.get("SMTP_URL"):
        yield ok("config.smtp_url", "SMTP_URL is set")
    else:
        yield (fail if production else warn)(
            "config.smtp_url",
            f"SMTP_URL is unset: mail is written to {config['OUTBOX_DIR']} "
            "and never sent; set SMTP_URL=smtp+starttls://user:pass@relay:587",
        )
    yield _check_dkim_key(config)


def _check_secret(config, production: bool) -> Check:
    keys = config["SECRET_KEYS"]
    if not keys or PUBLISHED_SECRETS.intersection(keys):
        return fail(
            "config.secret_key",
            "SECRET_KEY is unset or a published value: set it to "
            "a long random value (python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))')",
        )
    if len(keys[0]) < 32:
        return (fail if production else warn)(
            "config.secret_key", f"SECRET_KEY is {len(keys[0])} characters: use 32 or more"
        )
    return ok("config.secret_key", f"{len(keys)} key(s), the first {len(keys[0])} characters")


def _check_dkim_key(config) -> Check:
    path = config.get("DKIM_PRIVATE_KEY_PATH")
    if not (config.get("DKIM_SELECTOR") and config.get("DKIM_DOMAIN") and path):
        return warn(
            "config.dkim",
            "DKIM is off: set DKIM_SELECTOR, DKIM_DOMAIN and "
            "DKIM_PRIVATE_KEY_PATH so receivers can trust your mail",
        )
    try:
        dkim_public_key(path)
    except (OSError, ValueError) as exc:
        return fail("config.dkim", f"cannot read the RSA key at {path}: {exc}")
    return ok(
        "config.dkim",
        f"signing as {config['DKIM_SELECTOR']}._domainkey.{config['DKIM_DOMAIN']} with {path}",
    )


def dkim_public_key(path: str) -> bytes:
    """The DER SubjectPublicKeyInfo of the RSA private key at `path` (what p= holds)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA key")
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def check_database(app: Flask) -> Iterable[Check]:
    """The database answers, and its schema is at this code's migration head."""
    url = db.engine.url.render_as_string(hide_password=True)
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = schema.database_revision(conn)
    except Exception as exc:  # any driver error: say it, do not crash
        yield fail("database.connect", f"cannot reach {url}: {type(exc).__name__}: {exc}")
        return
    yield ok("database.connect", f"{db.engine.dialect.name} at {url}")
    head = schema.code_head()
    if current == head:
        yield ok("database.migrations", f"at head {head}")
    elif current is None:
        yield fail("database.migrations", "no schema yet: run `bulletin init`")
    elif not schema.is_known(current):
        yield fail(
            "database.migrations",
            f"the database is at {current}, a migration this "
            "code does not know: install the bulletin version that wrote it",
        )
    else:
        yield fail(
            "database.migrations",
            f"at {current}, head is {head}: run `bulletin init` "
            "(or `flask db upgrade`), then restart the workers",
        )


def check_smtp(app: Flask, context: ssl.SSLContext | None = None) -> Iterable[Check]:
    """Connect to SMTP_URL, EHLO, STARTTLS when asked or offered, and log in."""
    url = app.config.get("SMTP_URL")
    if not url:
        yield warn("smtp", "SMTP_URL is unset: nothing to check")
        return
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtp+starttls", "smtps"):
        yield fail("smtp.url", f"scheme {parts.scheme!r}: use smtp, smtp+starttls or smtps")
        return
    host = parts.hostname or "localhost"
    port = parts.port or {"smtp": 25, "smtp+starttls": 587, "smtps": 465}[parts.scheme]
    context = context or ssl.create_default_context()
    timeout = min(app.config["SMTP_TIMEOUT"], 15.0)
    where = f"{host}:{port}"
    try:
        if parts.scheme == "smtps":
            conn = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
        else:
            conn = smtplib.SMTP(host, port, timeout=timeout)
    except (OSError, smtplib.SMTPException) as exc:
        yield fail("smtp.connect", f"cannot connect to {where}: {_reason(exc)}")
        return
    try:
        yield ok("smtp.connect", f"{where} ({parts.scheme})")
        yield from _smtp_session(conn, parts, context, local=_is_local(host))
    finally:
        try:
            conn.quit()
        except (OSError, smtplib.SMTPException):
            conn.close()


def _smtp_session(
    conn: smtplib.SMTP, parts, context: ssl.SSLContext, local: bool
) -> Iterable[Check]:
    try:
        code, reply = conn.ehlo()
    except (OSError, smtplib.SMTPException) as exc:
        yield fail("smtp.ehlo", _reason(exc))
        return
    if code != 250:
        yield fail("smtp.ehlo", f"refused: {code} {reply.decode(errors='replace')}")
        return
    yield ok("smtp.ehlo", reply.decode(errors="replace").splitlines()[0])
    offered = conn.has_extn("starttls")
    if parts.scheme == "smtp+starttls":
        if not offered:
            yield fail(
                "smtp.starttls",
                "the server does not offer STARTTLS, and bulletin "
                "never falls back to plain text: fix the relay or the scheme",
            )
            return
        try:
            conn.starttls(context=context)
            conn.ehlo()
        except (OSError, smtplib.SMTPException) as exc:
            yield fail("smtp.starttls", _reason(exc))
            return
        yield ok("smtp.starttls", f"{conn.sock.version()}, certificate verified")
    elif parts.scheme == "smtps":
        yield ok("smtp.tls", f"{conn.sock.version()}, certificate verified")
    elif offered or not local:
        yield warn(
            "smtp.starttls",
            "mail goes to the relay in plain text: use "
            "smtp+starttls://" + ("" if offered else " (the relay does not offer it yet)"),
        )
    yield from _smtp_login(conn, parts)


def _smtp_login(conn: smtplib.SMTP, parts) -> Iterable[Check]:
    if not parts.username:
        yield ok("smtp.auth", "no credentials in SMTP_URL: none tried")
        return
    if not conn.has_extn("auth"):
        yield fail(
            "smtp.auth",
            "SMTP_URL has credentials but the server offers no AUTH here"
            + ("" if parts.scheme != "smtp" else " (many only offer it after STARTTLS)"),
        )
        return
    # One mechanism, not smtplib's login() that retries each in turn after a refusal.
    offered = (conn.esmtp_features.get("auth") or "").upper().split()
    mechanism = next((m for m in ("PLAIN", "LOGIN", "CRAM-MD5") if m in offered), None)
    if mechanism is None:
        yield fail(
            "smtp.auth",
            f"the server offers AUTH {' '.join(offered)}, none of PLAIN, LOGIN or CRAM-MD5",
        )
        return
    conn.user, conn.password = unquote(parts.username), unquote(parts.password or "")
    try:
        conn.auth(mechanism, getattr(conn, "auth_" + mechanism.lower().replace("-", "_")))
    except smtplib.SMTPAuthenticationError as exc:
        yield fail(
            "smtp.auth",
            f"the server refused the login: {_reason(exc)}: "
            "check the user and password in SMTP_URL",
        )
        return
    except (OSError, smtplib.SMTPException) as exc:
        yield fail("smtp.auth", _reason(exc))
        return
    yield ok("smtp.auth", f"logged in as {conn.user} ({mechanism})")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        message = (
            exc.smtp_error.decode(errors="replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        return f"{exc.smtp_code} {message}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _is_local(host: str) -> bool:
    try:
        return socket.gethostbyname(host).startswith("127.")
    except OSError:
        return False


#: The groups of checks, in the order they run; DNS comes from bulletin.ops.dnscheck.
GROUPS = ("config", "database", "smtp", "dns")


def run_checks(
    app: Flask, *, skip: Iterable[str] = (), context: ssl.SSLContext | None = None, resolver=None
) -> list[Check]:
    """Every check not skipped, in order, as a list."""
    from bulletin.ops import dnscheck

    found: list[Check] = []
    with app.app_context():
        if "config" not in skip:
            found += check_config(app)
        if "database" not in skip:
            found += check_database(app)
        if "smtp" not in skip:
            found += check_smtp(app, context)
        if "dns" not in skip:
            found += dnscheck.check_dns(app, resolver or dnscheck.DnsResolver())
    return found
