"""Turning Shopify's order JSON into orders and lines: fields, pickup, pre-/backorders, problems, updates."""

import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from oms.core.history import transit_and_save
from oms.models import Order, OrderNote, ShopWebhook
from oms.shop.importer import shopify_webhook_receive
from oms.shop.payload import ShopPayloadError
from tests.factories import FacilityFactory, ProductFactory

pytestmark = pytest.mark.django_db

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "shopify_order.json"


def shop_order(**changes) -> dict:
    return json.loads(FIXTURE.read_text()) | changes


def receive(topic: str, payload: dict, webhook_id: str | None = None, now=None):
    return shopify_webhook_receive(topic=topic, payload=payload, webhook_id=webhook_id, now=now)


def create(payload: dict, webhook_id: str | None = None):
    return receive("orders/create", payload, webhook_id)


def set_property(payload: dict, line_index: int, name: str, value: str) -> dict:
    payload["line_items"][line_index]["properties"].append({"name": name, "value": value})
    return payload


@pytest.fixture
def catalog():
    return [ProductFactory(sku="SOCK-TRAIL-M"), ProductFactory(sku="BOTTLE-750-FOREST")]


def test_order_fields_are_taken_from_the_shopify_json(catalog):
    result = create(shop_order())

    order = Order.objects.get(pk=result.order.pk)
    assert (order.name, order.email, order.customer_name, order.phone) == (
        "#1042", "ada.lovelace@example.com", "Ada Lovelace", "+13125550142"
    )
    assert order.payment_status == "paid"
    assert order.tags == ["VIP", "newsletter"]
    assert (order.currency, order.total_price) == ("USD", Decimal("112.80"))
    assert order.shipping_address["zip"] == "60613" and order.billing_address["zip"] == "60606"
    assert order.ordered_at == datetime.fromisoformat("2026-11-20T10:15:42-06:00")
    assert order.shop_updated_at == datetime.fromisoformat("2026-11-20T10:15:43-06:00")
    assert order.raw["id"] == 5849372917843
    line = order.lines.get(sku="BOTTLE-750-FOREST")
    assert (line.title, line.unit_price, line.kind, line.pickup_store_code) == (
        "Insulated Bottle 750 ml", Decimal("79.00"), "STANDARD", ""
    )


def test_unknown_sku_is_stored_with_the_problem_recorded(catalog):
    payload = shop_order()
    payload["line_items"][1]["sku"] = "NOT-IN-CATALOG"

    result = create(payload)

    assert result.outcome == "created" and result.held
    line = result.order.lines.get(external_line_id="14372092612691")
    assert (line.product, line.sku) == (None, "NOT-IN-CATALOG")
    assert [p["code"] for p in Order.objects.get().problems] == ["UNKNOWN_SKU"]
    assert "NOT-IN-CATALOG" in result.problems[0]["message"]
    assert Order.objects.get().status == "CREATED"


def test_unknown_pickup_store_is_stored_with_the_problem_recorded(catalog):
    result = create(set_property(shop_order(), 0, "_pickupstore", "NOWHERE-99"))

    line = result.order.lines.get(external_line_id="14372092579923")
    assert (line.pickup_store_code, line.pickup_facility) == ("NOWHERE-99", None)
    assert [p["code"] for p in Order.objects.get().problems] == ["UNKNOWN_PICKUP_STORE"]


def test_pickup_store_from_line_property_marks_only_that_line(catalog):
    store = FacilityFactory(code="CHI-01")

    result = create(set_property(shop_order(), 0, "_pickupstore", "CHI-01"))

    pickup, shipped = result.order.lines.order_by("pk")
    assert (pickup.pickup_store_code, pickup.pickup_facility) == ("CHI-01", store)
    assert (shipped.pickup_store_code, shipped.pickup_facility) == ("", None)
    assert result.order.delivery_method == "MIXED"
    assert result.problems == []


def test_pickup_store_from_shipping_line_and_note_attribute_applies_to_all_lines(catalog):
    store = FacilityFactory(code="CHI-02")
    payload = shop_order(
        shipping_lines=[{"id": 1, "code": "pickup", "title": "Pick up in store", "price": "0.00"}],
        note_attributes=[{"name": "pickup_store", "value": "CHI-02"}],
    )

    result = create(payload)

    assert {(line.pickup_store_code, line.pickup_facility_id) for line in result.order.lines.all()} == {
        ("CHI-02", store.pk)
    }
    assert result.order.delivery_method == "PICKUP"


def test_pickup_shipping_line_without_a_store_is_a_problem(catalog):
    result = create(shop_order(shipping_lines=[{"code": "pickup", "title": "Pick up in store"}]))

    assert [p["code"] for p in result.problems] == ["MISSING_PICKUP_STORE"]


def test_preorder_and_backorder_properties_set_kind_and_promise_date(catalog):
    payload = set_property(shop_order(), 0, "_preorder", "2026-12-15")
    payload = set_property(payload, 1, "_backorder", "")

    result = create(payload)

    preorder, backorder = result.order.lines.order_by("pk")
    assert (preorder.kind, preorder.promise_date) == ("PRE_ORDER", date(2026, 12, 15))
    assert (backorder.kind, backorder.promise_date) == ("BACKORDER", None)
    assert result.problems == []


