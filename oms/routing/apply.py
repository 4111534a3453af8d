"""Writing routing decisions set-wise: reservations, line splits, requests, pick jobs, history, decisions."""

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Count

from fulfillment.jobs import pick_jobs_create
from oms.core.pickup_offers import pickup_alternatives_offer
from oms.db import Alongside, JsonText, ids_in, pg_array, rows_insert
from oms.models import (
    BrokeringRun,
    FulfillmentRequest,
    Order,
    OrderLine,
    OrderNote,
    OutboxMessage,
    RoutingDecision,
    RoutingRule,
    TransitionLog,
)
from oms.outbox.messages import outbox_write
from oms.routing.types import Decision, World
from stores.models import Facility
from stores.stock import stock_available_lock, stock_reserve_many

Queue = OrderLine.Queue
RequestStatus = FulfillmentRequest.Status
UNFILLABLE_QUEUES = (Queue.UNFILLABLE, Queue.UNFILLABLE_HOLD)
DEFAULT_AUTO_CANCEL_DAYS = 7
LOG_COLUMNS = ["object_type", "object_id", "order_id", "transition", "source_state", "target_state", "actor_id",
               "reason", "at"]


class DecisionError(ValueError):
    """A decision that cannot be written as it is (it does not match the order's queued lines)."""

    def __init__(self, order_id: int, message: str):
        super().__init__(message)
        self.order_id = order_id


@dataclass
class ApplyResult:
    conflicted_order_ids: set[int] = field(default_factory=set)
    # Lines as they were queued: allocated = every unit of the line went to a facility (in one or more
    # parts); parked = some of its units were parked (so allocated + parked = lines decided on).
    lines_allocated: int = 0
    lines_parked: int = 0
    request_ids: list[int] = field(default_factory=list)


@dataclass(slots=True)
class _Line:
    """An order line as the writer needs it: a plain copy (a run handles tens of thousands; model instances
    cost more to build than everything else the writer does with them). Written back by _lines_update."""

    pk: int | None
    order_id: int
    status: str
    queue: str
    quantity: int
    product_id: int | None
    queued_at: datetime | None
    auto_cancel_at: datetime | None
    allocated_facility_id: int | None
    fulfillment_request_id: int | None
    parent_id: int | None
    external_line_id: str
    sku: str
    title: str
    unit_price: object
    kind: str
    promise_date: object
    pickup_store_code: str
    pickup_facility_id: int | None
    cancel_reason: str

    @property
    def is_pickup(self) -> bool:
        return bool(self.pickup_store_code)


LINE_COLUMNS = [name for name in _Line.__slots__ if name != "pk"]
UPDATED_COLUMNS = ["status", "quantity", "allocated_facility_id", "fulfillment_request_id", "queue", "queued_at",
                   "auto_cancel_at"]


@dataclass(slots=True)
class _Request:
    """A fulfillment request as written by the run (a plain copy: no model instances on the hot path)."""

    pk: int | None
    order_id: int
    facility_id: int
    number: str
    status: str


@dataclass
class _Part:
    """One part of a queued line after the decision: `quantity` units to a facility or to a parking."""

    quantity: int
    facility_id: int | None = None
    queue: str = ""
    line: _Line | None = None  # the line that carries this part once written (the original for part 0)


@dataclass
class _Plan:
    decision: Decision
    lines: dict[int, _Line]  # the decision's queued lines
    parts: dict[int, list[_Part]]  # line id -> its parts, the original line keeping the first
    reservations: dict[int, int]  # stock level id -> units

    @property
    def order_id(self) -> int:
        return self.decision.order_id


