"""Settling an order: it completes (the shop is told) or cancels once none of its lines is open."""

from datetime import datetime

from oms.core.history import transit
from oms.models import Order, OrderLine, OutboxMessage
from oms.outbox.messages import outbox_write

LineStatus = OrderLine.Status


def order_settle(*, order: Order, lines: list[OrderLine], actor=None, now: datetime) -> bool:
    """Complete or cancel an order whose lines are all done; return whether its status changed.

    COMPLETED when every line is FULFILLED or CANCELED and at least one is FULFILLED (the shop is
    told); CANCELED when every line is CANCELED. Expects the order and `lines` (all of its lines,
    current) locked by the caller.
    """
    if order.status != Order.Status.APPROVED or not lines:
        return False
    statuses = {line.status for line in lines}
    if not statuses <= {LineStatus.FULFILLED, LineStatus.CANCELED}:
        return False
    if LineStatus.FULFILLED in statuses:
        entry = transit(order, "complete", actor=actor, reason="every line fulfilled or canceled", at=now)
        outbox_write(
            kind="order-completed", destination=OutboxMessage.Destination.SHOP,
            idempotency_key=f"order-completed:{order.pk}", order=order, now=now,
            payload={"external_id": order.external_id, "name": order.name},
        )
    else:
        entry = transit(order, "cancel", actor=actor, reason="every line canceled", at=now)
    order.save()
    entry.save()
    return True
