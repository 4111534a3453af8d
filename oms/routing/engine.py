"""The routing engine: decides where an order's queued lines go, in pure Python (no database)."""

import math
from dataclasses import dataclass, field
from datetime import datetime

from oms.core.geo import EARTH_RADIUS_KM, NO_COORDINATES_NOTE
from oms.models import OrderLine, RoutingRule
from oms.routing.types import (
    ACTIVE_ONLINE,
    CAPACITY,
    COUNTRY,
    EXCLUDED,
    FENCE_ORDER,
    PICKUP_STORE,
    SERVICE,
    STOCK,
    Allocation,
    Candidate,
    Decision,
    FacilityInfo,
    LineDemand,
    OrderDemand,
    Parked,
    World,
)

# Plain strings: comparing with a choices member goes through the enum machinery, and this runs per order.
SHIP, PICKUP, ANY = (RoutingRule.Delivery.SHIP.value, RoutingRule.Delivery.PICKUP.value,
                     RoutingRule.Delivery.ANY.value)
BY_PRIORITY, BY_PROMISE_DATE = RoutingRule.SortBy.PRIORITY.value, RoutingRule.SortBy.PROMISE_DATE.value
STORE, WAREHOUSE = RoutingRule.Prefer.STORE.value, RoutingRule.Prefer.WAREHOUSE.value  # also the facility kinds
NEXT_RULE = RoutingRule.Unfilled.NEXT_RULE.value
UNFILLABLE, UNFILLABLE_HOLD, BOPIS_REJECTED = (OrderLine.Queue.UNFILLABLE.value, OrderLine.Queue.UNFILLABLE_HOLD.value,
                                               OrderLine.Queue.BOPIS_REJECTED.value)
TOP_CANDIDATES = 5
ALL_FENCES = frozenset(FENCE_ORDER)
_CACHE_ATTRIBUTE = "_routing_cache"


# ---------------------------------------------------------------------------------------------------------------
# Public interface


def order_decide(
    *, order: OrderDemand, world: World, rules: list[RoutingRule], queue: str, now: datetime, consume: bool = True
) -> Decision:
    """Decide where the order's queued lines go; with `consume` the decision is taken from `world` at once.

    `now` is not needed by the decision itself (the auto-cancel date is the writer's); it is accepted so every
    routing step is called alike.
    """
    cache = _world_cache(world)
    ledger = _Ledger()
    decision = Decision(order_id=order.order_id, rule_id=None, allocations=[], parked=[], candidates=[],
                        fences={}, notes=[])
    groups, unknown = _line_groups(order)
    for line in unknown:
        decision.notes.append(f"line {line.line_id} has no known product: left in its queue")
    point = _customer_point(order)
    headline: _GroupResult | None = None
    ship_rated = False
    for group in groups:
        result = _group_decide(group=group, order=order, world=world, cache=cache, ledger=ledger, rules=rules,
                               queue=queue, point=point)
        decision.allocations.extend(result.allocations)
        decision.parked.extend(result.parked)
        decision.notes.extend(result.notes)
        if not result.matched:
            decision.unmatched.extend(line.line_id for line in group.lines)
            continue
        ship_rated = ship_rated or group.delivery == SHIP
        if headline is None or (group.delivery == SHIP and headline.delivery != SHIP):
            # The ship group's rule speaks for the order (its auto-cancel days apply); else the first group's.
            headline = result
    decision.allocations.sort(key=lambda allocation: allocation.line_id)
    decision.parked.sort(key=lambda parked: parked.line_id)
    if headline is not None:
        decision.rule_id = headline.rule_id
        decision.candidates = headline.candidates
        decision.fences = headline.fences
    if ship_rated:
        # Distance only matters for ship lines; say how the customer was located (or that they were not).
        note = order.geocode_note or (NO_COORDINATES_NOTE if point is None else "")
        if note:
            decision.notes.insert(0, note)
    if consume:
        _ledger_apply(ledger=ledger, world=world, cache=cache)
    return decision


