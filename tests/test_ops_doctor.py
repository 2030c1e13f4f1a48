"""`bulletin doctor`: DNS against a stub resolver (no network), SMTP against a real aiosmtpd
(plain, STARTTLS, smtps, with and without AUTH), the database on a real SQLite file."""

from __future__ import annotations

import base64
import json
import ssl

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask_migrate import upgrade
from sqlalchemy import text

from bulletin import create_app
from bulletin.cli import main
from bulletin.extensions import db
from bulletin.ops import dnscheck, doctor
from bulletin.ops.doctor import Status
from tests.conftest import config_for
from tests.support.smtp import Handler, free_port
from tests.support.tlscerts import TestCA

RELAY_IP = "93.184.216.34"  # any public address: documentation ranges are not global


class StubResolver:
    """Answers from a dict {(name, rdtype): [records]}; a LookupFailed value raises it."""

    def __init__(self, records: dict):
        self.records = records
        self.asked: list[tuple[str, str]] = []

    def resolve(self, name: str, rdtype: str) -> list[str]:
        self.asked.append((name, rdtype))
        found = self.records.get((name.rstrip(".").lower(), rdtype), [])
        if isinstance(found, Exception):
            raise found
        return list(found)


@pytest.fixture(scope="module")
def dkim_key(tmp_path_factory):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path_factory.mktemp("dkim") / "dkim.pem"
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
    return str(path), base64.b64encode(public).decode()


@pytest.fixture
def good_dns(dkim_key):
    """A domain set up right: SPF through an include, the DKIM key, DMARC reject, bounce MX."""
    return {
        ("example.org", "TXT"): [
            "google-site-verification=x",
            "v=spf1 include:_spf.relay.test -all",
        ],
        ("_spf.relay.test", "TXT"): [f"v=spf1 ip4:{RELAY_IP[:-3]}.0/24 ~all"],
        ("bounces.example.org", "TXT"): [f"v=spf1 ip4:{RELAY_IP} -all"],
        ("relay.test", "A"): [RELAY_IP],
        ("mail._domainkey.example.org", "TXT"): [f"v=DKIM1; k=rsa; p={dkim_key[1]}"],
        ("_dmarc.example.org", "TXT"): ["v=DMARC1; p=reject; rua=mailto:d@example.org"],
        ("bounces.example.org", "MX"): ["10 bounce.example.org."],
    }


@pytest.fixture
def dns_app(tmp_path, dkim_key):
    return create_app(
        config_for(
            DATABASE_URL=f"sqlite:///{tmp_path / 'doctor.sqlite3'}",
            MAIL_FROM="B <news@example.org>",
            SMTP_URL="smtp+starttls://relay.test:587",
            DKIM_SELECTOR="mail",
            DKIM_DOMAIN="example.org",
            DKIM_PRIVATE_KEY_PATH=dkim_key[0],
            BOUNCE_DOMAIN="bounces.example.org",
            BOUNCE_MX_HOST="bounce.example.org",
        )
    )


def dns_findings(app, records) -> dict[str, doctor.Check]:
    return {c.name: c for c in dnscheck.check_dns(app, StubResolver(records))}


def test_a_well_set_up_domain_passes_every_dns_check(dns_app, good_dns):
    found = dns_findings(dns_app, good_dns)
    assert [c.status for c in found.values()] == [Status.OK] * 5, found
    assert RELAY_IP in found["dns.spf"].message
    assert "p=reject" in found["dns.dmarc"].message


