"""The claim costs the same at the end of a large send as at its start (PostgreSQL).

A claim used to scan every still-open delivery of the send and sort them, so a million
sends cost quadratic time. Here a 200,000-delivery send is materialised, nine tenths of it
is marked sent (dead tuples and all, with autovacuum off so none is cleaned away), and
the claim's own statement, captured as it runs, is explained with ANALYZE and BUFFERS at
the start and at the end: it must be a LIMIT over an index-ordered scan that reads about
a batch of rows and about as many pages both times.
"""

from __future__ import annotations

import pytest
from sqlalchemy import event, text

from bulletin.delivery.pipeline import ClaimCursor, claim_batch, start_due_sends
from bulletin.extensions import db
from bulletin.models import utcnow
from tests.support.delivery_helpers import configure, make_send

N = 200_000
BATCH = 100


def seed(n: int) -> None:
    db.session.execute(
        text(
            "INSERT INTO subscriber (uid, email, email_key, status, language, region, created_at,"
            " updated_at, confirmed_at) SELECT md5(i::text), 'c' || i || '@example.com',"
            " 'c' || i || '@example.com', 'confirmed', 'en', 'south-east-wales', :now, :now, :now"
            " FROM generate_series(1, :n) AS i"
        ),
        {"n": n, "now": utcnow()},
    )
    db.session.commit()


class Captured:
    """The claim's UPDATE ... RETURNING statements, as executed."""

    def __init__(self):
        self.statements: list[tuple[str, object]] = []

    def __call__(self, conn, cursor, statement, params, context, executemany):
        if (
            statement.lstrip().upper().startswith("UPDATE DELIVERY SET STATUS")
            and "claimed_by" in statement
            and "RETURNING" in statement.upper()
        ):
            self.statements.append((statement, params))


def explain(statement: str, params) -> dict:
    """EXPLAIN (ANALYZE, BUFFERS) of the claim, in a transaction that is rolled back."""
    with db.engine.connect() as conn:
        raw = conn.exec_driver_sql(
            "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, params
        ).scalar()
        conn.rollback()
    return raw[0]["Plan"]


def nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def claim_and_explain(settings, cursor: ClaimCursor) -> tuple[list, dict]:
    captured = Captured()
    event.listen(db.engine, "before_cursor_execute", captured)
    try:
        claimed = claim_batch("worker-a", settings, BATCH, cursor)
    finally:
        event.remove(db.engine, "before_cursor_execute", captured)
    statement, params = captured.statements[-1]
    return claimed, explain(statement, params)


def pages(plan: dict) -> int:
    return plan.get("Shared Hit Blocks", 0) + plan.get("Shared Read Blocks", 0)


def the_scan(limit: dict) -> dict:
    """The scan that finds the rows to claim: the one under the LIMIT."""
    scans = [n for n in nodes(limit) if n.get("Relation Name") == "delivery"]
    assert len(scans) == 1, [n["Node Type"] for n in nodes(limit)]
    return scans[0]


@pytest.mark.slow
def test_a_claim_reads_a_batch_at_the_end_of_a_large_send_as_at_its_start(app, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip(
            "the claim's plan is PostgreSQL's (SKIP LOCKED, index-ordered scan); "
            "SQLite has one writer and no planner statistics to go stale"
        )
    db.session.execute(text("ALTER TABLE delivery SET (autovacuum_enabled = false)"))
    db.session.commit()
    try:
        settings = configure(app, SEND_BATCH_SIZE=BATCH)
        seed(N)
        send = make_send()
        assert start_due_sends(settings) == [send.id]
        cursor = ClaimCursor()

        first, start_plan = claim_and_explain(settings, cursor)
        assert len(first) == BATCH

        # Nine tenths sent, as the worker would leave it: 180,000 dead tuples, no vacuum.
        cutoff = db.session.scalar(
            text("SELECT id FROM delivery ORDER BY id OFFSET :k LIMIT 1"), {"k": N * 9 // 10}
        )
        db.session.execute(
            text(
                "UPDATE delivery SET status = 'sent', sent_at = :now, "
                "claimed_by = NULL, claimed_until = NULL WHERE id < :cutoff"
            ),
            {"now": utcnow(), "cutoff": cutoff},
        )
        db.session.commit()
        cursor.after[send.id] = cutoff - 1  # where this worker's claims had got to
        late, end_plan = claim_and_explain(settings, cursor)
        assert len(late) == BATCH and min(r.delivery_id for r in late) == cutoff

        for plan in (start_plan, end_plan):
            limit = next(n for n in nodes(plan) if n["Node Type"] == "Limit")
            assert limit["Actual Rows"] == BATCH
            scan = the_scan(limit)
            # Ordered by the index and stopped at the LIMIT: no sort, no bitmap of the queue.
            assert scan["Node Type"] == "Index Scan", scan["Node Type"]
            # By id from the cursor: the queue's index or the primary key, as the planner likes.
            assert scan["Index Name"] in ("ix_delivery_due", "pk_delivery"), scan["Index Name"]
            assert not any(n["Node Type"] == "Sort" for n in nodes(plan))
            # The first batch (claimed a moment ago, now 'sending') is all it skips.
            assert scan["Actual Rows"] + scan.get("Rows Removed by Filter", 0) <= 2 * BATCH + 5
        # About the same pages at 90% sent as at the start (a scan of the queue read
        # thousands: 200,000 rows are some 2,000 heap pages and 600 index pages).
        assert pages(end_plan) <= 2 * pages(start_plan) + 50, (pages(start_plan), pages(end_plan))
    finally:
        db.session.rollback()
        db.session.execute(text("ALTER TABLE delivery RESET (autovacuum_enabled)"))
        db.session.commit()
