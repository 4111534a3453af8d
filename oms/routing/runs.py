"""Brokering runs: one queue routed in batches, one order routed now, and the preview of a decision."""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from oms.db import ids_in
from oms.models import BrokeringRun, Order, OrderLine, RoutingRule
from oms.routing.apply import ApplyResult, DecisionError, decisions_apply
from oms.routing.engine import decision_undo, order_decide, order_sort_key
from oms.routing.load import default_rules, demands_load, rules_ensure_defaults, world_load, world_stock_refresh
from oms.routing.types import Decision, OrderDemand, World

logger = logging.getLogger(__name__)

Queue = OrderLine.Queue
# The queues a run takes lines from; the other queues wait for a date, stock or a customer's choice.
RUN_QUEUES = (Queue.BROKERING, Queue.REJECTED, Queue.UNFILLABLE, Queue.UNFILLABLE_HOLD)
# How often an order whose stock keeps being taken by others is decided again before it waits for the next run.
REDECIDE_ROUNDS = 3


class RunAlreadyActive(Exception):
    """A run of this queue is running (the partial unique index refused a second one)."""


@dataclass
class _Routed:
    decisions: list[Decision] = field(default_factory=list)  # as written
    lines_allocated: int = 0
    lines_parked: int = 0
    errors: list[dict] = field(default_factory=list)

    def add(self, result: ApplyResult, decisions: list[Decision]) -> None:
        self.lines_allocated += result.lines_allocated
        self.lines_parked += result.lines_parked
        self.decisions += [d for d in decisions if d.order_id not in result.conflicted_order_ids]


def brokering_run(
    *, queue: str, now: datetime | None = None, actor=None, trigger: str = "command", batch_size: int | None = None,
    order_ids: list[int] | None = None, batch_hook: Callable[[BrokeringRun, int], None] | None = None,
) -> BrokeringRun:
    """Route the QUEUED lines of `queue` (of `order_ids` only, when given) and return the finished run.

    The run row is committed first, so a second run of the queue fails at once with RunAlreadyActive.
    Stock and facilities are read once; orders are decided in the rules' order and written in batches
    of `batch_size` (BROKERING_BATCH_SIZE), one transaction each. An order that fails is recorded in
    the run's errors and left untouched; the rest of its batch commits. `batch_hook(run, number)` is
    called inside each batch's transaction after its writes.
    """
    if queue not in RUN_QUEUES:
        raise ValueError(f"{queue!r} is not a queue runs take lines from: {', '.join(RUN_QUEUES)}")
    now = now or timezone.now()
    batch_size = batch_size or settings.BROKERING_BATCH_SIZE
    started = time.monotonic()

    def clock() -> datetime:
        # The run's own timeline starts at the caller's `now`, so tests that pass a time get consistent rows.
        return now + timedelta(seconds=time.monotonic() - started)

    run = _run_start(queue=queue, now=now, actor=actor, trigger=trigger)
    try:
        rules = rules_ensure_defaults()
        demands = demands_load(queue=queue, order_ids=order_ids)
        world = world_load(now=now, product_ids=_products(demands))
        demands.sort(key=lambda demand: order_sort_key(order=demand, rules=rules, queue=queue))
        run.orders_considered = len(demands)
        run.lines_considered = sum(len(demand.lines) for demand in demands)
        run.heartbeat_at = clock()
        run.save(update_fields=["orders_considered", "lines_considered", "heartbeat_at"])
        batches = [demands[start:start + batch_size] for start in range(0, len(demands), batch_size)]
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            _batches_overlapped(batches=batches, world=world, rules=rules, queue=queue, run=run, now=now,
                                actor=actor, batch_hook=batch_hook, clock=clock)
            batches = []
        # Inside the caller's transaction (each batch a savepoint), or on SQLite: one batch after the other.
        for number, batch in enumerate(batches, start=1):
            committed = (run.lines_allocated, run.lines_parked, run.errors)
            try:
                with transaction.atomic():
                    routed = _batch_route(demands=batch, world=world, rules=rules, queue=queue, run=run, now=now,
                                          actor=actor)
                    run.lines_allocated += routed.lines_allocated
                    run.lines_parked += routed.lines_parked
                    run.errors = run.errors + routed.errors
                    if batch_hook is not None:
                        batch_hook(run, number)
            except BaseException:
                run.lines_allocated, run.lines_parked, run.errors = committed  # the batch was rolled back
                raise
            # After the batch commits, never inside it: a second run checking the unique index would wait
            # for a batch that holds the run row, instead of being refused at once.
            run.heartbeat_at = clock()
            run.save(update_fields=["lines_allocated", "lines_parked", "errors", "heartbeat_at"])
    except BaseException as exc:
        run.errors = run.errors + [{"error": f"run stopped: {type(exc).__name__}: {exc}"}]
        _run_finish(run=run, status=BrokeringRun.Status.FAILED, at=clock())
        raise
    _run_finish(run=run, status=BrokeringRun.Status.SUCCEEDED, at=clock())
    return run