@pytest.mark.parametrize(
    "change, name, says",
    [
        ({("example.org", "TXT"): []}, "dns.spf", "no SPF record"),
        (
            {("bounces.example.org", "TXT"): ["v=spf1 mx -all"]},
            "dns.spf_bounce_domain",
            "does not let the relay",
        ),
        ({("example.org", "TXT"): ["v=spf1 -all", "v=spf1 mx -all"]}, "dns.spf", "merge them"),
        ({("example.org", "TXT"): ["v=spf1 +all"]}, "dns.spf", "+all"),
        (
            {("_spf.relay.test", "TXT"): ["v=spf1 ip4:93.184.217.0/24 -all"]},
            "dns.spf",
            "does not let the relay relay.test",
        ),
        (
            {("example.org", "TXT"): [f"v=spf1 -ip4:{RELAY_IP} a:relay.test -all"]},
            "dns.spf",
            "does not let",
        ),
        ({("mail._domainkey.example.org", "TXT"): []}, "dns.dkim", 'publish TXT "v=DKIM1'),
        ({("mail._domainkey.example.org", "TXT"): ["v=DKIM1; p="]}, "dns.dkim", "revoked"),
        (
            {("mail._domainkey.example.org", "TXT"): ["v=DKIM1; k=rsa; p=MIIBIjAN"]},
            "dns.dkim",
            "not the public half",
        ),
        ({("_dmarc.example.org", "TXT"): []}, "dns.dmarc", "no DMARC record"),
        (
            {("_dmarc.example.org", "TXT"): ["v=DMARC1; rua=mailto:x@example.org"]},
            "dns.dmarc",
            "no valid policy",
        ),
        ({("bounces.example.org", "MX"): []}, "dns.bounce_mx", "no MX for bounces.example.org"),
        (
            {("bounces.example.org", "MX"): ["10 mx.elsewhere.test."]},
            "dns.bounce_mx",
            "not bounce.example.org",
        ),
    ],
)
def test_each_dns_failure_says_what_to_fix(dns_app, good_dns, change, name, says):
    found = dns_findings(dns_app, good_dns | change)
    assert found[name].status is Status.FAIL and says in found[name].message
    others = [c for c in found.values() if c.name != name]
    assert all(c.status is Status.OK for c in others), others


def test_spf_follows_a_mechanism_and_redirect(dns_app, good_dns):
    records = good_dns | {
        ("example.org", "TXT"): ["v=spf1 redirect=_spf.example.org"],
        ("_spf.example.org", "TXT"): ["v=spf1 mx a:relay.test -all"],
        ("_spf.example.org", "MX"): ["10 mx.example.org."],
    }
    assert dns_findings(dns_app, records)["dns.spf"].status is Status.OK


def test_dmarc_none_warns_and_a_parent_domain_record_counts(dns_app, good_dns):
    app = dns_app
    app.config["MAIL_FROM"] = "news@news.example.org"
    records = good_dns | {
        ("news.example.org", "TXT"): good_dns[("example.org", "TXT")],
        ("_dmarc.example.org", "TXT"): ["v=DMARC1; p=none"],
    }
    found = dns_findings(app, records)
    assert found["dns.dmarc"].status is Status.WARN
    assert "_dmarc.example.org" in found["dns.dmarc"].message


def test_without_an_expected_host_an_mx_is_enough_and_the_output_says_so(dns_app, good_dns):
    dns_app.config["BOUNCE_MX_HOST"] = None
    check = dns_findings(dns_app, good_dns)["dns.bounce_mx"]
    assert check.status is Status.OK and "set BOUNCE_MX_HOST" in check.message


def test_a_dns_lookup_that_fails_warns_and_does_not_pass(dns_app, good_dns):
    records = good_dns | {("_dmarc.example.org", "TXT"): dnscheck.LookupFailed("timeout")}
    check = dns_findings(dns_app, records)["dns.dmarc"]
    assert check.status is Status.WARN and "could not ask DNS" in check.message


def test_a_local_relay_cannot_be_checked_against_spf(dns_app, good_dns):
    dns_app.config["SMTP_URL"] = "smtp://127.0.0.1:25"
    check = dns_findings(dns_app, good_dns)["dns.spf"]
    assert check.status is Status.WARN and "no public address" in check.message


class Passwords:
    """An aiosmtpd authenticator that knows one login."""

    def __call__(self, server, session, envelope, mechanism, auth_data):
        good = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            b"sender",
            b"right",
        )
        return AuthResult(success=good, handled=False)  # handled=False: aiosmtpd replies 535


@pytest.fixture
def relay(tmp_path):
    """Start an aiosmtpd relay: relay(tls=..., starttls=..., auth=..., auth_require_tls=...)."""
    started = []

    def start(*, tls=None, starttls=None, auth=False, auth_require_tls=True):
        port = free_port()
        controller = Controller(
            Handler(),
            hostname="127.0.0.1",
            port=port,
            ssl_context=tls,
            tls_context=starttls,
            authenticator=Passwords() if auth else None,
            auth_require_tls=auth_require_tls,
        )
        controller.start()
        started.append(controller)
        return port

    yield start
    for controller in started:
        controller.stop()


