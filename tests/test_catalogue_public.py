"""The public catalogue (/workshops) and its calendar feeds (/workshops.ics)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
import pytest
from bs4 import BeautifulSoup

from bulletin.extensions import db
from bulletin.models import utcnow
from bulletin.subscriptions.catalogue import FEW, PER_PAGE

LONG_WELSH = (
    "Dewch i ddysgu sut i ysgrifennu crynodebau iaith glir; bydd ŵyr, ŷd a chân yn "
    "ymddangos, gyda choma, hanner colon; a llinell newydd.\nAil linell: ymchwil iechyd "
    "a gofal cymdeithasol yng Nghymru, â'r cyhoedd yn bartneriaid llawn ym mhob cam."
)


def soon(days: float) -> datetime:
    return utcnow().replace(second=0, microsecond=0) + timedelta(days=days)


@pytest.fixture
def seeded(make_workshop, make_opportunity):
    """Workshops and opportunities of every kind the filters tell apart, with titles to match."""
    make_workshop(
        "BSL online",
        slug="bsl-online",
        is_online=True,
        has_bsl=True,
        has_captions=True,
        topics=["workshops"],
        starts_at=soon(3),
    )
    make_workshop(
        "North in person",
        title_cy="Gogledd wyneb yn wyneb",
        slug="north-in-person",
        region="north-wales",
        venue_en="Bangor",
        has_step_free_access=True,
        has_hearing_loop=True,
        topics=["public-involvement"],
        starts_at=soon(5),
    )
    make_workshop(
        "Mid in person",
        slug="mid-in-person",
        region="mid-wales",
        venue_en="Aberystwyth",
        topics=["workshops"],
        starts_at=soon(7),
    )
    make_workshop("Last month", slug="past", starts_at=soon(-30), topics=["workshops"])
    make_workshop("Withdrawn", slug="archived", is_archived=True, topics=["workshops"])
    make_opportunity("Panel north", slug="panel-north", region="north-wales")
    make_opportunity("Survey anywhere", slug="survey-anywhere", kind="survey")
    make_opportunity("Closed study", slug="closed", closes_at=soon(-1))
    make_opportunity("Archived role", slug="archived-role", is_archived=True)


def titles(response, section: str) -> list[str]:
    soup = BeautifulSoup(response.text, "html.parser")
    found = soup.find("section", attrs={"aria-labelledby": f"{section}-heading"})
    return [h.get_text(strip=True) for h in found.select(".catalogue-list h3")] if found else []


def test_page_lists_only_upcoming_open_and_unarchived_entries(client, seeded):
    page = client.get("/workshops?lang=en")
    assert page.status_code == 200
    assert titles(page, "workshops") == ["BSL online", "North in person", "Mid in person"]
    assert titles(page, "opportunities") == ["Panel north", "Survey anywhere"]
    for hidden in ("Last month", "Withdrawn", "Closed study", "Archived role"):
        assert hidden not in page.text
    soup = BeautifulSoup(page.text, "html.parser")
    assert soup.find("a", href="/workshops/north-in-person")
    assert soup.find("a", href="/workshops/north-in-person.ics?lang=en")
    assert "Upcoming workshops (3)" in page.text and "Open opportunities (2)" in page.text


@pytest.mark.parametrize(
    ("query", "workshops", "opportunities"),
    [
        ("topic=public-involvement", ["North in person"], []),
        ("topic=workshops", ["BSL online", "Mid in person"], []),
        # No region is all of Wales: it belongs to every region's list.
        (
            "region=north-wales",
            ["BSL online", "North in person"],
            ["Panel north", "Survey anywhere"],
        ),
        ("region=mid-wales", ["BSL online", "Mid in person"], ["Survey anywhere"]),
        ("format=online", ["BSL online"], []),
        ("format=in-person", ["North in person", "Mid in person"], []),
        ("access=bsl", ["BSL online"], []),
        ("access=step-free-access&access=hearing-loop", ["North in person"], []),
        ("access=bsl&access=hearing-loop", [], []),
        ("region=north-wales&format=in-person", ["North in person"], []),
    ],
)
def test_filters_narrow_the_page(client, seeded, query, workshops, opportunities):
    page = client.get(f"/workshops?lang=en&{query}")
    assert page.status_code == 200
    assert titles(page, "workshops") == workshops
    assert titles(page, "opportunities") == opportunities
    if not workshops and not opportunities:
        assert "Nothing matches your choices" in page.text


def test_page_in_welsh_keeps_the_filters_and_names_them_in_welsh(client, seeded):
    page = client.get("/workshops?lang=cy&region=north-wales&access=hearing-loop")
    assert page.status_code == 200
    soup = BeautifulSoup(page.text, "html.parser")
    assert soup.html["lang"] == "cy"
    assert titles(page, "workshops") == ["Gogledd wyneb yn wyneb"]
    assert soup.select_one("#region option[selected]").get_text() == "Gogledd Cymru"
    assert soup.select_one("#access-0").get("checked") is None
    assert soup.find("input", attrs={"value": "hearing-loop"}).has_attr("checked")
    switch = soup.select_one(".language-switch a")["href"]
    assert "region=north-wales" in switch and "access=hearing-loop" in switch
    feed = soup.find("link", attrs={"type": "text/calendar"})["href"]
    assert feed.startswith("/workshops.ics?") and "lang=cy" in feed and "region=north-wales" in feed


def test_nothing_matches_says_so(client, make_workshop):
    page = client.get("/workshops?lang=cy")
    assert page.status_code == 200 and "Does dim yn cyfateb" in page.text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("topic=nope", "Choose a topic from the list"),
        ("region=atlantis", "Choose a region from the list"),
        ("format=teleport", "Choose online, in person or either"),
        ("access=jetpack", "Choose accessibility features from the list"),
        ("show=everything", "Choose workshops, opportunities or both"),
    ],
)
def test_unknown_filter_values_are_a_400_with_an_error_summary(client, seeded, query, message):
    page = client.get(f"/workshops?lang=en&{query}")
    assert page.status_code == 400
    soup = BeautifulSoup(page.text, "html.parser")
    assert soup.select_one(".error-summary a").get_text() == message
    assert soup.title.get_text().startswith("Error: ")
    assert not soup.select(".catalogue-list")


def test_many_workshops_are_capped_then_paged(client, make_workshop):
    for n in range(PER_PAGE + 3):
        make_workshop(f"Session {n:02d}", slug=f"s-{n:02d}", starts_at=soon(1 + n))
    both = client.get("/workshops?lang=en")
    assert titles(both, "workshops") == [f"Session {n:02d}" for n in range(FEW)]
    assert f"See all workshops ({PER_PAGE + 3})" in both.text
    first = client.get("/workshops?lang=en&show=workshops")
    assert len(titles(first, "workshops")) == PER_PAGE and "opportunities-heading" not in first.text
    second = client.get("/workshops?lang=en&show=workshops&page=2")
    assert titles(second, "workshops") == [
        f"Session {n:02d}" for n in range(PER_PAGE, PER_PAGE + 3)
    ]
    assert "Page 2 of 2" in second.text


def test_public_pages_link_the_catalogue(client, make_workshop):
    make_workshop("Linked", slug="linked")
    for path in ("/subscribe", "/privacy", "/issues"):
        soup = BeautifulSoup(client.get(f"{path}?lang=cy").text, "html.parser")
        assert soup.select_one("footer a[href='/workshops']").get_text() == "Gweithdai a chyfleoedd"
    for path in ("/subscribe", "/workshops/linked"):
        soup = BeautifulSoup(client.get(path).text, "html.parser")
        assert soup.select_one("main a[href='/workshops']")


# ----- the feeds -----


def parse(response) -> icalendar.Calendar:
    assert response.status_code == 200, response.text
    assert response.mimetype == "text/calendar"
    return icalendar.Calendar.from_ical(response.data)


def summaries(calendar: icalendar.Calendar) -> list[str]:
    return [str(event["SUMMARY"]) for event in calendar.walk("VEVENT")]


def test_feed_has_london_timezone_stable_uids_and_only_upcoming_workshops(client, seeded):
    response = client.get("/workshops.ics?lang=en")
    calendar = parse(response)
    [timezone] = calendar.walk("VTIMEZONE")
    assert str(timezone["TZID"]) == "Europe/London"
    assert summaries(calendar) == ["BSL online", "North in person", "Mid in person"]
    event = calendar.walk("VEVENT")[1]
    assert str(event["UID"]) == f"workshop-{_id('north-in-person')}@example.org"
    assert event["DTSTART"].params["TZID"] == "Europe/London"
    assert event.decoded("DTSTAMP") and event.decoded("LAST-MODIFIED")
    assert str(event["LOCATION"]) == "Bangor"
    assert "METHOD" not in calendar
    assert str(calendar["X-WR-CALNAME"]).endswith(": Workshops")
    # The same UID as the workshop's own .ics: a client that added both sees one event.
    single = parse(client.get("/workshops/north-in-person.ics"))
    assert str(single.walk("VEVENT")[0]["UID"]) == str(event["UID"])
    # The same answer twice (nothing changed): byte for byte, so the ETag holds.
    assert client.get("/workshops.ics?lang=en").data == response.data


def _id(slug: str) -> int:
    from bulletin.models import Workshop

    return db.session.scalar(db.select(Workshop.id).where(Workshop.slug == slug))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("topic=workshops", ["BSL online", "Mid in person"]),
        ("region=north-wales", ["BSL online", "North in person"]),
        ("topic=workshops&region=mid-wales", ["BSL online", "Mid in person"]),
        ("topic=public-involvement&region=mid-wales", []),
        ("format=in-person&access=hearing-loop", ["North in person"]),
    ],
)
def test_feed_follows_topic_and_region(client, seeded, query, expected):
    assert summaries(parse(client.get(f"/workshops.ics?{query}"))) == expected


def test_welsh_feed_has_welsh_text_and_name(client, seeded):
    calendar = parse(client.get("/workshops.ics?lang=cy&region=north-wales"))
    assert summaries(calendar) == ["BSL online", "Gogledd wyneb yn wyneb"]
    # An item stays in one language: the English-only workshop is wholly in English.
    assert str(calendar.walk("VEVENT")[0]["LOCATION"]) == "Online"
    assert str(calendar["X-WR-CALNAME"]).endswith(": Gweithdai (Gogledd Cymru)")


def test_feed_text_is_escaped_and_folded_at_75_octets(client, make_workshop):
    title = "Ymchwil, iechyd; a gofal: gweithdy\\cyhoeddus"
    make_workshop(title, title_cy=title, summary_cy=LONG_WELSH, slug="hir", venue_cy="Caerdydd")
    response = client.get("/workshops.ics?lang=cy")
    raw = response.data
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    lines = raw.split(b"\r\n")
    assert all(len(line) <= 75 for line in lines), max(lines, key=len)
    for line in lines:
        line.decode("utf-8")  # folding never splits a character
    unfolded = raw.replace(b"\r\n ", b"").decode()
    assert "SUMMARY:Ymchwil\\, iechyd\\; a gofal: gweithdy\\\\cyhoeddus\r\n" in unfolded
    assert "\\nAil linell" in unfolded  # the new line, escaped
    [event] = parse(response).walk("VEVENT")
    assert str(event["SUMMARY"]) == title
    assert str(event["DESCRIPTION"]).startswith("Dewch i ddysgu") and "ŵyr, ŷd" in str(
        event["DESCRIPTION"]
    )
    assert any(line.startswith(b" ") for line in lines)  # the description was folded


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("topic=nope", "topic"),
        ("region=atlantis", "region"),
        ("lang=fr", "lang"),
        ("access=jetpack", "access"),
        ("topic=nope&region=atlantis", "region"),
    ],
)
def test_bad_feed_parameters_are_a_400_that_says_what_to_use(client, seeded, query, named):
    response = client.get(f"/workshops.ics?{query}")
    assert response.status_code == 400 and response.mimetype == "text/plain"
    assert f"{named}: " in response.text
    if named == "region":
        assert "north-wales" in response.text


def test_feed_is_cacheable_and_answers_304_to_its_etag(client, seeded):
    first = client.get("/workshops.ics?lang=en")
    assert first.headers["Cache-Control"] in ("public, max-age=900", "max-age=900, public")
    assert "Set-Cookie" not in first.headers
    etag = first.headers["ETag"]
    again = client.get("/workshops.ics?lang=en", headers={"If-None-Match": etag})
    assert again.status_code == 304 and not again.data
    no_lang = client.get("/workshops.ics", headers={"Accept-Language": "cy"})
    assert "Accept-Language" in no_lang.headers["Vary"]
    assert "Gogledd wyneb yn wyneb" in no_lang.text


def test_feed_changes_when_a_workshop_does(client, seeded):
    from bulletin.models import Workshop

    first = client.get("/workshops.ics")
    workshop = db.session.scalar(db.select(Workshop).where(Workshop.slug == "mid-in-person"))
    workshop.title_en = "Mid in person (moved)"
    workshop.updated_at = datetime.now(UTC) + timedelta(minutes=1)
    db.session.commit()
    second = client.get("/workshops.ics", headers={"If-None-Match": first.headers["ETag"]})
    assert second.status_code == 200
    assert "Mid in person (moved)" in summaries(parse(second))


def test_empty_feed_is_still_a_calendar(client):
    calendar = parse(client.get("/workshops.ics?lang=cy"))
    assert calendar.walk("VEVENT") == [] and str(calendar["VERSION"]) == "2.0"


def test_feed_dtstamp_is_the_workshops_last_revision(client, make_workshop):
    workshop = make_workshop("Stamped", slug="stamped")
    [event] = parse(client.get("/workshops.ics")).walk("VEVENT")
    assert event.decoded("DTSTAMP") == workshop.updated_at.replace(microsecond=0)