def decision_undo(*, decision: Decision, order: OrderDemand, world: World) -> None:
    """Give back what a consumed decision took from `world` (stock, today's and open pick jobs).

    For a decision that could not be written: the run's picture must not keep units or jobs it never used.
    """
    products = {line.line_id: line.product_id for line in order.lines}
    for allocation in decision.allocations:
        levels = world.stock.setdefault(products[allocation.line_id], {})
        levels[allocation.facility_id] = levels.get(allocation.facility_id, 0) + allocation.quantity
    cache = _world_cache(world)
    for facility_id in {allocation.facility_id for allocation in decision.allocations}:
        facility = world.facilities[facility_id]
        if facility.fulfilled_by_wms:
            continue
        facility.jobs_today = max(0, facility.jobs_today - 1)
        facility.open_jobs = max(0, facility.open_jobs - 1)
        cache.facility_jobs_changed(facility)


def order_sort_key(*, order: OrderDemand, rules: list[RoutingRule], queue: str) -> tuple:
    """(position of the first rule matching the order's first group, that rule's sort value, ordered_at, order id).

    The first group is the one holding the order's lowest line id; orders whose first group no rule matches sort
    last. Same position means same rule, so the sort values always compare alike.
    """
    groups, _ = _line_groups(order)
    if groups:
        first = min(groups, key=lambda group: group.lines[0].line_id)
        matching = _group_rules(group=first, order=order, rules=rules, queue=queue)
        if matching:
            rule = matching[0]
            return (rule.position, _sort_value(rule=rule, order=order), order.ordered_at, order.order_id)
    return (math.inf, 0.0, order.ordered_at, order.order_id)


def rules_matching(
    *, rules: list[RoutingRule], queue: str, delivery: str, kinds: set[str], channel: str, priority: int
) -> list[RoutingRule]:
    """The active rules that may handle a group of lines, in position order."""
    matching = [
        rule
        for rule in rules
        if rule.is_active
        and (not rule.queues or queue in rule.queues)
        and rule.delivery in (ANY, delivery)
        and (not rule.kinds or kinds.issubset(rule.kinds))
        and (not rule.channels or channel in rule.channels)
        and (rule.min_priority is None or rule.min_priority <= priority)
    ]
    matching.sort(key=lambda rule: rule.position)
    return matching


# ---------------------------------------------------------------------------------------------------------------
# Line groups and rules


@dataclass
class _Group:
    delivery: str  # SHIP | PICKUP
    store_id: int | None  # the chosen store of a pickup group
    lines: list[LineDemand]  # in line-id order


def _line_groups(order: OrderDemand) -> tuple[list[_Group], list[LineDemand]]:
    """The order's groups (pickup groups by store id, then the ship group) and the lines without a product.

    Pickup groups go first: they can only use their chosen store, so the ship lines (which can go anywhere)
    must not take that store's units from under them.
    """
    ship: list[LineDemand] = []
    pickup: dict[int, list[LineDemand]] = {}
    unknown: list[LineDemand] = []
    for line in sorted(order.lines, key=lambda line: line.line_id):
        if line.product_id is None:
            unknown.append(line)
        elif line.quantity <= 0:
            continue
        elif line.pickup_facility_id is not None:
            pickup.setdefault(line.pickup_facility_id, []).append(line)
        else:
            ship.append(line)
    groups = [_Group(delivery=PICKUP, store_id=store_id, lines=lines) for store_id, lines in sorted(pickup.items())]
    if ship:
        groups.append(_Group(delivery=SHIP, store_id=None, lines=ship))
    return groups, unknown


def _group_rules(*, group: _Group, order: OrderDemand, rules: list[RoutingRule], queue: str) -> list[RoutingRule]:
    return rules_matching(rules=rules, queue=queue, delivery=group.delivery, kinds={line.kind for line in group.lines},
                          channel=order.channel, priority=order.priority)


def _sort_value(*, rule: RoutingRule, order: OrderDemand) -> float:
    if rule.sort_by == BY_PRIORITY:
        return -order.priority
    if rule.sort_by == BY_PROMISE_DATE:
        promises = [line.promise_date for line in order.lines if line.promise_date is not None]
        return min(promises).toordinal() if promises else math.inf
    return order.ordered_at.timestamp()


# ---------------------------------------------------------------------------------------------------------------
# The run's picture of the world: facility fences and ratings computed once, kept current as decisions consume


