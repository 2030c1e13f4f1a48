"""The public door in Chromium: keyboard-only sign-up to unsubscribe, axe on every state."""

from __future__ import annotations

import pytest

from tests.browser.axe import violations
from tests.browser.fixtures import save_screenshots
from tests.browser.keyboard import choose, is_focused, press_button, tab_to, tick, type_into
from tests.browser.mail import HTML_LANG, check_email, link_from, next_mail

pytestmark = pytest.mark.browser

TEXT = {
    "cy": {
        "error": "Gwall:",
        "check": "Gwiriwch eich e-bost",
        "subscribed": "Rydych wedi tanysgrifio",
        "saved": "Mae eich dewisiadau wedi'u cadw.",
        "unsubscribed": "Rydych wedi dad-danysgrifio",
        "confirm_subject": "Cadarnhewch eich tanysgrifiad",
        "welcome_subject": "Croeso i ",
    },
    "en": {
        "error": "Error:",
        "check": "Check your email",
        "subscribed": "You are subscribed",
        "saved": "Your choices have been saved.",
        "unsubscribed": "You have unsubscribed",
        "confirm_subject": "Confirm your subscription",
        "welcome_subject": "Welcome to ",
    },
}


def fill_sign_up(page, email: str, lang: str) -> None:
    type_into(page, "#email", email)
    type_into(page, "#name", "Ffion Jones")
    tick(page, "#topics-0")
    tick(page, "#topics-3")
    choose(page, "region", "north-wales")
    choose(page, "language", lang)
    tick(page, "#consent")


@pytest.mark.parametrize("lang", ["cy", "en"])
def test_keyboard_only_sign_up_confirm_manage_unsubscribe(
    live, smtp_server, browser_context, page, audit, screenshots, lang
):
    base, words, address = live.url, TEXT[lang], f"keyboard-{lang}@example.org"
    page.goto(f"{base}/subscribe?lang={lang}")
    assert page.get_attribute("html", "lang") == HTML_LANG[lang]
    audit.check(page, f"{lang} sign-up")
    if lang == "cy":
        save_screenshots(page, screenshots, "sign-up-cy")

    # The skip link is the first stop and lands on the main content.
    tab_to(page, "a.skip-link")
    page.keyboard.press("Enter")
    assert page.url.endswith("#main-content")

    # Sending the empty form: an error summary that takes focus and links to each field.
    press_button(page, "form button[type=submit]")
    assert page.title().startswith(words["error"] + " ")
    page.wait_for_function("() => document.activeElement.classList.contains('error-summary')")
    audit.check(page, f"{lang} sign-up with errors")
    tab_to(page, ".error-summary a")
    page.keyboard.press("Enter")
    assert is_focused(page, "#email")

    fill_sign_up(page, address, lang)
    press_button(page, "form button[type=submit]")
    assert page.locator("h1").inner_text() == words["check"]
    audit.check(page, f"{lang} check your email")

    confirm = next_mail(live, smtp_server, 1, address)
    assert str(confirm["Subject"]).strip().startswith(words["confirm_subject"])
    mail_page = check_email(browser_context, audit, confirm, lang, f"{lang} confirm")
    save_screenshots(mail_page, screenshots, f"email-confirm-{lang}")

    page.goto(link_from(confirm, base, "/confirm/"))
    audit.check(page, f"{lang} confirm")
    press_button(page, "main form button[type=submit]")
    assert page.locator("h1").inner_text() == words["subscribed"]
    audit.check(page, f"{lang} confirmed")

    welcome = next_mail(live, smtp_server, 2, address)
    assert words["welcome_subject"] in welcome["Subject"]
    check_email(browser_context, audit, welcome, lang, f"{lang} welcome")

    page.goto(link_from(welcome, base, "/manage/"))
    assert page.get_attribute("html", "lang") == HTML_LANG[lang]
    audit.check(page, f"{lang} manage")
    for topic in ("#topics-0", "#topics-3"):  # no topic at all is an error
        tick(page, topic, wanted=False)
    press_button(page, "main form button.button:not(.button-secondary)")
    assert page.title().startswith(words["error"] + " ")
    audit.check(page, f"{lang} manage with errors")
    tick(page, "#topics-1")
    press_button(page, "main form button.button:not(.button-secondary)")
    assert page.locator(".notice[role=status]").inner_text().strip() == words["saved"]
    audit.check(page, f"{lang} manage saved")

    press_button(page, "main a[href*='/unsubscribe/']")
    audit.check(page, f"{lang} unsubscribe")
    press_button(page, "main form button[type=submit]")
    assert page.locator("h1").inner_text() == words["unsubscribed"]
    audit.check(page, f"{lang} unsubscribed")
    audit.assert_clean()


