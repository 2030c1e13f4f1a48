"""Outgoing webhooks: the one place an event becomes a signed delivery to each endpoint.

Each door that changes something a receiver may want (core/subscribers, core/suppressions,
delivery/pipeline) calls `emit` in its own transaction: the outbox rows commit with the
change or not at all. The worker (delivery/webhooks.py) claims due rows with a lease and
POSTs them, signed as Standard Webhooks says (https://www.standardwebhooks.com/):

    webhook-id: msg_...            the same on every retry of one event
    webhook-timestamp: 1733389200  seconds, when this attempt was signed
    webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">

keyed with the base64-decoded part of the endpoint's `whsec_...` secret. For a day after a
rotation both the old and the new secret sign (two signatures, space-separated).

A receiver that does not answer 2xx is retried with exponential backoff and jitter for
RETRY_HOURS; then the endpoint is disabled, its waiting rows fail, and the admins get an
email. The caller commits.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import random
import secrets
import socket
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import delete, func, select, update

from bulletin.core.alerts import mail_admins
from bulletin.extensions import db
from bulletin.i18n import LANGUAGES, Language
from bulletin.mail.links import external_url
from bulletin.mail.rendering import render_email
from bulletin.models import (
    Send,
    Subscriber,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
    utcnow,
)

log = logging.getLogger(__name__)

#: The events an endpoint may ask for, with what the admin page calls them.
EVENT_TYPES: dict[str, str] = {
    "subscriber.confirmed": _l("A reader confirmed their subscription"),
    "subscriber.unsubscribed": _l("A reader unsubscribed (or complained)"),
    "subscriber.cleaned": _l("A reader was removed after their address bounced"),
    "complaint.received": _l("A reader marked a bulletin as spam"),
    "send.started": _l("A send started"),
    "send.finished": _l("A send finished"),
}
#: How long a failing delivery is retried before its endpoint is disabled.
RETRY_HOURS = 72
#: The first retry waits this long; each later one twice as long, up to MAX_BACKOFF_SECONDS.
FIRST_BACKOFF_SECONDS = 30
MAX_BACKOFF_SECONDS = 6 * 3600
#: Each wait is shortened by up to this fraction at random, so that a receiver coming back
#: after an outage is not hit by every retry at the same second.
JITTER = 0.25
#: How long the old secret keeps signing after a rotation.
ROTATION_HOURS = 24
#: Days a finished delivery stays in the log (its payload may hold a reader's address).
LOG_DAYS = 30
#: How much of a receiver's answer is read and kept for the log.
RESPONSE_BYTES = 1024
#: Why an endpoint is off: the worker gave up, or an admin switched it off.
DISABLED_FAILING = "failing"
DISABLED_BY_ADMIN = "admin"
#: The modes in which an endpoint may be http:// or a private or loopback address.
LOCAL_MODES = ("development", "testing")


# -- the payload ------------------------------------------------------------------------


def subscriber_data(subscriber: Subscriber, *, choices: bool = False) -> dict:
    """What a receiver gets about a reader: id and address; with `choices` (on confirm), the
    language, region and topic slugs too. Never a name, IP address, token or consent trail."""
    data = {"id": subscriber.id, "email": subscriber.email}
    if choices:
        data.update(
            language=subscriber.language,
            region=subscriber.region,
            topics=sorted(topic.slug for topic in subscriber.topics),
        )
    return data


def send_data(send: Send) -> dict:
    """What a receiver gets about a send: ids, the issue's slug, and its figures."""
    data = {
        "id": send.id,
        "issue_id": send.issue_id,
        "issue_slug": send.issue.slug,
        "recipients": send.recipient_count,
    }
    if send.finished_at is not None:
        data.update(sent=send.sent_count, failed=send.failed_count, skipped=send.skipped_count)
    return data