class _WorldCache:
    """What does not change from order to order; CAPACITY and workload are updated as decisions consume."""

    def __init__(self, world: World):
        self.facilities = world.facilities
        self.bases: dict[tuple, tuple[frozenset[int], dict[str, int]]] = {}
        # Half-length unit vectors, for the distance of every candidate (see _distances).
        self.points = {
            fid: _half_unit_vector(f.latitude, f.longitude)
            for fid, f in self.facilities.items()
            if f.latitude is not None and f.longitude is not None
        }
        self._derive_jobs()

    def _derive_jobs(self) -> None:
        """What follows from the facilities' pick job counts."""
        # Facilities out of pick jobs for today (WMS facilities have no pick jobs, so never full).
        self.full = {fid for fid, facility in self.facilities.items() if _is_full(facility)}
        self.workload = {fid: _workload_rating(f) for fid, f in self.facilities.items()}
        # (weight_workload, weight_priority, weight_kind, prefer) -> {facility id: their weighted sum}
        self.fixed_parts: dict[tuple, dict[int, float]] = {}

    def base(self, *, delivery: str, country: str, store_id: int | None, fences: frozenset[str]):
        """Facilities passing the facility-level fences before CAPACITY, and how many each fence removed."""
        key = (delivery, country if delivery == SHIP else None, store_id, fences)
        cached = self.bases.get(key)
        if cached is None:
            cached = self.bases[key] = _facility_fences(facilities=self.facilities, delivery=delivery,
                                                        country=_country(country), store_id=store_id, fences=fences)
        return cached

    def fixed_part(self, rule: RoutingRule) -> dict[int, float]:
        key = (rule.weight_workload, rule.weight_priority, rule.weight_kind, rule.prefer)
        part = self.fixed_parts.get(key)
        if part is None:
            part = self.fixed_parts[key] = {fid: self._fixed(fid, key) for fid in self.facilities}
        return part

    def facility_jobs_changed(self, facility: FacilityInfo) -> None:
        """The facility got (or, for an unwritten decision, gave back) a pick job: today's and open."""
        if _is_full(facility):
            self.full.add(facility.id)
        else:
            self.full.discard(facility.id)
        self.workload[facility.id] = _workload_rating(facility)
        for key, part in self.fixed_parts.items():
            part[facility.id] = self._fixed(facility.id, key)

    def fixed_part_for_order(self, rule: RoutingRule, requested: frozenset[int]) -> dict[int, float]:
        """fixed_part, with the pick job this order already gives a facility (an earlier group) in its workload."""
        part = self.fixed_part(rule)
        extra = [fid for fid in requested if not self.facilities[fid].fulfilled_by_wms]
        if not extra:
            return part
        key = (rule.weight_workload, rule.weight_priority, rule.weight_kind, rule.prefer)
        return {**part, **{fid: self._fixed(fid, key, extra_jobs=1) for fid in extra}}

    def workload_for_order(self, fid: int, requested: frozenset[int]) -> float:
        facility = self.facilities[fid]
        if fid in requested and not facility.fulfilled_by_wms:
            return _workload_rating(facility, extra_jobs=1)
        return self.workload[fid]

    def _fixed(self, fid: int, key: tuple, extra_jobs: int = 0) -> float:
        weight_workload, weight_priority, weight_kind, prefer = key
        facility = self.facilities[fid]
        workload = _workload_rating(facility, extra_jobs=extra_jobs) if extra_jobs else self.workload[fid]
        return (weight_workload * workload + weight_priority * _priority_rating(facility)
                + weight_kind * _kind_rating(facility, prefer))


def _world_cache(world: World) -> _WorldCache:
    # Kept on the World itself (not a dataclass field), so a fresh World gets a fresh cache. Stock is always read
    # from world.stock; of the facilities only the pick job counts are expected to change during a run.
    cache = world.__dict__.get(_CACHE_ATTRIBUTE)
    if cache is None:
        cache = _WorldCache(world)
        setattr(world, _CACHE_ATTRIBUTE, cache)
    return cache


def _facility_fences(*, facilities: dict[int, FacilityInfo], delivery: str, country: str, store_id: int | None,
                     fences: frozenset[str]) -> tuple[frozenset[int], dict[str, int]]:
    counts = dict.fromkeys(FENCE_ORDER, 0)
    passing = set()
    for fid, facility in facilities.items():
        fence = _facility_fence(facility=facility, delivery=delivery, country=country, store_id=store_id,
                                fences=fences)
        if fence is None:
            passing.add(fid)
        else:
            counts[fence] += 1
    return frozenset(passing), counts