def decisions_apply(
    *, decisions: list[Decision], world: World, queue: str, run: BrokeringRun | None, now: datetime,
    actor=None, trigger_reason: str = "routed",
) -> ApplyResult:
    """Write the decisions of one batch in the caller's transaction.

    Expects the orders and their decided lines locked by the caller (the lines still QUEUED in `queue`;
    the order lock keeps request numbers `<order name>-<n>` from being taken twice). The stock rows are
    locked in primary-key order and read again: a decision whose units are no longer there (taken by
    another transaction since the world was read) is left out entirely — nothing of its order is
    written — and returned in `conflicted_order_ids` for the caller to decide again. The guarded
    reservation UPDATE then cannot come back short; if it does, this raises and the batch rolls back.
    Raises DecisionError for a decision that does not fit its lines. Decisions that neither allocate
    nor park (no rule matched) write nothing.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("decisions_apply runs inside the caller's transaction")
    decisions = [decision for decision in decisions if decision.allocations or decision.parked]
    result = ApplyResult()
    if not decisions:
        return result
    line_ids = {part.line_id for decision in decisions for part in (*decision.allocations, *decision.parked)}
    lines = {row[0]: _Line(*row) for row in
             OrderLine.objects.filter(ids_in(OrderLine, "pk", line_ids)).values_list("pk", *LINE_COLUMNS)}
    plans = [_plan(decision=decision, lines=lines, world=world, queue=queue) for decision in decisions]

    conflicted = _stock_conflicts(plans)
    result.conflicted_order_ids = {plan.order_id for plan in conflicted}
    plans = [plan for plan in plans if plan.order_id not in result.conflicted_order_ids]
    if not plans:
        return result

    order_ids = [plan.order_id for plan in plans]
    orders = {pk: (name, external_id) for pk, name, external_id in
              Order.objects.filter(ids_in(Order, "pk", order_ids)).values_list("pk", "name", "external_id")}
    rule_days = dict(
        RoutingRule.objects.filter(pk__in={plan.decision.rule_id for plan in plans} - {None})
        .values_list("pk", "auto_cancel_days")
    )
    requests = _requests_create(plans=plans, orders=orders, world=world, now=now)
    result.request_ids = [request.pk for request in requests.values()]
    actor_id = actor.pk if actor is not None else None
    entries = _request_entries(requests=requests.values(), actor_id=actor_id, reason=trigger_reason, now=now)
    moved, changed = _lines_write(plans=plans, requests=requests, rule_days=rule_days, queue=queue,
                                  actor_id=actor_id, reason=trigger_reason, now=now, entries=entries)

    # The lines' UPDATE (every index of the table moves) runs while the rest of the batch is made ready.
    with Alongside(lambda: _lines_update(changed)):
        reservations = [
            (world.stock_level_ids[part.line.product_id][part.facility_id], part.quantity, part.line.pk)
            for plan in plans for parts in plan.parts.values() for part in parts if part.facility_id
        ]
        jobs_for = defaultdict(list)
        for plan in plans:
            for parts in plan.parts.values():
                for part in parts:
                    if part.facility_id:
                        jobs_for[(plan.order_id, part.facility_id)].append(part.line)
        sent = [(request, jobs_for[key]) for key, request in requests.items()
                if request.status == RequestStatus.PROCESSED]
        encode = JsonText if connection.vendor == "postgresql" else None
        decision_rows = [
            (plan.order_id, run.pk if run is not None else None,
             plan.decision.rule_id if plan.decision.rule_id in rule_days else None,
             plan.decision.outcome, _details(plan=plan, world=world, encode=encode), now)
            for plan in plans
        ]

    source = f"brokering run {run.pk}" if run is not None else trigger_reason
    short = stock_reserve_many(reservations=reservations, actor=actor, source=source, now=now,
                               rows_locked=True)  # by _stock_conflicts
    if short:
        raise RuntimeError(f"stock levels {sorted(short)} came back short although they were locked")

    pick_jobs_create(requests=sent, now=now)
    rows_insert(model=TransitionLog, columns=LOG_COLUMNS, rows=entries)
    _queue_moves_tell(plans=plans, moved=moved, orders=orders, actor_id=actor_id, now=now)
    # One call for the batch. No on-commit kick: it would stop the run overlapping its commits; the sweep sends.
    if waiting := sorted({part.line.order_id for part in moved if part.queue == Queue.BOPIS_REJECTED}):
        pickup_alternatives_offer(order_ids=waiting, now=now, kick_dispatcher=False)
    rows_insert(
        model=RoutingDecision, columns=["order_id", "run_id", "rule_id", "outcome", "details", "created_at"],
        rows=decision_rows,
    )
    for plan in plans:
        for parts in plan.parts.values():
            if all(part.facility_id for part in parts):
                result.lines_allocated += 1
            else:
                result.lines_parked += 1
    return result


def _plan(*, decision: Decision, lines: dict[int, _Line], world: World, queue: str) -> _Plan:
    parts: dict[int, list[_Part]] = defaultdict(list)
    for allocation in decision.allocations:
        if allocation.quantity > 0:
            parts[allocation.line_id].append(_Part(quantity=allocation.quantity, facility_id=allocation.facility_id))
    for parked in decision.parked:
        if parked.quantity > 0:
            parts[parked.line_id].append(_Part(quantity=parked.quantity, queue=parked.queue))
    reservations: dict[int, int] = defaultdict(int)
    plan_lines = {}
    for line_id, line_parts in parts.items():
        line = lines.get(line_id)
        if line is None or line.order_id != decision.order_id:
            raise DecisionError(decision.order_id, f"line {line_id} is not a line of order {decision.order_id}")
        if line.status != OrderLine.Status.QUEUED or line.queue != queue:
            raise DecisionError(decision.order_id, f"line {line_id} is {line.status} in {line.queue or 'no queue'}, "
                                                   f"not QUEUED in {queue}")
        if sum(part.quantity for part in line_parts) != line.quantity:
            raise DecisionError(decision.order_id, f"line {line_id}: the decision places "
                                                   f"{sum(p.quantity for p in line_parts)} of {line.quantity} units")
        for part in line_parts:
            if part.facility_id:
                level_id = world.stock_level_ids.get(line.product_id, {}).get(part.facility_id)
                if level_id is None:
                    raise DecisionError(decision.order_id, f"line {line_id}: facility {part.facility_id} has no "
                                                           f"stock level for product {line.product_id}")
                reservations[level_id] += part.quantity
        line_parts[0].line = line
        plan_lines[line_id] = line
    return _Plan(decision=decision, lines=plan_lines, parts=dict(parts), reservations=dict(reservations))


def _stock_conflicts(plans: list[_Plan]) -> list[_Plan]:
    """Lock the chosen stock rows and return the plans they can no longer cover.

    Plans are served in the order they were decided; one that does not fit leaves its units to the
    next. The rows stay locked until the caller commits, so the reservation UPDATE sees the same numbers.
    """
    level_ids = {level_id for plan in plans for level_id in plan.reservations}
    if not level_ids:
        return []
    left = stock_available_lock(pks=level_ids)
    conflicted = []
    for plan in plans:
        if all(left.get(level_id, 0) >= units for level_id, units in plan.reservations.items()):
            for level_id, units in plan.reservations.items():
                left[level_id] -= units
        else:
            conflicted.append(plan)
    return conflicted


def _requests_create(
    *, plans: list[_Plan], orders: dict[int, tuple[str, str]], world: World, now: datetime
) -> dict[tuple[int, int], _Request]:
    """One request per (order, facility), numbered on from the order's requests ever made."""
    made = dict(
        FulfillmentRequest.objects.filter(ids_in(FulfillmentRequest, "order_id", [plan.order_id for plan in plans]))
        .values("order_id").annotate(n=Count("pk")).values_list("order_id", "n")
    )
    requests: dict[tuple[int, int], _Request] = {}
    for plan in plans:
        number = made.get(plan.order_id, 0)
        for allocation in plan.decision.allocations:
            key = (plan.order_id, allocation.facility_id)
            if key in requests or allocation.quantity <= 0:
                continue
            number += 1
            facility = world.facilities[allocation.facility_id]
            # A MANUAL facility's request waits for operations; a WMS warehouse's for the allocation feed.
            sent_at_once = not facility.fulfilled_by_wms and facility.processing_mode == Facility.Processing.AUTOMATIC
            requests[key] = _Request(
                pk=None, order_id=plan.order_id, facility_id=allocation.facility_id,
                number=f"{orders[plan.order_id][0]}-{number}",
                status=RequestStatus.PROCESSED if sent_at_once else RequestStatus.UNPROCESSED,
            )
    columns = ["order_id", "facility_id", "number", "status", "error", "created_at"]
    ids = rows_insert(
        model=FulfillmentRequest, columns=columns, ids=True,
        rows=[(r.order_id, r.facility_id, r.number, r.status, "", now) for r in requests.values()],
    )
    for request, pk in zip(requests.values(), ids, strict=True):
        request.pk = pk
    return requests


