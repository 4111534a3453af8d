"""The reference router against examples worked out by hand from docs/routing.md (no engine, no database)."""

from datetime import UTC, date, datetime

from oms.routing.bench.reference import order_sort_key, reference_decide

CHICAGO = (41.8781, -87.6298)
MILWAUKEE = (43.0389, -87.9065)
DENVER = (39.7392, -104.9903)


def rule(position: int, name: str, **fields) -> dict:
    base = {
        "id": position, "name": name, "position": position, "is_active": True, "queues": [], "delivery": "ANY",
        "kinds": [], "channels": [], "min_priority": None, "sort_by": "ORDER_DATE", "fences": [],
        "weight_stock": 1.0, "weight_distance": 0.6, "weight_workload": 0.3, "weight_priority": 0.2,
        "weight_kind": 0.1, "prefer": "NONE", "max_facilities": 1, "unfilled_action": "PARK",
        "auto_cancel_days": 7,
    }
    return base | fields


DEFAULT_RULES = [
    rule(10, "Pickup at the chosen store", delivery="PICKUP"),
    rule(20, "Ship whole from one place", delivery="SHIP", unfilled_action="NEXT_RULE"),
    rule(30, "Ship split across up to 3", delivery="SHIP", max_facilities=3),
]


def facility(fid: int, at=CHICAGO, **fields) -> dict:
    base = {
        "id": fid, "code": f"F{fid:02d}", "kind": "STORE", "country": "US", "latitude": at[0], "longitude": at[1],
        "is_active": True, "sells_online": True, "offers_ship_from_store": True, "offers_pickup": True,
        "priority": 5, "daily_capacity": None, "fulfilled_by_wms": False, "jobs_today": 0, "open_jobs": 0,
    }
    return base | fields


def line(lid: int, product: int, quantity: int = 1, *, pickup: int | None = None, excluded=()) -> dict:
    return {"id": lid, "product_id": product, "quantity": quantity, "kind": "STANDARD", "pickup_facility_id": pickup,
            "excluded": set(excluded), "promise_date": None}


def order(*lines, at=CHICAGO, oid: int = 1, ordered_at=None, **fields) -> dict:
    address = {"country_code": "US", "zip": "60601"}
    if at is not None:
        address |= {"latitude": at[0], "longitude": at[1]}
    base = {"id": oid, "name": f"#{oid}", "channel": "shopify", "priority": 0,
            "ordered_at": ordered_at or datetime(2026, 11, 2, 9, 0, tzinfo=UTC), "shipping_address": address,
            "lines": list(lines)}
    return base | fields


def decide(the_order, facilities, stock, *, rules=DEFAULT_RULES, queue="BROKERING"):
    return reference_decide(order=the_order, rules=rules, facilities={f["id"]: f for f in facilities},
                            stock=stock, queue=queue).per_line()


def test_whole_order_beats_a_closer_store_that_has_only_part():
    near, far = facility(1, CHICAGO), facility(2, DENVER)
    stock = {(1, 100): 5, (2, 100): 5, (2, 200): 5}
    assert decide(order(line(11, 100), line(12, 200)), [near, far], stock) == {
        11: [("facility", 2, 1)], 12: [("facility", 2, 1)],
    }


def test_of_two_whole_candidates_the_closer_wins():
    stock = {(1, 100): 1, (2, 100): 1}
    assert decide(order(line(11, 100)), [facility(1, DENVER), facility(2, MILWAUKEE)], stock) == {
        11: [("facility", 2, 1)],
    }


def test_priority_outweighs_distance_only_when_distance_weighs_nothing():
    # Both cover the order. Near: distance 1.0, priority 0.0 -> 1.95/2.2; far: 0.0 and 1.0 -> 1.55/2.2.
    near, far = facility(1, CHICAGO, priority=1), facility(2, DENVER, priority=10)
    stock = {(1, 100): 1, (2, 100): 1}
    assert decide(order(line(11, 100)), [near, far], stock) == {11: [("facility", 1, 1)]}
    no_distance = [rule(20, "Whole", delivery="SHIP", weight_distance=0.0)]
    assert decide(order(line(11, 100)), [near, far], stock, rules=no_distance) == {11: [("facility", 2, 1)]}