def emit(
    event_type: str, data: dict, *, subscriber_id: int | None = None, now: datetime | None = None
) -> int:
    """Queue the event for every active endpoint that asked for it, in the caller's
    transaction (no commit); returns how many rows were added. `subscriber_id`: the reader
    the payload names (erasure deletes the rows)."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event {event_type!r}")
    endpoints = [
        endpoint
        for endpoint in db.session.scalars(select(WebhookEndpoint).filter_by(active=True))
        if event_type in endpoint.types
    ]
    if not endpoints:
        return 0
    now = now or utcnow()
    body = json.dumps(
        {"type": event_type, "timestamp": _iso(now), "data": data},
        separators=(",", ":"),
        ensure_ascii=False,
    )
    for endpoint in endpoints:
        db.session.add(
            WebhookDelivery(
                endpoint_id=endpoint.id,
                msg_id=new_message_id(),
                event_type=event_type,
                subscriber_id=subscriber_id,
                payload=body,
                status=WebhookDeliveryStatus.PENDING,
                created_at=now,
                next_attempt_at=now,
            )
        )
    return len(endpoints)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def new_message_id() -> str:
    return "msg_" + secrets.token_urlsafe(24)


# -- signing ----------------------------------------------------------------------------


def new_secret() -> str:
    """A Standard Webhooks secret: whsec_ and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    """One Standard Webhooks signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.{body}".encode()
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signing_secrets(endpoint: WebhookEndpoint, now: datetime | None = None) -> list[str]:
    """The secrets that sign now: the current one, and the previous for a day after rotation."""
    now = now or utcnow()
    found = [endpoint.secret]
    if endpoint.previous_secret and (
        endpoint.previous_secret_until is None or endpoint.previous_secret_until > now
    ):
        found.append(endpoint.previous_secret)
    return found


def headers(delivery: WebhookDelivery, endpoint: WebhookEndpoint, now: datetime) -> dict:
    """The headers of one attempt, signed at `now`."""
    timestamp = int(now.timestamp())
    signatures = " ".join(
        sign(secret, delivery.msg_id, timestamp, delivery.payload)
        for secret in signing_secrets(endpoint, now)
    )
    return {
        "content-type": "application/json",
        "user-agent": "bulletin-webhooks/1",
        "webhook-id": delivery.msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signatures,
    }


# -- where a webhook may go (SSRF) ------------------------------------------------------


class UnsafeURL(ValueError):
    """An endpoint URL we will not POST to; the message says why, in the reader's language."""


def allows_local() -> bool:
    """Development and testing may use http:// and local addresses; production may not."""
    return current_app.config.get("ENV") in LOCAL_MODES


def check_url(url: str) -> str:
    """The URL, checked: https (outside development/testing), a host name that resolves only
    to public addresses, and not this service itself. Raises UnsafeURL."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise UnsafeURL(_("Enter a full web address, starting https://.")) from None
    local = allows_local()
    schemes = ("https", "http") if local else ("https",)
    if parts.scheme not in schemes or not parts.hostname:
        raise UnsafeURL(_("Enter a full web address, starting https://."))
    if parts.username or parts.password:
        raise UnsafeURL(_("Leave the user name and password out of the address."))
    if local:
        return url.strip()
    own = urlsplit(current_app.config.get("BASE_URL") or "").hostname
    if own and parts.hostname.lower() == own.lower():
        raise UnsafeURL(_("A webhook cannot point at this service itself."))
    for address in resolve(parts.hostname, port or 443):
        if not address.is_global or address.is_multicast:
            raise UnsafeURL(_("That address is on a private or local network: not allowed."))
    return url.strip()


def resolve(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Every address the host name has now; UnsafeURL when it has none."""
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise UnsafeURL(_("That host name does not resolve: check the address.")) from None
    found = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        found.append(address)
    return found


# -- the admin's verbs ------------------------------------------------------------------


def create_endpoint(url: str, event_types: list[str], description: str = "") -> WebhookEndpoint:
    """Register an endpoint with a new secret (check_url first)."""
    endpoint = WebhookEndpoint(
        url=check_url(url),
        description=description,
        event_types=" ".join(t for t in EVENT_TYPES if t in event_types),
        secret=new_secret(),
        active=True,
    )
    db.session.add(endpoint)
    db.session.flush()
    return endpoint


def rotate_secret(endpoint: WebhookEndpoint, now: datetime | None = None) -> str:
    """A new secret; the old one keeps signing for ROTATION_HOURS (or until dropped)."""
    now = now or utcnow()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_until = now + timedelta(hours=ROTATION_HOURS)
    endpoint.secret = new_secret()
    return endpoint.secret


def drop_previous_secret(endpoint: WebhookEndpoint) -> bool:
    """Stop signing with the old secret now; False when there was none."""
    had = endpoint.previous_secret is not None
    endpoint.previous_secret = endpoint.previous_secret_until = None
    return had


def disable(endpoint: WebhookEndpoint, reason: str, now: datetime | None = None) -> int:
    """Switch the endpoint off; its waiting deliveries fail. Returns how many failed."""
    now = now or utcnow()
    endpoint.active, endpoint.disabled_at, endpoint.disabled_reason = False, now, reason
    result = db.session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.endpoint_id == endpoint.id,
            WebhookDelivery.status == WebhookDeliveryStatus.PENDING,
        )
        .values(status=WebhookDeliveryStatus.FAILED, claimed_until=None, claimed_by=None)
    )
    return result.rowcount or 0


