"""Picking: starting, scanning, tapping, short picks, pause, reassignment and batches of pick jobs.

Every action an associate can trigger follows the check/do split: `pick_job_lock` takes the row lock
and checks facility, version and who may act; the `pick_*` function then performs the write and logs
every transition. A tap carries the job's version as the associate saw it: if someone else changed
the job meanwhile the tap is refused (HTTP 409 on the page), so two associates never pick twice.
"""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from fulfillment.errors import StoreRefusal
from fulfillment.models import HandoverJob, PickBatch, PickJob, PickLine, ShortPickReason
from fulfillment.packing import pack_job_create
from fulfillment.pickup import pickup_ready
from fulfillment.scans import scanned
from oms.core.history import record, transit
from oms.core.lines import order_line_requeue, rejected_queue_for, request_acknowledge, request_cancel_if_empty
from oms.models import Order, OrderLine, TransitionLog
from stores.models import InventoryAdjustment, StoreMembership
from stores.stock import stock_adjust

JobStatus = PickJob.Status
LineStatus = PickLine.Status


class PickError(StoreRefusal):
    """A short pick, scan or tap the job's state does not allow."""


class StaleVersion(PickError):
    status = 409


@dataclass
class PickResult:
    """What a scan or tap did, for the message on the tablet."""

    job: PickJob
    line: PickLine | None
    message: str
    job_closed: bool = False


# --- locks and checks ----------------------------------------------------------------------------

def _name(user) -> str:
    if user is None:
        return "someone else"
    return user.get_full_name() or user.get_username()


def _orders_lock(order_ids) -> None:
    """Lock the orders first, in primary-key order, as every order-level service does (order_cancel,
    routing): then a pick racing a cancellation waits for it instead of deadlocking with it."""
    list(Order.objects.select_for_update().filter(pk__in=set(order_ids)).order_by("pk").values_list("pk", flat=True))


def pick_job_lock(*, job_id: int, facility_id: int, version: int | None, batched_ok: bool = False) -> PickJob:
    """Lock the job's order, then the job (a job of another facility does not exist for this user), and
    check the version the associate saw."""
    order_id = PickJob.objects.filter(pk=job_id, facility_id=facility_id).values_list("order_id", flat=True).first()
    if order_id is None:
        raise PickError("This pick job does not exist in this store.", status=404)
    _orders_lock([order_id])
    job = (PickJob.objects.select_for_update(of=("self",))
           .select_related("changed_by", "assigned_to", "order", "facility")
           .get(pk=job_id))
    if version is not None and job.version != version:
        raise StaleVersion(f"This job was changed by {_name(job.changed_by)} — reload to see what changed.")
    if job.batch_id and not batched_ok:
        raise PickError(f"This job is picked in batch {job.batch_id}: work on it from the batch page.")
    return job


def pick_batch_lock(*, batch_id: int, facility_id: int, version: int | None) -> PickBatch:
    batch = (PickBatch.objects.select_for_update(of=("self",)).select_related("changed_by")
             .filter(pk=batch_id, facility_id=facility_id).first())
    if batch is None:
        raise PickError("This batch does not exist in this store.", status=404)
    if version is not None and batch.version != version:
        raise StaleVersion(f"This batch was changed by {_name(batch.changed_by)} — reload to see what changed.")
    return batch


def pick_job_touch(job: PickJob, actor, fields: list[str]) -> None:
    job.version += 1
    job.changed_by = actor
    job.save(update_fields=[*fields, "version", "changed_by"])


def is_store_manager(actor, facility_id: int) -> bool:
    return StoreMembership.objects.filter(
        user=actor, facility_id=facility_id, role=StoreMembership.Role.MANAGER
    ).exists()


def _check_picker(job: PickJob, actor) -> None:
    """Only the associate the job belongs to picks in it (a manager may step in)."""
    if job.status != JobStatus.IN_PROGRESS:
        raise PickError("Start the job before picking." if job.status == JobStatus.OPEN
                        else f"This job is {job.get_status_display().lower()}: nothing more to pick.")
    if job.assigned_to_id not in (None, actor.pk) and not is_store_manager(actor, job.facility_id):
        raise PickError(f"{_name(job.assigned_to)} is picking this job.")


