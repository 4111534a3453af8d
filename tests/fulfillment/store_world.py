"""A store with stock, people and orders routed to it through the real routing path (oms.routing.order_route)."""

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from fulfillment.models import PickJob
from oms.models import Order, OrderLine
from oms.routing.runs import order_route
from stores.models import StoreMembership
from stores.stock import stock_levels_open
from tests.factories import (
    FacilityFactory,
    MembershipFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    UserFactory,
)


def store_with_people(code: str = "CHI-01", **fields):
    facility = FacilityFactory(code=code, name=f"Store {code}", **fields)
    associate = MembershipFactory(user=UserFactory(username=f"{code.lower()}-associate", first_name="Ada"),
                                  facility=facility, role=StoreMembership.Role.ASSOCIATE).user
    manager = MembershipFactory(user=UserFactory(username=f"{code.lower()}-manager", first_name="Grace"),
                                facility=facility, role=StoreMembership.Role.MANAGER).user
    return facility, associate, manager


def stock(facility, product, on_hand: int, bin_location: str = "") -> None:
    with transaction.atomic():
        stock_levels_open(levels=[(facility.pk, product.pk, on_hand, bin_location)], source="test")


def routed_order(facility, items: list[tuple], *, pickup: bool = False, now=None) -> tuple[Order, PickJob]:
    """An approved order of [(product, quantity)] routed to `facility` (which must hold the stock): its pick job."""
    now = now or timezone.now()
    order = OrderFactory(status=Order.Status.APPROVED, approved_at=now)
    pickup_fields = {"pickup_store_code": facility.code, "pickup_facility": facility} if pickup else {}
    for product, quantity in items:
        OrderLineFactory(order=order, product=product, quantity=quantity, status=OrderLine.Status.QUEUED,
                         queue=OrderLine.Queue.BROKERING, queued_at=now, **pickup_fields)
    decision = order_route(order_id=order.pk, now=now)
    assert decision is not None
    job = PickJob.objects.get(order=order, facility=facility)
    return order, job


HTMX = {"HTTP_HX_REQUEST": "true"}  # the header htmx sends: views answer with the partial


def store_url(name: str, facility, *args) -> str:
    """The tablet page `fulfillment:<name>` of this facility."""
    return reverse(f"fulfillment:{name}", args=[facility.code, *args])


__all__ = ["HTMX", "ProductFactory", "routed_order", "stock", "store_url", "store_with_people"]
