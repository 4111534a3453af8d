"""A pickup order whose store could not serve it (lines in BOPIS_REJECTED), and stores around the customer."""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from oms.core.pickup_offers import pickup_alternatives_offer
from oms.models import Order, OrderLine, PickupAlternativeOffer
from tests.factories import FacilityFactory, OrderFactory, OrderLineFactory, ProductFactory
from tests.fulfillment.store_world import stock

CHICAGO = (41.88, -87.63)  # the customer's address (OrderFactory) and the chosen store
KM_PER_DEGREE = 111.195


def store_at(code: str, km_north: float, **fields):
    """A pickup store `km_north` km north of the customer (distances then read straight off the codes)."""
    return FacilityFactory(
        code=code, name=f"Store {code}", latitude=CHICAGO[0] + km_north / KM_PER_DEGREE, longitude=CHICAGO[1],
        address1=f"{100 + int(km_north)} N State St", postal_code="60601", city="Chicago", **fields,
    )


@dataclass
class World:
    chosen: object  # the store the customer chose
    near: list  # stores 5, 10, 20 and 30 km away, each with plenty of both products
    toy: object
    mug: object


def world_make() -> World:
    chosen = store_at("CHI-01", 0)
    near = [store_at(f"KM-{km:02d}", km) for km in (5, 10, 20, 30)]
    toy, mug = ProductFactory(name="Wooden toy"), ProductFactory(name="Blue mug")
    for store in [chosen, *near]:
        stock(store, toy, 10)
        stock(store, mug, 10)
    return World(chosen=chosen, near=near, toy=toy, mug=mug)


def rejected_order(store, items: list[tuple], *, now=None, **order_fields) -> tuple[Order, list[OrderLine]]:
    """An approved pickup order at `store` whose lines [(product, quantity)] wait in BOPIS_REJECTED, store excluded."""
    now = now or timezone.now()
    order = OrderFactory(status=Order.Status.APPROVED, approved_at=now, **order_fields)
    lines = []
    for product, quantity in items:
        line = OrderLineFactory(order=order, product=product, title=product.name, quantity=quantity,
                                status=OrderLine.Status.QUEUED, queue=OrderLine.Queue.BOPIS_REJECTED, queued_at=now,
                                pickup_store_code=store.code, pickup_facility=store)
        line.excluded_facilities.add(store)
        lines.append(line)
    return order, lines


def offered(order, *, now=None) -> PickupAlternativeOffer:
    """Run the offer service for the order (in its own transaction) and return the order's newest offer."""
    with transaction.atomic():
        pickup_alternatives_offer(order_ids=[order.pk], now=now or timezone.now())
    return PickupAlternativeOffer.objects.filter(order=order).order_by("-pk").first()
