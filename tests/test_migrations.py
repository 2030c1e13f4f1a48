"""`bulletin db upgrade` on an empty database gives exactly the models' schema."""

from __future__ import annotations

import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.engine import make_url

from bulletin import create_app
from bulletin.extensions import db
from tests.conftest import config_for


def _postgres_database():
    """A fresh, empty PostgreSQL database next to the one CI gave us (or None)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        return None
    server = make_url(url.replace("postgresql://", "postgresql+psycopg://", 1)).set(
        database="postgres"
    )
    name = f"bulletin_migrations_{uuid.uuid4().hex[:8]}"
    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return engine, name, server.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    made = _postgres_database()
    if made is None:
        pytest.skip("PostgreSQL run only: set DATABASE_URL=postgresql://... (CI does)")
    engine, name, url = made
    yield url
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def include_object(obj, name, type_, reflected, compare_to):
    # The trigram indexes of b4e8d2f1a6c3 are PostgreSQL-only and not in the models.
    return not (type_ == "index" and reflected and (name or "").endswith("_trgm"))


def test_upgrade_gives_exactly_the_models_schema(empty_database):
    app = create_app(config_for(DATABASE_URL=empty_database))
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            opts = {"compare_type": True, "include_object": include_object}
            context = MigrationContext.configure(conn, opts=opts)
            differences = compare_metadata(context, db.metadata)
        assert differences == []
        tables = set(inspect(db.engine).get_table_names())
        assert set(db.metadata.tables) <= tables
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        db.engine.dispose()


# --- 3f6a2d8c1b7e: one mailbox, one subscriber ------------------------------------------


def _seed_case_duplicates(conn, hash_address) -> dict[str, int]:
    """Rows at 5b1e7c2a9d40 (no email_key): one mailbox in two spellings, five ways."""
    ids: dict[str, int] = {}
    day = lambda n: f"2026-0{n}-01 12:00:00"  # noqa: E731
    rows = [  # name, email, status, created, confirmed, unsubscribed, updated
        ("rhys_old", "Rhys.Evans@example.org", "confirmed", day(1), day(1), None, day(1)),
        ("rhys_new", "rhys.evans@example.org", "confirmed", day(2), day(2), None, day(2)),
        ("una_on", "Una@example.org", "confirmed", day(1), day(1), None, day(1)),
        ("una_off", "una@example.org", "unsubscribed", day(2), day(2), day(3), day(3)),
        ("cai_off", "Cai@example.org", "unsubscribed", day(1), day(1), day(2), day(2)),
        ("cai_back", "CAI@example.org", "confirmed", day(3), day(3), None, day(3)),
        ("dee_on", "Dee@example.org", "confirmed", day(3), day(3), None, day(3)),
        ("dee_gone", "dee@example.org", "cleaned", day(1), day(1), None, day(4)),
        ("eve_a", "Eve@example.org", "confirmed", day(1), day(1), None, day(1)),
        ("eve_b", "eve@example.org", "confirmed", day(2), day(2), None, day(2)),
        ("solo", "Solo@Example.org", "confirmed", day(1), day(1), None, day(1)),
    ]
    for number, (label, email, status, created, confirmed, left, updated) in enumerate(rows, 1):
        conn.execute(
            text(
                "INSERT INTO subscriber (id, uid, email, status, language, created_at,"
                " confirmed_at, unsubscribed_at, updated_at)"
                " VALUES (:id, :uid, :email, :status, 'en', :created, :confirmed, :left, :updated)"
            ),
            {
                "id": number,
                "uid": f"uid-{label}",
                "email": email,
                "status": status,
                "created": created,
                "confirmed": confirmed,
                "left": left,
                "updated": updated,
            },
        )
        conn.execute(
            text(
                "INSERT INTO consent_event (subscriber_id, subject_uid, kind, source, created_at)"
                " VALUES (:id, :uid, 'signup', 'web:/subscribe', :created)"
            ),
            {"id": number, "uid": f"uid-{label}", "created": created},
        )
        ids[label] = number
    conn.execute(
        text(
            "INSERT INTO topic (id, slug, name_en, name_cy, position, is_active) VALUES"
            " (1, 'news', 'News', 'Newyddion', 1, true),"
            " (2, 'workshops', 'Workshops', 'Gweithdai', 2, true)"
        )
    )
    conn.execute(
        text("INSERT INTO subscriber_topic VALUES (:old, 1), (:new, 2)"),
        {"old": ids["rhys_old"], "new": ids["rhys_new"]},
    )
    # Send 7 reached both copies (one sent, one still queued); send 8 only the old one.
    for number, (send_id, label, status) in enumerate(
        [(7, "rhys_old", "sent"), (7, "rhys_new", "queued"), (8, "rhys_old", "sent")], 1
    ):
        conn.execute(
            text(
                "INSERT INTO delivery (id, send_id, subscriber_id, status, language, attempts,"
                " next_attempt_at) VALUES (:id, :send, :sub, :status, 'en', 0, '2026-01-01')"
            ),
            {"id": number, "send": send_id, "sub": ids[label], "status": status},
        )
    conn.execute(
        text(
            "INSERT INTO bounce_event (created_at, subscriber_id, delivery_id, kind, source,"
            " action, is_sender_fault)"
            " VALUES ('2026-02-02', :sub, 2, 'soft', 'smtp', 'counted', false)"
        ),
        {"sub": ids["rhys_new"]},
    )
    conn.execute(
        text(
            "INSERT INTO outbox_message (kind, subscriber_id, recipient_hash, language, status,"
            " attempts, next_attempt_at, created_at) VALUES ('welcome', :sub, 'x', 'en', 'sent', 1,"
            " '2026-01-01', '2026-01-01')"
        ),
        {"sub": ids["rhys_old"]},
    )
    conn.execute(
        text(
            "INSERT INTO outbox_message (kind, subscriber_id, recipient_hash, language, status,"
            " attempts, next_attempt_at, created_at) VALUES ('welcome', :sub, 'y', 'en',"
            " 'pending', 0, '2026-01-01', '2026-01-01')"
        ),
        {"sub": ids["una_on"]},
    )
    # Una unsubscribed with one spelling; Eve complained about a message to either.
    for address, reason in (("una@example.org", "unsubscribed"), ("EVE@example.org", "complaint")):
        conn.execute(
            text("INSERT INTO suppression (address_hash, reason, created_at) VALUES (:h, :r, :t)"),
            {"h": hash_address(address), "r": reason, "t": "2026-03-03"},
        )
    return ids


def test_email_key_migration_merges_case_duplicates_without_losing_a_stop(empty_database):
    from sqlalchemy.exc import IntegrityError

    from bulletin.core.subscribers import find_by_email, find_by_uid
    from bulletin.mail.pseudonyms import hash_address
    from bulletin.models import ConsentEvent, Delivery, Subscriber, SubscriberStatus

    app = create_app(config_for(DATABASE_URL=empty_database))
    with app.app_context():
        upgrade(revision="5b1e7c2a9d40")
        with db.engine.begin() as conn:
            ids = _seed_case_duplicates(conn, hash_address)
        upgrade(revision="3f6a2d8c1b7e")
        assert db.session.scalar(select(func.count()).select_from(Subscriber)) == 6
        status = {s.email_key: s.status for s in db.session.scalars(select(Subscriber))}
        assert status == {
            "rhys.evans@example.org": SubscriberStatus.CONFIRMED,
            "una@example.org": SubscriberStatus.UNSUBSCRIBED,  # the later unsubscribe holds
            "cai@example.org": SubscriberStatus.CONFIRMED,  # confirmed again after leaving
            "dee@example.org": SubscriberStatus.CLEANED,  # bounced after the confirmation
            "eve@example.org": SubscriberStatus.UNSUBSCRIBED,  # the complaint's suppression
            "solo@example.org": SubscriberStatus.CONFIRMED,
        }
        rhys = find_by_email("RHYS.EVANS@EXAMPLE.ORG")
        assert rhys.id == ids["rhys_new"] and rhys.email == "rhys.evans@example.org"
        assert sorted(t.slug for t in rhys.topics) == ["news", "workshops"]
        deliveries = {
            d.send_id: d.status
            for d in db.session.scalars(select(Delivery).filter_by(subscriber_id=rhys.id))
        }
        assert deliveries == {7: "sent", 8: "sent"}  # one per send: the one that went
        trail = db.session.scalars(select(ConsentEvent.kind).filter_by(subject_uid=rhys.uid))
        assert sorted(trail) == ["signup", "signup"]
        # Columns, not the model: later revisions add columns this schema does not have yet.
        merged = db.session.scalar(
            select(ConsentEvent.subscriber_id).filter_by(kind="merged", subject_uid="uid-rhys_old")
        )
        assert merged == rhys.id
        assert find_by_uid("uid-rhys_old").id == rhys.id  # old links reach the kept row
        with db.engine.connect() as conn:
            moved = (
                conn.execute(
                    text(
                        "SELECT subscriber_id FROM outbox_message WHERE kind ="
                        " 'welcome' AND recipient_hash = 'x' UNION ALL "
                        "SELECT subscriber_id FROM bounce_event"
                    )
                )
                .scalars()
                .all()
            )
            assert moved == [rhys.id, rhys.id]
            queued = conn.execute(
                text("SELECT subscriber_id, status FROM outbox_message WHERE recipient_hash = 'y'")
            ).one()
            assert tuple(queued) == (ids["una_off"], "skipped")  # no welcome after unsubscribing
            assert conn.execute(text("SELECT delivery_id FROM bounce_event")).scalar() is None
        assert find_by_email("solo@example.org").email == "Solo@Example.org"
        with pytest.raises(IntegrityError), db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO subscriber (uid, email, email_key, status, language,"
                    " created_at, updated_at) VALUES ('u', 'SOLO@example.org',"
                    " 'solo@example.org', 'pending', 'en', '2026-01-01', '2026-01-01')"
                )
            )
        db.session.remove()
        downgrade(revision="5b1e7c2a9d40")
        assert "email_key" not in {c["name"] for c in inspect(db.engine).get_columns("subscriber")}
        db.engine.dispose()
