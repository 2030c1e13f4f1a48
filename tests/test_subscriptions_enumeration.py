"""No enumeration by timing: /subscribe and /manage run the same SQL whatever the address's state.

A timing test would be flaky on a shared machine, so this checks the cause instead: the list
of statements (their text, in order) is the same for new, pending, confirmed, unsubscribed and
cleaned addresses, and for an address over its daily cap. bench/subscribe_timing.py measures
the time itself.
"""

from __future__ import annotations

import re
from contextlib import contextmanager

from sqlalchemy import event, select

from bulletin.extensions import db
from bulletin.models import ConsentEvent, OutboxMessage, Subscriber, SubscriberStatus
from tests.conftest import csrf_token
from tests.test_subscriptions import form_data

STATES = {
    "new": None,
    "pending": SubscriberStatus.PENDING,
    "confirmed": SubscriberStatus.CONFIRMED,
    "unsubscribed": SubscriberStatus.UNSUBSCRIBED,
    "cleaned": SubscriberStatus.CLEANED,
}


@contextmanager
def recorded_statements():
    """The SQL statements run inside the block, as text with whitespace squeezed."""
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(re.sub(r"\s+", " ", statement).strip())

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def post_and_record(client, path: str, data: dict) -> list[str]:
    with recorded_statements() as statements:
        response = client.post(path, data=data)
    assert response.status_code == 303, response.text
    return statements


def test_subscribe_runs_the_same_statements_for_every_address_state(client, make_subscriber):
    client.post("/subscribe", data=form_data(client, email="warm-up@example.org"))
    for state, status in STATES.items():
        if status is not None:
            make_subscriber(
                f"{state}@example.org", status=status, region="north-wales", topics=["news"]
            )
    shapes = {}
    for state in STATES:
        data = form_data(client, email=f"{state}@example.org")
        shapes[state] = post_and_record(client, "/subscribe", data)
    assert any(s.startswith("INSERT INTO outbox_message") for s in shapes["new"])
    for state, statements in shapes.items():
        assert statements == shapes["new"], f"{state} runs other statements than a new address"

    # ...and the behaviour behind the one shape is still each state's own.
    kinds = dict(
        db.session.execute(
            select(Subscriber.email, OutboxMessage.kind)
            .join(OutboxMessage.subscriber)
            .where(Subscriber.email != "warm-up@example.org")
        ).all()
    )
    assert kinds == {
        f"{s}@example.org": "already-subscribed" if s == "confirmed" else "confirm" for s in STATES
    }
    confirmed = db.session.scalar(select(Subscriber).filter_by(email="confirmed@example.org"))
    assert (confirmed.status, confirmed.region) == ("confirmed", "north-wales")
    assert [t.slug for t in confirmed.topics] == ["news"]
    signups = db.session.scalars(
        select(Subscriber.email)
        .join(ConsentEvent, ConsentEvent.subscriber_id == Subscriber.id)
        .where(ConsentEvent.kind == "signup")
    ).all()
    assert sorted(signups) == sorted(
        [f"{s}@example.org" for s in STATES if s != "confirmed"] + ["warm-up@example.org"]
    )
    for state in ("pending", "unsubscribed", "cleaned"):
        row = db.session.scalar(select(Subscriber).filter_by(email=f"{state}@example.org"))
        assert (row.status, row.region, [t.slug for t in row.topics]) == (
            "pending",
            "mid-wales",
            ["workshops"],
        )


def test_an_address_over_its_daily_cap_runs_the_same_statements(app, client):
    cap = app.config["CONFIRMATIONS_PER_ADDRESS_PER_DAY"]
    shapes = [
        post_and_record(client, "/subscribe", form_data(client, email="cap@example.org"))
        for _ in range(cap + 2)
    ]
    assert len(db.session.scalars(select(OutboxMessage.id)).all()) == cap
    # The first inserts the subscriber; every later one (under or over the cap) is the same.
    assert all(statements == shapes[0] for statements in shapes)


def test_manage_link_request_runs_the_same_statements_for_everyone(client, make_subscriber):
    for state, status in STATES.items():
        if status is not None:
            make_subscriber(f"{state}@example.org", status=status)
    shapes = {}
    for state in STATES:
        page = client.get("/manage")
        shapes[state] = post_and_record(
            client,
            "/manage",
            {"csrf_token": csrf_token(page.text), "email": f"{state}@example.org"},
        )
    assert all(statements == shapes["new"] for statements in shapes.values())
    mailed = db.session.scalars(select(Subscriber.email).join(OutboxMessage.subscriber)).all()
    assert mailed == ["confirmed@example.org"]
