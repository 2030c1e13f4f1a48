"""Bulk messages: encoded once, personalised by substitution, parse and round-trip."""

from __future__ import annotations

import base64
import email
import email.policy
import re
from email.header import decode_header, make_header
from email.utils import parsedate_to_datetime

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bulletin.mail.dkim import make_signer
from bulletin.mail.messages import MessageTemplate, Personal, qp_url
from bulletin.mail.rendering import MANAGE_PLACEHOLDER, UNSUBSCRIBE_PLACEHOLDER, RenderedEmail
from bulletin.mail.settings import DeliverySettings
from bulletin.models import Subscriber, SubscriberStatus

WELSH = "Gweithdy ŵ ŷ â ô: cyfle i gymryd rhan mewn ymchwil iechyd a gofal cymdeithasol"
TEXT = (
    f"{WELSH}\n\n" + "Llinell hir iawn " * 20 + "\n\n"
    f"Dad-danysgrifio: {UNSUBSCRIBE_PLACEHOLDER}\nRheoli: {MANAGE_PLACEHOLDER}\n"
    "Diwedd y neges.  \n"
)
HTML = (
    f'<html lang="cy"><body><p>{WELSH}</p><p>' + "Testun " * 40 + "</p>"
    f'<p><a href="{UNSUBSCRIBE_PLACEHOLDER}">Dad-danysgrifio</a> '
    f'<a href="{MANAGE_PLACEHOLDER}">Rheoli</a></p></body></html>\n'
)
RENDERED = RenderedEmail(subject=f"Bwletin: {WELSH}", text=TEXT, html=HTML, language="cy")
SELECTOR, DOMAIN = "sel", "example.org"


def parse(raw: bytes):
    return email.parser.BytesParser(policy=email.policy.default).parsebytes(raw)


@pytest.fixture
def dkim_key(tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "dkim.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    txt = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)

    def dnsfunc(name, timeout=5):
        return txt if name == f"{SELECTOR}._domainkey.{DOMAIN}.".encode() else None

    return path, dnsfunc


def template_for(app, **overrides) -> MessageTemplate:
    app.config.update(overrides)
    settings = DeliverySettings.from_app(app)
    return MessageTemplate(
        RENDERED,
        settings,
        send_id=7,
        archive_url="http://localhost/archive/1",
        sign=make_signer(settings),
    )


def test_personalised_message_parses_and_round_trips(app, make_subscriber):
    reader = make_subscriber("darllenydd@example.com", name="Siôn Ŵyn", language="cy")
    built = template_for(app, BOUNCE_DOMAIN="bounces.example.org").personalise(
        Personal(11, reader.uid, reader.email, reader.name)
    )
    raw = built.message
    assert b"\r" not in raw.replace(b"\r\n", b"") and b"\n" not in raw.replace(b"\r\n", b"")
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    head, body = raw.split(b"\r\n\r\n", 1)
    assert head.isascii()
    assert max(len(line) for line in body.split(b"\r\n")) <= 76
    message = parse(raw)
    for name in (
        "Date",
        "From",
        "Message-ID",
        "To",
        "Subject",
        "List-Unsubscribe",
        "List-Unsubscribe-Post",
        "List-Id",
        "List-Help",
    ):
        assert len(message.get_all(name)) == 1, name
    assert parsedate_to_datetime(message["Date"]).tzinfo is not None
    assert re.match(r"^<[^<>@\s]+@example\.org>$", message["Message-ID"])
    assert str(make_header(decode_header(message["Subject"]))) == RENDERED.subject
    assert message["To"].addresses[0].display_name == "Siôn Ŵyn"
    assert message["To"].addresses[0].addr_spec == reader.email
    assert "Return-Path" not in message
    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in parts)
    assert all(p["Content-Language"] == "cy" for p in parts)
    unsubscribe = f"http://localhost/unsubscribe/{_token(message)}"
    manage_prefix = "http://localhost/manage/"
    text = parts[0].get_content().replace("\r\n", "\n")  # CRLF on the wire
    assert (
        text.replace(unsubscribe, UNSUBSCRIBE_PLACEHOLDER).split(manage_prefix)[0]
        == TEXT.split(MANAGE_PLACEHOLDER)[0]
    )
    assert text.endswith("Diwedd y neges.  \n")
    assert f'href="{unsubscribe}"' in parts[1].get_content()
    assert WELSH in parts[1].get_content()
    assert built.sender.startswith("bounces+") and built.sender.endswith("@bounces.example.org")


def _token(message) -> str:
    urls = re.findall(r"<([^>]+)>", message["List-Unsubscribe"])
    https = [u for u in urls if u.startswith("http")]
    assert len(https) == 1
    return https[0].rsplit("/", 1)[1]