# --- single jobs ---------------------------------------------------------------------------------

def pick_job_start(
    *, job_id: int, facility_id: int, actor, version: int | None, now: datetime | None = None
) -> PickJob:
    """OPEN → IN_PROGRESS: the job becomes the associate's; its request is acknowledged on the first start."""
    now = now or timezone.now()
    with transaction.atomic():
        job = pick_job_lock(job_id=job_id, facility_id=facility_id, version=version)
        entries = _job_begin(job=job, actor=actor, now=now)
        # A paused job whose last open line was canceled meanwhile has nothing left to pick: resuming it
        # hands what was picked on to packing (or the counter) at once.
        _job_settle(job=job, actor=actor, now=now, entries=entries, touched=False)
    return job


def _job_begin(*, job: PickJob, actor, now: datetime) -> list[TransitionLog]:
    """OPEN → IN_PROGRESS for the associate, and the request acknowledged on the first start (the caller holds
    the job's lock and writes the returned log entries)."""
    if job.status != JobStatus.OPEN:
        raise PickError(f"This job is {job.get_status_display().lower()}, it cannot be started.")
    if job.assigned_to_id not in (None, actor.pk) and not is_store_manager(actor, job.facility_id):
        raise PickError(f"This job is assigned to {_name(job.assigned_to)}.")
    entries = [transit(job, "start", actor=actor, reason="started picking", at=now)]
    job.assigned_to = actor
    job.started_at = job.started_at or now
    pick_job_touch(job, actor, ["status", "assigned_to", "started_at"])
    entries += request_acknowledge(request_id=job.fulfillment_request_id, actor=actor, now=now,
                                   reason="the store started picking")
    return entries


def pick_job_pause(
    *, job_id: int, facility_id: int, actor, version: int | None, now: datetime | None = None
) -> PickJob:
    """IN_PROGRESS → OPEN, free for anyone to resume; the picks made stay recorded."""
    now = now or timezone.now()
    with transaction.atomic():
        job = pick_job_lock(job_id=job_id, facility_id=facility_id, version=version)
        _check_picker(job, actor)
        entry = transit(job, "pause", actor=actor, reason="paused", at=now)
        job.assigned_to = None
        pick_job_touch(job, actor, ["status", "assigned_to"])
        entry.save()
    return job


def pick_job_reassign(
    *, job_id: int, facility_id: int, actor, to_user_id: int, version: int | None, now: datetime | None = None
) -> PickJob:
    """A manager gives the job to another associate of the store (picks made stay)."""
    now = now or timezone.now()
    with transaction.atomic():
        if not is_store_manager(actor, facility_id):
            raise PickError("Only a store manager can reassign a pick job.", status=403)
        job = pick_job_lock(job_id=job_id, facility_id=facility_id, version=version)
        if job.status not in (JobStatus.OPEN, JobStatus.IN_PROGRESS):
            raise PickError(f"This job is {job.get_status_display().lower()}: nothing to reassign.")
        to_user = get_user_model().objects.filter(pk=to_user_id, memberships__facility_id=facility_id).first()
        if to_user is None:
            raise PickError("Choose an associate of this store.")
        previous = job.assigned_to
        job.assigned_to = to_user
        pick_job_touch(job, actor, ["assigned_to"])
        TransitionLog.objects.create(
            object_type="pickjob", object_id=job.pk, order_id=job.order_id, transition="reassign",
            source_state=job.status, target_state=job.status, actor=actor, at=now,
            reason=f"assigned to {_name(to_user)}" + (f" (was {_name(previous)})" if previous else ""),
        )
    return job


