"""A second, deliberately plain reading of docs/routing.md that decides one order, to check the engine against."""

# This module shares no code with the engine on purpose: it reads plain dicts, decides one order at a
# time in the most literal way the document allows, and is allowed to be slow. Where the document
# leaves a detail open, the choice made here is written next to it.

import math
from collections import defaultdict
from dataclasses import dataclass, field

import zipcodes

FENCES = ("ACTIVE_ONLINE", "SERVICE", "COUNTRY", "PICKUP_STORE", "EXCLUDED", "CAPACITY", "STOCK")
# Rating name -> the RoutingRule field holding its weight, in the order the score adds them up.
WEIGHT_FIELDS = (
    ("stock", "weight_stock"),
    ("distance", "weight_distance"),
    ("workload", "weight_workload"),
    ("priority", "weight_priority"),
    ("kind", "weight_kind"),
)
SHIP, PICKUP = "SHIP", "PICKUP"


@dataclass
class ReferenceDecision:
    """What the reference decided for one order."""

    allocations: list[tuple[int, int, int]] = field(default_factory=list)  # (line id, facility id, quantity)
    parked: list[tuple[int, int, str]] = field(default_factory=list)  # (line id, quantity, queue)
    unmatched: list[int] = field(default_factory=list)  # line ids no rule matched: left where they are

    def per_line(self) -> dict[int, list[tuple[str, object, int]]]:
        """{line id: sorted [("facility", facility id, qty) | ("queue", queue, qty)]}: how decisions compare."""
        parts: dict[int, list] = defaultdict(list)
        for line_id, facility_id, quantity in self.allocations:
            parts[line_id].append(("facility", facility_id, quantity))
        for line_id, quantity, queue in self.parked:
            parts[line_id].append(("queue", queue, quantity))
        return {line_id: sorted(found, key=str) for line_id, found in parts.items()}


# --- Input shapes ----------------------------------------------------------------------------------
# order:    {"id", "name", "channel", "priority", "ordered_at", "shipping_address": {...},
#            "lines": [{"id", "product_id", "quantity", "kind", "pickup_facility_id", "excluded": set,
#                       "promise_date"}]}          (only the order's lines of the queue being routed)
# rule:     a RoutingRule row as a dict (RoutingRule.objects.values())
# facility: {"id", "code", "kind", "country", "latitude", "longitude", "is_active", "sells_online",
#            "offers_ship_from_store", "offers_pickup", "priority", "daily_capacity", "fulfilled_by_wms",
#            "jobs_today", "open_jobs"}
# stock:    {(facility id, product id): available units}


def customer_location(address: dict) -> tuple[float, float] | None:
    """The address's own coordinates; else, in the US, its postal code's centre; else None (distance neutral)."""
    try:
        latitude, longitude = float(address["latitude"]), float(address["longitude"])
    except (KeyError, TypeError, ValueError):
        latitude = longitude = None
    if latitude is not None and math.isfinite(latitude) and math.isfinite(longitude):
        return latitude, longitude
    if str(address.get("country_code") or "").strip().upper() == "US":
        postal_code = str(address.get("zip") or "").strip()[:5]
        if len(postal_code) == 5 and postal_code.isdigit():
            for entry in zipcodes.matching(postal_code):
                return float(entry["lat"]), float(entry["long"])
    return None


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Haversine distance on a sphere of radius 6371 km."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))


def order_groups(order: dict) -> list[tuple[str, int | None, list[dict]]]:
    """(delivery, pickup store id, lines): all ship lines together, pickup lines per store.

    The document does not say in which order an order's groups are decided; here it is by their
    lowest line id, and lines inside a group by id.
    """
    groups: dict[int | None, list[dict]] = defaultdict(list)
    for line in sorted(order["lines"], key=lambda line: line["id"]):
        groups[line["pickup_facility_id"]].append(line)
    found = [(SHIP if store is None else PICKUP, store, lines) for store, lines in groups.items()]
    return sorted(found, key=lambda group: group[2][0]["id"])


def rule_matches(rule: dict, *, queue: str, delivery: str, lines: list[dict], order: dict) -> bool:
    return (
        rule["is_active"]
        and (not rule["queues"] or queue in rule["queues"])
        and rule["delivery"] in ("ANY", delivery)
        and (not rule["kinds"] or all(line["kind"] in rule["kinds"] for line in lines))
        and (not rule["channels"] or order["channel"] in rule["channels"])
        and (rule["min_priority"] is None or rule["min_priority"] <= order["priority"])
    )


def matching_rules(rules: list[dict], *, queue: str, delivery: str, lines: list[dict], order: dict) -> list[dict]:
    ordered = sorted(rules, key=lambda rule: rule["position"])
    return [rule for rule in ordered if rule_matches(rule, queue=queue, delivery=delivery, lines=lines, order=order)]