def _facility_fence(*, facility: FacilityInfo, delivery: str, country: str, store_id: int | None,
                    fences: frozenset[str]) -> str | None:
    """The first facility-level fence (before CAPACITY) the facility fails, or None."""
    if ACTIVE_ONLINE in fences and not facility.active_online:
        return ACTIVE_ONLINE
    if delivery == PICKUP:
        if SERVICE in fences and not facility.pickup:
            return SERVICE
        # Always applied: a pickup line can only be collected where the customer chose.
        if facility.id != store_id:
            return PICKUP_STORE
        return None
    if SERVICE in fences and not (facility.ships or facility.kind == WAREHOUSE):
        return SERVICE
    if COUNTRY in fences and _country(facility.country) != country:
        return COUNTRY
    return None


def _country(code: str | None) -> str:
    return (code or "").strip().upper()


def _is_full(facility: FacilityInfo) -> bool:
    return not facility.fulfilled_by_wms and facility.capacity_left == 0


def _workload_rating(facility: FacilityInfo, extra_jobs: int = 0) -> float:
    if not facility.daily_capacity:
        # Unlimited (None); a capacity of 0 leaves no room at all.
        return 1.0 if facility.daily_capacity is None else 0.0
    return min(1.0, max(0.0, 1 - (facility.open_jobs + extra_jobs) / facility.daily_capacity))


def _priority_rating(facility: FacilityInfo) -> float:
    return min(1.0, max(0.0, (facility.priority - 1) / 9))


def _kind_rating(facility: FacilityInfo, prefer: str) -> float:
    if prefer == STORE:
        return 1.0 if facility.kind == STORE else 0.0
    if prefer == WAREHOUSE:
        return 1.0 if facility.kind == WAREHOUSE else 0.0
    return 0.5


# ---------------------------------------------------------------------------------------------------------------
# One order's units taken so far (applied to the world only when the decision consumes)


@dataclass
class _Ledger:
    taken: dict[tuple[int, int], int] = field(default_factory=dict)  # (product id, facility id) -> units
    requested: set[int] = field(default_factory=set)  # facilities that get a request from this order

    def take(self, *, product_id: int, facility_id: int, quantity: int) -> None:
        key = (product_id, facility_id)
        self.taken[key] = self.taken.get(key, 0) + quantity
        self.requested.add(facility_id)


def _ledger_apply(*, ledger: _Ledger, world: World, cache: _WorldCache) -> None:
    for (product_id, facility_id), quantity in ledger.taken.items():
        levels = world.stock[product_id]
        levels[facility_id] = max(0, levels[facility_id] - quantity)
    for facility_id in ledger.requested:
        facility = world.facilities[facility_id]
        if facility.fulfilled_by_wms:
            continue  # the warehouse picks in its own system: no pick job here
        facility.jobs_today += 1
        facility.open_jobs += 1
        cache.facility_jobs_changed(facility)


def _available(*, world: World, ledger: _Ledger, product_id: int, facility_id: int) -> int:
    units = world.stock.get(product_id, {}).get(facility_id, 0)
    if ledger.taken:
        units -= ledger.taken.get((product_id, facility_id), 0)
    return max(0, units)


# ---------------------------------------------------------------------------------------------------------------
# Deciding one group


@dataclass
class _GroupResult:
    delivery: str
    matched: bool = False
    rule_id: int | None = None
    allocations: list[Allocation] = field(default_factory=list)
    parked: list[Parked] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    fences: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass
class _Context:
    """Everything one attempt needs besides the rule and the open units."""

    order: OrderDemand
    world: World
    cache: _WorldCache
    ledger: _Ledger
    group: _Group
    point: tuple[float, float, float] | None  # the customer as a half-length unit vector


