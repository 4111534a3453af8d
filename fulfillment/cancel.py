"""Cancelling or shrinking the fulfillment work of an order: the one place order features (a whole order, chosen
lines, the shop's reductions) take units back from the locations.

Allocated lines give back the reservation of their unpicked units at once; units already picked become a
put-back task per facility, released when an associate confirms they are back on the shelf. Open requests,
pick, pack, shipment and handover work is canceled, or shrinks to what is left. Every function expects the
caller (`oms.orders`) to hold the order and its lines locked, and returns the transition log entries it did
not write, so the caller records everything in one insert.
"""

from datetime import datetime

from fulfillment.models import HandoverJob, PackJob, Parcel, ParcelItem, PickJob, PickLine, PutBackTask, Shipment
from fulfillment.picking import pick_job_close_if_done
from fulfillment.putback import put_back_create
from oms.core.history import transit
from oms.core.lines import order_line_split, request_cancel_if_empty
from oms.models import FulfillmentRequest, Order, OrderLine, TransitionLog
from stores.stock import stock_release

LineStatus = OrderLine.Status


def lines_cancel(
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


def order_work_cancel(*, order: Order, actor, reason: str, now: datetime) -> list[TransitionLog]:
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


def order_lines_work_cancel(*, order: Order, lines: list[OrderLine], actor, reason: str,
                            now: datetime) -> list[TransitionLog]:
    """Cancel whole lines of an order that keeps others: the lines, then the work that carried them."""
    held = picked_units([line for line in lines if line.status == LineStatus.ALLOCATED])
    entries = lines_cancel(lines=lines, actor=actor, reason=reason, now=now, held=held)
    line_ids = [line.pk for line in lines]
    pick_lines = list(PickLine.objects.filter(order_line_id__in=line_ids, status=PickLine.Status.OPEN)
                      .order_by("pk").select_for_update(of=("self",)))
    for pick_line in pick_lines:
        entries.append(transit(pick_line, "cancel", actor=actor, reason=reason, at=now, order_id=order.pk))
        pick_line.save(update_fields=["status"])
    ParcelItem.objects.filter(order_line_id__in=line_ids,
                              parcel__status__in=[Parcel.Status.OPEN, Parcel.Status.LABELED]).delete()
    entries += order_work_shrink(order=order, actor=actor, reason=reason, now=now)
    for request_id in sorted({line.fulfillment_request_id for line in lines} - {None}):
        entries += request_cancel_if_empty(request_id=request_id, actor=actor, now=now, reason=reason)
    return entries


def order_line_units_cancel(*, order: Order, line: OrderLine, quantity: int, actor, reason: str,
                            now: datetime) -> tuple[OrderLine, list[TransitionLog]]:
    """Cancel `quantity` units of an allocated line: unpicked ones first (released), then picked ones (put back).

    Returns the canceled line (`line` itself, or the part split off it) and the log entries.
    """
    if quantity >= line.quantity:
        return line, order_lines_work_cancel(order=order, lines=[line], actor=actor, reason=reason, now=now)
    picked = min(picked_units([line]).get(line.pk, 0), line.quantity)
    from_picked = max(0, quantity - (line.quantity - picked))
    entries: list[TransitionLog] = []
    # The kept part stays as it is: its pick line, parcel items and counter place shrink to what is left.
    pick_lines = list(PickLine.objects.filter(order_line=line, pick_job__facility_id=line.allocated_facility_id)
                      .exclude(status=PickLine.Status.CANCELED).exclude(pick_job__status=PickJob.Status.CANCELED)
                      .order_by("pk").select_for_update(of=("self",)))
    left, left_picked = quantity, from_picked
    for pick_line in pick_lines:
        unpicked_here = min(left - left_picked, pick_line.quantity - pick_line.picked_quantity)
        picked_here = min(left_picked, pick_line.picked_quantity)
        pick_line.quantity -= unpicked_here + picked_here
        pick_line.picked_quantity -= picked_here
        left -= unpicked_here + picked_here
        left_picked -= picked_here
        if pick_line.status == PickLine.Status.OPEN and pick_line.picked_quantity == pick_line.quantity:
            entries.append(transit(pick_line, "pick", actor=actor, reason="every unit left is picked", at=now,
                                   order_id=order.pk))
            pick_line.picked_at = now
        pick_line.save(update_fields=["quantity", "picked_quantity", "status", "picked_at"])
    packed_left = from_picked
    for item in (ParcelItem.objects.filter(order_line=line, parcel__status__in=[Parcel.Status.OPEN,
                                                                                 Parcel.Status.LABELED])
                 .order_by("-pk").select_for_update(of=("self",))):
        if packed_left <= 0:
            break
        take = min(packed_left, item.quantity)
        packed_left -= take
        if take == item.quantity:
            item.delete()
        else:
            item.quantity -= take
            item.save(update_fields=["quantity"])
    gone = order_line_split(line, quantity)
    unpicked_gone = quantity - from_picked
    if unpicked_gone:
        stock_release(facility_id=gone.allocated_facility_id, product_id=gone.product_id, quantity=unpicked_gone,
                      actor=actor, source=f"order line {gone.pk} canceled", order_line_id=gone.pk, now=now,
                      note=reason[:200])
    entries.append(transit(gone, "cancel", actor=actor, reason=reason, at=now))
    gone.cancel_reason = reason[:64]
    gone.save(update_fields=["status", "cancel_reason"])
    if from_picked:
        put_back_create(facility_id=gone.allocated_facility_id, order_id=order.pk, items=[(gone, from_picked)],
                        reason=PutBackTask.Reason.ORDER_CANCELED, now=now, note=reason)
    entries += order_work_shrink(order=order, actor=actor, reason=reason, now=now)
    return gone, entries


def order_work_shrink(*, order: Order, actor, reason: str, now: datetime) -> list[TransitionLog]:
    """After lines or units left: close pick jobs with nothing left to pick, cancel work with nothing left in it."""
    entries: list[TransitionLog] = []
    jobs = (PickJob.objects.filter(order=order, status__in=[PickJob.Status.OPEN, PickJob.Status.IN_PROGRESS])
            .select_related("facility").order_by("pk").select_for_update(of=("self",)))
    for job in jobs:
        lines = list(job.lines.select_related("order_line"))
        live = [line for line in lines if line.status != PickLine.Status.CANCELED
                and line.order_line.status == LineStatus.ALLOCATED]
        if not live:
            entries.append(transit(job, "cancel", actor=actor, reason=reason, at=now))
            job.closed_at = now
            job.save(update_fields=["status", "closed_at"])
        elif job.status == PickJob.Status.IN_PROGRESS and not any(
                line.status == PickLine.Status.OPEN for line in lines):
            closed, close_entries = pick_job_close_if_done(job=job, actor=actor, now=now)
            entries += close_entries
            job.version += 1
            job.save(update_fields=["status", "outcome", "closed_at", "version"])
    for shipment in (Shipment.objects.filter(order=order, status__in=[Shipment.Status.OPEN, Shipment.Status.READY])
                     .order_by("pk").select_for_update(of=("self",))):
        if ParcelItem.objects.filter(parcel__shipment=shipment).exclude(parcel__status=Parcel.Status.CANCELED).exists():
            continue
        for job in PackJob.objects.filter(shipment=shipment, status__in=[PackJob.Status.OPEN,
                                                                         PackJob.Status.IN_PROGRESS]):
            entries.append(transit(job, "cancel", actor=actor, reason=reason, at=now))
            job.save(update_fields=["status"])
        for parcel in shipment.parcels.filter(status__in=[Parcel.Status.OPEN, Parcel.Status.LABELED]).order_by("pk"):
            entries.append(transit(parcel, "cancel", actor=actor, reason=reason, at=now, order_id=order.pk))
            parcel.save(update_fields=["status"])
        for handover in shipment.handovers.filter(status=HandoverJob.Status.OPEN):
            entries.append(transit(handover, "cancel", actor=actor, reason=reason, at=now))
            handover.cancel_reason = HandoverJob.CancelReason.ORDER_CANCELED
            handover.save(update_fields=["status", "cancel_reason"])
        entries.append(transit(shipment, "cancel", actor=actor, reason=reason, at=now))
        shipment.save(update_fields=["status"])
    for handover in HandoverJob.objects.filter(order=order, channel=HandoverJob.Channel.CUSTOMER,
                                               status=HandoverJob.Status.OPEN).order_by("pk"):
        if OrderLine.objects.filter(order=order, status=LineStatus.ALLOCATED,
                                    allocated_facility_id=handover.facility_id).exists():
            continue
        entries.append(transit(handover, "cancel", actor=actor, reason=reason, at=now))
        handover.cancel_reason = HandoverJob.CancelReason.ORDER_CANCELED
        handover.save(update_fields=["status", "cancel_reason"])
    return entries