def test_list_headers_follow_the_standards(app, make_subscriber):
    reader = make_subscriber()
    raw = (
        template_for(app, BOUNCE_DOMAIN="bounces.example.org")
        .personalise(Personal(3, reader.uid, reader.email))
        .message
    )
    message = parse(raw)
    value = message["List-Unsubscribe"]
    urls = re.findall(r"<([^>]+)>", value)
    assert [u.split(":")[0] for u in urls] == ["http", "mailto"]
    assert re.sub(r"<[^>]+>", "", value).replace(",", "").strip() == ""
    assert reader.email not in value and "example.com" not in value
    assert message.get_all("List-Unsubscribe-Post") == ["List-Unsubscribe=One-Click"]
    assert message["List-Id"].endswith("<bulletin.example.org>")
    assert (
        message["List-Help"].startswith("<http")
        and message["List-Archive"] == "<http://localhost/archive/1>"
    )
    line = [x for x in raw.split(b"\r\n") if x.startswith(b"List-Unsubscribe:")][0]
    assert b"<http://localhost/unsubscribe/" in line and line.rstrip(b",").endswith(b">")


def test_message_ids_are_unique_and_envelopes_distinct(app, make_subscriber):
    reader = make_subscriber()
    template = template_for(app, BOUNCE_DOMAIN="bounces.example.org")
    built = [template.personalise(Personal(i, reader.uid, reader.email)) for i in range(2000)]
    ids = {parse(b.message.split(b"\r\n\r\n")[0] + b"\r\n\r\n")["Message-ID"] for b in built}
    assert len(ids) == 2000
    assert len({b.sender for b in built}) == 2000