def pick_job_scan(
    *, job_id: int, facility_id: int, actor, version: int | None, code: str, now: datetime | None = None
) -> PickResult:
    """One unit confirmed by its barcode (or SKU): the first open line of that product gets it.

    On a job nobody is picking (OPEN), the first correct scan starts it exactly as *Start picking* does
    (the associate becomes the picker, the request is acknowledged) and counts the unit; a wrong scan
    changes nothing. Two first scans at once: the job's lock and version let one start it, the other is
    refused (the job changed).
    """
    now = now or timezone.now()
    code = scanned(code)
    if not code:
        raise PickError("Scan a barcode or type it and press Enter.")
    with transaction.atomic():
        job = pick_job_lock(job_id=job_id, facility_id=facility_id, version=None)
        # A scan is one unit in the associate's hand: their own last change (the start, the scan just before,
        # still on its way back to the tablet) does not make it stale; anyone else's does.
        if version is not None and job.version != version and not (
                0 <= version < job.version and job.changed_by_id == actor.pk):
            raise StaleVersion(f"This job was changed by {_name(job.changed_by)} — reload to see what changed.")
        if job.status != JobStatus.OPEN:
            _check_picker(job, actor)
        lines = pick_lines_lock(Q(pick_job=job))
        line = _line_for_code(lines, code)
        entries = _job_begin(job=job, actor=actor, now=now) if job.status == JobStatus.OPEN else []
        return _unit_pick(job=job, line=line, actor=actor, quantity=1, now=now, entries=entries)


def pick_job_for_scan(*, facility_id: int, actor, code: str) -> PickJob:
    """The pick queue's scan: the earliest-due open job (not batched, not given to someone else) with an open
    line of the scanned item. A read: opening the job changes nothing."""
    code = scanned(code)
    if not code:
        raise PickError("Scan a barcode or type it and press Enter.")
    if len(code) > 64:
        raise PickError("That is not a barcode: scan the item's barcode or type its SKU.")
    job = (PickJob.objects.filter(facility_id=facility_id, status=JobStatus.OPEN, batch__isnull=True)
           .filter(Q(assigned_to__isnull=True) | Q(assigned_to=actor))
           .filter(Q(lines__product__barcode=code) | Q(lines__product__sku__iexact=code),
                   lines__status=LineStatus.OPEN)
           .order_by(F("due_at").asc(nulls_last=True), "pk").first())
    if job is None:
        raise PickError(f"No open pick job needs {code}. Put it back, or scan another item.", status=404)
    return job


def pick_line_tap(
    *, job_id: int, facility_id: int, actor, version: int | None, line_id: int, quantity: int = 1,
    now: datetime | None = None,
) -> PickResult:
    """Units confirmed by tapping the line (`quantity` units; never more than ordered)."""
    now = now or timezone.now()
    with transaction.atomic():
        job = pick_job_lock(job_id=job_id, facility_id=facility_id, version=version)
        _check_picker(job, actor)
        line = _line_get(pick_lines_lock(Q(pick_job=job)), line_id)
        return _unit_pick(job=job, line=line, actor=actor, quantity=quantity, now=now)


def pick_line_short(
    *, job_id: int, facility_id: int, actor, version: int | None, line_id: int, reason_code: str,
    now: datetime | None = None,
) -> PickResult:
    """The associate cannot complete the line: it closes with what was picked, the rest leaves the store.

    The missing units split off the order line, their reservation is released and on hand drops by
    them (they are not there: a SHORT_PICK entry in the ledger); they wait in REJECTED with this store
    excluded (BOPIS_REJECTED for a pickup line) until routing sends them elsewhere.
    """
    now = now or timezone.now()
    reason = _short_pick_reason(reason_code)
    with transaction.atomic():
        job = pick_job_lock(job_id=job_id, facility_id=facility_id, version=version)
        _check_picker(job, actor)
        line = _line_get(pick_lines_lock(Q(pick_job=job)), line_id)
        return _short_and_settle(job=job, line=line, reason=reason, actor=actor, now=now)


# --- batches -------------------------------------------------------------------------------------

