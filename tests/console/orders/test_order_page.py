"""The order page: facts, problems, lines, requests, store work, shipments with tracking, outbox, the timeline."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from oms.models import OrderNote, OutboxMessage, TransitionLog
from oms.routing.runs import order_route
from tests.console.orders.world import NOW, queued_order, routed, stocked_product, store
from tests.factories import OrderFactory, OrderLineFactory, UserFactory
from tests.fulfillment.packing_world import packed, picked_order
from tests.fulfillment.store_world import store_with_people

pytestmark = pytest.mark.django_db


def url(order) -> str:
    return f"/console/orders/{order.pk}/"


def outbox(order, number: int, **fields) -> OutboxMessage:
    defaults = {"kind": "order-canceled", "destination": "SHOP", "status": "PENDING", "due_at": NOW,
                "created_at": NOW}
    return OutboxMessage.objects.create(order=order, idempotency_key=f"test:{order.pk}:{number}",
                                        **(defaults | fields))


def test_the_page_shows_the_orders_facts(ops_client):
    order = OrderFactory(name="#F1", customer_name="Grace Hopper", email="grace@example.com", payment_status="paid",
                         tags=["VIP", "gift"], channel="shopify")
    OrderLineFactory(order=order, pickup_store_code="BOS-01")

    page = ops_client.get(url(order)).content.decode()

    for fact in ("#F1", "Created", "Grace Hopper", "grace@example.com", "Chicago, US", "shopify", "PICKUP",
                 "pickup at BOS-01", "paid", "VIP", "gift"):
        assert fact in page


def test_the_page_shows_import_problems_and_approval_blockers(ops_client):
    order = OrderFactory(problems=[{"code": "UNKNOWN_PICKUP_STORE", "message": "Pickup store XX is unknown."}],
                         approval_blockers=[{"code": "HOLD_TAG", "message": "The order is tagged HOLD."}])

    page = ops_client.get(url(order)).content.decode()

    assert "Import: UNKNOWN_PICKUP_STORE" in page and "Pickup store XX is unknown." in page
    assert "Approval blocked: HOLD_TAG" in page and "The order is tagged HOLD." in page


def test_the_page_shows_lines_requests_and_pick_jobs_with_their_states(ops_client):
    chicago = store("CHI-01")
    order = routed([stocked_product(chicago, sku="MUG-1")], quantity=2, name="#L1")
    request = order.fulfillment_requests.get()

    response = ops_client.get(url(order))

    page = response.content.decode()
    assert "MUG-1" in page and "Allocated" in page and request.number in page and "Processed" in page
    assert f"Pick job {order.pick_jobs.get().pk}" in page and "CHI-01" in page
    assert [row.request for row in response.context["page"].requests] == [request]


def test_the_page_shows_shipments_with_their_tracking_links(ops_client):
    facility, associate, _ = store_with_people("CHI-01")
    pack_job = picked_order(facility, associate, [(stocked_product(facility), 1)])
    packed(pack_job, associate)
    parcel = pack_job.shipment.parcels.get()

    page = ops_client.get(url(pack_job.order)).content.decode()

    assert parcel.tracking_number and parcel.tracking_url
    assert f'href="{parcel.tracking_url}"' in page and parcel.tracking_number in page
    assert f"Pack job {pack_job.pk}" in page and "Handover" in page


def test_the_page_shows_the_orders_outbox_messages(ops_client):
    order = OrderFactory()
    outbox(order, 1, kind="fulfillment", status="DEAD", attempts=10, last_error="shop answered 500")
    outbox(order, 2, kind="pickup-ready", destination="EMAIL", status="DELIVERED", delivered_at=NOW)

    page = ops_client.get(url(order)).content.decode()

    assert "fulfillment" in page and "Dead" in page and "shop answered 500" in page
    assert "pickup-ready" in page and "Customer email" in page and "Delivered" in page


def test_the_timeline_tells_transitions_notes_and_routing_in_words_in_the_operators_zone(ops_client):
    ops_client.post("/console/zone/", {"zone": "Europe/Berlin", "next": "/console/orders/"})
    chicago = store("CHI-01")
    order = queued_order([stocked_product(chicago, sku="MUG-1")], name="#TL")
    order_route(order_id=order.pk, now=NOW, reason="first routing")
    grace = UserFactory(username="grace", first_name="Grace", last_name="Hopper")
    OrderNote.objects.create(order=order, actor=grace, text="Customer called about the address.",
                             at=NOW + timedelta(minutes=5))
    TransitionLog.objects.create(object_type="order", object_id=order.pk, order=order, transition="cancel",
                                 source_state="APPROVED", target_state="CANCELED", actor=grace,
                                 reason="customer changed her mind", at=NOW + timedelta(minutes=10))

    response = ops_client.get(url(order))

    page = response.content.decode()
    texts = [entry.text for entry in response.context["page"].timeline]
    assert texts.index("Request #TL-1 at CHI-01 sent") < texts.index("Customer called about the address.")
    assert any(text.startswith("Routed by hand: Sent to Store CHI-01") or text.startswith("Routed (rule")
               for text in texts)
    assert "Line MUG-1 × 1 allocated" in page and "“first routing”" in page
    # 16:10 UTC is 17:10 in Berlin.
    assert "2025-03-03 17:10" in page and "Order #TL canceled" in page and "by Grace Hopper" in page
    assert "“customer changed her mind”" in page and "Times in Europe/Berlin" in page


def _queries(client, order) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url(order)).status_code == 200
    return len(captured)


def _busy_order(count: int):
    """An order with `count` routed lines (pick lines, timeline entries), `count` queued, notes and messages."""
    chicago = store("CHI-01")
    products = [stocked_product(chicago, on_hand=5) for _ in range(count)]
    order = routed(products)
    now = timezone.now()
    for number, product in enumerate(products):
        OrderLineFactory(order=order, product=product, status="QUEUED", queue="BROKERING", queued_at=now)
        OrderNote.objects.create(order=order, text=f"note {number}", at=now, actor=UserFactory(username=f"n{number}"))
        outbox(order, number)
    return order


def test_the_order_page_keeps_its_query_count_from_2_to_50_lines_and_entries(ops_client):
    small, large = _busy_order(2), _busy_order(50)
    assert large.history.count() >= 50 and large.lines.count() == 100 and large.notes.count() == 50

    assert _queries(ops_client, large) == _queries(ops_client, small)