def order_route(*, order_id: int, now: datetime | None = None, actor=None, reason: str = "routed") -> Decision | None:
    """Route one order's BROKERING lines now, in the caller's transaction if there is one.

    Returns the decision written, or None when the order has no line waiting in BROKERING. Errors are
    raised, not recorded: the caller (regenerating a request) decides what a failure means.
    """
    now = now or timezone.now()
    queue = Queue.BROKERING
    with transaction.atomic():
        rules = rules_ensure_defaults()
        _lock(order_ids=[order_id], queue=queue)
        demands = demands_load(queue=queue, order_ids=[order_id])
        if not demands:
            return None
        world = world_load(now=now, product_ids=_products(demands))
        routed = _route(demands=demands, world=world, rules=rules, queue=queue, run=None, now=now, actor=actor,
                        reason=reason, errors=None)
    return routed.decisions[0] if routed.decisions else None


def routing_preview(*, order_id: int, now: datetime | None = None) -> list[Decision]:
    """What a run would decide for the order now, one decision per queue its lines wait in; writes nothing."""
    now = now or timezone.now()
    rules = list(RoutingRule.objects.filter(is_active=True).order_by("position"))
    if not RoutingRule.objects.exists():
        rules = default_rules()  # what the first run would create
    per_queue = [demands_load(queue=queue, order_ids=[order_id]) for queue in RUN_QUEUES]
    demands = [(queue, found[0]) for queue, found in zip(RUN_QUEUES, per_queue, strict=True) if found]
    if not demands:
        return []
    world = world_load(now=now, product_ids=_products([demand for _, demand in demands]))
    return [order_decide(order=demand, world=world, rules=rules, queue=queue, now=now, consume=False)
            for queue, demand in demands]


# --- the run's row ------------------------------------------------------------------------------


def _run_start(*, queue: str, now: datetime, actor, trigger: str) -> BrokeringRun:
    """Commit a RUNNING row for the queue, after closing a RUNNING one that has gone silent."""
    silent_since = now - timedelta(seconds=settings.BROKERING_RUN_STALE_SECONDS)
    with transaction.atomic():
        stale = BrokeringRun.objects.select_for_update().filter(
            queue=queue, status=BrokeringRun.Status.RUNNING, heartbeat_at__lt=silent_since
        )
        for dead in stale:
            dead.status = BrokeringRun.Status.FAILED
            dead.finished_at = now
            dead.errors = dead.errors + [
                {"error": f"no sign of life since {dead.heartbeat_at.isoformat()}: taken as dead"}
            ]
            dead.save(update_fields=["status", "finished_at", "errors"])
            logger.warning("brokering run %s of %s was silent since %s: closed as FAILED", dead.pk, queue,
                           dead.heartbeat_at)
    try:
        with transaction.atomic():
            return BrokeringRun.objects.create(
                queue=queue, status=BrokeringRun.Status.RUNNING, trigger=trigger, actor=actor, started_at=now,
                heartbeat_at=now,
            )
    except IntegrityError as exc:
        raise RunAlreadyActive("already running") from exc


