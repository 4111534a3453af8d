"""Creating pick jobs for fulfillment requests sent to a store, set-wise."""

from datetime import datetime

from fulfillment.due import pick_due_at
from fulfillment.models import PickJob, PickLine
from oms.models import FulfillmentRequest, OrderLine
from stores.models import Facility


def pick_jobs_create(*, requests: list[tuple[FulfillmentRequest, list[OrderLine]]], now: datetime) -> list[PickJob]:
    """One OPEN pick job per request and one pick line per order line, in a few bulk inserts.

    Each job is due by `pick_due_at` in its facility's opening hours (a pickup job when any of its
    lines is a pickup line). The requests and lines must be saved; the caller owns the transaction
    and the request's state (a job is created when the request is PROCESSED).
    """
    if not requests:
        return []
    facilities = Facility.objects.only("time_zone", "opening_hours", "pickup_service_hours").in_bulk(
        {request.facility_id for request, _ in requests}
    )
    # A run creates hundreds of jobs at one instant for a few facilities: the due time is the same for all.
    due_times: dict[tuple[int, bool], datetime] = {}
    jobs = []
    for request, lines in requests:
        pickup = any(line.is_pickup for line in lines)
        key = (request.facility_id, pickup)
        if key not in due_times:
            due_times[key] = pick_due_at(facility=facilities[request.facility_id], created_at=now, pickup=pickup)
        jobs.append(PickJob(
            facility_id=request.facility_id, order_id=request.order_id, fulfillment_request_id=request.pk,
            due_at=due_times[key], created_at=now,
        ))
    PickJob.objects.bulk_create(jobs, batch_size=1000)  # PostgreSQL and SQLite ≥ 3.35 return the keys
    PickLine.objects.bulk_create(
        [
            PickLine(pick_job_id=job.pk, order_line_id=line.pk, product_id=line.product_id, quantity=line.quantity)
            for job, (_, lines) in zip(jobs, requests, strict=True)
            for line in lines
        ],
        batch_size=1000,
    )
    return jobs
