"""Order in an issue: an item to a position, top or bottom of its section; sections per issue;
the email (as sent over SMTP), the archive and the API follow."""

from __future__ import annotations

from bs4 import BeautifulSoup

from bulletin.core import issues as ops
from bulletin.extensions import db
from bulletin.mail.rendering import render_issue
from bulletin.models import Issue, utcnow
from tests.conftest import csrf_token
from tests.factories import sign_in
from tests.support.mailtools import text_part


def _titles(issue_id: int, section: str = "workshops") -> list[str]:
    db.session.expire_all()
    issue = db.session.get(Issue, issue_id)
    return [i.workshop.title_en for i in issue.reading_order() if i.section == section]


def _item_ids(issue: Issue) -> dict[str, int]:
    return {(i.workshop or i.opportunity or i).title_en: i.id for i in issue.items}


def test_the_position_rule_clamps_and_renumbers_the_section(app, make_workshop, make_issue):
    issue = make_issue(items=[make_workshop(t) for t in ("A", "B", "C", "D")])
    items = {i.workshop.title_en: i for i in issue.items}
    assert ops.move_item_to(items["D"], 2) is True
    assert _titles(issue.id) == ["A", "D", "B", "C"]
    assert [i.position for i in ops.section_items(items["A"])] == [0, 1, 2, 3]
    assert ops.move_item_to(items["A"], 99) is True  # past the end means last
    assert _titles(issue.id) == ["D", "B", "C", "A"]
    assert ops.move_item_to(items["D"], 0) is False  # before the start means first: it is
    assert ops.move_item(items["C"], "top") and ops.move_item(items["D"], "bottom")
    assert _titles(issue.id) == ["C", "B", "A", "D"]
    assert ops.move_item(items["D"], "down") is False


def test_the_composer_moves_by_position_top_and_bottom_without_script(
    editor_client, make_workshop, make_issue
):
    issue = make_issue(items=[make_workshop(t) for t in ("One", "Two", "Three")])
    ids = _item_ids(issue)
    page = editor_client.get(f"/editor/issues/{issue.id}")
    soup = BeautifulSoup(page.text, "html.parser")
    box = soup.find(id=f"position-{ids['Three']}")
    assert box["type"] == "number" and box["value"] == "3" and box["max"] == "3"
    label = soup.find("label", attrs={"for": box["id"]}).get_text(" ", strip=True)
    assert "Position of Three" in label
    first = [b.get_text(strip=True) for b in soup.find(id=f"item-{ids['One']}").select("button")]
    assert first == ["Move: One", "Move to bottom: One", "Remove"]  # no "to top" for the first
    token = csrf_token(page.text)
    move = f"/editor/issues/{issue.id}/items/{ids['Three']}/move"
    response = editor_client.post(move, data={"csrf_token": token, "position": "1"})
    assert response.status_code == 303 and response.location.endswith(f"#item-{ids['Three']}")
    assert _titles(issue.id) == ["Three", "One", "Two"]
    editor_client.post(move, data={"csrf_token": token, "direction": "bottom"})
    assert _titles(issue.id) == ["One", "Two", "Three"]
    editor_client.post(move, data={"csrf_token": token, "direction": "top"})
    assert _titles(issue.id) == ["Three", "One", "Two"]
    for bad in ("0", "4", "two", ""):
        refused = editor_client.post(move, data={"csrf_token": token, "position": bad})
        assert refused.status_code == 303
        assert _titles(issue.id) == ["Three", "One", "Two"]
    shown = editor_client.get(f"/editor/issues/{issue.id}").text
    assert "Enter a position from 1 to 3 for Three." in shown
    welsh = editor_client.get(f"/editor/issues/{issue.id}?lang=cy").text
    assert "Safle Three" in welsh and "Symud i’r gwaelod" in welsh
    assert editor_client.post(move, data={"position": "1"}).status_code == 400  # no CSRF