def _request_entries(*, requests, actor_id: int | None, reason: str, now: datetime) -> list[tuple]:
    """A request sent at once was created in its final state: log the two moves it made to get there."""
    entries = []
    for request in requests:
        if request.status == RequestStatus.PROCESSED:
            for transition, source, target in (
                ("process", RequestStatus.UNPROCESSED, RequestStatus.PROCESSING),
                ("mark_sent", RequestStatus.PROCESSING, RequestStatus.PROCESSED),
            ):
                entries.append(("fulfillmentrequest", request.pk, request.order_id, transition, source, target,
                                actor_id, reason, now))
    return entries


def _lines_write(
    *, plans: list[_Plan], requests: dict[tuple[int, int], _Request], rule_days: dict[int, int],
    queue: str, actor_id: int | None, reason: str, now: datetime, entries: list[tuple],
) -> tuple[list[_Part], list[_Line]]:
    """Split, allocate and re-park the lines; return the parked parts that moved to another queue, and the
    original lines that changed (for _lines_update: the caller writes them)."""
    changed: list[_Line] = []
    new_lines: list[_Line] = []
    splits: list[tuple[_Line, _Part]] = []  # (original, part) for every new line
    moved: list[_Part] = []
    for plan in plans:
        new_auto_cancel_at = now + timedelta(days=rule_days.get(plan.decision.rule_id, DEFAULT_AUTO_CANCEL_DAYS))
        for line_id, parts in plan.parts.items():
            original = plan.lines[line_id]
            # A line already waiting for its auto-cancel keeps that date, in every part parked again.
            auto_cancel_at = original.auto_cancel_at or new_auto_cancel_at
            was = (original.quantity, original.queue, original.auto_cancel_at)
            for index, part in enumerate(parts):
                if index == 0:
                    line = original
                    line.quantity = part.quantity
                else:
                    line = _split_off(original, part=part, queue=queue)
                    splits.append((original, part))
                    new_lines.append(line)
                part.line = line
                if part.facility_id:
                    if index == 0:
                        # QUEUED → ALLOCATED (checked in _plan), written by the UPDATE below and logged here.
                        line.status = OrderLine.Status.ALLOCATED
                        entries.append(("orderline", line.pk, line.order_id, "allocate", OrderLine.Status.QUEUED,
                                        OrderLine.Status.ALLOCATED, actor_id, reason, now))
                    _allocated(line, facility_id=part.facility_id,
                               request=requests[(plan.order_id, part.facility_id)])
                else:
                    _parked(line, queue=part.queue, auto_cancel_at=auto_cancel_at, now=now)
                    if part.queue != queue:
                        moved.append(part)
            if parts[0].facility_id or (original.quantity, original.queue, original.auto_cancel_at) != was:
                changed.append(original)
    ids = rows_insert(model=OrderLine, columns=LINE_COLUMNS, ids=True,
                      rows=[tuple(getattr(line, name) for name in LINE_COLUMNS) for line in new_lines])
    for line, pk in zip(new_lines, ids, strict=True):
        line.pk = pk
    for original, part in splits:
        if part.facility_id:
            # The new line was a part of its QUEUED original until now: its history starts with this move.
            entries.append(("orderline", part.line.pk, original.order_id, "allocate", OrderLine.Status.QUEUED,
                            OrderLine.Status.ALLOCATED, actor_id, f"{reason} (split from line {original.pk})", now))
    _excluded_copy(splits=splits)
    return moved, changed


