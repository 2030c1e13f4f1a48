"""Bounces read from mailboxes: mbox files, Maildir folders and an IMAP mailbox."""

from __future__ import annotations

import imaplib
import logging
import mailbox
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from bulletin.bounces.ingest import ingest_raw
from bulletin.bounces.pool import classify_isolated
from bulletin.config import Config
from bulletin.extensions import db

log = logging.getLogger(__name__)

#: IMAP keyword set (with \Seen) on every message we recorded: the next poll skips it.
PROCESSED_KEYWORD = "BulletinProcessed"
#: The worker's polling interval: fixed when the worker starts, like every APScheduler job.
POLL_SECONDS = float(Config.BOUNCE_IMAP_POLL_SECONDS)


@dataclass
class Tally:
    """What one run did."""

    processed: int = 0
    duplicates: int = 0
    failed: int = 0

    def add(self, outcome: bool | None) -> None:
        """Count one message: True processed, None seen before, False failed."""
        if outcome is None:
            self.duplicates += 1
        elif outcome:
            self.processed += 1
        else:
            self.failed += 1


def process_one(raw: bytes, source: str) -> bool | None:
    """Ingest and commit one message: True done, None already done, False failed (rolled back)."""
    try:
        # Off-process and time-limited: in embedded mode this poll runs in the web process.
        event = ingest_raw(raw, source=source, classification=classify_isolated(raw))
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("could not process a message from %s", source)
        return False
    return None if event is None else True


def open_path(path: str) -> tuple[str, mailbox.Mailbox]:
    """The source name and the mailbox of a Maildir folder or an mbox file."""
    where = Path(path)
    if where.is_dir():
        if not (where / "cur").is_dir() and not (where / "new").is_dir():
            raise ValueError(f"{path} is a directory but not a Maildir folder")
        return "maildir", mailbox.Maildir(str(where), factory=None, create=False)
    if not where.is_file():
        raise ValueError(f"{path} is neither an mbox file nor a Maildir folder")
    return "mbox", mailbox.mbox(str(where), create=False)


def process_path(path: str) -> Tally:
    """Process every message of a Maildir folder or an mbox file (re-reading changes nothing)."""
    source, box = open_path(path)
    tally = Tally()
    try:
        for key in sorted(box.keys()) if source == "maildir" else box.keys():
            tally.add(process_one(box.get_bytes(key), source))
    finally:
        box.close()
    return tally


@dataclass(frozen=True)
class ImapAddress:
    """Where to log in: parsed from imaps://user:pass@host[:port]/MAILBOX."""

    is_ssl: bool
    host: str
    port: int
    user: str
    password: str
    mailbox: str


def parse_imap_url(url: str) -> ImapAddress:
    """Parse BOUNCE_IMAP_URL (imaps:// or imap://; user and password percent-encoded)."""
    parts = urlsplit(url)
    if parts.scheme not in ("imap", "imaps") or not parts.hostname or parts.username is None:
        raise ValueError("BOUNCE_IMAP_URL must look like imaps://user:password@host/INBOX")
    is_ssl = parts.scheme == "imaps"
    return ImapAddress(
        is_ssl,
        parts.hostname,
        parts.port or (993 if is_ssl else 143),
        unquote(parts.username),
        unquote(parts.password or ""),
        unquote(parts.path.lstrip("/")) or "INBOX",
    )


def connect_imap(
    where: ImapAddress, *, timeout: float = 60.0, ca_file: str | None = None
) -> imaplib.IMAP4:
    """Open the connection; over TLS, only to a server whose certificate names where.host.

    imaplib's own default TLS context checks neither the certificate nor the host name, so
    anyone on the path could read the password: give it the default verifying context, with
    ca_file (BOUNCE_IMAP_CA_FILE) as the only authority when a private CA signs the server's.
    """
    if not where.is_ssl:
        return imaplib.IMAP4(where.host, where.port, timeout=timeout)
    context = ssl.create_default_context(cafile=ca_file)
    return imaplib.IMAP4_SSL(where.host, where.port, ssl_context=context, timeout=timeout)


def poll_imap(url: str, *, timeout: float = 60.0, ca_file: str | None = None) -> Tally:
    """Process unprocessed messages of the mailbox, then flag them \\Seen and processed."""
    where = parse_imap_url(url)
    conn = connect_imap(where, timeout=timeout, ca_file=ca_file)
    tally = Tally()
    try:
        conn.login(where.user, where.password)
        _check(conn.select(_quoted(where.mailbox)))
        typ, data = conn.uid("SEARCH", None, "UNKEYWORD", PROCESSED_KEYWORD, "UNDELETED")
        _check((typ, data))
        for uid in (data[0] or b"").split():
            tally.add(_poll_one(conn, uid.decode()))
    finally:
        _logout(conn)
    return tally


def _poll_one(conn: imaplib.IMAP4, uid: str) -> bool | None:
    typ, data = conn.uid("FETCH", uid, "(BODY.PEEK[])")
    raw = next((item[1] for item in data or [] if isinstance(item, tuple)), None)
    if typ != "OK" or raw is None:
        log.warning("IMAP message %s could not be fetched", uid)
        return False
    outcome = process_one(raw, "imap")
    if outcome is not False:  # recorded (or recorded before): flag it; failures stay unseen
        _check(conn.uid("STORE", uid, "+FLAGS", f"(\\Seen {PROCESSED_KEYWORD})"))
    return outcome


def _quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check(response: tuple) -> None:
    if response[0] != "OK":
        raise imaplib.IMAP4.error(f"IMAP server said {response[0]}: {response[1]!r}")


def _logout(conn: imaplib.IMAP4) -> None:
    try:
        conn.logout()
    except (imaplib.IMAP4.error, OSError):
        pass


def poll_bounce_mailbox(worker) -> None:
    """The worker's job: poll BOUNCE_IMAP_URL when it is set."""
    url = worker.app.config.get("BOUNCE_IMAP_URL")
    if not url:
        return
    try:
        tally = poll_imap(url, ca_file=worker.app.config.get("BOUNCE_IMAP_CA_FILE"))
    except ssl.SSLCertVerificationError as exc:
        # Not logged in, nothing read: say why in one line; the next poll tries again.
        log.error(
            "bounce mailbox: refused the IMAP server's TLS certificate (%s); if a "
            "private CA signs it, set BOUNCE_IMAP_CA_FILE",
            exc.verify_message,
        )
        return
    if tally.processed or tally.failed:
        log.info(
            "bounce mailbox: %d processed, %d failed, %d seen before",
            tally.processed,
            tally.failed,
            tally.duplicates,
        )
