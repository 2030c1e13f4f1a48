"""The OpenAPI document: valid, complete, and true to what the API answers."""

from __future__ import annotations

import re

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from openapi_spec_validator import validate as validate_spec

from bulletin.api.schemas import EXAMPLES, REQUESTS
from bulletin.api.validation import schema_errors
from bulletin.extensions import db
from bulletin.models import Send, SendStatus, utcnow


@pytest.fixture
def document(client):
    return client.get("/api/v1/openapi.json").get_json()


def _operations(document):
    for path, methods in document["paths"].items():
        for method, spec in methods.items():
            yield path, method, spec


def test_the_document_is_valid_openapi_31(document):
    validate_spec(document)
    assert document["openapi"] == "3.1.0"
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_every_api_route_is_documented_and_nothing_else(app, document):
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
            routes |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method) for path, method, _spec in _operations(document)}
    assert routes == documented and len(routes) == 40


def test_every_operation_documents_its_errors(document):
    for path, method, spec in _operations(document):
        codes = set(spec["responses"])
        assert "429" in codes, (path, method)
        if path != "/openapi.json":
            assert "401" in codes
        if "{" in path:
            assert "404" in codes
        if "requestBody" in spec:
            assert {"400", "413", "415", "422"} <= codes


def test_request_examples_satisfy_their_schemas():
    assert set(EXAMPLES) == set(REQUESTS)
    for name, example in EXAMPLES.items():
        assert schema_errors(name, example) == [], name


def _check_response(document, path: str, method: str, response) -> None:
    spec = document["paths"][path][method]
    assert str(response.status_code) in spec["responses"], (method, path, response.status_code)
    content = spec["responses"][str(response.status_code)].get("content")
    if content is None:
        assert response.data == b""
        return
    schema = {**content["application/json"]["schema"], "components": document["components"]}
    Draft202012Validator(schema, format_checker=FormatChecker()).validate(response.get_json())


@pytest.fixture
def ids(make_workshop, make_opportunity, make_issue, make_subscriber):
    make_subscriber(topics=["workshops"])  # scheduleSend refuses an audience with no readers
    issue = make_issue(version=1, items=[make_workshop(), {"title_en": "One"}, {"title_en": "Two"}])
    sent = make_issue("Sent")
    send = Send(issue=sent, audience="{}", scheduled_at=utcnow(), status=SendStatus.SCHEDULED)
    running = Send(
        issue=sent,
        audience="{}",
        scheduled_at=utcnow(),
        started_at=utcnow(),
        status=SendStatus.SENDING,
    )
    db.session.add_all([send, running])
    db.session.commit()
    return {
        "workshop": make_workshop().id,
        "opportunity": make_opportunity().id,
        "issue": issue.id,
        "news": issue.items[1].id,
        "other_news": issue.items[2].id,
        "spare_issue": make_issue("Spare").id,
        "public_issue": make_issue("Public", published_at=utcnow()).id,
        "send": send.id,
        "running_send": running.id,
        "subscriber": make_subscriber("Known.Reader@example.org").id,
        "spare_subscriber": make_subscriber().id,
    }