def test_busy_store_loses_to_an_idle_one():
    busy = facility(1, CHICAGO, daily_capacity=10, open_jobs=9)
    idle = facility(2, CHICAGO, daily_capacity=10, open_jobs=0)
    stock = {(1, 100): 1, (2, 100): 1}
    assert decide(order(line(11, 100)), [busy, idle], stock) == {11: [("facility", 2, 1)]}


def test_equal_scores_go_to_the_lower_facility_code():
    twin_b, twin_a = facility(2, CHICAGO, code="B"), facility(1, CHICAGO, code="A")
    stock = {(1, 100): 1, (2, 100): 1}
    assert decide(order(line(11, 100)), [twin_b, twin_a], stock) == {11: [("facility", 1, 1)]}


def test_split_gives_each_facility_what_it_has_best_first():
    # Nobody has both lines: rule 20 hands on, rule 30 splits. The near store covers 2 of 3 units
    # and rates higher, so it goes first and takes line 11; the far one takes line 12.
    near, far = facility(1, CHICAGO), facility(2, DENVER)
    stock = {(1, 100): 2, (2, 200): 4}
    assert decide(order(line(11, 100, 2), line(12, 200)), [near, far], stock) == {
        11: [("facility", 1, 2)], 12: [("facility", 2, 1)],
    }


def test_split_divides_a_line_between_facilities():
    stock = {(1, 100): 3, (2, 100): 2}
    assert decide(order(line(11, 100, 5)), [facility(1, CHICAGO), facility(2, DENVER)], stock) == {
        11: [("facility", 1, 3), ("facility", 2, 2)],
    }


def test_split_stops_at_three_facilities_and_parks_the_rest():
    facilities = [facility(fid, CHICAGO) for fid in (1, 2, 3, 4)]
    stock = {(1, 100): 1, (2, 200): 1, (3, 300): 1, (4, 400): 1}
    decision = decide(order(line(11, 100), line(12, 200), line(13, 300), line(14, 400)), facilities, stock)
    assert decision == {
        11: [("facility", 1, 1)], 12: [("facility", 2, 1)], 13: [("facility", 3, 1)],
        14: [("queue", "UNFILLABLE", 1)],
    }


def test_no_split_rule_allocates_nothing_when_nobody_has_it_all():
    whole_only = [rule(20, "Whole", delivery="SHIP")]
    stock = {(1, 100): 1, (2, 200): 1}
    decision = decide(order(line(11, 100), line(12, 200)), [facility(1), facility(2)], stock, rules=whole_only)
    assert decision == {11: [("queue", "UNFILLABLE", 1)], 12: [("queue", "UNFILLABLE", 1)]}


def test_two_lines_of_one_product_share_the_shelf():
    # Three units on the shelf cannot cover 2 + 2 of the same product, so the warehouse with 4 wins.
    store, warehouse = facility(1, CHICAGO), facility(2, DENVER, kind="WAREHOUSE")
    stock = {(1, 100): 3, (2, 100): 4}
    assert decide(order(line(11, 100, 2), line(12, 100, 2)), [store, warehouse], stock) == {
        11: [("facility", 2, 2)], 12: [("facility", 2, 2)],
    }


def test_pickup_takes_what_the_chosen_store_has_and_rejects_the_rest():
    chosen, other = facility(1, DENVER), facility(2, CHICAGO)
    stock = {(1, 100): 1, (2, 100): 9, (2, 200): 9}
    decision = decide(order(line(11, 100, 3, pickup=1), line(12, 200, pickup=1)), [chosen, other], stock)
    assert decision == {
        11: [("facility", 1, 1), ("queue", "BOPIS_REJECTED", 2)],
        12: [("queue", "BOPIS_REJECTED", 1)],
    }


