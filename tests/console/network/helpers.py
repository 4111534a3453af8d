"""Small builders for the network pages' tests: stock, queued lines, runs, decisions."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from oms.models import BrokeringRun, OrderLine, RoutingDecision
from stores.stock import stock_adjust
from tests.factories import OrderFactory, OrderLineFactory


def stock(facility, product, on_hand: int) -> None:
    with transaction.atomic():
        stock_adjust(facility_id=facility.pk, product_id=product.pk, delta=on_hand, reason="RECEIPT",
                     now=timezone.now())


def queued(*, product=None, quantity: int = 1, queue: str = "BROKERING", order=None, hours_ago: float = 1,
           **fields) -> OrderLine:
    order = order or OrderFactory(status="APPROVED", ordered_at=timezone.now() - timedelta(hours=hours_ago + 1))
    extra = {"product": product} if product is not None else {}
    return OrderLineFactory(order=order, quantity=quantity, status="QUEUED", queue=queue,
                            queued_at=timezone.now() - timedelta(hours=hours_ago), **extra, **fields)


def finished_run(*, queue: str = "BROKERING", considered: int = 4, allocated: int = 3, parked: int = 1,
                 errors=(), minutes_ago: int = 30, status: str = "SUCCEEDED") -> BrokeringRun:
    started = timezone.now() - timedelta(minutes=minutes_ago)
    return BrokeringRun.objects.create(
        queue=queue, status=status, trigger="test", started_at=started, heartbeat_at=started,
        finished_at=None if status == "RUNNING" else started + timedelta(seconds=75), orders_considered=considered,
        lines_considered=considered, lines_allocated=allocated, lines_parked=parked, errors=list(errors),
    )


def decision(*, run, order, facility, line_id: int = 1) -> RoutingDecision:
    return RoutingDecision.objects.create(
        order=order, run=run, outcome="ALLOCATED", created_at=timezone.now(),
        details={"outcome": "ALLOCATED",
                 "allocations": [{"facility_id": facility.pk, "facility": facility.code, "line_id": line_id,
                                  "quantity": 1}],
                 "parked": [],
                 "candidates": [{"facility_id": facility.pk, "facility": facility.code, "name": facility.name,
                                 "score": 0.9, "ratings": {"stock": 1.0, "distance": 0.8, "workload": 1.0},
                                 "distance_km": 12.0}],
                 "fences": {"STOCK": 2}, "notes": []},
    )
