"""Insights: weekly figures from the consent trail, today's audience with the small-number
rule, and the charts as well-formed, labelled SVG with a table of the same figures."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest

from bulletin.core import insights
from bulletin.editorial.charts import bar_chart, line_chart
from bulletin.extensions import db
from bulletin.models import ConsentEvent, utcnow

SVG = "{http://www.w3.org/2000/svg}"


def _svg(markup: str) -> ET.Element:
    match = re.search(r"<svg.*?</svg>", markup, re.S)
    assert match, "no SVG in the markup"
    return ET.fromstring(match.group(0))  # raises on markup that is not well-formed


def _table(markup: str) -> list[tuple[str, str]]:
    body = markup.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = re.findall(r'<th scope="row">(.*?)</th><td class="numeric">(.*?)</td>', body)
    return [(html.unescape(a), html.unescape(b)) for a, b in rows]


def _drawn_texts(svg: ET.Element) -> list[str]:
    return [t.text for t in svg.iter(f"{SVG}text")]


def _events(kind: str, weeks_ago: int, n: int, now) -> None:
    """`n` consent events of `kind`, on the Tuesday of the week `weeks_ago` weeks back."""
    monday = insights.week_starts(weeks_ago + 1, now)[0]
    for i in range(n):
        db.session.add(
            ConsentEvent(
                subject_uid=f"{kind}-{weeks_ago}-{i}",
                kind=kind,
                source="test",
                created_at=monday + timedelta(days=1, hours=i),
            )
        )


def test_bar_chart_is_labelled_svg_with_the_same_figures_in_a_table(app):
    pairs = [("Gogledd <Cymru>", 120), ("Canolbarth", 3), ("De", 0)]
    with app.test_request_context("/?lang=en"):
        markup = str(bar_chart("t", "Readers by region", pairs, desc="Where readers live."))
    svg = _svg(markup)
    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "t-title t-desc"
    assert svg.find(f"{SVG}title").get("id") == "t-title"
    assert svg.find(f"{SVG}title").text == "Readers by region"
    desc = svg.find(f"{SVG}desc").text
    assert desc.startswith("Where readers live.") and "Gogledd <Cymru>: 120" in desc
    # Each bar has its label and its figure written by it, as the table says.
    texts = _drawn_texts(svg)
    table = _table(markup)
    assert table == [("Gogledd <Cymru>", "120"), ("Canolbarth", "fewer than 5"), ("De", "0")]
    for label, figure in table:
        assert label in texts and figure in texts
    assert "3" not in texts and "3" not in [f for _, f in table]  # the small-number rule
    assert "<details" in markup and "<script" not in markup


def test_line_chart_marks_and_labels_every_week_negative_values_included(app):
    values = [("1 Dec", 4), ("8 Dec", -2), ("15 Dec", 0)]
    with app.test_request_context("/?lang=cy"):
        markup = str(line_chart("g", "Twf net", values, desc="Pob wythnos."))
    svg = _svg(markup)
    assert svg.find(f"{SVG}title").text == "Twf net"
    assert len(list(svg.iter(f"{SVG}circle"))) == 3
    texts = _drawn_texts(svg)
    assert {"4", "-2", "1 Dec", "8 Dec", "15 Dec"} <= set(texts)
    assert _table(markup) == [("1 Dec", "4"), ("8 Dec", "-2"), ("15 Dec", "0")]
    assert "Y ffigurau mewn tabl" in markup  # the table's summary, in Welsh
    # The negative point is drawn below zero (SVG y grows downwards).
    zero = float(svg.find(f"{SVG}line").get("y1"))
    ys = [float(c.get("cy")) for c in svg.iter(f"{SVG}circle")]
    assert ys[0] < zero < ys[1] and ys[2] == pytest.approx(zero)


def test_weekly_growth_counts_signups_confirmations_and_unsubscribes_by_week(app):
    now = utcnow()
    _events("signup", 0, 7, now)
    _events("signup", 2, 3, now)
    _events("confirm", 2, 5, now)
    _events("unsubscribe", 1, 2, now)
    _events("preferences", 1, 4, now)  # not counted
    _events("signup", 12, 9, now)  # before the window
    db.session.commit()
    weeks = insights.weekly_growth(12, now)
    assert len(weeks) == 12
    last = weeks[-4:]
    assert [w.signups for w in last] == [0, 3, 0, 7]
    assert [w.confirmations for w in last] == [0, 5, 0, 0]
    assert [w.unsubscribes for w in last] == [0, 0, 2, 0]
    assert [w.net for w in last] == [0, 5, -2, 0]
    assert sum(w.signups for w in weeks) == 10
    assert all(w.starts_on.weekday() == 0 for w in weeks)


def test_insights_page_shows_the_figures_and_hides_small_segments(editor_client, make_subscriber):
    for _ in range(6):
        make_subscriber(topics=["workshops"], region="north-wales", language="en")
    for _ in range(3):
        make_subscriber(topics=["news"], region="mid-wales", language="cy")
    make_subscriber(status="unsubscribed", region="mid-wales")  # not in today's audience
    _events("signup", 1, 9, utcnow())
    db.session.commit()
    page = editor_client.get("/editor/insights?lang=en")
    assert page.status_code == 200
    text = page.text
    assert "9 people get the bulletin." in text
    regions = text.split("Subscribers by region</caption>", 1)[1]
    rows = dict(_table(regions))
    assert rows["North Wales"] == "6"
    assert rows["Mid Wales"] == "fewer than 5"  # 3 readers: not shown exactly
    assert rows["South East Wales"] == "0"
    languages = dict(_table(text.split("Subscribers by language</caption>", 1)[1]))
    assert languages == {
        "Cymraeg": "fewer than 5",
        "English": "6",
        "Cymraeg a Saesneg / Welsh and English": "0",
    }
    signups = dict(_table(text.split("Sign-ups per week</caption>", 1)[1]))
    assert sorted(signups.values()).count("9") == 1
    for chart in re.findall(r"<svg.*?</svg>", text, re.S):
        ET.fromstring(chart)
    welsh = editor_client.get("/editor/insights?lang=cy").text
    assert "llai na 5" in welsh and "Tanysgrifwyr fesul rhanbarth" in welsh


def test_insights_page_refuses_an_unknown_number_of_weeks(editor_client):
    assert editor_client.get("/editor/insights?weeks=1000").status_code == 400
    assert editor_client.get("/editor/insights?weeks=26").status_code == 200


def test_insights_page_needs_a_sign_in(client):
    page = client.get("/editor/insights")
    assert page.status_code == 302 and "/editor/login" in page.headers["Location"]
