"""Workshops and opportunities through the API: round trips, filters, paging, times, audit."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bulletin.extensions import db
from bulletin.models import AuditLog, Opportunity, Workshop, utcnow

WORKSHOP = {
    "title_en": "Writing a plain-language summary",
    "title_cy": "Ysgrifennu crynodeb",
    "summary_en": "Two hours, online.",
    "starts_at": "2030-07-01T10:00",
    "ends_at": "2030-07-01T12:00:00+01:00",
    "is_online": True,
    "has_bsl": True,
    "booking_url": "https://example.org/book",
    "region": "north-wales",
    "topics": ["workshops", "news"],
    "booking_deadline_at": "2030-06-28T17:00:00Z",
}


def _audit(action: str) -> list[AuditLog]:
    return db.session.scalars(select(AuditLog).where(AuditLog.action == action)).all()


def test_workshop_round_trip(api):
    created = api.post("/api/v1/workshops", json=WORKSHOP)
    assert created.status_code == 201
    body = created.get_json()
    assert created.headers["Location"] == f"/api/v1/workshops/{body['id']}"
    # 10:00 UK time in July is 09:00 UTC; times with an offset are kept exactly.
    assert body["starts_at"] == "2030-07-01T09:00:00+00:00"
    assert body["ends_at"] == "2030-07-01T11:00:00+00:00"
    assert body["booking_deadline_at"] == "2030-06-28T17:00:00+00:00"
    assert body["slug"] == "writing-a-plain-language-summary"
    assert sorted(body["topics"]) == ["news", "workshops"]
    assert body["has_bsl"] is True and body["has_quiet_room"] is False
    assert api.get(f"/api/v1/workshops/{body['id']}").get_json() == body

    changed = api.patch(
        f"/api/v1/workshops/{body['id']}",
        json={"title_cy": None, "region": "", "topics": [], "ends_at": "2030-07-01T13:00"},
    ).get_json()
    assert changed["title_cy"] is None and changed["region"] is None
    assert changed["topics"] == [] and changed["ends_at"] == "2030-07-01T12:00:00+00:00"
    assert changed["title_en"] == WORKSHOP["title_en"]  # untouched fields stay
    assert changed["starts_at"] == body["starts_at"]
    workshop = db.session.get(Workshop, body["id"])
    assert workshop.ends_at == datetime(2030, 7, 1, 12, tzinfo=UTC)


def test_changes_are_audited_in_the_tokens_editors_name(api):
    workshop_id = api.post("/api/v1/workshops", json=WORKSHOP).get_json()["id"]
    api.patch(f"/api/v1/workshops/{workshop_id}", json={"has_captions": True})
    api.patch(f"/api/v1/workshops/{workshop_id}", json={"is_archived": True})
    api.delete(f"/api/v1/workshops/{workshop_id}")
    for action in ("workshop.create", "workshop.update", "workshop.archive", "workshop.delete"):
        (row,) = _audit(action)
        assert row.editor_id == api.editor.id
        assert row.target_type == "workshop" and row.target_id == workshop_id
    assert json.loads(_audit("workshop.create")[0].detail) == {"title": WORKSHOP["title_en"]}


def test_archive_and_restore_with_patch(api, make_workshop):
    workshop = make_workshop()
    archived = api.patch(f"/api/v1/workshops/{workshop.id}", json={"is_archived": True})
    assert archived.status_code == 200 and archived.get_json()["is_archived"] is True
    listed = api.get("/api/v1/workshops?show=archived").get_json()
    assert [w["id"] for w in listed["items"]] == [workshop.id]
    assert api.get("/api/v1/workshops").get_json()["total"] == 0
    restored = api.patch(f"/api/v1/workshops/{workshop.id}", json={"is_archived": False})
    assert restored.get_json()["is_archived"] is False
    assert len(_audit("workshop.archive")) == len(_audit("workshop.restore")) == 1


def test_delete_only_entries_in_no_issue(api, make_workshop, make_opportunity, make_issue):
    used, unused = make_opportunity("Used"), make_opportunity("Unused")
    make_issue(items=[used])
    response = api.delete(f"/api/v1/opportunities/{used.id}")
    assert response.status_code == 409 and "archive it instead" in response.get_json()["detail"]
    assert db.session.get(Opportunity, used.id) is not None
    response = api.delete(f"/api/v1/opportunities/{unused.id}")
    assert response.status_code == 204 and response.data == b""
    assert api.get(f"/api/v1/opportunities/{unused.id}").status_code == 404
    assert api.delete(f"/api/v1/opportunities/{unused.id}").status_code == 404
    assert [r.target_id for r in _audit("opportunity.delete")] == [unused.id]


def test_workshop_filters_match_the_web(api, make_workshop):
    soon = make_workshop("Soon", starts_at=utcnow() + timedelta(days=2))
    later = make_workshop("Later", starts_at=utcnow() + timedelta(days=9))
    past = make_workshop("Past", starts_at=utcnow() - timedelta(days=9))
    upcoming = api.get("/api/v1/workshops").get_json()
    assert [w["id"] for w in upcoming["items"]] == [soon.id, later.id]
    assert upcoming["total"] == 2 and upcoming["limit"] == 50 and upcoming["offset"] == 0
    assert [w["id"] for w in api.get("/api/v1/workshops?show=past").get_json()["items"]] == [
        past.id
    ]


def test_lists_are_paginated_by_offset_or_page(api, make_workshop):
    ids = [make_workshop(f"W{n}", starts_at=utcnow() + timedelta(days=n + 1)).id for n in range(5)]
    first = api.get("/api/v1/workshops?limit=2").get_json()
    assert [w["id"] for w in first["items"]] == ids[:2] and first["total"] == 5
    by_offset = api.get("/api/v1/workshops?limit=2&offset=2").get_json()
    by_page = api.get("/api/v1/workshops?limit=2&page=2").get_json()
    assert [w["id"] for w in by_offset["items"]] == ids[2:4]
    assert by_page["items"] == by_offset["items"] and by_page["offset"] == 2
    assert api.get("/api/v1/workshops?limit=2&page=9").get_json()["items"] == []


def test_opportunity_round_trip_and_filters(api, make_opportunity):
    closed = make_opportunity("Closed", closes_at=utcnow() - timedelta(days=1))
    created = api.post(
        "/api/v1/opportunities",
        json={
            "title_cy": "Panel cyhoeddus",
            "kind": "survey",
            "url": "https://example.org/s",
            "closes_at": "2030-01-10T17:00",
            "payment_en": "£25",
        },
    )
    assert created.status_code == 201
    body = created.get_json()
    assert body["kind"] == "survey" and body["closes_at"] == "2030-01-10T17:00:00+00:00"
    assert body["title_en"] is None and body["slug"] == "panel-cyhoeddus"
    open_now = api.get("/api/v1/opportunities?show=open").get_json()
    assert [o["id"] for o in open_now["items"]] == [body["id"]]
    closed_list = api.get("/api/v1/opportunities?show=closed").get_json()
    assert [o["id"] for o in closed_list["items"]] == [closed.id]
    patched = api.patch(f"/api/v1/opportunities/{body['id']}", json={"closes_at": None})
    assert patched.get_json()["closes_at"] is None
    assert patched.get_json()["payment_en"] == "£25"
    assert db.session.get(Opportunity, body["id"]).closes_at is None


def test_duplicate_makes_an_unarchived_copy(api, make_opportunity):
    original = make_opportunity("Panel", region="mid-wales", is_archived=True)
    response = api.post(f"/api/v1/opportunities/{original.id}/duplicate")
    assert response.status_code == 201
    copy = response.get_json()
    assert copy["id"] != original.id and copy["slug"] != original.slug
    assert copy["region"] == "mid-wales" and copy["is_archived"] is False
    assert response.headers["Location"] == f"/api/v1/opportunities/{copy['id']}"


def test_autumn_repeat_hour_means_the_first_one_like_the_web(api):
    body = api.post(
        "/api/v1/workshops",
        json={
            **WORKSHOP,
            "starts_at": "2030-10-27T01:30",
            "ends_at": "2030-10-27T03:00",
            "booking_deadline_at": None,
        },
    ).get_json()
    assert body["starts_at"] == "2030-10-27T00:30:00+00:00"  # 01:30 BST


def test_missing_rows_are_404(api):
    for path in ("/api/v1/workshops/999", "/api/v1/opportunities/999"):
        response = api.get(path)
        assert response.status_code == 404 and response.get_json()["error"] == "Not Found"
    assert api.patch("/api/v1/workshops/999", json={"has_bsl": True}).status_code == 404
    assert api.delete("/api/v1/opportunities/999").status_code == 404


def test_workshop_times_follow_the_same_rule_as_the_form(api):
    late = api.post(
        "/api/v1/workshops", json={**WORKSHOP, "booking_deadline_at": "2030-07-01T11:00"}
    )
    assert late.status_code == 422
    (error,) = late.get_json()["errors"]
    assert error["field"] == "booking_deadline_at"
    assert error["message"] == (
        "Choose a booking deadline before the workshop starts (2030-07-01T09:00:00+00:00)."
    )
    backwards = api.post("/api/v1/workshops", json={**WORKSHOP, "ends_at": "2030-07-01T09:00"})
    assert backwards.status_code == 422
    assert backwards.get_json()["errors"][0]["field"] == "ends_at"
    assert "Choose an end after the start" in backwards.get_json()["errors"][0]["message"]
    created = api.post("/api/v1/workshops", json=WORKSHOP).get_json()
    # A change that moves the start before the stored deadline is refused too.
    moved = api.patch(f"/api/v1/workshops/{created['id']}", json={"starts_at": "2030-06-20T10:00"})
    assert moved.status_code == 422
    assert moved.get_json()["errors"][0]["field"] == "booking_deadline_at"
    assert db.session.get(Workshop, created["id"]).starts_at == datetime(2030, 7, 1, 9, tzinfo=UTC)
