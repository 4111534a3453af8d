"""Rejection: a store manager gives items of an allocated order back, and associates report problems for them.

A rejection is close to a short pick (`picking._line_short`), but it is the manager's call and it says
why: the reason (oms.RejectionReason, edited by operations staff) decides the stock effect. The units
leave the store (`oms.core.lines.order_line_requeue`: split, requeued to REJECTED — BOPIS_REJECTED for a
pickup line — with this store excluded); units already picked keep their reservation under a put-back
task until an associate confirms they are back on the shelf. With `Facility.allow_partial_rejection`
off, rejecting one item sends the whole order back: the other lines go as "rejected to avoid split",
with no stock effect. Every rejection is a LineRejection row for the report.

Lock order, as everywhere: the order, its pick job, the job's lines, the order lines, then stock rows
in primary-key order.
"""

from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from fulfillment.models import LineProblem, PickJob, PickLine, PutBackTask
from fulfillment.picking import (
    PickError,
    PickResult,
    is_store_manager,
    pick_batch_close_if_done,
    pick_batch_jobs_lock,
    pick_batch_lock,
    pick_job_close_if_done,
    pick_job_lock,
    pick_job_touch,
    pick_lines_lock,
)
from fulfillment.putback import put_back_create
from oms.core.history import record, transit
from oms.core.lines import order_line_requeue, request_cancel_if_empty
from oms.models import LineRejection, OrderLine, RejectionReason, TransitionLog
from stores.models import InventoryAdjustment, StockLevel
from stores.stock import stock_adjust, stock_levels_lock

AVOID_SPLIT = "rejected to avoid split"
JobStatus = PickJob.Status
LineStatus = PickLine.Status
Effect = RejectionReason.Effect


class RejectionError(PickError):
    """A rejection or problem report the line's state or the user's role does not allow."""


def _check_manager(actor, facility_id: int) -> None:
    if not is_store_manager(actor, facility_id):
        raise RejectionError("Only a store manager can reject items.", status=403)


def _reason_get(reason_code: str) -> RejectionReason:
    reason = RejectionReason.objects.filter(code=reason_code, is_active=True).first()
    if reason is None:
        raise RejectionError("Choose why the items are rejected.")
    return reason


def _job_lock_for_line(*, pick_line_id: int, facility_id: int, version: int | None) -> PickJob:
    job_id = PickLine.objects.filter(pk=pick_line_id, pick_job__facility_id=facility_id).values_list(
        "pick_job_id", flat=True).first()
    if job_id is None:
        raise RejectionError("This line is not part of a pick job in this store.", status=404)
    return pick_job_lock(job_id=job_id, facility_id=facility_id, version=version)


# --- rejection -----------------------------------------------------------------------------------

def line_reject(
    *, facility_id: int, actor, pick_line_id: int, reason_code: str, version: int | None,
    quantity: int | None = None, now: datetime | None = None,
) -> PickLine:
    """A manager rejects `quantity` units of an OPEN pick line (default: every unit not yet picked).

    Unpicked units go first; beyond them, picked units go back too (put-back task, reservation held).
    With partial rejection off at the facility every other line of the job goes back as well.
    Returns the pick line.
    """
    now = now or timezone.now()
    reason = _reason_get(reason_code)
    with transaction.atomic():
        _check_manager(actor, facility_id)
        job = _job_lock_for_line(pick_line_id=pick_line_id, facility_id=facility_id, version=version)
        line = _line_reject_locked(job=job, pick_line_id=pick_line_id, reason=reason, quantity=quantity,
                                   actor=actor, now=now)
    return line


def batch_line_reject(
    *, batch_id: int, facility_id: int, actor, pick_line_id: int, reason_code: str, version: int | None,
    quantity: int | None = None, now: datetime | None = None,
) -> PickResult:
    """`line_reject` from the batch page: the batch's version is checked, the line's own job is changed."""
    now = now or timezone.now()
    reason = _reason_get(reason_code)
    with transaction.atomic():
        _check_manager(actor, facility_id)
        batch = pick_batch_lock(batch_id=batch_id, facility_id=facility_id, version=version)
        jobs = pick_batch_jobs_lock(batch)
        job_id = PickLine.objects.filter(pk=pick_line_id, pick_job_id__in=list(jobs)).values_list(
            "pick_job_id", flat=True).first()
        if job_id is None:
            raise RejectionError("This line is not open in the batch.", status=404)
        job = jobs[job_id]
        line = _line_reject_locked(job=job, pick_line_id=pick_line_id, reason=reason, quantity=quantity,
                                   actor=actor, now=now)
        pick_batch_close_if_done(batch, actor=actor, now=now)
    return PickResult(job=job, line=line, job_closed=job.status != JobStatus.IN_PROGRESS,
                      message=f"Tote {job.tote} · {line.product.name}: rejected, sent to another location.")


