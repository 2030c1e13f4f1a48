"""The admin's workers page in Chromium, in Welsh and English: live, stopped and lost workers,
and no worker at all; axe on each."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.test_browser_editor import seed, sign_in


def _workers(app) -> None:
    from bulletin.core import heartbeats
    from bulletin.extensions import db
    from bulletin.models import WorkerHeartbeat, utcnow

    with app.app_context():
        for seconds_ago, stopped in ((2, False), (300, True), (900, False)):
            identity = heartbeats.Identity.here("worker" if stopped else "embedded")
            heartbeats.beat(identity, "run-senders,poll-bounce-mailbox")
            row = db.session.query(WorkerHeartbeat).filter_by(name=identity.name).one()
            row.last_beat_at = utcnow() - timedelta(seconds=seconds_ago)
            row.stopped_at = utcnow() if stopped else None
        db.session.commit()


@pytest.mark.slow
def test_the_workers_page_passes_axe_in_both_languages(live, page, audit):
    seed(live.app)
    sign_in(page, live.url, audit)
    for lang in ("cy", "en"):
        page.goto(f"{live.url}/editor/admin/workers?lang={lang}")
        assert page.locator("table.data").count() == 0  # nobody has reported yet
        audit.check(page, f"{lang} workers, none")
    _workers(live.app)
    for lang, lost in (("cy", "Ar goll"), ("en", "Lost")):
        page.goto(f"{live.url}/editor/admin?lang={lang}")
        with page.expect_navigation():
            page.click("main a[href$='/editor/admin/workers']")
        assert page.locator("table.data tbody tr").count() == 3
        assert lost in page.inner_text("main")
        audit.check(page, f"{lang} workers")
    audit.assert_clean()
