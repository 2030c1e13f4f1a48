"""Subject access is built from one explicit list of parts: no part is added by an import."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from bulletin.core.subject_access import PARTS, export_subscriber
from bulletin.extensions import db
from bulletin.mail.pseudonyms import hash_address
from bulletin.models import (
    BounceEvent,
    ConsentEvent,
    Delivery,
    OutboxMessage,
    Send,
    SendStatus,
    utcnow,
)

ROOT = Path(__file__).resolve().parents[1]

#: A fresh interpreter: import subject_access and nothing else of bulletin, bind the database
#: to a bare Flask app (no create_app, so no blueprint or door is imported), export one
#: subscriber. It prints the export and the bulletin modules loaded before and after it.
PROBE = """
import json, sys
from flask import Flask
import bulletin.core.subject_access as subject_access

loaded = sorted(m for m in sys.modules if m.startswith("bulletin"))
db = sys.modules["bulletin.extensions"].db
Subscriber = sys.modules["bulletin.models"].Subscriber
app = Flask("subject-access-probe")
app.config["SQLALCHEMY_DATABASE_URI"] = sys.argv[1]
db.init_app(app)
with app.app_context():
    data = subject_access.export_subscriber(db.session.get(Subscriber, int(sys.argv[2])))
    db.engine.dispose()
after = sorted(m for m in sys.modules if m.startswith("bulletin"))
print(json.dumps({"data": data, "loaded": loaded, "after": after}))
"""


def a_subscriber_with_every_part(make_subscriber, make_issue):
    """A subscriber with a record in every part: consent, service mail, delivery, bounce."""
    reader = make_subscriber("sar-probe@example.org", name="Sara", topics=["workshops"])
    db.session.add(
        ConsentEvent(
            subscriber_id=reader.id,
            subject_uid=reader.uid,
            kind="signup",
            source="web:/subscribe",
            wording_version="2026-11-v1",
            language="en",
            details='{"topics": ["workshops"]}',
        )
    )
    db.session.add(
        OutboxMessage(
            kind="confirm",
            subscriber_id=reader.id,
            status="sent",
            recipient_hash=hash_address(reader.email),
            sent_at=utcnow(),
        )
    )
    send = Send(issue_id=make_issue().id, status=SendStatus.DONE)
    db.session.add(send)
    db.session.flush()
    delivery = Delivery(
        send_id=send.id,
        subscriber_id=reader.id,
        language="en",
        status="sent",
        sent_at=utcnow() - timedelta(hours=1),
    )
    db.session.add(delivery)
    db.session.flush()
    db.session.add(
        BounceEvent(
            subscriber_id=reader.id,
            delivery_id=delivery.id,
            kind="soft",
            status="4.2.2",
            diagnostic="mailbox full",
            source="smtp",
            action="counted",
        )
    )
    db.session.commit()
    return reader


def test_parts_are_listed_once_in_a_fixed_order():
    assert [key for key, _ in PARTS] == [
        "profile",
        "topics",
        "consent_events",
        "service_emails",
        "bulletin_deliveries",
        "bounces",
    ]
    assert len({part for _, part in PARTS}) == len(PARTS)


def test_export_has_every_part_with_only_subject_access_imported(
    app, database_url, make_subscriber, make_issue
):
    reader = a_subscriber_with_every_part(make_subscriber, make_issue)
    expected = json.loads(json.dumps(export_subscriber(reader)))
    assert list(expected) == [key for key, _ in PARTS]
    assert all(expected[key] for key in expected), expected  # every part has the record

    probe = subprocess.run(
        [sys.executable, "-c", PROBE, database_url, str(reader.id)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert probe.returncode == 0, probe.stderr
    result = json.loads(probe.stdout)
    assert result["data"] == expected
    assert result["after"] == result["loaded"]  # the export imported nothing more on the way
    assert "bulletin.core.subject_access" in result["loaded"]
