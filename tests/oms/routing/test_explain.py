"""Routing decisions in words, and the explain_routing command."""

from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from oms.models import RoutingDecision
from oms.routing.explain import decision_in_words
from oms.routing.runs import brokering_run
from oms.routing.types import Allocation, Candidate, Decision, Parked
from stores.stock import stock_adjust
from tests.factories import FacilityFactory, OrderFactory, OrderLineFactory, ProductFactory

NOW = datetime(2025, 3, 4, 16, 0, tzinfo=UTC)


def candidate(facility_id: int, name: str, score: float, distance: float, km: float | None) -> Candidate:
    return Candidate(facility_id=facility_id, code=f"C{facility_id}", name=name, score=score, distance_km=km,
                     ratings={"stock": 1.0, "distance": distance, "workload": 0.6, "priority": 0.5, "kind": 0.5})


def test_decision_sent_to_one_facility_reads_like_the_documentation():
    decision = Decision(
        order_id=1, rule_id=None, allocations=[Allocation(line_id=5, facility_id=12, quantity=2)], parked=[],
        candidates=[candidate(12, "Store 12", 0.8234, 0.74, 18.2), candidate(13, "Store 13", 0.7, 0.5, 40.0)],
        fences={"ACTIVE_ONLINE": 0, "COUNTRY": 5, "CAPACITY": 2, "STOCK": 24}, notes=[],
    )

    assert decision_in_words(decision) == (
        "Sent to Store 12 (score 0.82: stock 1.00, distance 0.74 — 18 km, workload 0.60). "
        "31 facilities out: 24 no stock, 5 other country, 2 over capacity."
    )


def test_split_and_parked_units_and_notes_are_named():
    decision = Decision(
        order_id=1, rule_id=None,
        allocations=[Allocation(line_id=5, facility_id=12, quantity=3),
                     Allocation(line_id=6, facility_id=14, quantity=1)],
        parked=[Parked(line_id=7, quantity=2, queue="UNFILLABLE")],
        candidates=[candidate(12, "Store 12", 0.9, 1.0, None)], fences={"STOCK": 1},
        notes=["no coordinates for the address: distance rated neutral"],
    )

    assert decision_in_words(decision, facilities={14: "Warehouse East"}) == (
        "Split across 2 facilities: 3 units to Store 12 (score 0.90: stock 1.00, distance 1.00 — unknown, "
        "workload 0.60); 1 unit to Warehouse East. 2 units parked in UNFILLABLE. 1 facility out: 1 no stock. "
        "No coordinates for the address: distance rated neutral."
    )


def test_nothing_sent_says_where_the_units_wait():
    decision = Decision(order_id=1, rule_id=None, allocations=[], candidates=[], fences={"STOCK": 3}, notes=[],
                        parked=[Parked(line_id=7, quantity=1, queue="BOPIS_REJECTED")])

    assert decision_in_words(decision) == "Nothing sent: 1 unit parked in BOPIS_REJECTED. 3 facilities out: 3 no stock."


@pytest.mark.django_db
def test_explain_routing_prints_each_stored_decision_in_words():
    store = FacilityFactory(name="Store 12", latitude=41.88, longitude=-87.63)
    FacilityFactory(country="DE")
    product = ProductFactory()
    with transaction.atomic():
        stock_adjust(facility_id=store.pk, product_id=product.pk, delta=3, reason="RECEIPT")
    order = OrderFactory(name="#1001", status="APPROVED")
    OrderLineFactory(order=order, product=product, quantity=2, status="QUEUED", queue="BROKERING")
    run = brokering_run(queue="BROKERING", now=NOW)
    stored = RoutingDecision.objects.get()
    out = StringIO()

    call_command("explain_routing", "#1001", stdout=out)

    assert out.getvalue() == (
        f"#1001 2025-03-04 16:00 UTC, run {run.pk} (BROKERING), rule 'Ship whole from one place', ALLOCATED: "
        f"{decision_in_words(stored)}\n"
    )
    assert decision_in_words(stored).startswith("Sent to Store 12 (score ")
    assert "— 0 km" in decision_in_words(stored) and "1 facility out: 1 other country." in decision_in_words(stored)


@pytest.mark.django_db
def test_explain_routing_finds_orders_by_id_and_says_when_nothing_was_decided():
    order = OrderFactory(name="#2002")
    out = StringIO()

    call_command("explain_routing", str(order.pk), stdout=out)

    assert out.getvalue() == "#2002: no routing decision yet\n"
    with pytest.raises(CommandError, match="no order"):
        call_command("explain_routing", "#404")