def _run_finish(*, run: BrokeringRun, status: str, at: datetime) -> None:
    run.status = status
    run.finished_at = at
    run.heartbeat_at = at
    # Only a run still RUNNING is closed: one taken as dead meanwhile stays FAILED (and its successor RUNNING).
    closed = BrokeringRun.objects.filter(pk=run.pk, status=BrokeringRun.Status.RUNNING).update(
        status=status, finished_at=at, heartbeat_at=at, errors=run.errors,
        lines_allocated=run.lines_allocated, lines_parked=run.lines_parked,
    )
    if not closed:
        run.refresh_from_db()


# --- routing batches ----------------------------------------------------------------------------


@dataclass
class _Ahead:
    """A batch decided before its orders were locked (while the database committed the batch before it)."""

    demands: list[OrderDemand]
    decisions: list[Decision]
    errors: list[dict]


class _Commit(threading.Thread):
    """COMMIT of one batch on the run's connection, waited for by the thread that started it."""

    def __init__(self, raw_connection):
        super().__init__(name="brokering-commit", daemon=True)
        self.raw_connection = raw_connection
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.raw_connection.commit()
        except BaseException as exc:  # raised in the run's own thread by raise_error()
            self.error = exc

    def raise_error(self) -> None:
        """After join(): a failed COMMIT rolled the batch back; raise its error as Django's commit would."""
        if self.error is not None:
            connection.rollback()
            with connection.wrap_database_errors:
                raise self.error


def _batches_overlapped(
    *, batches: list[list[OrderDemand]], world: World, rules: list[RoutingRule], queue: str, run: BrokeringRun,
    now: datetime, actor, batch_hook: Callable[[BrokeringRun, int], None] | None, clock: Callable[[], datetime],
) -> None:
    """The batches one transaction each, as brokering_run's plain loop, but each COMMIT overlaps deciding the next.

    A commit waits for the database (deferred foreign-key checks, WAL), deciding only for Python: while one
    batch commits (in a helper thread; psycopg serialises use of the connection), the next batch is decided
    against the run's picture. Once its orders are locked, that early decision is kept only when none of
    its orders changed meanwhile; otherwise it is given back to the picture (decision_undo) and the batch is
    decided after the lock, exactly as the plain loop does. So the decisions are the same either way.
    The connection runs without autocommit for the loop: each batch, and each heartbeat, is committed here.
    """
    ahead: _Ahead | None = None
    pending: _Commit | None = None
    connection.set_autocommit(False)
    try:
        for number, batch in enumerate(batches, start=1):
            committed = (run.lines_allocated, run.lines_parked, run.errors)
            try:
                with transaction.atomic(savepoint=False):  # the batch: no savepoint, committed below
                    routed = _batch_route(demands=batch, world=world, rules=rules, queue=queue, run=run, now=now,
                                          actor=actor, ahead=ahead)
                    run.lines_allocated += routed.lines_allocated
                    run.lines_parked += routed.lines_parked
                    run.errors = run.errors + routed.errors
                    if batch_hook is not None:
                        batch_hook(run, number)
            except BaseException:
                run.lines_allocated, run.lines_parked, run.errors = committed  # rolled back (finally below)
                raise
            ahead = None
            if connection.run_on_commit:
                # Commit hooks run in order after a commit Django itself made: no overlap for this batch.
                connection.commit()
                connection.set_autocommit(True)
                connection.set_autocommit(False)
            else:
                pending = _Commit(connection.connection)
                pending.start()
                try:
                    if number < len(batches):
                        following, errors = batches[number], []
                        decisions = _decide(demands=following, world=world, rules=rules, queue=queue, now=now,
                                            errors=errors)
                        ahead = _Ahead(demands=following, decisions=decisions, errors=errors)
                finally:
                    pending.join()
                    if pending.error is not None:
                        run.lines_allocated, run.lines_parked, run.errors = committed  # the batch was rolled back
                pending, commit = None, pending
                commit.raise_error()
            # After the batch commits, never inside it (see brokering_run).
            run.heartbeat_at = clock()
            run.save(update_fields=["lines_allocated", "lines_parked", "errors", "heartbeat_at"])
            connection.commit()
    finally:
        if pending is not None:
            pending.join()
        if connection.connection is not None:
            connection.rollback()  # whatever a failure left open (nothing when every batch committed)
        connection.set_autocommit(True)


