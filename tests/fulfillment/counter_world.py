"""Pickup orders picked through the real picking path, waiting at the counter with a pickup code."""

import itertools

from django.utils import timezone

from fulfillment.counter import handover_lines
from fulfillment.models import HandoverJob, PutBackTask
from fulfillment.picking import pick_job_start, pick_line_tap
from oms.models import Order, OutboxMessage, TransitionLog
from stores.models import StockLevel
from tests.fulfillment.store_world import routed_order, stock, store_with_people

_codes = itertools.count(1)


def next_code() -> str:
    """A code no other handover has (used when pickup_ready gave none)."""
    return f"P{next(_codes):05d}"


def ready_pickup(facility, associate, items: list[tuple], *, code: str | None = None, now=None,
                 **order_fields) -> HandoverJob:
    """A pickup order of [(product, quantity)] routed to `facility`, picked in full: its OPEN customer handover."""
    now = now or timezone.now()
    order, job = routed_order(facility, items, pickup=True, now=now)
    if order_fields:
        Order.objects.filter(pk=order.pk).update(**order_fields)
    job = pick_job_start(job_id=job.pk, facility_id=facility.pk, actor=associate, version=job.version, now=now)
    for line in job.lines.order_by("pk"):
        pick_line_tap(job_id=job.pk, facility_id=facility.pk, actor=associate, version=None, line_id=line.pk,
                      quantity=line.quantity, now=now)
    handover = HandoverJob.objects.get(order=order, channel=HandoverJob.Channel.CUSTOMER)
    if code or not handover.pickup_code:
        HandoverJob.objects.filter(pk=handover.pk).update(pickup_code=code or next_code())
    return HandoverJob.objects.select_related("order", "facility").get(pk=handover.pk)


def lines_of(handover: HandoverJob):
    return list(handover_lines(handover))


def levels(facility, *products) -> list[tuple[int, int]]:
    return [StockLevel.objects.values_list("on_hand", "reserved").get(facility=facility, product=product)
            for product in products]


def snapshot(handover: HandoverJob) -> dict:
    """Everything a counter refusal must leave as it was."""
    return {
        "handover": HandoverJob.objects.filter(pk=handover.pk).values().get(),
        "order": Order.objects.values_list("status", flat=True).get(pk=handover.order_id),
        "lines": sorted(handover.order.lines.values_list("pk", "status", "quantity")),
        "stock": sorted(StockLevel.objects.filter(facility=handover.facility_id).values_list("product", "on_hand",
                                                                                               "reserved")),
        "outbox": OutboxMessage.objects.filter(order=handover.order_id).count(),
        "put_backs": PutBackTask.objects.filter(order=handover.order_id).count(),
        "log": TransitionLog.objects.count(),
    }


__all__ = ["levels", "lines_of", "next_code", "ready_pickup", "snapshot", "stock", "store_with_people"]
