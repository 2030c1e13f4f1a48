"""The editor dashboard's recent changes: plain editors see no one else's admin actions."""

from __future__ import annotations

import html
import re

from bulletin.core.audit import record_audit
from bulletin.editorial.labels import AUDIT_ACTIONS
from bulletin.extensions import db
from tests.factories import sign_in

#: The dashboard names each action in words (English here): back from words to codes.
CODES = {str(words): code for code, words in AUDIT_ACTIONS.items()}

ACTIONS = [  # (by whom, action)
    ("admin", "editor.create"),
    ("admin", "api_token.create"),
    ("admin", "suppression.add"),
    ("admin", "subscribers.export"),
    ("admin", "subscriber.subject_access"),
    ("admin", "workshop.create"),
    ("plain", "issue.update"),
    ("plain", "editor.password"),
    ("other", "send.schedule"),
]


def _recent(client) -> list[str]:
    page = client.get("/editor/")
    assert page.status_code == 200
    section = page.text.split("Recent changes", 1)[1]
    words = re.findall(r"<li>[^<]*?@example\.org, ([^<]+)</li>", section)
    return [CODES[html.unescape(w)] for w in words]


def _log_actions(make_editor):
    people = {
        "admin": make_editor("boss@example.org", role="admin"),
        "plain": make_editor("plain@example.org"),
        "other": make_editor("other@example.org"),
    }
    for who, action in ACTIONS:
        record_audit(action, editor=people[who])
    db.session.commit()
    return people


def test_plain_editor_sees_own_and_editorial_actions_only(app, make_editor):
    people = _log_actions(make_editor)
    client = app.test_client()
    sign_in(client, people["plain"])
    assert _recent(client) == [
        "send.schedule",
        "editor.password",
        "issue.update",
        "workshop.create",
    ]


def test_admin_sees_every_action(app, make_editor):
    people = _log_actions(make_editor)
    client = app.test_client()
    sign_in(client, people["admin"])
    assert _recent(client) == [action for _, action in reversed(ACTIONS)][:8]
