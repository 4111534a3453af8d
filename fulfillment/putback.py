"""Put-back: picked units that will not leave the building go back to their bins, then their reservation is released.

The one mechanism DESIGN.md describes for canceled, rejected, refused and uncollected picked units:
the line is canceled (or sent back) at once, its units stay reserved under an OPEN put-back task on
the store's tablet, and confirming the task — the associate has put the units back — releases the
reservation. `fulfillment.ledger.open_reservations` counts open put-back items, so the ledger reconciles
at every moment in between.
"""

from datetime import datetime

from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from fulfillment.errors import StoreRefusal
from fulfillment.models import PutBackItem, PutBackTask
from oms.core.history import transit
from oms.models import OrderLine
from stores.models import StockLevel
from stores.stock import stock_release


class PutBackError(StoreRefusal):
    """A put-back that cannot be confirmed."""


def put_back_create(
    *, facility_id: int, order_id: int, items: list[tuple[OrderLine, int]], reason: str, now: datetime,
    note: str = "",
) -> PutBackTask | None:
    """An OPEN put-back task for [(order line, units)] at the facility, in the caller's transaction.

    The units' reservation is not touched: it is released when the task is confirmed. Returns None
    when there is nothing to put back.
    """
    items = [(line, quantity) for line, quantity in items if quantity > 0]
    if not items:
        return None
    task = PutBackTask.objects.create(facility_id=facility_id, order_id=order_id, reason=reason, note=note[:200],
                                      created_at=now)
    PutBackItem.objects.bulk_create(
        [PutBackItem(task=task, order_line=line, product_id=line.product_id, quantity=quantity)
         for line, quantity in items]
    )
    return task


def put_back_confirm(*, task_id: int, facility_id: int, actor, now: datetime | None = None) -> PutBackTask:
    """The associate put every unit back on the shelf: the task is DONE and the reservations are released.

    Locks the task; confirming twice is refused (the second associate is told it is already done).
    """
    now = now or timezone.now()
    with transaction.atomic():
        task = PutBackTask.objects.select_for_update().filter(pk=task_id, facility_id=facility_id).first()
        if task is None:
            raise PutBackError("This put-back task does not exist in this store.", status=404)
        if task.status != PutBackTask.Status.OPEN:
            raise PutBackError("These items are already back on the shelf.", status=409)
        for item in task.items.order_by("pk"):
            stock_release(facility_id=facility_id, product_id=item.product_id, quantity=item.quantity, actor=actor,
                          source=f"put-back {task.pk}", order_line_id=item.order_line_id, now=now,
                          note=task.get_reason_display())
        entry = transit(task, "confirm", actor=actor, reason="items back on the shelf", at=now)
        task.done_at = now
        task.done_by = actor
        task.save(update_fields=["status", "done_at", "done_by"])
        entry.save()
    return task


def put_backs_open(*, facility_id: int) -> list[PutBackTask]:
    """The facility's open put-back tasks, oldest first, with their items and bins (three queries)."""
    bins = StockLevel.objects.filter(facility_id=facility_id, product_id=OuterRef("product_id")).values(
        "bin_location")[:1]
    tasks = list(PutBackTask.objects.filter(facility_id=facility_id, status=PutBackTask.Status.OPEN)
                 .select_related("order").order_by("created_at", "pk"))
    items = (PutBackItem.objects.filter(task__in=tasks).select_related("product")
             .annotate(bin_location=Subquery(bins)).order_by("bin_location", "pk"))
    by_task: dict[int, list[PutBackItem]] = {}
    for item in items:
        by_task.setdefault(item.task_id, []).append(item)
    for task in tasks:
        task.open_items = by_task.get(task.pk, [])
    return tasks