def _walk(ids):
    """(operationId, path, body) for a request that succeeds, for every operation."""
    w, o, i = ids["workshop"], ids["opportunity"], ids["issue"]
    return [
        ("getOpenApi", "/openapi.json", None),
        ("listTopics", "/topics", None),
        ("countSubscribers", "/subscribers/counts?topic=news&language=cy", None),
        ("listWorkshops", "/workshops?limit=5", None),
        ("createWorkshop", "/workshops", EXAMPLES["WorkshopCreate"]),
        ("getWorkshop", f"/workshops/{w}", None),
        ("updateWorkshop", f"/workshops/{w}", EXAMPLES["WorkshopUpdate"]),
        ("duplicateWorkshop", f"/workshops/{w}/duplicate", None),
        ("deleteWorkshop", f"/workshops/{w}", None),
        ("listOpportunities", "/opportunities?show=open", None),
        ("createOpportunity", "/opportunities", EXAMPLES["OpportunityCreate"]),
        ("getOpportunity", f"/opportunities/{o}", None),
        ("updateOpportunity", f"/opportunities/{o}", EXAMPLES["OpportunityUpdate"]),
        ("duplicateOpportunity", f"/opportunities/{o}/duplicate", None),
        ("deleteOpportunity", f"/opportunities/{o}", None),
        ("listIssues", "/issues?status=draft", None),
        ("createIssue", "/issues", EXAMPLES["IssueCreate"]),
        ("getIssue", f"/issues/{i}", None),
        ("updateIssue", f"/issues/{i}", EXAMPLES["IssueUpdate"]),
        ("addIssueItem", f"/issues/{i}/items", EXAMPLES["ItemCreate"]),
        ("updateNewsItem", f"/issues/{i}/items/{ids['news']}", EXAMPLES["NewsUpdate"]),
        ("moveIssueItem", f"/issues/{i}/items/{ids['news']}/move", EXAMPLES["ItemMove"]),
        ("moveIssueSection", f"/issues/{i}/sections/move", EXAMPLES["SectionMove"]),
        ("removeIssueItem", f"/issues/{i}/items/{ids['other_news']}", None),
        ("fillIssue", f"/issues/{i}/fill", EXAMPLES["IssueFill"]),
        ("scheduleSend", f"/issues/{i}/sends", EXAMPLES["SendCreate"]),
        ("listSends", "/sends?status=scheduled", None),
        ("getSend", f"/sends/{ids['send']}", None),
        ("pauseSend", f"/sends/{ids['running_send']}/pause", None),
        ("resumeSend", f"/sends/{ids['running_send']}/resume", None),
        ("getSendReport", f"/sends/{ids['send']}/report", None),
        ("listSendFailures", f"/sends/{ids['send']}/report/failed?limit=10", None),
        ("cancelSend", f"/sends/{ids['send']}/cancel", None),
        ("unpublishIssue", f"/issues/{ids['public_issue']}/unpublish", None),
        ("republishIssue", f"/issues/{ids['public_issue']}/republish", None),
        ("deleteIssue", f"/issues/{ids['spare_issue']}", None),
        ("startSubscription", "/subscribers", EXAMPLES["SubscriberCreate"]),
        (
            "startSubscription",
            "/subscribers",
            {**EXAMPLES["SubscriberCreate"], "email": "n@example.org", "consent": CONSENT},
        ),
        ("findSubscriber", "/subscribers?email=known.reader@EXAMPLE.org", None),
        ("updateSubscriber", f"/subscribers/{ids['subscriber']}", EXAMPLES["SubscriberUpdate"]),
        ("eraseSubscriber", f"/subscribers/{ids['spare_subscriber']}", None),
    ]


CONSENT = EXAMPLES["ConsentEvidence"]


def test_real_responses_match_the_documented_schemas(admin_api, document, ids):
    api = admin_api
    by_id = {spec["operationId"]: (path, method) for path, method, spec in _operations(document)}
    walk = _walk(ids)
    assert {op for op, _url, _body in walk} == set(by_id)
    for operation_id, url, body in walk:
        path, method = by_id[operation_id]
        kwargs = {"json": body} if body is not None else {}
        response = getattr(api, method)("/api/v1" + url, **kwargs)
        assert 200 <= response.status_code < 300, (operation_id, response.get_data(as_text=True))
        _check_response(document, path, method, response)


def test_error_responses_match_the_error_schema(api, client, document, make_issue):
    issue = make_issue("Locked")
    send = Send(issue=issue, audience="{}", status=SendStatus.SCHEDULED)
    db.session.add(send)
    db.session.commit()
    cases = [
        (client.get("/api/v1/workshops"), "/workshops", "get"),
        (api.get("/api/v1/workshops/999"), "/workshops/{entry_id}", "get"),
        (api.get("/api/v1/workshops?limit=0"), "/workshops", "get"),
        (
            api.get(f"/api/v1/sends/{send.id}/report/failed"),
            "/sends/{send_id}/report/failed",
            "get",
        ),
        (api.post("/api/v1/issues", data="{", content_type="application/json"), "/issues", "post"),
        (api.post("/api/v1/issues", data="x", content_type="text/plain"), "/issues", "post"),
        (api.post("/api/v1/issues", json={"nope": 1}), "/issues", "post"),
        (api.get("/api/v1/subscribers?email=a@example.org"), "/subscribers", "get"),
        (
            api.patch(f"/api/v1/issues/{issue.id}", json={"version": 7}),
            "/issues/{issue_id}",
            "patch",
        ),
    ]
    assert {r.status_code for r, _p, _m in cases} == {401, 403, 404, 422, 400, 415, 409}
    for response, path, method in cases:
        _check_response(document, path, method, response)
