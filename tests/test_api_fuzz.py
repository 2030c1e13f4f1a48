"""Fuzzing the API with schemathesis, driven by the API's own OpenAPI document.

For every operation: the documented example (must succeed), positive examples (valid by
the schema, path ids pinned to real rows so the happy paths run) and negative examples
(invalid on purpose, ids free). No answer may be a 5xx; each must use a documented status
code and content type and match the documented schema. About 40 s on SQLite.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bulletin.extensions import db
from bulletin.models import Send, SendStatus, utcnow

#: Hypothesis examples per operation and generation mode.
EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


class Tally:
    """What the fuzzing did: examples per mode, statuses per operation."""

    def __init__(self) -> None:
        self.examples: Counter = Counter()
        self.statuses: dict[str, Counter] = {}

    def add(self, mode: str, label: str, status: int) -> None:
        self.examples[mode] += 1
        self.statuses.setdefault(label, Counter())[status] += 1

    def report(self, operations: int, seconds: float) -> str:
        lines = [
            f"fuzzed {operations} operations: {self.examples['example']} documented "
            f"examples, {self.examples['positive']} positive and "
            f"{self.examples['negative']} negative generated examples in {seconds:.0f} s"
        ]
        lines += [
            f"  {label}: {dict(sorted(seen.items()))}" for label, seen in self.statuses.items()
        ]
        return "\n".join(lines)


#: The send state each send verb needs to succeed (the others take a scheduled send).
SEND_STATE_FOR = {
    "POST /sends/{send_id}/pause": SendStatus.SENDING,
    "POST /sends/{send_id}/resume": SendStatus.PAUSED,
}


def _seed(
    make_workshop, make_opportunity, make_issue, make_subscriber, label: str = ""
) -> dict[str, int]:
    """Fresh rows for pinned path ids: an issue with two news items, a send (in the state the
    operation needs), catalogue entries, a subscriber."""
    workshop, opportunity = make_workshop(), make_opportunity()
    issue = make_issue(
        version=1,
        items=[make_workshop(), {"title_en": "News one"}, {"title_en": "News two"}],
        published_at=utcnow(),  # sent, so unpublish and republish succeed
    )
    sent = make_issue()
    status = SEND_STATE_FOR.get(label, SendStatus.SCHEDULED)
    send = Send(issue=sent, audience="{}", scheduled_at=utcnow(), status=status)
    db.session.add(send)
    db.session.commit()
    news = next(i for i in issue.items if i.kind == "news")
    return {
        "workshops": workshop.id,
        "opportunities": opportunity.id,
        "issue_id": issue.id,
        "item_id": news.id,
        "send_id": send.id,
        "subscriber_id": make_subscriber().id,
    }


#: Query strings for the documented example of operations that need one to succeed.
EXAMPLE_QUERIES = {"GET /subscribers": {"email": "fuzz.reader@example.org"}}


def _pinned(operation, ids: dict[str, int]) -> dict[str, int]:
    pinned = {}
    for param in operation.path_parameters:
        name = param.name
        pinned[name] = ids[operation.path.split("/")[1]] if name == "entry_id" else ids[name]
    return pinned


def _fuzz(operation, mode, path_parameters, headers, tally: Tally) -> None:
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def check(case):
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        tally.add(str(mode), operation.label, response.status_code)

    check()


def _documented_example(operation, document: dict, pinned: dict, headers, tally: Tally) -> None:
    """The request body's example from the document, sent for real: it must succeed."""
    spec = document["paths"][operation.path][operation.method.lower()]
    body = spec.get("requestBody")
    kwargs = {}
    if body:
        ref = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        kwargs = {
            "body": document["components"]["schemas"][ref]["examples"][0],
            "media_type": "application/json",
        }
    case = operation.Case(
        path_parameters=pinned, query=EXAMPLE_QUERIES.get(operation.label), **kwargs
    )
    response = case.call_and_validate(headers=headers, checks=CHECKS)
    success = [int(code) for code in spec["responses"] if code.startswith("2")]
    assert response.status_code in success, (operation.label, response.text)
    tally.add("example", operation.label, response.status_code)


@pytest.mark.slow
def test_fuzz_every_operation(
    app, admin_api, make_workshop, make_opportunity, make_issue, make_subscriber, capsys
):
    api = admin_api  # an admin's, every scope: every operation is open to it
    make_subscriber("fuzz.reader@example.org", topics=["workshops"])  # sends need a reader
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    document = api.client.get("/api/v1/openapi.json").get_json()
    headers = {"Authorization": f"Bearer {api.token}"}
    tally, labels, started = Tally(), set(), time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        labels.add(operation.label)
        seeded = _seed(
            make_workshop, make_opportunity, make_issue, make_subscriber, operation.label
        )
        pinned = _pinned(operation, seeded)
        _documented_example(operation, document, pinned, headers, tally)
        _fuzz(operation, GenerationMode.POSITIVE, pinned, headers, tally)
        _fuzz(operation, GenerationMode.NEGATIVE, None, headers, tally)
    with capsys.disabled():
        print("\n" + tally.report(len(labels), time.monotonic() - started))
    documented = {
        f"{method.upper()} {path}"
        for path, methods in document["paths"].items()
        for method in methods
    }
    # schemathesis leaves out the document's own path; everything else is fuzzed.
    assert documented - labels == {"GET /openapi.json"}
    assert tally.examples["positive"] >= len(labels) and tally.examples["negative"] >= len(labels)
    # Pinned ids reach the happy paths: most operations answered 2xx to a generated request.
    succeeded = [
        label for label, seen in tally.statuses.items() if any(200 <= code < 300 for code in seen)
    ]
    assert len(succeeded) == len(labels)
