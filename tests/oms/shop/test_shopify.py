"""The Shopify adapter against a fake Admin GraphQL endpoint (tests/fake_shopify.py) that checks each operation
and its variables: fulfillments with tracking (from a real carrier handover), pickups, cancellations, order
edits, throttling, userErrors — and that a message sent twice (a crash after Shopify answered) changes nothing
the second time."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from fulfillment.counter import pickup_hand_over
from oms.core.shop_messages import shop_lines_canceled
from oms.models import OrderLine, OutboxMessage
from oms.outbox.dispatch import outbox_dispatch
from oms.outbox.messages import outbox_write
from tests.factories import OrderFactory, OrderLineFactory, ProductFactory
from tests.fulfillment.counter_world import ready_pickup
from tests.fulfillment.store_world import stock
from tests.shopify_world import send_again, shipped_order, shop_messages, shopify_configured, shopify_store

pytestmark = pytest.mark.django_db

SHOP = OutboxMessage.Destination.SHOP
DELIVERED, FAILED, PENDING = OutboxMessage.Status.DELIVERED, OutboxMessage.Status.FAILED, OutboxMessage.Status.PENDING


@pytest.fixture
def shopify(settings):
    fake = shopify_configured(settings)
    yield fake
    fake.stop()


@pytest.fixture
def store():
    return shopify_store()


def test_a_shipment_becomes_a_shopify_fulfillment_with_its_tracking_and_the_customer_notified(shopify, store):
    order = shipped_order(store, shopify)
    fulfillment, completed = shop_messages(order)
    assert (fulfillment.kind, completed.kind) == ("fulfillment", "order-completed")

    assert outbox_dispatch().delivered == 2

    assert shopify.operations() == ["StorefillFulfillmentOrders", "StorefillFulfillmentCreate"]
    [made] = shopify.orders[order.external_id].fulfillments
    parcels = fulfillment.payload["parcels"]
    assert made["tracking"] == {
        "company": fulfillment.payload["carrier"]["name"],
        "numbers": [parcel["tracking_number"] for parcel in parcels],
        "urls": [parcel["tracking_url"] for parcel in parcels],
    }
    assert made["notify"] is True
    line = order.lines.get()
    assert made["lines"] == {line.external_line_id: 2}

    send_again(fulfillment)
    assert outbox_dispatch().delivered == 1
    assert shopify.operations()[2:] == ["StorefillFulfillmentOrders"]  # nothing left to fulfil: no second one
    assert len(shopify.orders[order.external_id].fulfillments) == 1


def write(order, kind: str, payload: dict, key: str | None = None) -> OutboxMessage:
    with transaction.atomic():
        return outbox_write(kind=kind, destination=SHOP, order=order, idempotency_key=key or f"{kind}:{order.pk}",
                            payload={"external_id": order.external_id, "name": order.name, **payload})


def test_lines_assigned_to_two_locations_are_fulfilled_location_by_location(shopify, store):
    order = OrderFactory()
    shopify.add_order(order.external_id, {"11": 1, "12": 2}, locations={"11": "70001", "12": "70002"})
    message = write(order, "fulfillment", {
        "facility": "SHOPIFY-01", "carrier": {"code": "ups", "name": "UPS"}, "service": "GROUND",
        "parcels": [{"tracking_number": "1Z1", "tracking_url": "https://ups.example/1Z1"}],
        "lines": [{"external_line_id": "11", "sku": "A", "quantity": 1}, {"external_line_id": "12", "sku": "B",
                                                                           "quantity": 2}],
    })

    outbox_dispatch()

    assert OutboxMessage.objects.get(pk=message.pk).status == DELIVERED
    assert shopify.operations().count("StorefillFulfillmentCreate") == 2
    assert shopify.orders[order.external_id].fulfilled == {"11": 1, "12": 2}


def test_a_throttled_query_waits_for_its_cost_to_be_restored(shopify):
    order = OrderFactory()
    shopify.add_order(order.external_id, {"21": 1})
    shopify.throttle_next = 1
    message = write(order, "order-canceled", {"reason": "customer changed their mind"})
    now = timezone.now()

    outbox_dispatch(now=now)

    message = OutboxMessage.objects.get(pk=message.pk)
    assert (message.status, message.last_error) == (PENDING, "TemporaryDeliveryError: StorefillFulfillmentOrders: "
                                                             "throttled by Shopify")
    assert message.due_at >= now + timedelta(seconds=2)  # (250 requested − 50 available) / 100 per second
    outbox_dispatch(now=message.due_at)
    assert OutboxMessage.objects.get(pk=message.pk).status == DELIVERED
    assert shopify.orders[order.external_id].cancel["reason"] == "OTHER"


def test_user_errors_fail_the_message_with_shopifys_words(shopify):
    order = OrderFactory()
    shopify.add_order(order.external_id, {"31": 1})
    shopify.user_errors_next["fulfillmentCreate"] = [{"field": ["fulfillment", "trackingInfo"],
                                                      "message": "Tracking number is invalid"}]
    message = write(order, "fulfillment", {"facility": "", "carrier": None, "service": "PICKUP", "parcels": [],
                                           "lines": [{"external_line_id": "31", "sku": "A", "quantity": 1}]})

    assert outbox_dispatch().failed == 1

    message = OutboxMessage.objects.get(pk=message.pk)
    assert message.status == FAILED
    assert message.last_error == ("permanent: fulfillmentCreate: fulfillment.trackingInfo: "
                                  "Tracking number is invalid")


def test_an_order_shopify_does_not_know_and_a_wrong_token_are_refused(shopify, settings):
    unknown = write(OrderFactory(), "order-canceled", {"reason": "x"})
    outbox_dispatch()
    assert OutboxMessage.objects.get(pk=unknown.pk).last_error.startswith("permanent: Shopify has no order")

    settings.SHOPIFY_ADMIN_TOKEN = "shpat_wrong"
    order = OrderFactory()
    shopify.add_order(order.external_id, {"41": 1})
    refused = write(order, "order-canceled", {"reason": "x"})
    outbox_dispatch()
    refused = OutboxMessage.objects.get(pk=refused.pk)
    assert refused.status == FAILED and "HTTP 401" in refused.last_error


def test_an_order_canceled_here_is_canceled_in_shopify_once(shopify, settings):
    settings.SHOPIFY_CANCEL_REFUND = True
    order = OrderFactory()
    shopify.add_order(order.external_id, {"51": 2})
    message = write(order, "order-canceled", {"reason": "fraud review", "canceled_line_ids": ["51"]})

    outbox_dispatch()

    assert shopify.orders[order.external_id].cancel == {
        "orderId": f"gid://shopify/Order/{order.external_id}", "reason": "OTHER", "refund": True, "restock": False,
        "notifyCustomer": True, "staffNote": "Storefill: fraud review",
    }
    send_again(message)
    outbox_dispatch()
    assert OutboxMessage.objects.get(pk=message.pk).status == DELIVERED
    assert shopify.operations().count("StorefillOrderCancel") == 1


def test_canceled_units_are_edited_out_of_the_shopify_order_and_a_second_send_changes_nothing(shopify):
    order = OrderFactory()
    kept = OrderLineFactory(order=order, external_line_id="61", quantity=1, status=OrderLine.Status.QUEUED,
                            queue=OrderLine.Queue.BROKERING)
    gone = OrderLineFactory(order=order, external_line_id="61", quantity=2, status=OrderLine.Status.CANCELED,
                            product=kept.product)
    shopify.add_order(order.external_id, {"61": 3, "62": 1})
    with transaction.atomic():
        message = shop_lines_canceled(order=order, canceled=[(gone, 2)], reason="out of stock", now=timezone.now())
    assert message.payload["lines"] == [{"external_line_id": "61", "quantity": 2, "remaining": 1}]

    outbox_dispatch()

    assert shopify.operations() == ["StorefillOrderEditBegin", "StorefillOrderEditSetQuantity",
                                    "StorefillOrderEditCommit"]
    assert shopify.orders[order.external_id].quantities == {"61": 1, "62": 1}
    send_again(message)
    outbox_dispatch()
    assert shopify.operations()[3:] == ["StorefillOrderEditBegin"]  # already 1: nothing set, nothing committed
    assert shopify.orders[order.external_id].quantities == {"61": 1, "62": 1}


def test_completion_needs_no_call(shopify):
    message = write(OrderFactory(), "order-completed", {})
    outbox_dispatch()
    assert OutboxMessage.objects.get(pk=message.pk).status == DELIVERED
    assert shopify.calls == []


def test_when_the_shop_notifies_pickups_shopify_gets_prepared_for_pickup_and_we_send_no_email(
    shopify, store, settings,
):
    settings.PICKUP_READY_NOTIFIED_BY = "shop"
    facility, associate = store
    product = ProductFactory()
    stock(facility, product, 3)
    pickup = ready_pickup(facility, associate, [(product, 1)])
    order = pickup.order
    shopify.add_order(order.external_id, {line.external_line_id: line.quantity for line in order.lines.all()})

    assert not OutboxMessage.objects.filter(order=order, destination=OutboxMessage.Destination.EMAIL,
                                            kind="pickup-ready").exists()
    [ready] = shop_messages(order)
    assert (ready.kind, ready.payload["facility"]) == ("pickup-ready", "SHOPIFY-01")
    outbox_dispatch()
    assert shopify.orders[order.external_id].prepared_for_pickup == [
        f"gid://shopify/FulfillmentOrder/{order.external_id}70001"]

    pickup_hand_over(handover_id=pickup.pk, facility_id=facility.pk, actor=associate, version=None)
    outbox_dispatch()
    [made] = shopify.orders[order.external_id].fulfillments
    assert (made["tracking"], made["notify"]) == (None, False)  # handed over at the counter: no tracking, no email
    assert all(message.status == DELIVERED for message in shop_messages(order))


def test_our_ready_email_is_the_default_and_shopify_hears_nothing_until_the_handover(shopify, store):
    facility, associate = store
    product = ProductFactory()
    stock(facility, product, 3)
    pickup = ready_pickup(facility, associate, [(product, 1)])
    assert OutboxMessage.objects.filter(order=pickup.order, destination=OutboxMessage.Destination.EMAIL,
                                        kind="pickup-ready").exists()
    assert shop_messages(pickup.order) == []
