"""The admin subscriber list: filters, counts, search, keyset pages, admins only."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from bulletin.core.subscriber_list import ListFilter, list_subscribers
from bulletin.extensions import db
from bulletin.models import SubscriberStatus
from tests.factories import sign_in


def emails(html: str) -> list[str]:
    return re.findall(r'/editor/subscribers/\d+">([^<]+)</a>', html)


def test_filters_narrow_the_list_and_each_option_shows_its_count(editor_client, make_subscriber):
    make_subscriber("cy1@example.org", language="cy", region="mid-wales", topics=["news"])
    make_subscriber("cy2@example.org", language="cy", region="north-wales")
    make_subscriber("en1@example.org", status=SubscriberStatus.PENDING, region="mid-wales")
    html = editor_client.get("/editor/subscribers/list?language=cy&lang=en").text
    assert sorted(emails(html)) == ["cy1@example.org", "cy2@example.org"]
    assert "2 subscribers match" in html
    # Counts per value over the other filters: Welsh readers by region and status...
    assert re.search(r'value="mid-wales">Mid Wales \(1\)', html)
    assert re.search(r'value="confirmed">Subscribed \(2\)', html)
    assert re.search(r'value="pending">Waiting for confirmation \(0\)', html)
    # ...and the language facet ignores its own filter, so English still shows its 1.
    assert re.search(r'value="en">English \(1\)', html)
    assert re.search(r'value="news">[^<]+\(1\)', html)
    html = editor_client.get("/editor/subscribers/list?region=mid-wales&status=pending").text
    assert emails(html) == ["en1@example.org"]
    html = editor_client.get("/editor/subscribers/list?topic=news").text
    assert emails(html) == ["cy1@example.org"]


def test_sign_up_date_filter_uses_london_days(app, make_subscriber):
    early = make_subscriber("early@example.org")
    late = make_subscriber("late@example.org")
    early.created_at = datetime(2026, 6, 30, 22, 30, tzinfo=UTC)  # 23:30 in London, 30 June
    late.created_at = datetime(2026, 6, 30, 23, 30, tzinfo=UTC)  # 00:30 in London, 1 July
    db.session.commit()
    july = list_subscribers(ListFilter(since=date(2026, 7, 1)))
    assert [s.email for s in july.rows] == ["late@example.org"]
    june = list_subscribers(ListFilter(until=date(2026, 6, 30)))
    assert [s.email for s in june.rows] == ["early@example.org"]


def test_search_finds_part_of_an_address_or_name_and_treats_wildcards_as_text(
    editor_client, make_subscriber
):
    make_subscriber("Gwen.Jones@Example.org", name="Gwen")
    make_subscriber("other@example.org", name="Dafydd ap Gwilym")
    make_subscriber("per%cent@example.org")
    assert emails(editor_client.get("/editor/subscribers/list?q=jones@").text) == [
        "Gwen.Jones@Example.org"
    ]
    assert emails(editor_client.get("/editor/subscribers/list?q=gwilym").text) == [
        "other@example.org"
    ]
    assert emails(editor_client.get("/editor/subscribers/list?q=%25").text) == [
        "per%cent@example.org"
    ]
    assert emails(editor_client.get("/editor/subscribers/list?q=_").text) == []


def test_pages_go_older_and_back_newer_keeping_the_filters(app, editor_client, make_subscriber):
    made = [make_subscriber(f"r{n:02}@example.org", region="mid-wales") for n in range(7)]
    make_subscriber("elsewhere@example.org", region="north-wales")
    first = list_subscribers(ListFilter(region="mid-wales"), size=3)
    assert [s.email for s in first.rows] == [
        "r06@example.org",
        "r05@example.org",
        "r04@example.org",
    ]
    assert first.newer is None and first.total == 7
    second = list_subscribers(ListFilter(region="mid-wales"), after=first.older, size=3)
    third = list_subscribers(ListFilter(region="mid-wales"), after=second.older, size=3)
    assert [s.email for s in third.rows] == ["r00@example.org"] and third.older is None
    back = list_subscribers(ListFilter(region="mid-wales"), before=third.newer, size=3)
    assert [s.id for s in back.rows] == [s.id for s in second.rows]
    assert back.newer == second.newer and back.older == second.older
    html = editor_client.get("/editor/subscribers/list?region=mid-wales").text
    assert len(emails(html)) == 7 and 'rel="next"' not in html
    assert made


def test_page_links_carry_the_filters(app, editor_client, make_subscriber, monkeypatch):
    monkeypatch.setattr("bulletin.editorial.views_subscribers.PAGE_SIZE", 2)
    for n in range(3):
        make_subscriber(f"p{n}@example.org", language="cy")
    html = editor_client.get("/editor/subscribers/list?language=cy").text
    link = re.search(r'href="([^"]+)" rel="next"', html).group(1).replace("&amp;", "&")
    assert "language=cy" in link
    assert emails(editor_client.get(link).text) == ["p0@example.org"]


def test_empty_list_and_bad_input_say_so(editor_client, make_subscriber):
    html = editor_client.get("/editor/subscribers/list?lang=en").text
    assert "No subscriber matches these filters." in html and "0 subscribers match" in html
    html = editor_client.get("/editor/subscribers/list?lang=cy").text
    assert "Does dim tanysgrifiwr" in html
    refused = editor_client.get("/editor/subscribers/list?status=nonsense&since=yesterday")
    assert refused.status_code == 400 and "error-summary" in refused.text
    assert editor_client.get("/editor/subscribers/list?after=abc").status_code == 400


def test_subscriber_list_is_for_admins_only(app, make_editor, make_subscriber):
    make_subscriber("private@example.org")
    assert app.test_client().get("/editor/subscribers/list").status_code in (302, 401)
    plain = app.test_client()
    sign_in(plain, make_editor(role="editor"))
    refused = plain.get("/editor/subscribers/list?q=private")
    assert refused.status_code == 403 and "private@example.org" not in refused.text
