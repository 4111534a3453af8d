"""The routing engine on hand-built worlds: fences, ratings, choosing, parking, consuming, rules and run order."""

from datetime import UTC, date, datetime, timedelta

import pytest

from oms.core.geo import NO_COORDINATES_NOTE, haversine_km
from oms.models import RoutingRule
from oms.routing.engine import decision_undo, order_decide, order_sort_key, rules_matching
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
    FacilityInfo,
    LineDemand,
    OrderDemand,
    Parked,
    World,
)

NOW = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
CHICAGO = (41.8781, -87.6298)
MILWAUKEE = (43.0389, -87.9065)
DETROIT = (42.3314, -83.0458)
NEW_YORK = (40.7128, -74.0060)


# --- Builders ------------------------------------------------------------------------------------------------


def facility(fid: int, *, at=CHICAGO, **overrides) -> FacilityInfo:
    values = dict(
        id=fid, code=f"F-{fid:02d}", name=f"Facility {fid}", kind="STORE", country="US", latitude=at[0],
        longitude=at[1], active_online=True, ships=True, pickup=True, priority=5, daily_capacity=None,
        jobs_today=0, open_jobs=0, fulfilled_by_wms=False, processing_mode="AUTOMATIC",
    )
    values.update(overrides)
    return FacilityInfo(**values)


def world(*facilities: FacilityInfo, stock: dict[int, dict[int, int]]) -> World:
    return World(facilities={f.id: f for f in facilities}, stock=stock)


def line(line_id: int, product_id: int | None = 1, quantity: int = 1, *, kind: str = "STANDARD",
         pickup: int | None = None, excluded=(), promise: date | None = None) -> LineDemand:
    return LineDemand(line_id=line_id, product_id=product_id, quantity=quantity, kind=kind,
                      pickup_facility_id=pickup, excluded=frozenset(excluded), promise_date=promise)


def order(*lines: LineDemand, order_id: int = 1, at=CHICAGO, country: str = "US", channel: str = "shopify",
          priority: int = 0, ordered_at: datetime = NOW, geocode_note: str = "") -> OrderDemand:
    latitude, longitude = at if at is not None else (None, None)
    return OrderDemand(order_id=order_id, name=f"#{order_id}", channel=channel, priority=priority,
                       ordered_at=ordered_at, country=country, latitude=latitude, longitude=longitude,
                       lines=list(lines), geocode_note=geocode_note)


def rule(rule_id: int = 1, **fields) -> RoutingRule:
    fields.setdefault("position", rule_id * 10)
    return RoutingRule(id=rule_id, name=f"Rule {rule_id}", **fields)


def default_rules() -> list[RoutingRule]:
    return [
        rule(10, position=10, delivery="PICKUP", max_facilities=1, unfilled_action="PARK"),
        rule(20, position=20, delivery="SHIP", max_facilities=1, unfilled_action="NEXT_RULE"),
        rule(30, position=30, delivery="SHIP", max_facilities=3, unfilled_action="PARK"),
    ]


def decide(demand: OrderDemand, picture: World, rules: list[RoutingRule] | None = None, *,
           queue: str = "BROKERING", consume: bool = True):
    return order_decide(order=demand, world=picture, rules=default_rules() if rules is None else rules,
                        queue=queue, now=NOW, consume=consume)


def allocated(decision) -> list[tuple[int, int, int]]:
    return [(a.line_id, a.facility_id, a.quantity) for a in decision.allocations]


def parked(decision) -> list[tuple[int, int, str]]:
    return [(p.line_id, p.quantity, p.queue) for p in decision.parked]


def ratings_of(decision, fid: int) -> dict[str, float]:
    return next(c.ratings for c in decision.candidates if c.facility_id == fid)


# --- Fences --------------------------------------------------------------------------------------------------


