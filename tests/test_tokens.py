"""Tokens: one salt per purpose, rotation, and address tokens that fit in a local part."""

from __future__ import annotations

import uuid

import pytest

from bulletin.mail import tokens


def test_each_purpose_refuses_the_others_tokens(app):
    uid = uuid.uuid4().hex
    made = {
        "confirm": tokens.make_confirm_token(uid),
        "manage": tokens.make_manage_token(uid),
        "unsubscribe": tokens.make_unsubscribe_token(uid),
    }
    readers = {
        "confirm": tokens.read_confirm_token,
        "manage": tokens.read_manage_token,
        "unsubscribe": tokens.read_unsubscribe_token,
    }
    for purpose, token in made.items():
        for other, read in readers.items():
            if other == purpose:
                assert read(token) == uid
            else:
                with pytest.raises(tokens.BadToken):
                    read(token)


def test_mailto_and_verp_local_parts_fit_rfc_5321_and_survive_case_folding(app):
    uid = uuid.uuid4().hex
    mailto = tokens.make_mailto_token(uid)
    verp = tokens.make_bounce_token("d123456789")
    assert len(f"unsubscribe+{mailto}") <= 64 and len(f"bounces+{verp}") <= 64
    assert mailto == mailto.lower() and verp == verp.lower()
    assert tokens.read_mailto_token(mailto.upper()) == uid
    assert tokens.read_bounce_token(verp) == "d123456789"


def test_address_tokens_refuse_tampering_and_other_purposes(app):
    verp = tokens.make_bounce_token("d42")
    for forged in (
        verp.replace("d42", "d43"),
        verp[:-1] + ("0" if verp[-1] != "0" else "1"),
        "d42",
        "",
        "-",
        "d42-",
    ):
        with pytest.raises(tokens.BadToken):
            tokens.read_bounce_token(forged)
    with pytest.raises(tokens.BadToken):
        tokens.read_mailto_token(verp)


def test_address_tokens_verify_with_an_old_key_after_rotation(make_app, app):
    old = tokens.make_bounce_token("o7")
    rotated = make_app(SECRET_KEYS=["brand-new-key", "test-secret-key"])
    with rotated.app_context():
        assert tokens.read_bounce_token(old) == "o7"
        assert tokens.make_bounce_token("o7") != old


def test_bulk_message_ids_carry_a_mac_that_only_we_can_make(app):
    make = tokens.message_id_maker(12, "example.org")
    message_id = make(345)
    assert message_id.startswith("<12.345.") and message_id.endswith("@example.org>")
    assert tokens.read_message_id(message_id, "EXAMPLE.org") == (12, 345)
    mac = message_id[len("<12.345.") : -len("@example.org>")]
    assert len(mac) == tokens.MESSAGE_MAC_HEX and mac not in make(346)
    flipped = mac[:-1] + ("0" if mac[-1] != "0" else "1")
    forged = [
        message_id.replace("<12.345.", "<12.346."),  # another reader's delivery
        message_id.replace(mac, flipped),
        "<12.345.1741000000@example.org>",  # the old form: the send's creation time
        message_id.replace("example.org", "example.net"),
        "<12.345.@example.org>",
        f"<{'9' * 5000}.345.{mac}@example.org>",
        "",
        "<>",
    ]
    for value in forged:
        with pytest.raises(tokens.BadToken):
            tokens.read_message_id(value, "example.org")


def test_bulk_message_ids_verify_with_an_old_key_after_rotation(make_app, app):
    old = tokens.message_id_maker(3, "example.org")(4)
    rotated = make_app(SECRET_KEYS=["brand-new-key", "test-secret-key"])
    with rotated.app_context():
        assert tokens.read_message_id(old, "example.org") == (3, 4)
        assert tokens.message_id_maker(3, "example.org")(4) != old
    dropped = make_app(SECRET_KEYS=["brand-new-key"])
    with dropped.app_context(), pytest.raises(tokens.BadToken):
        tokens.read_message_id(old, "example.org")


def test_bulk_plain_tokens_match_the_sites_for_any_value(app):
    # (Values that compress, or non-ASCII ones, are spelt differently by itsdangerous, and
    # read back all the same: see test_delivery_bulk.)
    for value in (uuid.uuid4().hex, "ABC123", 'quote " and \\ slash', "", "ŵ ŷ"):
        made = tokens.plain_token_maker("unsubscribe")(value)
        assert tokens.read_unsubscribe_token(made) == value
        assert made == tokens.make_unsubscribe_token(value) or not value.isascii()
