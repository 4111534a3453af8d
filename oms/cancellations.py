"""Cancelling part of an order: chosen lines (operations staff) and quantities the shop reduced (orders/updated).

A whole order goes through `oms.orders.order_cancel`. Here only some lines or units go: their
reservation is released at once for unpicked units, picked units become a put-back task (see
`oms.orders._lines_cancel`), and the store work that carried them shrinks — open pick lines are
canceled, packed units leave their parcel, a pickup waits at the counter with what is left — or is
canceled when nothing is left in it. Locks, like order_cancel: the order, its lines (pk), then the work.

The shop is told with one "lines-canceled" message per change, except for changes the shop itself
made (a reduction in orders/updated): echoing them back would only confuse the shop's own history.
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from fulfillment.models import HandoverJob, PackJob, Parcel, ParcelItem, PickJob, PickLine, PutBackTask, Shipment
from fulfillment.picking import pick_job_close_if_done
from fulfillment.putback import put_back_create
from oms.history import record, transit
from oms.lines import order_line_split, request_cancel_if_empty
from oms.models import Order, OrderLine, OrderNote, TransitionLog
from oms.orders import _lines_cancel, order_cancel, order_settle, picked_units
from oms.shop_messages import shop_lines_canceled
from stores.stock import stock_release

LineStatus = OrderLine.Status
NOT_YET_ALLOCATED = (LineStatus.CREATED, LineStatus.QUEUED)


class CancelRefused(Exception):
    """A cancellation the lines' states do not allow; nothing was changed."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def order_lines_cancel(
    *, order_id: int, line_ids: list[int], actor, reason: str, now: datetime | None = None
) -> Order:
    """Operations staff cancel chosen lines of an order with their open work; the shop is told.

    Refuses (CancelRefused, nothing changed) when a chosen line is FULFILLED, already CANCELED or not
    part of the order, naming those lines. Choosing every open line of an order with nothing
    fulfilled cancels the whole order (`order_cancel`, one "order-canceled" message).
    """
    now = now or timezone.now()
    if not reason.strip():
        raise CancelRefused("Give a reason for the cancellation.")
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        lines = list(OrderLine.objects.filter(order=order).order_by("pk").select_for_update(of=("self",)))
        by_pk = {line.pk: line for line in lines}
        unknown = sorted(set(line_ids) - set(by_pk))
        if unknown:
            raise CancelRefused(f"Line(s) {', '.join(map(str, unknown))} are not part of order {order.name}.")
        chosen = [by_pk[pk] for pk in sorted(set(line_ids))]
        if not chosen:
            raise CancelRefused("Choose at least one line to cancel.")
        done = [line for line in chosen if line.status in (LineStatus.FULFILLED, LineStatus.CANCELED)]
        if done:
            names = ", ".join(f"{_label(line)} ({line.get_status_display().lower()})" for line in done)
            raise CancelRefused(f"Cannot cancel {names}: only lines not yet fulfilled can be canceled.")
        open_lines = [line for line in lines if line.status != LineStatus.CANCELED]
        if len(chosen) == len(open_lines):
            return order_cancel(order_id=order.pk, actor=actor, reason=reason, now=now)
        entries = _lines_cancel_with_work(order=order, lines=chosen, actor=actor, reason=reason, now=now)
        shop_lines_canceled(order=order, canceled=[(line, line.quantity) for line in chosen], reason=reason, now=now)
        entries += _order_settle(order=order, actor=actor, reason=reason, now=now)
        record(entries)
    return order


