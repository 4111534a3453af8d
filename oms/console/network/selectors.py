"""Reads of the console's network pages: queues and their lines, brokering runs and decisions, routing rules.

Every list is a fixed number of queries whatever its length (tested at 2 and 50 rows).
"""

from dataclasses import dataclass

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.paginator import Page, Paginator
from django.db.models import Count, F, Func, IntegerField, Min, OuterRef, Subquery, Sum

from oms.models import BrokeringRun, LineRejection, OrderLine, OrderNote, RoutingDecision, RoutingRule
from oms.routing.explain import decision_in_words
from oms.routing.runs import RUN_QUEUES

Queue = OrderLine.Queue
PAGE_SIZE = 50
# Where a line's reason for waiting is read from, per queue.
DECIDED_QUEUES = (Queue.UNFILLABLE, Queue.BOPIS_REJECTED)
REJECTED_QUEUES = (Queue.REJECTED, Queue.BOPIS_REJECTED)
NOTED_QUEUES = (Queue.UNFILLABLE_HOLD,)


@dataclass
class QueueCount:
    queue: str
    label: str
    lines: int
    units: int
    oldest_at: object  # the oldest queued_at, or None
    runnable: bool  # a brokering run takes lines from it


def queue_counts() -> list[QueueCount]:
    """Every queue with its QUEUED lines, units and oldest line (one query; empty queues show 0)."""
    rows = {
        row["queue"]: row
        for row in OrderLine.objects.filter(status=OrderLine.Status.QUEUED).values("queue")
        .annotate(lines=Count("pk"), units=Sum("quantity"), oldest=Min("queued_at")).order_by()
    }
    return [
        QueueCount(queue=queue.value, label=queue.label, lines=rows.get(queue, {}).get("lines", 0),
                   units=rows.get(queue, {}).get("units") or 0, oldest_at=rows.get(queue, {}).get("oldest"),
                   runnable=queue in RUN_QUEUES)
        for queue in Queue
    ]


def page_number(raw) -> int:
    try:
        return max(1, int(raw))
    except (TypeError, ValueError):
        return 1


def _page(queryset, number) -> Page:
    return Paginator(queryset, PAGE_SIZE).get_page(number)


def queue_lines_page(*, queue: str, page=1) -> Page:
    """The queue's QUEUED lines, oldest first, each with `why` (why it waits here, when known)."""
    lines = (
        OrderLine.objects.filter(status=OrderLine.Status.QUEUED, queue=queue)
        .select_related("order", "pickup_facility").order_by("queued_at", "pk")
    )
    result = _page(lines, page)
    _lines_why(list(result.object_list), queue=queue)
    return result


def _lines_why(lines: list[OrderLine], *, queue: str) -> None:
    """Sets `line.why`: the last rejection, routing decision or queue note that put the line here (≤ 1 query)."""
    for line in lines:
        line.why = ""
        if queue in (Queue.PRE_ORDER, Queue.BACKORDER):
            line.why = f"{line.get_kind_display().lower()}" + (
                f", promised {line.promise_date.isoformat()}" if line.promise_date else ", no promise date")
    if not lines:
        return
    order_ids = {line.order_id for line in lines}
    if queue in REJECTED_QUEUES:
        rejections = {}
        for rejection in (_latest_per_order(LineRejection, order_ids=order_ids, newest_first="-created_at")
                          .select_related("facility")):
            rejections[rejection.order_id] = rejection
        for line in lines:
            if rejection := rejections.get(line.order_id):
                line.why = f"rejected at {rejection.facility.code}: {rejection.reason_text}"
    if queue in DECIDED_QUEUES:
        decisions = {
            decision.order_id: decision
            for decision in _latest_per_order(RoutingDecision, order_ids=order_ids, newest_first="-created_at")
        }
        for line in lines:
            if not line.why and (decision := decisions.get(line.order_id)):
                line.why = decision_in_words(decision)
    if queue in NOTED_QUEUES:
        notes = {
            note.order_id: note
            for note in _latest_per_order(OrderNote, order_ids=order_ids, newest_first="-at", text__contains=queue)
        }
        for line in lines:
            if note := notes.get(line.order_id):
                line.why = note.text


def _latest_per_order(model, *, order_ids, newest_first: str, **conditions):
    """The newest `model` row per order (by `newest_first`, then pk) meeting `conditions`, in one query on
    PostgreSQL and SQLite alike: a correlated subquery instead of PostgreSQL's DISTINCT ON (not in SQLite)."""
    newest = (model.objects.filter(order_id=OuterRef("order_id"), **conditions)
              .order_by(newest_first, "-pk").values("pk")[:1])
    return model.objects.filter(order_id__in=order_ids, pk=Subquery(newest))


def queue_running_run(queue: str) -> BrokeringRun | None:
    return BrokeringRun.objects.filter(queue=queue, status=BrokeringRun.Status.RUNNING).order_by("-started_at").first()


class _JsonLength(Func):
    """The length of a JSON array column: PostgreSQL's jsonb_array_length, SQLite's json_array_length (the demo)."""

    function = "jsonb_array_length"
    output_field = IntegerField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, function="json_array_length", **extra_context)


def runs_page(*, queue: str = "", page=1) -> Page:
    """Brokering runs, newest first (of one queue when given); `error_count` instead of the errors themselves."""
    runs = BrokeringRun.objects.defer("errors").annotate(error_count=_JsonLength(F("errors"))).select_related("actor")
    if queue:
        runs = runs.filter(queue=queue)
    return _page(runs.order_by("-started_at", "-pk"), page)


def run_get(run_id: int) -> BrokeringRun | None:
    return BrokeringRun.objects.select_related("actor").filter(pk=run_id).first()


def run_decisions_page(*, run: BrokeringRun, page=1) -> Page:
    """The run's decisions (one per order), each with `words` (the decision in words)."""
    decisions = RoutingDecision.objects.filter(run=run).select_related("order", "rule").order_by("pk")
    result = _page(decisions, page)
    for decision in result.object_list:
        decision.words = decision_in_words(decision)
    return result


def rules_list() -> list[RoutingRule]:
    return list(RoutingRule.objects.order_by("position"))


def rule_history(rule_id: int, limit: int = 20) -> list[LogEntry]:
    """The rule's recorded edits (console and admin), newest first, with who made them (one query)."""
    return list(LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(RoutingRule),
                                        object_id=str(rule_id)).select_related("user")
                .order_by("-action_time", "-pk")[:limit])


def rule_get(rule_id: int) -> RoutingRule | None:
    return RoutingRule.objects.filter(pk=rule_id).first()


def order_ids_of_lines(*, line_ids: list[int], queues) -> list[int]:
    """The orders of these lines, of those still QUEUED in `queues`."""
    return sorted(set(
        OrderLine.objects.filter(pk__in=line_ids, status=OrderLine.Status.QUEUED, queue__in=queues)
        .values_list("order_id", flat=True)
    ))