def pick_batch_create(
    *, facility_id: int, job_ids: list[int], picker_ids: list[int], actor, now: datetime | None = None
) -> PickBatch:
    """Several open jobs picked in one walk: each gets a tote (T1, T2, … by due time) and starts at once."""
    now = now or timezone.now()
    job_ids = sorted(set(job_ids))
    if len(job_ids) < 2:
        raise PickError("Choose at least two pick jobs for a batch.")
    User = get_user_model()
    pickers = list(User.objects.filter(pk__in=set(picker_ids) | {actor.pk}, memberships__facility_id=facility_id)
                   .order_by("pk"))
    if not any(p.pk in set(picker_ids) for p in pickers) and picker_ids:
        raise PickError("Choose pickers who work in this store.")
    with transaction.atomic():
        _orders_lock(PickJob.objects.filter(pk__in=job_ids, facility_id=facility_id).values_list("order_id", flat=True))
        jobs = list(PickJob.objects.select_for_update(of=("self",)).filter(pk__in=job_ids, facility_id=facility_id)
                    .order_by("pk"))
        if len(jobs) != len(job_ids):
            raise PickError("Some of the chosen jobs are not in this store any more — reload.", status=409)
        busy = [job for job in jobs if job.status != JobStatus.OPEN or job.batch_id]
        if busy:
            raise PickError(f"{len(busy)} of the chosen jobs were started or batched meanwhile — reload.",
                            status=409)
        batch = PickBatch.objects.create(facility_id=facility_id, created_by=actor, created_at=now, changed_by=actor)
        batch.pickers.set(pickers)
        entries = []
        first = next((p for p in pickers if p.pk in set(picker_ids)), actor)
        for number, job in enumerate(sorted(jobs, key=lambda j: (j.due_at or now, j.pk)), start=1):
            entries.append(transit(job, "start", actor=actor, reason=f"batch {batch.pk}, tote T{number}", at=now))
            job.batch = batch
            job.tote = f"T{number}"
            job.assigned_to = first
            job.started_at = job.started_at or now
            job.version += 1
            job.changed_by = actor
            job.save(update_fields=["status", "batch", "tote", "assigned_to", "started_at", "version", "changed_by"])
            entries += request_acknowledge(request_id=job.fulfillment_request_id, actor=actor, now=now,
                                           reason="the store started picking")
        record(entries)
    return batch


def _batch_check_picker(batch: PickBatch, actor) -> None:
    if batch.closed_at:
        raise PickError("This batch is finished: nothing more to pick.")
    if not batch.pickers.filter(pk=actor.pk).exists() and not is_store_manager(actor, batch.facility_id):
        raise PickError("You are not a picker of this batch.")


def pick_batch_jobs_lock(batch: PickBatch) -> dict[int, PickJob]:
    """The batch's jobs still being picked, their orders locked first (see _orders_lock)."""
    _orders_lock(PickJob.objects.filter(batch=batch, status=JobStatus.IN_PROGRESS).values_list("order_id", flat=True))
    return {job.pk: job for job in PickJob.objects.select_for_update(of=("self",)).select_related("order", "facility")
            .filter(batch=batch, status=JobStatus.IN_PROGRESS).order_by("pk")}


def pick_batch_scan(
    *, batch_id: int, facility_id: int, actor, version: int | None, code: str, now: datetime | None = None
) -> PickResult:
    """One unit scanned anywhere in the batch: it goes to the earliest-due job that still needs it."""
    now = now or timezone.now()
    code = scanned(code)
    if not code:
        raise PickError("Scan a barcode or type it and press Enter.")
    with transaction.atomic():
        batch = pick_batch_lock(batch_id=batch_id, facility_id=facility_id, version=version)
        _batch_check_picker(batch, actor)
        jobs = pick_batch_jobs_lock(batch)
        lines = pick_lines_lock(Q(pick_job__in=list(jobs)))
        lines.sort(key=lambda line: (tote_number(jobs[line.pick_job_id]), line.pk))
        line = _line_for_code(lines, code)
        return _batch_unit_pick(batch=batch, job=jobs[line.pick_job_id], line=line, actor=actor, quantity=1, now=now)


def pick_batch_tap(
    *, batch_id: int, facility_id: int, actor, version: int | None, line_id: int, quantity: int = 1,
    now: datetime | None = None,
) -> PickResult:
    now = now or timezone.now()
    with transaction.atomic():
        batch = pick_batch_lock(batch_id=batch_id, facility_id=facility_id, version=version)
        _batch_check_picker(batch, actor)
        jobs = pick_batch_jobs_lock(batch)
        line = _line_get(pick_lines_lock(Q(pick_job__in=list(jobs))), line_id)
        return _batch_unit_pick(batch=batch, job=jobs[line.pick_job_id], line=line, actor=actor, quantity=quantity,
                                now=now)