def _line_reject_locked(*, job: PickJob, pick_line_id: int, reason: RejectionReason, quantity: int | None,
                        actor, now: datetime) -> PickLine:
    """`line_reject` once the order and the job are locked (by the caller)."""
    if job.status not in (JobStatus.OPEN, JobStatus.IN_PROGRESS):
        raise RejectionError(f"This job is {job.get_status_display().lower()}: nothing to reject.")
    lines = pick_lines_lock(Q(pick_job=job))
    line = next((pl for pl in lines if pl.pk == pick_line_id), None)
    if line is None:
        raise RejectionError("This line is not part of the job.", status=404)
    if line.status != LineStatus.OPEN:
        raise RejectionError(f"{line.product.sku} is already {line.get_status_display().lower()}: "
                             "only open lines can be rejected.")
    open_units = line.quantity - line.picked_quantity
    quantity = open_units if quantity is None else quantity
    if not 0 < quantity <= line.quantity:
        raise RejectionError(f"Reject between 1 and {line.quantity} × {line.product.sku}.")
    full = not job.facility.allow_partial_rejection
    others = [pl for pl in lines if pl.pk != line.pk and _units_left(pl)] if full else []
    order_lines = {ol.pk: ol for ol in OrderLine.objects.select_for_update().filter(
        pk__in=[pl.order_line_id for pl in [line, *others]]).order_by("pk")}
    stock_levels_lock(pks=StockLevel.objects.filter(
        facility_id=job.facility_id, product_id__in={pl.product_id for pl in [line, *others]}
    ).values_list("pk", flat=True))

    entries: list[TransitionLog] = []
    held_items: list[tuple[OrderLine, int]] = []
    rejections: list[LineRejection] = []
    # Full rejection: the whole line goes; the reason counts for `quantity`, the rest is "to avoid split".
    units = quantity if not full else line.quantity
    back, picked_back = _pick_line_give_back(job=job, line=line, order_line=order_lines[line.order_line_id],
                                             quantity=units, why=f"rejected at {job.facility.code}: {reason.name}",
                                             actor=actor, now=now, entries=entries)
    if picked_back:
        held_items.append((back, picked_back))
    rejections.append(LineRejection(order_id=job.order_id, order_line=back, facility_id=job.facility_id,
                                    product_id=line.product_id, reason=reason, reason_text=reason.name[:120],
                                    quantity=quantity, actor=actor, created_at=now))
    if units > quantity:  # full rejection: the units the manager did not reject go to avoid the split
        rejections.append(LineRejection(order_id=job.order_id, order_line=back, facility_id=job.facility_id,
                                        product_id=line.product_id, reason=None, reason_text=AVOID_SPLIT,
                                        quantity=units - quantity, actor=actor, created_at=now))
    _stock_effect(job=job, line=line, back=back, reason=reason, quantity=quantity, actor=actor, now=now)
    for other in others:
        other_units = _units_left(other)
        other_back, other_picked = _pick_line_give_back(
            job=job, line=other, order_line=order_lines[other.order_line_id], quantity=other_units,
            why=f"{AVOID_SPLIT} at {job.facility.code}", actor=actor, now=now, entries=entries)
        if other_picked:
            held_items.append((other_back, other_picked))
        rejections.append(LineRejection(order_id=job.order_id, order_line=other_back, facility_id=job.facility_id,
                                        product_id=other.product_id, reason=None, reason_text=AVOID_SPLIT,
                                        quantity=other_units, actor=actor, created_at=now))
    LineRejection.objects.bulk_create(rejections)
    put_back_create(facility_id=job.facility_id, order_id=job.order_id, items=held_items,
                    reason=PutBackTask.Reason.REJECTED, now=now, note=f"rejected: {reason.name}")
    for rejected in [line, *others]:
        entries += _problems_settle(job=job, line=rejected, actor=actor, now=now)
    closed_fields, close_entries = _job_settle(job=job, actor=actor, now=now, full=full)
    pick_job_touch(job, actor, closed_fields)
    record(entries + close_entries)
    return line


