"""Editor sessions end for good: sign-out, idle and absolute expiry, password change, disabling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine
from flask_login.utils import encode_cookie

from bulletin.extensions import db
from bulletin.models import EditorSession
from tests.conftest import csrf_token
from tests.factories import EDITOR_PASSWORD

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _login(client, email: str, password: str = EDITOR_PASSWORD):
    page = client.get("/editor/login")
    return client.post(
        "/editor/login",
        data={"csrf_token": csrf_token(page.text), "email": email, "password": password},
    )


def _logout(client) -> None:
    page = client.get("/editor/")
    response = client.post("/editor/logout", data={"csrf_token": csrf_token(page.text)})
    assert response.status_code == 303


def _signed_in(client) -> bool:
    return client.get("/editor/").status_code == 200


def _replay(app, cookie: str):
    """A new browser that presents a copied session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    return thief


def test_a_session_cookie_copied_before_sign_out_opens_nothing_after(app, make_editor):
    make_editor("ffion@example.org")
    client = app.test_client()
    assert _login(client, "ffion@example.org").status_code == 303
    copied = client.get_cookie("session").value
    assert _signed_in(_replay(app, copied))  # the copy works while the session lives

    _logout(client)
    assert not _signed_in(client)
    assert not _signed_in(_replay(app, copied))
    assert db.session.scalar(db.select(db.func.count()).select_from(EditorSession)) == 0


def test_a_remember_me_cookie_obeys_the_same_rule(app, make_editor):
    # The app sets no remember-me cookie, but Flask-Login reads one if presented: it must
    # name a live session like the session cookie does.
    make_editor("ffion@example.org")
    client = app.test_client()
    assert _login(client, "ffion@example.org").status_code == 303
    with client.session_transaction() as session:
        user_id = session["_user_id"]
    remembered = encode_cookie(user_id)
    stranger = app.test_client()
    stranger.set_cookie("remember_token", remembered)
    assert _signed_in(stranger)

    _logout(client)
    late = app.test_client()
    late.set_cookie("remember_token", remembered)
    assert not _signed_in(late)


def test_session_ends_after_the_idle_time(make_app, make_editor):
    app = make_app(SESSION_IDLE_HOURS=8)
    make_editor("ffion@example.org")
    with time_machine.travel(START, tick=False) as clock:
        client = app.test_client()
        assert _login(client, "ffion@example.org").status_code == 303
        for _ in range(3):  # activity keeps it alive, well past 8 hours in all
            clock.shift(timedelta(hours=7, minutes=50))
            assert _signed_in(client)
        copied = client.get_cookie("session").value
        clock.shift(timedelta(hours=8, minutes=1))
        assert not _signed_in(_replay(app, copied))
        assert not _signed_in(client)


def test_session_ends_after_the_absolute_lifetime(make_app, make_editor):
    app = make_app(SESSION_IDLE_HOURS=8, SESSION_MAX_DAYS=7)
    make_editor("ffion@example.org")
    with time_machine.travel(START, tick=False) as clock:
        client = app.test_client()
        assert _login(client, "ffion@example.org").status_code == 303
        for _ in range(23):  # busy every 7 hours: never idle
            clock.shift(timedelta(hours=7))
            assert _signed_in(client)
        clock.shift(timedelta(hours=6))  # 167 hours after sign-in
        assert _signed_in(client)
        clock.shift(timedelta(hours=2))  # 169 hours
        assert not _signed_in(client)
        assert _login(client, "ffion@example.org").status_code == 303  # a new sign-in works
        assert _signed_in(client)


def test_an_admin_setting_a_password_ends_all_that_editors_sessions(
    app, make_editor, editor_client
):
    target = make_editor("ffion@example.org")
    laptop, phone = app.test_client(), app.test_client()
    assert _login(laptop, "ffion@example.org").status_code == 303
    assert _login(phone, "ffion@example.org").status_code == 303

    page = editor_client.get(f"/editor/admin/editors/{target.id}")
    response = editor_client.post(
        f"/editor/admin/editors/{target.id}",
        data={
            "csrf_token": csrf_token(page.text),
            "email": target.email,
            "name": "",
            "role": "editor",
            "password": "a brand new long password",
            "is_active": "y",
        },
    )
    assert response.status_code == 303
    assert not _signed_in(laptop) and not _signed_in(phone)
    assert _signed_in(editor_client)


def test_an_admin_setting_their_own_password_stays_signed_in_here_only(app, editor_client):
    admin = editor_client.editor
    elsewhere = app.test_client()
    assert _login(elsewhere, admin.email).status_code == 303
    page = editor_client.get(f"/editor/admin/editors/{admin.id}")
    response = editor_client.post(
        f"/editor/admin/editors/{admin.id}",
        data={
            "csrf_token": csrf_token(page.text),
            "email": admin.email,
            "name": "Admin",
            "role": "admin",
            "password": "a brand new long password",
            "is_active": "y",
        },
    )
    assert response.status_code == 303
    assert _signed_in(editor_client) and not _signed_in(elsewhere)


def test_disabling_an_editor_ends_their_sessions_for_good(app, make_editor, editor_client):
    target = make_editor("ffion@example.org")
    client = app.test_client()
    assert _login(client, "ffion@example.org").status_code == 303
    copied = client.get_cookie("session").value

    def save(active: bool) -> None:
        page = editor_client.get(f"/editor/admin/editors/{target.id}")
        data = {
            "csrf_token": csrf_token(page.text),
            "email": target.email,
            "name": "",
            "role": "editor",
            "password": "",
        }
        if active:
            data["is_active"] = "y"
        response = editor_client.post(f"/editor/admin/editors/{target.id}", data=data)
        assert response.status_code == 303

    save(active=False)
    assert not _signed_in(client)
    save(active=True)  # enabling the account again does not bring old sessions back
    assert not _signed_in(_replay(app, copied))
    assert _login(app.test_client(), "ffion@example.org").status_code == 303
