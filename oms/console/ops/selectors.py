"""Reads of the console's ops pages (dashboard, outbox, feeds, facilities), each in a fixed number of queries."""

import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.db.models import Count, Exists, Min, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import ExtractHour

from fulfillment.models import PickJob
from oms.models import (
    BrokeringRun,
    FeedExport,
    FeedFile,
    FeedProblem,
    Order,
    OrderLine,
    OutboxMessage,
    ShopPull,
    TransitionLog,
)
from oms.outbox.messages import STOPPED
from stores.models import Facility

# --- dashboard -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Day:
    """The operator's day: midnight to midnight in their zone (23 or 25 hours on a DST change)."""

    zone: zoneinfo.ZoneInfo
    start: datetime
    end: datetime

    @classmethod
    def of(cls, now: datetime, zone: zoneinfo.ZoneInfo) -> "Day":
        date = now.astimezone(zone).date()
        return cls(zone=zone, start=datetime.combine(date, time(0), tzinfo=zone),
                   end=datetime.combine(date + timedelta(days=1), time(0), tzinfo=zone))


@dataclass(frozen=True)
class OverdueStore:
    facility_id: int
    code: str
    name: str
    jobs: int
    oldest_due: datetime  # in the facility's own zone
    time_zone: str


@dataclass
class Dashboard:
    day: Day
    now: datetime
    orders_in: int
    approved: int
    routed: int
    fulfilled: int
    canceled: int
    orders_per_hour: list[int]  # index = the operator's hour of day
    lines_per_queue: list[tuple[str, str, int]]  # (queue, label, lines)
    runs: int
    lines_considered: int
    lines_allocated: int
    overdue: list[OverdueStore]
    outbox_pending: int
    outbox_stopped: int

    @property
    def fill_rate(self) -> float | None:
        return self.lines_allocated / self.lines_considered if self.lines_considered else None

    @property
    def overdue_jobs(self) -> int:
        return sum(store.jobs for store in self.overdue)


def dashboard_read(*, now: datetime, zone: zoneinfo.ZoneInfo) -> Dashboard:
    """Today's numbers in the operator's zone: six queries whatever the volume."""
    day = Day.of(now, zone)
    per_hour = [0] * 24
    for hour, count in (Order.objects.filter(received_at__gte=day.start, received_at__lt=day.end)
                        .annotate(hour=ExtractHour("received_at", tzinfo=zone)).values_list("hour")
                        .annotate(n=Count("pk")).order_by()):
        per_hour[hour] += count

    # Routed = orders whose first allocation happened today (a re-route after a rejection is not a new order).
    allocated_before = TransitionLog.objects.filter(
        order_id=OuterRef("order_id"), object_type="orderline", transition="allocate", at__lt=day.start)
    order_log = Q(object_type="order")
    moves = (TransitionLog.objects.filter(at__gte=day.start, at__lt=day.end)
             .annotate(allocated_before=Exists(allocated_before))
             .aggregate(
                 approved=Count("order_id", distinct=True, filter=order_log & Q(transition="approve")),
                 fulfilled=Count("order_id", distinct=True, filter=order_log & Q(transition="complete")),
                 canceled=Count("order_id", distinct=True, filter=order_log & Q(transition="cancel")),
                 routed=Count("order_id", distinct=True, filter=Q(object_type="orderline", transition="allocate",
                                                                  allocated_before=False)),
             ))

    queue_counts = dict(OrderLine.objects.filter(status=OrderLine.Status.QUEUED).values_list("queue")
                        .annotate(n=Count("pk")).order_by())
    runs = BrokeringRun.objects.filter(started_at__gte=day.start, started_at__lt=day.end).aggregate(
        runs=Count("pk"), considered=Sum("lines_considered", default=0), allocated=Sum("lines_allocated", default=0))
    overdue = [
        OverdueStore(facility_id=row["facility_id"], code=row["facility__code"], name=row["facility__name"],
                     jobs=row["jobs"], time_zone=row["facility__time_zone"],
                     oldest_due=row["oldest"].astimezone(zoneinfo.ZoneInfo(row["facility__time_zone"])))
        for row in PickJob.objects.filter(status__in=[PickJob.Status.OPEN, PickJob.Status.IN_PROGRESS], due_at__lt=now)
        .values("facility_id", "facility__code", "facility__name", "facility__time_zone")
        .annotate(jobs=Count("pk"), oldest=Min("due_at")).order_by("-jobs", "facility__code")
    ]
    outbox = OutboxMessage.objects.aggregate(
        pending=Count("pk", filter=Q(status=OutboxMessage.Status.PENDING)),
        stopped=Count("pk", filter=Q(status__in=STOPPED)),
    )
    return Dashboard(
        day=day, now=now, orders_in=sum(per_hour), approved=moves["approved"], routed=moves["routed"],
        fulfilled=moves["fulfilled"], canceled=moves["canceled"], orders_per_hour=per_hour,
        lines_per_queue=[(queue, label, queue_counts.get(queue, 0)) for queue, label in OrderLine.Queue.choices],
        runs=runs["runs"], lines_considered=runs["considered"], lines_allocated=runs["allocated"],
        overdue=overdue, outbox_pending=outbox["pending"], outbox_stopped=outbox["stopped"],
    )


