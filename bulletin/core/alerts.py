"""Delivery-health alerts: the worker checks the rates (core/health.py) after each send
finishes and once a day; an alert opens when a rate passes its limit, emails the admins
once, shows on every editor page while it stays open, and closes when the rate falls back.

Two scopes: the last finished send (a send's alert is never raised twice, so a daily check
does not email again about the same send) and the last RECENT_DAYS days of bulk mail (one
open alert per metric at a time). The caller commits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select

from bulletin.core.health import (
    COMPLAINT_LIMIT,
    HARD_BOUNCE_LIMIT,
    RECENT_DAYS,
    Health,
    last_finished_send,
    recent_health,
    send_health,
)
from bulletin.extensions import db
from bulletin.i18n import LANGUAGES, Language
from bulletin.mail.links import external_url
from bulletin.mail.outbox import enqueue_to_staff
from bulletin.mail.rendering import RenderedEmail, render_email
from bulletin.models import AlertMetric, AlertScope, Editor, HealthAlert, Role, utcnow

log = logging.getLogger(__name__)

LIMITS = {AlertMetric.COMPLAINTS: COMPLAINT_LIMIT, AlertMetric.HARD_BOUNCES: HARD_BOUNCE_LIMIT}


@dataclass(frozen=True)
class Reading:
    """One rate, read now, for one scope."""

    scope: str
    metric: str
    send_id: int | None
    count: int
    base: int

    @property
    def rate(self) -> float:
        return self.count / self.base if self.base else 0.0

    @property
    def is_high(self) -> bool:
        return self.rate > LIMITS[self.metric]


def readings(send_id: int | None, send: Health | None, recent: Health) -> list[Reading]:
    """The four rates the check looks at (two when no send has finished)."""
    found = []
    for scope, sid, health in ((AlertScope.SEND, send_id, send), (AlertScope.RECENT, None, recent)):
        if health is None:
            continue
        found += [
            Reading(scope, AlertMetric.COMPLAINTS, sid, health.complaints, health.delivered),
            Reading(scope, AlertMetric.HARD_BOUNCES, sid, health.hard_bounces, health.attempted),
        ]
    return found


def check_health() -> list[HealthAlert]:
    """Open, update or close the alerts from the rates now; email the admins about the ones
    opened (returned)."""
    send = last_finished_send()
    found = readings(
        send.id if send else None, send_health(send) if send else None, recent_health()
    )
    raised = [alert for reading in found if (alert := _apply(reading)) is not None]
    if raised:
        log.warning("delivery health: %d alert(s) raised", len(raised))
        email_admins(raised)
    db.session.flush()
    return raised


def _apply(reading: Reading) -> HealthAlert | None:
    now = utcnow()
    current = db.session.scalar(
        select(HealthAlert).where(
            HealthAlert.scope == reading.scope,
            HealthAlert.metric == reading.metric,
            HealthAlert.cleared_at.is_(None),
        )
    )
    if current is not None and current.send_id != reading.send_id:
        current.cleared_at, current = now, None  # a newer send finished: the old one is past
    if current is not None:
        current.rate, current.count, current.base = reading.rate, reading.count, reading.base
        current.checked_at = now
        if not reading.is_high:
            current.cleared_at = now
        return None
    if not reading.is_high or _already_raised(reading):
        return None
    alert = HealthAlert(
        scope=reading.scope,
        metric=reading.metric,
        send_id=reading.send_id,
        rate=reading.rate,
        count=reading.count,
        base=reading.base,
        raised_at=now,
        checked_at=now,
    )
    db.session.add(alert)
    return alert


def _already_raised(reading: Reading) -> bool:
    # Once per send: its rate can fall back under the limit only by luck (deliveries purged).
    if reading.scope != AlertScope.SEND:
        return False
    return (
        db.session.scalar(
            select(HealthAlert.id).where(
                HealthAlert.scope == AlertScope.SEND,
                HealthAlert.metric == reading.metric,
                HealthAlert.send_id == reading.send_id,
            )
        )
        is not None
    )


def open_alerts() -> list[HealthAlert]:
    """The alerts open now (the editor pages' banner): a handful of rows at most."""
    return list(
        db.session.scalars(
            select(HealthAlert)
            .where(HealthAlert.cleared_at.is_(None))
            .order_by(HealthAlert.scope.desc(), HealthAlert.metric)  # the last send first
        )
    )


def email_admins(alerts: list[HealthAlert]) -> int:
    """Queue one bilingual mail about `alerts` to each active admin; returns how many."""
    sent = mail_admins(render_alert_email(alerts), kind="health-alert")
    if sent:
        now = utcnow()
        for alert in alerts:
            alert.emailed_at = now
    return sent


def mail_admins(rendered: RenderedEmail, *, kind: str) -> int:
    """Queue one built mail to each active admin (the outbox sends it); returns how many."""
    admins = db.session.scalars(
        select(Editor.email).where(Editor.role == Role.ADMIN, Editor.is_active_account.is_(True))
    ).all()
    return enqueue_to_staff(admins, rendered, kind=kind)


def render_alert_email(alerts: list[HealthAlert]) -> RenderedEmail:
    """The alert mail: Welsh, then English, each part rendered in its own language."""
    context = {
        "alerts": alerts,
        "limits": LIMITS,
        "recent_days": RECENT_DAYS,
        "insights_url": external_url("editor.insights_page") + "#health",
        "alerts_url": external_url("bounce_admin.alerts"),
        "suppressions_url": external_url("bounce_admin.suppressions"),
    }
    parts = []
    for lang in LANGUAGES:
        with force_locale(lang):
            parts.append(
                {
                    "lang": lang,
                    "html": Markup(render_template("email/_health-alert-body.html", **context)),
                    "text": render_template("email/_health-alert-body.txt", **context),
                    "subject": _("Delivery health needs attention"),
                }
            )
    return render_email("health-alert", Language.CY, parts=parts)
