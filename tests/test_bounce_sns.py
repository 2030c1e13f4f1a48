"""What the SES webhook fetches: only SNS's own certificate, from SNS's own host, for our topics.

The certificate fetch is mocked in the webhook tests (SNS cannot be reached from here); the
fetcher itself is tested against a real HTTPS server on 127.0.0.1 signed by a test CA.
"""

from __future__ import annotations

import ssl
import threading
import urllib.error
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from bulletin.bounces.providers import sns as sns_module
from bulletin.bounces.providers.sns import SnsError, check_sns_url, http_get
from tests import test_bounce_webhooks
from tests.support.tlscerts import TestCA
from tests.test_bounce_webhooks import (
    CERT_URL,
    SUBSCRIBE_URL,
    TOPIC,
    counts,
    make_certificate,
    notification,
    post_sns,
    ses_bounce,
    signed,
)

sns = test_bounce_webhooks.sns  # the fixture: a fake fetcher that records what was fetched

BAD_URLS = [
    "https://sns.us-east-1.amazonaws.com.evil.org/SimpleNotificationService-1.pem",
    "https://evil.s3.amazonaws.com/SimpleNotificationService-1.pem",
    "https://sns.s3.amazonaws.com/SimpleNotificationService-1.pem",  # an S3 bucket named sns
    "https://sns.s3-external-1.amazonaws.com/SimpleNotificationService-1.pem",
    "https://sns.us-east-1.amazonaws.com:8443/SimpleNotificationService-1.pem",
    "https://sns.us-east-1.amazonaws.com:443/SimpleNotificationService-1.pem",
    "https://sns.us-east-1.amazonaws.com:x/SimpleNotificationService-1.pem",
    "https://user@sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
    "https://evil.org:pw@sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
    "https://evil.org\\@sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
    "https://sns.us-east-1.amazonaws.com./SimpleNotificationService-1.pem",
    "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
    "https://sns.evil.amazonaws.com/SimpleNotificationService-1.pem",
    "//sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
]


@pytest.fixture(scope="module")
def signing_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def confirmation(subscribe_url: str = SUBSCRIBE_URL, topic: str = TOPIC) -> dict:
    return {
        "Type": "SubscriptionConfirmation",
        "MessageId": "conf-1",
        "Token": "tok",
        "TopicArn": topic,
        "SubscribeURL": subscribe_url,
        "Message": "You have chosen to subscribe to the topic.",
        "Timestamp": "2025-03-03T09:00:00.000Z",
    }


@pytest.mark.parametrize(
    "message",
    [
        notification(ses_bounce("topic@example.com")),
        confirmation(),
    ],
)
def test_a_topic_outside_the_allowlist_fetches_nothing(client, sns, signing_key, message):
    other = signed(
        dict(message, TopicArn="arn:aws:sns:eu-west-2:999999999999:not-ours"), signing_key
    )
    assert post_sns(client, other).status_code == 403
    assert sns.fetched == [] and counts() == (0, 0)


@pytest.mark.parametrize("url", BAD_URLS)
def test_a_signing_certificate_off_the_sns_host_is_refused_unfetched(client, sns, signing_key, url):
    message = signed(notification(ses_bounce("host@example.com")), signing_key)
    message["SigningCertURL"] = url
    assert post_sns(client, message).status_code == 403
    assert sns.fetched == [] and counts() == (0, 0)


@pytest.mark.parametrize("url", BAD_URLS[:3] + BAD_URLS[7:9])
def test_a_subscribe_url_off_the_sns_host_is_not_fetched(client, sns, signing_key, url):
    response = post_sns(client, signed(confirmation(url), signing_key, "2"))
    assert response.status_code == 400 and response.json.get("status") != "confirmed"
    assert sns.fetched == [CERT_URL]  # the certificate, never the subscribe URL


