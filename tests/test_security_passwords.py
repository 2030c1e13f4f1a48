"""Editor passwords: one rule wherever one is set, and password checks that resist guessing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from bulletin.cli import main
from bulletin.core import editors as accounts
from bulletin.extensions import db
from bulletin.models import Editor
from tests.conftest import csrf_token
from tests.factories import EDITOR_PASSWORD, sign_in

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WEAK = [
    "too short 1",
    "Password1234!",
    "passwordpassword",
    "1q2w3e4r5t6y",
    "aaaaaaaaaaaaaaaa",
    pytest.param("x" * 999 + "yz", id="too-long"),
]
NEW_PASSWORD = "a brand new long password"


def _stored_hash(editor: Editor) -> str:
    db.session.expire_all()
    return db.session.get(Editor, editor.id).password_hash


@pytest.mark.parametrize("weak", WEAK)
def test_short_and_common_passwords_are_refused_everywhere(
    app, runner, make_editor, editor_client, weak
):
    # The rule itself (create_editor and set_password: the CLI, the admin form and the demo).
    with pytest.raises(accounts.AccountError):
        accounts.check_new_password(weak)
    # `bulletin create-editor`
    result = runner.invoke(
        main, args=["create-editor", "new@example.org", "--password-stdin"], input=weak + "\n"
    )
    assert result.exit_code != 0
    assert db.session.scalar(db.select(Editor).filter_by(email="new@example.org")) is None
    # The admin's form, for a new editor and for an existing one.
    page = editor_client.get("/editor/admin/editors/new")
    created = editor_client.post(
        "/editor/admin/editors/new",
        data={
            "csrf_token": csrf_token(page.text),
            "email": "new@example.org",
            "name": "",
            "role": "editor",
            "password": weak,
            "is_active": "y",
        },
    )
    assert created.status_code == 400
    assert db.session.scalar(db.select(Editor).filter_by(email="new@example.org")) is None
    other = make_editor("ffion@example.org")
    before = _stored_hash(other)
    page = editor_client.get(f"/editor/admin/editors/{other.id}")
    edited = editor_client.post(
        f"/editor/admin/editors/{other.id}",
        data={
            "csrf_token": csrf_token(page.text),
            "email": other.email,
            "name": "",
            "role": "editor",
            "password": weak,
            "is_active": "y",
        },
    )
    assert edited.status_code == 400 and _stored_hash(other) == before
    # The editor's own change-password page.
    client = app.test_client()
    sign_in(client, other)
    page = client.get("/editor/account/password")
    changed = client.post(
        "/editor/account/password",
        data={
            "csrf_token": csrf_token(page.text),
            "current_password": EDITOR_PASSWORD,
            "new_password": weak,
        },
    )
    assert changed.status_code == 400 and _stored_hash(other) == before


def test_a_long_uncommon_password_is_accepted():
    for good in (EDITOR_PASSWORD, NEW_PASSWORD, "xK9#mQ2$vL7p"):
        accounts.check_new_password(good)


def _change_password(client, current: str):
    page = client.get("/editor/account/password")
    return client.post(
        "/editor/account/password",
        data={
            "csrf_token": csrf_token(page.text),
            "current_password": current,
            "new_password": NEW_PASSWORD,
        },
    )


def _login(client, email: str, password: str):
    page = client.get("/editor/login")
    return client.post(
        "/editor/login",
        data={"csrf_token": csrf_token(page.text), "email": email, "password": password},
    )


def test_the_current_password_check_is_rate_limited_like_login(make_app, make_editor):
    app = make_app(LOGIN_RATE_LIMIT="3 per minute")
    with app.app_context():
        editor = make_editor("ffion@example.org")
        client = app.test_client()
        sign_in(client, editor)
        codes = [_change_password(client, "not my password").status_code for _ in range(4)]
        assert codes == [400, 400, 400, 429]
        # One budget for both pages: guesses cannot move to the sign-in form.
        assert _login(app.test_client(), "ffion@example.org", EDITOR_PASSWORD).status_code == 429


def _from(app, ip: str):
    # A different client address each time: the per-address limit is not what stops these.
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    return client


def test_wrong_passwords_pause_the_account_with_a_growing_delay(app, make_editor):
    make_editor("ffion@example.org")
    addresses = (f"192.0.2.{n}" for n in range(1, 200))

    def attempt(password: str) -> int:
        return _login(_from(app, next(addresses)), "ffion@example.org", password).status_code

    with time_machine.travel(START, tick=False) as clock:
        assert [attempt("wrong password!") for _ in range(5)] == [400] * 5
        assert attempt(EDITOR_PASSWORD) == 400  # paused for 1 s: even the right password fails
        clock.shift(timedelta(seconds=1))
        assert attempt("wrong password!") == 400  # the 6th failure: 2 s
        clock.shift(timedelta(seconds=1.5))
        assert attempt(EDITOR_PASSWORD) == 400
        clock.shift(timedelta(seconds=0.5))
        assert attempt("wrong password!") == 400  # the 7th: 4 s
        clock.shift(timedelta(seconds=3.9))
        assert attempt(EDITOR_PASSWORD) == 400
        clock.shift(timedelta(seconds=0.1))
        assert attempt(EDITOR_PASSWORD) == 303  # the pause is over; success starts again at 0
        assert [attempt("wrong password!") for _ in range(5)] == [400] * 5
        clock.shift(timedelta(seconds=1))
        assert attempt(EDITOR_PASSWORD) == 303


def test_the_pause_is_capped_at_five_minutes_and_failures_are_forgotten(app, make_editor):
    editor = make_editor("ffion@example.org")
    with time_machine.travel(START, tick=False) as clock:
        editor.failed_login_count, editor.last_failed_login_at = 40, START
        db.session.commit()
        clock.shift(timedelta(seconds=299))
        assert _login(app.test_client(), editor.email, EDITOR_PASSWORD).status_code == 400
        clock.shift(timedelta(seconds=1))
        assert _login(app.test_client(), editor.email, EDITOR_PASSWORD).status_code == 303

        editor = db.session.get(Editor, editor.id)
        editor.failed_login_count, editor.last_failed_login_at = 40, START
        db.session.commit()
        clock.shift(timedelta(hours=2))  # an hour without failures: they are forgotten
        assert _login(app.test_client(), editor.email, "wrong password!").status_code == 400
        db.session.expire_all()
        assert db.session.get(Editor, editor.id).failed_login_count == 1
        assert _login(app.test_client(), editor.email, EDITOR_PASSWORD).status_code == 303


def test_the_pause_holds_across_processes_and_on_the_change_password_page(
    app, make_app, make_editor
):
    editor = make_editor("ffion@example.org")
    before = _stored_hash(editor)
    other_process = make_app()
    with time_machine.travel(START, tick=False):
        for _ in range(5):
            response = _login(other_process.test_client(), editor.email, "nope nope nope")
            assert response.status_code == 400
        assert _login(app.test_client(), editor.email, EDITOR_PASSWORD).status_code == 400
        client = app.test_client()
        sign_in(client, editor)
        response = _change_password(client, EDITOR_PASSWORD)
        assert response.status_code == 400
        assert "Your current password is not right" in response.text
    assert _stored_hash(editor) == before