def smtp_findings(url: str, context: ssl.SSLContext | None = None) -> dict[str, doctor.Check]:
    app = create_app(config_for(SMTP_URL=url, SMTP_TIMEOUT=5.0))
    return {c.name: c for c in doctor.check_smtp(app, context)}


@pytest.fixture
def ca(tmp_path):
    return TestCA(tmp_path)


def test_plain_smtp_without_credentials_connects_and_greets(relay):
    port = relay()
    found = smtp_findings(f"smtp://127.0.0.1:{port}")
    assert {n: c.status for n, c in found.items()} == {
        "smtp.connect": Status.OK,
        "smtp.ehlo": Status.OK,
        "smtp.auth": Status.OK,
    }


def test_starttls_with_a_good_login_passes(relay, ca):
    port = relay(starttls=ca.server_context(), auth=True)
    found = smtp_findings(
        f"smtp+starttls://sender:right@127.0.0.1:{port}",
        ssl.create_default_context(cafile=ca.ca_file),
    )
    assert all(c.status is Status.OK for c in found.values()), found
    assert "TLS" in found["smtp.starttls"].message
    assert found["smtp.auth"].message.startswith("logged in as sender")


def test_a_wrong_password_fails_the_login(relay, ca):
    port = relay(starttls=ca.server_context(), auth=True)
    found = smtp_findings(
        f"smtp+starttls://sender:wrong@127.0.0.1:{port}",
        ssl.create_default_context(cafile=ca.ca_file),
    )
    assert found["smtp.auth"].status is Status.FAIL and "535" in found["smtp.auth"].message


def test_a_certificate_we_cannot_verify_fails_starttls(relay, ca):
    port = relay(starttls=ca.server_context(), auth=True)
    found = smtp_findings(f"smtp+starttls://sender:right@127.0.0.1:{port}")
    assert found["smtp.starttls"].status is Status.FAIL
    assert "CERTIFICATE_VERIFY_FAILED" in found["smtp.starttls"].message
    assert "smtp.auth" not in found  # no password is sent over an unverified channel


def test_starttls_asked_of_a_server_without_it_fails(relay):
    port = relay()
    found = smtp_findings(f"smtp+starttls://127.0.0.1:{port}")
    assert found["smtp.starttls"].status is Status.FAIL
    assert "does not offer STARTTLS" in found["smtp.starttls"].message


def test_plain_smtp_to_a_server_offering_starttls_warns(relay, ca):
    port = relay(starttls=ca.server_context(), auth=True)
    found = smtp_findings(f"smtp://sender:right@127.0.0.1:{port}")
    assert found["smtp.starttls"].status is Status.WARN
    # aiosmtpd offers AUTH only after STARTTLS: the credentials cannot be used
    assert (
        found["smtp.auth"].status is Status.FAIL and "after STARTTLS" in found["smtp.auth"].message
    )


def test_plain_auth_where_the_server_allows_it_passes(relay):
    port = relay(auth=True, auth_require_tls=False)
    assert smtp_findings(f"smtp://sender:right@127.0.0.1:{port}")["smtp.auth"].status is Status.OK


def test_smtps_verifies_the_certificate(relay, ca):
    port = relay(tls=ca.server_context())
    found = smtp_findings(
        f"smtps://127.0.0.1:{port}", ssl.create_default_context(cafile=ca.ca_file)
    )
    assert found["smtp.tls"].status is Status.OK
    unverified = smtp_findings(f"smtps://127.0.0.1:{port}")
    assert unverified["smtp.connect"].status is Status.FAIL


def test_nothing_listening_fails_the_connection():
    found = smtp_findings(f"smtp://127.0.0.1:{free_port()}")
    assert (
        found["smtp.connect"].status is Status.FAIL
        and "cannot connect" in found["smtp.connect"].message
    )


def production(tmp_path, **overrides) -> dict:
    return config_for(
        ENV="production",
        SECRET_KEYS=["k" * 48],
        HASH_KEY="h" * 48,
        BASE_URL="https://bulletin.example.org",
        DATABASE_URL=f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        **overrides,
    )