def _batch_route(
    *, demands: list[OrderDemand], world: World, rules: list[RoutingRule], queue: str, run: BrokeringRun,
    now: datetime, actor, ahead: _Ahead | None = None,
) -> _Routed:
    """Lock the batch's orders and lines, catch up with lines changed since the run read them, route.

    `ahead`: the batch as decided before the lock (see _batches_overlapped), kept when nothing changed.
    """
    current = _lock(order_ids=[demand.order_id for demand in demands], queue=queue)
    changed = [demand.order_id for demand in demands if _signature(demand) != current.get(demand.order_id, ())]
    decided = None
    if ahead is not None and ahead.demands is demands and not changed:
        decided = (ahead.decisions, ahead.errors)
    elif ahead is not None:
        # Decided on lines that changed since: give it all back, the batch is decided again after the lock.
        by_id = {demand.order_id: demand for demand in ahead.demands}
        for decision in reversed(ahead.decisions):
            decision_undo(decision=decision, order=by_id[decision.order_id], world=world)
    if changed:
        # Canceled, moved or rejected since the run read the queue: take the lines as they are now.
        fresh = {demand.order_id: demand for demand in demands_load(queue=queue, order_ids=changed)}
        demands = [fresh.get(demand.order_id, demand) for demand in demands
                   if demand.order_id not in changed or demand.order_id in fresh]
        unseen = {p for demand in fresh.values() for line in demand.lines if (p := line.product_id) not in world.stock}
        world_stock_refresh(world=world, product_ids=unseen)
    errors: list[dict] = []
    routed = _route(demands=demands, world=world, rules=rules, queue=queue, run=run, now=now, actor=actor,
                    reason=f"brokering run {run.pk}", errors=errors, decided=decided)
    routed.errors = errors
    return routed


def _lock(*, order_ids: list[int], queue: str) -> dict[int, tuple]:
    """Lock the orders, then their lines queued in `queue` (both in primary-key order, as every service does).

    Returns each order's queued lines as demands_load would see them (see _signature).
    """
    list(Order.objects.filter(ids_in(Order, "pk", order_ids)).order_by("pk").select_for_update(of=("self",))
         .values_list("pk"))
    rows = (
        OrderLine.objects.filter(ids_in(OrderLine, "order_id", order_ids), status=OrderLine.Status.QUEUED,
                                 queue=queue, product__isnull=False)
        .order_by("pk").select_for_update(of=("self",))
        .values_list("order_id", "pk", "product_id", "quantity", "pickup_facility_id")
    )
    lines: dict[int, list[tuple]] = {}
    for order_id, *line in rows:
        lines.setdefault(order_id, []).append(tuple(line))
    return {order_id: tuple(found) for order_id, found in lines.items()}


def _signature(demand: OrderDemand) -> tuple:
    return tuple(
        (line.line_id, line.product_id, line.quantity, line.pickup_facility_id)
        for line in sorted(demand.lines, key=lambda line: line.line_id)
    )


