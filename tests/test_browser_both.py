"""Both languages in one email, in Chromium: sign up for both with the keyboard, then the
bilingual confirmation, welcome and issue mails are axe-clean and their links between the
Welsh and the English parts work."""

from __future__ import annotations

import pytest

from bulletin.extensions import db
from bulletin.i18n import BOTH
from tests.browser.fixtures import save_screenshots
from tests.browser.keyboard import press_button
from tests.browser.mail import check_email, link_from, next_mail
from tests.support.delivery_helpers import make_issue_row, make_send
from tests.support.mailtools import text_part
from tests.test_browser_public import fill_sign_up

pytestmark = pytest.mark.browser


def follow_language_links(mail_page) -> None:
    """Each part's link at its top lands on the other part (an in-page anchor)."""
    for anchor in ("english", "cymraeg"):
        mail_page.click(f"a[href='#{anchor}']")
        assert mail_page.evaluate("() => document.querySelector(':target').id") == anchor
        # Scrolled to it: at the top of the window, or as far as the mail goes.
        assert mail_page.evaluate(f"""() => {{
            const top = document.getElementById('{anchor}').getBoundingClientRect().top;
            const end = scrollY + innerHeight >= document.documentElement.scrollHeight - 1;
            return Math.abs(top) < 2 || (top >= 0 && top < innerHeight && end);
        }}""")


@pytest.mark.parametrize("lang", ["cy", "en"])
def test_sign_up_for_both_languages_and_the_bilingual_mails(
    live, smtp_server, browser_context, page, audit, screenshots, lang
):
    base, address = live.url, f"both-{lang}@example.org"
    page.goto(f"{base}/subscribe?lang={lang}")
    audit.check(page, f"{lang} sign-up offering both languages")
    fill_sign_up(page, address, BOTH)
    press_button(page, "form button[type=submit]")

    confirm = next_mail(live, smtp_server, 1, address)
    assert " | " in str(confirm["Subject"])
    mail_page = check_email(browser_context, audit, confirm, BOTH, f"both confirm ({lang} page)")
    follow_language_links(mail_page)
    page.goto(link_from(confirm, base, "/confirm/"))
    press_button(page, "main form button[type=submit]")
    welcome = next_mail(live, smtp_server, 2, address)
    check_email(browser_context, audit, welcome, BOTH, f"both welcome ({lang} page)")

    with live.app.app_context():
        make_send(make_issue_row(subject_en="Research bulletin", subject_cy="Bwletin ymchwil"))
        db.session.commit()
    issue = next_mail(live, smtp_server, 3, address)
    assert str(issue["Subject"]) == "Bwletin ymchwil | Research bulletin"
    assert "Helo" in text_part(issue) and "Hello." in text_part(issue)
    mail_page = check_email(browser_context, audit, issue, BOTH, f"both issue ({lang} page)")
    follow_language_links(mail_page)
    if lang == "cy":
        save_screenshots(mail_page, screenshots, "email-issue-both")
    audit.assert_clean()
