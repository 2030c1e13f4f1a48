"""A finished send's report in Chromium: axe-clean in Welsh and English, screenshots saved."""

from __future__ import annotations

import pytest

from bulletin.extensions import db
from tests.browser.fixtures import save_screenshots

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"
REPLIES = [
    "550 5.1.1 <gone@example.org>: Recipient address rejected: User unknown",
    "550 5.7.1 Message rejected as spam",
    "552 5.2.2 Mailbox full",
]


def seed(app) -> tuple[int, int]:
    """An admin, twelve readers and a done send to them: three refused, one bounced later,
    one complaint, one unsubscribe through the send's link. Returns (send id, issue id)."""
    from bulletin.core.editors import hash_password
    from bulletin.models import (
        BounceEvent,
        ConsentEvent,
        Delivery,
        Editor,
        Issue,
        Send,
        SendStatus,
        Subscriber,
        utcnow,
    )

    with app.app_context():
        db.session.add(
            Editor(email="editor@example.org", role="admin", password_hash=hash_password(PASSWORD))
        )
        readers = [
            Subscriber(
                email=f"reader{n}@example.org",
                status="confirmed",
                language="cy" if n < 5 else "en",
                region="north-wales" if n % 3 else "mid-wales",
                confirmed_at=utcnow(),
            )
            for n in range(12)
        ]
        issue = Issue(slug="report", subject_en="March bulletin", subject_cy="Bwletin mis Mawrth")
        send = Send(
            issue=issue,
            audience="{}",
            status=SendStatus.DONE,
            scheduled_at=utcnow(),
            started_at=utcnow(),
            finished_at=utcnow(),
        )
        db.session.add_all([*readers, send])
        db.session.flush()
        deliveries = []
        for n, reader in enumerate(readers):
            failed = n < len(REPLIES)
            delivery = Delivery(
                send_id=send.id,
                subscriber_id=reader.id,
                language=reader.language,
                status="failed" if failed else "sent",
                last_reply=REPLIES[n] if failed else None,
                attempts=1,
                sent_at=None if failed else utcnow(),
            )
            deliveries.append(delivery)
        db.session.add_all(deliveries)
        db.session.flush()
        for delivery, kind in ((deliveries[5], "hard"), (deliveries[6], "complaint")):
            db.session.add(
                BounceEvent(
                    subscriber_id=delivery.subscriber_id,
                    delivery_id=delivery.id,
                    kind=kind,
                    source="smtp",
                    action="cleaned" if kind == "hard" else "unsubscribed",
                )
            )
        db.session.add(
            ConsentEvent(
                subscriber_id=readers[7].id,
                subject_uid=readers[7].uid,
                kind="unsubscribe",
                source="one-click",
                language=readers[7].language,
                send_id=send.id,
            )
        )
        db.session.commit()
        return send.id, issue.id


def test_the_send_report_is_accessible_in_welsh_and_english(live, page, audit, screenshots):
    send_id, issue_id = seed(live.app)
    page.goto(f"{live.url}/editor/login")
    page.fill("#email", "editor@example.org")
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    for lang, heading, reason in (
        ("cy", "Adroddiad", "Blwch post anhysbys"),
        ("en", "Report", "Mailbox unknown"),
    ):
        page.goto(f"{live.url}/editor/issues/{issue_id}?lang={lang}")
        link = page.locator(f"a[href='/editor/sends/{send_id}#report']")
        assert link.count() == 1
        audit.check(page, f"{lang} issue page with its sends")
        with page.expect_navigation():
            link.click()
        assert page.get_attribute("html", "lang") == ("cy" if lang == "cy" else "en-GB")
        report = page.locator("#report")
        assert report.locator("h2").inner_text() == heading
        assert reason in report.inner_text()
        assert "reader0@example.org" in report.inner_text()  # admins see failed addresses
        audit.check(page, f"{lang} send report (admin)")
        save_screenshots(page, screenshots, f"send-report-{lang}")
    audit.assert_clean()
