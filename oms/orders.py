"""Order-level services: cancelling an order and the work already handed to locations for it."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from fulfillment.models import HandoverJob, PackJob, Parcel, PickJob, PickLine, PutBackTask, Shipment
from fulfillment.putback import put_back_create
from oms.history import record, transit
from oms.models import FulfillmentRequest, Order, OrderLine, OrderNote, OutboxMessage, TransitionLog
from oms.outbox import outbox_write
from stores.stock import stock_release

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
        entries = _lines_cancel(lines=cancelable, actor=actor, reason=reason, now=now)
        entries += _order_work_cancel(order=order, actor=actor, reason=reason, now=now)
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


def _order_cancel_open_lines(*, order: Order, lines: list[OrderLine], actor, reason: str, now: datetime) -> None:
    """Part of the order left the building: cancel only what no location has started on."""
    open_lines = [line for line in lines if line.status in NOT_YET_ALLOCATED]
    record(_lines_cancel(lines=open_lines, actor=actor, reason=reason, now=now))
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


def _lines_cancel(
    *, lines: list[OrderLine], actor, reason: str, now: datetime, held: dict[int, int] | None = None
) -> list[TransitionLog]:
    """Cancel the given (locked) lines; return the log entries.

    Allocated lines give back the reservation of their unpicked units at once; units already picked
    (in a tote, a parcel or on the pickup shelf) keep it under one put-back task per facility, released
    when an associate confirms they are back on the shelf. `held` overrides the picked units per line
    (computed from the pick lines when not given). Reads the pick lines under the order lock every
    pick path takes first, so a scan cannot change them meanwhile.
    """
    allocated = [line for line in lines if line.status == LineStatus.ALLOCATED and line.product_id is not None]
    if held is None:
        held = picked_units(allocated)
    put_backs: dict[int, list[tuple[OrderLine, int]]] = {}
    entries = []
    for line in lines:
        if line in allocated:
            kept = min(held.get(line.pk, 0), line.quantity)
            if line.quantity - kept:
                stock_release(
                    facility_id=line.allocated_facility_id, product_id=line.product_id,
                    quantity=line.quantity - kept, actor=actor, source=f"order line {line.pk} canceled",
                    order_line_id=line.pk, now=now, note=reason[:200],
                )
            if kept:
                put_backs.setdefault(line.allocated_facility_id, []).append((line, kept))
        entries.append(transit(line, "cancel", actor=actor, reason=reason, at=now))
        line.cancel_reason = reason[:64]
        line.queue = ""  # a canceled line waits in no queue
        line.auto_cancel_at = None
        line.save()
    for facility_id, items in sorted(put_backs.items()):
        put_back_create(facility_id=facility_id, order_id=items[0][0].order_id, items=items,
                        reason=PutBackTask.Reason.ORDER_CANCELED, now=now, note=reason)
    return entries


def picked_units(lines: list[OrderLine]) -> dict[int, int]:
    """Units of each allocated line already picked at its facility (by pick lines of jobs not canceled).

    Picked units stay picked while they are packed, labelled or wait at the pickup counter, so the pick
    lines count them all until the line is handed over.
    """
    facility_of = {line.pk: line.allocated_facility_id for line in lines}
    picked: dict[int, int] = {}
    rows = (PickLine.objects.filter(order_line_id__in=list(facility_of), picked_quantity__gt=0)
            .exclude(status=PickLine.Status.CANCELED).exclude(pick_job__status=PickJob.Status.CANCELED)
            .values_list("order_line_id", "pick_job__facility_id", "picked_quantity"))
    for line_id, facility_id, quantity in rows:
        if facility_id == facility_of[line_id]:
            picked[line_id] = picked.get(line_id, 0) + quantity
    return picked


def _order_work_cancel(*, order: Order, actor, reason: str, now: datetime) -> list[TransitionLog]:
    """Cancel every open request, job, shipment and handover of the order; return the log entries."""
    entries = []

    def cancel_all(queryset, **fields):
        for obj in queryset.order_by("pk").select_for_update(of=("self",)):
            entries.append(transit(obj, "cancel", actor=actor, reason=reason, at=now, order_id=order.pk))
            for name, value in fields.items():
                setattr(obj, name, value)
            obj.save()

    request_open = [
        FulfillmentRequest.Status.UNPROCESSED, FulfillmentRequest.Status.PROCESSING,
        FulfillmentRequest.Status.PROCESSED, FulfillmentRequest.Status.ACKNOWLEDGED, FulfillmentRequest.Status.FAILED,
    ]
    cancel_all(FulfillmentRequest.objects.filter(order=order, status__in=request_open))
    cancel_all(PickJob.objects.filter(order=order, status__in=[PickJob.Status.OPEN, PickJob.Status.IN_PROGRESS]),
               closed_at=now)
    cancel_all(PickLine.objects.filter(order_line__order=order, status=PickLine.Status.OPEN))
    cancel_all(PackJob.objects.filter(order=order, status__in=[PackJob.Status.OPEN, PackJob.Status.IN_PROGRESS]))
    cancel_all(HandoverJob.objects.filter(order=order, status=HandoverJob.Status.OPEN),
               cancel_reason=HandoverJob.CancelReason.ORDER_CANCELED)
    cancel_all(Parcel.objects.filter(shipment__order=order, status__in=[Parcel.Status.OPEN, Parcel.Status.LABELED]))
    cancel_all(Shipment.objects.filter(order=order, status__in=[Shipment.Status.OPEN, Shipment.Status.READY]))
    return entries
