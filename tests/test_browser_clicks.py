"""Click counts in Chromium: a send's clicks table and the interest page, axe in both
languages, with screenshots."""

from __future__ import annotations

import pytest

from tests.browser.fixtures import save_screenshots
from tests.test_browser_editor import seed, sign_in

pytestmark = pytest.mark.browser


def seed_clicks(app) -> int:
    """A send of an issue with the seeded workshop and opportunity, and counts on its links."""
    from bulletin.extensions import db
    from bulletin.models import ClickLink, Issue, IssueItem, Opportunity, Send, Workshop

    with app.app_context():
        workshop = db.session.query(Workshop).one()
        opportunity = db.session.query(Opportunity).one()
        issue = Issue(slug="clicks", subject_en="May bulletin", subject_cy="Bwletin Mai")
        issue.items = [
            IssueItem(section="workshops", kind="workshop", workshop=workshop, position=0),
            IssueItem(section="opportunities", kind="opportunity", opportunity=opportunity),
        ]
        send = Send(issue=issue, status="done")
        db.session.add(send)
        db.session.flush()
        for order, kind, item, role, clicks in (
            (0, "intro", None, "text", 12),
            (1, "workshop", workshop, "more", 31),
            (1, "workshop", workshop, "booking", 3),
            (2, "opportunity", opportunity, "more", 0),
        ):
            db.session.add(
                ClickLink(
                    send_id=send.id,
                    link_key=f"{order}-{role}",
                    item_order=order,
                    item_kind=kind,
                    item_id=item.id if item else None,
                    role=role,
                    target=f"https://example.org/{kind}/{role}",
                    clicks=clicks,
                    scanner_hits=2,
                )
            )
        db.session.commit()
        return send.id


def test_click_tables_pass_axe_in_both_languages(live, page, audit, screenshots):
    seed(live.app)
    send_id = seed_clicks(live.app)
    sign_in(page, live.url, audit)
    for lang in ("cy", "en"):
        page.goto(f"{live.url}/editor/sends/{send_id}?lang={lang}")
        table = page.locator("#clicks-heading ~ .table-wrap table")
        assert table.locator("tbody tr").count() == 3
        assert ("llai na 5" if lang == "cy" else "fewer than 5") in table.inner_text()
        audit.check(page, f"{lang} send page with clicks")
        save_screenshots(page, screenshots, f"send-clicks-{lang}")
        page.goto(f"{live.url}/editor/interest?lang={lang}")
        assert page.locator("main tbody tr").count() == 2
        audit.check(page, f"{lang} interest")
        save_screenshots(page, screenshots, f"interest-{lang}")
    audit.assert_clean()