def test_inactive_or_offline_facility_is_fenced_out():
    picture = world(facility(1, active_online=False), facility(2), stock={1: {1: 5, 2: 5}})
    decision = decide(order(line(1)), picture)
    assert allocated(decision) == [(1, 2, 1)]
    assert decision.fences[ACTIVE_ONLINE] == 1


def test_only_the_first_failed_fence_counts():
    picture = world(facility(1, active_online=False, country="CA"), facility(2), stock={1: {2: 5}})
    decision = decide(order(line(1)), picture)
    assert decision.fences == {**dict.fromkeys(FENCE_ORDER, 0), ACTIVE_ONLINE: 1}


def test_store_without_ship_from_store_is_fenced_out_but_warehouses_always_ship():
    picture = world(facility(1, ships=False), facility(2, kind="WAREHOUSE", ships=False), stock={1: {1: 5, 2: 5}})
    decision = decide(order(line(1)), picture)
    assert allocated(decision) == [(1, 2, 1)]
    assert decision.fences[SERVICE] == 1


def test_chosen_store_without_pickup_rejects_the_pickup_lines():
    picture = world(facility(1, pickup=False), facility(2), stock={1: {1: 5, 2: 5}})
    decision = decide(order(line(1, pickup=1)), picture)
    assert allocated(decision) == []
    assert parked(decision) == [(1, 1, "BOPIS_REJECTED")]
    assert decision.fences[SERVICE] == 1 and decision.fences[PICKUP_STORE] == 1


def test_facility_in_another_country_is_fenced_out():
    picture = world(facility(1, country="CA"), facility(2, at=NEW_YORK), stock={1: {1: 5, 2: 5}})
    decision = decide(order(line(1)), picture)
    assert allocated(decision) == [(1, 2, 1)]
    assert decision.fences[COUNTRY] == 1


def test_facility_excluded_for_every_line_is_fenced_out():
    picture = world(facility(1), facility(2, at=NEW_YORK), stock={1: {1: 5, 2: 5}, 2: {1: 5, 2: 5}})
    decision = decide(order(line(1, 1, excluded={1}), line(2, 2, excluded={1})), picture)
    assert allocated(decision) == [(1, 2, 1), (2, 2, 1)]
    assert decision.fences[EXCLUDED] == 1


def test_facility_excluded_for_some_lines_still_takes_the_others():
    picture = world(facility(1), stock={1: {1: 5}, 2: {1: 5}})
    decision = decide(order(line(1, 1, excluded={1}), line(2, 2)), picture)
    assert allocated(decision) == [(2, 1, 1)]
    assert parked(decision) == [(1, 1, "UNFILLABLE")]
    assert decision.fences[EXCLUDED] == 0


def test_facility_at_its_daily_capacity_is_fenced_out():
    picture = world(facility(1, daily_capacity=3, jobs_today=3), facility(2, at=NEW_YORK), stock={1: {1: 5, 2: 5}})
    decision = decide(order(line(1)), picture)
    assert allocated(decision) == [(1, 2, 1)]
    assert decision.fences[CAPACITY] == 1


def test_facility_below_capacity_or_unlimited_passes():
    picture = world(facility(1, daily_capacity=3, jobs_today=2), facility(2, jobs_today=500), stock={1: {1: 1, 2: 1}})
    decision = decide(order(line(1)), picture)
    assert {c.facility_id for c in decision.candidates} == {1, 2}
    assert decision.fences[CAPACITY] == 0


def test_capacity_does_not_apply_to_wms_facilities():
    picture = world(facility(1, kind="WAREHOUSE", fulfilled_by_wms=True, daily_capacity=3, jobs_today=3),
                    stock={1: {1: 5}})
    assert allocated(decide(order(line(1)), picture)) == [(1, 1, 1)]


