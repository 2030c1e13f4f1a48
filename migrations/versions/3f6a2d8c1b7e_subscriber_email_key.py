"""subscriber.email_key: one mailbox is one subscriber; case-duplicates merged

Adds the address key (bulletin.core.addresses: the typed address with the local part
lower-cased too), fills it, merges the rows whose keys collide, then makes it unique.

Merging keeps the row with the latest consent (its spelling, name, language and region),
gives it every copy's topics and moves every child row to it: consent events, outbox mail
(what was still queued for a dropped copy is skipped), bounce events, deliveries (one per
send: the one that got furthest), audit entries. Each
dropped copy leaves a "merged" consent event under its own uid, pointing at the kept row,
so the links in mail sent to that copy (unsubscribe, manage) still reach the reader.

Never loses a stop: the merged row is confirmed only if some copy's confirmation is later
than every copy's unsubscribe or cleaning, and no suppression entry holds the address;
otherwise it is unsubscribed or cleaned (or pending, if a sign-up came after the stop).

Downgrade drops the column; the merge is not undone.

Revision ID: 3f6a2d8c1b7e
Revises: 5b1e7c2a9d40
Create Date: 2026-12-05 04:30:00.000000

"""

import hashlib
import hmac
import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from email_validator import EmailNotValidError, validate_email

# revision identifiers, used by Alembic.
revision = "3f6a2d8c1b7e"
down_revision = "5b1e7c2a9d40"
branch_labels = None
depends_on = None

CONFIRMED, PENDING, UNSUBSCRIBED, CLEANED = "confirmed", "pending", "unsubscribed", "cleaned"
CONSENT_KINDS = ("signup", "confirm", "preferences", "import")
#: Which of two deliveries of one send to keep: the one that got furthest.
DELIVERY_RANK = {"sent": 0, "sending": 1, "failed": 2, "queued": 3, "skipped": 4}
NEVER = datetime.min

subscriber = sa.table(
    "subscriber",
    sa.column("id", sa.Integer),
    sa.column("uid", sa.String),
    sa.column("email", sa.String),
    sa.column("email_key", sa.String),
    sa.column("name", sa.String),
    sa.column("status", sa.String),
    sa.column("language", sa.String),
    sa.column("created_at", sa.DateTime),
    sa.column("confirmed_at", sa.DateTime),
    sa.column("unsubscribed_at", sa.DateTime),
    sa.column("updated_at", sa.DateTime),
)
consent_event = sa.table(
    "consent_event",
    sa.column("id", sa.Integer),
    sa.column("subscriber_id", sa.Integer),
    sa.column("subject_uid", sa.String),
    sa.column("kind", sa.String),
    sa.column("language", sa.String),
    sa.column("source", sa.String),
    sa.column("details", sa.Text),
    sa.column("created_at", sa.DateTime),
)
subscriber_topic = sa.table(
    "subscriber_topic", sa.column("subscriber_id", sa.Integer), sa.column("topic_id", sa.Integer)
)
delivery = sa.table(
    "delivery",
    sa.column("id", sa.Integer),
    sa.column("send_id", sa.Integer),
    sa.column("subscriber_id", sa.Integer),
    sa.column("status", sa.String),
)
bounce_event = sa.table(
    "bounce_event", sa.column("subscriber_id", sa.Integer), sa.column("delivery_id", sa.Integer)
)
outbox_message = sa.table(
    "outbox_message",
    sa.column("subscriber_id", sa.Integer),
    sa.column("status", sa.String),
    sa.column("last_error", sa.Text),
)
audit_log = sa.table(
    "audit_log", sa.column("target_type", sa.String), sa.column("target_id", sa.Integer)
)
suppression = sa.table(
    "suppression", sa.column("address_hash", sa.String), sa.column("reason", sa.String)
)


