"""The issue email and its editor preview in both languages: fallback marked with lang."""

from __future__ import annotations

from datetime import UTC, datetime

from bs4 import BeautifulSoup

from bulletin.mail.rendering import render_issue


def _issue(make_workshop, make_opportunity, make_issue):
    both = make_workshop(
        "Writing a plain-language summary",
        title_cy="Ysgrifennu crynodeb mewn iaith glir",
        summary_en="Learn to **write** clearly.",
        summary_cy="Dysgwch **ysgrifennu**'n glir.",
        starts_at=datetime(2031, 3, 4, 10, 0, tzinfo=UTC),
        slug="plain",
    )
    english_only = make_opportunity(
        "Join the dementia research panel",
        kind="public-contributor",
        summary_en="Help shape a study.",
        closes_at=datetime(2031, 3, 20, 17, 0, tzinfo=UTC),
    )
    welsh_only = make_opportunity(
        None,
        title_cy="Arolwg am ofal cartref",
        kind="survey",
        summary_cy="Dywedwch eich barn wrthym.",
        closes_at=datetime(2031, 3, 27, 17, 0, tzinfo=UTC),
    )
    return make_issue(
        "March bulletin",
        subject_cy="Bwletin mis Mawrth",
        slug="march-2031",
        items=[both, english_only, welsh_only],
    )


def _item(soup: BeautifulSoup, title: str):
    heading = soup.find(lambda tag: tag.name == "h3" and title in tag.get_text())
    assert heading is not None, title
    return heading.find_parent(class_="item")


def test_welsh_issue_marks_english_fallback_for_screen_readers(
    make_workshop, make_opportunity, make_issue
):
    rendered = render_issue(_issue(make_workshop, make_opportunity, make_issue), "cy")
    soup = BeautifulSoup(rendered.html, "html.parser")
    assert soup.html["lang"] == "cy"
    assert rendered.subject == "Bwletin mis Mawrth"
    assert [h.get_text(strip=True) for h in soup.find_all("h2")] == [
        "Gweithdai a digwyddiadau",
        "Ffyrdd o gymryd rhan",
    ]
    assert "Dydd Mawrth 4 Mawrth 2031, 10:00" in rendered.html
    assert _item(soup, "Ysgrifennu crynodeb").get("lang") is None  # in the reader's language
    fallback = _item(soup, "Join the dementia research panel")
    assert fallback["lang"] == "en-GB"
    # The labels around the English text are still Welsh, and say so.
    labels = fallback.find_all(lang="cy")
    assert labels and any("Yn cau:" in tag.get_text() for tag in labels)
    footer_links = [a.get_text(strip=True) for a in soup.find_all("a")]
    assert "Dad-danysgrifio" in footer_links and "Rheoli eich tanysgrifiad" in footer_links
    assert "Dad-danysgrifio" in rendered.text


def test_english_issue_marks_welsh_fallback(make_workshop, make_opportunity, make_issue):
    rendered = render_issue(_issue(make_workshop, make_opportunity, make_issue), "en")
    soup = BeautifulSoup(rendered.html, "html.parser")
    assert soup.html["lang"] == "en-GB"
    assert _item(soup, "Arolwg am ofal cartref")["lang"] == "cy"
    assert _item(soup, "Writing a plain-language summary").get("lang") is None
    assert "Tuesday 4 March 2031, 10:00" in rendered.html


def test_preview_warns_about_missing_languages_in_welsh(
    editor_client, make_workshop, make_opportunity, make_issue
):
    issue = _issue(make_workshop, make_opportunity, make_issue)
    response = editor_client.get(f"/editor/issues/{issue.id}/preview?in=cy&lang=cy")
    assert response.status_code == 200
    soup = BeautifulSoup(response.text, "html.parser")
    assert soup.html["lang"] == "cy"
    warning = soup.select_one("#missing-languages").get_text(" ", strip=True)
    assert "Nid oes fersiwn Gymraeg o Join the dementia research panel" in warning
    assert "Nid oes fersiwn Saesneg o Arolwg am ofal cartref" in warning
    assert "Plain-language" not in warning  # complete items are not listed


def test_public_archive_copy_is_in_the_readers_language_with_fallback(
    client, make_workshop, make_opportunity, make_issue
):
    from bulletin.extensions import db
    from bulletin.models import utcnow

    issue = _issue(make_workshop, make_opportunity, make_issue)
    issue.published_at = utcnow()
    db.session.commit()
    soup = BeautifulSoup(client.get("/issues/march-2031?lang=cy").text, "html.parser")
    assert soup.html["lang"] == "cy"
    assert soup.h1.get_text(strip=True) == "Bwletin mis Mawrth"
    assert _item(soup, "Join the dementia research panel")["lang"] == "en-GB"
    assert soup.select_one('nav a[hreflang="en-GB"]').get_text(strip=True) == "English"
