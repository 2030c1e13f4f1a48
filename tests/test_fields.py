"""One field table, every door: the same value gets the same verdict in the sign-up form,
the editor forms, the API, the CSV import and the test-send form (core/fields.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bulletin.core.fields import (
    EMAIL_MAX,
    SUBSCRIBER,
    WORKSHOP,
    Problem,
    normalise_email,
    problem_with,
)
from bulletin.extensions import db
from bulletin.models import OutboxMessage, Subscriber, Workshop
from bulletin.privacy.rows import Candidate, Catalogue, RowError, parse_row
from tests.conftest import csrf_token

NOW = datetime(2030, 1, 1, tzinfo=UTC)

NAMES = [
    "Siân ap Gwilym",
    "n" * 100,
    "n" * 101,
    "Rhys\x07",
    "tab\tname",
    "Rhys\r\nBcc: victim@example.org",
    "Rhys\u2028Jones",
]
ADDRESSES = [
    "rhys@example.org",
    "Rhys@Example.ORG",
    " rhys@example.org ",  # a browser trims type=email; a client that does not gets the same
    "gwen@Enghraifft-ŵ.cymru",
    "a@b",
    "two@@example.org",
    "x" * 245 + "@e.org",
    "rhys\x07@example.org",
]
TOPICS = ["workshops", "no-such-topic", "w" * 61]


def _stored_address(value: str) -> str | None:
    """What the table says the address is stored as (None: refused)."""
    if problem_with(SUBSCRIBER["email"], value) is not None:
        return None
    return normalise_email(value)


# ----- the public sign-up form -----


def _sign_up(client, **overrides) -> bool:
    page = client.get("/subscribe")
    data = {
        "csrf_token": csrf_token(page.text),
        "email": "rhys@example.org",
        "name": "Rhys",
        "topics": ["workshops"],
        "region": "mid-wales",
        "language": "en",
        "consent": "y",
    }
    data.update(overrides)
    response = client.post("/subscribe", data=data)
    assert response.status_code in (303, 400)
    return response.status_code == 303


# ----- the CSV import -----


def _csv_row(**cells) -> Candidate | None:
    values = {"email": "rhys@example.org", "name": "", "topics": "", **cells}
    columns = {name: i for i, name in enumerate(values)}
    try:
        return parse_row(2, list(values.values()), columns, Catalogue.load(), NOW)
    except RowError:
        return None


@pytest.mark.parametrize("name", NAMES)
def test_a_name_gets_the_same_verdict_in_the_sign_up_form_and_the_csv_import(client, name):
    accepted = problem_with(SUBSCRIBER["name"], name) is None
    assert _sign_up(client, name=name) is accepted
    assert (_csv_row(name=name) is not None) is accepted


@pytest.mark.parametrize("topic", TOPICS)
def test_a_topic_gets_the_same_verdict_in_the_sign_up_form_the_csv_import_and_the_api(
    client, api, topic
):
    accepted = topic == "workshops"  # the seeded topic; the others are not topics
    assert _sign_up(client, topics=[topic]) is accepted
    assert (_csv_row(topics=topic) is not None) is accepted
    body = {
        "title_en": "T",
        "starts_at": "2031-07-01T10:00",
        "ends_at": "2031-07-01T12:00",
        "topics": [topic],
    }
    response = api.post("/api/v1/workshops", json=body)
    assert response.status_code == (201 if accepted else 422)


@pytest.mark.parametrize("address", ADDRESSES)
def test_an_address_is_refused_or_stored_alike_by_sign_up_csv_import_and_test_send(
    client, editor_client, make_issue, address
):
    expected = _stored_address(address)
    # Sign-up: refused, or stored in the table's normal form.
    assert _sign_up(client, email=address) is (expected is not None)
    assert db.session.scalar(select(Subscriber.email)) == expected
    # CSV import.
    row = _csv_row(email=address)
    assert (row.email if row else None) == expected
    # Test send: the message goes to the same normal form (an international domain in ASCII).
    issue = make_issue()
    token = csrf_token(editor_client.get(f"/editor/issues/{issue.id}/preview").text)
    response = editor_client.post(
        f"/editor/issues/{issue.id}/test-send",
        data={"csrf_token": token, "addresses": address, "language": "en"},
    )
    assert response.status_code == (303 if expected else 400)
    sent = select(OutboxMessage.to_address).where(OutboxMessage.kind == "test")
    assert db.session.scalar(sent) == expected


def test_an_international_domain_goes_out_in_ascii_from_a_test_send_as_from_sign_up():
    from bulletin.editorial.testsend import parse_addresses

    ascii_label = "enghraifft-ŵ".encode("idna").decode()
    expected = f"gwen@{ascii_label}.cymru"
    assert normalise_email("gwen@Enghraifft-ŵ.cymru") == expected
    assert parse_addresses("gwen@Enghraifft-ŵ.cymru", "x@example.org") == [expected]


def test_the_email_limit_is_the_one_of_the_table():
    assert SUBSCRIBER["email"].max_length == EMAIL_MAX == 254
    assert problem_with(SUBSCRIBER["email"], "x" * 255) is Problem.TOO_LONG


# ----- the editor's workshop form and the API -----

WORKSHOP_VALUES = [
    ("title_en", "t" * 200),
    ("title_en", "t" * 201),
    ("title_en", "A title\x07"),
    ("title_en", "A title\nBcc: x@example.org"),
    ("title_en", "A title\u2029"),
    ("venue_en", "Temple of Peace\nCardiff"),
    ("venue_en", "Temple of Peace\x00"),
    ("venue_en", "v" * 2001),
    ("summary_en", "Some *Markdown*\n\nand a line"),
    ("summary_en", "<div>" * 40 + "deep" + "</div>" * 40),
    ("summary_en", "nul\x00"),
    ("booking_url", "https://book.example.org/1"),
    ("booking_url", "javascript:alert(1)"),
    ("booking_url", "https://"),
    ("booking_url", "HTTPS://192.0.2.1:8080/book"),
    ("booking_url", "https://user:secret@example.org/"),
    ("booking_url", "https://example.org/\r\nx"),
    ("region", "mid-wales"),
    ("region", "atlantis"),
]


def _editor_form(editor_client, name: str, value: str) -> bool:
    page = editor_client.get("/editor/workshops/new")
    data = {
        "csrf_token": csrf_token(page.text),
        "title_en": "Allyship in research",
        "starts_at": "2031-07-01T10:00",
        "ends_at": "2031-07-01T12:30",
        "region": "",
        "topics": ["workshops"],
        name: value,
    }
    before = db.session.scalar(select(func.count(Workshop.id)))
    response = editor_client.post("/editor/workshops/new", data=data)
    assert response.status_code in (303, 400)
    stored = db.session.scalar(select(func.count(Workshop.id))) - before
    assert stored == (response.status_code == 303)
    return response.status_code == 303


def _api(api, name: str, value: str) -> bool:
    body = {
        "title_en": "Allyship in research",
        "starts_at": "2031-07-01T10:00",
        "ends_at": "2031-07-01T12:30",
        name: value,
    }
    response = api.post("/api/v1/workshops", json=body)
    assert response.status_code in (201, 422), response.get_json()
    return response.status_code == 201


@pytest.mark.parametrize(("name", "value"), WORKSHOP_VALUES)
def test_a_workshop_field_gets_the_same_verdict_in_the_editor_form_and_the_api(
    editor_client, api, name, value
):
    accepted = problem_with(WORKSHOP[name], value) is None
    assert _editor_form(editor_client, name, value) is accepted
    assert _api(api, name, value) is accepted


def test_the_api_schema_says_what_the_table_says():
    from bulletin.api.schemas import REQUESTS

    props = REQUESTS["WorkshopCreate"]["properties"]
    for name, field in WORKSHOP.items():
        if field.max_length is not None and field.kind not in ("choice", "choices"):
            assert props[name]["maxLength"] == field.max_length, name
    assert props["region"]["enum"][:-1] == list(WORKSHOP["region"].choices)


def test_no_limit_of_the_table_is_longer_than_its_column():
    from bulletin.core import fields
    from bulletin.models import ApiToken, Editor, Issue, IssueItem, Opportunity, Topic

    tables = [
        (fields.SUBSCRIBER, Subscriber),
        (fields.WORKSHOP, Workshop),
        (fields.OPPORTUNITY, Opportunity),
        (fields.ISSUE, Issue),
        (fields.NEWS, IssueItem),
        (fields.TOPIC, Topic),
        (fields.EDITOR, Editor),
        (fields.API_TOKEN, ApiToken),
    ]
    checked = 0
    for table, model in tables:
        for name, field in table.items():
            column = model.__table__.columns.get(name)
            length = getattr(getattr(column, "type", None), "length", None)
            if field.max_length is not None and length is not None:
                assert field.max_length <= length, f"{model.__name__}.{name}"
                checked += 1
    assert checked >= 20
