"""Hypothesis against the public forms: never a 500, and bad input writes nothing.

Run alone with: python -m pytest tests/test_security_fuzz.py -s  (prints how many inputs ran).
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bulletin.extensions import db
from bulletin.mail import tokens
from bulletin.models import (
    ConsentEvent,
    OutboxMessage,
    Subscriber,
    SubscriberStatus,
    subscriber_topic,
)
from tests.conftest import csrf_token

EXAMPLES = 200
READER = "fuzz-reader@example.org"
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
UNICODE = st.characters(blacklist_categories=("Cs",))  # lone surrogates cannot be sent
NASTY = st.sampled_from(
    [
        "",
        " ",
        "\r\n",
        "\x00",
        "a@b.co\r\nBcc: x@evil.example",
        "=cmd|' /C calc'!A0",
        "news",
        "workshops",
        "cy",
        "en",
        "mid-wales",
        "y",
        "on",
        "<script>alert(1)</script>",
        "%00",
        "../../etc/passwd",
        "ﬁ@example.org",
        "a@xn--bcher-kva.de",
        "\u202e",
        "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    ]
)
TEXT = st.one_of(
    st.text(UNICODE, max_size=300), NASTY, st.integers(255, 20_000).map(lambda n: "x" * n)
)
EMAIL = st.one_of(TEXT, st.emails().map(str), st.just("fuzz@example.org"))
LIST = st.lists(TEXT, max_size=5)
TOKEN = st.one_of(
    st.text(UNICODE, max_size=200),
    st.text("abcdefABC012-_.", max_size=120),
    st.integers(1000, 10_000).map(lambda n: "A" * n),
)
COUNTS: dict[str, int] = {}


def snapshot() -> tuple:
    """Row counts and every subscriber's state: what a bad request must leave alone."""
    db.session.expire_all()
    counts = tuple(
        db.session.scalar(select(func.count()).select_from(t))
        for t in (Subscriber, ConsentEvent, OutboxMessage, subscriber_topic)
    )
    people = tuple(
        db.session.execute(
            select(
                Subscriber.email,
                Subscriber.status,
                Subscriber.name,
                Subscriber.region,
                Subscriber.language,
            ).order_by(Subscriber.id)
        ).all()
    )
    return counts, people


def assert_consistent() -> None:
    """Every subscriber who came through a form has a consent trail."""
    orphans = db.session.scalar(
        select(func.count(Subscriber.id)).where(
            Subscriber.email != READER,  # made by the factory, not through a form
            ~select(ConsentEvent.id).where(ConsentEvent.subject_uid == Subscriber.uid).exists(),
        )
    )
    assert orphans == 0


def counted(name: str) -> None:
    COUNTS[name] = COUNTS.get(name, 0) + 1


def report() -> None:
    """Print how many inputs each form has taken so far (shown with -s)."""
    print("\nfuzz inputs: " + ", ".join(f"{k} {v}" for k, v in COUNTS.items()))


@pytest.fixture
def form_token(client, make_subscriber):
    make_subscriber(READER, topics=["news"])
    return csrf_token(client.get("/subscribe").text)


def test_fuzz_subscribe(client, form_token):
    @FUZZ
    @given(
        email=EMAIL,
        name=TEXT,
        topics=LIST,
        region=TEXT,
        language=TEXT,
        consent=TEXT,
        website=st.one_of(st.just(""), TEXT),
    )
    def run(email, name, topics, region, language, consent, website):
        counted("/subscribe")
        before = snapshot()
        response = client.post(
            "/subscribe",
            data={
                "csrf_token": form_token,
                "email": email,
                "name": name,
                "topics": topics,
                "region": region,
                "language": language,
                "consent": consent,
                "website": website,
            },
        )
        assert response.status_code in (303, 400), response.status_code
        if response.status_code == 400:
            assert snapshot() == before
        assert_consistent()

    run()
    report()


def test_fuzz_manage_preferences(client, form_token):
    reader = db.session.scalar(select(Subscriber).filter_by(email=READER))
    path = f"/manage/{tokens.make_manage_token(reader.uid)}"

    @FUZZ
    @given(name=TEXT, topics=LIST, region=TEXT, language=TEXT)
    def run(name, topics, region, language):
        counted("/manage/<token>")
        before = snapshot()
        response = client.post(
            path,
            data={
                "csrf_token": form_token,
                "name": name,
                "topics": topics,
                "region": region,
                "language": language,
            },
        )
        assert response.status_code in (200, 400), response.status_code
        if response.status_code == 400:
            assert snapshot() == before
        assert_consistent()

    run()
    report()


def test_fuzz_token_routes(client, form_token):
    reader = db.session.scalar(select(Subscriber).filter_by(email=READER))
    real = tokens.make_unsubscribe_token(reader.uid)

    @FUZZ
    @given(
        token=st.one_of(
            TOKEN,
            st.builds(
                lambda i, c: real[:i] + c + real[i + 1 :], st.integers(0, len(real) - 1), UNICODE
            ),
        ),
        route=st.sampled_from(["confirm", "manage", "unsubscribe", "manage-data", "manage-erase"]),
        method=st.sampled_from(["GET", "POST"]),
        extra=TEXT,
    )
    def run(token, route, method, extra):
        counted("/<route>/<token>")
        if token == real:
            return
        base, _, tail = route.partition("-")
        path = f"/{base}/{quote(token, safe='')}" + (f"/{tail}" if tail else "")
        before = snapshot()
        response = client.open(
            path,
            method=method,
            data={"csrf_token": form_token, "List-Unsubscribe": "One-Click", "name": extra},
        )
        assert response.status_code in (200, 308, 400, 404, 405, 410), (path, response.status_code)
        assert snapshot() == before
        db.session.expire_all()
        assert db.session.get(Subscriber, reader.id).status == SubscriberStatus.CONFIRMED

    run()
    report()


def test_fuzz_manage_link_request(client, form_token):
    @FUZZ
    @given(email=EMAIL)
    def run(email):
        counted("/manage")
        before = snapshot()
        response = client.post("/manage", data={"csrf_token": form_token, "email": email})
        assert response.status_code in (303, 400), response.status_code
        after = snapshot()
        assert after[1] == before[1] and after[0][:2] == before[0][:2]
        if response.status_code == 400:
            assert after == before

    run()
    report()
