"""Mail backends: an SMTP relay, or a folder of .eml files (the embedded default)."""

from __future__ import annotations

import os
import smtplib
import ssl
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit


@dataclass(frozen=True)
class SendResult:
    """What the server said about one message."""

    ok: bool
    code: int | None = None
    reply: str = ""
    #: True when the server could not be reached at all (retry later, not the message's fault).
    connection_error: bool = False

    @property
    def is_permanent(self) -> bool:
        """A 5xx reply: do not retry."""
        return self.code is not None and 500 <= self.code < 600

    @property
    def enhanced_status(self) -> str | None:
        """The RFC 3463 code at the start of the reply text, e.g. '5.1.1'."""
        head = self.reply.split(" ", 1)[0]
        parts = head.split(".")
        if len(parts) == 3 and all(p.isdigit() for p in parts):
            return head
        return None


class MailBackend(Protocol):
    def send(self, message: bytes, sender: str, recipients: list[str]) -> SendResult: ...

    def close(self) -> None: ...


class OutboxDirBackend:
    """Writes each message as <time>-<random>.eml, atomically (write, then rename)."""

    def __init__(self, directory: str):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def send(self, message: bytes, sender: str, recipients: list[str]) -> SendResult:
        name = f"{uuid.uuid1().hex}.eml"
        tmp = self.directory / f".{name}.tmp"
        tmp.write_bytes(message)
        os.replace(tmp, self.directory / name)
        return SendResult(ok=True, code=250, reply="written to outbox folder")

    def close(self) -> None:
        pass


class SMTPBackend:
    """One SMTP connection, kept open across messages and reopened when it drops."""

    def __init__(self, url: str, timeout: float = 30.0):
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtp+starttls", "smtps"):
            raise ValueError(
                f"SMTP_URL scheme must be smtp, smtp+starttls or smtps, not {parts.scheme!r}"
            )
        self.scheme = parts.scheme
        self.host = parts.hostname or "localhost"
        self.port = parts.port or {"smtp": 25, "smtp+starttls": 587, "smtps": 465}[parts.scheme]
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.timeout = timeout
        self._conn: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        if self.scheme == "smtps":
            conn = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        conn.ehlo()
        if self.scheme == "smtp+starttls":
            if not conn.has_extn("starttls"):
                conn.close()
                # MBX-04: never fall back to plaintext when TLS was asked for.
                raise smtplib.SMTPNotSupportedError("server does not offer STARTTLS")
            conn.starttls(context=context)
            conn.ehlo()
        if self.username:
            conn.login(self.username, self.password or "")
        return conn

    def send(self, message: bytes, sender: str, recipients: list[str]) -> SendResult:
        try:
            if self._conn is None:
                self._conn = self._connect()
            return self._sendmail(message, sender, recipients)
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPNotSupportedError, OSError) as exc:
            self.close()
            return SendResult(ok=False, reply=str(exc)[:500], connection_error=True)
        except smtplib.SMTPAuthenticationError as exc:
            self.close()
            return SendResult(
                ok=False, code=exc.smtp_code, reply=_text(exc.smtp_error), connection_error=True
            )

    def _sendmail(self, message: bytes, sender: str, recipients: list[str]) -> SendResult:
        """MAIL, RCPT, DATA by hand: smtplib.sendmail re-parses both addresses and runs a
        dot-stuffing regex over every message, which costs more than building it. Our
        messages are 7-bit and rarely have a line starting with '.', so a byte search
        decides whether stuffing is needed at all."""
        conn = self._conn
        assert conn is not None
        for address in (sender, *recipients):
            if any(c in address for c in "\r\n<>"):
                return SendResult(ok=False, code=501, reply="5.1.3 bad address syntax")
        if conn.does_esmtp and conn.has_extn("pipelining"):
            refused = self._envelope_pipelined(conn, sender, recipients)
        else:
            refused = self._envelope(conn, sender, recipients)
        if refused is not None:
            return refused
        if message.startswith(b".") or b"\n." in message:
            message = smtplib._quote_periods(message)
        if not message.endswith(b"\r\n"):
            message += b"\r\n"
        conn.send(message + b".\r\n")
        code, reply = conn.getreply()
        if code != 250:
            return self._refused(code, reply)
        return SendResult(ok=True, code=250, reply=_text(reply))

    def _envelope(
        self, conn: smtplib.SMTP, sender: str, recipients: list[str]
    ) -> SendResult | None:
        """MAIL, RCPT..., DATA one round trip each; None when the server said go ahead."""
        code, reply = conn.docmd("MAIL", f"FROM:<{sender}>")
        if code != 250:
            return self._refused(code, reply)
        for recipient in recipients:
            code, reply = conn.docmd("RCPT", f"TO:<{recipient}>")
            if code not in (250, 251):
                return self._refused(code, reply)
        code, reply = conn.docmd("DATA")
        return None if code == 354 else self._refused(code, reply)

    def _envelope_pipelined(
        self, conn: smtplib.SMTP, sender: str, recipients: list[str]
    ) -> SendResult | None:
        """RFC 2920: MAIL, RCPT... and DATA in one write, then read the replies in order."""
        lines = [f"MAIL FROM:<{sender}>", *(f"RCPT TO:<{r}>" for r in recipients), "DATA"]
        conn.send("".join(line + "\r\n" for line in lines))
        replies = [conn.getreply() for _ in lines]
        expected = [(250,), *[(250, 251)] * len(recipients), (354,)]
        for (code, reply), wanted in zip(replies, expected, strict=True):
            if code not in wanted:
                if replies[-1][0] == 354:  # DATA was accepted anyway: end it empty
                    conn.send(b".\r\n")
                    conn.getreply()
                return self._refused(code, reply)
        return None

    def _refused(self, code: int, reply: bytes) -> SendResult:
        if code == -1 or code == 421:  # the server hung up or is closing
            self.close()
            return SendResult(
                ok=False,
                code=code if code > 0 else None,
                reply=_text(reply),
                connection_error=code == -1,
            )
        self._reset()
        return SendResult(ok=False, code=code, reply=_text(reply))

    def _reset(self) -> None:
        try:
            if self._conn is not None:
                self._conn.rset()
        except (smtplib.SMTPException, OSError):
            self.close()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.quit()
            except (smtplib.SMTPException, OSError):
                conn.close()


def _text(reply: bytes | str) -> str:
    if isinstance(reply, bytes):
        reply = reply.decode("utf-8", "replace")
    return reply[:500]


def make_backend(smtp_url: str | None, outbox_dir: str, timeout: float = 30.0) -> MailBackend:
    """The configured backend: SMTP when SMTP_URL is set, else the outbox folder."""
    if smtp_url:
        return SMTPBackend(smtp_url, timeout=timeout)
    return OutboxDirBackend(outbox_dir)
