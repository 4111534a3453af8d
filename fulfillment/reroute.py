"""Timed reroute: ship pick jobs nobody started in time leave the store; late unstarted pickup jobs are escalated.

A ship job that stays OPEN, never started and with nothing picked, for `facility.reroute_after_hours`
opening hours is withdrawn: the job and its lines are canceled, each order line goes back to REJECTED
with the store excluded and its reservation released, and routing sends it elsewhere. Pickup jobs stay
(the customer chose the store): past their due time they are escalated to the store manager instead.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from fulfillment.due import reroute_deadline
from fulfillment.models import PickJob, PickLine
from oms.core.history import record, transit
from oms.core.lines import order_line_requeue, request_cancel_if_empty
from oms.models import Order, OrderLine, TransitionLog

REASON = "not started in time"

JobStatus = PickJob.Status
LineStatus = PickLine.Status

_PICKUP_LINE = Q(lines__order_line__pickup_store_code__gt="")


def reroute_warning(job: PickJob, now: datetime, *, pickup: bool, picked: int) -> datetime | None:
    """The time the job will be withdrawn, once `now` is within the facility's warning window (else None).

    Only a job that can still be withdrawn warns: a ship job, OPEN, never started, nothing picked.
    Expects `job.facility` loaded.
    """
    if pickup or picked or job.status != JobStatus.OPEN or job.started_at is not None or job.batch_id:
        return None
    deadline = reroute_deadline(facility=job.facility, created_at=job.created_at)
    if now >= deadline - timedelta(minutes=job.facility.reroute_warning_minutes):
        return deadline
    return None


def _withdrawable():
    """OPEN ship jobs never started, with no pick recorded (a paused job has started_at set)."""
    return (PickJob.objects.filter(status=JobStatus.OPEN, started_at__isnull=True, batch__isnull=True)
            .exclude(_PICKUP_LINE).exclude(lines__picked_quantity__gt=0))


def pick_jobs_withdraw_unstarted(*, now: datetime | None = None) -> int:
    """Withdraw every ship pick job past its reroute deadline; returns how many were withdrawn.

    Each job in its own transaction, its order locked first (as every picking action does) with SKIP
    LOCKED: an order busy elsewhere — an associate starting the job right now — is left to the next run.
    Safe to run twice or at once: a job re-checked under its lock that was started, picked or already
    withdrawn is left alone.
    """
    now = now or timezone.now()
    candidates = (_withdrawable().filter(created_at__lte=now).select_related("facility")
                  .order_by("created_at", "pk"))
    withdrawn = 0
    for job in candidates:
        if now < reroute_deadline(facility=job.facility, created_at=job.created_at):
            continue
        withdrawn += _job_withdraw(job_id=job.pk, order_id=job.order_id, version=job.version, now=now)
    return withdrawn


def _job_withdraw(*, job_id: int, order_id: int, version: int, now: datetime) -> bool:
    with transaction.atomic():
        if not Order.objects.select_for_update(skip_locked=True).filter(pk=order_id).values_list("pk").first():
            return False  # busy (being started, picked, canceled or routed): the next run looks again
        job = (_withdrawable().select_for_update(of=("self",)).select_related("facility")
               .filter(pk=job_id, version=version).first())
        if job is None:
            return False
        lines = list(PickLine.objects.select_for_update(of=("self",)).filter(pick_job=job).order_by("pk"))
        if any(line.picked_quantity for line in lines):
            return False
        entries = [transit(job, "cancel", reason=REASON, at=now)]
        job.closed_at = now
        job.version += 1
        job.changed_by = None
        job.save(update_fields=["status", "closed_at", "version", "changed_by"])
        order_lines = {line.pk: line for line in OrderLine.objects.select_for_update(of=("self",))
                       .filter(pk__in=[line.order_line_id for line in lines]).order_by("pk")}
        for line in lines:
            if line.status != LineStatus.OPEN:
                continue
            entries.append(transit(line, "cancel", reason=REASON, at=now, order_id=job.order_id))
            line.save(update_fields=["status"])
            order_line = order_lines[line.order_line_id]
            if order_line.status != OrderLine.Status.ALLOCATED or order_line.allocated_facility_id != job.facility_id:
                continue  # already canceled or given back by someone else
            _, requeue_entries = order_line_requeue(
                line=order_line, quantity=min(line.quantity, order_line.quantity), actor=None, reason=REASON,
                now=now, queue=OrderLine.Queue.REJECTED, source=f"pick job {job.pk} withdrawn",
            )
            entries += requeue_entries
        entries += request_cancel_if_empty(request_id=job.fulfillment_request_id, actor=None, now=now,
                                           reason=f"withdrawn from {job.facility.code}: {REASON}")
        record(entries)
    return True


def pickup_jobs_escalate(*, now: datetime | None = None) -> int:
    """Mark OPEN, never-started pickup jobs past their due time as escalated; returns how many were new.

    Escalated once (the time stays); the manager sees them on the store's home and the queue. Rows another
    transaction holds are skipped and picked up by the next run.
    """
    now = now or timezone.now()
    # Repeated on the locked rows so a job started meanwhile is re-checked under its lock.
    late = Q(status=JobStatus.OPEN, started_at__isnull=True, escalated_at__isnull=True, due_at__lt=now)
    with transaction.atomic():
        jobs = list(PickJob.objects.select_for_update(of=("self",), skip_locked=True)
                    .filter(late, pk__in=PickJob.objects.filter(late, _PICKUP_LINE).values("pk"))
                    .order_by("pk"))
        for job in jobs:
            job.escalated_at = now
        PickJob.objects.bulk_update(jobs, ["escalated_at"])
        TransitionLog.objects.bulk_create([
            TransitionLog(object_type="pickjob", object_id=job.pk, order_id=job.order_id, transition="escalate",
                          source_state=job.status, target_state=job.status, at=now,
                          reason="pickup not started by its due time")
            for job in jobs
        ])
    return len(jobs)