def _group_decide(*, group: _Group, order: OrderDemand, world: World, cache: _WorldCache, ledger: _Ledger,
                  rules: list[RoutingRule], queue: str, point) -> _GroupResult:
    """Try the matching rules in order on the units still open; park what the last one tried leaves."""
    result = _GroupResult(delivery=group.delivery)
    matching = _group_rules(group=group, order=order, rules=rules, queue=queue)
    if not matching:
        what = "the ship lines" if group.delivery == SHIP else f"the pickup lines for facility {group.store_id}"
        result.notes.append(f"no rule matches {what}: left in their queue")
        return result
    result.matched = True
    context = _Context(order=order, world=world, cache=cache, ledger=ledger, group=group, point=point)
    open_units = {line.line_id: line.quantity for line in group.lines}
    reported: _Attempt | None = None
    for index, rule in enumerate(matching):
        attempt = _attempt(context=context, rule=rule, open_units=open_units)
        result.rule_id = rule.id
        result.allocations.extend(attempt.allocations)
        if attempt.allocations or reported is None or not reported.allocations:
            reported = attempt  # what explains the allocations, else the last rule's view
        if not any(open_units.values()):
            break
        if rule.unfilled_action != NEXT_RULE or index == len(matching) - 1:
            break
        units = sum(open_units.values())
        result.notes.append(f'rule "{rule.name}" could not place {units} unit(s): trying the next rule')
    result.candidates, result.fences = reported.candidates, reported.fences
    result.allocations = _merged(result.allocations)
    parking = _parking_queue(delivery=group.delivery, queue=queue)
    result.parked = [Parked(line_id=line_id, quantity=units, queue=parking)
                     for line_id, units in open_units.items() if units > 0]
    if result.parked:
        units = sum(parked.quantity for parked in result.parked)
        result.notes.append(f"{units} unit(s) found no facility: parked in {parking}")
    return result


def _parking_queue(*, delivery: str, queue: str) -> str:
    if delivery == PICKUP:
        return BOPIS_REJECTED
    return UNFILLABLE_HOLD if queue == UNFILLABLE_HOLD else UNFILLABLE


def _merged(allocations: list[Allocation]) -> list[Allocation]:
    """One allocation per (line, facility), in line-id order (several rules may give the same pair)."""
    merged: dict[tuple[int, int], Allocation] = {}
    for allocation in allocations:
        key = (allocation.line_id, allocation.facility_id)
        if key in merged:
            merged[key].quantity += allocation.quantity
        else:
            merged[key] = Allocation(line_id=allocation.line_id, facility_id=allocation.facility_id,
                                     quantity=allocation.quantity)
    return sorted(merged.values(), key=lambda allocation: allocation.line_id)


# ---------------------------------------------------------------------------------------------------------------
# One rule's attempt: fences, ratings, choice


@dataclass
class _Attempt:
    allocations: list[Allocation]
    candidates: list[Candidate]
    fences: dict[str, int]


@dataclass
class _Field:
    """The facilities a rule lets compete for a group, fenced."""

    fences: frozenset[str]
    base: frozenset[int]  # past the facility-level fences
    out: set[int]  # in base but removed by EXCLUDED or CAPACITY
    counts: dict[str, int]


def _attempt(*, context: _Context, rule: RoutingRule, open_units: dict[int, int]) -> _Attempt:
    """Fence and rate facilities for the group's open units and give units away by the rule; updates open_units."""
    field_ = _fenced_field(context=context, rule=rule, open_units=open_units)
    coverage = _coverage(context=context, field_=field_, open_units=open_units, within=None)
    if STOCK in field_.fences:
        field_.counts[STOCK] = len(field_.base) - len(field_.out) - len(coverage)
    else:
        coverage = {fid: coverage.get(fid, 0) for fid in field_.base if fid not in field_.out}
    ranking = _Ranking(context=context, rule=rule, coverage=coverage, units=sum(open_units.values()))
    leaders = ranking.top(TOP_CANDIDATES)
    chosen = _choose(context=context, rule=rule, field_=field_, open_units=open_units, ranking=ranking,
                     leaders=leaders)
    allocations = [allocation for _, allocations in chosen for allocation in allocations]
    candidates = _candidates(ranking=ranking, leaders=leaders, chosen=[fid for fid, _ in chosen])
    return _Attempt(allocations=allocations, candidates=candidates, fences=field_.counts)


