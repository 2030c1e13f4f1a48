"""Issues through the API: text with optimistic locking, items, fill, delete, audit."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bulletin.extensions import db
from bulletin.models import AuditLog, Issue, Send, utcnow


def _actions() -> list[tuple[str, int | None]]:
    rows = db.session.scalars(
        select(AuditLog).where(AuditLog.action.like("issue.%")).order_by(AuditLog.id)
    )
    return [(r.action, r.editor_id) for r in rows]


def test_issue_round_trip_with_versions(api):
    created = api.post("/api/v1/issues", json={"subject_en": "March", "intro_en": "Hello"})
    assert created.status_code == 201
    issue = created.get_json()
    assert issue["version"] == 1 and issue["items"] == [] and issue["published_at"] is None
    updated = api.patch(
        f"/api/v1/issues/{issue['id']}", json={"version": 1, "subject_cy": "Mawrth"}
    ).get_json()
    assert updated["version"] == 2
    assert (updated["subject_cy"], updated["subject_en"], updated["intro_en"]) == (
        "Mawrth",
        "March",
        "Hello",
    )
    assert api.get(f"/api/v1/issues/{issue['id']}").get_json() == updated
    assert _actions() == [("issue.create", api.editor.id), ("issue.update", api.editor.id)]


def test_a_stale_version_gets_409_and_changes_nothing(api, make_issue):
    issue = make_issue("Original")
    first = api.patch(f"/api/v1/issues/{issue.id}", json={"version": 1, "subject_en": "Mine"})
    assert first.status_code == 200
    late = api.patch(f"/api/v1/issues/{issue.id}", json={"version": 1, "subject_en": "Theirs"})
    assert late.status_code == 409
    assert late.get_json()["current_version"] == 2 and late.get_json()["error"] == "Conflict"
    assert db.session.get(Issue, issue.id).subject_en == "Mine"
    assert [a for a, _ in _actions()] == ["issue.update"]


def test_an_issue_needs_a_subject_in_one_language(api, make_issue):
    response = api.post("/api/v1/issues", json={"intro_en": "No subject"})
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "subject_en"
    issue = make_issue("Only English")
    response = api.patch(f"/api/v1/issues/{issue.id}", json={"version": 1, "subject_en": None})
    assert response.status_code == 422
    assert (
        api.patch(f"/api/v1/issues/{issue.id}", json={"version": 1}).get_json()["subject_en"]
        == "Only English"
    )


def test_items_add_move_edit_and_remove(api, make_issue, make_workshop, make_opportunity):
    issue = make_issue("Items")
    workshop, opportunity = make_workshop(), make_opportunity()
    url = f"/api/v1/issues/{issue.id}/items"
    assert api.post(url, json={"kind": "workshop", "entry_id": workshop.id}).status_code == 201
    # JSON's 3.0 is the integer 3.
    api.post(url, json={"kind": "opportunity", "entry_id": float(opportunity.id)})
    api.post(url, json={"kind": "news", "title_en": "First"})
    body = api.post(url, json={"kind": "news", "title_cy": "Ail"}).get_json()
    kinds = [
        (i["kind"], i["workshop_id"] or i["opportunity_id"] or i["title_en"] or i["title_cy"])
        for i in body["items"]
    ]
    assert kinds == [
        ("workshop", workshop.id),
        ("opportunity", opportunity.id),
        ("news", "First"),
        ("news", "Ail"),
    ]
    second = body["items"][3]["id"]
    moved = api.post(f"{url}/{second}/move", json={"direction": "up"}).get_json()
    assert moved["moved"] is True
    assert [i["title_cy"] or i["title_en"] for i in moved["issue"]["items"][2:]] == ["Ail", "First"]
    at_top = api.post(f"{url}/{second}/move", json={"direction": "up"}).get_json()
    assert at_top["moved"] is False
    edited = api.patch(f"{url}/{second}", json={"body_cy": "Testun"}).get_json()
    news = next(i for i in edited["items"] if i["id"] == second)
    assert (news["title_cy"], news["body_cy"]) == ("Ail", "Testun")
    removed = api.delete(f"{url}/{second}").get_json()
    assert second not in [i["id"] for i in removed["items"]] and len(removed["items"]) == 3
    assert api.delete(f"{url}/{second}").status_code == 404
    assert [a for a, _ in _actions()] == [
        "issue.add_item",
        "issue.add_item",
        "issue.save_news",
        "issue.save_news",
        "issue.move_item",
        "issue.save_news",
        "issue.remove_item",
    ]


def test_adding_refuses_duplicates_archived_entries_and_catalogue_text(
    api, make_issue, make_workshop
):
    workshop, archived = make_workshop(), make_workshop(is_archived=True)
    issue = make_issue("Items", items=[workshop])
    url = f"/api/v1/issues/{issue.id}/items"
    for entry_id in (workshop.id, archived.id, 9999):
        response = api.post(url, json={"kind": "workshop", "entry_id": entry_id})
        assert response.status_code == 422
        assert response.get_json()["errors"][0]["field"] == "entry_id"
    assert api.post(url, json={"kind": "news", "body_en": "No title"}).status_code == 422
    assert api.post(url, json={"kind": "workshop"}).status_code == 422
    item = issue.items[0].id
    assert api.patch(f"{url}/{item}", json={"title_en": "x"}).status_code == 422
    other = make_issue("Other")
    assert api.delete(f"/api/v1/issues/{other.id}/items/{item}").status_code == 404


def test_fill_adds_upcoming_workshops_and_open_opportunities(
    api, make_issue, make_workshop, make_opportunity
):
    soon = make_workshop(starts_at=utcnow() + timedelta(days=3))
    make_workshop(starts_at=utcnow() + timedelta(weeks=10))
    open_one = make_opportunity()
    issue = make_issue("Fill")
    filled = api.post(f"/api/v1/issues/{issue.id}/fill", json={"weeks": 2}).get_json()
    assert filled["added"] == 2
    assert {(i["workshop_id"], i["opportunity_id"]) for i in filled["issue"]["items"]} == {
        (soon.id, None),
        (None, open_one.id),
    }
    again = api.post(f"/api/v1/issues/{issue.id}/fill", json={"weeks": 2}).get_json()
    assert again["added"] == 0
    assert {(e["id"], e["reason"]) for e in again["left_out"] if e["reason"] == "in-issue"} == {
        (soon.id, "in-issue"),
        (open_one.id, "in-issue"),
    }
    assert api.post(f"/api/v1/issues/{issue.id}/fill", json={"weeks": 53}).status_code == 422


def test_fill_report_names_what_it_left_out_and_why(
    api, make_issue, make_workshop, make_opportunity
):
    now = utcnow()
    booked_out = make_workshop(
        "Booked out",
        starts_at=now + timedelta(days=9),
        booking_deadline_at=now + timedelta(days=1),
    )
    far = make_workshop("Far", starts_at=now + timedelta(days=30))
    inside = make_workshop("Inside", starts_at=now + timedelta(days=12))
    archived = make_opportunity("Archived role", is_archived=True)
    closed = make_opportunity("Closed role", closes_at=now + timedelta(days=2))
    issue = make_issue("Fill")
    send_at = (now + timedelta(days=7)).isoformat()
    until = (now + timedelta(days=20)).isoformat()
    body = api.post(
        f"/api/v1/issues/{issue.id}/fill", json={"send_at": send_at, "until": until}
    ).get_json()
    assert [e["title"] for e in body["added_entries"]] == ["Inside"]
    assert {(e["id"], e["reason"]) for e in body["left_out"]} == {
        (booked_out.id, "booking-closed"),
        (far.id, "after-window"),
        (archived.id, "archived"),
        (closed.id, "closed"),
    }
    assert inside.id in {i["workshop_id"] for i in body["issue"]["items"]}
    backwards = api.post(
        f"/api/v1/issues/{issue.id}/fill", json={"send_at": until, "until": send_at}
    )
    assert backwards.status_code == 422 and backwards.get_json()["errors"][0]["field"] == "until"


def test_list_filters_drafts_and_published(api, make_issue):
    draft = make_issue("Draft")
    published = make_issue("Sent", published_at=utcnow())
    everything = api.get("/api/v1/issues").get_json()
    assert [i["id"] for i in everything["items"]] == [draft.id, published.id]
    assert [i["id"] for i in api.get("/api/v1/issues?status=published").get_json()["items"]] == [
        published.id
    ]
    assert [i["id"] for i in api.get("/api/v1/issues?status=draft").get_json()["items"]] == [
        draft.id
    ]


def test_delete_only_issues_never_sent(api, make_issue):
    fresh, sent = make_issue("Fresh"), make_issue("Sent")
    db.session.add(Send(issue=sent, audience="{}", status="done"))
    db.session.commit()
    assert api.delete(f"/api/v1/issues/{sent.id}").status_code == 409
    response = api.delete(f"/api/v1/issues/{fresh.id}")
    assert response.status_code == 204 and response.data == b""
    assert db.session.get(Issue, fresh.id) is None
    assert _actions() == [("issue.delete", api.editor.id)]


def test_unpublish_and_republish_through_the_api(api, client, make_issue):
    from bulletin.models import AuditLog, utcnow

    issue = make_issue("Sent one", slug="sent-one", published_at=utcnow())
    draft = make_issue("Draft one", slug="draft-one")
    gone = api.post(f"/api/v1/issues/{issue.id}/unpublish")
    assert gone.status_code == 200
    body = gone.get_json()
    assert body["in_archive"] is False and body["unpublished_at"] is not None
    assert client.get("/issues/sent-one").status_code == 410
    assert api.post(f"/api/v1/issues/{issue.id}/unpublish").status_code == 200  # no change
    back = api.post(f"/api/v1/issues/{issue.id}/republish").get_json()
    assert back["in_archive"] is True and back["unpublished_at"] is None
    assert client.get("/issues/sent-one").status_code == 200
    assert api.post(f"/api/v1/issues/{draft.id}/republish").status_code == 409
    actions = db.session.scalars(
        db.select(AuditLog.action)
        .where(AuditLog.target_type == "issue", AuditLog.target_id == issue.id)
        .order_by(AuditLog.id)
    ).all()
    assert actions == ["issue.unpublish", "issue.republish"]
