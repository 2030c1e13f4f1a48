"""The catalogue: workshops and opportunities through the forms, DST edges, XSS, archive."""

from __future__ import annotations

from datetime import UTC, datetime

from bs4 import BeautifulSoup

from bulletin.extensions import db
from bulletin.mail.rendering import render_issue
from bulletin.models import AuditLog, Opportunity, Workshop
from tests.conftest import csrf_token

XSS = (
    '<script>alert(1)</script><img src=x onerror="alert(2)">'
    '<a href="javascript:alert(3)">j</a> [m](javascript:alert(4)) '
    '<svg onload=alert(5)></svg><iframe src="https://evil.example"></iframe>'
    '<a href="https://ok.example" onclick="alert(6)">ok</a>'
)


def _workshop_data(page_html: str, **overrides) -> dict:
    data = {
        "csrf_token": csrf_token(page_html),
        "title_en": "Allyship in research",
        "title_cy": "Cynghreiriaeth mewn ymchwil",
        "summary_en": "About allyship.",
        "starts_at": "2031-07-01T10:00",
        "ends_at": "2031-07-01T12:30",
        "region": "",
        "booking_url": "https://book.example.org/1",
        "topics": ["workshops"],
        "has_bsl": "y",
        "venue_en": "Temple of Peace, Cardiff",
    }
    data.update(overrides)
    return data


def _post_workshop(client, **overrides):
    page = client.get("/editor/workshops/new")
    return client.post("/editor/workshops/new", data=_workshop_data(page.text, **overrides))


def test_create_workshop_stores_utc_and_shows_london_time(editor_client):
    response = _post_workshop(editor_client)
    assert response.status_code == 303
    workshop = db.session.scalar(db.select(Workshop))
    assert workshop.starts_at == datetime(2031, 7, 1, 9, 0, tzinfo=UTC)  # BST is UTC+1
    assert workshop.has_bsl and [t.slug for t in workshop.topics] == ["workshops"]
    edit = editor_client.get(f"/editor/workshops/{workshop.id}")
    assert 'value="2031-07-01T10:00"' in edit.text
    assert db.session.scalar(db.select(AuditLog.action)) == "workshop.create"


def test_at_least_one_title_and_end_after_start(editor_client):
    response = _post_workshop(editor_client, title_en="", title_cy="", ends_at="2031-07-01T09:00")
    assert response.status_code == 400
    assert "Enter a title in Welsh or English (or both)" in response.text
    assert "Choose an end after the start (1 Jul 2031, 10:00)" in response.text
    assert db.session.scalar(db.select(Workshop)) is None


def test_a_booking_deadline_after_the_start_is_refused_in_both_languages(editor_client):
    late = {"booking_deadline_at": "2031-07-01T10:30"}
    response = _post_workshop(editor_client, **late)
    assert response.status_code == 400
    soup = BeautifulSoup(response.text, "html.parser")
    field = soup.find(id="booking_deadline_at")
    assert field["aria-invalid"] == "true"
    error = soup.find(id="booking_deadline_at-error").get_text(" ", strip=True)
    assert "Choose a booking deadline before the workshop starts (1 Jul 2031, 10:00)" in error
    assert soup.select_one(".error-summary a[href='#booking_deadline_at']") is not None
    page = editor_client.get("/editor/workshops/new?lang=cy")
    welsh = editor_client.post(
        "/editor/workshops/new?lang=cy", data=_workshop_data(page.text, **late)
    )
    assert welsh.status_code == 400
    assert "Dewiswch derfyn amser archebu cyn i’r gweithdy ddechrau" in welsh.text
    assert db.session.scalar(db.select(Workshop)) is None
    # At the start itself booking may still close: that is accepted.
    assert _post_workshop(editor_client, booking_deadline_at="2031-07-01T10:00").status_code == 303


def test_required_fields_are_marked_visibly_and_for_assistive_technology(editor_client):
    soup = BeautifulSoup(editor_client.get("/editor/workshops/new").text, "html.parser")
    for name in ("starts_at", "ends_at"):
        field = soup.find(id=name)
        assert field.has_attr("required") and field["aria-required"] == "true"
        assert "(required)" in soup.find("label", attrs={"for": name}).get_text()
    deadline = soup.find(id="booking_deadline_at")
    assert not deadline.has_attr("required") and not deadline.has_attr("aria-required")
    kind = BeautifulSoup(editor_client.get("/editor/opportunities/new").text, "html.parser")
    assert kind.find(id="kind")["aria-required"] == "true"


def test_welsh_title_alone_is_enough(editor_client):
    assert _post_workshop(editor_client, title_en="").status_code == 303
    assert db.session.scalar(db.select(Workshop.title_cy)) == "Cynghreiriaeth mewn ymchwil"


def test_spring_forward_gap_is_refused_with_a_clear_error(editor_client):
    # 30 March 2031 is the last Sunday of March: 01:00-02:00 does not exist in London.
    response = _post_workshop(
        editor_client, starts_at="2031-03-30T01:30", ends_at="2031-03-30T03:00"
    )
    assert response.status_code == 400
    soup = BeautifulSoup(response.text, "html.parser")
    assert "That time does not exist in the UK" in soup.find(id="starts_at-error").get_text()
    assert soup.find(id="starts_at")["aria-invalid"] == "true"
    assert db.session.scalar(db.select(Workshop)) is None


