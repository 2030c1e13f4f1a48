"""A plain editor opening an admin page: a 403 that says why, in both languages, axe-clean."""

from __future__ import annotations

import pytest

from tests.test_browser_editor import seed, sign_in


@pytest.mark.slow
def test_a_plain_editor_sees_only_admins_can_open_this_page(live, page, audit):
    from bulletin.extensions import db
    from bulletin.models import Editor

    seed(live.app)
    with live.app.app_context():
        db.session.execute(db.update(Editor).values(role="editor"))
        db.session.commit()
    sign_in(page, live.url, audit)
    for lang, words in (("cy", "Dim ond gweinyddwyr"), ("en", "Only admins can open this page")):
        response = page.goto(f"{live.url}/editor/admin?lang={lang}")
        assert response.status == 403
        assert words in page.inner_text("main h1")
        audit.check(page, f"{lang} admins only")
    audit.assert_clean()
