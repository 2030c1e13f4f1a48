"""Insights and the dashboard in Chromium, in Welsh and English: axe-clean, reflowing at
320 px, with the health banner showing; screenshots saved for review."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.browser.fixtures import save_screenshots

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "correct horse battery staple"


def seed(app) -> None:
    """An admin, readers across regions and languages, weeks of consent events, and a
    finished send whose complaints are over the limit (so the banner shows)."""
    from sqlalchemy import insert

    from bulletin.core import alerts, insights
    from bulletin.core.editors import hash_password
    from bulletin.extensions import db
    from bulletin.models import (
        BounceEvent,
        ConsentEvent,
        Delivery,
        Editor,
        Issue,
        Send,
        Subscriber,
        Topic,
        utcnow,
    )

    now = utcnow()
    with app.app_context():
        db.session.add(
            Editor(
                email="golygydd@example.org", role="admin", password_hash=hash_password(PASSWORD)
            )
        )
        topic = db.session.query(Topic).first()
        for i in range(12):
            reader = Subscriber(
                email=f"reader{i}@example.org",
                status="confirmed",
                language="cy" if i % 4 == 0 else "en",
                region="north-wales" if i < 9 else "mid-wales",
                confirmed_at=now,
            )
            reader.topics = [topic]
            db.session.add(reader)
        starts = insights.week_starts(12, now)
        for week, start in enumerate(starts):
            for kind, n in (
                ("signup", week % 5 + 2),
                ("confirm", week % 4 + 1),
                ("unsubscribe", week % 3),
            ):
                for i in range(n):
                    db.session.add(
                        ConsentEvent(
                            subject_uid=f"{kind}{week}-{i}",
                            kind=kind,
                            source="test",
                            created_at=start + timedelta(hours=10 + i),
                        )
                    )
        issue = Issue(slug="rhifyn", subject_en="December bulletin", subject_cy="Bwletin Rhagfyr")
        send = Send(
            issue=issue,
            status="done",
            started_at=now - timedelta(hours=1),
            finished_at=now,
            recipient_count=400,
            sent_count=400,
        )
        db.session.add(send)
        db.session.flush()
        db.session.execute(
            insert(Delivery),
            [
                {
                    "send_id": send.id,
                    "subscriber_id": 50_000 + i,
                    "status": "sent",
                    "language": "en",
                    "sent_at": now,
                    "next_attempt_at": now,
                }
                for i in range(400)
            ],
        )
        first = db.session.query(Delivery).first()
        db.session.add(
            BounceEvent(delivery_id=first.id, kind="complaint", source="test", action="none")
        )
        alerts.check_health()
        db.session.commit()


def test_insights_and_dashboard_are_accessible_in_both_languages(live, page, audit, screenshots):
    seed(live.app)
    page.goto(f"{live.url}/editor/login?lang=cy")
    page.fill("#email", "golygydd@example.org")
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    for lang in ("cy", "en"):
        page.goto(f"{live.url}/editor/?lang={lang}")
        assert page.locator("svg[role=img] title").count() == 1  # the sparkline
        banner = page.locator("[aria-labelledby=health-banner-title]")
        assert banner.count() == 1
        audit.check(page, f"{lang} dashboard with health banner")
        save_screenshots(page, screenshots, f"dashboard-{lang}")
        page.goto(f"{live.url}/editor/insights?lang={lang}")
        assert page.locator("svg[role=img]").count() == 8  # reasons, 4 weeks, 3 breakdowns
        page.locator("details.chart-data summary").first.click()
        audit.check(page, f"{lang} insights")
        save_screenshots(page, screenshots, f"insights-{lang}")
    assert "llai na 5" not in page.content()  # English now
    assert "fewer than 5" in page.content()
    audit.assert_clean()
