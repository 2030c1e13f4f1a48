"""Behind a reverse proxy: whose address the rate limits and the consent trail see.

TRUSTED_PROXIES=0 (the default) believes no X-Forwarded-* header: the TCP peer is the
client. TRUSTED_PROXIES=N believes the last N hops of X-Forwarded-For (and X-Forwarded-Proto),
so each client behind the proxy has its own rate-limit budget and its own IP hash.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bulletin.extensions import db, limiter
from bulletin.mail.pseudonyms import hash_ip
from bulletin.models import ConsentEvent
from tests.conftest import csrf_token

PROXY = "127.0.0.1"  # the TCP peer every request comes from: the proxy


@pytest.fixture
def behind(app, make_app):
    """An app with TRUSTED_PROXIES=hops and a login limit of 2 a minute (after `app` made
    the tables and topics)."""

    def build(hops: int):
        limiter._key_prefix = ""
        return make_app(
            TRUSTED_PROXIES=hops, LOGIN_RATE_LIMIT="2 per minute", RATELIMIT_STORAGE_URI="memory://"
        )

    return build


def limited(client, forwarded_for: list[str]) -> list[bool]:
    """POST a login attempt once per X-Forwarded-For value; which ones were rate-limited."""
    token = csrf_token(client.get("/editor/login").text)
    return [
        client.post(
            "/editor/login",
            data={"csrf_token": token},
            headers={"X-Forwarded-For": chain},
            environ_base={"REMOTE_ADDR": PROXY},
        ).status_code
        == 429
        for chain in forwarded_for
    ]


def sign_up_ip_hash(client, email: str, forwarded_for: str) -> str:
    """Sign up through the proxy; the IP hash of the sign-up's consent event."""
    data = {
        "csrf_token": csrf_token(client.get("/subscribe").text),
        "email": email,
        "topics": ["workshops"],
        "region": "mid-wales",
        "language": "en",
        "consent": "y",
    }
    response = client.post(
        "/subscribe",
        data=data,
        headers={"X-Forwarded-For": forwarded_for},
        environ_base={"REMOTE_ADDR": PROXY},
    )
    assert response.status_code == 303
    db.session.expire_all()
    return db.session.scalars(select(ConsentEvent.ip_hash).order_by(ConsentEvent.id.desc())).first()


def test_without_trusted_proxies_forwarded_for_is_ignored(behind):
    client = behind(0).test_client()
    # Three "different" clients behind one peer share the peer's budget: the header is ignored.
    assert limited(client, ["192.0.2.1", "192.0.2.2", "192.0.2.3"]) == [False, False, True]
    assert sign_up_ip_hash(client, "zero@example.org", "192.0.2.4") == hash_ip(PROXY)


def test_one_trusted_proxy_gives_each_client_its_own_budget_and_hash(behind):
    client = behind(1).test_client()
    assert limited(client, ["192.0.2.10", "192.0.2.10", "192.0.2.10"]) == [False, False, True]
    assert limited(client, ["192.0.2.11", "192.0.2.11"]) == [False, False]
    first = sign_up_ip_hash(client, "one@example.org", "192.0.2.12")
    second = sign_up_ip_hash(client, "two@example.org", "192.0.2.13")
    assert (first, second) == (hash_ip("192.0.2.12"), hash_ip("192.0.2.13"))


def test_a_spoofed_chain_counts_only_the_hop_the_proxy_added(behind):
    client = behind(1).test_client()
    # The client wrote "evil-N"; the proxy appended the address it saw. Only that one counts,
    # so changing the spoofed part buys no fresh budget.
    chains = [f"198.51.100.{n}, 192.0.2.20" for n in range(3)]
    assert limited(client, chains) == [False, False, True]
    assert sign_up_ip_hash(client, "spoof@example.org", "198.51.100.9, 192.0.2.21") == hash_ip(
        "192.0.2.21"
    )


@pytest.mark.parametrize("hops, secure", [(0, False), (1, True)])
def test_forwarded_proto_counts_only_from_a_trusted_proxy(behind, hops, secure):
    client = behind(hops).test_client()
    response = client.get(
        "/subscribe", headers={"X-Forwarded-Proto": "https"}, environ_base={"REMOTE_ADDR": PROXY}
    )
    assert ("Strict-Transport-Security" in response.headers) is secure


def test_forms_work_over_https_behind_the_proxy_without_a_referer(behind):
    # Our Referrer-Policy is no-referrer, so browsers post forms without a Referer; once the
    # app knows it is on https, nothing may demand one.
    client = behind(1).test_client()
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "192.0.2.30"}
    page = client.get("/subscribe", headers=https, environ_base={"REMOTE_ADDR": PROXY})
    data = {
        "csrf_token": csrf_token(page.text),
        "email": "tls@example.org",
        "topics": ["workshops"],
        "region": "mid-wales",
        "language": "en",
        "consent": "y",
    }
    response = client.post(
        "/subscribe", data=data, headers=https, environ_base={"REMOTE_ADDR": PROXY}
    )
    assert response.status_code == 303


def test_a_negative_number_of_proxies_is_refused(make_app):
    with pytest.raises(RuntimeError, match="TRUSTED_PROXIES"):
        make_app(TRUSTED_PROXIES=-1)
