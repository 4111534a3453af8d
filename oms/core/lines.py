"""Order-line moves that locations cause: units sent back to a queue (short pick, rejection) and handed over.

The store app (fulfillment) calls these inside its own transaction, with the lines locked; each
returns the transition log entries it did not write, so the caller logs everything in one insert.
"""

from collections.abc import Iterable
from datetime import datetime

from oms.core.history import transit
from oms.core.pickup_offers import pickup_alternatives_offer
from oms.core.settle import order_settle
from oms.core.shop_messages import shop_lines_canceled
from oms.models import FulfillmentRequest, Order, OrderLine, TransitionLog
from stores.stock import stock_consume, stock_release

LineStatus = OrderLine.Status
Queue = OrderLine.Queue


class LineError(Exception):
    """A line move that the line's state does not allow."""


def rejected_queue_for(line: OrderLine) -> str:
    """Where a line a location gives back waits: pickup lines never leave the customer's chosen store."""
    return Queue.BOPIS_REJECTED if line.is_pickup else Queue.REJECTED


def order_line_requeue(
    *, line: OrderLine, quantity: int, actor, reason: str, now: datetime, queue: str | None = None,
    source: str = "", held: int = 0,
) -> tuple[OrderLine, list[TransitionLog]]:
    """Send `quantity` units of an ALLOCATED line back to a queue with its facility excluded.

    The reservation of those units is released, except for `held` of them: units already picked,
    whose reservation a put-back task keeps until they are back on the shelf. When only part of the
    line goes back, the line splits: the original keeps the rest (still allocated) and a new line —
    same shop line id, pointing to its parent — carries the units that go back. The queue defaults to REJECTED
    (BOPIS_REJECTED for a pickup line). Returns the line now waiting in the queue and the log entries.
    Expects `line` locked by the caller.
    """
    if line.status != LineStatus.ALLOCATED:
        raise LineError(f"line {line.pk} is {line.status}, not ALLOCATED")
    if not 0 < quantity <= line.quantity or not 0 <= held <= quantity:
        raise LineError(f"cannot send back {quantity} (holding {held}) of the {line.quantity} units of line {line.pk}")
    queue = queue or rejected_queue_for(line)
    facility_id = line.allocated_facility_id
    if quantity > held:
        stock_release(facility_id=facility_id, product_id=line.product_id, quantity=quantity - held, actor=actor,
                      source=source or f"order line {line.pk} sent back", order_line_id=line.pk, now=now,
                      note=reason[:200])
    if quantity == line.quantity:
        back = line
    else:
        line.quantity -= quantity
        line.save(update_fields=["quantity"])
        back = OrderLine.objects.create(
            order_id=line.order_id, external_line_id=line.external_line_id, parent=line, product_id=line.product_id,
            sku=line.sku, title=line.title, quantity=quantity, unit_price=line.unit_price,
            status=LineStatus.ALLOCATED, kind=line.kind, promise_date=line.promise_date,
            pickup_store_code=line.pickup_store_code, pickup_facility_id=line.pickup_facility_id,
            allocated_facility_id=facility_id, fulfillment_request_id=line.fulfillment_request_id,
        )
        back.excluded_facilities.set(line.excluded_facilities.all())
    entry = transit(back, "requeue", actor=actor, reason=reason, at=now)
    back.queue = queue
    back.queued_at = now
    back.auto_cancel_at = None
    back.allocated_facility = None
    back.fulfillment_request = None
    back.save(update_fields=["status", "queue", "queued_at", "auto_cancel_at", "allocated_facility",
                             "fulfillment_request"])
    back.excluded_facilities.add(facility_id)
    if queue == Queue.BOPIS_REJECTED:  # the customer chooses what happens next (never re-brokered by itself)
        pickup_alternatives_offer(order_ids=[back.order_id], now=now)
    return back, [entry]


def order_lines_hand_over(
    *, lines: Iterable[OrderLine], actor, reason: str, now: datetime, source: str = ""
) -> list[TransitionLog]:
    """The units of these ALLOCATED lines left the building (to a carrier or the customer).

    on_hand and reserved drop together, the lines become FULFILLED, each request with nothing left
    open completes, and the order completes (the shop is told through the outbox) when every line is
    done. Expects the lines locked by the caller; locks their order and its other lines itself.
    Writes everything except the returned log entries of the lines and requests.
    """
    lines = list(lines)
    if not lines:
        return []
    if any(line.status != LineStatus.ALLOCATED for line in lines):
        raise LineError("only allocated lines can be handed over")
    entries: list[TransitionLog] = []
    for line in lines:
        stock_consume(facility_id=line.allocated_facility_id, product_id=line.product_id, quantity=line.quantity,
                      actor=actor, source=source or f"order line {line.pk} handed over", order_line_id=line.pk,
                      now=now)
        entries.append(transit(line, "fulfil", actor=actor, reason=reason, at=now))
        line.save(update_fields=["status"])
    entries += requests_complete_if_done({line.fulfillment_request_id for line in lines} - {None}, actor=actor, now=now)
    order_ids = {line.order_id for line in lines}
    for order in Order.objects.filter(pk__in=order_ids).order_by("pk").select_for_update(of=("self",)):
        all_lines = list(OrderLine.objects.filter(order=order).order_by("pk"))
        order_settle(order=order, lines=all_lines, actor=actor, now=now)
    return entries


