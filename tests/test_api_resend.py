"""A second send of an issue through the API leaves out those who had it, unless told not to."""

from __future__ import annotations

from sqlalchemy import select, update

from bulletin.delivery.pipeline import materialise
from bulletin.extensions import db
from bulletin.models import Delivery, DeliveryStatus, Send


def _first_send_reached(api, issue, readers) -> None:
    """A first send whose deliveries to `readers` went out."""
    url = f"/api/v1/issues/{issue.id}/sends"
    first = api.post(url, json={"audience": {}, "scheduled_at": "now"}).get_json()
    materialise(db.session.get(Send, first["id"]))
    db.session.execute(
        update(Delivery)
        .where(Delivery.subscriber_id.in_([r.id for r in readers]))
        .values(status=DeliveryStatus.SENT)
    )
    db.session.commit()


def _recipients(send_id: int) -> set[int]:
    materialise(db.session.get(Send, send_id))
    db.session.commit()
    return set(db.session.scalars(select(Delivery.subscriber_id).filter_by(send_id=send_id)))


def test_a_second_send_leaves_out_those_who_had_it_by_default(api, make_issue, make_subscriber):
    issue = make_issue("March")
    had, rest = make_subscriber(), make_subscriber()
    _first_send_reached(api, issue, [had])
    url = f"/api/v1/issues/{issue.id}/sends"
    response = api.post(url, json={"audience": {}, "scheduled_at": "now"})
    assert response.status_code == 201
    send = response.get_json()
    assert send["exclude_already_sent"] is True and send["audience_count"] == 1
    assert _recipients(send["id"]) == {rest.id}


def test_exclude_already_sent_false_sends_to_everyone(api, make_issue, make_subscriber):
    issue = make_issue("March")
    had, rest = make_subscriber(), make_subscriber()
    _first_send_reached(api, issue, [had])
    body = {"audience": {}, "scheduled_at": "now", "exclude_already_sent": False}
    response = api.post(f"/api/v1/issues/{issue.id}/sends", json=body)
    assert response.status_code == 201
    send = response.get_json()
    assert send["exclude_already_sent"] is False and send["audience_count"] == 2
    assert _recipients(send["id"]) == {had.id, rest.id}
    listed = api.get(f"/api/v1/sends/{send['id']}").get_json()
    assert listed["exclude_already_sent"] is False


def test_exclude_already_sent_must_be_a_boolean(api, make_issue):
    issue = make_issue("March")
    body = {"audience": {}, "scheduled_at": "now", "exclude_already_sent": "yes"}
    response = api.post(f"/api/v1/issues/{issue.id}/sends", json=body)
    assert response.status_code in (400, 422)
    assert "exclude_already_sent" in response.get_data(True)