def upgrade():
    op.add_column(
        "subscriber",
        sa.Column("email_key", sa.String(length=320), nullable=False, server_default=""),
    )
    bind = op.get_bind()
    keys = {
        row.id: _address_key(row.email)
        for row in bind.execute(sa.select(subscriber.c.id, subscriber.c.email))
    }
    if keys:
        bind.execute(
            subscriber.update()
            .where(subscriber.c.id == sa.bindparam("row_id"))
            .values(email_key=sa.bindparam("key")),
            [{"row_id": i, "key": k} for i, k in keys.items()],
        )
    groups: dict[str, list[int]] = {}
    for row_id, key in keys.items():
        groups.setdefault(key, []).append(row_id)
    hash_of = _key_hasher()
    for key, ids in groups.items():
        if len(ids) > 1:
            _merge(bind, ids, hash_of(key) if hash_of else None)
    if bind.dialect.name != "sqlite":  # SQLite cannot drop a default without a new table
        op.alter_column("subscriber", "email_key", server_default=None)
    with op.batch_alter_table("subscriber", schema=None) as batch_op:
        batch_op.create_index("ix_subscriber_email_key", ["email_key"], unique=True)


def downgrade():
    with op.batch_alter_table("subscriber", schema=None) as batch_op:
        batch_op.drop_index("ix_subscriber_email_key")
    op.drop_column("subscriber", "email_key")


def _address_key(email: str) -> str:
    # bulletin.core.addresses.address_key as of this revision (migrations never import the
    # app, whose rule may change later): the typed form, lower-cased whole; text that is not
    # a valid address is only stripped and lower-cased.
    text = email.strip()
    local, at, domain = text.rpartition("@")
    try:
        if not at:
            return text.lower()
        local_part = validate_email(f"{local}@a.co", check_deliverability=False).local_part
        result = validate_email(f"a@{domain}", check_deliverability=False)
    except EmailNotValidError:
        return text.lower()
    typed = f"{local_part}@{(result.ascii_domain or result.domain).lower()}"
    return typed.lower() if len(typed) <= 254 else text.lower()


def _key_hasher():
    # bulletin.mail.pseudonyms.key_hasher: suppression entries hold HMACs of address keys.
    try:
        from flask import current_app

        config = current_app.config
    except (ImportError, RuntimeError):
        return None  # run outside the app: no suppression can be recognised
    if config.get("HASH_KEY"):
        secret = config["HASH_KEY"].encode()
    else:
        secret = hashlib.sha256(b"bulletin-hash-key:" + config["SECRET_KEYS"][0].encode()).digest()
    return lambda key: hmac.digest(secret, key.encode(), "sha256").hex()


def _merge(bind, ids: list[int], digest: str | None) -> None:
    rows = bind.execute(sa.select(subscriber).where(subscriber.c.id.in_(ids))).all()
    consented = dict(
        bind.execute(
            sa.select(consent_event.c.subscriber_id, sa.func.max(consent_event.c.created_at))
            .where(consent_event.c.subscriber_id.in_(ids), consent_event.c.kind.in_(CONSENT_KINDS))
            .group_by(consent_event.c.subscriber_id)
        ).all()
    )

    def consent_at(row) -> datetime:
        return max(
            t
            for t in (consented.get(row.id), row.confirmed_at, row.created_at, NEVER)
            if t is not None
        )

    rows.sort(key=lambda row: (consent_at(row), row.id), reverse=True)
    kept, dropped = rows[0], rows[1:]
    reason = digest and bind.scalar(
        sa.select(suppression.c.reason).where(suppression.c.address_hash == digest)
    )
    state = _merged_state(rows, consent_at, reason)
    name = next((row.name for row in rows if row.name), None)
    bind.execute(
        subscriber.update()
        .where(subscriber.c.id == kept.id)
        .values(name=name, updated_at=datetime.now(UTC).replace(tzinfo=None), **state)
    )
    for row in dropped:
        _move_children(bind, row, kept, state["status"])