def pick_batch_short(
    *, batch_id: int, facility_id: int, actor, version: int | None, line_id: int, reason_code: str,
    now: datetime | None = None,
) -> PickResult:
    now = now or timezone.now()
    reason = _short_pick_reason(reason_code)
    with transaction.atomic():
        batch = pick_batch_lock(batch_id=batch_id, facility_id=facility_id, version=version)
        _batch_check_picker(batch, actor)
        jobs = pick_batch_jobs_lock(batch)
        line = _line_get(pick_lines_lock(Q(pick_job__in=list(jobs))), line_id)
        result = _short_and_settle(job=jobs[line.pick_job_id], line=line, reason=reason, actor=actor, now=now)
        result.message = f"Tote {result.job.tote} · {result.message}"
        pick_batch_close_if_done(batch, actor=actor, now=now)
        return result


def _batch_unit_pick(*, batch: PickBatch, job: PickJob, line: PickLine, actor, quantity: int,
                     now: datetime) -> PickResult:
    result = _unit_pick(job=job, line=line, actor=actor, quantity=quantity, now=now)
    result.message = f"Tote {job.tote} · {job.order.name}: {result.message}"
    pick_batch_close_if_done(batch, actor=actor, now=now)
    return result


def pick_batch_close_if_done(batch: PickBatch, *, actor, now: datetime) -> None:
    if not PickJob.objects.filter(batch=batch, status=JobStatus.IN_PROGRESS).exists():
        batch.closed_at = now
    batch.version += 1
    batch.changed_by = actor
    batch.save(update_fields=["closed_at", "version", "changed_by"])


# --- shared steps --------------------------------------------------------------------------------

def pick_lines_lock(where: Q) -> list[PickLine]:
    return list(PickLine.objects.select_for_update(of=("self",)).select_related("product", "order_line")
                .filter(where).order_by("pk"))


def _line_get(lines: list[PickLine], line_id: int) -> PickLine:
    line = next((line for line in lines if line.pk == line_id), None)
    if line is None:
        raise PickError("This line is not part of the job.", status=404)
    return line


def _line_for_code(lines: list[PickLine], code: str) -> PickLine:
    matching = [line for line in lines
                if code == line.product.barcode or code.casefold() == line.product.sku.casefold()]
    if not matching:
        raise PickError(f"Wrong item: {code} is not in this job. Put it back and scan the item shown.")
    line = next((line for line in matching if line.status == LineStatus.OPEN), None)
    if line is None:
        done = matching[0]
        raise PickError(f"All {done.quantity} × {done.product.sku} are already picked — do not take more.")
    return line


def _unit_pick(*, job: PickJob, line: PickLine, actor, quantity: int, now: datetime,
               entries: list[TransitionLog] | None = None) -> PickResult:
    if line.status != LineStatus.OPEN:
        raise PickError(f"{line.product.sku} is already {line.get_status_display().lower()}.")
    left = line.quantity - line.picked_quantity
    if quantity < 1 or quantity > left:
        raise PickError(f"Only {left} more × {line.product.sku} to pick — do not take more.")
    line.picked_quantity += quantity
    entries = list(entries or [])
    if line.picked_quantity == line.quantity:
        entries.append(transit(line, "pick", actor=actor, reason="all units picked", at=now, order_id=job.order_id))
        line.picked_at = now
    line.save(update_fields=["picked_quantity", "status", "picked_at"])
    closed = _job_settle(job=job, actor=actor, now=now, entries=entries)
    message = f"{line.product.name} ({line.product.sku}): {line.picked_quantity} of {line.quantity} picked."
    if closed:
        message += " Job complete."
    return PickResult(job=job, line=line, message=message, job_closed=closed)


def _short_pick_reason(code: str) -> ShortPickReason:
    reason = ShortPickReason.objects.filter(code=code, is_active=True).first()
    if reason is None:
        raise PickError("Choose why the line cannot be picked.")
    return reason


def _short_and_settle(*, job: PickJob, line: PickLine, reason: ShortPickReason, actor, now: datetime) -> PickResult:
    entries = _line_short(job=job, line=line, reason=reason, actor=actor, now=now)
    closed = _job_settle(job=job, actor=actor, now=now, entries=entries)
    missing = line.quantity - line.picked_quantity
    return PickResult(job=job, line=line, job_closed=closed,
                      message=f"{line.product.name}: {missing} missing, sent to another location.")


