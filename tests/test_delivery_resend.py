"""Sending an issue again: by default only to readers who have not had it (issue 13)."""

from __future__ import annotations

from sqlalchemy import select, update

from bulletin.core.sends import count_reach
from bulletin.delivery.pipeline import materialise
from bulletin.extensions import db
from bulletin.models import Delivery, DeliveryStatus, Send
from tests.conftest import csrf_token
from tests.support.delivery_helpers import configure, make_issue_row, make_send


def _post_send(client, issue, **extra) -> tuple[str, object]:
    """Count the audience, then confirm: the count page's HTML and the final response."""
    page = client.get("/editor/sends/new")
    data = {"csrf_token": csrf_token(page.get_data(True)), "issue": str(issue.id), "when": "now"}
    data.update(extra)
    counted = client.post("/editor/sends/new", data=data)
    assert counted.status_code == 200
    html = counted.get_data(True)
    data["confirmed"] = _hidden(html, "confirmed")
    return html, client.post("/editor/sends/new", data=data)


def _hidden(html: str, name: str) -> str:
    marker = f'name="{name}" type="hidden" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def _newest_send() -> Send:
    return db.session.scalar(select(Send).order_by(Send.id.desc()))


def test_a_second_send_goes_only_to_the_rest_unless_the_editor_says_everyone(
    app, editor_client, make_subscriber, smtp_server, run_worker_once
):
    settings = configure(app, smtp_server)
    issue = make_issue_row()
    north = [make_subscriber(region="north-wales") for _ in range(2)]
    mid = [make_subscriber(region="mid-wales") for _ in range(3)]

    first_html, first = _post_send(editor_client, issue, regions="north-wales")
    assert first.status_code == 303 and "already had" not in first_html
    run_worker_once(app, settings, times=2)
    assert sorted(r for m in smtp_server.received for r in m.rcpt_tos) == sorted(
        s.email for s in north
    )

    html, second = _post_send(editor_client, issue)
    assert "This send reaches 5 people." in html
    assert "2 people in this audience have already had this issue." in html
    assert "it goes to 3 people." in html and 'value="everyone"' in html
    assert second.status_code == 303 and _newest_send().exclude_already_sent
    run_worker_once(app, settings, times=2)
    got = [r for m in smtp_server.received for r in m.rcpt_tos]
    assert sorted(got) == sorted(s.email for s in north + mid)  # nobody twice

    third_html, third = _post_send(editor_client, issue, recipients="everyone")
    assert "5 people in this audience have already had this issue." in third_html
    assert third.status_code == 303 and not _newest_send().exclude_already_sent
    run_worker_once(app, settings, times=2)
    got = [r for m in smtp_server.received for r in m.rcpt_tos]
    assert len(got) == 10 and {got.count(s.email) for s in north + mid} == {2}


def test_a_reader_whose_earlier_delivery_failed_gets_it_again(app, make_subscriber):
    configure(app)
    issue = make_issue_row()
    had, failed = make_subscriber(), make_subscriber()
    earlier = make_send(issue)
    for reader, status in ((had, DeliveryStatus.SENT), (failed, DeliveryStatus.FAILED)):
        db.session.add(Delivery(send_id=earlier.id, subscriber_id=reader.id, language="en"))
        db.session.flush()
        db.session.execute(
            update(Delivery).where(Delivery.subscriber_id == reader.id).values(status=status)
        )
    db.session.commit()
    reach = count_reach(issue, {"topics": [], "regions": [], "languages": []})
    assert (reach.audience, reach.already_had, reach.rest) == (2, 1, 1)
    other_issue = make_issue_row()
    assert count_reach(other_issue, {"topics": [], "regions": [], "languages": []}).rest == 2
    again = make_send(issue)
    assert again.exclude_already_sent  # the column's default: the safe choice
    assert materialise(again) == 1
    db.session.commit()
    rows = db.session.scalars(select(Delivery.subscriber_id).filter_by(send_id=again.id)).all()
    assert rows == [failed.id]


def test_the_audience_is_named_in_the_page_language(editor_client, make_subscriber):
    make_subscriber(region="outside-wales", language="cy", topics=["news"])
    issue = make_issue_row()
    picked = {"topics": "news", "regions": "outside-wales", "languages": "cy"}
    english, _ = _post_send(editor_client, issue, **picked)
    assert "Audience: News; Outside Wales; Cymraeg" in english
    editor_client.get("/editor/sends/new?lang=cy")
    welsh, done = _post_send(editor_client, issue, **picked)
    assert "Cynulleidfa: Newyddion; Y tu allan i Gymru; Cymraeg" in welsh
    assert "outside-wales" not in welsh.split("Cynulleidfa:")[1].split("</p>")[0]
    page = editor_client.get(done.headers["Location"]).get_data(True)
    assert "Newyddion; Y tu allan i Gymru; Cymraeg" in page