def _merged_state(rows, consent_at, reason: str | None) -> dict:
    """The status (and its dates) of the merged row: never mailable after any stop."""
    confirmed = max(
        (r.confirmed_at for r in rows if r.status == CONFIRMED and r.confirmed_at), default=None
    )
    stops = [
        ((r.unsubscribed_at or r.updated_at or NEVER), r.status)
        for r in rows
        if r.status in (UNSUBSCRIBED, CLEANED)
    ]
    last_stop = max(stops, default=(None, None))
    signed_up = max((consent_at(r) for r in rows if r.status == PENDING), default=None)
    if reason is not None:  # a suppression entry holds the address: mail to it is stopped
        status = CLEANED if reason == "bounced" else UNSUBSCRIBED
    elif confirmed is not None and (last_stop[0] is None or confirmed > last_stop[0]):
        status = CONFIRMED
    elif signed_up is not None and (last_stop[0] is None or signed_up > last_stop[0]):
        status = PENDING
    else:
        status = last_stop[1] or PENDING
    unsubscribed = max((r.unsubscribed_at for r in rows if r.unsubscribed_at), default=None)
    return {
        "status": status,
        "confirmed_at": max((r.confirmed_at for r in rows if r.confirmed_at), default=None),
        "unsubscribed_at": None if status == CONFIRMED else unsubscribed,
    }


def _move_children(bind, row, kept, status: str) -> None:
    _move_deliveries(bind, row.id, kept.id)
    bind.execute(
        consent_event.update()
        .where(
            sa.or_(consent_event.c.subscriber_id == row.id, consent_event.c.subject_uid == row.uid)
        )
        .values(subscriber_id=kept.id, subject_uid=kept.uid)
    )
    have = set(
        bind.scalars(
            sa.select(subscriber_topic.c.topic_id).where(
                subscriber_topic.c.subscriber_id == kept.id
            )
        )
    )
    extra = (
        set(
            bind.scalars(
                sa.select(subscriber_topic.c.topic_id).where(
                    subscriber_topic.c.subscriber_id == row.id
                )
            )
        )
        - have
    )
    bind.execute(subscriber_topic.delete().where(subscriber_topic.c.subscriber_id == row.id))
    if extra:
        bind.execute(
            subscriber_topic.insert(),
            [{"subscriber_id": kept.id, "topic_id": t} for t in sorted(extra)],
        )
    # Mail still queued for a dropped copy (a confirmation, a welcome) was for the old state.
    bind.execute(
        outbox_message.update()
        .where(outbox_message.c.subscriber_id == row.id, outbox_message.c.status == "pending")
        .values(status="skipped", last_error="merged into another spelling")
    )
    for table in (outbox_message, bounce_event):
        bind.execute(
            table.update().where(table.c.subscriber_id == row.id).values(subscriber_id=kept.id)
        )
    bind.execute(
        audit_log.update()
        .where(audit_log.c.target_type == "subscriber", audit_log.c.target_id == row.id)
        .values(target_id=kept.id)
    )
    # Under the dropped copy's uid, so its tokens find the kept row (find_by_uid).
    bind.execute(
        consent_event.insert().values(
            subscriber_id=kept.id,
            subject_uid=row.uid,
            kind="merged",
            language=kept.language,
            source=f"migration:{revision}",
            created_at=datetime.now(UTC).replace(tzinfo=None),
            details=json.dumps(
                {"into": kept.uid, "status": status, "reason": "same address, other letter case"},
                sort_keys=True,
            ),
        )
    )
    bind.execute(subscriber.delete().where(subscriber.c.id == row.id))


def _move_deliveries(bind, dropped_id: int, kept_id: int) -> None:
    # UNIQUE (send_id, subscriber_id): where both copies had a send, keep one delivery.
    pairs = bind.execute(
        sa.select(
            delivery.c.send_id, delivery.c.id, delivery.c.status, delivery.c.subscriber_id
        ).where(delivery.c.subscriber_id.in_((dropped_id, kept_id)))
    ).all()
    by_send: dict[int, list] = {}
    for pair in pairs:
        by_send.setdefault(pair.send_id, []).append(pair)
    losers = []
    for both in (rows for rows in by_send.values() if len(rows) == 2):
        both.sort(key=lambda d: (DELIVERY_RANK.get(d.status, 9), d.subscriber_id != kept_id))
        losers.append(both[1].id)
    if losers:
        bind.execute(
            bounce_event.update()
            .where(bounce_event.c.delivery_id.in_(losers))
            .values(delivery_id=None)
        )
        bind.execute(delivery.delete().where(delivery.c.id.in_(losers)))
    bind.execute(
        delivery.update()
        .where(delivery.c.subscriber_id == dropped_id)
        .values(subscriber_id=kept_id)
    )