def _split_off(original: _Line, *, part: _Part, queue: str) -> _Line:
    """A new line for a part of `original`: same shop line, product and pickup store, created in its new state."""
    return _Line(
        pk=None, order_id=original.order_id, external_line_id=original.external_line_id, parent_id=original.pk,
        product_id=original.product_id, sku=original.sku, title=original.title, quantity=part.quantity,
        unit_price=original.unit_price, kind=original.kind, promise_date=original.promise_date,
        pickup_store_code=original.pickup_store_code, pickup_facility_id=original.pickup_facility_id,
        status=OrderLine.Status.ALLOCATED if part.facility_id else OrderLine.Status.QUEUED,
        queue=queue, queued_at=original.queued_at, auto_cancel_at=None, allocated_facility_id=None,
        fulfillment_request_id=None, cancel_reason="",
    )


def _allocated(line: _Line, *, facility_id: int, request: _Request) -> None:
    line.allocated_facility_id = facility_id
    line.fulfillment_request_id = request.pk
    line.queue = ""  # an allocated line waits in no queue
    line.auto_cancel_at = None


def _parked(line: _Line, *, queue: str, auto_cancel_at: datetime, now: datetime) -> None:
    if line.queue != queue:
        line.queued_at = now
    line.queue = queue
    # UNFILLABLE_HOLD and BOPIS_REJECTED lines are never cancelled automatically.
    line.auto_cancel_at = auto_cancel_at if queue == Queue.UNFILLABLE else None


