"""Fulfillment request actions (Flxpoint's model): preview, create by hand, void, regenerate, process, retry."""

from collections import defaultdict
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from fulfillment import jobs
from fulfillment.models import PickJob, PickLine
from oms.core.history import record, transit
from oms.models import FulfillmentRequest, Order, OrderLine, OrderNote, TransitionLog
from oms.routing.apply import decisions_apply
from oms.routing.load import world_load
from oms.routing.runs import order_route, routing_preview
from oms.routing.types import Allocation, Decision, Parked
from stores.models import Facility
from stores.stock import stock_release

RequestStatus = FulfillmentRequest.Status
LineStatus = OrderLine.Status
# A request no location has started on: it can be voided and its lines routed again.
VOIDABLE = (RequestStatus.UNPROCESSED, RequestStatus.PROCESSING, RequestStatus.PROCESSED, RequestStatus.FAILED)


class RequestError(ValueError):
    """A fulfillment request action that cannot be done (the message says why, for the operator)."""


def request_preview(*, order_id: int, now: datetime | None = None) -> list[Decision]:
    """What routing would decide for the order's queued lines now, one decision per queue; writes nothing."""
    return routing_preview(order_id=order_id, now=now)


def request_create_manual(
    *, order_id: int, facility_id: int, line_quantities: dict[int, int] | None = None, actor, reason: str,
    now: datetime | None = None,
) -> FulfillmentRequest:
    """Send QUEUED lines of an order to a facility the operator chose, bypassing routing but not the stock check.

    `line_quantities` maps line ids to the units to send (default: every QUEUED line, whole); fewer
    units than the line has split it, the rest waiting where it was. The allocation is written like a
    run's (`decisions_apply`): reservations, split, numbering, pick job, history and decision. Raises
    RequestError and writes nothing when the facility lacks the stock or another transaction took it.

    Locks the order, then its QUEUED lines in primary-key order, then (in decisions_apply) the stock rows.
    """
    now = now or timezone.now()
    reason = _reason_required(reason)
    with transaction.atomic():
        order = _order_lock(order_id)
        if order.status != Order.Status.APPROVED:
            raise RequestError(f"Order {order.name} is {order.status}: only approved orders get requests.")
        facility = Facility.objects.filter(pk=facility_id).first()
        if facility is None:
            raise RequestError(f"No facility {facility_id}.")
        if not facility.is_active:
            raise RequestError(f"{facility.code} is not active.")
        queued = list(
            OrderLine.objects.filter(order=order, status=LineStatus.QUEUED)
            .order_by("pk").select_for_update(of=("self",))
        )
        chosen = _lines_chosen(order=order, queued=queued, line_quantities=line_quantities, facility=facility)
        world = world_load(now=now, product_ids={line.product_id for line, _ in chosen})
        _stock_check(chosen=chosen, facility=facility, world_stock=world.stock)

        # decisions_apply writes lines of one queue. A line split keeps its rest where it waits, so split
        # lines must share a queue; lines sent whole leave their queue anyway and are aligned to it first.
        split_queues = {line.queue for line, quantity in chosen if quantity < line.quantity}
        if len(split_queues) > 1:
            raise RequestError(f"Lines to split wait in {', '.join(sorted(split_queues))}: split lines of one "
                               "queue at a time.")
        queue = next(iter(split_queues)) if split_queues else chosen[0][0].queue
        origins = sorted({line.queue for line, _ in chosen})
        OrderLine.objects.filter(pk__in=[line.pk for line, _ in chosen]).exclude(queue=queue).update(queue=queue)

        decision = Decision(
            order_id=order.pk, rule_id=None,
            allocations=[Allocation(line_id=line.pk, facility_id=facility.pk, quantity=quantity)
                         for line, quantity in chosen],
            parked=[Parked(line_id=line.pk, quantity=line.quantity - quantity, queue=queue)
                    for line, quantity in chosen if quantity < line.quantity],
            candidates=[], fences={}, notes=[f"Sent to {facility.code} by hand: {reason}"],
        )
        result = decisions_apply(decisions=[decision], world=world, queue=queue, run=None, now=now, actor=actor,
                                 trigger_reason=f"manual request: {reason}")
        if result.conflicted_order_ids or not result.request_ids:
            # Raising rolls the whole transaction back: nothing of the attempt stays.
            raise RequestError(f"{facility.code} no longer has the stock: another order took it just now.")
        request = FulfillmentRequest.objects.get(pk=result.request_ids[0])
        units = ", ".join(f"{line.sku} × {quantity}" for line, quantity in chosen)
        OrderNote.objects.create(
            order=order, actor=actor, at=now,
            text=f"Fulfillment request {request.number} created by hand at {facility.code} "
                 f"({units}, from {', '.join(origins)}): {reason}",
        )
    return request