def test_one_click_url_unsubscribes_that_subscriber_only(app, client, make_subscriber):
    reader, other = make_subscriber(), make_subscriber()
    message = parse(template_for(app).personalise(Personal(1, reader.uid, reader.email)).message)
    path = "/unsubscribe/" + _token(message)
    response = client.post(
        path,
        data={"List-Unsubscribe": "One-Click"},
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code in (200, 202) and "Location" not in response.headers
    from bulletin.extensions import db

    db.session.expire_all()
    assert db.session.get(Subscriber, reader.id).status == SubscriberStatus.UNSUBSCRIBED
    assert db.session.get(Subscriber, other.id).status == SubscriberStatus.CONFIRMED


def test_dkim_signature_verifies_and_breaks_on_tampering(app, make_subscriber, dkim_key):
    path, dnsfunc = dkim_key
    reader = make_subscriber()
    raw = (
        template_for(
            app, DKIM_SELECTOR=SELECTOR, DKIM_DOMAIN=DOMAIN, DKIM_PRIVATE_KEY_PATH=str(path)
        )
        .personalise(Personal(5, reader.uid, reader.email))
        .message
    )
    assert dkim.verify(raw, dnsfunc=dnsfunc)
    tags = dkim.util.parse_tag_value(
        parse(raw)["DKIM-Signature"].encode().replace(b"\r\n", b"").replace(b" ", b"")
    )
    assert tags[b"a"] == b"rsa-sha256" and tags[b"c"] == b"relaxed/relaxed" and b"l" not in tags
    signed = tags[b"h"].lower().split(b":")
    assert set(signed) >= {
        b"from",
        b"to",
        b"subject",
        b"date",
        b"message-id",
        b"mime-version",
        b"content-type",
        b"list-id",
        b"list-help",
        b"list-unsubscribe",
        b"list-unsubscribe-post",
    }
    assert signed.count(b"list-unsubscribe") == 2 and signed.count(b"subject") == 2
    assert b"return-path" not in signed and b"received" not in signed
    assert not dkim.verify(raw.replace(b"Diwedd y neges", b"Diwedd y neges!"), dnsfunc=dnsfunc)
    assert not dkim.verify(raw.replace(b"/unsubscribe/", b"/unsubscribf/"), dnsfunc=dnsfunc)
    sig_end = raw.index(b"\r\nFrom:") + 2
    for extra in (b"Subject: other\r\n", b"List-Unsubscribe: <https://evil.example/>\r\n"):
        assert not dkim.verify(raw[:sig_end] + extra + raw[sig_end:], dnsfunc=dnsfunc)


def test_qp_url_keeps_lines_short_and_escapes_equals():
    url = "https://example.org/x?" + "a=b&" * 40
    encoded = qp_url(url)
    assert all(len(line) <= 76 for line in encoded.split(b"\r\n"))
    import quopri

    assert quopri.decodestring(encoded).decode() == url
    dotted = "https://example.org/u/" + "a" * 50 + ".b" + "c" * 70 + "=."
    encoded = qp_url(dotted)
    lines = encoded.split(b"\r\n")
    assert lines[1].startswith(b"=2E") and lines[2].startswith(b"=3D.")
    assert not any(line.startswith(b".") for line in lines)
    assert quopri.decodestring(encoded).decode() == dotted
    for length in range(60, 160):  # the closing soft break must fit on the last line too
        url = "https://example.org/?a=" + ".b" * (length // 2)
        encoded = qp_url(url)
        assert all(len(line) <= 76 for line in encoded.split(b"\r\n")), length
        assert not any(line.startswith(b".") for line in encoded.split(b"\r\n"))
        assert quopri.decodestring(encoded).decode() == url


def test_no_line_starts_with_a_dot_so_no_dot_stuffing_is_needed(app, make_subscriber):
    # Sentences ending at the 74th column put a '.' at the start of the next QP line; it is
    # written '=2E' so the SMTP client never has to stuff the message (nor copy it to).
    dotty = "".join(f"{'x' * n}. Next sentence.\n.leading dot\n..\n" for n in range(60, 80))
    rendered = RenderedEmail(
        subject="Dots",
        text=dotty + UNSUBSCRIBE_PLACEHOLDER,
        html=f'<p>{dotty}</p><a href="{MANAGE_PLACEHOLDER}">m</a>',
        language="en",
    )
    settings = DeliverySettings.from_app(app)
    template = MessageTemplate(rendered, settings, send_id=3, archive_url=None)
    reader = make_subscriber("dots@example.com")
    raw = template.personalise(Personal(5, reader.uid, reader.email)).message
    lines = raw.split(b"\r\n")
    assert not any(line.startswith(b".") for line in lines)
    assert b"=2E" in raw
    assert max(len(line) for line in raw.split(b"\r\n\r\n", 1)[1].split(b"\r\n")) <= 76
    text, page = (p.get_content().replace("\r\n", "\n") for p in parse(raw).iter_parts())
    assert text.startswith(dotty) and dotty in page


def test_sent_issue_carries_the_headers_and_a_verifying_signature(
    app, client, smtp_server, make_subscriber, dkim_key
):
    from bulletin.delivery.pipeline import start_due_sends
    from tests.support.delivery_helpers import configure, drain, make_send

    path, dnsfunc = dkim_key
    settings = configure(
        app,
        smtp_server,
        DKIM_SELECTOR=SELECTOR,
        DKIM_DOMAIN=DOMAIN,
        DKIM_PRIVATE_KEY_PATH=str(path),
        BOUNCE_DOMAIN="bounces.example.org",
    )
    readers = [make_subscriber(language="cy"), make_subscriber(language="en")]
    make_send()
    start_due_sends(settings)
    drain(app, settings)
    assert len(smtp_server.received) == 2
    for received in smtp_server.received:
        raw = received.raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        assert dkim.verify(raw, dnsfunc=dnsfunc)  # the bytes as the server got them
        message = parse(raw)
        for name in (
            "List-Unsubscribe",
            "List-Unsubscribe-Post",
            "List-Id",
            "List-Help",
            "List-Archive",
            "Message-ID",
            "Date",
            "DKIM-Signature",
        ):
            assert message[name], name
        assert received.mail_from.startswith("bounces+")
        assert message.get_content_type() == "multipart/alternative"
        assert "http://localhost/unsubscribe/" in message.get_body(("plain",)).get_content()
    assert len({r.mail_from for r in smtp_server.received}) == 2
    welsh = next(r for r in smtp_server.received if r.rcpt_tos == [readers[0].email])
    assert parse(welsh.raw)["Content-Language"] == "cy"
    response = client.post(
        "/unsubscribe/" + _token(parse(welsh.raw)), data={"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code in (200, 202)
    from bulletin.extensions import db

    db.session.expire_all()
    assert [db.session.get(Subscriber, r.id).status for r in readers] == [
        SubscriberStatus.UNSUBSCRIBED,
        SubscriberStatus.CONFIRMED,
    ]


def test_short_welsh_subject_is_encoded(app, make_subscriber):
    reader = make_subscriber()
    rendered = RenderedEmail(subject="Bwletin ŵ", text=TEXT, html=HTML, language="cy")
    app.config.update(BOUNCE_DOMAIN=None)
    raw = (
        MessageTemplate(rendered, DeliverySettings.from_app(app), send_id=1)
        .personalise(Personal(1, reader.uid, reader.email))
        .message
    )
    assert raw.split(b"\r\n\r\n")[0].isascii()
    assert str(make_header(decode_header(parse(raw)["Subject"]))) == "Bwletin ŵ"


def test_bulk_tokens_are_the_ones_the_site_reads(app):
    import uuid

    from bulletin.mail import tokens

    for uid in [uuid.uuid4().hex for _ in range(200)]:
        assert tokens.plain_token_maker("unsubscribe")(uid) == tokens.make_unsubscribe_token(uid)
        assert tokens.plain_token_maker("manage")(uid) == tokens.make_manage_token(uid)
    # A uid that compresses gives another spelling, which reads back all the same.
    assert (
        tokens.read_unsubscribe_token(tokens.plain_token_maker("unsubscribe")("0" * 32)) == "0" * 32
    )
    for ref in ("d1", "d123456789012"):
        made = tokens.address_token_maker("bounce")(ref)
        assert made == tokens.make_bounce_token(ref) and tokens.read_bounce_token(made) == ref
