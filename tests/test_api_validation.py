"""Bad requests get a 4xx with a JSON error body, never a 500, and change nothing."""

from __future__ import annotations

import io

from sqlalchemy import func, select

from bulletin.extensions import db
from bulletin.models import AuditLog, Issue, Workshop

WORKSHOP = {
    "title_en": "Plain language",
    "starts_at": "2030-03-04T10:00",
    "ends_at": "2030-03-04T12:00",
}


def _nothing_written() -> bool:
    counts = [db.session.scalar(select(func.count()).select_from(m)) for m in (Workshop, Issue)]
    changes = db.session.scalar(
        select(func.count(AuditLog.id)).where(AuditLog.action.not_like("api_token.%"))
    )
    return counts == [0, 0] and changes == 0


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) >= {"error", "detail"} and body["detail"]
    return body


def test_malformed_json_is_400(api):
    for raw in ('{"title_en": ', "", "nonsense", '{"a": 1}}', b"\xff\xfe\x00"):
        response = api.post("/api/v1/workshops", data=raw, content_type="application/json")
        assert "not valid JSON" in _error(response, 400)["detail"]
    assert _nothing_written()


def test_a_body_that_is_not_json_is_415(api):
    response = api.post(
        "/api/v1/issues", data="subject_en=x", content_type="application/x-www-form-urlencoded"
    )
    _error(response, 415)
    _error(api.post("/api/v1/issues"), 415)


def test_wrong_types_are_422_with_the_field_named(api):
    body = _error(
        api.post("/api/v1/workshops", json={**WORKSHOP, "is_online": "yes", "topics": "workshops"}),
        422,
    )
    assert {e["field"] for e in body["errors"]} == {"is_online", "topics"}
    _error(api.post("/api/v1/workshops", json=[WORKSHOP]), 422)
    _error(api.post("/api/v1/issues/1/fill", json={"weeks": 1.5}), 422)
    assert _nothing_written()


def test_unknown_fields_are_refused(api):
    body = _error(
        api.post("/api/v1/workshops", json={**WORKSHOP, "is_archived": False, "colour": "red"}), 422
    )
    assert "colour" in body["errors"][0]["message"]
    assert _nothing_written()


def test_the_web_forms_limits_and_rules_apply(api):
    cases = [
        ({"title_en": "x" * 201}, "title_en"),
        ({"title_en": "Two\nlines"}, "title_en"),
        ({"booking_url": "javascript:alert(1)"}, "booking_url"),
        ({"booking_url": "https://"}, "booking_url"),
        ({"booking_url": "https://exa mple"}, "booking_url"),
        ({"region": "atlantis"}, "region"),
        ({"summary_en": "nul \x00 byte"}, "summary_en"),
        ({"title_en": None, "title_cy": " "}, "title_en"),
        ({"ends_at": "2030-03-04T09:00"}, "ends_at"),
        ({"starts_at": "2030-02-30T10:00"}, "starts_at"),
        ({"starts_at": "2030-03-31T01:30"}, "starts_at"),  # the spring gap
        ({"topics": ["no-such-topic"]}, "topics"),
    ]
    for change, field in cases:
        body = _error(api.post("/api/v1/workshops", json={**WORKSHOP, **change}), 422)
        assert field in {e["field"] for e in body["errors"]}, (change, body)
    assert _nothing_written()


def test_lone_surrogates_are_refused(api):
    raw = '{"subject_en": "half a pair \\ud800"}'
    body = _error(api.post("/api/v1/issues", data=raw, content_type="application/json"), 422)
    assert body["errors"][0]["field"] == "subject_en"
    assert _nothing_written()


def test_deeply_nested_json_is_refused_cleanly(api):
    raw = '{"subject_en": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = api.post("/api/v1/issues", data=raw, content_type="application/json")
    assert response.status_code in (400, 422)
    assert response.get_json()["error"]
    unclosed = api.post("/api/v1/workshops", data="[" * 100_000, content_type="application/json")
    assert "nested too deeply" in _error(unclosed, 400)["detail"]
    assert _nothing_written()


def test_oversize_bodies_are_413(make_app, app, make_api_token):
    _row, token = make_api_token()
    small = make_app(API_MAX_BODY_BYTES=2000).test_client()
    headers = {"Authorization": f"Bearer {token}"}
    big = {"subject_en": "Big", "intro_en": "x" * 5000}
    response = small.post("/api/v1/issues", json=big, headers=headers)
    assert "larger than 2000 bytes" in _error(response, 413)["detail"]
    # Without a Content-Length (chunked) the cap still holds.
    stream = io.BytesIO(b'{"subject_en": "Big", "intro_en": "' + b"x" * 5000 + b'"}')
    response = small.post(
        "/api/v1/issues",
        input_stream=stream,
        headers={**headers, "Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    _error(response, 413)
    assert (
        small.post("/api/v1/issues", json={"subject_en": "Small"}, headers=headers).status_code
        == 201
    )


def test_the_default_body_cap_is_one_megabyte(app, api):
    assert app.config["API_MAX_BODY_BYTES"] == 1024 * 1024
    response = api.post(
        "/api/v1/issues", data=b"{" + b" " * (1024 * 1024) + b"}", content_type="application/json"
    )
    _error(response, 413)


def test_bad_query_parameters_are_422(api):
    for query in (
        "limit=abc",
        "limit=0",
        "limit=101",
        "offset=-1",
        "page=0",
        "show=soon",
        "limit=1_0",
        "offset=99999999999999999999",
    ):
        body = _error(api.get(f"/api/v1/workshops?{query}"), 422)
        assert body["errors"][0]["field"] == query.split("=")[0]
    _error(api.get("/api/v1/subscribers/counts?region=atlantis"), 422)
    _error(api.get("/api/v1/sends?status=lost"), 422)


def test_ids_out_of_range_are_404_not_500(api):
    for path in (
        "/api/v1/workshops/99999999999999999999",
        "/api/v1/issues/2147483648",
        "/api/v1/sends/0",
        "/api/v1/issues/-1",
    ):
        assert api.get(path).status_code == 404
    body = _error(
        api.post("/api/v1/issues/1/items", json={"kind": "workshop", "entry_id": 2**40}), 422
    )
    assert body["errors"] == [
        {"field": "entry_id", "message": "1099511627776 is greater than the maximum of 2147483647"}
    ]


def test_an_unsupported_method_is_405_json(api):
    response = api.client.put(
        "/api/v1/workshops", headers={"Authorization": f"Bearer {api.token}"}, json={}
    )
    _error(response, 405)
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "POST"}
