"""The send page's progress figures update in the browser without a reload."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select, update

from bulletin.extensions import db
from tests.browser.fixtures import save_screenshots

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"


def seed(app) -> int:
    """An admin, three readers and a running send to them; returns the send's id."""
    from bulletin.core.editors import hash_password
    from bulletin.delivery.pipeline import start_due_sends
    from bulletin.mail.settings import DeliverySettings
    from bulletin.models import Editor, Issue, Send, SendStatus, Subscriber, utcnow

    with app.app_context():
        db.session.add(
            Editor(email="editor@example.org", role="admin", password_hash=hash_password(PASSWORD))
        )
        for n in range(3):
            db.session.add(
                Subscriber(
                    email=f"reader{n}@example.org",
                    status="confirmed",
                    language="en",
                    confirmed_at=utcnow(),
                )
            )
        issue = Issue(slug="progress", subject_en="Progress", subject_cy="Cynnydd")
        send = Send(issue=issue, audience="{}", status=SendStatus.SCHEDULED, scheduled_at=utcnow())
        db.session.add(send)
        db.session.commit()
        start_due_sends(DeliverySettings.from_app(app))
        return send.id


def mark_sent(app, count: int | None) -> None:
    from bulletin.delivery.pipeline import finish_sends
    from bulletin.models import Delivery, utcnow

    with app.app_context():
        ids = db.session.scalars(
            select(Delivery.id)
            .where(Delivery.status == "queued")
            .order_by(Delivery.id)
            .limit(count)
        ).all()
        db.session.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids))
            .values(status="sent", sent_at=utcnow(), attempts=1)
        )
        db.session.commit()
        finish_sends()


def test_progress_updates_live_then_the_page_shows_the_finished_send(live, page):
    send_id = seed(live.app)
    page.goto(f"{live.url}/editor/login")
    page.fill("#email", "editor@example.org")
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    page.goto(f"{live.url}/editor/sends/{send_id}")
    sent = page.locator("[data-progress=sent]")
    assert sent.inner_text() == "0"
    page.evaluate("window.stillTheSamePage = true")

    mark_sent(live.app, 2)
    expect(sent).to_have_text("2", timeout=15_000)  # polls the DOM (CSP forbids eval)
    assert page.evaluate("window.stillTheSamePage === true")  # updated in place, no reload
    assert page.locator("progress").get_attribute("value") == "2"

    with page.expect_navigation(timeout=20_000):  # a finished send reloads once
        mark_sent(live.app, None)
    assert page.locator("[data-progress=sent]").inner_text() == "3"
    assert page.evaluate("window.stillTheSamePage === undefined")


@pytest.mark.slow
def test_cancel_asks_first_in_both_languages_then_cancels(live, page, audit, screenshots):
    from bulletin.models import Send

    send_id = seed(live.app)
    page.goto(f"{live.url}/editor/login")
    page.fill("#email", "editor@example.org")
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    for lang, question, back in (
        ("cy", "Nid yw 3 o dderbynwyr wedi'i gael eto", "Yn ôl: cadw'r anfoniad"),
        ("en", "3 recipients have not had it yet and will not be sent it.", "Back: keep the send"),
    ):
        page.goto(f"{live.url}/editor/sends/{send_id}?lang={lang}")
        audit.check(page, f"{lang} running send")
        with page.expect_navigation():
            page.click("main a.button-warning")  # the send page's cancel button: a link
        assert page.url.endswith(f"/editor/sends/{send_id}/cancel")
        assert question in page.inner_text("main")
        audit.check(page, f"{lang} cancel confirmation")
        save_screenshots(page, screenshots, f"send-cancel-{lang}")
        with page.expect_navigation():
            page.click(f'main a:has-text("{back}")')
        assert page.url.endswith(f"/editor/sends/{send_id}")
    with live.app.app_context():
        assert db.session.get(Send, send_id).status == "sending"  # Back changed nothing
        db.session.remove()

    page.goto(f"{live.url}/editor/sends/{send_id}/cancel")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert "Cancelled: the messages already on their way still go" in page.inner_text("main")
    assert page.locator("[data-progress=cancelled]").inner_text() == "3"
    audit.check(page, "en cancelled send")
    audit.assert_clean()
    with live.app.app_context():
        assert db.session.get(Send, send_id).status == "cancelled"
        db.session.remove()
