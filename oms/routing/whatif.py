"""What would change if a routing rule were saved as edited: a sample of queued orders decided twice, nothing written.

The sample is the orders of the oldest queued lines of the queues the rule handles (every queue a run takes
lines from when its list is empty). The world (facilities, stock, pick job counts) is read once. Each pass
decides the sample in the order a run would, consuming from the world as a run does, so orders compete
for the same units; after a pass every decision is given back (newest first), so the second pass starts
from the same world as the first.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from oms.models import OrderLine, RoutingRule
from oms.routing.engine import decision_undo, order_decide, order_sort_key
from oms.routing.load import default_rules, demands_load, world_load
from oms.routing.runs import RUN_QUEUES
from oms.routing.types import Decision, OrderDemand, World

SAMPLE_LINES = 50


@dataclass
class OrderOutcome:
    """One sample order: where it goes with the saved rules ("now") and with the edited rule."""

    order_id: int
    name: str
    queue: str
    now: str
    edited: str
    now_outcome: str
    edited_outcome: str

    @property
    def changed(self) -> bool:
        return self.now != self.edited


@dataclass
class WhatIf:
    queues: list[str]
    orders: list[OrderOutcome] = field(default_factory=list)

    @property
    def changed(self) -> list[OrderOutcome]:
        return [order for order in self.orders if order.changed]


def rule_whatif(*, rule: RoutingRule, now: datetime | None = None, sample_lines: int = SAMPLE_LINES) -> WhatIf:
    """Decide a sample of queued orders with the saved rules and with `rule` (unsaved: edited or new). Reads only."""
    now = now or timezone.now()
    saved = list(RoutingRule.objects.filter(is_active=True).order_by("position"))
    if not RoutingRule.objects.exists():
        saved = default_rules()  # what the first run would create
    edited = [other for other in saved if rule.pk is None or other.pk != rule.pk]
    if rule.is_active:
        edited.append(rule)
    edited.sort(key=lambda other: other.position)

    queues = [queue for queue in RUN_QUEUES if not rule.queues or queue in rule.queues]
    result = WhatIf(queues=[str(queue) for queue in queues])
    sample = _sample(queues=queues, sample_lines=sample_lines)
    if not sample:
        return result
    by_queue: dict[str, list[OrderDemand]] = {
        queue: demands_load(queue=queue, order_ids=order_ids) for queue, order_ids in sample.items()
    }
    products = {line.product_id for demands in by_queue.values() for demand in demands for line in demand.lines}
    world = world_load(now=now, product_ids=products)
    before = _decide_pass(by_queue=by_queue, world=world, rules=saved, now=now)
    after = _decide_pass(by_queue=by_queue, world=world, rules=edited, now=now)
    for queue, demands in by_queue.items():
        for demand in sorted(demands, key=lambda demand: (demand.ordered_at, demand.order_id)):
            old, new = before[(queue, demand.order_id)], after[(queue, demand.order_id)]
            result.orders.append(OrderOutcome(
                order_id=demand.order_id, name=demand.name, queue=queue, now=_summary(old, world),
                edited=_summary(new, world), now_outcome=old.outcome, edited_outcome=new.outcome,
            ))
    return result


def _sample(*, queues: list[str], sample_lines: int) -> dict[str, list[int]]:
    """{queue: order ids} of the oldest queued lines (with a product) of these queues."""
    rows = (
        OrderLine.objects.filter(status=OrderLine.Status.QUEUED, queue__in=queues, product__isnull=False)
        .order_by("queued_at", "pk").values_list("queue", "order_id")[:sample_lines]
    )
    sample: dict[str, list[int]] = {}
    for queue, order_id in rows:
        ids = sample.setdefault(queue, [])
        if order_id not in ids:
            ids.append(order_id)
    return sample


def _decide_pass(*, by_queue: dict[str, list[OrderDemand]], world: World, rules: list[RoutingRule],
                 now: datetime) -> dict[tuple[str, int], Decision]:
    """Decide every sample order as a run would (consuming), then give everything back to the world."""
    decided: list[tuple[Decision, OrderDemand]] = []
    for queue, demands in by_queue.items():
        for demand in sorted(demands, key=lambda demand: order_sort_key(order=demand, rules=rules, queue=queue)):
            decided.append((order_decide(order=demand, world=world, rules=rules, queue=queue, now=now), demand))
    for decision, demand in reversed(decided):
        decision_undo(decision=decision, order=demand, world=world)
    queue_of = {id(demand): queue for queue, demands in by_queue.items() for demand in demands}
    return {(queue_of[id(demand)], demand.order_id): decision for decision, demand in decided}


def _summary(decision: Decision, world: World) -> str:
    """E.g. "ST-001 × 2, WH-01 × 1; 1 parked in UNFILLABLE" — equal summaries mean the same outcome."""
    units: dict[int, int] = {}
    for allocation in decision.allocations:
        units[allocation.facility_id] = units.get(allocation.facility_id, 0) + allocation.quantity
    parts = [f"{world.facilities[fid].code} × {count}" for fid, count in sorted(
        units.items(), key=lambda item: world.facilities[item[0]].code)]
    parked: dict[str, int] = {}
    for part in decision.parked:
        parked[part.queue] = parked.get(part.queue, 0) + part.quantity
    text = ", ".join(parts)
    for queue, count in sorted(parked.items()):
        text += f"{'; ' if text else ''}{count} parked in {queue}"
    if decision.unmatched:
        text += f"{'; ' if text else ''}{len(decision.unmatched)} line(s) no rule matches"
    return text or "nothing to route"