def _excluded_copy(*, splits: list[tuple[_Line, _Part]]) -> None:
    """A split line keeps the facilities its original was excluded from (one query, one insert)."""
    if not splits:
        return
    through = OrderLine.excluded_facilities.through
    excluded = defaultdict(list)
    for line_id, facility_id in through.objects.filter(
        orderline_id__in={original.pk for original, _ in splits}
    ).values_list("orderline_id", "facility_id"):
        excluded[line_id].append(facility_id)
    through.objects.bulk_create(
        [through(orderline_id=part.line.pk, facility_id=facility_id)
         for original, part in splits for facility_id in excluded.get(original.pk, ())],
        batch_size=1000,
    )


def _lines_update(lines: list[_Line]) -> None:
    if not lines:
        return
    if connection.vendor != "postgresql":
        OrderLine.objects.bulk_update(
            [OrderLine(pk=line.pk, **{name: getattr(line, name) for name in UPDATED_COLUMNS}) for line in lines],
            UPDATED_COLUMNS, batch_size=500,
        )
        return
    # One UPDATE … FROM unnest(…) for the whole batch: bulk_update's CASE per field and row is far slower.
    types = {"status": "text", "quantity": "integer", "allocated_facility_id": "bigint",
             "fulfillment_request_id": "bigint", "queue": "text", "queued_at": "timestamptz",
             "auto_cancel_at": "timestamptz"}
    assignments = ", ".join(f"{name} = v.{name}" for name in UPDATED_COLUMNS)
    arrays = ", ".join(f"%s::{types[name]}[]" for name in UPDATED_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {OrderLine._meta.db_table} AS l SET {assignments} "
            f"FROM unnest(%s::bigint[], {arrays}) AS v(id, {', '.join(UPDATED_COLUMNS)}) WHERE l.id = v.id",
            [pg_array(line.pk for line in lines)]
            + [pg_array(getattr(line, name) for line in lines) for name in UPDATED_COLUMNS],
        )


