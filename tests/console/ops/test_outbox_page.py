"""The console's outbox page: counts, the filtered list, stopped messages and their retry (one or all)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from oms.models import OutboxMessage
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db

PENDING, DELIVERED, FAILED, DEAD = (OutboxMessage.Status.PENDING, OutboxMessage.Status.DELIVERED,
                                     OutboxMessage.Status.FAILED, OutboxMessage.Status.DEAD)


def message(status=PENDING, *, kind="pickup-ready", destination="EMAIL", order=None, error="", attempts=0):
    now = timezone.now()
    return OutboxMessage.objects.create(
        kind=kind, destination=destination, order=order, idempotency_key=f"k:{OutboxMessage.objects.count()}:{kind}",
        payload={"handover": 7}, status=status, due_at=now, created_at=now, attempts=attempts, last_error=error,
        delivered_at=now if status == DELIVERED else None)


def test_outbox_shows_counts_the_stopped_messages_and_the_list(ops_client):
    order = OrderFactory(name="#4242")
    message(DEAD, order=order, error="out of tries: 503 Service Unavailable", attempts=8)
    message(FAILED, kind="fulfillment", destination="SHOP", error="422 order is archived")
    message(DELIVERED)

    page = ops_client.get("/console/outbox/").content.decode()
    assert "Stopped messages" in page and "Retry all 2" in page
    assert "out of tries: 503 Service Unavailable" in page and "422 order is archived" in page
    assert f'href="/console/orders/{order.pk}/"' in page
    assert page.count("Yes, retry #") == 2


def test_outbox_list_filters_by_status_destination_kind_and_order(ops_client):
    order = OrderFactory(name="#5151")
    message(DEAD, order=order)
    message(PENDING, kind="fulfillment", destination="SHOP")
    message(DELIVERED, kind="pickup-ready")

    def listed(query):
        response = ops_client.get(f"/console/outbox/?{query}", headers={"HX-Request": "true"})
        return response.context["page"].paginator.count

    assert listed("status=DEAD") == 1
    assert listed("destination=SHOP") == 1
    assert listed("kind=pickup-ready") == 2
    assert listed("order=5151") == 1 and listed("order=%235151") == 1
    partial = ops_client.get("/console/outbox/?status=DEAD", headers={"HX-Request": "true"}).content.decode()
    assert partial.lstrip().startswith('<div id="outbox-list">')


def test_retry_one_puts_the_message_back_in_line(ops_client):
    stopped = message(DEAD, attempts=8, error="gave up")

    response = ops_client.post(f"/console/outbox/{stopped.pk}/retry/", follow=True)

    stopped.refresh_from_db()
    assert (stopped.status, stopped.attempts) == (PENDING, 0)
    assert f"Message #{stopped.pk}" in response.content.decode() and "back in line" in response.content.decode()


def test_retry_all_puts_every_stopped_message_back(ops_client):
    stopped = [message(DEAD, attempts=8), message(FAILED, attempts=1), message(DEAD, attempts=8)]
    delivered = message(DELIVERED, attempts=1)

    response = ops_client.post("/console/outbox/retry-all/", follow=True)

    assert "3 stopped messages are back in line" in response.content.decode()
    assert {(m.status, m.attempts) for m in OutboxMessage.objects.filter(pk__in=[m.pk for m in stopped])} == {
        (PENDING, 0)}
    delivered.refresh_from_db()
    assert delivered.status == DELIVERED


def test_retry_of_a_message_that_is_no_longer_stopped_is_refused(ops_client):
    gone = message(DELIVERED, attempts=1)

    response = ops_client.post(f"/console/outbox/{gone.pk}/retry/")

    assert response.status_code == 409
    assert "no longer stopped" in response.content.decode()
    gone.refresh_from_db()
    assert (gone.status, gone.attempts) == (DELIVERED, 1)
    assert ops_client.post("/console/outbox/retry-all/").status_code == 409
    assert ops_client.post("/console/outbox/999999/retry/").status_code == 404


def test_retry_needs_a_post(ops_client):
    stopped = message(DEAD)
    assert ops_client.get(f"/console/outbox/{stopped.pk}/retry/").status_code == 405
    stopped.refresh_from_db()
    assert stopped.status == DEAD


def outbox_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/console/outbox/").status_code == 200
    return len(queries)


def test_outbox_queries_do_not_grow_with_the_messages(ops_client):
    for status in (DEAD, PENDING):
        message(status, order=OrderFactory())
    few = outbox_queries(ops_client)
    for index in range(48):
        message([DEAD, FAILED, PENDING, DELIVERED][index % 4], order=OrderFactory())
    assert outbox_queries(ops_client) == few