def test_pickup_lines_only_go_to_the_chosen_store():
    picture = world(facility(1), facility(2), facility(3), stock={1: {1: 5, 2: 50, 3: 50}})
    decision = decide(order(line(1, pickup=1)), picture)
    assert allocated(decision) == [(1, 1, 1)]
    assert decision.fences[PICKUP_STORE] == 2
    assert [c.facility_id for c in decision.candidates] == [1]


def test_facility_without_stock_is_fenced_out():
    picture = world(facility(1), facility(2), stock={1: {1: 0, 2: 4}})
    decision = decide(order(line(1)), picture)
    assert allocated(decision) == [(1, 2, 1)]
    assert decision.fences[STOCK] == 1


def test_rule_fences_list_switches_the_other_fences_off():
    picture = world(facility(1, active_online=False, daily_capacity=1, jobs_today=1, country="CA"),
                    stock={1: {1: 5}})
    decision = decide(order(line(1)), picture, [rule(1, fences=["STOCK"])])
    assert allocated(decision) == [(1, 1, 1)]
    assert decision.fences == dict.fromkeys(FENCE_ORDER, 0)


def test_switching_the_excluded_fence_off_ignores_exclusions():
    picture = world(facility(1), stock={1: {1: 5}})
    decision = decide(order(line(1, excluded={1})), picture, [rule(1, fences=["ACTIVE_ONLINE", "STOCK"])])
    assert allocated(decision) == [(1, 1, 1)]


def test_without_the_stock_fence_empty_facilities_are_rated_but_get_nothing():
    picture = world(facility(1), facility(2), stock={1: {1: 5}})
    decision = decide(order(line(1)), picture, [rule(1, fences=["ACTIVE_ONLINE"])])
    assert allocated(decision) == [(1, 1, 1)]
    assert ratings_of(decision, 2)["stock"] == 0.0


# --- Ratings -------------------------------------------------------------------------------------------------


def test_stock_rating_is_the_share_of_the_group_units_covered():
    picture = world(facility(1), facility(2), stock={1: {1: 2, 2: 3}})
    decision = decide(order(line(1, quantity=3)), picture)
    assert ratings_of(decision, 1)["stock"] == pytest.approx(2 / 3, abs=1e-6)
    assert ratings_of(decision, 2)["stock"] == 1.0


def test_distance_rating_is_normalised_by_the_farthest_candidate():
    picture = world(facility(1, at=CHICAGO), facility(2, at=DETROIT), facility(3, at=NEW_YORK),
                    stock={1: {1: 1, 2: 1, 3: 1}})
    decision = decide(order(line(1), at=MILWAUKEE), picture)
    farthest = haversine_km(*MILWAUKEE, *NEW_YORK)
    to_detroit = haversine_km(*MILWAUKEE, *DETROIT)
    assert ratings_of(decision, 3)["distance"] == 0.0
    assert ratings_of(decision, 2)["distance"] == pytest.approx(1 - to_detroit / farthest, abs=1e-6)
    detroit = next(c for c in decision.candidates if c.facility_id == 2)
    assert detroit.distance_km == pytest.approx(to_detroit, abs=0.01)
    assert allocated(decision) == [(1, 1, 1)]


def test_distance_rating_is_one_when_every_candidate_is_at_the_customer():
    picture = world(facility(1), facility(2), stock={1: {1: 1, 2: 1}})
    decision = decide(order(line(1)), picture)
    assert {c.ratings["distance"] for c in decision.candidates} == {1.0}


def test_distance_is_neutral_without_customer_coordinates_and_a_note_says_so():
    picture = world(facility(1, at=CHICAGO), facility(2, at=NEW_YORK), stock={1: {1: 1, 2: 1}})
    decision = decide(order(line(1), at=None, country="US"), picture)
    assert {c.ratings["distance"] for c in decision.candidates} == {0.5}
    assert {c.distance_km for c in decision.candidates} == {None}
    assert NO_COORDINATES_NOTE in decision.notes


