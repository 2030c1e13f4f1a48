"""The webhook admin pages in Chromium, in Welsh and English: axe-clean, the form works."""

from __future__ import annotations

import pytest

from tests.test_browser_editor import seed, sign_in

pytestmark = pytest.mark.browser


@pytest.mark.slow
def test_webhook_pages_are_axe_clean_in_both_languages(live, page, audit):
    from bulletin.core import webhooks
    from bulletin.extensions import db

    seed(live.app)
    with live.app.app_context():
        failing = webhooks.create_endpoint("http://127.0.0.1:9/gone", ["send.started"], "Old CRM")
        webhooks.emit("send.started", {"id": 1})
        webhooks.disable(failing, webhooks.DISABLED_FAILING)
        webhooks.rotate_secret(failing)
        db.session.commit()
        failing_id = failing.id
    sign_in(page, live.url, audit)
    for lang in ("cy", "en"):
        page.goto(f"{live.url}/editor/webhooks?lang={lang}")
        audit.check(page, f"{lang} webhooks")
        page.goto(f"{live.url}/editor/webhooks/{failing_id}?lang={lang}")
        assert page.locator(".warning[role=alert]").count() == 1
        audit.check(page, f"{lang} webhook switched off")
    page.goto(f"{live.url}/editor/webhooks?lang=en")
    page.fill("#url", "http://127.0.0.1:9/hook")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert page.locator(".error-summary").count() == 1  # no event chosen
    audit.check(page, "en webhooks form error")
    page.check("#events-0")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert page.locator("#new-secret").inner_text().startswith("whsec_")
    audit.check(page, "en webhook added")
    audit.assert_clean()