def requests_complete_if_done(request_ids: set[int], *, actor, now: datetime) -> list[TransitionLog]:
    """Complete the PROCESSED/ACKNOWLEDGED requests none of whose lines is still open (allocated to them)."""
    entries = []
    requests = FulfillmentRequest.objects.filter(
        pk__in=request_ids, status__in=[FulfillmentRequest.Status.PROCESSED, FulfillmentRequest.Status.ACKNOWLEDGED]
    ).order_by("pk").select_for_update(of=("self",))
    for request in requests:
        if OrderLine.objects.filter(fulfillment_request=request, status=LineStatus.ALLOCATED).exists():
            continue
        entries.append(transit(request, "complete", actor=actor, reason="every line fulfilled or canceled", at=now))
        request.save(update_fields=["status"])
    return entries


def request_acknowledge(*, request_id: int | None, actor, now: datetime, reason: str) -> list[TransitionLog]:
    """The location confirmed it works on the request (a store started picking): PROCESSED → ACKNOWLEDGED.

    Does nothing for a request already acknowledged (or in any other state). Locks the request.
    """
    if request_id is None:
        return []
    request = FulfillmentRequest.objects.select_for_update().filter(
        pk=request_id, status=FulfillmentRequest.Status.PROCESSED
    ).first()
    if request is None:
        return []
    entry = transit(request, "acknowledge", actor=actor, reason=reason, at=now)
    request.save(update_fields=["status"])
    return [entry]


def request_cancel_if_empty(*, request_id: int | None, actor, now: datetime, reason: str) -> list[TransitionLog]:
    """Cancel a request the location gave everything back from (no line allocated to it any more)."""
    if request_id is None:
        return []
    request = FulfillmentRequest.objects.select_for_update().filter(pk=request_id).first()
    if request is None or request.status in (FulfillmentRequest.Status.COMPLETED, FulfillmentRequest.Status.CANCELED):
        return []
    if OrderLine.objects.filter(fulfillment_request=request).exclude(status=LineStatus.CANCELED).exists():
        return []
    entry = transit(request, "cancel", actor=actor, reason=reason, at=now)
    request.save(update_fields=["status"])
    return [entry]


def order_lines_cancel_held(
    *, order: Order, lines: Iterable[OrderLine], actor, reason: str, now: datetime, notify_shop: bool = True,
) -> list[TransitionLog]:
    """Cancel ALLOCATED lines whose units are already picked: their reservation stays, held by a put-back.

    For a customer who refuses items or never collects them (and, later, cancellations and rejections
    of picked units): the lines become CANCELED at once — the shop is told with one "lines-canceled"
    message —, the units keep their reservation until an associate confirms they are back on the
    shelf (fulfillment's put-back task releases it), and the order completes or cancels when nothing is
    left open. Expects the order and the lines locked by the caller. Returns the lines' log entries.
    """
    lines = list(lines)
    if any(line.status != LineStatus.ALLOCATED for line in lines):
        raise LineError("only allocated lines are canceled with their units held for a put-back")
    entries = []
    for line in lines:
        entries.append(transit(line, "cancel", actor=actor, reason=reason, at=now))
        line.cancel_reason = reason[:64]
        line.save(update_fields=["status", "cancel_reason"])
    if lines and notify_shop:
        shop_lines_canceled(order=order, canceled=[(line, line.quantity) for line in lines], reason=reason, now=now)
    entries += requests_complete_if_done({line.fulfillment_request_id for line in lines} - {None}, actor=actor, now=now)
    order_settle(order=order, lines=list(OrderLine.objects.filter(order=order).order_by("pk")), actor=actor, now=now)
    return entries


def order_line_split(line: OrderLine, quantity: int) -> OrderLine:
    """A new line of `quantity` units split off `line` in the same state; `line` keeps the rest (the caller holds
    the order's lock). Both keep the shop's line id, so the shop still sees one line."""
    line.quantity -= quantity
    line.save(update_fields=["quantity"])
    part = OrderLine.objects.create(
        order_id=line.order_id, external_line_id=line.external_line_id, parent=line, product_id=line.product_id,
        sku=line.sku, title=line.title, quantity=quantity, unit_price=line.unit_price, status=line.status,
        kind=line.kind, promise_date=line.promise_date, queue=line.queue, queued_at=line.queued_at,
        pickup_store_code=line.pickup_store_code, pickup_facility_id=line.pickup_facility_id,
        allocated_facility_id=line.allocated_facility_id, fulfillment_request_id=line.fulfillment_request_id,
    )
    part.excluded_facilities.set(line.excluded_facilities.all())
    return part