def test_postal_code_location_is_noted():
    picture = world(facility(1), stock={1: {1: 1}})
    decision = decide(order(line(1), geocode_note="located by postal code 60601"), picture)
    assert decision.notes[0] == "located by postal code 60601"


def test_facility_without_coordinates_rates_as_the_farthest():
    picture = world(facility(1, at=(None, None)), facility(2, at=NEW_YORK), stock={1: {1: 1, 2: 1}})
    decision = decide(order(line(1)), picture)
    assert ratings_of(decision, 1)["distance"] == 0.0
    assert decision.candidates[-1].distance_km is None


@pytest.mark.parametrize(
    ("capacity", "open_jobs", "expected"),
    [(10, 3, 0.7), (None, 50, 1.0), (10, 15, 0.0), (10, 0, 1.0)],
)
def test_workload_rating_is_open_jobs_against_capacity(capacity, open_jobs, expected):
    picture = world(facility(1, daily_capacity=capacity, open_jobs=open_jobs), stock={1: {1: 1}})
    assert ratings_of(decide(order(line(1)), picture), 1)["workload"] == pytest.approx(expected)


@pytest.mark.parametrize(("priority", "expected"), [(1, 0.0), (4, 1 / 3), (10, 1.0)])
def test_priority_rating_spreads_one_to_ten_over_zero_to_one(priority, expected):
    picture = world(facility(1, priority=priority), stock={1: {1: 1}})
    assert ratings_of(decide(order(line(1)), picture), 1)["priority"] == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    ("prefer", "store", "warehouse", "chosen"),
    [("STORE", 1.0, 0.0, 1), ("WAREHOUSE", 0.0, 1.0, 2), ("NONE", 0.5, 0.5, 1)],
)
def test_kind_rating_follows_the_rules_preference(prefer, store, warehouse, chosen):
    # Same place, same everything: only the kind rating (then the code) separates them.
    picture = world(facility(1, kind="STORE"), facility(2, kind="WAREHOUSE"), stock={1: {1: 1, 2: 1}})
    decision = decide(order(line(1)), picture, [rule(1, prefer=prefer)])
    assert (ratings_of(decision, 1)["kind"], ratings_of(decision, 2)["kind"]) == (store, warehouse)
    assert allocated(decision) == [(1, chosen, 1)]


def test_score_is_the_weighted_mean_of_the_ratings_rounded_to_six_decimals():
    picture = world(facility(1, at=CHICAGO, priority=8, daily_capacity=7, open_jobs=2, kind="WAREHOUSE"),
                    facility(2, at=NEW_YORK), stock={1: {1: 1, 2: 3}})
    weights = dict(weight_stock=2.0, weight_distance=1.5, weight_workload=0.7, weight_priority=0.3, weight_kind=0.5)
    decision = decide(order(line(1, quantity=3), at=MILWAUKEE), picture, [rule(1, prefer="STORE", **weights,
                                                                              max_facilities=2)])
    for candidate in decision.candidates:
        r = candidate.ratings
        expected = (2.0 * r["stock"] + 1.5 * r["distance"] + 0.7 * r["workload"] + 0.3 * r["priority"]
                    + 0.5 * r["kind"]) / 5.0
        assert candidate.score == pytest.approx(round(expected, 6), abs=2e-6)
        assert candidate.score == round(candidate.score, 6)


def test_all_weights_zero_scores_zero():
    picture = world(facility(1), stock={1: {1: 1}})
    zero = dict(weight_stock=0, weight_distance=0, weight_workload=0, weight_priority=0, weight_kind=0)
    decision = decide(order(line(1)), picture, [rule(1, **zero)])
    assert decision.candidates[0].score == 0.0
    assert allocated(decision) == [(1, 1, 1)]


# --- Choosing ------------------------------------------------------------------------------------------------


