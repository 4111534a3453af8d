"""Reads of the console's orders area: the orders list and everything the order page shows, in fixed queries."""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from fulfillment.models import HandoverJob, PackJob, Parcel, PickJob, PickLine, Shipment
from oms.models import FulfillmentRequest, Order, OrderLine, OrderNote, OutboxMessage, RoutingDecision, TransitionLog
from oms.routing.explain import FENCE_WORDS, decision_in_words
from oms.routing.requests import VOIDABLE, request_preview
from stores.models import Facility

RequestStatus = FulfillmentRequest.Status
LineStatus = OrderLine.Status


# --- the orders list ------------------------------------------------------------------------------


def order_channels() -> list[str]:
    """Every channel an order came from (for the filter's choices)."""
    return list(Order.objects.order_by("channel").values_list("channel", flat=True).distinct())


def orders_search(
    *, text: str = "", status: str = "", queue: str = "", facility: Facility | None = None, channel: str = "",
    received_from: date | None = None, received_to: date | None = None, has_problems: bool | None = None,
) -> QuerySet[Order]:
    """Orders matching the filters, newest first, with their line and unit counts annotated.

    Dates are days in the current time zone (the operator's in the console), both ends included.
    Pair with `orders_page_prefetch` for the rows of one page.
    """
    orders = Order.objects.all()
    text = text.strip()
    if text:
        orders = orders.filter(
            Q(name__icontains=text) | Q(customer_name__icontains=text) | Q(email__icontains=text)
            | Q(external_id=text)
        )
    if status:
        orders = orders.filter(status=status)
    if queue:
        orders = orders.filter(Exists(OrderLine.objects.filter(order=OuterRef("pk"), status=LineStatus.QUEUED,
                                                               queue=queue)))
    if facility is not None:
        orders = orders.filter(
            Exists(OrderLine.objects.filter(order=OuterRef("pk"), allocated_facility=facility))
            | Exists(FulfillmentRequest.objects.filter(order=OuterRef("pk"), facility=facility))
        )
    if channel:
        orders = orders.filter(channel=channel)
    zone = timezone.get_current_timezone()
    if received_from:
        orders = orders.filter(received_at__gte=datetime.combine(received_from, time.min, tzinfo=zone))
    if received_to:
        orders = orders.filter(received_at__lt=datetime.combine(received_to + timedelta(days=1), time.min,
                                                                tzinfo=zone))
    if has_problems is True:
        orders = orders.exclude(problems=[], approval_blockers=[])
    elif has_problems is False:
        orders = orders.filter(problems=[], approval_blockers=[])
    live = ~Q(lines__status=LineStatus.CANCELED)
    return orders.annotate(
        live_lines=Count("lines", filter=live), live_units=Sum("lines__quantity", filter=live),
        canceled_lines=Count("lines", filter=Q(lines__status=LineStatus.CANCELED)),
    ).order_by("-received_at", "-pk")


def orders_page_prefetch(orders: list[Order]) -> list[Order]:
    """Attach each order's facilities (of its requests that are not canceled) as `facility_codes` (one query), and
    its import problems and approval blockers as `problem_messages`."""
    codes: dict[int, list[str]] = {order.pk: [] for order in orders}
    requests = (FulfillmentRequest.objects.filter(order_id__in=list(codes)).exclude(status=RequestStatus.CANCELED)
                .order_by("pk").values_list("order_id", "facility__code"))
    for order_id, code in requests:
        if code not in codes[order_id]:
            codes[order_id].append(code)
    for order in orders:
        order.facility_codes = codes[order.pk]
        order.problem_messages = [item.get("message") or item.get("code") or "problem"
                                  for item in [*order.problems, *order.approval_blockers]]
    return orders


# --- the order page ---------------------------------------------------------------------------------

TRANSITION_WORDS = {
    "approve": "approved", "complete": "completed", "cancel": "canceled", "enqueue": "queued",
    "allocate": "allocated", "requeue": "sent back to a queue", "fulfil": "fulfilled",
    "process": "taken for processing", "mark_sent": "sent", "acknowledge": "acknowledged", "fail": "failed",
    "retry": "retried", "start": "started", "pause": "paused", "close": "closed", "pick": "picked",
    "short": "short-picked", "label": "labelled", "void_label": "label voided", "hand_over": "handed over",
    "mark_ready": "ready", "reopen": "reopened", "ship": "shipped", "confirm": "confirmed",
}

