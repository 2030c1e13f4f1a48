"""The public catalogue (/workshops) in Chromium: axe in both languages, the filter form with
JavaScript off, and the calendar feed its page offers."""

from __future__ import annotations

import icalendar
import pytest

from tests.browser.fixtures import save_screenshots
from tests.browser.keyboard import press_button, tick
from tests.browser.mail import HTML_LANG

pytestmark = pytest.mark.browser


def seed_catalogue(app) -> None:
    """Two upcoming workshops (one online with BSL, one in Bangor with step-free access), an
    open opportunity, and a past workshop that never shows."""
    from datetime import timedelta

    from bulletin.extensions import db
    from bulletin.models import Opportunity, Topic, Workshop, utcnow

    start = utcnow().replace(second=0, microsecond=0) + timedelta(days=10)
    with app.app_context():
        topic = db.session.scalar(db.select(Topic).where(Topic.slug == "workshops"))
        db.session.add_all(
            [
                Workshop(
                    slug="plain-language",
                    title_en="Plain-language summaries",
                    title_cy="Crynodebau iaith glir",
                    summary_en="Learn how.",
                    starts_at=start,
                    ends_at=start + timedelta(hours=2),
                    is_online=True,
                    has_bsl=True,
                    has_captions=True,
                    topics=[topic],
                ),
                Workshop(
                    slug="bangor",
                    title_en="Research cafe, Bangor",
                    title_cy="Caffi ymchwil, Bangor",
                    venue_en="Pontio, Bangor",
                    venue_cy="Pontio, Bangor",
                    region="north-wales",
                    starts_at=start + timedelta(days=2),
                    ends_at=start + timedelta(days=2, hours=3),
                    has_step_free_access=True,
                    has_hearing_loop=True,
                ),
                Workshop(
                    slug="over",
                    title_en="Already over",
                    starts_at=start - timedelta(days=40),
                    ends_at=start - timedelta(days=40, hours=-1),
                ),
                Opportunity(
                    slug="panel",
                    title_en="Join the research panel",
                    title_cy="Ymunwch â'r panel ymchwil",
                    summary_en="Help shape a study.",
                    kind="public-contributor",
                    url="https://example.org/panel",
                    closes_at=start + timedelta(days=5),
                ),
            ]
        )
        db.session.commit()


def listed(page) -> list[str]:
    return [t.strip() for t in page.locator(".catalogue-list h3").all_inner_texts()]


@pytest.mark.parametrize("lang", ["cy", "en"])
def test_catalogue_pages_are_accessible(live, page, audit, screenshots, lang):
    seed_catalogue(live.app)
    page.goto(f"{live.url}/workshops?lang={lang}")
    assert page.get_attribute("html", "lang") == HTML_LANG[lang]
    welsh = lang == "cy"
    assert listed(page) == [
        "Crynodebau iaith glir" if welsh else "Plain-language summaries",
        "Caffi ymchwil, Bangor" if welsh else "Research cafe, Bangor",
        "Ymunwch â'r panel ymchwil" if welsh else "Join the research panel",
    ]
    audit.check(page, f"{lang} workshops")
    save_screenshots(page, screenshots, f"workshops-{lang}")
    for query, label in [
        ("region=north-wales&access=step-free-access", "filtered"),
        ("format=online&access=hearing-loop", "nothing matches"),
        ("region=atlantis", "bad filter (400)"),
        ("show=workshops", "workshops only"),
    ]:
        page.goto(f"{live.url}/workshops?lang={lang}&{query}")
        assert page.get_attribute("html", "lang") == HTML_LANG[lang]
        audit.check(page, f"{lang} workshops {label}")
    save_screenshots(page, screenshots, f"workshops-only-{lang}")
    audit.assert_clean()


def test_filter_form_works_without_javascript_and_offers_a_matching_feed(live, chromium):
    seed_catalogue(live.app)
    context = chromium.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live.url}/subscribe?lang=cy")
    press_button(page, "main a[href='/workshops']")
    assert page.locator("h1").inner_text() == "Gweithdai a chyfleoedd"
    page.select_option("#region", "north-wales")
    tick(page, "input[name=access][value=step-free-access]")
    press_button(page, "form.filters button[type=submit]")
    assert "region=north-wales" in page.url and "access=step-free-access" in page.url
    assert listed(page) == ["Caffi ymchwil, Bangor"]
    assert page.locator("#region").input_value() == "north-wales"

    feed_url = page.locator("a[href*='/workshops.ics?']").get_attribute("href")
    assert "lang=cy" in feed_url and "region=north-wales" in feed_url
    response = page.request.get(feed_url)
    assert response.ok and response.headers["content-type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(response.body())
    assert [str(e["SUMMARY"]) for e in calendar.walk("VEVENT")] == ["Caffi ymchwil, Bangor"]
    assert calendar.walk("VTIMEZONE")

    page.select_option("#format", "online")
    press_button(page, "form.filters button[type=submit]")
    assert listed(page) == []
    assert page.locator("[role=status] h2").inner_text() == "Does dim yn cyfateb i'ch dewisiadau"
    context.close()