def test_equal_scores_are_broken_by_facility_code():
    picture = world(facility(1, code="B-01"), facility(2, code="A-01"), stock={1: {1: 1, 2: 1}})
    decision = decide(order(line(1)), picture)
    assert decision.candidates[0].score == decision.candidates[1].score
    assert [c.facility_id for c in decision.candidates] == [2, 1]
    assert allocated(decision) == [(1, 2, 1)]


def test_equal_scores_are_broken_by_stock_then_distance_before_code():
    # Weights that rate only priority: the scores tie, so the stock rating then the distance decide.
    only_priority = dict(weight_stock=0, weight_distance=0, weight_workload=0, weight_priority=1, weight_kind=0)
    picture = world(facility(1, code="A-01", at=NEW_YORK), facility(2, code="B-01", at=DETROIT),
                    facility(3, code="C-01", at=DETROIT), stock={1: {1: 2, 2: 2, 3: 1}})
    decision = decide(order(line(1, quantity=2), at=MILWAUKEE), picture, [rule(1, **only_priority)])
    assert [c.facility_id for c in decision.candidates] == [2, 1, 3]


def test_the_same_order_is_decided_the_same_way_twice():
    facilities = [facility(fid, at=(41 + fid / 10, -88 + fid / 7), priority=fid % 10 + 1) for fid in range(1, 13)]
    picture = world(*facilities, stock={1: {fid: fid % 3 for fid in range(1, 13)}, 2: {fid: 2 for fid in range(4, 9)}})
    demand = order(line(1, 1, 2), line(2, 2, 3))
    first = decide(demand, picture, consume=False)
    assert decide(demand, picture, consume=False) == first


def test_whole_order_from_one_place_beats_a_closer_partial_facility():
    picture = world(facility(1, at=CHICAGO), facility(2, at=NEW_YORK), stock={1: {1: 5, 2: 5}, 2: {2: 5}})
    decision = decide(order(line(1, 1), line(2, 2)), picture)
    assert decision.candidates[0].facility_id == 1  # closer, and rated better
    assert allocated(decision) == [(1, 2, 1), (2, 2, 1)]


def test_no_split_rule_parks_everything_when_nobody_has_it_all():
    picture = world(facility(1), facility(2), stock={1: {1: 5}, 2: {2: 5}})
    decision = decide(order(line(1, 1), line(2, 2, 2)), picture, [rule(7, max_facilities=1, unfilled_action="PARK")])
    assert allocated(decision) == []
    assert parked(decision) == [(1, 1, "UNFILLABLE"), (2, 2, "UNFILLABLE")]
    assert decision.rule_id == 7
    assert decision.outcome == "PARKED"


def test_no_split_rule_hands_the_group_to_the_next_rule():
    picture = world(facility(1), facility(2), stock={1: {1: 5}, 2: {2: 5}})
    decision = decide(order(line(1, 1), line(2, 2)), picture)
    assert allocated(decision) == [(1, 1, 1), (2, 2, 1)]
    assert decision.rule_id == 30
    assert decision.outcome == "ALLOCATED"


def test_split_divides_a_line_and_parks_the_remainder():
    picture = world(facility(1), facility(2), facility(3), stock={1: {1: 2, 2: 2, 3: 1}})
    decision = decide(order(line(1, quantity=6)), picture, [rule(1, max_facilities=2)])
    assert allocated(decision) == [(1, 1, 2), (1, 2, 2)]
    assert parked(decision) == [(1, 2, "UNFILLABLE")]
    assert sum(a.quantity for a in decision.allocations) + sum(p.quantity for p in decision.parked) == 6
    assert decision.outcome == "PARTIAL"


def test_split_rerates_the_units_still_open():
    # Facility 1 (at the customer) takes line 1. Rated on all four units 2 beats 3 (closer, each gives half of
    # its units); rated on the two still open, 3 gives them all and wins.
    picture = world(facility(1, at=CHICAGO), facility(2, at=MILWAUKEE), facility(3, at=DETROIT),
                    stock={1: {1: 2}, 2: {2: 1, 3: 2}})
    decision = decide(order(line(1, 1, 2), line(2, 2, 2)), picture, [rule(1, max_facilities=2)])
    assert allocated(decision) == [(1, 1, 2), (2, 3, 2)]