def _queue_moves_tell(*, plans: list[_Plan], moved: list[_Part], orders: dict[int, tuple[str, str]],
                      actor_id: int | None, now: datetime) -> None:
    """One timeline note per order for the units it parked, and the shop told of unfillable lines if it wants."""
    if not moved:
        return
    moved_ids = {id(part) for part in moved}
    notes = []
    for plan in plans:
        by_queue: dict[str, list[_Part]] = defaultdict(list)
        for parts in plan.parts.values():
            for part in parts:
                if id(part) in moved_ids:
                    by_queue[part.queue].append(part)
        if not by_queue:
            continue
        why = "no facility has stock" if not plan.decision.candidates else "no facility the rules allow can take them"
        sentences = []
        for parked_queue, parts in by_queue.items():
            reason = "the pickup store cannot cover them" if parked_queue == Queue.BOPIS_REJECTED else why
            sentences.append(f"{_units_text(parts)} moved to {parked_queue}: {reason}.")
        notes.append((plan.order_id, actor_id, " ".join(sentences), now))
        if settings.SHOP_NOTIFY_UNFILLABLE:
            name, external_id = orders[plan.order_id]
            order = Order(pk=plan.order_id, name=name, external_id=external_id)
            for parked_queue, parts in by_queue.items():
                if parked_queue not in UNFILLABLE_QUEUES:
                    continue
                for part in parts:
                    outbox_write(
                        kind="lines-unfillable", destination=OutboxMessage.Destination.SHOP,
                        idempotency_key=f"lines-unfillable:{part.line.pk}:{parked_queue}", order=order, now=now,
                        payload={"external_id": order.external_id, "name": order.name, "queue": parked_queue,
                                 "line": {"external_line_id": part.line.external_line_id, "sku": part.line.sku,
                                          "quantity": part.quantity}},
                    )
    rows_insert(model=OrderNote, columns=["order_id", "actor_id", "text", "at"], rows=notes)


def _units_text(parts: list[_Part]) -> str:
    items = [f"{part.quantity} unit{'s' if part.quantity != 1 else ''} of SKU {part.line.sku}" for part in parts]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def decision_details(*, decision: Decision, world: World) -> dict:
    """The RoutingDecision.details of a decision (see the model); facility codes from the world."""
    facilities = world.facilities

    def code(facility_id: int) -> str:
        facility = facilities.get(facility_id)
        return facility.code if facility else str(facility_id)

    details = {
        "outcome": decision.outcome,
        "allocations": [
            {"facility_id": a.facility_id, "facility": code(a.facility_id), "line_id": a.line_id,
             "quantity": a.quantity}
            for a in decision.allocations
        ],
        "parked": [{"line_id": p.line_id, "quantity": p.quantity, "queue": p.queue} for p in decision.parked],
        "candidates": [
            {"facility_id": c.facility_id, "facility": c.code, "name": c.name, "score": c.score,
             "ratings": c.ratings, "distance_km": c.distance_km}
            for c in decision.candidates
        ],
        "fences": dict(decision.fences),
        "notes": list(decision.notes),
    }
    if decision.unmatched:
        details["unmatched"] = list(decision.unmatched)
    return details


def _details(*, plan: _Plan, world: World, encode: Callable[[str], str] | None = None) -> dict | str:
    """The decision's details with the line ids as written (a split part names its new line).

    With `encode`, as JSON text: encode(json.dumps(details)).
    """
    details = decision_details(decision=plan.decision, world=world)
    allocations, parked = [], []
    for parts in plan.parts.values():
        for part in parts:
            if part.facility_id:
                code = world.facilities[part.facility_id].code
                allocations.append({"facility_id": part.facility_id, "facility": code, "line_id": part.line.pk,
                                    "quantity": part.quantity})
            else:
                parked.append({"line_id": part.line.pk, "quantity": part.quantity, "queue": part.queue})
    details["allocations"], details["parked"] = allocations, parked
    return details if encode is None else encode(json.dumps(details))
