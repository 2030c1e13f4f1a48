"""Issues: compose from the catalogue, order, lock, preview, test-send over real SMTP."""

from __future__ import annotations

import re
from datetime import timedelta
from email.utils import parseaddr

from bs4 import BeautifulSoup

from bulletin.extensions import db
from bulletin.models import Issue, IssueItem, OutboxMessage, utcnow
from tests.conftest import csrf_token
from tests.factories import sign_in
from tests.support.mailtools import html_part, text_part


def _token(client, url="/editor/issues/new") -> str:
    return csrf_token(client.get(url).text)


def _create_issue(client) -> Issue:
    response = client.post(
        "/editor/issues/new",
        data={
            "csrf_token": _token(client),
            "version": "0",
            "subject_en": "June bulletin",
            "subject_cy": "Bwletin mis Mehefin",
            "intro_en": "Hello.",
            "intro_cy": "Helo.",
        },
    )
    assert response.status_code == 303
    return db.session.scalar(db.select(Issue))


def _titles(issue: Issue) -> list[str]:
    db.session.expire_all()
    fresh = db.session.get(Issue, issue.id)
    return [
        (i.workshop or i.opportunity or i).title_en
        for i in sorted(fresh.items, key=lambda i: (i.section, i.position))
    ]


def test_compose_from_the_catalogue_and_preview_in_both_languages(
    editor_client, make_workshop, make_opportunity
):
    now = utcnow()
    make_workshop("Later workshop", title_cy="Gweithdy hwyrach", starts_at=now + timedelta(days=20))
    make_workshop("Soon workshop", title_cy="Gweithdy cynnar", starts_at=now + timedelta(days=3))
    make_workshop("Far workshop", starts_at=now + timedelta(weeks=10))
    make_workshop("Past workshop", starts_at=now - timedelta(days=3))
    make_workshop("Archived workshop", starts_at=now + timedelta(days=5), is_archived=True)
    make_opportunity("Open survey", kind="survey", closes_at=now + timedelta(days=4))
    make_opportunity("Closed role", closes_at=now - timedelta(days=1))
    make_opportunity("Closing soon", closes_at=now + timedelta(days=1))
    issue = _create_issue(editor_client)

    until = (now + timedelta(weeks=6)).strftime("%Y-%m-%d")
    response = editor_client.post(
        f"/editor/issues/{issue.id}/fill",
        data={"csrf_token": _token(editor_client), "until": until, "send_date": ""},
    )
    assert response.status_code == 200
    assert _titles(issue) == ["Closing soon", "Open survey", "Soon workshop", "Later workshop"]
    report = BeautifulSoup(response.text, "html.parser").find(id="fill-report")
    added = [li.get_text(" ", strip=True) for li in report.select(".fill-added li")]
    assert added == [
        "Soon workshop / Gweithdy cynnar",
        "Later workshop / Gweithdy hwyrach",
        "Closing soon",
        "Open survey",
    ]
    left_out = {li.get_text(" ", strip=True) for li in report.select(".fill-left-out li")}
    assert left_out == {
        "Past workshop: will have taken place by the send date",
        "Archived workshop: archived",
        "Far workshop: starts after the window",
        "Closed role: closed before the send date",
    }

    # Flags: sending in two days, "Closing soon" will have closed.
    send_date = (now + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    page = editor_client.get(f"/editor/issues/{issue.id}?send_date={send_date}")
    assert page.text.count("Will have closed") == 1
    assert "Open survey has no Welsh version" in page.text

    for lang, subject in (("cy", "Bwletin mis Mehefin"), ("en", "June bulletin")):
        preview = editor_client.get(f"/editor/issues/{issue.id}/preview?in={lang}")
        assert preview.status_code == 200
        soup = BeautifulSoup(preview.text, "html.parser")
        frame = soup.find("iframe")
        assert frame["src"] == f"/editor/issues/{issue.id}/preview/{lang}.html"
        assert subject in soup.find("pre").get_text()
        document = editor_client.get(frame["src"])
        assert document.status_code == 200
        assert "frame-ancestors 'self'" in document.headers["Content-Security-Policy"]
        assert f'lang="{"cy" if lang == "cy" else "en-GB"}"' in document.text
        assert (
            "Gweithdy cynnar" in document.text if lang == "cy" else "Soon workshop" in document.text
        )
    assert "frame-src 'self'" in preview.headers["Content-Security-Policy"]


def test_reorder_and_remove_items(editor_client, make_workshop, make_issue):
    first, second, third = (make_workshop(t) for t in ("One", "Two", "Three"))
    issue = make_issue(items=[first, second, third])
    ids = [i.id for i in sorted(issue.items, key=lambda i: i.position)]
    token = _token(editor_client, f"/editor/issues/{issue.id}")
    move = f"/editor/issues/{issue.id}/items/{ids[2]}/move"
    assert (
        editor_client.post(move, data={"csrf_token": token, "direction": "up"}).status_code == 303
    )
    assert _titles(issue) == ["One", "Three", "Two"]
    editor_client.post(move, data={"csrf_token": token, "direction": "up"})
    editor_client.post(move, data={"csrf_token": token, "direction": "up"})  # already first
    assert _titles(issue) == ["Three", "One", "Two"]
    editor_client.post(
        f"/editor/issues/{issue.id}/items/{ids[0]}/move",
        data={"csrf_token": token, "direction": "down"},
    )
    assert _titles(issue) == ["Three", "Two", "One"]
    response = editor_client.post(
        f"/editor/issues/{issue.id}/items/{ids[1]}/remove", data={"csrf_token": token}
    )
    assert response.status_code == 303
    assert _titles(issue) == ["Three", "One"]


def test_news_item_and_single_catalogue_item(editor_client, make_opportunity, make_issue):
    issue = make_issue()
    opportunity = make_opportunity("Panel role")
    url = f"/editor/issues/{issue.id}/news/new"
    assert (
        editor_client.post(
            url, data={"csrf_token": _token(editor_client, url), "title_en": "", "title_cy": ""}
        ).status_code
        == 400
    )
    assert (
        editor_client.post(
            url,
            data={
                "csrf_token": _token(editor_client, url),
                "title_cy": "Newyddion da",
                "body_cy": "Mae **newyddion**.",
            },
        ).status_code
        == 303
    )
    token = _token(editor_client, f"/editor/issues/{issue.id}")
    assert (
        editor_client.post(
            f"/editor/issues/{issue.id}/items",
            data={"csrf_token": token, "entry": f"opportunity:{opportunity.id}"},
        ).status_code
        == 303
    )
    kinds = sorted(i.kind for i in db.session.scalars(db.select(IssueItem)))
    assert kinds == ["news", "opportunity"]


def test_second_save_with_a_stale_version_is_refused_and_keeps_the_text(
    app, editor_client, make_editor, make_issue
):
    issue = make_issue("Original subject")
    other = app.test_client()
    sign_in(other, make_editor("second@example.org"))
    url = f"/editor/issues/{issue.id}"
    mine, theirs = editor_client.get(url).text, other.get(url).text
    version = re.search(r'name="version" type="hidden" value="(\d+)"', mine).group(1)

    def save(client, page, subject):
        return client.post(
            url,
            data={
                "csrf_token": csrf_token(page),
                "version": version,
                "subject_en": subject,
                "intro_en": f"{subject} intro",
            },
        )

    assert save(other, theirs, "Their subject").status_code == 303
    response = save(editor_client, mine, "My careful subject")
    assert response.status_code == 409
    assert "Another editor saved this issue" in response.text
    assert "My careful subject intro" in response.text  # nothing lost
    db.session.expire_all()
    saved = db.session.get(Issue, issue.id)
    assert saved.subject_en == "Their subject" and saved.version == int(version) + 1


def test_test_send_goes_through_the_outbox_to_a_real_smtp_server(
    make_app, smtp_server, make_editor, make_workshop, make_issue, run_worker_once
):
    app = make_app(SMTP_URL=smtp_server.url)
    client = app.test_client()
    with app.app_context():
        workshop = make_workshop("Allyship", title_cy="Cynghreiriaeth")
        issue_id = make_issue("Test issue", subject_cy="Rhifyn prawf", items=[workshop]).id
        sign_in(client, make_editor("ed@example.org"))
    page = client.get(f"/editor/issues/{issue_id}/preview?in=cy")
    response = client.post(
        f"/editor/issues/{issue_id}/test-send",
        data={
            "csrf_token": csrf_token(page.text),
            "addresses": "a@example.org\nb@example.org",
            "language": "both",
        },
    )
    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(OutboxMessage.id))) == 4
        run_worker_once(app)
    received = smtp_server.wait_for(4)
    assert sorted(r.rcpt_tos[0] for r in received) == ["a@example.org"] * 2 + ["b@example.org"] * 2
    welsh = next(r.message for r in received if "Rhifyn prawf" in r.message["Subject"])
    assert welsh["Subject"] == "[TEST] Rhifyn prawf"
    assert [p.get_content_type() for p in welsh.iter_parts()] == ["text/plain", "text/html"]
    assert parseaddr(welsh["From"]) == ("Research bulletin", "bulletin@example.org")
    assert re.match(r"^<[^<>@\s]+@example\.org>$", welsh["Message-ID"]) and welsh["Date"]
    assert "Cynghreiriaeth" in text_part(welsh) and 'lang="cy"' in html_part(welsh)
    assert "BULLETIN-PERSONAL" not in text_part(welsh) + html_part(welsh)