def test_lines_of_one_product_share_the_facility_stock():
    picture = world(facility(1), facility(2, at=NEW_YORK), stock={1: {1: 3, 2: 4}})
    decision = decide(order(line(1, 1, 2), line(2, 1, 2)), picture)
    assert ratings_of(decision, 1)["stock"] == 0.75
    assert allocated(decision) == [(1, 2, 2), (2, 2, 2)]


def test_pickup_takes_what_the_chosen_store_has_and_rejects_the_rest():
    picture = world(facility(1), facility(2), stock={1: {1: 1, 2: 9}, 2: {1: 2}})
    decision = decide(order(line(1, 1, 3, pickup=1), line(2, 2, 2, pickup=1)), picture)
    assert allocated(decision) == [(1, 1, 1), (2, 1, 2)]
    assert parked(decision) == [(1, 2, "BOPIS_REJECTED")]


def test_pickup_store_without_stock_rejects_the_lines_never_elsewhere():
    picture = world(facility(1), facility(2), stock={1: {2: 9}})
    decision = decide(order(line(1, pickup=1)), picture)
    assert allocated(decision) == []
    assert parked(decision) == [(1, 1, "BOPIS_REJECTED")]


def test_unfillable_hold_run_parks_into_unfillable_hold():
    picture = world(facility(1), stock={})
    decision = decide(order(line(1)), picture, queue="UNFILLABLE_HOLD")
    assert parked(decision) == [(1, 1, "UNFILLABLE_HOLD")]


def test_mixed_order_decides_pickup_first_and_reports_the_ship_groups_rule():
    # The chosen store's one unit goes to the pickup line; the ship line ships from the warehouse.
    picture = world(facility(1), facility(2, kind="WAREHOUSE", at=NEW_YORK), stock={1: {1: 1, 2: 5}})
    decision = decide(order(line(1, 1), line(2, 1, pickup=1)), picture)
    assert allocated(decision) == [(1, 2, 1), (2, 1, 1)]
    assert decision.rule_id == 20


def test_line_without_a_product_is_left_alone_with_a_note():
    picture = world(facility(1), stock={1: {1: 5}})
    decision = decide(order(line(1, None), line(2, 1)), picture)
    assert allocated(decision) == [(2, 1, 1)]
    assert decision.parked == [] and decision.unmatched == []
    assert "line 1 has no known product: left in its queue" in decision.notes


def test_candidates_are_the_top_five_best_first():
    facilities = [facility(fid, priority=fid) for fid in range(1, 8)]
    picture = world(*facilities, stock={1: {fid: 1 for fid in range(1, 8)}})
    decision = decide(order(line(1)), picture)
    assert [c.facility_id for c in decision.candidates] == [7, 6, 5, 4, 3]
    assert [c.score for c in decision.candidates] == sorted((c.score for c in decision.candidates), reverse=True)


def test_chosen_facility_outside_the_top_five_is_listed_after_them():
    near = [facility(fid, at=CHICAGO) for fid in range(1, 7)]
    picture = world(*near, facility(9, at=NEW_YORK), stock={1: {fid: 1 for fid in range(1, 7)} | {9: 2}})
    decision = decide(order(line(1, quantity=2)), picture, [rule(1, weight_stock=0.1)])
    assert allocated(decision) == [(1, 9, 2)]
    assert len(decision.candidates) == 6 and decision.candidates[-1].facility_id == 9


# --- Consuming the world -------------------------------------------------------------------------------------


def test_consumed_stock_is_gone_for_the_next_order():
    picture = world(facility(1), facility(2, at=NEW_YORK), stock={1: {1: 1, 2: 1}})
    assert allocated(decide(order(line(1), order_id=1), picture)) == [(1, 1, 1)]
    assert picture.stock[1][1] == 0
    assert allocated(decide(order(line(2), order_id=2), picture)) == [(2, 2, 1)]


