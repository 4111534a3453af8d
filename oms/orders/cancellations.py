"""Cancelling part of an order: chosen lines (operations staff) and quantities the shop reduced (orders/updated).

A whole order goes through `oms.orders.cancel.order_cancel`. Here only some lines or units go: their
reservation is released at once for unpicked units, picked units become a put-back task (see
`oms.orders.cancel.lines_cancel`), and the store work that carried them shrinks — open pick lines are
canceled, packed units leave their parcel, a pickup waits at the counter with what is left — or is
canceled when nothing is left in it. Locks, like order_cancel: the order, its lines (pk), then the work.

The shop is told with one "lines-canceled" message per change, except for changes the shop itself
made (a reduction in orders/updated): echoing them back would only confuse the shop's own history.
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from fulfillment.cancel import lines_cancel, order_line_units_cancel, order_lines_work_cancel
from oms.core.history import record, transit
from oms.core.lines import order_line_split
from oms.core.settle import order_settle
from oms.core.shop_messages import shop_lines_canceled
from oms.models import Order, OrderLine, OrderNote, TransitionLog
from oms.orders.cancel import order_cancel

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
        entries = order_lines_work_cancel(order=order, lines=chosen, actor=actor, reason=reason, now=now)
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
                gone, more = order_line_units_cancel(order=order, line=line, quantity=take, actor=actor,
                                                     reason=reason, now=now)
                entries += more
            else:
                gone = order_line_split(line, take) if take < line.quantity else line
                entries += lines_cancel(lines=[gone], actor=actor, reason=reason, now=now)
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


def _order_settle(*, order: Order, actor, reason: str, now: datetime) -> list[TransitionLog]:
    """Complete or cancel the order when nothing is left open (a CREATED order whose lines all went: canceled)."""
    lines = list(OrderLine.objects.filter(order=order).order_by("pk"))
    if order.status == Order.Status.CREATED and lines and all(line.status == LineStatus.CANCELED for line in lines):
        entry = transit(order, "cancel", actor=actor, reason=reason, at=now)
        order.save(update_fields=["status"])
        return [entry]
    order_settle(order=order, lines=lines, actor=actor, now=now)
    return []
