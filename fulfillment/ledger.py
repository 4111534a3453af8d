"""Reconciling stock with its ledger and with the order lines that hold reservations."""

from collections import defaultdict

from django.db.models import Sum

from fulfillment.models import PutBackItem, PutBackTask
from oms.models import OrderLine
from stores.stock import ledger_mismatches


def open_reservations() -> dict[tuple[int, int], int]:
    """Units each (facility, product) should have reserved: the quantities of its allocated lines, and
    the units of open put-back tasks (picked, then canceled or refused: reserved until back on the shelf)."""
    rows = (
        OrderLine.objects.filter(status=OrderLine.Status.ALLOCATED)
        .values("allocated_facility_id", "product_id")
        .annotate(quantity=Sum("quantity"))
    )
    held: dict[tuple[int, int], int] = defaultdict(int)
    for row in rows:
        held[(row["allocated_facility_id"], row["product_id"])] += row["quantity"]
    put_backs = (
        PutBackItem.objects.filter(task__status=PutBackTask.Status.OPEN)
        .values("task__facility_id", "product_id").annotate(quantity=Sum("quantity"))
    )
    for row in put_backs:
        held[(row["task__facility_id"], row["product_id"])] += row["quantity"]
    return dict(held)


def stock_ledger_problems() -> list[str]:
    """Every stock row whose on_hand or reserved disagrees with the ledger or the open allocations."""
    return ledger_mismatches(open_reservations=open_reservations())