def test_preview_leaves_the_world_untouched():
    picture = world(facility(1, daily_capacity=1), stock={1: {1: 1}})
    first = decide(order(line(1)), picture, consume=False)
    assert picture.stock == {1: {1: 1}} and picture.facilities[1].jobs_today == 0
    assert decide(order(line(1)), picture, consume=False) == first


def test_capacity_is_consumed_during_the_run():
    picture = world(facility(1, daily_capacity=1, open_jobs=0), facility(2, at=NEW_YORK), stock={1: {1: 5, 2: 5}})
    assert allocated(decide(order(line(1), order_id=1), picture)) == [(1, 1, 1)]
    assert (picture.facilities[1].jobs_today, picture.facilities[1].open_jobs) == (1, 1)
    second = decide(order(line(2), order_id=2), picture)
    assert allocated(second) == [(2, 2, 1)]
    assert second.fences[CAPACITY] == 1


def test_jobs_and_stock_given_back_by_the_run_are_seen_by_the_next_order():
    picture = world(facility(1, daily_capacity=1), stock={1: {1: 1}})
    first = order(line(1), order_id=1)
    decision = decide(first, picture)
    assert allocated(decide(order(line(3), order_id=3), picture)) == []  # full and out of stock now
    # The run could not write the first decision: it gives back the job and the unit.
    decision_undo(decision=decision, order=first, world=picture)
    assert (picture.facilities[1].jobs_today, picture.stock[1]) == (0, {1: 1})
    assert allocated(decide(order(line(2), order_id=2), picture)) == [(2, 1, 1)]


def test_wms_facility_gets_no_pick_jobs_counted():
    picture = world(facility(1, kind="WAREHOUSE", fulfilled_by_wms=True), stock={1: {1: 5}})
    decide(order(line(1)), picture)
    assert picture.facilities[1].jobs_today == 0


def test_two_groups_of_one_order_at_one_store_count_one_pick_job():
    picture = world(facility(1, daily_capacity=1), stock={1: {1: 5}})
    decision = decide(order(line(1, pickup=1), line(2)), picture)
    assert allocated(decision) == [(1, 1, 1), (2, 1, 1)]
    assert picture.facilities[1].jobs_today == 1


# --- Rules -----------------------------------------------------------------------------------------------------


def matches(candidate: RoutingRule, *, queue="BROKERING", delivery="SHIP", kinds=("STANDARD",), channel="shopify",
            priority=0) -> bool:
    return rules_matching(rules=[candidate], queue=queue, delivery=delivery, kinds=set(kinds), channel=channel,
                          priority=priority) == [candidate]


@pytest.mark.parametrize(
    ("fields", "group", "expected"),
    [
        ({}, {}, True),
        ({"queues": ["REJECTED"]}, {}, False),
        ({"queues": ["BROKERING", "REJECTED"]}, {}, True),
        ({"delivery": "PICKUP"}, {}, False),
        ({"delivery": "PICKUP"}, {"delivery": "PICKUP"}, True),
        ({"delivery": "ANY"}, {"delivery": "PICKUP"}, True),
        ({"kinds": ["STANDARD"]}, {"kinds": ("STANDARD", "PRE_ORDER")}, False),
        ({"kinds": ["STANDARD", "PRE_ORDER"]}, {"kinds": ("STANDARD", "PRE_ORDER")}, True),
        ({"channels": ["pos"]}, {}, False),
        ({"channels": ["pos", "shopify"]}, {}, True),
        ({"min_priority": 2}, {"priority": 1}, False),
        ({"min_priority": 2}, {"priority": 2}, True),
        ({"is_active": False}, {}, False),
    ],
)
def test_rule_matches_by_queue_delivery_kinds_channel_and_priority(fields, group, expected):
    assert matches(rule(1, **fields), **group) is expected