def request_void(*, request_id: int, actor, reason: str, now: datetime | None = None) -> FulfillmentRequest:
    """Cancel a request no location has started on, and send its lines back to BROKERING.

    Refused (RequestError) once the location has acknowledged it, a pick job is in progress or closed,
    or anything was picked. Its open pick job and pick lines are canceled, each allocated line gives
    back its reservation and goes ALLOCATED → QUEUED (`requeue`) into BROKERING, without facility or
    request, and not excluded anywhere: a void is no rejection.

    Locks the order, its lines of the request, the request, then its pick jobs and pick lines.
    """
    now = now or timezone.now()
    reason = _reason_required(reason)
    with transaction.atomic():
        request, lines = _request_lock(request_id)
        _request_void_locked(request=request, lines=lines, actor=actor, reason=reason, now=now)
    return request


def request_regenerate(*, request_id: int, actor, reason: str, now: datetime | None = None) -> Decision | None:
    """Void the request and route its order's BROKERING lines again, in one transaction.

    Releases and reserves again exactly (possibly at the same facility); if routing fails, nothing
    changes. Returns routing's decision (None when nothing was left to route).
    """
    now = now or timezone.now()
    reason = _reason_required(reason)
    with transaction.atomic():
        request, lines = _request_lock(request_id)
        _request_void_locked(request=request, lines=lines, actor=actor, reason=f"regenerated: {reason}", now=now)
        try:
            return order_route(order_id=request.order_id, now=now, actor=actor,
                               reason=f"regenerated {request.number}: {reason}")
        except Exception as exc:
            raise RequestError(f"Routing {request.number}'s lines again failed: {exc}") from exc


def request_process(*, request_id: int, actor=None, now: datetime | None = None) -> FulfillmentRequest:
    """Send an UNPROCESSED request to its store: UNPROCESSED → PROCESSING → PROCESSED with its pick job.

    A WMS warehouse's requests are sent by the warehouse feed, never here. If creating the pick job
    fails the request is committed FAILED with the error, and RequestError is raised.
    """
    return _request_send(request_id=request_id, transition="process", source=RequestStatus.UNPROCESSED, actor=actor,
                         now=now)


def request_retry(*, request_id: int, actor=None, now: datetime | None = None) -> FulfillmentRequest:
    """Send a FAILED request again: FAILED → PROCESSING → PROCESSED (or FAILED again, with the new error)."""
    return _request_send(request_id=request_id, transition="retry", source=RequestStatus.FAILED, actor=actor, now=now)


# --- helpers ------------------------------------------------------------------------------------


def _reason_required(reason: str) -> str:
    if not (reason or "").strip():
        raise RequestError("A reason is required (it is shown on the order's timeline).")
    return reason.strip()


def _order_lock(order_id: int) -> Order:
    order = Order.objects.select_for_update().filter(pk=order_id).first()
    if order is None:
        raise RequestError(f"No order {order_id}.")
    return order


def _request_lock(request_id: int) -> tuple[FulfillmentRequest, list[OrderLine]]:
    """Lock the request's order, its allocated lines (primary-key order) and the request, as order_cancel does."""
    order_id = FulfillmentRequest.objects.filter(pk=request_id).values_list("order_id", flat=True).first()
    if order_id is None:
        raise RequestError(f"No fulfillment request {request_id}.")
    _order_lock(order_id)
    lines = list(
        OrderLine.objects.filter(fulfillment_request_id=request_id, status=LineStatus.ALLOCATED)
        .order_by("pk").select_for_update(of=("self",))
    )
    request = FulfillmentRequest.objects.select_for_update(of=("self",)).select_related("facility").get(pk=request_id)
    return request, lines


def _lines_chosen(
    *, order: Order, queued: list[OrderLine], line_quantities: dict[int, int] | None, facility: Facility,
) -> list[tuple[OrderLine, int]]:
    by_id = {line.pk: line for line in queued}
    if line_quantities is None:
        chosen = [(line, line.quantity) for line in queued]
    else:
        chosen = []
        for line_id, quantity in line_quantities.items():
            line = by_id.get(line_id)
            if line is None:
                raise RequestError(f"Line {line_id} is not a QUEUED line of order {order.name}.")
            if not 1 <= quantity <= line.quantity:
                raise RequestError(f"Line {line_id} ({line.sku}) has {line.quantity} units: send 1 to {line.quantity}.")
            chosen.append((line, quantity))
        chosen.sort(key=lambda pair: pair[0].pk)
    if not chosen:
        raise RequestError(f"Order {order.name} has no QUEUED lines.")
    for line, _ in chosen:
        if line.product_id is None:
            raise RequestError(f"Line {line.pk} ({line.sku}) is not a known product.")
        # The customer collects at the store they chose: a pickup line can only be filled there.
        if line.pickup_facility_id is not None and line.pickup_facility_id != facility.pk:
            raise RequestError(f"Line {line.pk} ({line.sku}) is picked up at {line.pickup_store_code}, "
                               f"not at {facility.code}.")
    return chosen


