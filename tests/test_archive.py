"""The public archive: issue list and web version, workshop pages, .ics and the Atom feed."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import icalendar
from bs4 import BeautifulSoup

from bulletin.mail.rendering import MANAGE_PLACEHOLDER, UNSUBSCRIBE_PLACEHOLDER
from bulletin.subscriptions.archive import PER_PAGE

ATOM = "{http://www.w3.org/2005/Atom}"


def test_issue_list_shows_published_newest_first_and_paginates(client, make_issue):
    base = datetime(2030, 1, 1, tzinfo=UTC)
    for n in range(PER_PAGE + 2):
        make_issue(f"Issue {n:02d}", slug=f"issue-{n:02d}", published_at=base + timedelta(days=n))
    make_issue("Draft issue", slug="draft")
    first = client.get("/issues")
    assert first.status_code == 200
    titles = [
        a.get_text() for a in BeautifulSoup(first.text, "html.parser").select(".issue-list a")
    ]
    assert titles[0] == f"Issue {PER_PAGE + 1:02d}" and len(titles) == PER_PAGE
    assert "Draft issue" not in first.text
    second = client.get("/issues?page=2")
    assert "Issue 00" in second.text and "Issue 01" in second.text
    assert client.get("/issues/draft").status_code == 404


def test_web_version_has_no_personal_links(client, make_workshop, make_issue):
    workshop = make_workshop(
        "Allyship workshop", title_cy="Gweithdy cynghreiriaeth", slug="allyship"
    )
    make_issue(
        "Spring bulletin",
        subject_cy="Bwletin y gwanwyn",
        slug="spring",
        published_at=datetime(2030, 4, 1, tzinfo=UTC),
        items=[workshop],
    )
    for lang, subject, title in (
        ("en", "Spring bulletin", "Allyship workshop"),
        ("cy", "Bwletin y gwanwyn", "Gweithdy cynghreiriaeth"),
    ):
        page = client.get(f"/issues/spring?lang={lang}")
        assert page.status_code == 200
        soup = BeautifulSoup(page.text, "html.parser")
        assert soup.find("h1").get_text() == subject and title in page.text
        assert UNSUBSCRIBE_PLACEHOLDER not in page.text and MANAGE_PLACEHOLDER not in page.text
        assert soup.find("a", href="http://localhost/workshops/allyship.ics").get_text().strip()


def test_workshop_page_and_ics_parse(client, make_workshop):
    make_workshop(
        "Allyship workshop",
        title_cy="Gweithdy cynghreiriaeth",
        slug="allyship",
        starts_at=datetime(2031, 7, 1, 9, 0, tzinfo=UTC),
        hours=2,
        venue_en="Temple of Peace, Cardiff",
        has_step_free_access=True,
    )
    page = client.get("/workshops/allyship")
    assert page.status_code == 200
    assert "Allyship workshop" in page.text and "Step-free access" in page.text
    assert "10:00 to 12:00" in page.text  # shown in London time (BST)

    response = client.get("/workshops/allyship.ics?lang=cy")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    calendar = icalendar.Calendar.from_ical(response.data)
    [timezone] = calendar.walk("VTIMEZONE")
    assert str(timezone["TZID"]) == "Europe/London"
    [event] = calendar.walk("VEVENT")
    assert str(event["SUMMARY"]) == "Gweithdy cynghreiriaeth"
    assert event["DTSTART"].params["TZID"] == "Europe/London"
    assert event.decoded("DTSTART").astimezone(UTC) == datetime(2031, 7, 1, 9, 0, tzinfo=UTC)
    assert event.decoded("DTSTART").utcoffset() == timedelta(hours=1)
    assert client.get("/workshops/nope.ics").status_code == 404


def test_atom_feed_parses_and_lists_published_issues(client, make_issue):
    make_issue(
        "Older",
        slug="older",
        published_at=datetime(2030, 1, 1, tzinfo=UTC),
        preheader_en="The older one",
    )
    make_issue("Newer", slug="newer", published_at=datetime(2030, 2, 1, tzinfo=UTC))
    make_issue("Unpublished", slug="unpublished")
    response = client.get("/issues.atom")
    assert response.status_code == 200 and response.mimetype == "application/atom+xml"
    root = ET.fromstring(response.data)
    assert root.tag == f"{ATOM}feed"
    entries = root.findall(f"{ATOM}entry")
    assert [e.find(f"{ATOM}title").text for e in entries] == ["Newer", "Older"]
    assert entries[0].find(f"{ATOM}link").attrib["href"] == "http://localhost/issues/newer"
    assert root.find(f"{ATOM}updated").text.startswith("2030-02-01")
