"""Subscriber counts and sends through the API: counts only, schedule, progress, cancel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jsonschema import Draft202012Validator, FormatChecker
from sqlalchemy import select

from bulletin.extensions import db
from bulletin.models import AuditLog, Delivery, Send, SendStatus, Topic, utcnow
from tests.support.api_fixtures import ApiClient


def test_counts_are_by_topic_region_and_language_of_confirmed_subscribers(api, make_subscriber):
    make_subscriber("a@example.com", language="cy", region="north-wales", topics=["workshops"])
    make_subscriber("b@example.com", region="north-wales", topics=["workshops", "news"])
    make_subscriber("c@example.com", region=None, topics=[])
    make_subscriber("d@example.com", status="pending", topics=["workshops"])
    make_subscriber("e@example.com", status="unsubscribed", language="cy")
    response = api.get("/api/v1/subscribers/counts")
    counts = response.get_json()
    assert "@" not in response.get_data(as_text=True)
    assert counts["total"] == 3 and counts["matching"] == 3
    assert counts["by_topic"] == {
        "workshops": 2,
        "public-involvement": 0,
        "studies-surveys": 0,
        "news": 1,
    }
    assert counts["by_region"]["north-wales"] == 2 and counts["by_region"]["none"] == 1
    assert counts["by_region"]["mid-wales"] == 0
    assert counts["by_language"] == {"cy": 1, "en": 2, "cy+en": 0}
    query = "topic=workshops&region=north-wales&language=cy"
    assert api.get(f"/api/v1/subscribers/counts?{query}").get_json()["matching"] == 1
    assert (
        api.get("/api/v1/subscribers/counts?topic=news&topic=workshops").get_json()["matching"] == 2
    )


def test_schedule_a_send_at_a_uk_time(api, make_issue, make_subscriber):
    make_subscriber(topics=["workshops"])
    issue = make_issue("March")
    response = api.post(
        f"/api/v1/issues/{issue.id}/sends",
        json={
            "audience": {"topics": ["workshops"], "languages": ["en"]},
            "scheduled_at": "2030-07-01T09:00",
        },
    )
    assert response.status_code == 201
    send = response.get_json()
    assert send["status"] == "scheduled" and send["issue_id"] == issue.id
    assert send["scheduled_at"] == "2030-07-01T08:00:00+00:00"  # 09:00 BST
    assert send["audience"] == {"topics": ["workshops"], "regions": [], "languages": ["en"]}
    assert send["audience_count"] == 1 and send["created_by_id"] == api.editor.id
    assert send["progress"]["total"] == 0
    assert response.headers["Location"] == f"/api/v1/sends/{send['id']}"
    (audit,) = db.session.scalars(select(AuditLog).where(AuditLog.action == "send.schedule"))
    assert audit.editor_id == api.editor.id and audit.target_id == send["id"]


def test_schedule_with_an_offset_or_now(api, make_issue, make_subscriber):
    make_subscriber()
    issue = make_issue("March")
    url = f"/api/v1/issues/{issue.id}/sends"
    exact = api.post(url, json={"audience": {}, "scheduled_at": "2030-01-05T09:00:00-05:00"})
    assert exact.get_json()["scheduled_at"] == "2030-01-05T14:00:00+00:00"
    before = utcnow()
    now = api.post(url, json={"audience": {}, "scheduled_at": "now"}).get_json()
    assert datetime.fromisoformat(now["scheduled_at"]) >= before.replace(microsecond=0)
    assert db.session.get(Send, now["id"]).scheduled_at.tzinfo == UTC


def test_a_send_needs_a_future_time_known_topics_and_an_issue_with_a_subject(api, make_issue):
    issue = make_issue("March")
    url = f"/api/v1/issues/{issue.id}/sends"
    past = (utcnow() - timedelta(hours=1)).isoformat()
    topic = db.session.scalar(select(Topic).where(Topic.slug == "news"))
    topic.is_active = False
    db.session.commit()
    for body, field in (
        ({"audience": {}, "scheduled_at": past}, "scheduled_at"),
        ({"audience": {}, "scheduled_at": "2030-03-31T01:30"}, "scheduled_at"),
        ({"audience": {"topics": ["no-such"]}, "scheduled_at": "now"}, "audience.topics"),
        ({"audience": {"topics": ["news"]}, "scheduled_at": "now"}, "audience.topics"),
        ({"audience": {"regions": ["atlantis"]}, "scheduled_at": "now"}, "audience.regions.0"),
        ({"scheduled_at": "now"}, "(body)"),
        ({"audience": {}, "scheduled_at": "tomorrow"}, "scheduled_at"),
    ):
        response = api.post(url, json=body)
        assert response.status_code == 422, body
        assert field in {e["field"] for e in response.get_json()["errors"]}, body
    blank = make_issue(None)
    response = api.post(
        f"/api/v1/issues/{blank.id}/sends", json={"audience": {}, "scheduled_at": "now"}
    )
    assert response.status_code == 409
    assert db.session.scalar(select(Send)) is None


def test_progress_and_cancel(api, make_issue, make_subscriber):
    subscriber = make_subscriber()
    issue = make_issue("March")
    send_id = api.post(
        f"/api/v1/issues/{issue.id}/sends", json={"audience": {}, "scheduled_at": "now"}
    ).get_json()["id"]
    send = db.session.get(Send, send_id)
    send.status = SendStatus.SENDING
    db.session.add(Delivery(send=send, subscriber_id=subscriber.id, language="en"))
    db.session.commit()
    progress = api.get(f"/api/v1/sends/{send_id}").get_json()["progress"]
    assert progress["status"] == "sending" and progress["queued"] == 1 and progress["total"] == 1
    cancelled = api.post(f"/api/v1/sends/{send_id}/cancel").get_json()
    assert cancelled["status"] == "cancelled" and cancelled["finished_at"] is not None
    assert cancelled["progress"]["cancelled"] == 1 and cancelled["progress"]["queued"] == 0
    again = api.post(f"/api/v1/sends/{send_id}/cancel")
    assert again.status_code == 409 and "cancelled" in again.get_json()["detail"]
    actions = db.session.scalars(select(AuditLog.action).where(AuditLog.action.like("send.%")))
    assert list(actions) == ["send.schedule", "send.cancel"]


def test_pause_and_resume(api, make_issue, make_subscriber):
    subscriber = make_subscriber()
    issue = make_issue("April")
    send_id = api.post(
        f"/api/v1/issues/{issue.id}/sends", json={"audience": {}, "scheduled_at": "now"}
    ).get_json()["id"]
    early = api.post(f"/api/v1/sends/{send_id}/pause")
    assert (
        early.status_code == 409 and "scheduled send cannot be paused" in early.get_json()["detail"]
    )
    send = db.session.get(Send, send_id)
    send.status, send.started_at = SendStatus.SENDING, utcnow()
    db.session.add(Delivery(send=send, subscriber_id=subscriber.id, language="en"))
    db.session.commit()
    paused = api.post(f"/api/v1/sends/{send_id}/pause").get_json()
    assert paused["status"] == "paused" and paused["progress"]["queued"] == 1
    assert api.post(f"/api/v1/sends/{send_id}/pause").status_code == 409
    resumed = api.post(f"/api/v1/sends/{send_id}/resume").get_json()
    assert resumed["status"] == "sending" and resumed["progress"]["queued"] == 1
    again = api.post(f"/api/v1/sends/{send_id}/resume")
    assert (
        again.status_code == 409 and "sending send cannot be resumed" in again.get_json()["detail"]
    )
    assert api.post("/api/v1/sends/999999/pause").status_code == 404
    actions = db.session.scalars(
        select(AuditLog.action).where(AuditLog.action.like("send.%")).order_by(AuditLog.id)
    )
    assert list(actions) == ["send.schedule", "send.pause", "send.resume"]


def test_sends_list_filters(api, make_issue, make_subscriber):
    make_subscriber()
    first, second = make_issue("One"), make_issue("Two")
    for issue in (first, second, second):
        api.post(f"/api/v1/issues/{issue.id}/sends", json={"audience": {}, "scheduled_at": "now"})
    listed = api.get(f"/api/v1/sends?issue_id={second.id}").get_json()
    assert listed["total"] == 2 and {s["issue_id"] for s in listed["items"]} == {second.id}
    assert api.get("/api/v1/sends?status=done").get_json()["total"] == 0
    assert api.get("/api/v1/sends?limit=1").get_json()["total"] == 3


def test_a_send_to_an_audience_with_no_readers_is_refused(api, make_issue, make_subscriber):
    issue = make_issue("March")
    url = f"/api/v1/issues/{issue.id}/sends"
    nobody = api.post(url, json={"audience": {}, "scheduled_at": "now"})
    assert nobody.status_code == 422
    (error,) = nobody.get_json()["errors"]
    assert error["field"] == "audience"
    assert error["message"] == "This audience has no readers: no confirmed subscriber matches it."
    make_subscriber(region="north-wales")
    make_subscriber(status="pending", region="mid-wales")  # not confirmed: not a reader
    segment = api.post(url, json={"audience": {"regions": ["mid-wales"]}, "scheduled_at": "now"})
    assert segment.status_code == 422
    assert db.session.scalar(select(Send)) is None
    assert api.post(url, json={"audience": {}, "scheduled_at": "now"}).status_code == 201


def test_a_send_whose_readers_all_had_the_issue_is_refused_unless_sent_again(
    api, make_issue, make_subscriber
):
    reader = make_subscriber()
    issue = make_issue("March")
    earlier = Send(issue=issue, audience="{}", scheduled_at=utcnow(), status=SendStatus.DONE)
    db.session.add(earlier)
    db.session.add(Delivery(send=earlier, subscriber_id=reader.id, language="en", status="sent"))
    db.session.commit()
    url = f"/api/v1/issues/{issue.id}/sends"
    again = api.post(url, json={"audience": {}, "scheduled_at": "now"})
    assert again.status_code == 422
    assert "already had this issue" in again.get_json()["errors"][0]["message"]
    everyone = {"audience": {}, "scheduled_at": "now", "exclude_already_sent": False}
    assert api.post(url, json=everyone).status_code == 201


def _finished_send(issue, rows) -> Send:
    """A done send with deliveries (subscriber, status, last reply) written directly."""
    send = Send(
        issue=issue,
        audience="{}",
        status=SendStatus.DONE,
        started_at=utcnow(),
        finished_at=utcnow(),
    )
    db.session.add(send)
    db.session.flush()
    for subscriber, status, reply in rows:
        db.session.add(
            Delivery(
                send_id=send.id,
                subscriber_id=subscriber.id,
                language=subscriber.language,
                status=status,
                last_reply=reply,
            )
        )
    db.session.commit()
    return send


def _schema_check(api, path: str, response) -> None:
    document = api.get("/api/v1/openapi.json").get_json()
    spec = document["paths"][path]["get"]["responses"][str(response.status_code)]
    schema = {**spec["content"]["application/json"]["schema"], "components": document["components"]}
    Draft202012Validator(schema, format_checker=FormatChecker()).validate(response.get_json())


def test_a_send_report_gives_counts_by_reason_language_and_region(api, make_issue, make_subscriber):
    english = [make_subscriber(region="south-east-wales") for _ in range(6)]
    welsh = [make_subscriber(language="cy", region="north-wales") for _ in range(3)]
    rows = [(s, "sent", None) for s in english]
    rows += [(welsh[0], "sent", None), (welsh[1], "failed", "550 5.1.1 <x@example.com> unknown")]
    rows += [(welsh[2], "failed", "552 5.2.2 Mailbox full")]
    send = _finished_send(make_issue("March"), rows)
    response = api.get(f"/api/v1/sends/{send.id}/report")
    assert response.status_code == 200
    _schema_check(api, "/sends/{send_id}/report", response)
    body = response.get_json()
    assert "@" not in response.get_data(as_text=True)  # counts only, never an address
    assert body["is_final"] is True and body["send_id"] == send.id
    assert body["totals"]["recipients"] == 9 and body["totals"]["delivered"] == 7
    assert body["totals"]["failed"] == 2
    assert body["failure_reasons"] == {
        "mailbox-unknown": 1,
        "spam": 0,
        "mailbox-full": 1,
        "refused": 0,
        "other": 0,
    }
    language = {s["segment"]: s for s in body["breakdowns"]["language"]}
    assert language["en"]["recipients"] == 6 and language["en"]["failed"] == 0
    # The small-number rule: 1 to 4 in a segment is null ("fewer than 5").
    assert language["cy"]["recipients"] is None and language["cy"]["failed"] is None
    region = {s["segment"]: s["recipients"] for s in body["breakdowns"]["region"]}
    assert region == {"north-wales": None, "south-east-wales": 6}


def test_a_send_to_fewer_than_five_readers_hides_its_exact_totals(api, make_issue, make_subscriber):
    send = _finished_send(make_issue("Small"), [(make_subscriber(), "sent", None)] * 1)
    body = api.get(f"/api/v1/sends/{send.id}/report").get_json()
    assert body["totals"]["recipients"] is None and body["totals"]["failed"] == 0
    assert api.get("/api/v1/sends/999/report").status_code == 404
    unfinished = Send(issue=make_issue("Later"), audience="{}", status=SendStatus.SCHEDULED)
    db.session.add(unfinished)
    db.session.commit()
    early = api.get(f"/api/v1/sends/{unfinished.id}/report").get_json()
    assert early["is_final"] is False and early["totals"]["recipients"] == 0


def test_failed_addresses_are_for_admin_tokens_only(
    app, api, make_api_token, make_issue, make_subscriber
):
    readers = [make_subscriber(f"gone{i}@example.com") for i in range(3)]
    rows = [(r, "failed", f"550 5.1.1 <{r.email}> No such user") for r in readers[:2]]
    send = _finished_send(make_issue("March"), [*rows, (readers[2], "sent", None)])
    path = f"/api/v1/sends/{send.id}/report/failed"
    refused = api.get(path)
    assert refused.status_code == 403 and "@" not in refused.get_data(as_text=True)
    row, token = make_api_token("admin")
    admin = ApiClient(app.test_client(), token, row.editor)
    page = admin.get(f"{path}?limit=1&offset=1")
    assert page.status_code == 200
    _schema_check(admin, "/sends/{send_id}/report/failed", page)
    body = page.get_json()
    assert body["total"] == 2 and body["limit"] == 1 and body["offset"] == 1
    (item,) = body["items"]
    assert item["email"] == "gone1@example.com" and item["reason"] == "mailbox-unknown"
    assert item["reply"].startswith("550 5.1.1") and item["language"] == "en"
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "send.failed_export"))
    assert audit.editor_id == row.editor.id and audit.target_id == send.id