def order_sort_key(order: dict, *, rules: list[dict], queue: str) -> tuple:
    """Where the order comes in a run: its first group's first rule, that rule's sort, ordered_at, id."""
    groups = order_groups(order)
    first = None
    if groups:
        delivery, _, lines = groups[0]
        found = matching_rules(rules, queue=queue, delivery=delivery, lines=lines, order=order)
        first = found[0] if found else None
    if first is None:  # not said by the document: orders no rule takes come last
        return (math.inf, (0, 0), order["ordered_at"], order["id"])
    if first["sort_by"] == "PRIORITY":
        by = (0, -order["priority"])
    elif first["sort_by"] == "PROMISE_DATE":
        dates = [line["promise_date"] for line in order["lines"] if line["promise_date"] is not None]
        by = (0, min(dates).toordinal()) if dates else (1, 0)
    else:
        by = (0, order["ordered_at"].timestamp())
    return (first["position"], by, order["ordered_at"], order["id"])


class _OrderView:
    """The world as this order sees it: the given stock and jobs, minus what its earlier groups took."""

    def __init__(self, *, facilities: dict[int, dict], stock: dict[tuple[int, int], int]):
        self.facilities = facilities
        self.stock = stock
        self.taken: dict[tuple[int, int], int] = defaultdict(int)
        self.requested: set[int] = set()  # facilities this order already sends a request to

    def available(self, facility_id: int, product_id: int | None) -> int:
        if product_id is None:
            return 0
        return max(0, self.stock.get((facility_id, product_id), 0) - self.taken[(facility_id, product_id)])

    def jobs_today(self, facility_id: int) -> int:
        return self.facilities[facility_id]["jobs_today"] + (facility_id in self.requested)

    def open_jobs(self, facility_id: int) -> int:
        return self.facilities[facility_id]["open_jobs"] + (facility_id in self.requested)

    def take(self, facility_id: int, product_id: int, quantity: int) -> None:
        self.taken[(facility_id, product_id)] += quantity
        # One request per (order, facility): jobs grow by one however many lines it gets.
        self.requested.add(facility_id)


def _offer(view: _OrderView, facility_id: int, lines: list[dict], open_units: dict[int, int]) -> list[tuple[int, int]]:
    """What the facility would give, line by line in line-id order: [(line id, quantity)].

    Two lines of one product draw on the same shelf, so what one line takes the next cannot.
    """
    used: dict[int, int] = defaultdict(int)
    given = []
    for line in lines:
        wanted = open_units[line["id"]]
        if not wanted or facility_id in line["excluded"] or line["product_id"] is None:
            continue
        quantity = min(wanted, view.available(facility_id, line["product_id"]) - used[line["product_id"]])
        if quantity > 0:
            used[line["product_id"]] += quantity
            given.append((line["id"], quantity))
    return given


def _fence_failed(
    facility: dict, *, enabled: set[str], delivery: str, store_id: int | None, country: str, lines: list[dict],
    open_units: dict[int, int], view: _OrderView,
) -> str | None:
    """The first enabled fence the facility fails, or None when it is a candidate."""
    fid = facility["id"]
    capacity = facility["daily_capacity"]
    passes = {
        "ACTIVE_ONLINE": lambda: facility["is_active"] and facility["sells_online"],
        "SERVICE": lambda: (
            facility["offers_pickup"] if delivery == PICKUP
            else facility["offers_ship_from_store"] or facility["kind"] == "WAREHOUSE"
        ),
        "COUNTRY": lambda: delivery == PICKUP or str(facility["country"]).strip().upper() == country,
        "PICKUP_STORE": lambda: delivery == SHIP or fid == store_id,
        "EXCLUDED": lambda: any(fid not in line["excluded"] for line in lines),
        "CAPACITY": lambda: facility["fulfilled_by_wms"] or capacity is None or view.jobs_today(fid) < capacity,
        "STOCK": lambda: any(
            open_units[line["id"]] and fid not in line["excluded"] and view.available(fid, line["product_id"]) > 0
            for line in lines
        ),
    }
    for name in FENCES:
        if name in enabled and not passes[name]():
            return name
    return None


def _ratings(
    facility: dict, *, rule: dict, covered: int, open_total: int, distance: float | None, d_max: float,
    located: bool, view: _OrderView,
) -> dict[str, float]:
    if not located:
        distance_rating = 0.5
    elif distance is None:  # the document is silent on a facility without coordinates: rated farthest
        distance_rating = 0.0
    else:
        distance_rating = 1.0 if d_max == 0 else 1 - distance / d_max
    capacity = facility["daily_capacity"]
    if capacity is None:
        workload = 1.0
    elif capacity == 0:
        workload = 0.0
    else:
        workload = min(1.0, max(0.0, 1 - view.open_jobs(facility["id"]) / capacity))
    prefer = rule["prefer"]
    if prefer == "STORE":
        kind = 1.0 if facility["kind"] == "STORE" else 0.0
    elif prefer == "WAREHOUSE":
        kind = 1.0 if facility["kind"] == "WAREHOUSE" else 0.0
    else:
        kind = 0.5
    return {
        "stock": covered / open_total if open_total else 0.0,
        "distance": distance_rating,
        "workload": workload,
        "priority": (facility["priority"] - 1) / 9,
        "kind": kind,
    }


