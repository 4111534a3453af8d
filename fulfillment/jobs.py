"""Creating pick jobs for fulfillment requests sent to a store, set-wise."""

from datetime import datetime
from typing import Protocol

from fulfillment.due import pick_due_at
from fulfillment.models import PickJob, PickLine
from oms.db import rows_insert
from oms.models import FulfillmentRequest
from stores.models import Facility


class PickableLine(Protocol):
    """What a pick line takes from an order line: an OrderLine, or a brokering run's plain copy of one."""

    pk: int
    product_id: int
    quantity: int

    @property
    def is_pickup(self) -> bool: ...


JOB_COLUMNS = ["facility_id", "order_id", "fulfillment_request_id", "status", "outcome", "due_at", "created_at"]
LINE_COLUMNS = ["pick_job_id", "order_line_id", "product_id", "quantity", "picked_quantity", "status", "short_reason"]


def pick_jobs_create(*, requests: list[tuple[FulfillmentRequest, list[PickableLine]]], now: datetime) -> list[PickJob]:
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
    rows = []
    for request, lines in requests:
        pickup = any(line.is_pickup for line in lines)
        key = (request.facility_id, pickup)
        if key not in due_times:
            due_times[key] = pick_due_at(facility=facilities[request.facility_id], created_at=now, pickup=pickup)
        rows.append((request.facility_id, request.order_id, request.pk, PickJob.Status.OPEN, "", due_times[key], now))
    ids = rows_insert(model=PickJob, columns=JOB_COLUMNS, rows=rows, ids=True)
    rows_insert(
        model=PickLine, columns=LINE_COLUMNS,
        rows=[(job_id, line.pk, line.product_id, line.quantity, 0, PickLine.Status.OPEN, "")
              for job_id, (_, lines) in zip(ids, requests, strict=True) for line in lines],
    )
    # Positional values in field order (the others at their defaults): the same instances as keywords would
    # make, at a fraction of the cost for the thousands of jobs a brokering run creates.
    fields = [(field.primary_key, JOB_COLUMNS.index(field.attname) if field.attname in JOB_COLUMNS else None, field)
              for field in PickJob._meta.concrete_fields]
    return [
        PickJob(*[pk if primary else row[at] if at is not None else field.get_default()
                  for primary, at, field in fields])
        for pk, row in zip(ids, rows, strict=True)
    ]
