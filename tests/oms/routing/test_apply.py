"""Writing decisions: reservations, splits, requests and pick jobs, parkings, history — and stock taken meanwhile."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction

from fulfillment.ledger import stock_ledger_problems
from fulfillment.models import PickJob
from oms.core.history import transit_and_save
from oms.models import (
    FulfillmentRequest,
    OrderLine,
    OrderNote,
    OutboxMessage,
    RoutingDecision,
    RoutingRule,
    TransitionLog,
)
from oms.routing.apply import decisions_apply
from oms.routing.load import world_load
from oms.routing.types import Allocation, Candidate, Decision, Parked
from stores.models import Facility, InventoryAdjustment, StockLevel
from stores.stock import StockError, stock_adjust, stock_release_many, stock_reserve, stock_reserve_many
from tests.factories import FacilityFactory, OrderFactory, OrderLineFactory, ProductFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 3, 16, 0, tzinfo=UTC)  # Monday 10:00 in Chicago


def stock(facility, product, on_hand: int) -> StockLevel:
    with transaction.atomic():
        stock_adjust(facility_id=facility.pk, product_id=product.pk, delta=on_hand, reason="RECEIPT", now=NOW)
    return StockLevel.objects.get(facility=facility, product=product)


def queued(order=None, *, queue: str = "BROKERING", **fields) -> OrderLine:
    order = order or OrderFactory(status="APPROVED")
    return OrderLineFactory(order=order, status="QUEUED", queue=queue, queued_at=NOW - timedelta(hours=1), **fields)


def decision(order_id: int, *, allocations=(), parked=(), rule_id=None, candidates=()) -> Decision:
    return Decision(
        order_id=order_id, rule_id=rule_id,
        allocations=[Allocation(line_id=line, facility_id=fid, quantity=qty) for line, fid, qty in allocations],
        parked=[Parked(line_id=line, quantity=qty, queue=queue) for line, qty, queue in parked],
        candidates=list(candidates), fences={"STOCK": 3}, notes=[],
    )


def apply(decisions, *, queue: str = "BROKERING", world=None):
    world = world or world_load(now=NOW)
    with transaction.atomic():
        return decisions_apply(decisions=decisions, world=world, queue=queue, run=None, now=NOW)


def test_simple_decision_reserves_allocates_and_sends_a_pick_job():
    store, product = FacilityFactory(), ProductFactory()
    level = stock(store, product, 5)
    line = queued(product=product, quantity=2)
    candidate = Candidate(facility_id=store.pk, code=store.code, name=store.name, score=0.9,
                          ratings={"stock": 1.0, "distance": 1.0, "workload": 1.0, "priority": 0.4, "kind": 0.5},
                          distance_km=1.2)

    result = apply([decision(line.order_id, allocations=[(line.pk, store.pk, 2)], candidates=[candidate])])

    line.refresh_from_db()
    request = FulfillmentRequest.objects.get()
    assert (line.status, line.allocated_facility_id, line.fulfillment_request_id, line.queue) == (
        "ALLOCATED", store.pk, request.pk, "")
    assert (request.number, request.status, request.facility_id) == (f"{line.order.name}-1", "PROCESSED", store.pk)
    assert (result.lines_allocated, result.lines_parked, result.request_ids) == (1, 0, [request.pk])
    level.refresh_from_db()
    assert level.reserved == 2
    reservations = InventoryAdjustment.objects.filter(reason="RESERVE")
    assert list(reservations.values_list("reserved_delta", "order_line_id")) == [(2, line.pk)]
    job = PickJob.objects.get()
    assert (job.fulfillment_request_id, job.facility_id, job.status) == (request.pk, store.pk, "OPEN")
    assert list(job.lines.values_list("order_line_id", "quantity")) == [(line.pk, 2)]
    assert sorted(TransitionLog.objects.values_list("object_type", "transition", "source_state", "target_state")) == [
        ("fulfillmentrequest", "mark_sent", "PROCESSING", "PROCESSED"),
        ("fulfillmentrequest", "process", "UNPROCESSED", "PROCESSING"),
        ("orderline", "allocate", "QUEUED", "ALLOCATED"),
    ]
    assert set(TransitionLog.objects.values_list("order_id", flat=True)) == {line.order_id}
    stored = RoutingDecision.objects.get()
    assert stored.outcome == "ALLOCATED"
    assert stored.details["allocations"] == [
        {"facility_id": store.pk, "facility": store.code, "line_id": line.pk, "quantity": 2}]
    assert stored.details["candidates"][0]["distance_km"] == 1.2
    assert stock_ledger_problems() == []


def test_split_line_parts_add_up_each_with_its_own_reservation():
    first, second, barred = FacilityFactory(), FacilityFactory(), FacilityFactory()
    product = ProductFactory()
    stock(first, product, 3)
    stock(second, product, 2)
    line = queued(product=product, quantity=5, kind="STANDARD", pickup_store_code="")
    line.excluded_facilities.add(barred)

    result = apply([decision(line.order_id, allocations=[(line.pk, first.pk, 3), (line.pk, second.pk, 2)])])

    line.refresh_from_db()
    split = OrderLine.objects.get(parent=line)
    assert (line.quantity, line.allocated_facility_id) == (3, first.pk)
    assert (split.quantity, split.allocated_facility_id, split.status) == (2, second.pk, "ALLOCATED")
    assert (split.external_line_id, split.kind, split.product_id, split.order_id) == (
        line.external_line_id, line.kind, line.product_id, line.order_id)
    assert list(split.excluded_facilities.all()) == [barred]
    assert sorted(FulfillmentRequest.objects.values_list("number", flat=True)) == [
        f"{line.order.name}-1", f"{line.order.name}-2"]
    reservations = InventoryAdjustment.objects.filter(reason="RESERVE")
    assert sorted(reservations.values_list("order_line_id", "reserved_delta")) == [(line.pk, 3), (split.pk, 2)]
    assert TransitionLog.objects.filter(object_type="orderline", object_id=split.pk, transition="allocate").exists()
    assert (result.lines_allocated, result.lines_parked) == (1, 0)
    assert stock_ledger_problems() == []


def test_line_divided_between_a_facility_and_unfillable_splits_and_parks_the_rest():
    store, product = FacilityFactory(), ProductFactory()
    stock(store, product, 1)
    line = queued(product=product, quantity=4)

    result = apply([decision(line.order_id, allocations=[(line.pk, store.pk, 1)], parked=[(line.pk, 3, "UNFILLABLE")])])

    line.refresh_from_db()
    rest = OrderLine.objects.get(parent=line)
    assert (line.status, line.quantity) == ("ALLOCATED", 1)
    assert (rest.status, rest.queue, rest.quantity, rest.auto_cancel_at, rest.queued_at) == (
        "QUEUED", "UNFILLABLE", 3, NOW + timedelta(days=7), NOW)
    assert (result.lines_allocated, result.lines_parked) == (0, 1)
    assert RoutingDecision.objects.get().outcome == "PARTIAL"
    assert OrderNote.objects.get().text == f"3 units of SKU {product.sku} moved to UNFILLABLE: no facility has stock."


def test_parked_line_gets_its_rules_auto_cancel_date_unless_it_already_has_one():
    rule = RoutingRule.objects.create(name="Ship", position=1, auto_cancel_days=3)
    product = ProductFactory()
    fresh = queued(queue="REJECTED", product=product, quantity=2)
    dated = queued(queue="REJECTED", product=product, quantity=1, auto_cancel_at=NOW + timedelta(days=1))

    apply([decision(line.order_id, parked=[(line.pk, line.quantity, "UNFILLABLE")], rule_id=rule.pk)
           for line in (fresh, dated)], queue="REJECTED")

    fresh.refresh_from_db()
    dated.refresh_from_db()
    assert (fresh.status, fresh.queue, fresh.auto_cancel_at) == ("QUEUED", "UNFILLABLE", NOW + timedelta(days=3))
    assert (dated.status, dated.queue, dated.auto_cancel_at) == ("QUEUED", "UNFILLABLE", NOW + timedelta(days=1))
    assert not TransitionLog.objects.exists()  # a queue move is no transition
    assert OrderNote.objects.filter(order=fresh.order).get().text.startswith("2 units of SKU")
    assert RoutingDecision.objects.filter(outcome="PARKED", rule=rule).count() == 2


def test_line_already_in_its_parking_is_left_as_it_is():
    line = queued(queue="UNFILLABLE", quantity=1, auto_cancel_at=NOW + timedelta(days=2))
    queued_at = line.queued_at

    apply([decision(line.order_id, parked=[(line.pk, 1, "UNFILLABLE")])], queue="UNFILLABLE")

    line.refresh_from_db()
    assert (line.queue, line.queued_at, line.auto_cancel_at) == ("UNFILLABLE", queued_at, NOW + timedelta(days=2))
    assert not OrderNote.objects.exists()


def test_unfillable_lines_are_told_to_the_shop_when_configured(settings):
    settings.SHOP_NOTIFY_UNFILLABLE = True
    line = queued(quantity=2)
    pickup_store = FacilityFactory()
    pickup = queued(line.order, quantity=1, pickup_store_code=pickup_store.code, pickup_facility=pickup_store)

    apply([decision(line.order_id, parked=[(line.pk, 2, "UNFILLABLE"), (pickup.pk, 1, "BOPIS_REJECTED")])])

    # The pickup line goes to BOPIS_REJECTED: not unfillable (the customer is emailed its alternatives instead).
    message = OutboxMessage.objects.get(destination="SHOP")
    assert OutboxMessage.objects.get(destination="EMAIL").kind == "pickup-alternatives"
    assert (message.kind, message.destination, message.idempotency_key) == (
        "lines-unfillable", "SHOP", f"lines-unfillable:{line.pk}:UNFILLABLE")
    assert message.payload["line"] == {"external_line_id": line.external_line_id, "sku": line.sku, "quantity": 2}
    pickup.refresh_from_db()
    assert (pickup.queue, pickup.auto_cancel_at) == ("BOPIS_REJECTED", None)


def test_manual_facility_and_wms_warehouse_requests_stay_unprocessed_without_pick_job():
    manual = FacilityFactory(processing_mode=Facility.Processing.MANUAL)
    wms = FacilityFactory(kind=Facility.Kind.WAREHOUSE, fulfilled_by_wms=True)
    product = ProductFactory()
    lines = []
    for facility in (manual, wms):
        stock(facility, product, 1)
        line = queued(product=product, quantity=1)
        lines.append((line, facility))

    apply([decision(line.order_id, allocations=[(line.pk, facility.pk, 1)]) for line, facility in lines])

    assert list(FulfillmentRequest.objects.values_list("status", flat=True)) == ["UNPROCESSED", "UNPROCESSED"]
    assert not PickJob.objects.exists()
    assert not TransitionLog.objects.filter(object_type="fulfillmentrequest").exists()
    assert OrderLine.objects.filter(status="ALLOCATED").count() == 2
    assert stock_ledger_problems() == []


def test_request_numbers_continue_from_the_orders_earlier_requests():
    store, product = FacilityFactory(), ProductFactory()
    stock(store, product, 1)
    line = queued(product=product, quantity=1)
    FulfillmentRequest.objects.create(order=line.order, facility=store, number=f"{line.order.name}-1",
                                      status="CANCELED", created_at=NOW - timedelta(days=1))

    apply([decision(line.order_id, allocations=[(line.pk, store.pk, 1)])])

    assert line.order.fulfillment_requests.latest("pk").number == f"{line.order.name}-2"


def test_order_whose_stock_was_taken_meanwhile_is_undone_and_can_be_decided_again():
    first, second, product = FacilityFactory(), FacilityFactory(), ProductFactory()
    stock(first, product, 3)
    stock(second, product, 3)
    early, late = queued(product=product, quantity=2), queued(product=product, quantity=2)
    world = world_load(now=NOW)  # the run reads 3 available at the first store
    # Behind the run's back an associate allocates 1 unit there to another order.
    manual = queued(product=product, quantity=1)
    with transaction.atomic():
        assert stock_reserve(facility_id=first.pk, product_id=product.pk, quantity=1, order_line_id=manual.pk)
        manual.allocated_facility = first
        transit_and_save(manual, "allocate", at=NOW)

    result = apply([decision(line.order_id, allocations=[(line.pk, first.pk, 2)]) for line in (early, late)],
                   world=world)

    assert result.conflicted_order_ids == {late.order_id}
    late.refresh_from_db()
    assert (late.status, late.queue) == ("QUEUED", "BROKERING")
    assert not late.order.fulfillment_requests.exists() and not late.order.routing_decisions.exists()
    assert not InventoryAdjustment.objects.filter(order_line=late).exists()

    again = apply([decision(late.order_id, allocations=[(late.pk, second.pk, 2)])])

    assert again.conflicted_order_ids == set()
    assert OrderLine.objects.filter(status="ALLOCATED").count() == 3
    assert [level.reserved <= level.on_hand for level in StockLevel.objects.all()] == [True, True]
    assert stock_ledger_problems() == []


def test_reserve_many_reserves_row_totals_and_reports_rows_that_fall_short():
    store, product, scarce = FacilityFactory(), ProductFactory(), ProductFactory()
    plenty, short = stock(store, product, 5), stock(store, scarce, 2)
    lines = [queued(product=product), queued(product=product), queued(product=scarce)]

    with transaction.atomic():
        result = stock_reserve_many(
            reservations=[(plenty.pk, 2, lines[0].pk), (plenty.pk, 3, lines[1].pk), (short.pk, 3, lines[2].pk)],
            source="test", now=NOW,
        )

    assert result == {short.pk}
    plenty.refresh_from_db()
    short.refresh_from_db()
    assert (plenty.reserved, short.reserved) == (5, 0)
    assert sorted(InventoryAdjustment.objects.filter(reason="RESERVE").values_list("order_line_id", "reserved_delta")) \
        == [(lines[0].pk, 2), (lines[1].pk, 3)]


def test_release_many_gives_reservations_back_and_refuses_more_than_is_reserved():
    store, product = FacilityFactory(), ProductFactory()
    level = stock(store, product, 5)
    with transaction.atomic():
        stock_reserve_many(reservations=[(level.pk, 4, None)], now=NOW)

    with pytest.raises(StockError), transaction.atomic():
        stock_release_many(releases=[(level.pk, 3, None), (level.pk, 2, None)], now=NOW)
    with transaction.atomic():
        stock_release_many(releases=[(level.pk, 3, None), (level.pk, 1, None)], source="test", now=NOW)

    level.refresh_from_db()
    assert level.reserved == 0
    assert sorted(level.adjustments.filter(reason="RELEASE").values_list("reserved_delta", flat=True)) == [-3, -1]
