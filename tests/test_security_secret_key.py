"""No shared default secret: an unset SECRET_KEY means a random key kept in the instance folder."""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import stat
import threading
from pathlib import Path

import pytest
from flask import Flask

from bulletin import config, create_app
from bulletin.config import PUBLISHED_SECRETS, generated_secret
from bulletin.mail.pseudonyms import hash_address
from tests.conftest import config_for, csrf_token
from tests.factories import EDITOR_PASSWORD


def test_the_generated_key_is_private_reused_and_announced_once(make_app, tmp_path, caplog):
    key_file = tmp_path / "instance" / "secret_key"
    key_file.parent.mkdir()
    with caplog.at_level(logging.WARNING):
        first = make_app(SECRET_KEYS=[], SECRET_KEY_FILE=str(key_file))
    key = first.config["SECRET_KEY"]
    assert len(key) >= 64 and key not in PUBLISHED_SECRETS
    assert key_file.read_text().strip() == key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert [r.getMessage() for r in caplog.records if str(key_file) in r.getMessage()]

    caplog.clear()
    with caplog.at_level(logging.WARNING):
        again = make_app(SECRET_KEYS=[], SECRET_KEY_FILE=str(key_file))
    assert again.config["SECRET_KEY"] == key and again.config["SECRET_KEYS"] == [key]
    assert not [r for r in caplog.records if str(key_file) in r.getMessage()]
    assert list(key_file.parent.iterdir()) == [key_file]  # no temporary files left behind


def test_the_hash_key_derives_from_the_generated_key(make_app, tmp_path):
    app = make_app(SECRET_KEYS=[], SECRET_KEY_FILE=str(tmp_path / "secret_key"), HASH_KEY=None)
    key = app.config["SECRET_KEY"]
    derived = hashlib.sha256(b"bulletin-hash-key:" + key.encode()).digest()
    with app.app_context():
        import hmac

        expected = hmac.digest(derived, b"a@example.org", "sha256").hex()
        assert hash_address("A@example.org") == expected


def test_processes_starting_together_agree_on_one_key(tmp_path):
    key_file = tmp_path / "secret_key"
    barrier = threading.Barrier(8)
    results: list[tuple[str, bool]] = []

    def start() -> None:
        barrier.wait()
        results.append(generated_secret(key_file))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({key for key, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert key_file.read_text().strip() == results[0][0]


def test_separate_processes_agree_on_one_key(tmp_path):
    key_file = tmp_path / "secret_key"
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        results = pool.map(generated_secret, [key_file] * 8)
    assert len({key for key, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_a_process_that_loses_the_race_reads_the_winners_key(tmp_path, monkeypatch):
    # The other process links its key in between our look and our link.
    key_file = tmp_path / "secret_key"
    key_file.write_text("the-winners-key\n")
    monkeypatch.setattr(Path, "exists", lambda self: False)
    assert generated_secret(key_file) == ("the-winners-key", False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret_key"]


@pytest.mark.parametrize("published", sorted(PUBLISHED_SECRETS))
def test_a_cookie_signed_with_a_published_secret_opens_nothing(
    make_app, make_editor, tmp_path, published
):
    app = make_app(SECRET_KEYS=[], SECRET_KEY_FILE=str(tmp_path / "secret_key"))
    with app.app_context():
        make_editor("ffion@example.org")
        client = app.test_client()
        page = client.get("/editor/login")
        client.post(
            "/editor/login",
            data={
                "csrf_token": csrf_token(page.text),
                "email": "ffion@example.org",
                "password": EDITOR_PASSWORD,
            },
        )
        assert client.get("/editor/").status_code == 200
        with client.session_transaction() as session:
            stolen = dict(session)  # even knowing a live session's id does not help

        forger = Flask("forger")
        forger.secret_key = published
        forged = forger.session_interface.get_signing_serializer(forger).dumps(stolen)
        attacker = app.test_client()
        attacker.set_cookie("session", forged)
        assert attacker.get("/editor/").status_code == 302


@pytest.mark.parametrize("keys", [[], *([k] for k in sorted(PUBLISHED_SECRETS))])
def test_production_needs_a_secret_key_of_its_own(tmp_path, keys):
    key_file = tmp_path / "secret_key"
    settings = config_for(
        ENV="production",
        SECRET_KEYS=keys,
        HASH_KEY="a-long-random-hash-key",
        DATABASE_URL="sqlite://",
        SECRET_KEY_FILE=str(key_file),
    )
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(settings)
    assert not key_file.exists()  # production never generates one


def test_no_default_secret_is_left_in_the_settings():
    assert not hasattr(config, "DEFAULT_SECRET")
    assert config.TestConfig.SECRET_KEYS == ["test-secret-key"]