def test_bad_promise_date_is_a_problem_and_the_kind_is_still_set(catalog):
    result = create(set_property(shop_order(), 0, "_backorder", "15/12/2026"))

    line = result.order.lines.get(external_line_id="14372092579923")
    assert (line.kind, line.promise_date) == ("BACKORDER", None)
    assert [p["code"] for p in result.problems] == ["BAD_PROMISE_DATE"]


def test_line_item_without_a_whole_quantity_is_not_an_order(catalog):
    payload = shop_order()
    payload["line_items"][0]["quantity"] = payload["line_items"][0]["current_quantity"] = "two"

    with pytest.raises(ShopPayloadError, match="quantity"):
        create(payload)
    assert not Order.objects.exists() and not ShopWebhook.objects.exists()


def test_cancel_before_create_is_remembered_and_applied_when_the_order_arrives(catalog):
    remembered = receive("orders/cancelled", shop_order(cancel_reason="customer"), "wh-cancel")
    assert (remembered.outcome, remembered.order) == ("cancel-remembered", None)
    assert ShopWebhook.objects.get(webhook_id="wh-cancel").applied_at is None

    result = create(shop_order(), "wh-create")

    order = Order.objects.get(pk=result.order.pk)
    assert order.status == "CANCELED"
    assert set(order.lines.values_list("status", flat=True)) == {"CANCELED"}
    assert order.history.filter(transition="cancel", reason="Canceled in the shop: customer").exists()
    assert ShopWebhook.objects.get(webhook_id="wh-cancel").applied_at is not None
    assert not order.outbox_messages.filter(destination="SHOP").exists()  # the shop canceled it: no echo


def test_update_that_removes_the_hold_tag_records_a_note(catalog):
    create(shop_order(tags="HOLD, VIP"))

    result = receive("orders/updated", shop_order(tags="VIP", updated_at="2026-11-20T10:20:00-06:00"))

    assert result.outcome == "updated"
    order = Order.objects.get()
    assert order.tags == ["VIP"]
    assert list(order.notes.values_list("text", flat=True)) == ["Tags changed: removed HOLD"]


def test_update_of_payment_status_and_address_records_each_change(catalog):
    create(shop_order(financial_status="pending"))
    payload = shop_order(financial_status="paid", updated_at="2026-11-20T10:20:00-06:00")
    payload["shipping_address"] = payload["shipping_address"] | {"address1": "2 Other St"}

    receive("orders/updated", payload)

    order = Order.objects.get()
    assert (order.payment_status, order.shipping_address["address1"]) == ("paid", "2 Other St")
    texts = list(OrderNote.objects.values_list("text", flat=True))
    assert "Payment status changed from pending to paid" in texts
    assert any(text.startswith("Shipping address changed") and "2 Other St" in text for text in texts)


def test_update_re_resolves_the_pickup_store_and_its_problem(catalog):
    create(set_property(shop_order(), 0, "_pickupstore", "CHI-09"))
    assert [p["code"] for p in Order.objects.get().problems] == ["UNKNOWN_PICKUP_STORE"]
    store = FacilityFactory(code="CHI-03")

    receive("orders/updated", set_property(shop_order(updated_at="2026-11-20T11:00:00-06:00"), 0,
                                           "_pickupstore", "CHI-03"))

    order = Order.objects.get()
    line = order.lines.get(external_line_id="14372092579923")
    assert (line.pickup_store_code, line.pickup_facility) == ("CHI-03", store)
    assert order.problems == []
    assert order.notes.filter(text__contains="Pickup store").exists()


def test_update_does_not_change_approval_fields_of_an_approved_order(catalog):
    result = create(shop_order(tags="VIP"))
    transit_and_save(result.order, "approve", at=timezone.now(), reason="test")

    receive("orders/updated", shop_order(tags="HOLD", updated_at="2026-11-20T11:00:00-06:00"))

    assert Order.objects.get().tags == ["VIP"]


def test_update_with_reduced_quantity_cancels_the_units_once(catalog):
    result = create(shop_order())
    transit_and_save(result.order, "approve", at=timezone.now(), reason="test")
    payload = shop_order(updated_at="2026-11-20T11:00:00-06:00")
    payload["line_items"][0]["current_quantity"] = 1
    now = timezone.now()

    receive("orders/updated", payload, now=now)
    receive("orders/updated", payload | {"updated_at": "2026-11-20T11:00:01-06:00"}, now=now + timedelta(seconds=5))

    order = Order.objects.get()
    assert order.pending_changes == []
    lines = order.lines.filter(external_line_id="14372092579923")
    assert sorted(lines.values_list("status", "quantity")) == [("CANCELED", 1), ("CREATED", 1)]
    assert order.notes.filter(text__contains="reduced in the shop from 2 to 1").count() == 1


def test_update_older_than_the_last_one_is_ignored(catalog):
    create(shop_order(financial_status="pending"))
    receive("orders/updated", shop_order(financial_status="paid", updated_at="2026-11-20T11:00:00-06:00"))

    late = receive("orders/updated", shop_order(financial_status="pending", updated_at="2026-11-20T10:30:00-06:00"))

    assert late.outcome == "ignored"
    assert Order.objects.get().payment_status == "paid"


def test_update_for_an_unknown_order_imports_it(catalog):
    result = receive("orders/updated", shop_order())

    assert result.outcome == "created"
    assert Order.objects.get().lines.count() == 2