OBJECT_WORDS = {"putbacktask": "Put-back task", "lineproblem": "Reported problem", "pickbatch": "Pick batch"}


@dataclass
class TimelineEntry:
    at: datetime
    kind: str  # transition | note | routing
    text: str
    actor: str = ""
    reason: str = ""
    change: str = ""  # "QUEUED → ALLOCATED"


@dataclass
class RequestRow:
    request: FulfillmentRequest
    can_void: bool
    can_regenerate: bool
    can_process: bool
    can_retry: bool
    forms: dict = field(default_factory=dict)  # filled by the view
    opened: str = ""  # the action whose form the view shows open (refused input)


@dataclass
class OrderPage:
    order: Order
    lines: list[OrderLine]
    requests: list[RequestRow]
    pick_jobs: list[PickJob]
    pack_jobs: list[PackJob]
    handover_jobs: list[HandoverJob]
    shipments: list[Shipment]
    outbox: list[OutboxMessage]
    timeline: list[TimelineEntry]
    facilities: list[Facility]  # active facilities, for a manual request
    delivery_method: str
    can_approve: bool
    can_cancel: bool
    cancelable_lines: list[OrderLine]
    queued_lines: list[OrderLine]


def order_page(*, order_id: int) -> OrderPage | None:
    """Everything the order page shows, in a fixed number of queries however many lines, jobs or entries."""
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        return None
    lines = list(order.lines.select_related("product", "allocated_facility", "pickup_facility",
                                            "fulfillment_request").order_by("pk"))
    requests = list(order.fulfillment_requests.select_related("facility").order_by("pk"))
    pick_jobs = list(order.pick_jobs.select_related("facility", "assigned_to").order_by("pk"))
    pack_jobs = list(order.pack_jobs.select_related("facility", "assigned_to").order_by("pk"))
    handover_jobs = list(order.handover_jobs.select_related("facility", "handed_over_by").order_by("pk"))
    shipments = list(order.shipments.select_related("facility", "fulfillment_request").order_by("pk")
                     .prefetch_related(Prefetch("parcels", queryset=Parcel.objects.order_by("pk"))))
    outbox = list(order.outbox_messages.order_by("created_at", "pk"))
    open_statuses = (LineStatus.CREATED, LineStatus.QUEUED, LineStatus.ALLOCATED)
    return OrderPage(
        order=order,
        lines=lines,
        requests=[_request_row(request) for request in requests],
        pick_jobs=pick_jobs,
        pack_jobs=pack_jobs,
        handover_jobs=handover_jobs,
        shipments=shipments,
        outbox=outbox,
        timeline=order_timeline(order=order, lines=lines, requests=requests, pick_jobs=pick_jobs,
                                pack_jobs=pack_jobs, handover_jobs=handover_jobs, shipments=shipments),
        facilities=list(Facility.objects.filter(is_active=True).order_by("code")),
        delivery_method=Order.delivery_method_of(lines),
        can_approve=order.status == Order.Status.CREATED,
        can_cancel=order.status in (Order.Status.CREATED, Order.Status.APPROVED),
        cancelable_lines=[line for line in lines if line.status in open_statuses],
        queued_lines=[line for line in lines if line.status == LineStatus.QUEUED]
        if order.status == Order.Status.APPROVED else [],
    )


def _request_row(request: FulfillmentRequest) -> RequestRow:
    sent_here = not request.facility.fulfilled_by_wms  # a WMS warehouse's requests go out in its feed
    return RequestRow(
        request=request,
        can_void=request.status in VOIDABLE,
        can_regenerate=request.status in VOIDABLE,
        can_process=request.status == RequestStatus.UNPROCESSED and sent_here,
        can_retry=request.status == RequestStatus.FAILED and sent_here,
    )


