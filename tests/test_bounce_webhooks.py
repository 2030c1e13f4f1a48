"""Provider webhooks: SES through signed SNS messages, and Postmark behind basic auth."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import func, select

from bulletin.bounces.providers.sns import canonical_string
from bulletin.extensions import db
from bulletin.mail import tokens
from bulletin.models import BounceEvent, ConsentEvent, InboundMessage, Suppression
from tests.support.bouncemail import BOUNCE_DOMAIN, arf, dsn, plain_mail, sent_delivery
from tests.support.slow_classifier import install_slow_pool, slow_message

TOPIC = "arn:aws:sns:eu-west-2:123456789012:ses-bounces"
CERT_URL = "https://sns.eu-west-2.amazonaws.com/SimpleNotificationService-abc.pem"
SUBSCRIBE_URL = (
    f"https://sns.eu-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token=tok"
)


def make_certificate(key, common_name: str = "sns.amazonaws.com") -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def signing_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def sns(app, signing_key):
    """Configure the app for SNS; .fetched lists the URLs the app fetched."""
    app.config.update(SES_TOPIC_ARNS=[TOPIC], BOUNCE_DOMAIN=BOUNCE_DOMAIN)
    pem = make_certificate(signing_key)

    class Fake:
        fetched: list[str] = []

        def __call__(self, url: str) -> bytes:
            self.fetched.append(url)
            return pem if url.endswith(".pem") else b"<ConfirmSubscriptionResponse/>"

    fake = Fake()
    app.extensions["bulletin.http_get"] = fake
    return fake


def signed(message: dict, key, version: str = "1") -> dict:
    message = {"SignatureVersion": version, "SigningCertURL": CERT_URL, **message}
    algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
    signature = key.sign(canonical_string(message), padding.PKCS1v15(), algorithm)
    message["Signature"] = base64.b64encode(signature).decode()
    return message


def notification(event: dict, message_id: str = "0b7e8a0c-1") -> dict:
    return {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": TOPIC,
        "Message": json.dumps(event),
        "Timestamp": "2025-03-03T09:00:00.000Z",
    }


def ses_bounce(address: str, bounce_type: str = "Permanent", source: str | None = None) -> dict:
    return {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": bounce_type,
            "bounceSubType": "General",
            "bouncedRecipients": [
                {
                    "emailAddress": address,
                    "action": "failed",
                    "status": "5.1.1" if bounce_type == "Permanent" else "4.4.7",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                }
            ],
        },
        "mail": {
            "source": source or "bulletin@example.org",
            "messageId": "ses-1",
            "destination": [address],
            "headers": [],
        },
    }


def post_sns(client, message: dict):
    # SNS posts JSON with Content-Type text/plain.
    return client.post("/webhooks/ses", data=json.dumps(message), content_type="text/plain")


def counts() -> tuple[int, int]:
    return (
        db.session.scalar(select(func.count(BounceEvent.id))),
        db.session.scalar(select(func.count(InboundMessage.id))),
    )


@pytest.mark.parametrize("version", ["1", "2"])
def test_signed_permanent_bounce_cleans_once(client, sns, signing_key, make_subscriber, version):
    reader = make_subscriber("ses-hard@example.com")
    message = signed(notification(ses_bounce(reader.email)), signing_key, version)
    assert post_sns(client, message).status_code == 200
    db.session.expire_all()
    assert reader.status == "cleaned"
    assert db.session.scalar(select(Suppression.reason)) == "bounced"
    assert CERT_URL in sns.fetched
    replay = post_sns(client, message)
    assert replay.status_code == 200 and replay.json["status"] == "duplicate"
    assert counts() == (1, 1)


def test_transient_bounce_is_soft_and_finds_the_delivery_by_token(
    client, sns, signing_key, make_subscriber
):
    reader = make_subscriber("ses-soft@example.com")
    source = f"bounces+{tokens.make_bounce_token('o77')}@{BOUNCE_DOMAIN}"  # no such row
    event = ses_bounce(reader.email, "Transient", source=source)
    assert post_sns(client, signed(notification(event), signing_key)).status_code == 200
    stored = db.session.scalar(select(BounceEvent))
    assert (stored.kind, stored.action, stored.source) == ("soft", "counted", "ses")
    db.session.expire_all()
    assert reader.status == "confirmed"


def test_complaint_unsubscribes(client, sns, signing_key, make_subscriber):
    reader = make_subscriber("ses-complaint@example.com")
    event = {
        "notificationType": "Complaint",
        "complaint": {
            "complainedRecipients": [{"emailAddress": reader.email}],
            "complaintFeedbackType": "abuse",
        },
        "mail": {"source": "bulletin@example.org", "headers": []},
    }
    assert post_sns(client, signed(notification(event), signing_key, "2")).status_code == 200
    db.session.expire_all()
    assert reader.status == "unsubscribed"
    assert db.session.scalar(select(Suppression.reason)) == "complaint"
    assert db.session.scalar(select(ConsentEvent.kind).filter_by(kind="complaint"))


def test_inbound_mail_to_the_mailto_address_unsubscribes(client, sns, signing_key, make_subscriber):
    reader = make_subscriber("ses-mailto@example.com")
    rcpt = f"unsubscribe+{tokens.make_mailto_token(reader.uid)}@{BOUNCE_DOMAIN}"
    raw = plain_mail(rcpt, sender=reader.email)
    event = {
        "notificationType": "Received",
        "receipt": {"recipients": [rcpt]},
        "mail": {"source": reader.email},
        "content": base64.b64encode(raw).decode(),
    }
    assert post_sns(client, signed(notification(event), signing_key)).status_code == 200
    db.session.expire_all()
    assert reader.status == "unsubscribed"
    assert db.session.scalar(select(ConsentEvent.source).filter_by(kind="unsubscribe")) == "mailto"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda m: m.update(Message=m["Message"].replace("Permanent", "Transient")),
        lambda m: m.update(Signature=base64.b64encode(b"x" * 256).decode()),
        lambda m: m.pop("Signature"),
        lambda m: m.update(SignatureVersion="3"),
        lambda m: m.update(SigningCertURL="https://evil.example.com/sns.pem"),
        lambda m: m.update(SigningCertURL=CERT_URL.replace("https", "http")),
    ],
)
def test_bad_signatures_are_refused_and_change_nothing(
    client, sns, signing_key, make_subscriber, tamper
):
    reader = make_subscriber("ses-forged@example.com")
    message = signed(notification(ses_bounce(reader.email)), signing_key)
    tamper(message)
    assert post_sns(client, message).status_code == 403
    db.session.expire_all()
    assert reader.status == "confirmed" and counts() == (0, 0)
    assert "https://evil.example.com/sns.pem" not in sns.fetched


def test_a_key_that_is_not_the_certificates_is_refused(client, sns, make_subscriber):
    reader = make_subscriber("ses-other-key@example.com")
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    message = signed(notification(ses_bounce(reader.email)), other, "2")
    assert post_sns(client, message).status_code == 403
    assert counts() == (0, 0)


def test_topics_outside_the_allowlist_are_refused(client, sns, signing_key, make_subscriber):
    reader = make_subscriber("ses-topic@example.com")
    message = notification(ses_bounce(reader.email))
    message["TopicArn"] = "arn:aws:sns:eu-west-2:999999999999:someone-else"
    assert post_sns(client, signed(message, signing_key)).status_code == 403
    assert counts() == (0, 0)


def test_unknown_payloads_are_refused(client, sns, signing_key):
    assert post_sns(client, {"hello": "world"}).status_code == 403
    assert client.post("/webhooks/ses", data="not json").status_code == 400
    opened = signed(notification({"notificationType": "Open", "mail": {}}), signing_key)
    assert post_sns(client, opened).status_code == 400
    assert counts() == (0, 0)


DEEP = "[" * 100_000


def test_deeply_nested_json_is_a_400_not_a_500(client, sns, signing_key, postmark):
    assert client.post("/webhooks/ses", data=DEEP, content_type="text/plain").status_code == 400
    assert (
        client.post(
            "/webhooks/postmark", data=DEEP, headers=postmark, content_type="application/json"
        ).status_code
        == 400
    )
    deep_event = signed(dict(notification({}), Message=DEEP), signing_key)
    assert post_sns(client, deep_event).status_code == 400
    assert counts() == (0, 0)


def test_subscription_confirmation_fetches_the_subscribe_url(client, sns, signing_key):
    message = signed(
        {
            "Type": "SubscriptionConfirmation",
            "MessageId": "conf-1",
            "Token": "tok",
            "TopicArn": TOPIC,
            "SubscribeURL": SUBSCRIBE_URL,
            "Message": "You have chosen to subscribe to the topic.",
            "Timestamp": "2025-03-03T09:00:00.000Z",
        },
        signing_key,
        "2",
    )
    response = post_sns(client, message)
    assert response.status_code == 200 and response.json["status"] == "confirmed"
    assert sns.fetched[-1] == SUBSCRIBE_URL
    forged = dict(message, SubscribeURL="https://attacker.example.net/confirm")
    assert post_sns(client, forged).status_code == 403  # the signature covers the URL
    assert "https://attacker.example.net/confirm" not in sns.fetched


# --- Postmark ----------------------------------------------------------------------------


@pytest.fixture
def postmark(app):
    app.config.update(
        POSTMARK_WEBHOOK_USER="postmark",
        POSTMARK_WEBHOOK_PASSWORD="hunter2!",
        BOUNCE_DOMAIN=BOUNCE_DOMAIN,
    )
    return {"Authorization": "Basic " + base64.b64encode(b"postmark:hunter2!").decode()}


def postmark_bounce(address: str, kind: str = "HardBounce", record_id: int = 4323372036) -> dict:
    return {
        "RecordType": "Bounce",
        "ID": record_id,
        "Type": kind,
        "TypeCode": 1,
        "Email": address,
        "Details": f"smtp;550 5.1.1 The email account {address} does not exist",
        "BouncedAt": "2025-03-03T09:00:00Z",
        "MessageStream": "outbound",
    }


def test_postmark_hard_bounce_with_good_auth_cleans_once(client, postmark, make_subscriber):
    reader = make_subscriber("pm-hard@example.com")
    payload = postmark_bounce(reader.email)
    assert client.post("/webhooks/postmark", json=payload, headers=postmark).status_code == 200
    db.session.expire_all()
    assert reader.status == "cleaned"
    event = db.session.scalar(select(BounceEvent))
    assert event.source == "postmark" and "pm-hard" not in event.diagnostic
    replay = client.post("/webhooks/postmark", json=payload, headers=postmark)
    assert replay.json["status"] == "duplicate" and counts() == (1, 1)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic " + base64.b64encode(b"postmark:wrong").decode()},
        {"Authorization": "Basic " + base64.b64encode(b"someone:hunter2!").decode()},
        {"Authorization": "Bearer hunter2!"},
    ],
)
def test_postmark_bad_auth_is_refused(client, postmark, make_subscriber, headers):
    reader = make_subscriber("pm-auth@example.com")
    response = client.post(
        "/webhooks/postmark", json=postmark_bounce(reader.email), headers=headers
    )
    assert response.status_code == 401 and "WWW-Authenticate" in response.headers
    db.session.expire_all()
    assert reader.status == "confirmed" and counts() == (0, 0)


def test_postmark_is_closed_until_configured(client, app, make_subscriber):
    reader = make_subscriber("pm-closed@example.com")
    headers = {"Authorization": "Basic " + base64.b64encode(b":").decode()}
    response = client.post(
        "/webhooks/postmark", json=postmark_bounce(reader.email), headers=headers
    )
    assert response.status_code == 401 and counts() == (0, 0)


def test_postmark_spam_complaint_unsubscribes(client, postmark, make_subscriber):
    reader = make_subscriber("pm-spam@example.com")
    payload = {
        "RecordType": "SpamComplaint",
        "ID": 42,
        "Type": "SpamComplaint",
        "TypeCode": 512,
        "Email": reader.email,
        "BouncedAt": "2025-03-03T09:00:00Z",
    }
    assert client.post("/webhooks/postmark", json=payload, headers=postmark).status_code == 200
    db.session.expire_all()
    assert reader.status == "unsubscribed"
    assert db.session.scalar(select(Suppression.reason)) == "complaint"


def test_postmark_soft_and_blocked_records(client, postmark, make_subscriber):
    reader = make_subscriber("pm-soft@example.com")
    for record_id, kind in ((1, "SoftBounce"), (2, "Blocked")):
        payload = postmark_bounce(reader.email, kind, record_id)
        assert client.post("/webhooks/postmark", json=payload, headers=postmark).status_code == 200
    rows = db.session.execute(
        select(BounceEvent.kind, BounceEvent.action, BounceEvent.is_sender_fault).order_by(
            BounceEvent.id
        )
    ).all()
    assert [tuple(r) for r in rows] == [("soft", "counted", False), ("hard", "alert", True)]
    db.session.expire_all()
    assert reader.status == "confirmed"


def test_postmark_inbound_mailto_unsubscribes(client, postmark, make_subscriber):
    reader = make_subscriber("pm-mailto@example.com")
    rcpt = f"unsubscribe+{tokens.make_mailto_token(reader.uid)}@{BOUNCE_DOMAIN}"
    payload = {
        "MessageID": "a8c1040e-inbound",
        "OriginalRecipient": rcpt,
        "ToFull": [{"Email": rcpt, "Name": ""}],
        "Subject": "anything",
        "TextBody": "please",
        "From": reader.email,
    }
    assert client.post("/webhooks/postmark", json=payload, headers=postmark).status_code == 200
    db.session.expire_all()
    assert reader.status == "unsubscribed"


def test_postmark_inbound_mail_is_classified_out_of_process_with_a_time_limit(
    app, client, postmark
):
    pool = install_slow_pool(app, workers=1, timeout=2)
    raw = base64.b64encode(slow_message()).decode()
    payload = {
        "MessageID": "slow-inbound",
        "OriginalRecipient": f"bounces@{BOUNCE_DOMAIN}",
        "RawEmail": raw,
    }
    assert client.post("/webhooks/postmark", json=payload, headers=postmark).status_code == 200
    event = db.session.scalar(select(BounceEvent))
    assert (event.kind, event.source) == ("unclassified", "postmark")
    before = counts()
    pool.close()  # no classifier to be had: the provider is asked to retry, nothing recorded
    retry = dict(payload, MessageID="another-inbound")
    assert client.post("/webhooks/postmark", json=retry, headers=postmark).status_code == 503
    assert counts() == before


def test_postmark_unknown_payload_is_refused(client, postmark):
    for payload in ({"RecordType": "Open", "ID": 3}, {"hello": "world"}):
        assert client.post("/webhooks/postmark", json=payload, headers=postmark).status_code == 400
    assert client.post("/webhooks/postmark", data="[1,2]", headers=postmark).status_code == 400
    assert counts() == (0, 0)


def test_webhooks_are_rate_limited(make_app, app):
    limited = make_app(WEBHOOK_RATE_LIMIT="2 per minute")
    client = limited.test_client()
    codes = [client.post("/webhooks/postmark", json={}).status_code for _ in range(3)]
    assert codes == [401, 401, 429]


# --- Proof: a provider vouches for its recipients; mail it relays proves nothing ---------


def test_ses_prefers_our_message_id_to_the_recipient_it_reports(
    client, sns, signing_key, make_subscriber
):
    sent_to, named = (
        make_subscriber("ses-sent-to@example.com"),
        make_subscriber("ses-named@example.com"),
    )
    delivery = sent_delivery(sent_to)
    event = ses_bounce(named.email)
    event["mail"]["headers"] = [
        {
            "name": "Message-ID",
            "value": tokens.message_id_maker(delivery.send_id, "example.org")(delivery.id),
        }
    ]
    assert post_sns(client, signed(notification(event), signing_key)).status_code == 200
    stored = db.session.scalar(select(BounceEvent))
    assert (stored.subscriber_id, stored.delivery_id) == (sent_to.id, delivery.id)
    db.session.expire_all()
    assert (sent_to.status, named.status) == ("cleaned", "confirmed")


def test_a_forged_dsn_relayed_by_ses_inbound_changes_nobody(
    client, sns, signing_key, make_subscriber
):
    reader = make_subscriber("ses-inbound-victim@example.com")
    rcpt = f"postmaster@{BOUNCE_DOMAIN}"
    event = {
        "notificationType": "Received",
        "receipt": {"recipients": [rcpt]},
        "mail": {"source": "attacker@example.net"},
        "content": base64.b64encode(dsn(reader.email, envelope_to=rcpt)).decode(),
    }
    assert post_sns(client, signed(notification(event), signing_key)).status_code == 200
    stored = db.session.scalar(select(BounceEvent))
    assert (stored.kind, stored.action, stored.subscriber_id) == ("hard", "unproven", None)
    db.session.expire_all()
    assert reader.status == "confirmed" and counts() == (1, 2)  # the notification, the mail
    assert db.session.scalar(select(func.count(Suppression.id))) == 0


def test_a_forged_arf_relayed_by_postmark_inbound_changes_nobody(client, postmark, make_subscriber):
    reader = make_subscriber("pm-inbound-victim@example.com")
    rcpt = f"abuse@{BOUNCE_DOMAIN}"
    raw = arf(reader.email, envelope_to=rcpt, message_id="<1.2.1741000000@example.org>")
    payload = {
        "MessageID": "b9d2-inbound",
        "OriginalRecipient": rcpt,
        "ToFull": [{"Email": rcpt, "Name": ""}],
        "Subject": "Abuse report",
        "RawEmail": base64.b64encode(raw).decode(),
    }
    assert client.post("/webhooks/postmark", json=payload, headers=postmark).status_code == 200
    stored = db.session.scalar(select(BounceEvent))
    assert (stored.kind, stored.action, stored.subscriber_id) == ("complaint", "unproven", None)
    db.session.expire_all()
    assert reader.status == "confirmed"
    assert db.session.scalar(select(func.count(Suppression.id))) == 0
