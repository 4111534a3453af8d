"""What the benchmark checks after the run: every order decided once, stock and ledger true, lines whole, splits
within the rule, the run's processing order kept, and a sample decided the same as the reference oracle."""

from collections import Counter, defaultdict
from dataclasses import dataclass

from django.db.models import F

from fulfillment.ledger import stock_ledger_problems
from oms.models import (
    BrokeringRun,
    OrderLine,
    RoutingDecision,
    RoutingRule,
)
from oms.routing.bench.config import MAX_SPLIT, QUEUE, BenchWorld, Check, Snapshot
from oms.routing.bench.reference import order_sort_key, reference_decide
from oms.routing.bench.world import orders_plain
from stores.models import StockLevel

# --- Checks -----------------------------------------------------------------------------------------


@dataclass
class _Part:
    line_id: int
    root_id: int  # the original line this part was split from (itself when not split)
    order_id: int
    status: str
    queue: str
    facility_id: int | None
    product_id: int | None
    quantity: int
    pickup_facility_id: int | None


def _parts(order_ids) -> dict[int, list[_Part]]:
    """Every line of the orders after the run, per order, with splits pointing at their original line."""
    parts: dict[int, list[_Part]] = defaultdict(list)
    rows = OrderLine.objects.filter(order_id__in=order_ids).order_by("pk").values_list(
        "id", "parent_id", "order_id", "status", "queue", "allocated_facility_id", "product_id", "quantity",
        "pickup_facility_id",
    )
    for line_id, parent_id, order_id, status, queue, facility_id, product_id, quantity, pickup_id in rows.iterator(
        chunk_size=5000
    ):
        parts[order_id].append(_Part(line_id, parent_id or line_id, order_id, status, queue, facility_id,
                                     product_id, quantity, pickup_id))
    return parts


def bench_checks(*, world: BenchWorld, snapshot: Snapshot, run: BrokeringRun) -> list[Check]:
    decided = list(RoutingDecision.objects.filter(run=run).order_by("pk").values_list("order_id", "rule_id"))
    parts = _parts(world.order_ids)
    return [
        _check_run(world=world, run=run, decided=decided),
        _check_stock(),
        _check_ledger(),
        _check_lines(world=world, parts=parts),
        _check_splits(parts=parts, decided=decided),
        _check_processing_order(world=world, snapshot=snapshot, decided=decided),
        _check_reference(snapshot=snapshot, parts=parts, decided=decided),
    ]


def _check_run(*, world: BenchWorld, run: BrokeringRun, decided: list[tuple[int, int | None]]) -> Check:
    problems = []
    if run.status != BrokeringRun.Status.SUCCEEDED or run.errors:
        problems.append(f"run ended {run.status} with {len(run.errors)} errors {run.errors[:3]}")
    if (run.orders_considered, run.lines_considered) != (len(world.order_ids), world.lines):
        problems.append(f"considered {run.orders_considered} orders / {run.lines_considered} lines, "
                        f"built {len(world.order_ids)} / {world.lines}")
    decided_ids = [order_id for order_id, _ in decided]
    if len(decided_ids) != len(set(decided_ids)) or set(decided_ids) != set(world.order_ids):
        problems.append(f"{len(decided_ids)} decisions ({len(set(decided_ids))} orders) for "
                        f"{len(world.order_ids)} orders")
    return Check("run succeeded with one decision per order", not problems, "; ".join(problems))


def _check_stock() -> Check:
    over = StockLevel.objects.filter(reserved__gt=F("on_hand")).count()
    into_safety = StockLevel.objects.filter(reserved__gt=F("on_hand") - F("safety_stock")).count()
    ok = over == 0 and into_safety == 0
    return Check("no stock reserved beyond on hand (nor into safety stock)", ok,
                 "" if ok else f"{over} rows reserved > on_hand, {into_safety} reserved into safety stock")


def _check_ledger() -> Check:
    problems = stock_ledger_problems()
    return Check("stock ledger reconciles", not problems,
                 "" if not problems else f"{len(problems)} problems, e.g. {problems[:3]}")


def _check_lines(*, world: BenchWorld, parts: dict[int, list[_Part]]) -> Check:
    allowed = {(OrderLine.Status.QUEUED, OrderLine.Queue.UNFILLABLE), (OrderLine.Status.QUEUED,
               OrderLine.Queue.BOPIS_REJECTED)}
    left, wrong, units = 0, [], 0
    for part in (part for found in parts.values() for part in found):
        units += part.quantity
        if part.status == OrderLine.Status.QUEUED and part.queue == QUEUE:
            left += 1
        elif part.status == OrderLine.Status.ALLOCATED:
            continue
        elif (part.status, part.queue) not in allowed:
            wrong.append(f"line {part.line_id} {part.status}/{part.queue}")
        elif (part.queue == OrderLine.Queue.BOPIS_REJECTED) != (part.pickup_facility_id is not None):
            wrong.append(f"line {part.line_id} parked in {part.queue} (pickup: {part.pickup_facility_id})")
    problems = []
    if left:
        problems.append(f"{left} lines still in {QUEUE}")
    if wrong:
        problems.append(f"{len(wrong)} lines neither allocated nor parked right, e.g. {wrong[:3]}")
    if units != world.units:
        problems.append(f"{units} units on the lines after the run, {world.units} before")
    return Check("every line allocated or parked, units kept", not problems, "; ".join(problems))


