"""Reads for the store's pages: what the facility has to do now."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Count, F, OuterRef, Q, Subquery, Sum
from django.shortcuts import get_object_or_404

from fulfillment.models import HandoverJob, LineProblem, PackJob, PickBatch, PickJob, PickLine, PutBackTask
from fulfillment.reroute import reroute_warning
from stores.models import Facility, StockLevel


@dataclass
class StoreOverview:
    open_pick_jobs: int
    in_progress_pick_jobs: int
    overdue_pick_jobs: int
    ready_for_customer: int
    ready_for_carrier: int
    open_pack_jobs: int = 0
    open_put_backs: int = 0
    escalated_pickups: int = 0  # unstarted pickup jobs past their due time (shown to managers)
    open_problems: int = 0  # lines associates reported, waiting for the manager (shown to managers)
    # Products counted below what is reserved (an inventory feed), most short first: at most SHORTFALLS_SHOWN
    # of them, and whether there are more (shown to managers).
    shortfalls: list[StockLevel] = field(default_factory=list)
    more_shortfalls: bool = False


# Shortfalls listed on the store's home page (one query whatever the store holds).
SHORTFALLS_SHOWN = 30


def store_overview(*, facility: Facility, now: datetime) -> StoreOverview:
    picks = PickJob.objects.filter(facility=facility).aggregate(
        open=Count("pk", filter=Q(status=PickJob.Status.OPEN)),
        in_progress=Count("pk", filter=Q(status=PickJob.Status.IN_PROGRESS)),
        overdue=Count("pk", filter=Q(status__in=[PickJob.Status.OPEN, PickJob.Status.IN_PROGRESS], due_at__lt=now)),
        escalated=Count("pk", filter=Q(status=PickJob.Status.OPEN, escalated_at__isnull=False)),
    )
    handovers = HandoverJob.objects.filter(facility=facility, status=HandoverJob.Status.OPEN).aggregate(
        customer=Count("pk", filter=Q(channel=HandoverJob.Channel.CUSTOMER)),
        carrier=Count("pk", filter=Q(channel=HandoverJob.Channel.CARRIER)),
    )
    packs = PackJob.objects.filter(
        facility=facility, status__in=[PackJob.Status.OPEN, PackJob.Status.IN_PROGRESS]
    ).count()
    put_backs = PutBackTask.objects.filter(facility=facility, status=PutBackTask.Status.OPEN).count()
    problems = LineProblem.objects.filter(facility=facility, status=LineProblem.Status.OPEN).count()
    shortfalls = stock_shortfalls(facility=facility, limit=SHORTFALLS_SHOWN + 1)
    return StoreOverview(
        shortfalls=shortfalls[:SHORTFALLS_SHOWN],
        more_shortfalls=len(shortfalls) > SHORTFALLS_SHOWN,
        open_problems=problems,
        open_pack_jobs=packs,
        open_put_backs=put_backs,
        open_pick_jobs=picks["open"],
        in_progress_pick_jobs=picks["in_progress"],
        overdue_pick_jobs=picks["overdue"],
        escalated_pickups=picks["escalated"],
        ready_for_customer=handovers["customer"],
        ready_for_carrier=handovers["carrier"],
    )


def stock_shortfalls(*, facility: Facility, limit: int) -> list[StockLevel]:
    """Stock levels whose on hand fell below what is reserved (a count came in low), most short first.

    Each has `.short` (reserved − on hand) and its product loaded: the lines reserved there cannot all be
    picked, so the manager rejects or recounts.
    """
    return list(
        StockLevel.objects.filter(facility=facility, on_hand__lt=F("reserved"))
        .select_related("product").annotate(short=F("reserved") - F("on_hand"))
        .order_by("-short", "product__sku")[:limit]
    )


# --- picking -------------------------------------------------------------------------------------

# A job due within this long is shown as at risk.
AT_RISK = timedelta(hours=1)

PICK_TABS = {
    "open": ("To pick", [PickJob.Status.OPEN]),
    "in_progress": ("In progress", [PickJob.Status.IN_PROGRESS]),
}


@dataclass
class QueueJob:
    job: PickJob
    lines: int
    units: int
    picked: int
    pickup: bool
    urgency: str  # "overdue", "at-risk" or ""
    withdraw_at: datetime | None = None  # set within the warning window before an unstarted ship job is withdrawn


# The store home's tiles open the queue filtered to exactly the jobs they count (see store_overview).
PICK_FILTERS = {
    "overdue": ("Overdue", Q(status__in=[PickJob.Status.OPEN, PickJob.Status.IN_PROGRESS])),
    "escalated": ("Escalated", Q(status=PickJob.Status.OPEN, escalated_at__isnull=False)),
}


def pick_queue(*, facility: Facility, tab: str, now: datetime, only: str = "") -> tuple[list[QueueJob], dict[str, int]]:
    """The facility's pick jobs of one tab (or of one filter: `only`), earliest due first, and the count of every
    tab (two queries)."""
    _, statuses = PICK_TABS[tab]
    where = Q(status__in=statuses)
    if only in PICK_FILTERS:
        where = PICK_FILTERS[only][1] & (Q(due_at__lt=now) if only == "overdue" else Q())
    counts = PickJob.objects.filter(facility=facility).aggregate(
        **{name: Count("pk", filter=Q(status__in=states)) for name, (_, states) in PICK_TABS.items()},
        overdue=Count("pk", filter=Q(status__in=[PickJob.Status.OPEN, PickJob.Status.IN_PROGRESS], due_at__lt=now)),
    )
    jobs = (
        PickJob.objects.filter(where, facility=facility)
        .select_related("order", "assigned_to", "batch", "facility")
        .annotate(
            line_count=Count("lines", filter=~Q(lines__status=PickLine.Status.CANCELED)),
            units=Sum("lines__quantity", filter=~Q(lines__status=PickLine.Status.CANCELED)),
            picked=Sum("lines__picked_quantity"),
            pickup_lines=Count("lines", filter=~Q(lines__order_line__pickup_store_code="")),
        )
        .order_by(F("due_at").asc(nulls_last=True), "pk")
    )
    rows = [
        QueueJob(job=job, lines=job.line_count, units=job.units or 0, picked=job.picked or 0,
                 pickup=bool(job.pickup_lines), urgency=urgency(job.due_at, now),
                 withdraw_at=reroute_warning(job, now, pickup=bool(job.pickup_lines), picked=job.picked or 0))
        for job in jobs
    ]
    return rows, counts


def urgency(due_at: datetime | None, now: datetime) -> str:
    if due_at is None:
        return ""
    if due_at < now:
        return "overdue"
    if due_at < now + AT_RISK:
        return "at-risk"
    return ""


def _bin_location():
    return Subquery(
        StockLevel.objects.filter(facility_id=OuterRef("pick_job__facility_id"), product_id=OuterRef("product_id"))
        .values("bin_location")[:1]
    )


def pick_lines_for(*, jobs) -> list[PickLine]:
    """The lines of the given jobs with product and bin location, in walking order (bin, then job);
    canceled lines last."""
    lines = list(
        PickLine.objects.filter(pick_job__in=jobs)
        .select_related("product", "order_line", "pick_job__order")
        .annotate(bin_location=_bin_location())
    )
    # Canceled lines (rejected, withdrawn, canceled by the customer) stay visible at the end, greyed out,
    # so the associate sees why an item is no longer on the list.
    lines.sort(key=lambda line: (line.status == PickLine.Status.CANCELED, line.bin_location or "~",
                                 line.product.sku, line.pick_job_id, line.pk))
    return lines


def pick_job_detail(*, facility: Facility, job_id: int) -> PickJob:
    """One job of the facility with who works on it (404 for another store's job)."""
    return get_object_or_404(
        PickJob.objects.select_related("order", "assigned_to", "changed_by", "batch", "fulfillment_request"),
        pk=job_id, facility=facility,
    )


def store_associates(*, facility: Facility):
    """Who can be given a pick job or put into a batch: everyone working in the store."""
    return (get_user_model().objects.filter(memberships__facility=facility, is_active=True)
            .order_by("first_name", "username"))


def open_jobs_for_batching(*, facility: Facility, now: datetime) -> list[QueueJob]:
    rows, _ = pick_queue(facility=facility, tab="open", now=now)
    return [row for row in rows if row.job.batch_id is None]


def batch_detail(*, facility: Facility, batch_id: int) -> PickBatch:
    return get_object_or_404(
        PickBatch.objects.select_related("changed_by", "created_by").prefetch_related("pickers"),
        pk=batch_id, facility=facility,
    )