# --- outbox ----------------------------------------------------------------------------------------


@dataclass
class OutboxCounts:
    """Messages per status × destination (every cell present, zeros included)."""

    statuses: list[tuple[str, str]]
    destinations: list[tuple[str, str]]
    cells: dict[tuple[str, str], int] = field(default_factory=dict)

    def rows(self) -> list[tuple[str, str, list[int], int]]:
        """(status, label, [count per destination], total) for a table."""
        return [(status, label, counts, sum(counts)) for status, label in self.statuses
                for counts in [[self.cells.get((status, dest), 0) for dest, _ in self.destinations]]]

    @property
    def stopped(self) -> int:
        return sum(n for (status, _), n in self.cells.items() if status in STOPPED)


def outbox_counts() -> OutboxCounts:
    cells = {(status, dest): n for status, dest, n in
             OutboxMessage.objects.values_list("status", "destination").annotate(n=Count("pk")).order_by()}
    return OutboxCounts(statuses=OutboxMessage.Status.choices, destinations=OutboxMessage.Destination.choices,
                        cells=cells)


def outbox_messages(*, status: str = "", destination: str = "", kind: str = "", order_name: str = "") -> QuerySet:
    """Messages matching the filters (empty = any), newest first, with their order."""
    messages = OutboxMessage.objects.select_related("order").order_by("-pk")
    if status:
        messages = messages.filter(status=status)
    if destination:
        messages = messages.filter(destination=destination)
    if kind:
        messages = messages.filter(kind=kind)
    if order_name:
        name = order_name.lstrip("#")
        messages = messages.filter(Q(order__name=name) | Q(order__name=f"#{name}"))
    return messages


# --- feeds -----------------------------------------------------------------------------------------


def feed_files() -> QuerySet:
    """Every feed file, newest first, with who uploaded it."""
    return FeedFile.objects.select_related("actor").order_by("-received_at", "-pk")


def feed_exports(*, limit: int = 20) -> list[FeedExport]:
    """The newest files written for the ERP/WMS (an export without written_at is still to be written)."""
    return list(FeedExport.objects.order_by("-created_at", "-pk")[:limit])


def shop_pulls(*, limit: int = 10) -> list[ShopPull]:
    """The newest safety-net pulls of orders from the shop."""
    return list(ShopPull.objects.order_by("-started_at", "-pk")[:limit])


def feed_problems(*, feed_id: int) -> QuerySet:
    """A file's rejected rows in line order (a file may have 100,000: page through them)."""
    return FeedProblem.objects.filter(feed_id=feed_id).order_by("line", "pk")


# --- facilities ------------------------------------------------------------------------------------


def facilities() -> QuerySet:
    return Facility.objects.order_by("code")