def _route(
    *, demands: list[OrderDemand], world: World, rules: list[RoutingRule], queue: str, run: BrokeringRun | None,
    now: datetime, actor, reason: str, errors: list[dict] | None,
    decided: tuple[list[Decision], list[dict]] | None = None,
) -> _Routed:
    """Decide and write the (locked) orders; decide again those whose stock was taken meanwhile.

    With `errors` a failing order is recorded there and skipped; without, the failure is raised.
    `decided`: the decisions (and errors) of `demands` already made against the current picture.
    """
    routed = _Routed()
    pending = demands
    for _ in range(REDECIDE_ROUNDS):
        if decided is not None:
            decisions, early_errors = decided
            decided = None
            errors.extend(early_errors)
        else:
            decisions = _decide(demands=pending, world=world, rules=rules, queue=queue, now=now, errors=errors)
        result = _write(decisions=decisions, demands=pending, world=world, queue=queue, run=run, now=now,
                        actor=actor, reason=reason, errors=errors)
        routed.add(result, decisions)
        if not result.conflicted_order_ids:
            return routed
        # Another transaction took units the run counted on: those orders were written not at all. Give
        # back what their decisions took from the picture and read their products' stock again.
        pending = [demand for demand in pending if demand.order_id in result.conflicted_order_ids]
        for decision in decisions:
            if decision.order_id in result.conflicted_order_ids:
                decision_undo(decision=decision, order=_by_id(pending, decision.order_id), world=world)
        world_stock_refresh(world=world, product_ids=_products(pending))
    for demand in pending:
        _error(errors, demand, "its stock kept being taken by others while routing: left for the next run")
    return routed


def _decide(*, demands: list[OrderDemand], world: World, rules: list[RoutingRule], queue: str, now: datetime,
            errors: list[dict] | None) -> list[Decision]:
    decisions = []
    for demand in demands:
        try:
            decisions.append(order_decide(order=demand, world=world, rules=rules, queue=queue, now=now))
        except Exception as exc:
            if errors is None:
                raise
            logger.exception("routing order %s failed", demand.order_id)
            _error(errors, demand, f"{type(exc).__name__}: {exc}")
    return decisions


def _write(*, decisions: list[Decision], demands: list[OrderDemand], world: World, queue: str,
           run: BrokeringRun | None, now: datetime, actor, reason: str, errors: list[dict] | None) -> ApplyResult:
    """Write the decisions set-wise; when that fails, order by order so only the failing ones are left out."""
    apply = dict(world=world, queue=queue, run=run, now=now, actor=actor, trigger_reason=reason)
    try:
        with transaction.atomic():  # a savepoint: a failed bulk write leaves the batch's locks and nothing else
            return decisions_apply(decisions=decisions, **apply)
    except Exception:
        if errors is None:
            raise
        logger.warning("writing %s decisions at once failed: writing them one by one", len(decisions), exc_info=True)
    total = ApplyResult()
    for decision in decisions:
        try:
            with transaction.atomic():
                result = decisions_apply(decisions=[decision], **apply)
        except Exception as exc:
            order_id = exc.order_id if isinstance(exc, DecisionError) else decision.order_id
            demand = _by_id(demands, order_id)
            logger.exception("writing the decision for order %s failed", order_id)
            _error(errors, demand, f"{type(exc).__name__}: {exc}")
            decision_undo(decision=decision, order=demand, world=world)
            continue
        total.conflicted_order_ids |= result.conflicted_order_ids
        total.lines_allocated += result.lines_allocated
        total.lines_parked += result.lines_parked
        total.request_ids += result.request_ids
    return total


def _error(errors: list[dict] | None, demand: OrderDemand, message: str) -> None:
    if errors is None:
        raise RuntimeError(f"order {demand.name}: {message}")
    errors.append({"order_id": demand.order_id, "order": demand.name, "error": message[:500]})


def _by_id(demands: list[OrderDemand], order_id: int) -> OrderDemand:
    return next(demand for demand in demands if demand.order_id == order_id)


def _products(demands: list[OrderDemand]) -> set[int]:
    return {line.product_id for demand in demands for line in demand.lines if line.product_id is not None}