def _stock_check(*, chosen: list[tuple[OrderLine, int]], facility: Facility, world_stock: dict) -> None:
    needed: dict[int, int] = defaultdict(int)
    skus = {}
    for line, quantity in chosen:
        needed[line.product_id] += quantity
        skus[line.product_id] = line.sku
    short = [
        f"{skus[product_id]}: {units} needed, {world_stock.get(product_id, {}).get(facility.pk, 0)} available"
        for product_id, units in needed.items()
        if world_stock.get(product_id, {}).get(facility.pk, 0) < units
    ]
    if short:
        raise RequestError(f"{facility.code} lacks stock — {'; '.join(short)}.")


def _request_void_locked(
    *, request: FulfillmentRequest, lines: list[OrderLine], actor, reason: str, now: datetime
) -> None:
    if request.status not in VOIDABLE:
        raise RequestError(f"{request.number} is {request.status}: only requests no location has started on "
                           "can be voided.")
    pick_jobs = list(PickJob.objects.filter(fulfillment_request=request).order_by("pk").select_for_update(of=("self",)))
    if any(job.status not in (PickJob.Status.OPEN, PickJob.Status.CANCELED) for job in pick_jobs):
        raise RequestError(f"{request.number}: the store has started picking; reject or cancel instead.")
    open_jobs = [job for job in pick_jobs if job.status == PickJob.Status.OPEN]
    pick_lines = list(
        PickLine.objects.filter(pick_job__in=open_jobs).order_by("pk").select_for_update(of=("self",))
    )
    # A paused job is OPEN again but keeps what was picked: those units are in a tote, not on the shelf.
    if any(line.picked_quantity or line.status in (PickLine.Status.PICKED, PickLine.Status.SHORT)
           for line in pick_lines):
        raise RequestError(f"{request.number}: items have already been picked; reject or cancel instead.")

    entries: list[TransitionLog] = []
    for job in open_jobs:
        entries.append(transit(job, "cancel", actor=actor, reason=reason, at=now))
        job.closed_at = now
        job.save(update_fields=["status", "closed_at"])
    for pick_line in pick_lines:
        if pick_line.status == PickLine.Status.OPEN:
            entries.append(transit(pick_line, "cancel", actor=actor, reason=reason, at=now, order_id=request.order_id))
            pick_line.save(update_fields=["status"])
    for line in lines:
        stock_release(
            facility_id=line.allocated_facility_id, product_id=line.product_id, quantity=line.quantity, actor=actor,
            source=f"request {request.number} voided", order_line_id=line.pk, now=now, note=reason[:200],
        )
        entries.append(transit(line, "requeue", actor=actor, reason=reason, at=now))
        line.queue = OrderLine.Queue.BROKERING
        line.queued_at = now
        line.allocated_facility = None
        line.fulfillment_request = None
        line.save(update_fields=["status", "queue", "queued_at", "allocated_facility", "fulfillment_request"])
    entries.append(transit(request, "cancel", actor=actor, reason=reason, at=now))
    request.save(update_fields=["status"])
    record(entries)
    OrderNote.objects.create(
        order_id=request.order_id, actor=actor, at=now,
        text=f"Fulfillment request {request.number} at {request.facility.code} voided: {reason}. "
             f"{len(lines)} line(s) back to BROKERING.",
    )


def _request_send(
    *, request_id: int, transition: str, source: str, actor, now: datetime | None
) -> FulfillmentRequest:
    now = now or timezone.now()
    error = ""
    with transaction.atomic():
        request, lines = _request_lock(request_id)
        if request.status != source:
            raise RequestError(f"{request.number} is {request.status}, not {source}.")
        if request.facility.fulfilled_by_wms:
            raise RequestError(f"{request.number} goes to warehouse {request.facility.code}: the warehouse feed "
                               "exports it.")
        if not lines:
            raise RequestError(f"{request.number} has no allocated lines left to send.")
        entries = [transit(request, transition, actor=actor, reason="sent by hand", at=now)]
        try:
            with transaction.atomic():  # a savepoint: a failure leaves no half-made pick job behind
                jobs.pick_jobs_create(requests=[(request, lines)], now=now)
        except Exception as exc:
            error = str(exc) or type(exc).__name__
            request.error = error
            entries.append(transit(request, "fail", actor=actor, reason=error, at=now))
        else:
            request.error = ""
            entries.append(transit(request, "mark_sent", actor=actor, reason="pick job created", at=now))
        request.save(update_fields=["status", "error"])
        record(entries)
    # Raised after the commit, so the FAILED state and its error stay for operations to see and retry.
    if error:
        raise RequestError(f"{request.number} failed: {error}")
    return request