def _fenced_field(*, context: _Context, rule: RoutingRule, open_units: dict[int, int]) -> _Field:
    fences = frozenset(rule.fences) & ALL_FENCES if rule.fences else ALL_FENCES
    group = context.group
    base, counts = context.cache.base(delivery=group.delivery, country=context.order.country,
                                      store_id=group.store_id, fences=fences)
    counts = dict(counts)
    out: set[int] = set()
    if EXCLUDED in fences:
        excluded = _excluded_for_all(lines=[line for line in group.lines if open_units[line.line_id]]) & base
        counts[EXCLUDED] = len(excluded)
        out |= excluded
    if CAPACITY in fences:
        # A facility this order already sends a request to needs no new pick job for more lines.
        full = {fid for fid in context.cache.full
                if fid in base and fid not in out and fid not in context.ledger.requested}
        counts[CAPACITY] = len(full)
        out |= full
    return _Field(fences=fences, base=base, out=out, counts=counts)


def _excluded_for_all(*, lines: list[LineDemand]) -> frozenset[int]:
    excluded: frozenset[int] | None = None
    for line in lines:
        if not line.excluded:
            return frozenset()
        excluded = line.excluded if excluded is None else excluded & line.excluded
    return excluded or frozenset()


def _coverage(*, context: _Context, field_: _Field, open_units: dict[int, int],
              within: set[int] | None) -> dict[int, int]:
    """Units of the open lines each eligible facility can give (only facilities with at least one unit).

    Walks the stock of the group's products rather than all facilities: this runs for every order of a run.
    """
    stock = context.world.stock
    taken = context.ledger.taken
    # In a split round `within` (the facilities still in the running) is already past every fence.
    allowed, out = (field_.base, field_.out) if within is None else (within, frozenset())
    coverage: dict[int, int] = {}
    for product_id, demands in _demands(context=context, field_=field_, open_units=open_units).items():
        levels = stock.get(product_id)
        if not levels:
            continue
        if len(demands) == 1 and not demands[0][1] and not taken:
            # One line of the product, no exclusions, nothing taken by this order yet.
            wanted = demands[0][0]
            part = {fid: (units if units < wanted else wanted)
                    for fid, units in levels.items() if units > 0 and fid in allowed and fid not in out}
        else:
            part = _product_coverage(levels=levels, demands=demands, allowed=allowed, out=out, taken=taken,
                                     product_id=product_id)
        if not coverage:
            coverage = part
        else:
            get = coverage.get
            for fid, units in part.items():
                coverage[fid] = get(fid, 0) + units
    return coverage


def _demands(*, context: _Context, field_: _Field, open_units: dict[int, int]) -> dict[int, list[tuple]]:
    """{product id: [(open units, facilities excluded for the line)]}: lines of one product draw on one shelf."""
    mind_exclusions = EXCLUDED in field_.fences
    demands: dict[int, list[tuple]] = {}
    for line in context.group.lines:
        wanted = open_units[line.line_id]
        if wanted:
            excluded = line.excluded if mind_exclusions else frozenset()
            demands.setdefault(line.product_id, []).append((wanted, excluded))
    return demands


def _product_coverage(*, levels: dict[int, int], demands: list[tuple], allowed, out, taken: dict,
                      product_id: int) -> dict[int, int]:
    part = {}
    for fid, units in levels.items():
        if units <= 0 or fid not in allowed or fid in out:
            continue
        if taken:
            units -= taken.get((product_id, fid), 0)
        wanted = sum(quantity for quantity, excluded in demands if fid not in excluded)
        if units > 0 and wanted:
            part[fid] = min(units, wanted)
    return part


# Rounding to 6 decimals moves a score by at most 5e-7, so only candidates within this much of a cut-off can tie
# with it once rounded: the rest never need their full sort key.
_ROUNDING_SLACK = 2e-6
_DIAMETER = 2 * EARTH_RADIUS_KM