def test_sections_reorder_and_the_archive_follows(
    client, editor_client, make_workshop, make_opportunity, make_issue
):
    issue = make_issue(
        items=[make_workshop("Workshop W"), make_opportunity("Role R"), {"title_en": "News N"}],
        published_at=utcnow(),
    )
    token = csrf_token(editor_client.get(f"/editor/issues/{issue.id}").text)
    url = f"/editor/issues/{issue.id}/sections/news/move"
    for _ in range(3):  # the third press finds news first already: nothing changes
        response = editor_client.post(url, data={"csrf_token": token, "direction": "up"})
        assert response.status_code == 303 and response.location.endswith("#sections")
    db.session.expire_all()
    assert db.session.get(Issue, issue.id).sections == ("news", "workshops", "opportunities")
    page = editor_client.get(f"/editor/issues/{issue.id}").text
    headings = [h.get_text() for h in BeautifulSoup(page, "html.parser").select("#items ~ h3")]
    assert headings[1:] == ["News", "Workshops and events", "Ways to get involved"]
    archive = client.get(f"/issues/{issue.slug}?lang=en").text
    assert archive.index("News N") < archive.index("Workshop W") < archive.index("Role R")
    bad = editor_client.post(
        f"/editor/issues/{issue.id}/sections/elsewhere/move", data={"csrf_token": token}
    )
    assert bad.status_code == 404


def test_the_sent_email_follows_the_issue_order(
    make_app, smtp_server, make_editor, make_workshop, make_opportunity, make_issue, run_worker_once
):
    app = make_app(SMTP_URL=smtp_server.url)
    client = app.test_client()
    with app.app_context():
        items = [make_workshop(t) for t in ("First", "Second", "Third")]
        items.append(make_opportunity("Panel role"))
        issue = make_issue("Order test", items=items)
        issue_id, ids = issue.id, _item_ids(issue)
        sign_in(client, make_editor("ed@example.org"))
    token = csrf_token(client.get(f"/editor/issues/{issue_id}").text)
    client.post(
        f"/editor/issues/{issue_id}/items/{ids['Third']}/move",
        data={"csrf_token": token, "position": "1"},
    )
    client.post(
        f"/editor/issues/{issue_id}/sections/opportunities/move",
        data={"csrf_token": token, "direction": "up"},
    )
    with app.app_context():
        rendered = render_issue(db.session.get(Issue, issue_id), "en")
    assert rendered.text.index("Panel role") < rendered.text.index("Third")
    page = client.get(f"/editor/issues/{issue_id}/preview?in=en")
    client.post(
        f"/editor/issues/{issue_id}/test-send",
        data={"csrf_token": csrf_token(page.text), "addresses": "a@example.org", "language": "en"},
    )
    with app.app_context():
        run_worker_once(app)
    (received,) = smtp_server.wait_for(1)
    text = text_part(received.message)
    order = [text.index(t) for t in ("Ways to get involved", "Panel role", "Workshops and events")]
    order += [text.index(t) for t in ("Third", "First", "Second")]
    assert order == sorted(order)


def test_the_api_moves_by_position_and_moves_sections(api, make_workshop, make_issue):
    issue = make_issue(items=[make_workshop(t) for t in ("One", "Two")] + [{"title_en": "N"}])
    ids = _item_ids(issue)
    moved = api.post(
        f"/api/v1/issues/{issue.id}/items/{ids['Two']}/move", json={"position": 1}
    ).get_json()
    assert moved["moved"] is True
    assert [i["id"] for i in moved["issue"]["items"]][:2] == [ids["Two"], ids["One"]]
    bottom = api.post(
        f"/api/v1/issues/{issue.id}/items/{ids['Two']}/move", json={"direction": "bottom"}
    )
    assert bottom.get_json()["moved"] is True
    both = api.post(
        f"/api/v1/issues/{issue.id}/items/{ids['One']}/move",
        json={"position": 1, "direction": "up"},
    )
    assert both.status_code == 422
    section = api.post(
        f"/api/v1/issues/{issue.id}/sections/move", json={"section": "news", "direction": "up"}
    ).get_json()
    assert section["issue"]["sections"] == ["workshops", "news", "opportunities"]
    assert [i["id"] for i in section["issue"]["items"]][-1] == ids["N"]
    unknown = api.post(
        f"/api/v1/issues/{issue.id}/sections/move", json={"section": "sport", "direction": "up"}
    )
    assert unknown.status_code == 422
