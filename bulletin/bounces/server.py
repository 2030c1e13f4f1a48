"""`bulletin bounce-server`: an SMTP or LMTP listener for the VERP bounce domain."""

from __future__ import annotations

import asyncio
import logging

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session
from flask import Flask

from ..extensions import db

log = logging.getLogger(__name__)


class BounceHandler:
    """Accepts mail for BOUNCE_DOMAIN only, and records each message before answering 250."""

    def __init__(self, app: Flask, *, lmtp: bool = False):
        self.app, self.lmtp = app, lmtp
        self.domain = (app.config.get("BOUNCE_DOMAIN") or "").lower()

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
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
        from .ingest import ingest_raw

        with self.app.app_context():
            try:
                event = ingest_raw(raw, source="smtp", recipients=recipients)
                db.session.commit()
                if event is not None:
                    log.info("inbound %s: %s", event.kind, event.action)
            except Exception:
                db.session.rollback()
                raise
            finally:
                db.session.remove()


class BounceController(Controller):
    """aiosmtpd's threaded controller, speaking LMTP when asked."""

    def __init__(self, handler: BounceHandler, *, hostname: str, port: int):
        super().__init__(handler, hostname=hostname, port=port, decode_data=False,
                         data_size_limit=20 * 1024 * 1024)

    def factory(self) -> SMTP:
        if self.handler.lmtp:
            return LMTP(self.handler, **self.SMTP_kwargs)
        return SMTP(self.handler, **self.SMTP_kwargs)


def make_server(app: Flask, host: str, port: int, *, lmtp: bool = False) -> BounceController:
    """A stopped listener; call .start() and .stop()."""
    return BounceController(BounceHandler(app, lmtp=lmtp), hostname=host, port=port)