def _units_left(line: PickLine) -> int:
    """Units of a line still held for this job: all of an open or picked line, the picked part of a short one."""
    if line.status in (LineStatus.OPEN, LineStatus.PICKED):
        return line.quantity
    if line.status == LineStatus.SHORT:
        return line.picked_quantity
    return 0


def _pick_line_give_back(*, job: PickJob, line: PickLine, order_line: OrderLine, quantity: int, why: str, actor,
                         now: datetime, entries: list) -> tuple[OrderLine, int]:
    """Send `quantity` units of the pick line back (unpicked ones first); return the requeued line and how many
    picked units it took (their reservation is held for a put-back)."""
    unpicked = max(0, line.quantity - line.picked_quantity) if line.status == LineStatus.OPEN else 0
    picked_back = max(0, quantity - unpicked)
    back, requeue_entries = order_line_requeue(line=order_line, quantity=quantity, actor=actor, reason=why, now=now,
                                               source=f"pick line {line.pk} rejected", held=picked_back)
    entries += requeue_entries
    if line.status == LineStatus.OPEN:  # a picked or short line of a fully rejected order keeps its record
        line.picked_quantity -= picked_back
        if quantity == line.quantity:
            entries.append(transit(line, "cancel", actor=actor, reason=why, at=now, order_id=job.order_id))
        elif quantity >= unpicked:  # what was picked (and not rejected) stays in the tote
            entries.append(transit(line, "short", actor=actor, reason=why, at=now, order_id=job.order_id))
            line.short_reason = why[:64]
        else:  # some units still to pick: the pick line shrinks with its order line
            line.quantity -= quantity
    line.save(update_fields=["status", "quantity", "picked_quantity", "short_reason"])
    return back, picked_back


def _stock_effect(*, job: PickJob, line: PickLine, back: OrderLine, reason: RejectionReason, quantity: int, actor,
                  now: datetime) -> None:
    """What the reason says about the store's stock, as a REJECTION entry naming the reason and the manager."""
    common = {"facility_id": job.facility_id, "product_id": line.product_id,
              "reason": InventoryAdjustment.Reason.REJECTION, "actor": actor,
              "source": f"pick line {line.pk} rejected", "order_line_id": back.pk, "note": reason.code,
              "now": now}
    if reason.effect == Effect.REDUCE:
        stock_adjust(delta=-quantity, **common)
    elif reason.effect == Effect.TO_RESERVED:
        # The rest of what is on record is not there: keep only what other lines (and put-backs) still hold,
        # so nothing more is routed here until the next count. The row is locked (stock_levels_lock above).
        level = StockLevel.objects.filter(facility_id=job.facility_id, product_id=line.product_id).first()
        if level is not None and level.on_hand > level.reserved:
            stock_adjust(delta=max(level.reserved, 0) - level.on_hand, **common)


def _job_settle(*, job: PickJob, actor, now: datetime, full: bool) -> tuple[list[str], list[TransitionLog]]:
    """Close the job when nothing is open; cancel it (and its request, if empty) when nothing at all was kept."""
    lines = list(PickLine.objects.filter(pick_job=job))
    if any(pl.status == LineStatus.OPEN for pl in lines):
        return [], []
    kept = [pl for pl in lines if pl.status in (LineStatus.PICKED, LineStatus.SHORT) and pl.picked_quantity]
    if full or not kept:
        entries = [transit(job, "cancel", actor=actor, at=now, reason="every item rejected by the store")]
        job.closed_at = now
        entries += request_cancel_if_empty(request_id=job.fulfillment_request_id, actor=actor, now=now,
                                           reason="every item rejected by the store")
        return ["status", "closed_at"], entries
    start = []
    if job.status == JobStatus.OPEN:  # paused with picks made: only a job in progress can close
        start = [transit(job, "start", actor=actor, at=now, reason="the last open item was rejected")]
    closed, entries = pick_job_close_if_done(job=job, actor=actor, now=now)
    return ["status", "outcome", "closed_at"], start + entries


# --- problems associates report ------------------------------------------------------------------

