"""Helpers of the ERP export tests: orders imported through the webhook code, WMS orders routed, files read."""

import csv
import json
from pathlib import Path

from django.utils import timezone

from oms.feeds.exports import outbox_folder
from oms.models import FulfillmentRequest, Order, OrderLine
from oms.routing.runs import order_route
from oms.shop.importer import shopify_webhook_receive
from stores.models import Facility
from tests.factories import FacilityFactory, OrderFactory, OrderLineFactory, ProductFactory
from tests.fulfillment.store_world import stock

FIXTURE = Path(__file__).resolve().parent.parent.parent / "fixtures" / "shopify_order.json"


def shop_order(**changes) -> dict:
    return json.loads(FIXTURE.read_text()) | changes


def imported_order(webhook_id: str = "wh-create", **changes) -> Order:
    """An order created by the webhook import code (orders/create), from the Shopify fixture."""
    for sku in ("SOCK-TRAIL-M", "BOTTLE-750-FOREST"):
        ProductFactory(sku=sku)
    result = shopify_webhook_receive(topic="orders/create", payload=shop_order(**changes), webhook_id=webhook_id)
    return result.order


def wms_warehouse(code: str = "WH-01") -> Facility:
    return FacilityFactory(code=code, kind=Facility.Kind.WAREHOUSE, fulfilled_by_wms=True, offers_pickup=False)


def wms_order(warehouse: Facility, items: list[tuple]) -> tuple[Order, FulfillmentRequest]:
    """An approved order of [(product, quantity)] routed to the WMS warehouse: its UNPROCESSED request."""
    now = timezone.now()
    for product, quantity in items:
        stock(warehouse, product, quantity + 5)
    order = OrderFactory(status=Order.Status.APPROVED, approved_at=now)
    for product, quantity in items:
        OrderLineFactory(order=order, product=product, quantity=quantity, status=OrderLine.Status.QUEUED,
                         queue=OrderLine.Queue.BROKERING, queued_at=now)
    order_route(order_id=order.pk, now=now)
    request = FulfillmentRequest.objects.get(order=order)
    assert (request.facility_id, request.status) == (warehouse.pk, FulfillmentRequest.Status.UNPROCESSED)
    return order, request


def files(kind: str) -> list[Path]:
    folder = outbox_folder(kind)
    return sorted(folder.glob("*.csv")) if folder.is_dir() else []


def read(path: Path) -> tuple[list[str], list[dict]]:
    """The header and the rows, as csv reads them."""
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)
