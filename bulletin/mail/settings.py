"""Delivery settings, read once from the app config into a frozen dataclass."""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parseaddr

from flask import Flask

from bulletin.mail.messages import default_list_id
from bulletin.mail.mime import domain_of


@dataclass(frozen=True)
class DeliverySettings:
    smtp_url: str | None
    smtp_timeout: float
    outbox_dir: str
    mail_from: str
    reply_to: str | None
    base_url: str
    list_id: str
    bounce_domain: str | None
    dkim_selector: str | None
    dkim_domain: str | None
    dkim_private_key_path: str | None
    smtp_connections: int
    rate_per_second: float
    rate_per_hour: float
    max_attempts: int
    batch_size: int
    lease_seconds: int
    outbox_max_age_hours: int
    grace_hours: float
    tick_seconds: float
    retry_seconds: float = 60.0
    smtp_down_pause_seconds: float = 5.0
    #: CLICK_COUNTING: links in a send's mail go through /r/ (core/clicks.py).
    click_counting: bool = True
    #: REQUIRE_APPROVAL: only sends a second editor approved are started.
    require_approval: bool = False

    @property
    def from_address(self) -> str:
        """The bare address of MAIL_FROM."""
        return parseaddr(self.mail_from)[1]

    @property
    def mail_domain(self) -> str:
        """The domain of MAIL_FROM, used for Message-IDs and the List-Id."""
        return domain_of(self.mail_from)

    @classmethod
    def from_app(cls, app: Flask) -> DeliverySettings:
        """Read the settings from an app's config."""
        c = app.config
        return cls(
            smtp_url=c.get("SMTP_URL"),
            smtp_timeout=float(c["SMTP_TIMEOUT"]),
            outbox_dir=c["OUTBOX_DIR"],
            mail_from=c["MAIL_FROM"],
            reply_to=c.get("REPLY_TO"),
            base_url=c["BASE_URL"],
            list_id=default_list_id(c),
            bounce_domain=c.get("BOUNCE_DOMAIN"),
            dkim_selector=c.get("DKIM_SELECTOR"),
            dkim_domain=c.get("DKIM_DOMAIN"),
            dkim_private_key_path=c.get("DKIM_PRIVATE_KEY_PATH"),
            smtp_connections=int(c["SMTP_CONNECTIONS"]),
            rate_per_second=float(c["SEND_RATE_PER_SECOND"]),
            rate_per_hour=float(c["SEND_RATE_PER_HOUR"]),
            max_attempts=int(c["SEND_MAX_ATTEMPTS"]),
            batch_size=int(c["SEND_BATCH_SIZE"]),
            lease_seconds=int(c["SEND_LEASE_SECONDS"]),
            outbox_max_age_hours=int(c["OUTBOX_MAX_AGE_HOURS"]),
            grace_hours=float(c["SEND_GRACE_HOURS"]),
            tick_seconds=float(c["WORKER_TICK_SECONDS"]),
            retry_seconds=float(c["SEND_RETRY_SECONDS"]),
            smtp_down_pause_seconds=float(c["SMTP_DOWN_PAUSE_SECONDS"]),
            click_counting=bool(c["CLICK_COUNTING"]),
            require_approval=bool(c.get("REQUIRE_APPROVAL", False)),
        )
