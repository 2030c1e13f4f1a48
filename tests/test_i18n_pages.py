"""Public pages and emails in Welsh and English: language choice, html lang, errors, dates."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from babel import Locale
from bs4 import BeautifulSoup
from flask_babel import force_locale, format_date, format_datetime

from bulletin.mail import tokens
from bulletin.mail.rendering import render_email
from bulletin.models import SubscriberStatus
from tests.conftest import csrf_token

HTML_LANG = {"cy": "cy", "en": "en-GB"}
WELSH_MONTHS = [
    "Ionawr",
    "Chwefror",
    "Mawrth",
    "Ebrill",
    "Mai",
    "Mehefin",
    "Gorffennaf",
    "Awst",
    "Medi",
    "Hydref",
    "Tachwedd",
    "Rhagfyr",
]
WELSH_DAYS = [
    "Dydd Llun",
    "Dydd Mawrth",
    "Dydd Mercher",
    "Dydd Iau",
    "Dydd Gwener",
    "Dydd Sadwrn",
    "Dydd Sul",
]


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


@pytest.fixture
def site(app):
    """The app with no app context held open between requests.

    Flask-Babel caches the chosen locale on `g`, which lives in the app context; the `app`
    fixture keeps one pushed, so its test client would share `g` across requests.
    """
    from flask.globals import app_ctx

    outer = app_ctx._get_current_object()
    outer.pop()
    try:
        yield app
    finally:
        outer.push()


@pytest.fixture
def client(site):  # noqa: F811  (shadows conftest's client: a context-free one)
    return site.test_client()


def make_reader(app, email: str, **fields):
    """A subscriber, made in a short-lived app context."""
    from bulletin.extensions import db
    from bulletin.models import Subscriber, utcnow

    with app.app_context():
        fields.setdefault("status", SubscriberStatus.CONFIRMED)
        fields.setdefault("language", "en")
        reader = Subscriber(email=email, region="north-wales", confirmed_at=utcnow(), **fields)
        db.session.add(reader)
        db.session.commit()
        return reader.uid


@pytest.fixture
def token_paths(site) -> list[str]:
    """Pages reached from links in emails, for a pending and a confirmed subscriber."""
    pending = make_reader(site, "pending@example.org", status=SubscriberStatus.PENDING)
    confirmed = make_reader(site, "confirmed@example.org")
    with site.app_context():
        manage = tokens.make_manage_token(confirmed)
        return [
            f"/confirm/{tokens.make_confirm_token(pending)}",
            f"/manage/{manage}",
            f"/manage/{manage}/erase",
            f"/unsubscribe/{tokens.make_unsubscribe_token(confirmed)}",
        ]


PLAIN_PATHS = [
    "/subscribe",
    "/subscribe/check-your-email",
    "/manage",
    "/accessibility",
    "/privacy",
    "/issues",
    "/no-such-page",
    "/confirm/not-a-token",
]


@pytest.mark.parametrize("lang", ["cy", "en"])
def test_every_public_page_has_the_right_html_lang_and_a_switch(client, token_paths, lang):
    other = "en" if lang == "cy" else "cy"
    for path in PLAIN_PATHS + token_paths:
        response = client.get(f"{path}?lang={lang}")
        page = soup(response)
        assert page.html["lang"] == HTML_LANG[lang], path
        switch = page.select_one(f'nav a[hreflang="{HTML_LANG[other]}"]')
        assert switch is not None and f"lang={other}" in switch["href"], path
        assert switch.get_text(strip=True) == ("Cymraeg" if other == "cy" else "English")
        assert switch["lang"] == HTML_LANG[other]
        assert len(page.find_all("h1")) == 1, path
        assert page.select_one("a.skip-link")["href"] == "#main-content"


def test_welsh_pages_are_in_welsh(client, token_paths):
    expected = {
        "/subscribe": "Tanysgrifio i'r bwletin ymchwil",
        "/privacy": "Hysbysiad preifatrwydd",
        "/accessibility": "Datganiad hygyrchedd",
        "/no-such-page": "Heb ddod o hyd i'r dudalen",
        token_paths[0]: "Cadarnhau eich tanysgrifiad",
        token_paths[3]: "Dad-danysgrifio o'r bwletin",
    }
    for path, heading in expected.items():
        page = soup(client.get(f"{path}?lang=cy"))
        assert page.h1.get_text(strip=True) == heading
        assert page.title.get_text().startswith(page.title.get_text().split(" – ")[0])
        assert "Neidio i'r prif gynnwys" in page.select_one("a.skip-link").get_text()


def test_lang_choice_is_remembered_for_later_pages(client):
    client.get("/subscribe?lang=cy")
    assert soup(client.get("/privacy")).html["lang"] == "cy"
    client.get("/privacy?lang=en")
    assert soup(client.get("/subscribe", headers={"Accept-Language": "cy"})).html["lang"] == "en-GB"


def test_accept_language_chooses_when_nothing_else_does(client):
    assert (
        soup(client.get("/subscribe", headers={"Accept-Language": "cy-GB,cy;q=0.9"})).html["lang"]
        == "cy"
    )
    assert soup(client.get("/subscribe", headers={"Accept-Language": "fr"})).html["lang"] == "en-GB"


def test_subscribers_stored_language_beats_the_browser(site, client):
    reader = make_reader(site, "gwen@example.org", language="cy")
    with site.app_context():
        path = f"/manage/{tokens.make_manage_token(reader)}"
    page = soup(client.get(path, headers={"Accept-Language": "en-GB"}))
    assert page.html["lang"] == "cy"
    assert page.h1.get_text(strip=True) == "Rheoli eich tanysgrifiad"


def test_welsh_post_with_errors_is_reported_in_welsh(client):
    form = client.get("/subscribe?lang=cy")
    response = client.post(
        "/subscribe",
        data={"csrf_token": csrf_token(form.text), "email": "not-an-address", "language": "cy"},
    )
    assert response.status_code == 400
    page = soup(response)
    assert page.html["lang"] == "cy"
    assert page.title.get_text().startswith("Gwall: ")
    summary = page.select_one(".error-summary")
    assert summary.h2.get_text(strip=True) == "Mae problem wedi codi"
    messages = [a.get_text(strip=True) for a in summary.select("a")]
    assert "Rhowch gyfeiriad e-bost yn y fformat cywir, fel enw@example.com" in messages
    assert "Dewiswch o leiaf un pwnc" in messages
    assert "Ticiwch y blwch i gytuno i gael y bwletin" in messages
    for link in summary.select("a"):  # each summary link lands on a real field
        assert page.find(id=link["href"].lstrip("#")) is not None, link["href"]
    email = page.find(id="email")
    assert email["aria-invalid"] == "true"
    described = [page.find(id=i) for i in email["aria-describedby"].split()]
    assert any(d is not None and "fformat cywir" in d.get_text() for d in described)


def test_english_post_with_errors_is_reported_in_english(client):
    form = client.get("/subscribe?lang=en")
    response = client.post("/subscribe", data={"csrf_token": csrf_token(form.text)})
    page = soup(response)
    assert page.title.get_text().startswith("Error: ")
    assert "Enter your email address" in page.select_one(".error-summary").get_text()


def test_consent_statement_is_shown_in_both_languages(client):
    welsh = soup(client.get("/subscribe?lang=cy")).select_one("#consent-statement").get_text()
    english = soup(client.get("/subscribe?lang=en")).select_one("#consent-statement").get_text()
    assert "ymchwil iechyd a gofal cymdeithasol" in welsh
    assert "dad-danysgrifio" in welsh
    assert "health and social care research" in english
    assert "Rwy'n cytuno i gael y bwletin drwy e-bost" in client.get("/subscribe?lang=cy").text


def test_babel_cy_locale_has_welsh_month_and_day_names():
    locale = Locale("cy")
    assert [locale.months["format"]["wide"][m] for m in range(1, 13)] == WELSH_MONTHS
    assert [locale.days["format"]["wide"][d] for d in range(7)] == WELSH_DAYS


def test_dates_are_formatted_in_the_pages_language(app):
    when = datetime(2026, 3, 5, 14, 30, tzinfo=UTC)  # 14:30 GMT, a Thursday
    with app.test_request_context("/"):
        with force_locale("cy"):
            welsh = format_datetime(when, "full")
            welsh_date = format_date(when, "long")
        with force_locale("en"):
            english = format_datetime(when, "full")
    assert "Dydd Iau" in welsh and "Mawrth" in welsh and "14:30" in welsh
    assert welsh_date == "5 Mawrth 2026"
    assert "Thursday" in english and "March" in english


def test_summer_time_is_shown_in_london_time(app):
    when = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
    with app.test_request_context("/"), force_locale("cy"):
        assert "10:00" in format_datetime(when, "short")


EMAILS = {
    "confirm": {"confirm_url": "https://example.org/confirm/T", "manage_url": None},
    "already-subscribed": {"manage_url": "https://example.org/manage/T"},
    "welcome": {"manage_url": "https://example.org/manage/T"},
    "manage-link": {"manage_url": "https://example.org/manage/T"},
}
WELSH_SUBJECTS = {
    "confirm": "Cadarnhewch eich tanysgrifiad i ",
    "already-subscribed": "Rydych eisoes wedi tanysgrifio i ",
    "welcome": "Croeso i ",
    "manage-link": "Eich dolen i reoli eich tanysgrifiad i ",
}
ENGLISH_SUBJECTS = {
    "confirm": "Confirm your subscription to ",
    "already-subscribed": "You are already subscribed to ",
    "welcome": "Welcome to ",
    "manage-link": "Your link to manage your subscription to ",
}


@pytest.mark.parametrize("kind", sorted(EMAILS))
@pytest.mark.parametrize("lang", ["cy", "en"])
def test_transactional_emails_are_in_the_subscribers_language(app, kind, lang):
    rendered = render_email(kind, lang, max_age_days=7, **EMAILS[kind])
    page = BeautifulSoup(rendered.html, "html.parser")
    assert page.html["lang"] == HTML_LANG[lang]
    assert len(page.find_all("h1")) == 1
    assert all(t.get("role") == "presentation" for t in page.find_all("table"))
    welcome_line = (
        "Rydym yn croesawu gohebiaeth yn Gymraeg"
        if lang == "cy"
        else "We welcome correspondence in Welsh"
    )
    assert welcome_line in rendered.text and welcome_line in page.get_text()
    if lang == "cy":
        assert rendered.subject.startswith(WELSH_SUBJECTS[kind])
    else:
        assert rendered.subject.startswith(ENGLISH_SUBJECTS[kind])
    for link in page.find_all("a"):
        assert link["href"] in rendered.text  # every link written out in the plain part
