"""Erasure leaves no trace of the address: every text column of every table is searched."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from sqlalchemy import LargeBinary, String, Text, select

from bulletin.extensions import db
from bulletin.mail import tokens
from bulletin.mail.pseudonyms import hash_address
from bulletin.models import (
    ConsentEvent,
    Delivery,
    DeliveryStatus,
    Send,
    SendStatus,
    Subscriber,
    Suppression,
)
from tests.conftest import csrf_token

ADDRESS = "Erin.Erasure@Example.org"
STORED = "Erin.Erasure@example.org"
NAME = "Erin Unforgettable-Name"


def find_traces(needles: list[str]) -> list[str]:
    """Every (table.column) holding one of the needles, in any text or binary column."""
    found = []
    lowered = [n.lower() for n in needles]
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, (String, Text, LargeBinary))]
        for row in db.session.execute(select(*columns)).all() if columns else []:
            for column, value in zip(columns, row, strict=True):
                if value is None:
                    continue
                text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
                if any(n in text.lower() for n in lowered):
                    found.append(f"{table.name}.{column.name}")
    return found


@pytest.mark.slow
def test_erasure_leaves_only_the_hash_and_an_address_free_trail(
    make_app, smtp_server, make_issue, run_worker_once
):
    from bulletin.core.defaults import ensure_defaults
    from tests.conftest import _empty_tables

    app = make_app(SMTP_URL=smtp_server.url)
    with app.app_context():
        _empty_tables()
        ensure_defaults()
    client = app.test_client()

    page = client.get("/subscribe")
    client.post(
        "/subscribe",
        data={
            "csrf_token": csrf_token(page.text),
            "email": ADDRESS,
            "name": NAME,
            "topics": ["news"],
            "region": "north-wales",
            "language": "en",
            "consent": "y",
        },
    )
    with app.app_context():
        subscriber = db.session.scalar(select(Subscriber))
        uid, subscriber_id = subscriber.uid, subscriber.id
        run_worker_once(app)
    confirm_path = f"/confirm/{tokens_for(app, 'confirm', uid)}"
    page = client.get(confirm_path)
    assert client.post(confirm_path, data={"csrf_token": csrf_token(page.text)}).status_code == 200
    manage_path = f"/manage/{tokens_for(app, 'manage', uid)}"
    page = client.get(manage_path)
    assert (
        client.post(
            manage_path,
            data={
                "csrf_token": csrf_token(page.text),
                "name": NAME,
                "topics": ["workshops"],
                "region": "mid-wales",
                "language": "cy",
            },
        ).status_code
        == 200
    )
    with app.app_context():
        run_worker_once(app)
        send = Send(issue=make_issue(), status=SendStatus.DONE)
        db.session.add(send)
        db.session.flush()
        db.session.add(
            Delivery(
                send_id=send.id,
                subscriber_id=subscriber_id,
                language="cy",
                status=DeliveryStatus.SENT,
                last_reply=f"250 2.0.0 OK queued for <{STORED}>",
            )
        )
        db.session.commit()
        assert find_traces([STORED, NAME])  # the search works: the data is there before
    assert len(smtp_server.wait_for(2)) == 2

    page = client.get(f"{manage_path}/erase")
    assert (
        client.post(f"{manage_path}/erase", data={"csrf_token": csrf_token(page.text)}).status_code
        == 200
    )

    with app.app_context():
        assert find_traces([STORED, ADDRESS, quote(STORED), NAME]) == []
        assert db.session.scalar(select(Subscriber)) is None
        assert db.session.scalar(select(Delivery)) is None
        [entry] = db.session.scalars(select(Suppression)).all()
        assert entry.address_hash == hash_address(STORED) and entry.reason == "erased"
        trail = db.session.scalars(select(ConsentEvent).order_by(ConsentEvent.id)).all()
        assert [e.kind for e in trail] == ["signup", "confirm", "preferences", "erasure"]
        assert all(e.subscriber_id is None and e.subject_uid == uid for e in trail)


def tokens_for(app, purpose: str, uid: str) -> str:
    with app.app_context():
        return getattr(tokens, f"make_{purpose}_token")(uid)