def enable(endpoint: WebhookEndpoint) -> None:
    """Switch it on again: events from now on are sent (those missed meanwhile are not)."""
    endpoint.active, endpoint.disabled_at, endpoint.disabled_reason = True, None, None


def forget_subscriber(subscriber_id: int) -> int:
    """Erasure: delete every delivery naming the reader, sent or not (their address is in it)."""
    result = db.session.execute(
        delete(WebhookDelivery).where(WebhookDelivery.subscriber_id == subscriber_id)
    )
    return result.rowcount or 0


def purge_log(cutoff: datetime, *, dry_run: bool = False) -> int:
    """Retention: delete deliveries that ended (delivered or given up) and began before cutoff."""
    where = (
        WebhookDelivery.status != WebhookDeliveryStatus.PENDING,
        WebhookDelivery.created_at < cutoff,
    )
    if dry_run:
        return db.session.scalar(select(func.count(WebhookDelivery.id)).where(*where)) or 0
    return db.session.execute(delete(WebhookDelivery).where(*where)).rowcount or 0


def delivery_log(endpoint: WebhookEndpoint):
    """The endpoint's deliveries, newest first (a query to paginate)."""
    return (
        select(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id)
        .order_by(WebhookDelivery.id.desc())
    )


# -- the worker's verbs -----------------------------------------------------------------


def claim(
    worker: str, lease_seconds: int, limit: int = 20, now: datetime | None = None
) -> list[int]:
    """Lease due deliveries to this worker (SKIP LOCKED on PostgreSQL) and commit."""
    now = now or utcnow()
    due = (
        select(WebhookDelivery.id)
        .where(
            WebhookDelivery.status == WebhookDeliveryStatus.PENDING,
            WebhookDelivery.next_attempt_at <= now,
            (WebhookDelivery.claimed_until.is_(None)) | (WebhookDelivery.claimed_until < now),
        )
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list(db.session.scalars(due))
    if ids:
        db.session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(ids))
            .values(claimed_by=worker, claimed_until=now + timedelta(seconds=lease_seconds))
        )
    db.session.commit()
    return ids


def release(ids: list[int], worker: str) -> None:
    """Hand leases back untried (their endpoint is unreachable this tick)."""
    if ids:
        db.session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(ids), WebhookDelivery.claimed_by == worker)
            .values(claimed_by=None, claimed_until=None)
        )


def backoff_seconds(attempts: int, rand: float | None = None) -> float:
    """The wait after the `attempts`-th failure: 30 s doubling to 6 h, less up to a quarter."""
    base = min(FIRST_BACKOFF_SECONDS * 2 ** (attempts - 1), MAX_BACKOFF_SECONDS)
    return base * (1 - JITTER * (random.random() if rand is None else rand))


def record_attempt(
    delivery: WebhookDelivery,
    *,
    status_code: int | None,
    response: str,
    now: datetime | None = None,
) -> None:
    """2xx: delivered. Anything else: retried later, or after RETRY_HOURS the endpoint is
    disabled and the admins are told."""
    now = now or utcnow()
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.last_status_code = status_code
    delivery.last_response = response[:RESPONSE_BYTES]
    delivery.claimed_by = delivery.claimed_until = None
    if status_code is not None and 200 <= status_code < 300:
        delivery.status, delivery.delivered_at = WebhookDeliveryStatus.DELIVERED, now
        return
    if now - delivery.created_at >= timedelta(hours=RETRY_HOURS):
        delivery.status = WebhookDeliveryStatus.FAILED
        endpoint = delivery.endpoint
        if endpoint.active:
            disable(endpoint, DISABLED_FAILING, now)
            log.warning(
                "webhook endpoint %s disabled after %d h of failures", endpoint.id, RETRY_HOURS
            )
            mail_admins(render_disabled_email(endpoint), kind="webhook-disabled")
        return
    delivery.next_attempt_at = now + timedelta(seconds=backoff_seconds(delivery.attempts))


def render_disabled_email(endpoint: WebhookEndpoint):
    """The mail to admins about a disabled endpoint: Welsh, then English."""
    context = {
        "endpoint": endpoint,
        "hours": RETRY_HOURS,
        "endpoint_url": external_url("webhook_admin.endpoint", endpoint_id=endpoint.id),
    }
    parts = []
    for lang in LANGUAGES:
        with force_locale(lang):
            parts.append(
                {
                    "lang": lang,
                    "html": Markup(render_template("email/_webhook-disabled-body.html", **context)),
                    "text": render_template("email/_webhook-disabled-body.txt", **context),
                    "subject": _("A webhook endpoint was switched off"),
                }
            )
    return render_email("webhook-disabled", Language.CY, parts=parts)
