"""`bulletin demo`: seeds a bilingual demo once, prints the admin password once."""

from __future__ import annotations

import re

from bulletin.cli import main
from bulletin.core.editors import check_new_password
from bulletin.demo import DEMO_ADMIN
from bulletin.extensions import db
from bulletin.models import Editor, Issue, Opportunity, Workshop


def test_demo_seeds_idempotently_and_prints_the_password_once(make_app, tmp_path):
    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}")
    runner = app.test_cli_runner()
    first = runner.invoke(main, args=["demo", "--no-serve"])
    assert first.exit_code == 0, first.output
    password = re.search(r"password: (\S+)", first.output).group(1)
    check_new_password(password)  # the printed password meets the rule every password meets
    second = runner.invoke(main, args=["demo", "--no-serve"])
    assert second.exit_code == 0, second.output
    assert "already exists" in second.output and password not in second.output
    assert f"bulletin set-password {DEMO_ADMIN}" in second.output  # the way back in
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Workshop.id))) == 3
        assert db.session.scalar(db.select(db.func.count(Opportunity.id))) == 3
        [issue] = db.session.scalars(db.select(Issue)).all()
        assert issue.published_at is not None and issue.subject_cy
        editor = db.session.scalar(db.select(Editor).filter_by(email=DEMO_ADMIN))
        assert editor.is_admin
    client = app.test_client()
    archive = client.get(f"/issues/{issue.slug}?lang=cy")
    assert archive.status_code == 200 and "Cynghreiriaeth mewn ymchwil" in archive.text
    page = client.get("/editor/login")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    response = client.post(
        "/editor/login", data={"csrf_token": token, "email": DEMO_ADMIN, "password": password}
    )
    assert response.status_code == 303
