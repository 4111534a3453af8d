"""Reads for the operations pages: counts and lists, each in a fixed number of queries."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q

from fulfillment.models import PickJob
from oms.models import Order, OrderLine, OutboxMessage


@dataclass
class OperationsOverview:
    lines_per_queue: list[tuple[str, str, int]]  # (queue, label, lines)
    orders_per_status: dict[str, int]
    held_orders: list[Order]
    held_count: int
    outbox_pending: int
    outbox_dead: int
    escalated_pickups: list[PickJob]  # unstarted pickup jobs past due: the customer chose the store, so no reroute


def operations_overview(*, now: datetime, held_limit: int = 15, escalated_limit: int = 50) -> OperationsOverview:
    queue_counts = dict(
        OrderLine.objects.filter(status=OrderLine.Status.QUEUED).values_list("queue").annotate(n=Count("pk"))
    )
    status_counts = dict(Order.objects.values_list("status").annotate(n=Count("pk")))
    held = Order.objects.filter(status=Order.Status.CREATED).exclude(approval_blockers=[], problems=[])
    outbox = OutboxMessage.objects.aggregate(
        pending=Count("pk", filter=Q(status=OutboxMessage.Status.PENDING)),
        dead=Count("pk", filter=Q(status__in=[OutboxMessage.Status.FAILED, OutboxMessage.Status.DEAD])),
    )
    return OperationsOverview(
        lines_per_queue=[(queue, label, queue_counts.get(queue, 0)) for queue, label in OrderLine.Queue.choices],
        orders_per_status={status: status_counts.get(status, 0) for status in Order.Status.values},
        held_orders=list(held.order_by("received_at", "pk")[:held_limit]),
        held_count=held.count(),
        outbox_pending=outbox["pending"],
        outbox_dead=outbox["dead"],
        escalated_pickups=list(
            PickJob.objects.filter(status=PickJob.Status.OPEN, escalated_at__isnull=False)
            .select_related("order", "facility").order_by("due_at", "pk")[:escalated_limit]
        ),
    )
