"""Rate limits (memory and Redis, across processes) and the subscription-bombing cap."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import func, select

from bulletin.extensions import db, limiter
from bulletin.mail.pseudonyms import hash_address
from bulletin.models import OutboxMessage, utcnow
from tests.conftest import config_for, csrf_token

REDIS = "redis://127.0.0.1:6379"
VICTIM = "victim@example.org"


@pytest.fixture
def key_prefix():
    """A Redis key prefix of this test's own, removed afterwards."""
    import redis

    prefix = f"bulletin-test-{uuid.uuid4().hex}"
    # Flask-Limiter keeps the first prefix it was given across init_app calls: clear it so
    # this test's app sets its own (and later apps theirs).
    limiter._key_prefix = ""
    yield prefix
    limiter._key_prefix = ""
    connection = redis.Redis.from_url(REDIS)
    for key in connection.scan_iter(f"*{prefix}*"):
        connection.delete(key)
    connection.close()


def post_from(client, path: str, ip: str, data: dict | None = None):
    """POST from an address; with a valid CSRF token unless the data has one (limits are
    checked by the view's decorator, after CSRF: a request without a token never reaches it)."""
    if data is None:
        data = {"csrf_token": csrf_token(client.get("/subscribe").text)}
    return client.post(path, data=data, environ_base={"REMOTE_ADDR": ip})


def test_sign_up_is_limited_per_address_in_memory(make_app):
    limiter._key_prefix = ""
    app = make_app(SUBSCRIBE_RATE_LIMIT="3 per minute", RATELIMIT_STORAGE_URI="memory://")
    client = app.test_client()
    codes = [post_from(client, "/subscribe", "198.51.100.1").status_code for _ in range(4)]
    assert codes == [400, 400, 400, 429]
    assert post_from(client, "/subscribe", "198.51.100.2").status_code == 400


def _hit_in_another_process(database_url: str, prefix: str, path: str, ip: str, times: int):
    script = textwrap.dedent(f"""
        from bulletin import create_app
        from tests.conftest import config_for, csrf_token
        app = create_app(config_for(DATABASE_URL={database_url!r}, RATELIMIT_STORAGE_URI={REDIS!r},
                                    RATELIMIT_KEY_PREFIX={prefix!r},
                                    SUBSCRIBE_RATE_LIMIT="3 per minute",
                                    LOGIN_RATE_LIMIT="3 per minute"))
        client = app.test_client()
        data = {{"csrf_token": csrf_token(client.get("/subscribe").text)}}
        for _ in range({times}):
            print(client.post({path!r}, data=data,
                              environ_base={{"REMOTE_ADDR": {ip!r}}}).status_code)
    """)
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    return [int(line) for line in done.stdout.split()]


@pytest.mark.parametrize("path", ["/subscribe", "/confirm/not-a-token", "/manage", "/editor/login"])
def test_limits_in_redis_hold_across_processes(make_app, database_url, key_prefix, path):
    elsewhere = _hit_in_another_process(database_url, key_prefix, path, "203.0.113.50", 2)
    assert 429 not in elsewhere
    app = make_app(
        RATELIMIT_STORAGE_URI=REDIS,
        RATELIMIT_KEY_PREFIX=key_prefix,
        SUBSCRIBE_RATE_LIMIT="3 per minute",
        LOGIN_RATE_LIMIT="3 per minute",
    )
    client = app.test_client()
    assert post_from(client, path, "203.0.113.50").status_code != 429
    assert post_from(client, path, "203.0.113.50").status_code == 429
    assert post_from(client, path, "203.0.113.51").status_code != 429


def test_api_is_rate_limited(make_app):
    limiter._key_prefix = ""
    app = make_app(API_RATE_LIMIT="2 per minute")
    client = app.test_client()
    codes = [
        client.get("/api/v1/workshops", environ_base={"REMOTE_ADDR": "192.0.2.9"}).status_code
        for _ in range(3)
    ]
    assert codes[-1] == 429 and 429 not in codes[:2]


@pytest.mark.slow
def test_subscription_bombing_sends_at_most_three_mails_a_day(
    make_app, smtp_server, run_worker_once
):
    from bulletin.core.defaults import ensure_defaults
    from tests.conftest import _empty_tables

    limiter._key_prefix = ""
    defaults = config_for()
    app = make_app(
        SMTP_URL=smtp_server.url,
        RATELIMIT_STORAGE_URI="memory://",
        SUBSCRIBE_RATE_LIMIT="10 per minute;60 per hour",
    )
    assert defaults["CONFIRMATIONS_PER_ADDRESS_PER_DAY"] == 3
    with app.app_context():
        _empty_tables()
        ensure_defaults()
    client = app.test_client()
    token = csrf_token(client.get("/subscribe").text)
    form = {
        "csrf_token": token,
        "email": VICTIM,
        "topics": ["news"],
        "region": "mid-wales",
        "language": "en",
        "consent": "y",
    }
    started = time.perf_counter()
    answers = set()
    for n in range(1000):
        ip = f"10.{n // 65536}.{n // 256 % 256}.{n % 256}"
        response = post_from(client, "/subscribe", ip, form)
        answers.add((response.status_code, response.headers.get("Location"), response.data))
    elapsed = time.perf_counter() - started
    print(f"\n1,000 sign-ups in {elapsed:.1f} s; distinct answers: {len(answers)}")
    assert len(answers) == 1 and next(iter(answers))[0] == 303

    with app.app_context():
        victim = hash_address(VICTIM)
        queued = db.session.scalar(
            select(func.count(OutboxMessage.id)).filter_by(recipient_hash=victim)
        )
        assert queued == 3
        run_worker_once(app, times=3)
    assert len(smtp_server.wait_for(3)) == 3
    assert len(smtp_server.to(VICTIM)) == 3

    # A day later the cap starts again: one more sign-up, one more mail.
    with time_machine.travel(utcnow() + timedelta(hours=25), tick=False):
        post_from(client, "/subscribe", "10.9.9.9", form)
    with app.app_context():
        assert (
            db.session.scalar(select(func.count(OutboxMessage.id)).filter_by(recipient_hash=victim))
            == 4
        )
