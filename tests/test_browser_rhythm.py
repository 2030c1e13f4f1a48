"""The rhythm admin page and the approval of a rhythm draft in Chromium: axe-clean in Welsh
and English, with a form error, the draft's approve button, and a send awaiting a second
editor (REQUIRE_APPROVAL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.test_browser_editor import seed, sign_in

pytestmark = pytest.mark.browser


@pytest.mark.slow
def test_rhythm_page_and_approval_are_accessible(live, page, audit):
    from bulletin.core import rhythm
    from bulletin.extensions import db
    from bulletin.models import Issue, Send, utcnow

    seed(live.app)
    live.app.config["REQUIRE_APPROVAL"] = True
    sign_in(page, live.url, audit)
    for lang in ("cy", "en"):
        page.goto(f"{live.url}/editor/admin/rhythm?lang={lang}")
        audit.check(page, f"{lang} rhythm settings")
    page.check("#is_active")
    page.fill("#days_before", "0")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert "1 to 28" in page.inner_text(".error-summary")
    audit.check(page, "en rhythm settings error")
    page.fill("#days_before", "3")
    page.fill("#intro_en", "This week's bulletin.")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert page.locator(".error-summary").count() == 0
    assert page.locator("table.table tbody tr").count() == 3  # the next three issues
    audit.check(page, "en rhythm settings saved")
    with live.app.app_context():
        current = rhythm.get_rhythm()
        issue_date = rhythm.next_dates(current, utcnow())[0]
        assert rhythm.draft_due(issue_date - timedelta(hours=1)) == [(issue_date, "drafted")]
        issue_id = db.session.scalar(select(Issue.id))
    for lang in ("cy", "en"):
        page.goto(f"{live.url}/editor/issues/{issue_id}?lang={lang}")
        assert page.locator("#rhythm-draft button").count() == 1
        audit.check(page, f"{lang} rhythm draft to approve")
    with page.expect_navigation():
        page.click("#rhythm-draft button")
    assert "/editor/sends/" in page.url
    for lang in ("cy", "en"):
        page.goto(f"{page.url.split('?')[0]}?lang={lang}")
        assert page.locator("#approval").count() == 1
        audit.check(page, f"{lang} send awaiting a second editor")
    with live.app.app_context():
        send = db.session.scalar(select(Send))
        assert (send.status, send.scheduled_at) == ("awaiting-approval", issue_date)
    audit.assert_clean()