def test_autumn_ambiguous_time_is_the_first_occurrence(editor_client):
    # 26 October 2031 is the last Sunday of October: 01:30 happens twice; we take BST.
    response = _post_workshop(
        editor_client, starts_at="2031-10-26T01:30", ends_at="2031-10-26T03:00"
    )
    assert response.status_code == 303
    workshop = db.session.scalar(db.select(Workshop))
    assert workshop.starts_at == datetime(2031, 10, 26, 0, 30, tzinfo=UTC)
    assert workshop.ends_at == datetime(2031, 10, 26, 3, 0, tzinfo=UTC)  # GMT by then
    page = editor_client.get(response.headers["Location"])
    assert "the first one (British Summer Time)" in page.text


def test_duplicate_and_archive_workshop(editor_client, make_workshop):
    workshop = make_workshop("Original", title_cy="Gwreiddiol")
    page = editor_client.get(f"/editor/workshops/{workshop.id}")
    token = csrf_token(page.text)
    response = editor_client.post(
        f"/editor/workshops/{workshop.id}/duplicate", data={"csrf_token": token}
    )
    assert response.status_code == 303
    copy = db.session.scalars(db.select(Workshop).order_by(Workshop.id.desc())).first()
    assert copy.id != workshop.id and copy.title_cy == "Gwreiddiol" and copy.slug != workshop.slug
    assert (
        editor_client.post(
            f"/editor/workshops/{workshop.id}/archive", data={"csrf_token": token, "archived": "1"}
        ).status_code
        == 303
    )
    db.session.expire_all()
    assert db.session.get(Workshop, workshop.id).is_archived
    upcoming = editor_client.get("/editor/workshops").text
    archived = editor_client.get("/editor/workshops?show=archived").text
    assert f'/editor/workshops/{workshop.id}"' not in upcoming
    assert f'/editor/workshops/{workshop.id}"' in archived


def test_workshop_lists_filter_upcoming_and_past(editor_client, make_workshop):
    make_workshop("Future event", starts_at=datetime(2031, 1, 1, 10, tzinfo=UTC))
    make_workshop("Past event", starts_at=datetime(2020, 1, 1, 10, tzinfo=UTC))
    upcoming = editor_client.get("/editor/workshops").text
    past = editor_client.get("/editor/workshops?show=past").text
    assert "Future event" in upcoming and "Past event" not in upcoming
    assert "Past event" in past and "Future event" not in past


def test_create_opportunity_and_filter_open_closed(editor_client, make_opportunity):
    page = editor_client.get("/editor/opportunities/new")
    response = editor_client.post(
        "/editor/opportunities/new",
        data={
            "csrf_token": csrf_token(page.text),
            "title_en": "Public contributor wanted",
            "title_cy": "Angen cyfrannwr cyhoeddus",
            "kind": "public-contributor",
            "closes_at": "2031-02-01T17:00",
            "payment_en": "£25 an hour and travel",
            "url": "https://apply.example.org",
            "region": "north-wales",
        },
    )
    assert response.status_code == 303
    created = db.session.scalar(db.select(Opportunity))
    assert created.closes_at == datetime(2031, 2, 1, 17, 0, tzinfo=UTC)  # GMT in February
    make_opportunity("Old survey", closes_at=datetime(2020, 1, 1, tzinfo=UTC))
    open_page = editor_client.get("/editor/opportunities").text
    closed_page = editor_client.get("/editor/opportunities?show=closed").text
    assert "Public contributor wanted" in open_page and "Old survey" not in open_page
    assert "Old survey" in closed_page


def test_javascript_links_are_refused_in_link_fields(editor_client):
    response = _post_workshop(editor_client, booking_url="javascript://x%0aalert(1)")
    assert response.status_code == 400
    assert db.session.scalar(db.select(Workshop)) is None


def _assert_inert(html: str, where: str) -> None:
    soup = BeautifulSoup(html, "html.parser")
    assert not soup.find_all(["script", "iframe", "svg"]), where
    for tag in soup.find_all(True):
        for name, value in tag.attrs.items():
            assert not name.lower().startswith("on"), (where, tag)
            if name in ("href", "src"):
                assert "javascript:" not in str(value).lower(), (where, tag)


def test_xss_in_every_markdown_field_comes_out_inert(
    editor_client, make_workshop, make_opportunity, make_issue
):
    workshop = make_workshop(
        "W",
        title_cy="G",
        summary_en=XSS,
        summary_cy=XSS,
        body_en=XSS,
        body_cy=XSS,
        slug="xss-workshop",
    )
    opportunity = make_opportunity(
        "O", title_cy="C", summary_en=XSS, summary_cy=XSS, body_en=XSS, body_cy=XSS
    )
    issue = make_issue(
        "S",
        subject_cy="P",
        intro_en=XSS,
        intro_cy=XSS,
        slug="xss-issue",
        published_at=datetime(2030, 1, 1, tzinfo=UTC),
        items=[
            workshop,
            opportunity,
            {"title_en": "N", "title_cy": "N", "body_en": XSS, "body_cy": XSS},
        ],
    )
    for lang in ("cy", "en"):
        for personal in (True, False):
            _assert_inert(render_issue(issue, lang, personal=personal).html, f"email {lang}")
        _assert_inert(editor_client.get(f"/issues/xss-issue?lang={lang}").text, "archive")
        _assert_inert(editor_client.get(f"/workshops/xss-workshop?lang={lang}").text, "workshop")
        _assert_inert(
            editor_client.get(f"/editor/issues/{issue.id}/preview/{lang}.html").text, "preview"
        )
    text = render_issue(issue, "en").text
    assert "<script" not in text and "onerror" not in text