@pytest.mark.parametrize("lang", ["cy", "en"])
def test_already_subscribed_and_manage_link_emails(
    live, smtp_server, browser_context, page, audit, lang
):
    """The two other emails a reader can cause, and the pages that send them."""
    from bulletin.extensions import db
    from bulletin.models import Subscriber, SubscriberStatus, utcnow

    address = f"again-{lang}@example.org"
    with live.app.app_context():
        db.session.add(
            Subscriber(
                email=address,
                status=SubscriberStatus.CONFIRMED,
                language=lang,
                region="mid-wales",
                confirmed_at=utcnow(),
            )
        )
        db.session.commit()
    page.goto(f"{live.url}/subscribe?lang={lang}")
    fill_sign_up(page, address, lang)
    press_button(page, "form button[type=submit]")
    again = next_mail(live, smtp_server, 1, address)
    check_email(browser_context, audit, again, lang, f"{lang} already-subscribed")

    page.goto(f"{live.url}/manage?lang={lang}")
    audit.check(page, f"{lang} request a manage link")
    press_button(page, "main form button[type=submit]")
    audit.check(page, f"{lang} request a manage link with errors")
    type_into(page, "#email", address)
    press_button(page, "main form button[type=submit]")
    link = next_mail(live, smtp_server, 2, address)
    check_email(browser_context, audit, link, lang, f"{lang} manage-link")
    audit.assert_clean()


def publish_issue(app) -> None:
    """A published issue with a bilingual workshop and an English-only opportunity."""
    from datetime import timedelta

    from bulletin.extensions import db
    from bulletin.models import Issue, IssueItem, Opportunity, Workshop, utcnow

    start = utcnow().replace(second=0, microsecond=0) + timedelta(days=10)
    with app.app_context():
        workshop = Workshop(
            slug="plain-language",
            title_en="Plain-language summaries",
            title_cy="Crynodebau iaith glir",
            summary_en="Learn how.",
            summary_cy="Dysgwch sut.",
            starts_at=start,
            ends_at=start + timedelta(hours=2),
            is_online=True,
        )
        opportunity = Opportunity(
            slug="panel",
            title_en="Join the research panel",
            summary_en="Help shape a study.",
            kind="public-contributor",
            closes_at=start + timedelta(days=5),
        )
        issue = Issue(
            slug="march",
            subject_en="March bulletin",
            subject_cy="Bwletin mis Mawrth",
            published_at=utcnow(),
        )
        issue.items = [
            IssueItem(section="workshops", kind="workshop", workshop=workshop, position=0),
            IssueItem(
                section="opportunities", kind="opportunity", opportunity=opportunity, position=1
            ),
        ]
        db.session.add(issue)
        # Sent, then taken out of the archive by an editor: its page answers 410.
        db.session.add(
            Issue(
                slug="gone",
                subject_en="Withdrawn bulletin",
                published_at=utcnow(),
                unpublished_at=utcnow(),
            )
        )
        db.session.commit()


@pytest.mark.parametrize("lang", ["cy", "en"])
def test_other_public_pages_and_error_pages(live, page, audit, lang):
    publish_issue(live.app)
    for path, label in [
        ("/accessibility", "accessibility statement"),
        ("/privacy", "privacy"),
        ("/issues", "archive"),
        ("/issues/march", "archived issue"),
        ("/issues/gone", "unpublished issue (410)"),
        ("/workshops/plain-language", "workshop page"),
        ("/no-such-page", "404"),
        ("/confirm/not-a-token", "bad link"),
        ("/manage/not-a-token", "bad manage link"),
    ]:
        page.goto(f"{live.url}{path}?lang={lang}")
        assert page.get_attribute("html", "lang") == HTML_LANG[lang]
        audit.check(page, f"{lang} {label}")
    audit.assert_clean()


def test_sign_up_works_without_javascript(live, chromium, smtp_server):
    context = chromium.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live.url}/subscribe?lang=cy")
    press_button(page, "form button[type=submit]")
    assert page.title().startswith("Gwall: ")
    assert page.locator(".error-summary a").count() >= 3
    fill_sign_up(page, "nojs@example.org", "cy")
    press_button(page, "form button[type=submit]")
    assert page.locator("h1").inner_text() == "Gwiriwch eich e-bost"
    assert next_mail(live, smtp_server, 1, "nojs@example.org")["Subject"]
    context.close()


def test_axe_finds_a_planted_violation(live, page):
    """The audit is not vacuous: a field without a label is reported."""
    page.goto(f"{live.url}/subscribe")
    page.evaluate("() => document.querySelector('label[for=email]').remove()")
    assert "label" in {v["id"] for v in violations(page)}


@pytest.mark.parametrize("lang", ["cy", "en"])
def test_erase_and_used_link_pages(live, page, audit, lang):
    from bulletin.extensions import db
    from bulletin.mail import tokens
    from bulletin.models import Subscriber, SubscriberStatus, utcnow

    with live.app.app_context():
        reader = Subscriber(
            email=f"erase-{lang}@example.org",
            status=SubscriberStatus.CONFIRMED,
            language=lang,
            region="mid-wales",
            confirmed_at=utcnow(),
        )
        gone = Subscriber(
            email=f"gone-{lang}@example.org",
            language=lang,
            status=SubscriberStatus.UNSUBSCRIBED,
            region="mid-wales",
        )
        db.session.add_all([reader, gone])
        db.session.commit()
        manage = tokens.make_manage_token(reader.uid)
        used = tokens.make_confirm_token(gone.uid)
    page.goto(f"{live.url}/confirm/{used}")
    assert page.get_attribute("html", "lang") == HTML_LANG[lang]
    audit.check(page, f"{lang} used confirmation link")
    page.goto(f"{live.url}/manage/{manage}/erase")
    assert page.get_attribute("html", "lang") == HTML_LANG[lang]
    audit.check(page, f"{lang} delete my data")
    press_button(page, "main form button[type=submit]")
    assert page.locator("[role=status] h1").count() == 1
    audit.check(page, f"{lang} data deleted")
    audit.assert_clean()