def test_a_good_deployment_passes_and_exits_zero(tmp_path, relay, ca, dns_app, good_dns, dkim_key):
    port = relay(starttls=ca.server_context(), auth=True)
    app = create_app(
        production(
            tmp_path,
            SMTP_URL=f"smtp+starttls://sender:right@127.0.0.1:{port}",
            MAIL_FROM="B <news@example.org>",
            DKIM_SELECTOR="mail",
            DKIM_DOMAIN="example.org",
            DKIM_PRIVATE_KEY_PATH=dkim_key[0],
            BOUNCE_DOMAIN="bounces.example.org",
            BOUNCE_MX_HOST="bounce.example.org",
        )
    )
    with app.app_context():
        upgrade()
    checks = doctor.run_checks(
        app, context=ssl.create_default_context(cafile=ca.ca_file), resolver=StubResolver(good_dns)
    )
    not_ok = [c for c in checks if c.status is not Status.OK]
    # The only WARN: this relay is on 127.0.0.1, so SPF cannot be checked against its address.
    assert [(c.name, c.status) for c in not_ok] == [
        ("dns.spf", Status.WARN),
        ("dns.spf_bounce_domain", Status.WARN),
    ]
    assert {c.name.split(".")[0] for c in checks} == {"config", "database", "smtp", "dns"}
    runner = app.test_cli_runner()
    result = runner.invoke(main, args=["doctor", "--json", "--skip", "dns", "--skip", "smtp"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ok"] is True and all(c["status"] == "OK" for c in report["checks"])


@pytest.mark.parametrize(
    "overrides, name, says",
    [
        ({"BASE_URL": "http://bulletin.example.org"}, "config.base_url", "not https"),
        ({"SMTP_URL": None}, "config.smtp_url", "never sent"),
        ({"SECRET_KEYS": ["short-but-new"]}, "config.secret_key", "use 32 or more"),
        ({"DKIM_SELECTOR": "s", "DKIM_DOMAIN": "example.org"}, "config.dkim", "cannot read"),
    ],
)
def test_each_production_setting_problem_fails_with_a_fix(tmp_path, overrides, name, says):
    if "DKIM_SELECTOR" in overrides:
        key = tmp_path / "not-a-key.pem"
        key.write_text("hello")
        overrides["DKIM_PRIVATE_KEY_PATH"] = str(key)
    app = create_app(production(tmp_path, SMTP_URL="smtp://127.0.0.1:25") | overrides)
    found = {c.name: c for c in doctor.check_config(app)}
    assert found[name].status is Status.FAIL and says in found[name].message


def test_a_setting_the_app_refuses_is_reported_not_a_traceback(tmp_path):
    app = create_app(config_for(DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite3'}"))

    def refuse():
        raise RuntimeError("HASH_KEY must be set in production (suppression-list hashes)")

    from flask.cli import ScriptInfo

    result = app.test_cli_runner().invoke(main, args=["doctor"], obj=ScriptInfo(create_app=refuse))
    assert result.exit_code == 1
    assert result.output.startswith("FAIL config.startup: the app refuses to start: HASH_KEY")


def test_the_database_behind_or_ahead_of_the_code_fails(tmp_path):
    app = create_app(config_for(DATABASE_URL=f"sqlite:///{tmp_path / 'old.sqlite3'}"))
    with app.app_context():
        found = {c.name: c for c in doctor.check_database(app)}
        assert found["database.migrations"].message == "no schema yet: run `bulletin init`"
        upgrade(revision="7c1e2f9a4b3d")
        found = {c.name: c for c in doctor.check_database(app)}
        assert found["database.migrations"].status is Status.FAIL
        assert "run `bulletin init`" in found["database.migrations"].message
        upgrade()
        db.session.execute(text("UPDATE alembic_version SET version_num = 'ffffffffffff'"))
        db.session.commit()
        found = {c.name: c for c in doctor.check_database(app)}
        assert "does not know" in found["database.migrations"].message
        db.engine.dispose()


def test_an_unreachable_database_fails_to_connect(tmp_path):
    app = create_app(config_for(DATABASE_URL="postgresql://nobody@127.0.0.1:1/none"))
    with app.app_context():
        found = list(doctor.check_database(app))
    assert [c.name for c in found] == ["database.connect"] and found[0].status is Status.FAIL
