"""Send due webhook deliveries: POST each, signed, with a timeout, never following a redirect.

The rules (what is due, signing, backoff, giving up) live in core/webhooks.py; this is the
HTTP side. A receiver that cannot be reached (refused, timed out, not resolving) gets no
more attempts this tick: its other claimed rows are handed back untried, so one dead
receiver costs one timeout per tick rather than one per waiting event.
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from dataclasses import dataclass

from bulletin.core import webhooks
from bulletin.extensions import db
from bulletin.models import WebhookDelivery, WebhookDeliveryStatus, utcnow

log = logging.getLogger(__name__)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A 3xx is an answer like any other non-2xx (retried), never a new place to POST to."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


#: No proxies from the environment: the SSRF check looked at the endpoint's own address.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects())


@dataclass(frozen=True)
class Answer:
    status_code: int | None  #: None: no HTTP answer (refused, timed out, refused by the check)
    text: str

    @property
    def unreachable(self) -> bool:
        return self.status_code is None


def post(url: str, body: bytes, headers: dict, timeout: float) -> Answer:
    """One POST; the answer's status and its first RESPONSE_BYTES, or why there was none."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return Answer(response.status, _read(response))
    except urllib.error.HTTPError as exc:  # non-2xx, including a 3xx not followed
        with exc:
            return Answer(exc.code, _read(exc))
    except OSError as exc:  # URLError, refused, reset, timed out (TimeoutError)
        reason = getattr(exc, "reason", exc)
        return Answer(None, f"no answer: {reason}"[: webhooks.RESPONSE_BYTES])


def _read(response) -> str:
    try:
        return response.read(webhooks.RESPONSE_BYTES).decode("utf-8", "replace")
    except OSError:
        return ""


def deliver_webhooks(worker_name: str, *, timeout: float, limit: int = 20) -> int:
    """Send what is due; returns how many were delivered.

    The lease outlasts the worst case of the batch (connect, send and read each up to
    `timeout`), so another worker never takes a row this one is still sending. Should it
    run out anyway, a receiver may get an event twice, with the same webhook-id.
    """
    ids = webhooks.claim(worker_name, int(limit * timeout * 3) + 30, limit)
    unreachable: set[int] = set()
    delivered = 0
    for row_id in ids:
        row = db.session.get(WebhookDelivery, row_id)
        if row is None or row.status != WebhookDeliveryStatus.PENDING:
            continue
        endpoint = row.endpoint
        if endpoint.id in unreachable:
            webhooks.release([row.id], worker_name)
            db.session.commit()
            continue
        answer = _attempt(row, timeout)
        webhooks.record_attempt(row, status_code=answer.status_code, response=answer.text)
        db.session.commit()
        if answer.status_code is not None and 200 <= answer.status_code < 300:
            delivered += 1
        elif answer.unreachable:
            log.info("webhook endpoint %s unreachable: %s", endpoint.id, answer.text)
            unreachable.add(endpoint.id)
    return delivered


def _attempt(row: WebhookDelivery, timeout: float) -> Answer:
    endpoint = row.endpoint
    try:
        # Checked again at each attempt: a name may point somewhere private since it was saved.
        url = webhooks.check_url(endpoint.url)
    except webhooks.UnsafeURL as exc:
        return Answer(None, f"refused: {exc}")
    now = utcnow()
    return post(url, row.payload.encode(), webhooks.headers(row, endpoint, now), timeout)
