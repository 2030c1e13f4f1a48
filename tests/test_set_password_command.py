"""`bulletin set-password EMAIL`: the way back in for an admin locked out."""

from __future__ import annotations

from datetime import timedelta

from bulletin.cli import main
from bulletin.core.editors import authenticate
from bulletin.extensions import db
from bulletin.models import AuditLog, Editor, EditorSession, utcnow
from tests.factories import EDITOR_PASSWORD, sign_in

NEW_PASSWORD = "a brand new long passphrase"


def test_set_password_unlocks_the_account_and_ends_its_sessions(app, runner, make_editor):
    admin = make_editor("boss@example.org", role="admin")
    client = app.test_client()
    sign_in(client, admin)
    assert client.get("/editor/").status_code == 200
    admin.failed_login_count, admin.last_failed_login_at = 50, utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert authenticate("boss@example.org", EDITOR_PASSWORD) is None  # throttled

    result = runner.invoke(
        main,
        args=["set-password", "BOSS@example.org", "--password-stdin"],
        input=NEW_PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    editor = db.session.get(Editor, admin.id)
    assert editor.failed_login_count == 0 and editor.last_failed_login_at is None
    assert db.session.scalar(db.select(db.func.count(EditorSession.id))) == 0
    assert client.get("/editor/").status_code == 302  # the old session no longer opens
    assert authenticate("boss@example.org", NEW_PASSWORD) is not None
    actions = db.session.scalars(db.select(AuditLog.action)).all()
    assert "editor.password_reset" in actions


def test_set_password_refuses_weak_passwords_and_unknown_addresses(app, runner, make_editor):
    make_editor("boss@example.org", role="admin")
    weak = runner.invoke(
        main, args=["set-password", "boss@example.org", "--password-stdin"], input="short\n"
    )
    assert weak.exit_code != 0 and "at least" in weak.output and "Traceback" not in weak.output
    unknown = runner.invoke(
        main,
        args=["set-password", "nobody@example.org", "--password-stdin"],
        input=NEW_PASSWORD + "\n",
    )
    assert unknown.exit_code != 0 and "No editor" in unknown.output
