"""Cancelling an order: lines, reservations, open work, the timeline and the one message to the shop."""

import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from fulfillment.models import PickJob, PickLine
from oms.core.history import transit_and_save
from oms.models import FulfillmentRequest, OrderLine, OutboxMessage, TransitionLog
from oms.orders.cancel import order_cancel
from oms.shop.importer import shopify_webhook_receive
from stores.models import StockLevel
from stores.stock import stock_adjust, stock_reserve
from tests.factories import FacilityFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "shopify_order.json"


def shop_order(**changes) -> dict:
    return json.loads(FIXTURE.read_text()) | changes


@pytest.fixture
def store():
    return FacilityFactory(code="CHI-01")


@pytest.fixture
def order(store):
    """An imported order whose sock line is allocated at the store, with a pick job open for it."""
    sock, _ = ProductFactory(sku="SOCK-TRAIL-M"), ProductFactory(sku="BOTTLE-750-FOREST")
    now = timezone.now()
    order = shopify_webhook_receive(topic="orders/create", payload=shop_order(), webhook_id="wh-create").order
    with transaction.atomic():
        stock_adjust(facility_id=store.pk, product_id=sock.pk, delta=5, reason="RECEIPT", source="test")
        transit_and_save(order, "approve", at=now, reason="test")
        for line in order.lines.all():
            line.queue = "BROKERING"
            transit_and_save(line, "enqueue", at=now, reason="test")
        line = order.lines.get(sku="SOCK-TRAIL-M")
        assert stock_reserve(facility_id=store.pk, product_id=sock.pk, quantity=line.quantity, order_line_id=line.pk)
        request = FulfillmentRequest.objects.create(order=order, facility=store, number=f"{order.name}-1",
                                                    created_at=now)
        line.allocated_facility, line.fulfillment_request = store, request
        transit_and_save(line, "allocate", at=now, reason="test")
        transit_and_save(request, "process", at=now, reason="test")
        transit_and_save(request, "mark_sent", at=now, reason="test")
        job = PickJob.objects.create(facility=store, order=order, fulfillment_request=request, created_at=now)
        PickLine.objects.create(pick_job=job, order_line=line, product=sock, quantity=line.quantity)
    return order


def reserved(store) -> int:
    return StockLevel.objects.get(facility=store).reserved


def test_shop_cancel_of_unfulfilled_order_cancels_everything_and_does_not_notify_the_shop(order, store):
    assert reserved(store) == 2

    result = shopify_webhook_receive(
        topic="orders/cancelled", payload=shop_order(cancel_reason="customer"), webhook_id="wh-cancel"
    )

    assert result.outcome == "canceled"
    order.refresh_from_db()
    assert order.status == "CANCELED"
    assert set(order.lines.values_list("status", flat=True)) == {"CANCELED"}
    assert reserved(store) == 0
    assert FulfillmentRequest.objects.get().status == "CANCELED"
    assert PickJob.objects.get().status == "CANCELED" and PickLine.objects.get().status == "CANCELED"
    assert not OutboxMessage.objects.filter(destination="SHOP").exists()
    canceled = TransitionLog.objects.filter(order=order, transition="cancel")
    assert canceled.count() == 1 + 2 + 1 + 1 + 1  # order, two lines, request, pick job, pick line
    assert set(canceled.values_list("reason", flat=True)) == {"Canceled in the shop: customer"}
    call_command("check_stock_ledger")  # the release is in the ledger too


def test_order_cancel_from_us_writes_exactly_one_shop_message_when_called_twice(order):
    actor = UserFactory()

    order_cancel(order_id=order.pk, actor=actor, reason="Customer called the service desk")
    order_cancel(order_id=order.pk, actor=actor, reason="Customer called the service desk")

    message = OutboxMessage.objects.get(destination="SHOP")
    assert (message.kind, message.destination, message.idempotency_key) == (
        "order-canceled", "SHOP", f"order-canceled:{order.pk}"
    )
    assert message.payload == {
        "external_id": "5849372917843", "name": "#1042", "reason": "Customer called the service desk",
        "canceled_line_ids": ["14372092579923", "14372092612691"],
    }
    assert TransitionLog.objects.filter(object_type="order", transition="cancel", actor=actor).count() == 1


def test_cancel_with_a_fulfilled_line_cancels_the_rest_and_completes_the_order(order, store):
    allocated = order.lines.get(sku="SOCK-TRAIL-M")
    transit_and_save(allocated, "fulfil", at=timezone.now(), reason="handed over")

    order_cancel(order_id=order.pk, reason="Canceled in the shop: customer", notify_shop=False)

    order.refresh_from_db()
    assert dict(order.lines.values_list("sku", "status")) == {
        "SOCK-TRAIL-M": "FULFILLED", "BOTTLE-750-FOREST": "CANCELED",
    }
    assert order.notes.filter(text__startswith="Cancellation could not be applied fully").count() == 1
    # Nothing is left open: the order completes, and the shop hears of the completion, not a cancel.
    assert order.status == "COMPLETED"
    assert list(OutboxMessage.objects.filter(destination="SHOP").values_list("kind", flat=True)) == [
        "order-completed"]


def test_cancel_with_a_fulfilled_line_leaves_allocated_lines_to_the_store(order, store):
    bottle = order.lines.get(sku="BOTTLE-750-FOREST")
    bottle.allocated_facility = store
    transit_and_save(bottle, "allocate", at=timezone.now(), reason="test")
    transit_and_save(order.lines.get(sku="SOCK-TRAIL-M"), "fulfil", at=timezone.now(), reason="handed over")

    order_cancel(order_id=order.pk, reason="Canceled in the shop", notify_shop=False)

    assert OrderLine.objects.get(pk=bottle.pk).status == "ALLOCATED"
    assert PickJob.objects.get().status == "OPEN"
    assert OrderLine.objects.get(pk=bottle.pk).order.status == "APPROVED"
