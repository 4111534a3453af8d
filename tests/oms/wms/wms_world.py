"""Helpers of the WMS import tests: a warehouse order sent (request PROCESSED), files imported from text."""

import io
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from oms.core.history import transit_and_save
from oms.feeds.wms import wms_feed_import
from oms.models import FeedFile, FulfillmentRequest, Order, OrderLine
from oms.routing.runs import order_route
from stores.models import Facility, StockLevel
from stores.stock import stock_adjust
from tests.factories import FacilityFactory, OrderFactory, OrderLineFactory, ProductFactory

ACK = FeedFile.Kind.ACKNOWLEDGEMENTS
FULFILLED = FeedFile.Kind.FULFILLED
REJECTED = FeedFile.Kind.REJECTED
ACK_HEADER = "order,line_id,facility\n"
FULFILLED_HEADER = "order,line_id,facility,shipped_at,quantity,tracking_number,carrier\n"
REJECTED_HEADER = "order,line_id,facility,quantity,reason\n"


@dataclass
class World:
    warehouse: Facility
    store: Facility  # no stock until a test gives it some
    lamp: object
    vase: object


def make_world() -> World:
    warehouse = FacilityFactory(code="WH-01", kind=Facility.Kind.WAREHOUSE, fulfilled_by_wms=True,
                                offers_pickup=False)
    store = FacilityFactory(code="ST-02")
    lamp, vase = ProductFactory(sku="LAMP-1"), ProductFactory(sku="VASE-1")
    for product in (lamp, vase):
        receive(warehouse, product, 10)
    return World(warehouse=warehouse, store=store, lamp=lamp, vase=vase)


def receive(facility, product, units: int) -> None:
    with transaction.atomic():
        stock_adjust(facility_id=facility.pk, product_id=product.pk, delta=units, reason="RECEIPT",
                     now=timezone.now())


def sent_order(*items) -> tuple[Order, list[OrderLine], FulfillmentRequest]:
    """An approved order of (product, quantity) lines routed to the WMS warehouse, its request PROCESSED."""
    order = OrderFactory(status="APPROVED")
    lines = [OrderLineFactory(order=order, product=product, quantity=quantity, status="QUEUED", queue="BROKERING",
                              queued_at=timezone.now()) for product, quantity in items]
    order_route(order_id=order.pk)
    request = FulfillmentRequest.objects.get(order=order)
    assert request.facility.fulfilled_by_wms
    with transaction.atomic():
        transit_and_save(request, "process", at=timezone.now())
        transit_and_save(request, "mark_sent", at=timezone.now())
    for line in lines:
        line.refresh_from_db()
        assert (line.status, line.fulfillment_request_id) == ("ALLOCATED", request.pk)
    return order, lines, request


def import_text(kind: str, text: str | bytes, *, name: str = "wms.csv", now=None):
    data = text.encode() if isinstance(text, str) else text
    return wms_feed_import(kind, io.BytesIO(data), name=name, source=FeedFile.Source.UPLOAD, now=now)


def level(facility, product) -> tuple[int, int]:
    stock = StockLevel.objects.get(facility=facility, product=product)
    return stock.on_hand, stock.reserved


def problems(feed) -> list[tuple[int, str]]:
    return list(feed.problems.order_by("line").values_list("line", "reason"))


def iso(moment) -> str:
    return moment.isoformat(timespec="seconds")