def test_pickup_at_a_store_without_pickup_service_is_rejected_whole():
    chosen = facility(1, offers_pickup=False)
    assert decide(order(line(11, 100, pickup=1)), [chosen], {(1, 100): 5}) == {
        11: [("queue", "BOPIS_REJECTED", 1)],
    }


def test_no_stock_anywhere_parks_as_unfillable():
    assert decide(order(line(11, 100, 2)), [facility(1), facility(2)], {}) == {11: [("queue", "UNFILLABLE", 2)]}


def test_unfillable_hold_run_keeps_lines_on_hold():
    decision = decide(order(line(11, 100)), [facility(1)], {}, queue="UNFILLABLE_HOLD")
    assert decision == {11: [("queue", "UNFILLABLE_HOLD", 1)]}


def test_fences_keep_out_facilities_that_would_rate_best():
    best_but = dict(at=CHICAGO, priority=10)
    facilities = [
        facility(1, **best_but, is_active=False),
        facility(2, **best_but, country="CA"),
        facility(3, **best_but, offers_ship_from_store=False),
        facility(4, **best_but, daily_capacity=5, jobs_today=5),
        facility(5, **best_but),  # excluded for the line below after a rejection
        facility(6, DENVER, priority=1),
    ]
    stock = {(fid, 100): 5 for fid in range(1, 7)}
    assert decide(order(line(11, 100, excluded={5})), facilities, stock) == {11: [("facility", 6, 1)]}


def test_warehouse_without_pick_jobs_ignores_capacity():
    warehouse = facility(1, kind="WAREHOUSE", offers_ship_from_store=False, fulfilled_by_wms=True,
                         daily_capacity=1, jobs_today=3)
    assert decide(order(line(11, 100)), [warehouse], {(1, 100): 1}) == {11: [("facility", 1, 1)]}


def test_no_coordinates_makes_distance_neutral():
    # Without a location (and an unknown postal code) the far high-priority store wins on priority.
    near, far = facility(1, CHICAGO, priority=1), facility(2, DENVER, priority=10)
    lost = order(line(11, 100), at=None, shipping_address={"country_code": "US", "zip": "00000"})
    assert decide(lost, [near, far], {(1, 100): 1, (2, 100): 1}) == {11: [("facility", 2, 1)]}


def test_postal_code_locates_an_address_without_coordinates():
    near_zip = order(line(11, 100), at=None, shipping_address={"country_code": "US", "zip": "60611"})
    near, far = facility(1, CHICAGO, priority=1), facility(2, DENVER, priority=10)
    assert decide(near_zip, [near, far], {(1, 100): 1, (2, 100): 1}) == {11: [("facility", 1, 1)]}


def test_pickup_orders_come_before_ship_orders_then_oldest_first():
    early, late = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC)
    ship_old = order(line(11, 100), oid=1, ordered_at=early)
    ship_new = order(line(21, 100), oid=2, ordered_at=late)
    pickup_new = order(line(31, 100, pickup=1), oid=3, ordered_at=late)
    ranked = sorted([ship_new, pickup_new, ship_old],
                    key=lambda o: order_sort_key(o, rules=DEFAULT_RULES, queue="BROKERING"))
    assert [o["id"] for o in ranked] == [3, 1, 2]


def test_promise_date_rule_puts_orders_without_a_date_last():
    by_promise = [rule(10, "Promised", sort_by="PROMISE_DATE")]
    dated = order(line(11, 100) | {"promise_date": date(2026, 12, 1)}, oid=2)
    undated = order(line(21, 100), oid=1)
    ranked = sorted([undated, dated], key=lambda o: order_sort_key(o, rules=by_promise, queue="BROKERING"))
    assert [o["id"] for o in ranked] == [2, 1]
