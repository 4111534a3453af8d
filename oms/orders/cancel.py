"""Order-level services: cancelling an order and the work already handed to locations for it."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from fulfillment.cancel import lines_cancel, order_work_cancel
from oms.core.history import record, transit
from oms.core.settle import order_settle
from oms.models import Order, OrderLine, OrderNote, OutboxMessage
from oms.outbox.messages import outbox_write

LineStatus = OrderLine.Status

# Lines that may still be canceled when part of the order has already been handed over: nothing has
# been reserved or picked for them yet, so cancelling them takes nothing away from a store's work.
NOT_YET_ALLOCATED = (LineStatus.CREATED, LineStatus.QUEUED)


def order_cancel(
    *, order_id: int, actor=None, reason: str, now: datetime | None = None, notify_shop: bool = True
) -> Order:
    """Cancel an order that is not fulfilled yet, with everything that was started for it.

    Every line that is not FULFILLED or CANCELED is canceled (allocated lines give back the reservation
    of their unpicked units; picked units become one put-back task per facility and stay reserved until
    an associate confirms it), open fulfillment requests, pick, pack, shipment and handover work is canceled, and
    one "order-canceled" message goes to the shop unless the cancellation came from the shop.

    If a line has already been FULFILLED the order cannot be canceled: only the lines not yet
    allocated (CREATED/QUEUED) are canceled, a note says so on the timeline, and the order's status is
    left to the completion logic. Cancelling a canceled order changes nothing, so calling twice is safe.

    Locks the order row, then its lines in primary-key order, then the work that belongs to it.
    """
    now = now or timezone.now()
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.status == Order.Status.CANCELED:
            return order
        lines = list(OrderLine.objects.filter(order=order).order_by("pk").select_for_update(of=("self",)))
        if any(line.status == LineStatus.FULFILLED for line in lines):
            _order_cancel_open_lines(order=order, lines=lines, actor=actor, reason=reason, now=now)
            order_settle(order=order, lines=lines, actor=actor, now=now)
            return order

        cancelable = [line for line in lines if line.status != LineStatus.CANCELED]
        entries = lines_cancel(lines=cancelable, actor=actor, reason=reason, now=now)
        entries += order_work_cancel(order=order, actor=actor, reason=reason, now=now)
        entries.append(transit(order, "cancel", actor=actor, reason=reason, at=now))
        order.save()
        record(entries)
        if notify_shop:
            outbox_write(
                kind="order-canceled",
                destination=OutboxMessage.Destination.SHOP,
                idempotency_key=f"order-canceled:{order.pk}",
                payload={
                    "external_id": order.external_id,
                    "name": order.name,
                    "reason": reason,
                    "canceled_line_ids": sorted({line.external_line_id for line in cancelable}),
                },
                order=order,
                now=now,
            )
    return order


def _order_cancel_open_lines(*, order: Order, lines: list[OrderLine], actor, reason: str, now: datetime) -> None:
    """Part of the order left the building: cancel only what no location has started on."""
    open_lines = [line for line in lines if line.status in NOT_YET_ALLOCATED]
    record(lines_cancel(lines=open_lines, actor=actor, reason=reason, now=now))
    kept = sum(1 for line in lines if line.status in (LineStatus.ALLOCATED, LineStatus.FULFILLED))
    OrderNote.objects.create(
        order=order,
        actor=actor,
        at=now,
        text=(
            f"Cancellation could not be applied fully ({reason}): some items are already fulfilled. "
            f"Canceled {len(open_lines)} line(s) not yet allocated; {kept} line(s) allocated or fulfilled stay."
        ),
    )