def test_matching_rules_come_in_position_order():
    late, early = rule(1, position=50), rule(2, position=5)
    found = rules_matching(rules=[late, early], queue="BROKERING", delivery="SHIP", kinds={"STANDARD"},
                           channel="shopify", priority=0)
    assert found == [early, late]


def test_group_no_rule_matches_stays_unmatched():
    picture = world(facility(1), stock={1: {1: 5}})
    decision = decide(order(line(1), line(2, pickup=1)), picture, [rule(1, delivery="PICKUP")])
    assert allocated(decision) == [(2, 1, 1)]
    assert decision.unmatched == [1]
    only_ship = decide(order(line(1)), picture, [rule(1, delivery="PICKUP")])
    assert only_ship.outcome == "UNMATCHED" and only_ship.rule_id is None and only_ship.parked == []


# --- Run order -----------------------------------------------------------------------------------------------


def sort_keys(orders: list[OrderDemand], rules: list[RoutingRule]) -> list[int]:
    ordered = sorted(orders, key=lambda o: order_sort_key(order=o, rules=rules, queue="BROKERING"))
    return [o.order_id for o in ordered]


def test_orders_sort_by_rule_position_first():
    rules = [rule(1, position=10, delivery="PICKUP"), rule(2, position=20, delivery="SHIP")]
    ship = order(line(1), order_id=1, ordered_at=NOW - timedelta(days=1))
    pickup = order(line(2, pickup=1), order_id=2)
    assert sort_keys([ship, pickup], rules) == [2, 1]


def test_orders_sort_by_order_date_then_id():
    rules = [rule(1, sort_by="ORDER_DATE")]
    orders = [order(line(1), order_id=3, ordered_at=NOW), order(line(2), order_id=2, ordered_at=NOW),
              order(line(3), order_id=1, ordered_at=NOW + timedelta(hours=1))]
    assert sort_keys(orders, rules) == [2, 3, 1]


def test_orders_sort_by_earliest_promise_date_with_none_last():
    rules = [rule(1, sort_by="PROMISE_DATE")]
    orders = [
        order(line(1), order_id=1),
        order(line(2, promise=date(2025, 3, 9)), line(3, promise=date(2025, 3, 5)), order_id=2),
        order(line(4, promise=date(2025, 3, 7)), order_id=3),
    ]
    assert sort_keys(orders, rules) == [2, 3, 1]


def test_orders_sort_by_priority_highest_first():
    rules = [rule(1, sort_by="PRIORITY")]
    orders = [order(line(1), order_id=1, priority=0), order(line(2), order_id=2, priority=5),
              order(line(3), order_id=3, priority=2)]
    assert sort_keys(orders, rules) == [2, 3, 1]


def test_order_whose_first_group_no_rule_matches_sorts_last():
    rules = [rule(1, delivery="SHIP")]
    unmatched = order(line(1, pickup=1), order_id=1, ordered_at=NOW - timedelta(days=3))
    assert sort_keys([unmatched, order(line(2), order_id=2)], rules) == [2, 1]


def test_first_group_is_the_one_with_the_lowest_line_id():
    rules = [rule(1, position=10, delivery="PICKUP"), rule(2, position=20, delivery="SHIP")]
    key = order_sort_key(order=order(line(1), line(2, pickup=1)), rules=rules, queue="BROKERING")
    assert key[0] == 20


def test_parked_and_allocated_entries_use_the_shared_types():
    picture = world(facility(1), stock={1: {1: 1}})
    decision = decide(order(line(1, quantity=2)), picture, [rule(1, max_facilities=2)])
    assert decision.allocations == [Allocation(line_id=1, facility_id=1, quantity=1)]
    assert decision.parked == [Parked(line_id=1, quantity=1, queue="UNFILLABLE")]