def test_test_send_refuses_too_many_or_invalid_addresses(editor_client, make_issue):
    issue = make_issue()
    url = f"/editor/issues/{issue.id}/test-send"
    token = _token(editor_client, f"/editor/issues/{issue.id}/preview")
    six = "\n".join(f"r{n}@example.org" for n in range(6))
    response = editor_client.post(
        url, data={"csrf_token": token, "addresses": six, "language": "en"}
    )
    assert response.status_code == 400 and "Enter up to 5 addresses." in response.text
    response = editor_client.post(
        url, data={"csrf_token": token, "addresses": "not-an-address", "language": "en"}
    )
    assert response.status_code == 400 and "is not a valid email address" in response.text
    assert db.session.scalar(db.select(db.func.count(OutboxMessage.id))) == 0
    # Empty: to the editor's own address.
    assert (
        editor_client.post(
            url, data={"csrf_token": token, "addresses": "", "language": "en"}
        ).status_code
        == 303
    )
    assert db.session.scalar(db.select(OutboxMessage.to_address)) == "admin@example.org"


def test_test_send_is_rate_limited(make_app, make_editor, make_issue):
    app = make_app(TEST_SEND_RATE_LIMIT="2 per hour")
    with app.app_context():
        issue = make_issue()
        client = app.test_client()
        sign_in(client, make_editor())
        token = _token(client, f"/editor/issues/{issue.id}/preview")
        codes = [
            client.post(
                f"/editor/issues/{issue.id}/test-send",
                data={"csrf_token": token, "addresses": "", "language": "en"},
            ).status_code
            for _ in range(3)
        ]
    assert codes == [303, 303, 429]


def test_the_fill_window_defaults_and_is_checked(editor_client, make_issue):
    issue = make_issue()
    page = editor_client.get(f"/editor/issues/{issue.id}?send_date=2031-03-02T09:00")
    until = BeautifulSoup(page.text, "html.parser").find(id="until")
    assert until["type"] == "date" and until["value"] == "2031-04-13"  # six weeks on
    data = {"csrf_token": csrf_token(page.text), "send_date": "2031-03-02T09:00"}
    for value, message in (
        ("2031-03-01", "Choose a day on or after the send date (02/03/2031)"),
        ("", "Enter the last day of workshops to add"),
        ("2033-01-01", "Choose a day within 52 weeks of the send date"),
    ):
        response = editor_client.post(
            f"/editor/issues/{issue.id}/fill", data={**data, "until": value}
        )
        assert response.status_code == 400 and message in response.text
        assert 'aria-invalid="true"' in response.text
    welsh = editor_client.post(
        f"/editor/issues/{issue.id}/fill?lang=cy", data={**data, "until": "2031-03-01"}
    )
    assert "Dewiswch ddiwrnod ar ddyddiad yr anfon neu wedyn" in welsh.text
    assert db.session.scalar(db.select(db.func.count(IssueItem.id))) == 0