def _score(ratings: dict[str, float], rule: dict) -> float:
    total_weight = sum(rule[weight] for _, weight in WEIGHT_FIELDS)
    if not total_weight:
        return 0.0
    return round(sum(rule[weight] * ratings[name] for name, weight in WEIGHT_FIELDS) / total_weight, 6)


def _rule_allocate(
    rule: dict, *, delivery: str, store_id: int | None, lines: list[dict], open_units: dict[int, int],
    order: dict, facilities: dict[int, dict], view: _OrderView,
) -> list[tuple[int, int, int]]:
    """What one rule gives the group's open units: [(line id, facility id, quantity)]."""
    enabled = set(rule["fences"]) or set(FENCES)
    country = str((order.get("shipping_address") or {}).get("country_code") or "").strip().upper()
    candidates = [
        facility for _, facility in sorted(facilities.items())
        if _fence_failed(facility, enabled=enabled, delivery=delivery, store_id=store_id, country=country,
                         lines=lines, open_units=open_units, view=view) is None
    ]
    if not candidates:
        return []
    if delivery == PICKUP:
        # The chosen store takes what it has of each line, whatever the rule's split setting says.
        store = candidates[0]
        return [(line_id, store["id"], quantity) for line_id, quantity in _offer(view, store["id"], lines, open_units)]

    location = customer_location(order.get("shipping_address") or {})
    distances = {
        facility["id"]: (
            distance_km(location, (facility["latitude"], facility["longitude"]))
            if location is not None and facility["latitude"] is not None and facility["longitude"] is not None
            else None
        )
        for facility in candidates
    }
    # d_max is taken over the group's candidates once, and kept while a split re-rates the open units.
    d_max = max((d for d in distances.values() if d is not None), default=0.0)

    def ranked(pool: list[dict], units: dict[int, int]) -> list[tuple[tuple, dict, list, int]]:
        """(sort key, facility, offer, units covered) per candidate, best first."""
        open_total = sum(units.values())
        out = []
        for facility in pool:
            offer = _offer(view, facility["id"], lines, units)
            covered = sum(quantity for _, quantity in offer)
            ratings = _ratings(facility, rule=rule, covered=covered, open_total=open_total,
                               distance=distances[facility["id"]], d_max=d_max, located=location is not None,
                               view=view)
            distance = distances[facility["id"]]
            key = (-_score(ratings, rule), -ratings["stock"],
                   (0, distance) if distance is not None else (1, 0.0), facility["code"], facility["id"])
            out.append((key, facility, offer, covered))
        out.sort(key=lambda item: item[0])
        return out

    open_total = sum(open_units.values())
    whole = [item for item in ranked(candidates, open_units) if item[3] == open_total]
    if whole:
        _, facility, offer, _ = whole[0]
        return [(line_id, facility["id"], quantity) for line_id, quantity in offer]
    if rule["max_facilities"] <= 1:
        return []

    units = dict(open_units)
    pool = list(candidates)
    given: list[tuple[int, int, int]] = []
    used = 0
    while sum(units.values()) and used < rule["max_facilities"]:
        # A candidate that can give none of the open units is passed over rather than spending a
        # facility of the split on it (the document leaves this open).
        options = [item for item in ranked(pool, units) if item[3] > 0]
        if not options:
            break
        _, facility, offer, _ = options[0]
        for line_id, quantity in offer:
            given.append((line_id, facility["id"], quantity))
            units[line_id] -= quantity
        pool.remove(facility)
        used += 1
    return given


def reference_decide(
    *, order: dict, rules: list[dict], facilities: dict[int, dict], stock: dict[tuple[int, int], int], queue: str,
) -> ReferenceDecision:
    """Decide one order as docs/routing.md says, against the given picture of the world (only read)."""
    decision = ReferenceDecision()
    view = _OrderView(facilities=facilities, stock=stock)
    lines_by_id = {line["id"]: line for line in order["lines"]}
    for delivery, store_id, lines in order_groups(order):
        rules_here = matching_rules(rules, queue=queue, delivery=delivery, lines=lines, order=order)
        if not rules_here:
            decision.unmatched.extend(line["id"] for line in lines)
            continue
        open_units = {line["id"]: line["quantity"] for line in lines}
        for rule in rules_here:
            for line_id, facility_id, quantity in _rule_allocate(
                rule, delivery=delivery, store_id=store_id, lines=lines, open_units=open_units, order=order,
                facilities=facilities, view=view,
            ):
                decision.allocations.append((line_id, facility_id, quantity))
                open_units[line_id] -= quantity
                view.take(facility_id, lines_by_id[line_id]["product_id"], quantity)
            # A rule left with open units hands them on only when it says NEXT_RULE; what it allocated stays.
            if not any(open_units.values()) or rule["unfilled_action"] != "NEXT_RULE":
                break
        if delivery == PICKUP:
            parking = "BOPIS_REJECTED"
        else:
            parking = "UNFILLABLE_HOLD" if queue == "UNFILLABLE_HOLD" else "UNFILLABLE"
        decision.parked.extend(
            (line["id"], open_units[line["id"]], parking) for line in lines if open_units[line["id"]]
        )
    return decision
