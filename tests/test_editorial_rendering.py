"""render_issue: one render per language, placeholders, fallback, headings, dates."""

from __future__ import annotations

from datetime import UTC, datetime

from bs4 import BeautifulSoup

from bulletin.mail.rendering import MANAGE_PLACEHOLDER, UNSUBSCRIBE_PLACEHOLDER, render_issue


def _issue(make_workshop, make_opportunity, make_issue):
    workshop = make_workshop(
        "Allyship with community partners",
        title_cy="Cynghreiriaeth gyda phartneriaid cymunedol",
        summary_en="Learn how to **support** others.",
        summary_cy="Dysgwch sut i **gefnogi** eraill.",
        starts_at=datetime(2031, 5, 14, 9, 0, tzinfo=UTC),
        hours=2.5,
        has_bsl=True,
        booking_url="https://book.example.org/a",
        slug="allyship",
    )
    opportunity = make_opportunity(
        "Survey on waiting times",
        kind="survey",
        summary_en="Tell us what you think.",
        closes_at=datetime(2031, 6, 30, 16, 0, tzinfo=UTC),
        url="https://survey.example.org/s",
    )
    return make_issue(
        "May bulletin",
        subject_cy="Bwletin mis Mai",
        slug="may-2031",
        intro_en="Hello *everyone*.",
        intro_cy="Helo *bawb*.",
        items=[
            workshop,
            opportunity,
            {"title_en": "News item", "body_en": "Some [news](https://n.example/)"},
        ],
    )


def test_render_issue_in_welsh_with_fallback_and_placeholders(
    make_workshop, make_opportunity, make_issue
):
    issue = _issue(make_workshop, make_opportunity, make_issue)
    rendered = render_issue(issue, "cy")
    assert rendered.subject == "Bwletin mis Mai"
    assert rendered.language == "cy"
    soup = BeautifulSoup(rendered.html, "html.parser")
    assert soup.html["lang"] == "cy"
    assert [h.get_text(strip=True) for h in soup.find_all("h1")] == ["Bwletin mis Mai"]
    assert len(soup.find_all("h2")) == 3
    assert "Cynghreiriaeth gyda phartneriaid cymunedol" in soup.find_all("h3")[0].get_text()
    # Welsh date: 14 May 2031, 10:00 BST.
    assert "Dydd Mercher 14 Mai 2031, 10:00" in rendered.html
    # The survey has no Welsh: it falls back to English, marked as such.
    fallback = soup.find(lang="en-GB")
    assert fallback is not None and "Survey on waiting times" in fallback.get_text()
    assert UNSUBSCRIBE_PLACEHOLDER in rendered.html and MANAGE_PLACEHOLDER in rendered.html
    assert UNSUBSCRIBE_PLACEHOLDER in rendered.text
    assert "http://localhost/issues/may-2031" in rendered.html
    assert "http://localhost/workshops/allyship.ics" in rendered.html
    assert 'style="' in rendered.html  # premailer inlined the CSS
    for link in soup.find_all("a"):
        assert link.get_text(strip=True).lower() not in ("click here", "here", "cliciwch yma")


def test_render_issue_plain_text_and_public_version(make_workshop, make_opportunity, make_issue):
    issue = _issue(make_workshop, make_opportunity, make_issue)
    rendered = render_issue(issue, "en", personal=False)
    assert UNSUBSCRIBE_PLACEHOLDER not in rendered.html + rendered.text
    assert MANAGE_PLACEHOLDER not in rendered.html + rendered.text
    assert "May bulletin\n============" in rendered.text
    assert "Workshops and events\n--------------------" in rendered.text
    assert "Some news (https://n.example/)" in rendered.text
    assert "Add to calendar: http://localhost/workshops/allyship.ics" in rendered.text
    assert "Wednesday 14 May 2031, 10:00 to 12:30" in rendered.text
    assert "https://book.example.org/a" in rendered.text
    html_links = {a["href"] for a in BeautifulSoup(rendered.html, "html.parser").find_all("a")}
    for href in html_links:
        assert href in rendered.text
