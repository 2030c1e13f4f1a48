"""Does /subscribe take the same time for new, pending, confirmed and unsubscribed addresses?

    python bench/subscribe_timing.py [--n 300] [--database-url URL] [--show-sql]

Seeds N addresses in each state, then posts the sign-up form through the whole Flask stack
(test client: routing, form, the verb, commit, redirect) once for each address, the four
cases taking turns so that machine noise falls on all of them alike. Each address is used
once, so each request meets exactly the state it is labelled with and stays under the daily
cap. Prints the median and 90th percentile per case and the largest difference between
medians. The tables are dropped and made again: use a scratch database for --database-url
(the default is a temporary SQLite file). --show-sql prints the statements one confirmed
sign-up runs.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from sqlalchemy import event  # noqa: E402

from bulletin import create_app  # noqa: E402
from bulletin.config import TestConfig  # noqa: E402
from bulletin.core.defaults import ensure_defaults  # noqa: E402
from bulletin.extensions import db  # noqa: E402
from bulletin.models import Subscriber, SubscriberStatus, Topic  # noqa: E402

STATES = {
    "new": None,
    "pending": SubscriberStatus.PENDING,
    "confirmed": SubscriberStatus.CONFIRMED,
    "unsubscribed": SubscriberStatus.UNSUBSCRIBED,
}


def make_app(database_url: str):
    config = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    # No CSRF round trip and no rate limit: the bench times the sign-up, not the guards.
    config.update(DATABASE_URL=database_url, WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False)
    return create_app(config)


def seed(n: int) -> None:
    db.drop_all()
    db.create_all()
    ensure_defaults()
    topics = list(db.session.query(Topic).filter(Topic.slug == "news"))
    for state, status in STATES.items():
        if status is None:
            continue
        for i in range(n):
            db.session.add(
                Subscriber(
                    email=f"{state}{i}@example.org",
                    status=status,
                    language="en",
                    region="north-wales",
                    topics=topics,
                )
            )
    db.session.commit()


def sign_up(client, address: str) -> float:
    data = {
        "email": address,
        "name": "Rhys",
        "topics": ["workshops"],
        "region": "mid-wales",
        "language": "en",
        "consent": "y",
    }
    started = time.perf_counter()
    response = client.post("/subscribe", data=data)
    elapsed = time.perf_counter() - started
    assert response.status_code == 303, response.status_code
    return elapsed * 1000


def show_sql(client) -> None:
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(re.sub(r"\s+", " ", statement).strip())

    event.listen(db.engine, "before_cursor_execute", record)
    sign_up(client, "confirmed-extra@example.org")
    event.remove(db.engine, "before_cursor_execute", record)
    for statement in statements:
        print("  ", statement[:150])


def run(n: int, database_url: str, sql: bool) -> None:
    app = make_app(database_url)
    with app.app_context():
        seed(n)
        db.session.add(
            Subscriber(email="confirmed-extra@example.org", status=SubscriberStatus.CONFIRMED)
        )
        db.session.commit()
        client = app.test_client()
        for i in range(20):  # warm up: caches, the connection pool, the JIT of the SQL cache
            sign_up(client, f"warm{i}@example.org")
        timings: dict[str, list[float]] = {state: [] for state in STATES}
        for i in range(n):
            for state in STATES:
                timings[state].append(sign_up(client, f"{state}{i}@example.org"))
        if sql:
            show_sql(client)
        dialect = db.engine.dialect.name
    print(f"{dialect}, {n} sign-ups per case")
    medians = {}
    for state, values in timings.items():
        medians[state] = statistics.median(values)
        p90 = statistics.quantiles(values, n=10)[-1]
        print(f"  {state:<13} median {medians[state]:6.2f} ms   p90 {p90:6.2f} ms")
    spread = max(medians.values()) - min(medians.values())
    print(f"  largest difference between medians: {spread:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--database-url")
    parser.add_argument("--show-sql", action="store_true")
    args = parser.parse_args()
    url = args.database_url or "sqlite:///" + str(Path(tempfile.mkdtemp()) / "bench.sqlite3")
    run(args.n, url, args.show_sql)


if __name__ == "__main__":
    main()