def _job_settle(*, job: PickJob, actor, now: datetime, entries: list[TransitionLog], touched: bool = True) -> bool:
    """After a change to the job's lines: close it when nothing is open, bump its version (unless the caller
    already did) and write every log entry. Returns whether the job closed."""
    closed, close_entries = pick_job_close_if_done(job=job, actor=actor, now=now)
    if closed or touched:
        pick_job_touch(job, actor, ["status", "outcome", "closed_at"] if closed else [])
    record(entries + close_entries)
    return closed


def _line_short(*, job: PickJob, line: PickLine, reason: ShortPickReason, actor, now: datetime) -> list[TransitionLog]:
    if line.status != LineStatus.OPEN:
        raise PickError(f"{line.product.sku} is already {line.get_status_display().lower()}.")
    entries = [transit(line, "short", actor=actor, reason=reason.name, at=now, order_id=job.order_id)]
    line.short_reason = reason.name[:64]
    line.save(update_fields=["status", "short_reason"])
    missing = line.quantity - line.picked_quantity
    if missing:
        order_line = OrderLine.objects.select_for_update().get(pk=line.order_line_id)
        why = f"short pick at {job.facility.code}: {reason.name}"
        back, requeue_entries = order_line_requeue(
            line=order_line, quantity=missing, actor=actor, reason=why, now=now,
            queue=rejected_queue_for(order_line), source=f"pick line {line.pk} short",
        )
        entries += requeue_entries
        stock_adjust(facility_id=job.facility_id, product_id=line.product_id, delta=-missing,
                     reason=InventoryAdjustment.Reason.SHORT_PICK, actor=actor, source=f"pick line {line.pk} short",
                     order_line_id=back.pk, note=reason.name, now=now)
    return entries


def pick_job_close_if_done(*, job: PickJob, actor, now: datetime) -> tuple[bool, list[TransitionLog]]:
    """Close the job when no line is open: hand what was picked on to packing (or the pickup counter).

    A job where nothing at all could be picked closes as "nothing picked": every line already went back
    to a queue with its short pick, and the request, with nothing left, is canceled by the store.
    """
    lines = list(PickLine.objects.select_related("order_line__product").filter(pick_job=job).order_by("pk"))
    if any(line.status == LineStatus.OPEN for line in lines):
        return False, []
    # A line canceled while the job was picked went to a put-back: not packed, not handed over.
    picked = [line for line in lines if line.order_line.status == OrderLine.Status.ALLOCATED and (
              line.status == LineStatus.PICKED or (line.status == LineStatus.SHORT and line.picked_quantity))]
    entries = [transit(job, "close", actor=actor, at=now,
                       reason="every line picked or short" if picked else "nothing could be picked")]
    job.outcome = PickJob.Outcome.PICKED if picked else PickJob.Outcome.NOTHING_PICKED
    job.closed_at = now
    if not picked:
        entries += request_cancel_if_empty(request_id=job.fulfillment_request_id, actor=actor, now=now,
                                           reason="nothing could be picked; every line went back to a queue")
        return True, entries
    ship = [(line.order_line, line.picked_quantity) for line in picked if not line.order_line.is_pickup]
    pickup = [line for line in picked if line.order_line.is_pickup]
    if ship:
        _, pack_entries = pack_job_create(pick_job=job, lines=ship, actor=actor, now=now)
        entries += pack_entries
    if pickup:
        # Ready for the customer: kept aside for the counter, with a pickup code, and the customer is emailed.
        handover = HandoverJob.objects.create(facility_id=job.facility_id, order_id=job.order_id,
                                              channel=HandoverJob.Channel.CUSTOMER, created_at=now)
        pickup_ready(handover=handover, facility=job.facility, now=now)
    return True, entries


def tote_number(job: PickJob) -> int:
    """Sort key of a job in its batch: T2 before T10."""
    digits = "".join(ch for ch in job.tote if ch.isdigit())
    return int(digits) if digits else 0
