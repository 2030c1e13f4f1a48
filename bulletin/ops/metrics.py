"""Prometheus metrics: web requests counted per process, the rest read from the database.

Web requests are counted in each web process (with gunicorn's several processes, in
prometheus_client's multiprocess mode when PROMETHEUS_MULTIPROC_DIR is set). Worker and
delivery figures are gauges computed from the database at scrape time, so they are true
across every worker process on every machine, whichever web process is scraped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import and_, func, select
from sqlalchemy.exc import SQLAlchemyError

from bulletin.core import heartbeats
from bulletin.extensions import db
from bulletin.mail import outbox
from bulletin.models import (
    BounceEvent,
    Delivery,
    DeliveryStatus,
    OutboxMessage,
    OutboxStatus,
    Send,
    SendStatus,
    utcnow,
)

disable_created_metrics()  # no *_created series: they double the output for nothing

log = logging.getLogger(__name__)

#: The web metrics live here, not in prometheus_client's global registry.
WEB_REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter(
    "bulletin_http_requests",
    "Web requests answered, by endpoint and status.",
    ["endpoint", "method", "status"],
    registry=WEB_REGISTRY,
)
LATENCY = Histogram(
    "bulletin_http_request_duration_seconds",
    "Time to answer a web request, by endpoint.",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=WEB_REGISTRY,
)

#: A send's rate is its messages sent in this last stretch of time.
RATE_WINDOW = timedelta(seconds=60)
#: Sends whose deliveries are counted live (a done send's counts are on its row).
LIVE_SENDS = (SendStatus.SENDING, SendStatus.PAUSED, SendStatus.CANCELLED)


def observe(endpoint: str | None, method: str, status: int, seconds: float) -> None:
    """Count one answered request (unknown paths share one label, so labels stay few)."""
    name = endpoint or "unmatched"
    REQUESTS.labels(name, method, str(status)).inc()
    LATENCY.labels(name).observe(seconds)


class DatabaseCollector:
    """Gauges read from the database when scraped (needs an app context)."""

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "bulletin_database_up",
            "1 when the database answered this scrape's queries, else 0 "
            "(the database's figures are then missing).",
        )
        try:
            figures = list(self._collect())
        except SQLAlchemyError:
            log.warning("metrics: the database did not answer", exc_info=True)
            figures = []
        finally:
            db.session.rollback()  # read only: end the transaction
        up.add_metric([], 1 if figures else 0)
        yield up
        yield from figures

    def _collect(self) -> Iterator[Metric]:
        now = utcnow()
        yield from _messages()
        yield from _running_sends(now)
        yield from _queue(now)
        yield from _outbox(now)
        yield from _bounces()
        live = GaugeMetricFamily(
            "bulletin_workers_live", "Workers with a heartbeat in the last minute."
        )
        live.add_metric([], heartbeats.live_worker_count(now))
        yield live
        info = GaugeMetricFamily("bulletin_info", "The running version.", labels=["version"])
        info.add_metric([heartbeats.bulletin_version()], 1)
        yield info


def _messages() -> Iterator[Metric]:
    family = GaugeMetricFamily(
        "bulletin_messages",
        "Messages by channel (bulk, transactional) and outcome, as "
        "recorded (bulk deliveries and transactional mail are kept for their retention time).",
        labels=["channel", "outcome"],
    )
    bulk = dict.fromkeys(("sent", "failed", "skipped"), 0)
    done = db.session.execute(
        select(
            func.coalesce(func.sum(Send.sent_count), 0),
            func.coalesce(func.sum(Send.failed_count), 0),
            func.coalesce(func.sum(Send.skipped_count), 0),
        ).where(Send.status == SendStatus.DONE)
    ).one()
    for outcome, value in zip(bulk, done, strict=True):
        bulk[outcome] += int(value)
    live = select(Send.id).where(Send.status.in_(LIVE_SENDS))
    for status, count in db.session.execute(
        select(Delivery.status, func.count())
        .where(Delivery.send_id.in_(live))
        .where(Delivery.status.in_(tuple(bulk)))
        .group_by(Delivery.status)
    ):
        bulk[status] += count
    for outcome, value in bulk.items():
        family.add_metric(["bulk", outcome], value)
    transactional = dict.fromkeys(("sent", "failed", "skipped"), 0)
    for status, count in db.session.execute(
        select(OutboxMessage.status, func.count())
        .where(OutboxMessage.status.in_(tuple(transactional)))
        .group_by(OutboxMessage.status)
    ):
        transactional[status] = count
    for outcome, value in transactional.items():
        family.add_metric(["transactional", outcome], value)
    yield family

    deferred = GaugeMetricFamily(
        "bulletin_messages_deferred",
        "Messages waiting to be tried again after a temporary failure.",
        labels=["channel"],
    )
    deferred.add_metric(
        ["bulk"],
        db.session.scalar(
            select(func.count()).where(
                Delivery.send_id.in_(live),
                Delivery.status == DeliveryStatus.QUEUED,
                Delivery.attempts > 0,
            )
        )
        or 0,
    )
    deferred.add_metric(
        ["transactional"],
        db.session.scalar(
            select(func.count()).where(
                OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.attempts > 0
            )
        )
        or 0,
    )
    yield deferred


def _running_sends(now) -> Iterator[Metric]:
    recipients = GaugeMetricFamily(
        "bulletin_send_recipients", "Recipients of each running send.", labels=["send_id"]
    )
    finished = GaugeMetricFamily(
        "bulletin_send_finished",
        "Deliveries of each running send that are final (sent, failed or skipped).",
        labels=["send_id"],
    )
    progress = GaugeMetricFamily(
        "bulletin_send_progress_ratio",
        "Share of each running send's deliveries that are final.",
        labels=["send_id"],
    )
    rate = GaugeMetricFamily(
        "bulletin_send_rate_per_second",
        "Messages each running send sent per second over the last minute.",
        labels=["send_id"],
    )
    running = {
        send_id: total
        for send_id, total in db.session.execute(
            select(Send.id, Send.recipient_count).where(
                Send.status.in_((SendStatus.SENDING, SendStatus.PAUSED))
            )
        )
    }
    if running:
        final = dict(
            db.session.execute(
                select(Delivery.send_id, func.count())
                .where(
                    Delivery.send_id.in_(running),
                    Delivery.status.in_(
                        (DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.SKIPPED)
                    ),
                )
                .group_by(Delivery.send_id)
            ).all()
        )
        recent = dict(
            db.session.execute(
                select(Delivery.send_id, func.count())
                .where(and_(Delivery.sent_at >= now - RATE_WINDOW, Delivery.send_id.in_(running)))
                .group_by(Delivery.send_id)
            ).all()
        )
        for send_id, total in sorted(running.items()):
            label = [str(send_id)]
            recipients.add_metric(label, total)
            finished.add_metric(label, final.get(send_id, 0))
            progress.add_metric(label, final.get(send_id, 0) / total if total else 0.0)
            rate.add_metric(label, recent.get(send_id, 0) / RATE_WINDOW.total_seconds())
    yield from (recipients, finished, progress, rate)


def _queue(now) -> Iterator[Metric]:
    queued = GaugeMetricFamily("bulletin_deliveries_queued", "Bulk deliveries waiting to be sent.")
    queued.add_metric(
        [],
        db.session.scalar(select(func.count()).where(Delivery.status == DeliveryStatus.QUEUED))
        or 0,
    )
    yield queued
    leased = GaugeMetricFamily(
        "bulletin_deliveries_leased", "Bulk deliveries claimed by a sender now."
    )
    expired = GaugeMetricFamily(
        "bulletin_delivery_leases_expired",
        "Deliveries still marked sending whose lease has passed (a sender died or stalls).",
    )
    total, late = db.session.execute(
        select(func.count(), func.count().filter(Delivery.claimed_until < now)).where(
            Delivery.status == DeliveryStatus.SENDING
        )
    ).one()
    leased.add_metric([], total or 0)
    expired.add_metric([], late or 0)
    yield from (leased, expired)


def _outbox(now) -> Iterator[Metric]:
    pending, oldest_age = outbox.waiting(now)
    waiting = GaugeMetricFamily(
        "bulletin_outbox_pending", "Transactional mails waiting to be sent."
    )
    waiting.add_metric([], pending)
    age = GaugeMetricFamily(
        "bulletin_outbox_oldest_age_seconds",
        "Age of the oldest transactional mail waiting (0: none).",
    )
    age.add_metric([], oldest_age)
    yield from (waiting, age)


def _bounces() -> Iterator[Metric]:
    family = GaugeMetricFamily(
        "bulletin_bounce_events",
        "Bounce, complaint and unsubscribe reports recorded, by kind "
        "and where they came from (smtp, imap, ses, postmark...).",
        labels=["kind", "source"],
    )
    for kind, source, count in db.session.execute(
        select(BounceEvent.kind, BounceEvent.source, func.count()).group_by(
            BounceEvent.kind, BounceEvent.source
        )
    ):
        family.add_metric([kind, source], count)
    yield family


def exposition(multiprocess_dir: str | None) -> bytes:
    """The text the /metrics page serves: web metrics, then the database's gauges."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_dir:
        MultiProcessCollector(registry, path=multiprocess_dir)
    else:
        registry.register(_Forward(WEB_REGISTRY))
    registry.register(DatabaseCollector())
    return generate_latest(registry)


class _Forward:
    """Hands on another registry's metrics (this process's web counters)."""

    def __init__(self, registry: CollectorRegistry):
        self.registry = registry

    def collect(self) -> Iterator[Metric]:
        return self.registry.collect()
