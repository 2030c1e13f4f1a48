"""Who may use /editor: the route walk, sign-in, rate limit, sessions, passwords, admin rights."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from bulletin.cli import main
from bulletin.extensions import db
from bulletin.models import AuditLog, Editor
from tests.conftest import csrf_token
from tests.factories import EDITOR_PASSWORD, sign_in

PLACEHOLDER_ARGS = {"int": 1, "default": "x", "string": "x", "path": "x"}


def _example_url(rule) -> str:
    values = {}
    for name, converter in rule._converters.items():
        kind = type(converter).__name__.replace("Converter", "").lower()
        values[name] = (
            getattr(converter, "items", None)
            and sorted(converter.items)[0]
            or PLACEHOLDER_ARGS.get(kind, 1 if kind == "integer" else "x")
        )
    return rule.build(values, append_unknown=False)[1]


def test_every_editorial_route_needs_an_editor(app):
    client = app.test_client()
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("editor.login", "api.getOpenApi"):  # public by design
            continue
        if not (rule.rule.startswith("/editor") or rule.rule.startswith("/api/")):
            continue
        url = _example_url(rule)
        response = client.get(url)
        if rule.rule.startswith("/api/"):
            assert response.status_code == 401, url
            continue
        assert response.status_code == 302, (url, response.status_code)
        assert urlsplit(response.headers["Location"]).path == "/editor/login", url
        checked += 1
    assert checked >= 30  # the walk really covered the editor door


def test_unknown_editor_path_also_redirects_to_login(client):
    response = client.get("/editor/no-such-page")
    assert response.status_code == 302 and "/editor/login" in response.headers["Location"]


def _login(client, email, password, next_url=None):
    page = client.get("/editor/login")
    url = "/editor/login" + (f"?next={next_url}" if next_url else "")
    return client.post(
        url, data={"csrf_token": csrf_token(page.text), "email": email, "password": password}
    )


def test_login_logout_and_generic_failure(app, make_editor):
    make_editor("ffion@example.org")
    client = app.test_client()
    wrong_password = _login(client, "ffion@example.org", "not the password at all")
    unknown_user = _login(client, "nobody@example.org", EDITOR_PASSWORD)
    assert wrong_password.status_code == unknown_user.status_code == 400
    message = "The email address or password is not right."
    assert message in wrong_password.text and message in unknown_user.text
    assert client.get("/editor/").status_code == 302

    response = _login(client, "FFION@example.org", EDITOR_PASSWORD)
    assert response.status_code == 303
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/editor/").status_code == 200
    page = client.get("/editor/")
    assert (
        client.post("/editor/logout", data={"csrf_token": csrf_token(page.text)}).status_code == 303
    )
    assert client.get("/editor/").status_code == 302


def test_next_goes_only_to_our_own_paths(app, make_editor):
    make_editor("ffion@example.org")
    for target, expected in [
        ("/editor/workshops", "/editor/workshops"),
        ("https://evil.example/", "/editor/"),
        ("//evil.example/x", "/editor/"),
        ("/\\evil.example", "/editor/"),
        ("javascript:alert(1)", "/editor/"),
    ]:
        client = app.test_client()
        response = _login(client, "ffion@example.org", EDITOR_PASSWORD, next_url=target)
        assert response.status_code == 303
        location = response.headers["Location"]
        assert urlsplit(location).netloc in ("", "localhost"), (target, location)
        assert urlsplit(location).path == expected, (target, location)


def test_login_is_rate_limited(make_app):
    app = make_app(LOGIN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    with app.app_context():
        codes = [_login(client, "who@example.org", "wrong password!").status_code for _ in range(4)]
    assert codes == [400, 400, 400, 429]


def test_argon2id_parameters(make_editor):
    editor = make_editor()
    match = re.match(r"^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$", editor.password_hash)
    assert match, editor.password_hash
    memory, time_cost, parallelism = map(int, match.groups())
    assert memory >= 19456 and time_cost >= 2 and parallelism >= 1


def test_password_change_ends_other_sessions(app, make_editor):
    editor = make_editor("ffion@example.org")
    laptop, phone = app.test_client(), app.test_client()
    assert _login(laptop, "ffion@example.org", EDITOR_PASSWORD).status_code == 303
    sign_in(phone, editor)
    assert phone.get("/editor/").status_code == 200

    page = laptop.get("/editor/account/password")
    response = laptop.post(
        "/editor/account/password",
        data={
            "csrf_token": csrf_token(page.text),
            "current_password": EDITOR_PASSWORD,
            "new_password": "a brand new long password",
        },
    )
    assert response.status_code == 303
    assert laptop.get("/editor/").status_code == 200  # this session continues
    assert phone.get("/editor/").status_code == 302  # the other one is over
    fresh = app.test_client()
    assert _login(fresh, "ffion@example.org", "a brand new long password").status_code == 303


def test_wrong_current_password_changes_nothing(app, make_editor):
    editor = make_editor()
    client = app.test_client()
    sign_in(client, editor)
    page = client.get("/editor/account/password")
    response = client.post(
        "/editor/account/password",
        data={
            "csrf_token": csrf_token(page.text),
            "current_password": "not my password",
            "new_password": "a brand new long password",
        },
    )
    assert response.status_code == 400
    assert "Your current password is not right" in response.text
    assert client.get("/editor/").status_code == 200  # still signed in
    fresh = app.test_client()
    assert _login(fresh, editor.email, EDITOR_PASSWORD).status_code == 303


def test_editors_cannot_reach_admin_pages(app, make_editor):
    client = app.test_client()
    sign_in(client, make_editor(role="editor"))
    for url in (
        "/editor/admin",
        "/editor/admin/editors",
        "/editor/admin/topics",
        "/editor/suppressions",
        "/editor/admin/audit",
    ):
        assert client.get(url).status_code == 403, url
    assert "Admin" not in client.get("/editor/").text.split("<main")[0]


def test_admin_adds_an_editor_and_the_audit_log_shows_it(editor_client):
    page = editor_client.get("/editor/admin/editors/new")
    response = editor_client.post(
        "/editor/admin/editors/new",
        data={
            "csrf_token": csrf_token(page.text),
            "email": "newbie@example.org",
            "name": "Newbie",
            "role": "editor",
            "password": "long enough password",
            "is_active": "y",
        },
    )
    assert response.status_code == 303
    created = db.session.scalar(db.select(Editor).filter_by(email="newbie@example.org"))
    assert created is not None and created.role == "editor"
    log = editor_client.get("/editor/admin/audit").text
    assert "Editor account created" in log and "admin@example.org" in log
    assert (
        db.session.scalar(db.select(AuditLog).filter_by(action="editor.create")).editor_id
        == editor_client.editor.id
    )


def test_admin_manages_topics_in_both_languages(editor_client):
    page = editor_client.get("/editor/admin/topics/new")
    response = editor_client.post(
        "/editor/admin/topics/new",
        data={
            "csrf_token": csrf_token(page.text),
            "name_en": "Mental health",
            "name_cy": "Iechyd meddwl",
            "is_active": "y",
        },
    )
    assert response.status_code == 303
    listing = editor_client.get("/editor/admin/topics").text
    assert "Mental health" in listing and "Iechyd meddwl" in listing


def test_create_editor_command_reads_password_from_stdin(app, runner):
    result = runner.invoke(
        main,
        args=["create-editor", "boss@example.org", "--role", "admin", "--password-stdin"],
        input="a sufficiently long secret\n",
    )
    assert result.exit_code == 0, result.output
    editor = db.session.scalar(db.select(Editor).filter_by(email="boss@example.org"))
    assert editor.is_admin and editor.password_hash.startswith("$argon2id$")
    again = runner.invoke(
        main,
        args=["create-editor", "boss@example.org", "--password-stdin"],
        input="a sufficiently long secret\n",
    )
    assert again.exit_code != 0 and "already exists" in again.output
    short = runner.invoke(
        main, args=["create-editor", "x@example.org", "--password-stdin"], input="short\n"
    )
    assert short.exit_code != 0


def test_signing_in_keeps_the_language_chosen_before(app, make_editor):
    make_editor("ffion@example.org")
    client = app.test_client()
    client.get("/editor/login?lang=cy")
    assert _login(client, "ffion@example.org", EDITOR_PASSWORD).status_code == 303
    with client.session_transaction() as session:
        assert session.get("lang") == "cy"


def test_a_plain_editor_gets_a_403_page_saying_only_admins(app, make_editor):
    client = app.test_client()
    sign_in(client, make_editor("plain@example.org"))
    for path in ("/editor/admin", "/editor/admin/topics", "/editor/api-tokens"):
        response = client.get(path)
        assert response.status_code == 403
        assert "Only admins can open this page" in response.text
    assert "Dim ond gweinyddwyr" in client.get("/editor/admin?lang=cy").text
