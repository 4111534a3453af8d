"""Orders for the console's orders pages: queued, routed, picked and shipped, with the work routing made."""

from datetime import UTC, datetime, timedelta

from django.utils import timezone

from oms.models import Order, OrderLine
from oms.routing.runs import order_route
from stores.models import Facility
from tests.factories import FacilityFactory, OrderFactory, OrderLineFactory, ProductFactory
from tests.fulfillment.store_world import stock

# Monday 2025-03-03 16:00 UTC = 10:00 in Chicago, 17:00 in Berlin.
NOW = datetime(2025, 3, 3, 16, 0, tzinfo=UTC)


def store(code: str = "CHI-01", **fields) -> Facility:
    return FacilityFactory(code=code, name=f"Store {code}", **fields)


def stocked_product(facility: Facility, *, sku: str | None = None, on_hand: int = 10):
    product = ProductFactory(**({"sku": sku} if sku else {}))
    stock(facility, product, on_hand)
    return product


def queued_order(products: list, *, quantity: int = 1, queue: str = OrderLine.Queue.BROKERING, **fields) -> Order:
    """An APPROVED order with one QUEUED line per product."""
    now = timezone.now()
    order = OrderFactory(status=Order.Status.APPROVED, approved_at=now, **fields)
    for product in products:
        OrderLineFactory(order=order, product=product, quantity=quantity, status=OrderLine.Status.QUEUED, queue=queue,
                         queued_at=now - timedelta(hours=1))
    return order


def routed(products: list, *, quantity: int = 1, **fields) -> Order:
    """An approved order routed through the real path (order_route): its request, and a pick job at a store."""
    order = queued_order(products, quantity=quantity, **fields)
    assert order_route(order_id=order.pk) is not None
    return order