def _check_splits(*, parts: dict[int, list[_Part]], decided: list[tuple[int, int | None]]) -> Check:
    whole_only = set(RoutingRule.objects.filter(max_facilities=1).values_list("pk", flat=True))
    rule_of = dict(decided)
    problems = []
    for order_id, found in parts.items():
        ship = {p.facility_id for p in found if p.status == OrderLine.Status.ALLOCATED and p.pickup_facility_id is None}
        wrong_store = [p.line_id for p in found if p.status == OrderLine.Status.ALLOCATED
                       and p.pickup_facility_id is not None and p.facility_id != p.pickup_facility_id]
        if len(ship) > MAX_SPLIT:
            problems.append(f"order {order_id} ships from {len(ship)} facilities")
        if rule_of.get(order_id) in whole_only and len(ship) > 1:
            problems.append(f"order {order_id} split across {len(ship)} facilities under a no-split rule")
        if wrong_store:
            problems.append(f"order {order_id}: pickup lines {wrong_store} allocated away from the chosen store")
    return Check(f"no forbidden split (no-split rules whole, never over {MAX_SPLIT} facilities)", not problems,
                 f"{len(problems)} problems, e.g. {problems[:3]}" if problems else "")


def _check_processing_order(*, world: BenchWorld, snapshot: Snapshot, decided) -> Check:
    orders = orders_plain(world.order_ids)
    expected = sorted(orders, key=lambda oid: order_sort_key(orders[oid], rules=snapshot.rules, queue=QUEUE))
    actual = [order_id for order_id, _ in decided]
    if actual == expected:
        return Check("orders processed in the rules' order", True)
    at = next(i for i in range(max(len(actual), len(expected))) if actual[i:i + 1] != expected[i:i + 1])
    detail = (f"position {at}: the run took order {actual[at:at + 1]}, "
              f"docs/routing.md says {expected[at:at + 1]}")
    return Check("orders processed in the rules' order", False, detail)


def _stored_per_line(found: list[_Part]) -> dict[int, list[tuple[str, object, int]]]:
    per_line: dict[int, list] = defaultdict(list)
    for part in found:
        if part.status == OrderLine.Status.ALLOCATED:
            per_line[part.root_id].append(("facility", part.facility_id, part.quantity))
        else:
            per_line[part.root_id].append(("queue", part.queue, part.quantity))
    return {line_id: sorted(entries, key=str) for line_id, entries in per_line.items()}


def _check_reference(*, snapshot: Snapshot, parts: dict[int, list[_Part]], decided) -> Check:
    """Replay the run in its own order; decide each sampled order with the reference just before its turn.

    Every order's stored allocations are applied to the replayed stock and jobs (sampled ones after the
    comparison), so each sampled order meets the world exactly as the run saw it.
    """
    stock = dict(snapshot.stock)
    facilities = {fid: dict(facility) for fid, facility in snapshot.facilities.items()}
    codes = {fid: facility["code"] for fid, facility in facilities.items()}
    mismatches, compared, kinds = [], 0, Counter()
    for order_id, _ in decided:
        found = parts[order_id]
        order = snapshot.orders.get(order_id)
        if order is not None:
            compared += 1
            reference = reference_decide(order=order, rules=snapshot.rules, facilities=facilities, stock=stock,
                                         queue=QUEUE)
            expected = reference.per_line()
            lines = {line["id"]: line for line in order["lines"]}
            for line_id in reference.unmatched:
                expected[line_id] = [("queue", QUEUE, lines[line_id]["quantity"])]
            stored = _stored_per_line(found)
            kinds[_kind_of(found)] += 1
            if stored != expected:
                mismatches.append(f"{order['name']}: run {_readable(stored, codes)} "
                                  f"vs reference {_readable(expected, codes)}")
        requested = set()
        for part in found:
            if part.status == OrderLine.Status.ALLOCATED:
                key = (part.facility_id, part.product_id)
                if key in stock:
                    stock[key] = max(0, stock[key] - part.quantity)
                requested.add(part.facility_id)
        for facility_id in requested:  # one new request per (order, facility)
            facilities[facility_id]["jobs_today"] += 1
            facilities[facility_id]["open_jobs"] += 1
    ok = not mismatches and compared == len(snapshot.orders)
    detail = f"{compared} sampled orders compared (" + ", ".join(f"{n} {kind}" for kind, n in kinds.most_common()) + ")"
    if compared != len(snapshot.orders):
        detail += f" of {len(snapshot.orders)} sampled (the rest have no decision)"
    if mismatches:
        detail += f", {len(mismatches)} differ:\n    " + "\n    ".join(mismatches[:10])
    return Check("sampled orders decided as the reference decides them", ok, detail)


def _kind_of(found: list[_Part]) -> str:
    """What the run did with an order, in words, to show what the sample covered."""
    if any(part.pickup_facility_id is not None for part in found):
        return "pickup"
    if any(part.status != OrderLine.Status.ALLOCATED for part in found):
        return "unfillable in part" if any(p.status == OrderLine.Status.ALLOCATED for p in found) else "unfillable"
    return "split" if len({part.facility_id for part in found}) > 1 else "whole"


def _readable(per_line: dict[int, list], codes: dict[int, str]) -> str:
    return "; ".join(
        f"line {line_id}: " + ", ".join(
            f"{quantity}@{codes.get(target, target) if kind == 'facility' else target}"
            for kind, target, quantity in entries
        )
        for line_id, entries in sorted(per_line.items())
    )
