"""`bulletin bounce-server`: an SMTP or LMTP listener for the VERP bounce domain."""

from __future__ import annotations

import asyncio
import logging

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session
from flask import Flask

from bulletin.bounces.pool import classify_isolated
from bulletin.extensions import db

log = logging.getLogger(__name__)


class BounceHandler:
    """Accepts mail for BOUNCE_DOMAIN only, and records each message before answering 250."""

    def __init__(self, app: Flask, *, lmtp: bool = False):
        self.app, self.lmtp = app, lmtp
        self.domain = (app.config.get("BOUNCE_DOMAIN") or "").lower()

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if not self.domain or not address.lower().endswith("@" + self.domain):
            return "550 5.1.1 Not a bounce address of this server"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        try:
            # The database work blocks: a thread keeps the listener answering other clients.
            await asyncio.to_thread(self.record, raw, list(envelope.rcpt_tos))
            reply = "250 2.0.0 Recorded"
        except Exception:
            log.exception("could not record an inbound message; the MTA will retry")
            reply = "451 4.3.0 Temporary failure, please retry"
        # LMTP answers once per recipient; the message was recorded once for all of them.
        return "\r\n".join([reply] * len(envelope.rcpt_tos)) if self.lmtp else reply

    def record(self, raw: bytes, recipients: list[str]) -> None:
        """Process and commit one message inside an app context (runs in a worker thread)."""
        from bulletin.bounces.ingest import ingest_raw

        with self.app.app_context():
            try:
                # In a worker process: this thread only waits, so the event loop keeps answering.
                result = classify_isolated(raw)
                event = ingest_raw(raw, source="smtp", recipients=recipients, classification=result)
                db.session.commit()
                if event is not None:
                    log.info("inbound %s: %s", event.kind, event.action)
            except Exception:
                db.session.rollback()
                raise
            finally:
                db.session.remove()


class _SizeReplies:
    """Words an MTA's bounce log can explain: aiosmtpd's 552 says only "Error: Too much..."."""

    data_size_limit: int | None

    async def push(self, status: str) -> None:
        if status.startswith("552 Error:"):
            status = (
                f"552 5.3.4 Message too big for this server (limit {self.data_size_limit} bytes)"
            )
        await super().push(status)  # type: ignore[misc]


class _BounceSMTP(_SizeReplies, SMTP):
    pass


class _BounceLMTP(_SizeReplies, LMTP):
    pass


class BounceController(Controller):
    """aiosmtpd's threaded controller, speaking LMTP when asked.

    aiosmtpd advertises data_size_limit as SIZE in its EHLO reply, refuses a larger SIZE= at
    MAIL FROM, and discards (never buffers) the rest of a DATA that runs over it.
    """

    def __init__(self, handler: BounceHandler, *, hostname: str, port: int, max_bytes: int):
        super().__init__(
            handler, hostname=hostname, port=port, decode_data=False, data_size_limit=max_bytes
        )

    def factory(self) -> SMTP:
        if self.handler.lmtp:
            return _BounceLMTP(self.handler, **self.SMTP_kwargs)
        return _BounceSMTP(self.handler, **self.SMTP_kwargs)


def make_server(app: Flask, host: str, port: int, *, lmtp: bool = False) -> BounceController:
    """A stopped listener; call .start() and .stop() (then close_classifier_pool(app))."""
    return BounceController(
        BounceHandler(app, lmtp=lmtp),
        hostname=host,
        port=port,
        max_bytes=int(app.config["BOUNCE_MAX_MESSAGE_BYTES"]),
    )