def order_timeline(
    *, order: Order, lines: list[OrderLine], requests: list[FulfillmentRequest], pick_jobs: list[PickJob],
    pack_jobs: list[PackJob], handover_jobs: list[HandoverJob], shipments: list[Shipment],
) -> list[TimelineEntry]:
    """Every transition of the order and its parts, its notes and routing decisions, in words, oldest first."""
    subjects = _subjects(order=order, lines=lines, requests=requests, pick_jobs=pick_jobs, pack_jobs=pack_jobs,
                         handover_jobs=handover_jobs, shipments=shipments)
    entries: list[tuple[datetime, int, int, TimelineEntry]] = []
    for log in TransitionLog.objects.filter(order=order).select_related("actor").order_by("at", "pk"):
        subject = subjects.get((log.object_type, log.object_id)) or (
            f"{OBJECT_WORDS.get(log.object_type, log.object_type)} {log.object_id}")
        verb = TRANSITION_WORDS.get(log.transition, log.transition.replace("_", " "))
        entries.append((log.at, 0, log.pk, TimelineEntry(
            at=log.at, kind="transition", text=f"{subject} {verb}", actor=_actor(log.actor), reason=log.reason,
            change=f"{log.source_state} → {log.target_state}",
        )))
    for note in OrderNote.objects.filter(order=order).select_related("actor").order_by("at", "pk"):
        entries.append((note.at, 1, note.pk, TimelineEntry(at=note.at, kind="note", text=note.text,
                                                           actor=_actor(note.actor))))
    for decision in (RoutingDecision.objects.filter(order=order).select_related("run", "rule")
                     .order_by("created_at", "pk")):
        entries.append((decision.created_at, 2, decision.pk, TimelineEntry(
            at=decision.created_at, kind="routing", text=f"{_routed_by(decision)}: {decision_in_words(decision)}",
            actor=_actor(decision.run.actor) if decision.run and decision.run.actor_id else "",
        )))
    entries.sort(key=lambda entry: entry[:3])
    return [entry for *_, entry in entries]


def _routed_by(decision: RoutingDecision) -> str:
    rule = f" (rule “{decision.rule.name}”)" if decision.rule else ""
    if decision.run_id:
        return f"Routed by brokering run #{decision.run_id} of {decision.run.queue}{rule}"
    if decision.rule:
        return f"Routed{rule}"
    return "Routed by hand"


def _actor(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.username


def _subjects(
    *, order, lines, requests, pick_jobs, pack_jobs, handover_jobs, shipments,
) -> dict[tuple[str, int], str]:
    """What each logged object is called on the timeline, e.g. "Line SKU-1 × 2", "Pick job 12 at CHI-01"."""
    names: dict[tuple[str, int], str] = {("order", order.pk): f"Order {order.name}"}
    for line in lines:
        names[("orderline", line.pk)] = f"Line {line.sku or line.title} × {line.quantity}"
    for request in requests:
        names[("fulfillmentrequest", request.pk)] = f"Request {request.number} at {request.facility.code}"
    for job in pick_jobs:
        names[("pickjob", job.pk)] = f"Pick job {job.pk} at {job.facility.code}"
    for job in pack_jobs:
        names[("packjob", job.pk)] = f"Pack job {job.pk} at {job.facility.code}"
    for job in handover_jobs:
        channel = job.get_channel_display().lower()
        names[("handoverjob", job.pk)] = f"Handover {job.pk} ({channel}) at {job.facility.code}"
    for shipment in shipments:
        names[("shipment", shipment.pk)] = f"Shipment {shipment.pk} from {shipment.facility.code}"
        for parcel in shipment.parcels.all():
            names[("parcel", parcel.pk)] = f"Parcel {parcel.tracking_number or parcel.pk}"
    for pick_line in (PickLine.objects.filter(pick_job__order=order).select_related("order_line")
                      .only("pk", "quantity", "order_line__sku", "order_line__title")):
        names[("pickline", pick_line.pk)] = (f"Pick line {pick_line.order_line.sku or pick_line.order_line.title} "
                                             f"× {pick_line.quantity}")
    return names


# --- routing preview ------------------------------------------------------------------------------


@dataclass
class PreviewRow:
    outcome: str
    words: str
    candidates: list  # routing Candidate, best first
    fences: list[tuple[str, int]]  # (in words, facilities removed), most first
    unmatched: int


def routing_preview_rows(*, order_id: int) -> list[PreviewRow]:
    """What routing would decide for the order's queued lines now, in words, with candidates and fences (no writes)."""
    names = dict(Facility.objects.values_list("pk", "name"))
    rows = []
    for decision in request_preview(order_id=order_id):
        fences = sorted(((FENCE_WORDS.get(name, name.lower()), count) for name, count in decision.fences.items()
                         if count), key=lambda pair: -pair[1])
        rows.append(PreviewRow(outcome=decision.outcome, words=decision_in_words(decision, facilities=names),
                               candidates=list(decision.candidates), fences=fences,
                               unmatched=len(decision.unmatched)))
    return rows
