"""The admin subscriber list at 100,000 subscribers, on PostgreSQL, through the Flask test client.

    python bench/subscriber_list.py [--subscribers 100000] [--repeat 5]
                                    [--database-url postgresql://postgres@127.0.0.1:5432/]

Creates a fresh database (dropped at the end), prepares it as `bulletin init` does (Alembic, so
the list's indexes and, where pg_trgm can be created, its trigram indexes are there), seeds the
subscribers with one INSERT ... SELECT generate_series (mixed statuses, languages, regions,
one to three topics each, sign-up dates over two years), ANALYZEs, then times each page
--repeat times as a signed-in admin and prints the median and worst milliseconds per request:

  first      /editor/subscribers/list                        newest 50, counts over everything
  filtered   ?status=confirmed&language=cy&region=mid-wales&topic=news&since=...
  deep       ?after=<id near the oldest>                     keyset: as cheap as the first page
  search     ?q=<part of an address>                         ILIKE '%x%' (trigram index on PG)
  name       ?q=<part of a name>
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import urllib.parse
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SEED = """
INSERT INTO subscriber (uid, email, email_key, name, status, language, region,
                        created_at, confirmed_at, updated_at)
SELECT md5('s' || n), 'reader' || n || '@example' || (n % 97) || '.org',
       'reader' || n || '@example' || (n % 97) || '.org',
       CASE WHEN n % 3 = 0 THEN NULL ELSE 'Reader ' || n END,
       (ARRAY['confirmed','confirmed','confirmed','pending','unsubscribed','cleaned'])[n % 6 + 1],
       CASE WHEN n % 4 = 0 THEN 'cy' ELSE 'en' END,
       (ARRAY['north-wales','mid-wales','south-west-wales','south-east-wales','outside-wales'])
           [n % 5 + 1],
       now() - make_interval(mins => (:count - n) * 10),
       now() - make_interval(mins => (:count - n) * 10),
       now()
FROM generate_series(1, :count) AS n
"""
TOPICS = """
INSERT INTO subscriber_topic (subscriber_id, topic_id)
SELECT s.id, t.id FROM subscriber s JOIN topic t ON (s.id + t.id) % 3 <> 0 OR t.position = 0
ON CONFLICT DO NOTHING
"""


def database(base: str, name: str, *, drop: bool = False) -> str:
    parts = urllib.parse.urlsplit(base)
    admin = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop:
            conn.execute(f'CREATE DATABASE "{name}"')
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def seed(count: int) -> None:
    from sqlalchemy import text

    from bulletin.extensions import db

    started = time.perf_counter()
    db.session.execute(text(SEED.replace(":count", str(int(count)))))
    db.session.execute(text(TOPICS))
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE subscriber"))
        conn.execute(text("ANALYZE subscriber_topic"))
    print(f"seeded {count:,} subscribers in {time.perf_counter() - started:.1f} s")


def admin_client(app):
    from bulletin.core.editors import hash_password
    from bulletin.core.sessions import open_session
    from bulletin.extensions import db
    from bulletin.models import Editor

    editor = Editor(
        email="bench@example.org", role="admin", name="Bench", password_hash=hash_password("x" * 20)
    )
    db.session.add(editor)
    db.session.flush()
    open_session(editor)
    db.session.commit()
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = editor.get_id()
        session["_fresh"] = True
    return client


def pages(count: int) -> dict[str, str]:
    from sqlalchemy import func, select

    from bulletin.extensions import db
    from bulletin.models import Subscriber

    oldest = db.session.scalar(select(func.min(Subscriber.id)))
    return {
        "first": "/editor/subscribers/list",
        "filtered": "/editor/subscribers/list?status=confirmed&language=cy&region=mid-wales"
        "&topic=news&since=2025-06-01",
        "deep": f"/editor/subscribers/list?after={oldest + 120}",
        "search": f"/editor/subscribers/list?q=reader{count // 2}",
        "name": "/editor/subscribers/list?q=der+4242",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/")
    args = parser.parse_args()

    from bulletin import create_app
    from bulletin.cli import prepare_database
    from bulletin.config import TestConfig
    from bulletin.extensions import db

    name = "bulletin_bench_subscriber_list"
    url = database(args.database_url, name)
    config = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    app = create_app({**config, "DATABASE_URL": url})
    try:
        with app.app_context():
            prepare_database()
            seed(args.subscribers)
            client = admin_client(app)
            for label, path in pages(args.subscribers).items():
                times = []
                for _ in range(args.repeat):
                    started = time.perf_counter()
                    response = client.get(path)
                    times.append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200, (path, response.status_code)
                rows = response.text.count('<a href="/editor/subscribers/')
                print(
                    f"{label:9} {statistics.median(times):7.1f} ms median "
                    f"{max(times):7.1f} ms worst  ({rows} rows)  {path}"
                )
            db.session.remove()
            db.engine.dispose()
    finally:
        database(args.database_url, name, drop=True)


if __name__ == "__main__":
    main()