class _Ranking:
    """The rated candidates for the open units of a group.

    Raw scores are computed for all candidates in one comprehension; rounding, the full ratings and the tie-break
    key are built only for the few near the top. A row is (sort key, facility id, stock rating, km | None,
    distance rating, score), the sort key (-score, -stock rating, unknown distance last, km, code, id).
    """

    def __init__(self, *, context: _Context, rule: RoutingRule, coverage: dict[int, int], units: int,
                 farthest: float | None = None):
        self.context = context
        self.rule = rule
        # Facilities this order already sends a request to (an earlier group), as they were when rated.
        self.requested = frozenset(context.ledger.requested)
        self.units = units
        self.fids = list(coverage)
        self.covered = list(coverage.values())
        self.km = _distances(context=context, facility_ids=self.fids)
        self.all_known = self.km and None not in self.km
        if farthest is None:
            known = self.km if self.all_known else [km for km in self.km if km is not None]
            farthest = max(known, default=0.0)
        # d_max: the farthest of the group's candidates (a split keeps the first round's).
        self.farthest = farthest
        self.raw = self._raw_scores(rule=rule)

    def _raw_scores(self, *, rule: RoutingRule) -> list[float]:
        """score = Σ(weight × rating) ÷ Σ(weight), unrounded: the same sum as row() and _distance_rating, unrolled."""
        total = _total_weight(rule)
        if total <= 0:
            return [0.0] * len(self.fids)
        fixed = self.context.cache.fixed_part_for_order(rule, self.requested)
        per_unit = rule.weight_stock / self.units
        weight_distance = rule.weight_distance
        if not self.all_known or not self.farthest:
            distance_terms = [weight_distance * self._distance_rating(km) for km in self.km]
            return [(per_unit * covered + distance + fixed[fid]) / total
                    for fid, covered, distance in zip(self.fids, self.covered, distance_terms, strict=True)]
        per_km = weight_distance / self.farthest
        return [(per_unit * covered + weight_distance - per_km * km + fixed[fid]) / total
                for fid, covered, km in zip(self.fids, self.covered, self.km, strict=True)]

    @property
    def pickup(self) -> bool:
        return self.context.group.delivery == PICKUP

    def _distance_rating(self, km: float | None) -> float:
        if self.pickup:
            return 1.0  # the customer comes to the store
        if self.context.point is None:
            return 0.5  # neutral: the customer could not be located
        if km is None:
            return 0.0  # a facility without coordinates counts as the farthest (it also sorts last on ties)
        return 1 - km / self.farthest if self.farthest > 0 else 1.0

    def row(self, index: int) -> tuple:
        fid, km = self.fids[index], self.km[index]
        stock_rating = self.covered[index] / self.units
        score = round(self.raw[index], 6)
        code = self.context.cache.facilities[fid].code
        key = (-score, -stock_rating, km is None, km or 0.0, code, fid)
        return key, fid, stock_rating, km, self._distance_rating(km), score

    def top(self, count: int, indices: list[int] | None = None) -> list[tuple]:
        """The best `count` rows (among `indices`, default all) by the tie-break order."""
        raw = self.raw
        values = raw if indices is None else [raw[index] for index in indices]
        if not values:
            return []
        cut = (max(values) if count == 1 else sorted(values, reverse=True)[:count][-1]) - _ROUNDING_SLACK
        if indices is None:
            shortlist = [index for index, value in enumerate(raw) if value >= cut]
        else:
            shortlist = [index for index in indices if raw[index] >= cut]
        return sorted(map(self.row, shortlist))[:count]

    def index_of(self, fid: int) -> int:
        return self.fids.index(fid)


def _total_weight(rule: RoutingRule) -> float:
    return rule.weight_stock + rule.weight_distance + rule.weight_workload + rule.weight_priority + rule.weight_kind


def _distances(*, context: _Context, facility_ids: list[int]) -> list[float | None]:
    """Haversine km to each facility (None when either end has no coordinates; none at all for pickup)."""
    point = context.point
    if point is None or context.group.delivery == PICKUP:
        return [None] * len(facility_ids)
    points = context.cache.points
    asin, dist = math.asin, math.dist
    try:
        # The chord between half-length unit vectors is sin(angle / 2): the haversine in two C calls.
        return [_DIAMETER * asin(dist(point, points[fid])) for fid in facility_ids]
    except KeyError:
        pass  # a facility without coordinates
    except ValueError:
        pass  # two antipodal points: rounding took the chord past 1
    return [None if fid not in points else _DIAMETER * math.asin(min(1.0, math.dist(point, points[fid])))
            for fid in facility_ids]


def _half_unit_vector(latitude: float, longitude: float) -> tuple[float, float, float]:
    phi, lam = math.radians(latitude), math.radians(longitude)
    return 0.5 * math.cos(phi) * math.cos(lam), 0.5 * math.cos(phi) * math.sin(lam), 0.5 * math.sin(phi)


