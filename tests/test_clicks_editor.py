"""What editors see of click counts: per item on a send's page, and interest per catalogue
entry across sends with a CSV export; every count under 5 reads "fewer than 5"."""

from __future__ import annotations

import csv
import io

from bs4 import BeautifulSoup

from bulletin.extensions import db
from bulletin.models import ClickLink
from tests.support.delivery_helpers import make_send


def add_link(send, *, kind, item=None, issue_item=None, order, clicks, scans=0, role="more"):
    link = ClickLink(
        send_id=send.id,
        link_key=f"{send.id}-{order}-{role}",
        item_order=order,
        item_kind=kind,
        item_id=item.id if item is not None else None,
        issue_item_id=issue_item.id if issue_item is not None else None,
        role=role,
        target=f"https://example.org/{kind}/{order}/{role}",
        clicks=clicks,
        scanner_hits=scans,
    )
    db.session.add(link)
    return link


def seeded(make_workshop, make_opportunity, make_issue):
    workshop = make_workshop("Data day", title_cy="Diwrnod data")
    opportunity = make_opportunity("Panel seats", title_cy="Seddi panel")
    news = {"title_en": "Big news", "title_cy": "Newyddion mawr", "body_en": "x"}
    issue = make_issue(subject_cy="Bwletin", items=[news, workshop, opportunity])
    first, second = make_send(issue), make_send(issue)
    news_item = next(i for i in issue.items if i.kind == "news")
    add_link(first, kind="intro", order=0, clicks=0, role="text")
    add_link(first, kind="workshop", item=workshop, order=1, clicks=40, scans=2)
    add_link(first, kind="workshop", item=workshop, order=1, clicks=3, role="booking")
    add_link(first, kind="opportunity", item=opportunity, order=2, clicks=2)
    add_link(first, kind="news", issue_item=news_item, order=3, clicks=9, role="text")
    add_link(second, kind="workshop", item=workshop, order=1, clicks=7)
    db.session.commit()
    return first, workshop, opportunity


def test_the_send_page_lists_clicks_per_item_in_issue_order(
    editor_client, make_workshop, make_opportunity, make_issue
):
    send, _w, _o = seeded(make_workshop, make_opportunity, make_issue)
    page = editor_client.get(f"/editor/sends/{send.id}")
    assert page.status_code == 200
    section = (
        BeautifulSoup(page.text, "html.parser").find(id="clicks-heading").find_parent("section")
    )
    # The bar chart comes first (an SVG image with its title), then the table by item.
    chart = section.find("svg")
    assert chart["role"] == "img" and "Clicks per item" in chart.title.get_text()
    assert "Data day" in chart.get_text() and "fewer than 5" in chart.get_text()
    table = section.find_all("table")[-1]
    rows = [
        [c.get_text(" ", strip=True) for c in r.find_all(["th", "td"])]
        for r in table.tbody.find_all("tr")
    ]
    assert [r[0] for r in rows] == ["Introduction", "Data day", "Panel seats", "Big news"]
    assert [r[1] for r in rows] == ["0", "43", "fewer than 5", "9"]  # 2 clicks: not shown exactly
    assert rows[1][2] == "fewer than 5"  # scanner fetches go through the rule too
    # The links are named, without their own counts: beside the total (43), the page
    # link's 40 would give away the booking link's 3.
    assert "Book a place" in rows[1][3] and "40" not in rows[1][3]


def test_the_send_page_in_welsh(editor_client, make_workshop, make_opportunity, make_issue):
    send, _w, _o = seeded(make_workshop, make_opportunity, make_issue)
    editor_client.set_cookie("lang", "cy")
    page = editor_client.get(f"/editor/sends/{send.id}?lang=cy")
    assert "Diwrnod data" in page.text and "Cliciau" in page.text


def test_interest_adds_up_every_send_and_exports_csv(
    editor_client, make_workshop, make_opportunity, make_issue
):
    _send, workshop, opportunity = seeded(make_workshop, make_opportunity, make_issue)
    page = editor_client.get("/editor/interest")
    assert page.status_code == 200
    cells = [
        [c.get_text(" ", strip=True) for c in r.find_all(["th", "td"])]
        for r in BeautifulSoup(page.text, "html.parser").tbody.find_all("tr")
    ]
    assert cells[0][0].startswith("Data day") and cells[0][2:] == ["2", "50", "fewer than 5"]
    assert cells[1][0].startswith("Panel seats") and cells[1][3] == "fewer than 5"
    download = editor_client.get("/editor/interest.csv")
    assert download.status_code == 200 and download.headers["Cache-Control"] == "no-store"
    lines = list(csv.reader(io.StringIO(download.text)))
    assert lines[0][-3:] == ["Sends that featured it", "Clicks", "Scanner fetches"]
    assert lines[1][1:] == [
        str(workshop.id),
        workshop.slug,
        "Data day",
        "Diwrnod data",
        "2",
        "50",
        "fewer than 5",
    ]
    assert lines[2][-2] == "fewer than 5"


def test_click_pages_need_a_login(client):
    for path in ("/editor/interest", "/editor/interest.csv"):
        answer = client.get(path)
        assert answer.status_code in (302, 401) and "Data day" not in answer.text
