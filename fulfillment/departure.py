"""Units leave the building: the one sequence every handover ends with — a store's parcels to a carrier, a pickup
collected at the counter, a warehouse's shipment reported in its file.

The order of its steps is the rule: the shop hears what left (its "fulfillment" message) before the lines are
handed over, because handing over the last lines settles the order, which tells the shop "order-completed" — and
the shop must never hear that an order is complete before it hears what was shipped.
"""

from dataclasses import dataclass
from datetime import datetime

from oms.core.erp_records import erp_fulfilled_payload
from oms.core.lines import order_lines_hand_over
from oms.models import Order, OrderLine, OutboxMessage, TransitionLog
from oms.outbox.messages import outbox_write
from stores.models import Facility, StockLevel
from stores.stock import stock_levels_lock


@dataclass(frozen=True)
class ErpFulfilled:
    """What the ERP's `erp-fulfilled` record says of a store's handover (docs/erp-feeds.md, fulfilled export)."""

    carrier: str
    service: str
    tracking_numbers: list[str]


def units_leave(
    *, order: Order, facility: Facility, items: list[tuple[OrderLine, int]], departure: str, shop_payload: dict,
    erp: ErpFulfilled | None, actor, reason: str, source: str, now: datetime,
) -> list[TransitionLog]:
    """do: the units of `items` (ALLOCATED lines at `facility`, each with all its units) leave the building.

    In this order, in the caller's transaction:
    1. the shop's "fulfillment" message (`shop_payload`, key `fulfillment:<departure>`);
    2. the ERP's `erp-fulfilled` record (key `erp-fulfilled:<departure>`) when `erp` is given — a store's
       shipment or pickup, which the ERP bills from this record; a warehouse's shipment passes None, since the
       ERP has the warehouse's own record of it;
    3. the stock rows locked in primary-key order (two handovers of different orders sharing products cannot
       deadlock), then the lines handed over: on_hand and reserved drop, the lines are FULFILLED, finished
       requests complete and the order settles (`oms.core.lines.order_lines_hand_over`).
    Expects the order and the lines locked by the caller. Raises LineError or StockError, which the caller turns
    into the associate's words. Returns the log entries not yet written.
    """
    lines = [line for line, _ in items]
    outbox_write(kind="fulfillment", destination=OutboxMessage.Destination.SHOP, order=order, now=now,
                 idempotency_key=f"fulfillment:{departure}", payload=shop_payload)
    if erp is not None:
        outbox_write(kind="erp-fulfilled", destination=OutboxMessage.Destination.ERP, order=order, now=now,
                     idempotency_key=f"erp-fulfilled:{departure}",
                     payload=erp_fulfilled_payload(order=order, facility=facility, items=items, shipped_at=now,
                                                   carrier=erp.carrier, service=erp.service,
                                                   tracking_numbers=erp.tracking_numbers))
    stock_levels_lock(pks=StockLevel.objects.filter(
        facility_id=facility.pk, product_id__in={line.product_id for line in lines},
    ).values_list("pk", flat=True))
    return order_lines_hand_over(lines=lines, actor=actor, reason=reason, now=now, source=source)