def line_problem_report(
    *, facility_id: int, actor, pick_line_id: int, note: str, version: int | None, now: datetime | None = None,
) -> LineProblem:
    """An associate tells the manager a line cannot be fulfilled; nothing changes until the manager decides."""
    now = now or timezone.now()
    note = (note or "").strip()
    if not note:
        raise RejectionError("Say what is wrong with the item.")
    with transaction.atomic():
        job = _job_lock_for_line(pick_line_id=pick_line_id, facility_id=facility_id, version=version)
        if job.status not in (JobStatus.OPEN, JobStatus.IN_PROGRESS):
            raise RejectionError(f"This job is {job.get_status_display().lower()}.")
        line = PickLine.objects.select_related("product").get(pk=pick_line_id)
        if line.status != LineStatus.OPEN:
            raise RejectionError(f"{line.product.sku} is already {line.get_status_display().lower()}.")
        if LineProblem.objects.filter(pick_line=line, status=LineProblem.Status.OPEN).exists():
            raise RejectionError("A problem with this item is already waiting for the manager.", status=409)
        return LineProblem.objects.create(facility_id=facility_id, pick_line=line, note=note[:200], reported_by=actor,
                                          reported_at=now)


def _problem_get(*, problem_id: int, facility_id: int) -> LineProblem:
    problem = LineProblem.objects.filter(pk=problem_id, facility_id=facility_id).first()
    if problem is None:
        raise RejectionError("This problem report does not exist in this store.", status=404)
    return problem


def _problem_lock_open(problem_id: int) -> LineProblem:
    problem = LineProblem.objects.select_for_update().get(pk=problem_id)
    if problem.status != LineProblem.Status.OPEN:
        raise RejectionError(f"This problem was already {problem.get_status_display().lower()}.", status=409)
    return problem


def line_problem_confirm(
    *, problem_id: int, facility_id: int, actor, reason_code: str, quantity: int | None = None,
    now: datetime | None = None,
) -> LineProblem:
    """The manager agrees: the line is rejected with `reason_code` (exactly as `line_reject`)."""
    now = now or timezone.now()
    reason = _reason_get(reason_code)
    with transaction.atomic():
        _check_manager(actor, facility_id)
        problem = _problem_get(problem_id=problem_id, facility_id=facility_id)
        job = _job_lock_for_line(pick_line_id=problem.pick_line_id, facility_id=facility_id, version=None)
        _problem_lock_open(problem.pk)
        _line_reject_locked(job=job, pick_line_id=problem.pick_line_id, reason=reason, quantity=quantity,
                            actor=actor, now=now)
        problem.refresh_from_db()
    return problem


def line_problem_dismiss(*, problem_id: int, facility_id: int, actor, now: datetime | None = None) -> LineProblem:
    """The manager disagrees: the line stays to be picked."""
    now = now or timezone.now()
    with transaction.atomic():
        _check_manager(actor, facility_id)
        _problem_get(problem_id=problem_id, facility_id=facility_id)
        problem = _problem_lock_open(problem_id)
        entry = transit(problem, "dismiss", actor=actor, reason="dismissed by the manager", at=now,
                        order_id=problem.pick_line.order_line.order_id)
        problem.decided_by = actor
        problem.decided_at = now
        problem.save(update_fields=["status", "decided_by", "decided_at"])
        entry.save()
    return problem


def _problems_settle(*, job: PickJob, line: PickLine, actor, now: datetime) -> list[TransitionLog]:
    """Open problems of a rejected line are confirmed by the rejection."""
    entries = []
    for problem in LineProblem.objects.select_for_update().filter(pick_line=line, status=LineProblem.Status.OPEN):
        entries.append(transit(problem, "confirm", actor=actor, reason="the line was rejected", at=now,
                               order_id=job.order_id))
        problem.decided_by = actor
        problem.decided_at = now
        problem.save(update_fields=["status", "decided_by", "decided_at"])
    return entries


# --- reads ---------------------------------------------------------------------------------------

def line_problems_open(*, facility_id: int) -> list[LineProblem]:
    """The store's problems waiting for the manager, oldest first (one query)."""
    return list(LineProblem.objects.filter(facility_id=facility_id, status=LineProblem.Status.OPEN)
                .select_related("pick_line__product", "pick_line__pick_job__order", "reported_by")
                .order_by("reported_at", "pk"))


def line_problems_open_count(*, facility_id: int) -> int:
    return LineProblem.objects.filter(facility_id=facility_id, status=LineProblem.Status.OPEN).count()


def rejection_reasons() -> list[RejectionReason]:
    return list(RejectionReason.objects.filter(is_active=True))