def _choose(*, context: _Context, rule: RoutingRule, field_: _Field, open_units: dict[int, int],
            ranking: _Ranking, leaders: list[tuple]) -> list[tuple[int, list[Allocation]]]:
    """The facilities that get units, each with its allocations, in the order they were taken.

    `leaders` are the ranking's top rows: the answer is usually among them, which spares another pass.
    """
    whole = _best_whole(ranking=ranking, leaders=leaders)
    if whole is not None:
        return [(whole, _give(context=context, field_=field_, facility_id=whole, open_units=open_units))]
    pickup = context.group.delivery == PICKUP
    if not pickup and rule.max_facilities <= 1:
        return []
    # Pickup: the one chosen store gives what it has. Ship: split across up to max_facilities.
    limit = 1 if pickup else rule.max_facilities
    chosen: list[tuple[int, list[Allocation]]] = []
    while True:
        best = _best_giving(ranking=ranking, leaders=leaders)
        if best is None:
            break
        chosen.append((best, _give(context=context, field_=field_, facility_id=best, open_units=open_units)))
        if len(chosen) >= limit or not any(open_units.values()):
            break
        # Ratings are recomputed on the units still open, among the facilities not yet taken; d_max stays.
        remaining = {fid for fid, covered in zip(ranking.fids, ranking.covered, strict=True) if covered} - {best}
        coverage = _coverage(context=context, field_=field_, open_units=open_units, within=remaining)
        ranking = _Ranking(context=context, rule=rule, coverage=coverage, units=sum(open_units.values()),
                           farthest=ranking.farthest)
        leaders = []
    return chosen


def _best_whole(*, ranking: _Ranking, leaders: list[tuple]) -> int | None:
    """The best facility that can give every open unit, if any."""
    if ranking.units not in ranking.covered:
        return None
    for row in leaders:
        if row[2] == 1.0:
            return row[1]
    whole = [index for index, covered in enumerate(ranking.covered) if covered == ranking.units]
    return ranking.top(1, whole)[0][1]


def _best_giving(*, ranking: _Ranking, leaders: list[tuple]) -> int | None:
    """The best facility that can give at least one open unit, if any."""
    for row in leaders:
        if row[2] > 0:
            return row[1]
    giving = [index for index, covered in enumerate(ranking.covered) if covered > 0]
    return ranking.top(1, giving)[0][1] if giving else None


def _give(*, context: _Context, field_: _Field, facility_id: int, open_units: dict[int, int]) -> list[Allocation]:
    """The facility gives, line by line in line-id order, min(available, open units)."""
    allocations = []
    mind_exclusions = EXCLUDED in field_.fences
    for line in context.group.lines:
        wanted = open_units[line.line_id]
        if not wanted or (mind_exclusions and facility_id in line.excluded):
            continue
        available = _available(world=context.world, ledger=context.ledger, product_id=line.product_id,
                               facility_id=facility_id)
        quantity = min(available, wanted)
        if quantity <= 0:
            continue
        context.ledger.take(product_id=line.product_id, facility_id=facility_id, quantity=quantity)
        open_units[line.line_id] = wanted - quantity
        allocations.append(Allocation(line_id=line.line_id, facility_id=facility_id, quantity=quantity))
    return allocations


def _candidates(*, ranking: _Ranking, leaders: list[tuple], chosen: list[int]) -> list[Candidate]:
    """The top five by the tie-break order, then any chosen facility not among them (so it can be explained)."""
    rows = list(leaders)
    shown = {row[1] for row in rows}
    rows += [ranking.row(ranking.index_of(fid)) for fid in chosen if fid not in shown]
    return [_candidate(ranking=ranking, row=row) for row in rows]


def _candidate(*, ranking: _Ranking, row: tuple) -> Candidate:
    _, fid, stock_rating, km, distance_rating, score = row
    cache = ranking.context.cache
    facility = cache.facilities[fid]
    ratings = {
        "stock": stock_rating,
        "distance": distance_rating,
        "workload": cache.workload_for_order(fid, ranking.requested),
        "priority": _priority_rating(facility),
        "kind": _kind_rating(facility, ranking.rule.prefer),
    }
    return Candidate(facility_id=fid, code=facility.code, name=facility.name, score=score, ratings=ratings,
                     distance_km=None if km is None else round(km, 3))


def _customer_point(order: OrderDemand) -> tuple[float, float, float] | None:
    if order.latitude is None or order.longitude is None:
        return None
    return _half_unit_vector(order.latitude, order.longitude)
