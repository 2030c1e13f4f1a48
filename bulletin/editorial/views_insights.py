"""Insights under /editor/insights: delivery health, the audience over time and today.

Figures come from core/health.py and core/insights.py; charts from editorial/charts.py.
The banner of open health alerts on every editor page reads stored rows (core/alerts.py).
"""

from __future__ import annotations

from flask import abort, g, render_template, request
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user

from bulletin.core import alerts, health, insights
from bulletin.core.send_report import failure_counts
from bulletin.editorial.charts import line_chart
from bulletin.editorial.labels import failure_reason_label
from bulletin.editorial.views import bp
from bulletin.i18n import choice_name, current_lang
from bulletin.models import region_name


def week_label(week: insights.Week) -> str:
    """A week by its Monday, short: "5 Dec", "5 Rhag"."""
    return format_date(week.starts_on, "d MMM")


def growth_series(weeks: list[insights.Week]) -> dict[str, list[tuple[str, int]]]:
    """Each weekly figure as (week label, value) pairs for a line chart."""
    labels = [week_label(week) for week in weeks]
    return {
        name: list(zip(labels, (getattr(week, name) for week in weeks), strict=True))
        for name in ("signups", "confirmations", "unsubscribes", "net")
    }


def failure_pairs(send_id: int) -> list[tuple[str, int]]:
    """A send's failure reasons in words, for bar_chart (the send report uses it too)."""
    return [(failure_reason_label(code), n) for code, n in failure_counts(send_id).items()]


def audience_pairs() -> dict[str, list[tuple[str, int]]]:
    """Today's confirmed audience by topic, region and language, in the page's language."""
    lang = current_lang()
    return {
        "topics": [(t.name(lang), n) for t, n in insights.audience_by_topic()],
        "regions": [
            (region_name(code, lang) or _("No region given"), n)
            for code, n in insights.audience_by_region()
        ],
        "languages": [(choice_name(code), n) for code, n in insights.audience_by_language()],
    }


def last_send_health():
    """(the last finished send, its health), or (None, None)."""
    send = health.last_finished_send()
    return (send, health.send_health(send)) if send else (None, None)


@bp.get("/insights")
def insights_page():
    weeks = request.args.get("weeks", insights.DEFAULT_WEEKS, type=int)
    if weeks not in insights.WEEK_CHOICES:
        abort(400, _("Choose 8, 12 or 26 weeks."))
    growth = insights.weekly_growth(weeks)
    send, send_health = last_send_health()
    return render_template(
        "editorial/insights.html",
        weeks=weeks,
        week_choices=insights.WEEK_CHOICES,
        growth=growth,
        series=growth_series(growth),
        week_label=week_label,
        total=insights.confirmed_total(),
        audience=audience_pairs(),
        send=send,
        send_health=send_health,
        reasons=failure_pairs(send.id) if send else [],
        recent=health.recent_health(),
        recent_days=health.RECENT_DAYS,
        limits=alerts.LIMITS,
        open_alerts=alerts.open_alerts(),
    )


def dashboard_figures() -> dict:
    """The dashboard's glance: the last send's health and the list's growth (12 weeks)."""
    growth = insights.weekly_growth(insights.DEFAULT_WEEKS)
    send, send_health = last_send_health()
    net = growth_series(growth)["net"]
    spark = line_chart(
        "growth-spark",
        _("Net growth per week"),
        net,
        desc=_("Each of the last %(n)d weeks, oldest first.", n=len(net)),
        compact=True,
    )
    return {
        "send": send,
        "send_health": send_health,
        "limits": alerts.LIMITS,
        "total": insights.confirmed_total(),
        "net_total": sum(week.net for week in growth),
        "growth_weeks": len(growth),
        "spark": spark,
    }


def health_alerts() -> list:
    """The open health alerts, read once per request (the banner on every editor page)."""
    if not current_user.is_authenticated:
        return []
    if "health_alerts" not in g:
        g.health_alerts = alerts.open_alerts()
    return g.health_alerts