def order_line_reduce(
    *, order_id: int, external_line_id: str, new_quantity: int, actor=None, reason: str,
    now: datetime | None = None, notify_shop: bool = False,
) -> Order:
    """The shop line `external_line_id` now has `new_quantity` units: cancel the units above it.

    Units go from lines not yet allocated (CREATED/QUEUED) first, then from allocated ones (unpicked
    units before picked ones); a line losing only part of its units splits, the kept part staying as
    it is and a new canceled line (same shop line id, pointing to its parent) carrying the rest.
    Never goes below what is fulfilled: the rest that cannot be canceled is recorded as an order
    problem and a timeline note (the shop already decided; a person has to sort it out). Reductions
    come from the shop, so by default the shop is not told again (`notify_shop`). Reducing to a
    quantity already reached changes nothing.
    """
    now = now or timezone.now()
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        lines = list(OrderLine.objects.filter(order=order).order_by("pk").select_for_update(of=("self",)))
        own = [line for line in lines if line.external_line_id == external_line_id
               and line.status != LineStatus.CANCELED]
        excess = sum(line.quantity for line in own) - max(new_quantity, 0)
        if excess <= 0:
            return order
        entries: list[TransitionLog] = []
        canceled: list[tuple[OrderLine, int]] = []
        gone_ids: list[int] = []
        order_of_preference = (
            [line for line in own if line.status in NOT_YET_ALLOCATED]
            + [line for line in own if line.status == LineStatus.ALLOCATED]
        )
        for line in order_of_preference:
            if excess <= 0:
                break
            take = min(excess, line.quantity)
            if line.status == LineStatus.ALLOCATED:
                gone, more = _allocated_units_cancel(order=order, line=line, quantity=take, actor=actor,
                                                     reason=reason, now=now)
                entries += more
            else:
                gone = order_line_split(line, take) if take < line.quantity else line
                entries += _lines_cancel(lines=[gone], actor=actor, reason=reason, now=now)
            canceled.append((line, take))
            gone_ids.append(gone.pk)
            excess -= take
        if excess > 0:
            fulfilled = sum(line.quantity for line in own if line.status == LineStatus.FULFILLED)
            message = (f"{_label(own[0])}: the shop reduced the quantity to {new_quantity}, but {fulfilled} "
                       f"unit(s) are already fulfilled; {excess} unit(s) could not be canceled.")
            order.problems = [*order.problems, {"code": "REDUCTION_BELOW_FULFILLED", "message": message}]
            order.save(update_fields=["problems"])
            OrderNote.objects.create(order=order, actor=actor, at=now, text=message)
        if notify_shop and canceled:
            shop_lines_canceled(order=order, canceled=canceled, line_ids=gone_ids, reason=reason, now=now)
        entries += _order_settle(order=order, actor=actor, reason=reason, now=now)
        record(entries)
    return order


# --- steps (the caller holds the order and its lines locked) -------------------------------------


def _label(line: OrderLine) -> str:
    return f"line {line.external_line_id} ({line.sku or line.title or 'no SKU'})"


def _lines_cancel_with_work(*, order: Order, lines: list[OrderLine], actor, reason: str,
                            now: datetime) -> list[TransitionLog]:
    """Cancel whole lines of an order that keeps others: the lines, then the work that carried them."""
    held = picked_units([line for line in lines if line.status == LineStatus.ALLOCATED])
    entries = _lines_cancel(lines=lines, actor=actor, reason=reason, now=now, held=held)
    line_ids = [line.pk for line in lines]
    pick_lines = list(PickLine.objects.filter(order_line_id__in=line_ids, status=PickLine.Status.OPEN)
                      .order_by("pk").select_for_update(of=("self",)))
    for pick_line in pick_lines:
        entries.append(transit(pick_line, "cancel", actor=actor, reason=reason, at=now, order_id=order.pk))
        pick_line.save(update_fields=["status"])
    ParcelItem.objects.filter(order_line_id__in=line_ids,
                              parcel__status__in=[Parcel.Status.OPEN, Parcel.Status.LABELED]).delete()
    entries += _work_shrink(order=order, actor=actor, reason=reason, now=now)
    for request_id in sorted({line.fulfillment_request_id for line in lines} - {None}):
        entries += request_cancel_if_empty(request_id=request_id, actor=actor, now=now, reason=reason)
    return entries


def _allocated_units_cancel(*, order: Order, line: OrderLine, quantity: int, actor, reason: str,
                            now: datetime) -> tuple[OrderLine, list[TransitionLog]]:
    """Cancel `quantity` units of an allocated line: unpicked ones first (released), then picked ones (put back).

    Returns the canceled line (`line` itself, or the part split off it) and the log entries.
    """
    if quantity >= line.quantity:
        return line, _lines_cancel_with_work(order=order, lines=[line], actor=actor, reason=reason, now=now)
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
    entries += _work_shrink(order=order, actor=actor, reason=reason, now=now)
    return gone, entries


def _work_shrink(*, order: Order, actor, reason: str, now: datetime) -> list[TransitionLog]:
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


def _order_settle(*, order: Order, actor, reason: str, now: datetime) -> list[TransitionLog]:
    """Complete or cancel the order when nothing is left open (a CREATED order whose lines all went: canceled)."""
    lines = list(OrderLine.objects.filter(order=order).order_by("pk"))
    if order.status == Order.Status.CREATED and lines and all(line.status == LineStatus.CANCELED for line in lines):
        entry = transit(order, "cancel", actor=actor, reason=reason, at=now)
        order.save(update_fields=["status"])
        return [entry]
    order_settle(order=order, lines=lines, actor=actor, now=now)
    return []