@pytest.mark.parametrize(
    "url",
    [
        "https://sns.eu-west-2.amazonaws.com/SimpleNotificationService-abc.pem",
        "https://sns.us-gov-west-1.amazonaws.com/SimpleNotificationService-abc.pem",
        "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem",
    ],
)
def test_real_sns_hosts_are_accepted(url):
    assert check_sns_url(url) == url


def test_a_certificate_not_issued_to_sns_is_refused(client, app, sns, signing_key):
    forged = make_certificate(signing_key, common_name="sns.amazonaws.com.evil.org")
    app.extensions["bulletin.http_get"] = lambda url: forged
    message = signed(notification(ses_bounce("subject@example.com")), signing_key)
    response = post_sns(client, message)
    assert response.status_code == 403 and "not issued to SNS" in response.json["error"]
    assert len(app.extensions["bulletin.sns_certs"]) == 0 and counts() == (0, 0)


@pytest.mark.parametrize(
    "name",
    [
        "sns.amazonaws.com",
        "sns-signing.me-south-1.amazonaws.com",
        "sns-us-gov-west-1.amazonaws.com",
    ],
)
def test_the_names_sns_signs_with_are_accepted(client, app, sns, signing_key, name):
    issued = make_certificate(signing_key, common_name=name)
    app.extensions["bulletin.http_get"] = lambda url: issued
    message = signed(notification({"notificationType": "Open", "mail": {}}), signing_key)
    assert post_sns(client, message).status_code == 400  # verified, then not a bounce
    assert len(app.extensions["bulletin.sns_certs"]) == 1


def test_the_certificate_cache_keeps_the_most_recently_used(
    client, app, sns, signing_key, monkeypatch
):
    monkeypatch.setattr(sns_module, "CERT_CACHE_SIZE", 2)
    urls = [CERT_URL.replace("abc", name) for name in ("a1", "b2", "c3")]

    def post_with(url: str, n: int) -> None:
        message = signed(
            notification({"notificationType": "Open", "mail": {}}, message_id=f"cache-{n}"),
            signing_key,
        )
        message["SigningCertURL"] = url
        assert post_sns(client, message).status_code == 400  # verified, then not a bounce

    for n, url in enumerate(urls + [urls[2], urls[0]]):
        post_with(url, n)
    assert len(app.extensions["bulletin.sns_certs"]) == 2
    # a1 was dropped for c3 and fetched again; c3, still cached, was fetched once.
    assert sns.fetched == [urls[0], urls[1], urls[2], urls[0]]


# --- the fetcher itself, against a real HTTPS server --------------------------------------


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the http.server spelling
        self.server.paths.append(self.path)
        if self.path == "/moved.pem":
            self.send_response(302)
            self.send_header("Location", "/SimpleNotificationService-1.pem")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = b"-----BEGIN CERTIFICATE-----\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def https_server(tmp_path):
    """An HTTPS server on 127.0.0.1 (certificate from a test CA); .paths lists what was asked."""
    ca = TestCA(tmp_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.paths = []
    server.socket = ca.server_context("127.0.0.1").wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, ca
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def test_the_fetcher_refuses_redirects(https_server):
    server, ca = https_server
    base = f"https://127.0.0.1:{server.server_address[1]}"
    trusting = ssl.create_default_context(cafile=ca.ca_file)
    assert http_get(f"{base}/SimpleNotificationService-1.pem", context=trusting).startswith(
        b"-----BEGIN"
    )
    with pytest.raises(SnsError, match="redirect"):
        http_get(f"{base}/moved.pem", context=trusting)
    assert server.paths == ["/SimpleNotificationService-1.pem", "/moved.pem"]  # not followed


def test_the_fetcher_verifies_the_servers_certificate(https_server):
    server, _ = https_server
    with pytest.raises(urllib.error.URLError) as refused:
        http_get(f"https://127.0.0.1:{server.server_address[1]}/SimpleNotificationService-1.pem")
    assert isinstance(refused.value.reason, ssl.SSLCertVerificationError)
    assert server.paths == []
