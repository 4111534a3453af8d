"""Reading for routing: default rules, the world (facilities, capacity in local time, stock) and queued demand."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction

from fulfillment.models import PickJob
from oms.models import FulfillmentRequest, RoutingRule
from oms.routing.load import demands_load, rules_ensure_defaults, world_load
from stores.models import Facility, StockLevel
from stores.stock import stock_adjust, stock_reserve
from tests.factories import FacilityFactory, OrderFactory, OrderLineFactory, ProductFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 4, 3, 0, tzinfo=UTC)


def pick_job(facility, *, created_at, status=PickJob.Status.OPEN) -> PickJob:
    order = OrderFactory()
    request = FulfillmentRequest.objects.create(order=order, facility=facility, number=f"{order.name}-1",
                                                created_at=created_at)
    job = PickJob.objects.create(facility=facility, order=order, fulfillment_request=request, created_at=created_at)
    if status != PickJob.Status.OPEN:
        PickJob.objects.filter(pk=job.pk).update(status=status)
    return job


def test_default_rules_are_created_when_there_are_none():
    rules = rules_ensure_defaults()

    assert [(r.position, r.name, r.delivery, r.max_facilities, r.unfilled_action) for r in rules] == [
        (10, "Pickup at the chosen store", "PICKUP", 1, "PARK"),
        (20, "Ship whole from one place", "SHIP", 1, "NEXT_RULE"),
        (30, "Ship split across up to 3", "SHIP", 3, "PARK"),
    ]


def test_existing_rules_are_kept_and_only_active_ones_returned_in_position_order():
    RoutingRule.objects.create(name="Later", position=5)
    RoutingRule.objects.create(name="First", position=1)
    RoutingRule.objects.create(name="Off", position=3, is_active=False)

    assert [rule.name for rule in rules_ensure_defaults()] == ["First", "Later"]
    assert RoutingRule.objects.count() == 3


def test_capacity_counts_jobs_since_local_midnight_in_each_facilitys_zone():
    now = datetime(2025, 3, 4, 18, 0, tzinfo=UTC)  # Tuesday: 12:00 in Chicago, 19:00 in Berlin
    chicago = FacilityFactory(time_zone="America/Chicago", daily_capacity=10)
    berlin = FacilityFactory(time_zone="Europe/Berlin", country="DE", daily_capacity=10)
    # Today in UTC but Monday 21:00 in Chicago: yesterday there, not counted.
    pick_job(chicago, created_at=datetime(2025, 3, 4, 3, 0, tzinfo=UTC))
    pick_job(chicago, created_at=datetime(2025, 3, 4, 15, 0, tzinfo=UTC))  # 09:00 local: counted
    # Yesterday in UTC but Tuesday 00:30 in Berlin: today there, counted.
    pick_job(berlin, created_at=datetime(2025, 3, 3, 23, 30, tzinfo=UTC))
    pick_job(berlin, created_at=datetime(2025, 3, 3, 22, 30, tzinfo=UTC))  # Monday 23:30 local: not counted
    pick_job(chicago, created_at=now + timedelta(minutes=5))  # after the run's now (a backdated run)

    world = world_load(now=now)

    assert world.facilities[chicago.pk].jobs_today == 1
    assert world.facilities[berlin.pk].jobs_today == 1
    assert world.facilities[berlin.pk].capacity_left == 9


def test_open_jobs_count_open_and_in_progress_jobs_of_any_day():
    store = FacilityFactory()
    pick_job(store, created_at=NOW - timedelta(days=3))
    pick_job(store, created_at=NOW - timedelta(days=2), status=PickJob.Status.IN_PROGRESS)
    pick_job(store, created_at=NOW - timedelta(days=1), status=PickJob.Status.CLOSED)

    assert world_load(now=NOW).facilities[store.pk].open_jobs == 2


def test_facility_info_reflects_the_facility():
    warehouse = FacilityFactory(kind=Facility.Kind.WAREHOUSE, offers_ship_from_store=False, offers_pickup=False,
                                fulfilled_by_wms=True, priority=8, sells_online=False)
    info = world_load(now=NOW).facilities[warehouse.pk]

    assert (info.code, info.kind, info.ships, info.pickup, info.active_online, info.priority) == (
        warehouse.code, "WAREHOUSE", True, False, False, 8)
    assert (info.daily_capacity, info.capacity_left, info.fulfilled_by_wms, info.processing_mode) == (
        None, None, True, "AUTOMATIC")


def test_stock_holds_only_available_units_of_the_products_asked_for():
    store, other = FacilityFactory(), FacilityFactory()
    wanted, unwanted, gone = ProductFactory(), ProductFactory(), ProductFactory()
    with transaction.atomic():
        for facility, product, units in ((store, wanted, 5), (other, wanted, 2), (store, unwanted, 4),
                                         (store, gone, 1)):
            stock_adjust(facility_id=facility.pk, product_id=product.pk, delta=units, reason="RECEIPT")
        stock_reserve(facility_id=store.pk, product_id=wanted.pk, quantity=1)
        stock_reserve(facility_id=store.pk, product_id=gone.pk, quantity=1)
    StockLevel.objects.filter(facility=other, product=wanted).update(safety_stock=2)

    world = world_load(now=NOW, product_ids={wanted.pk, gone.pk})

    assert world.stock == {wanted.pk: {store.pk: 4}, gone.pk: {}}
    level = StockLevel.objects.get(facility=store, product=wanted)
    assert world.stock_level_ids[wanted.pk] == {store.pk: level.pk}


def test_demand_is_grouped_per_order_with_exclusions_and_coordinates():
    barred = FacilityFactory()
    pickup_store = FacilityFactory()
    located = OrderFactory(priority=3, channel="pos")
    by_zip = OrderFactory(shipping_address={"zip": "60601", "country_code": "US"})
    ship = OrderLineFactory(order=located, status="QUEUED", queue="REJECTED", quantity=2)
    ship.excluded_facilities.add(barred)
    pickup = OrderLineFactory(order=located, status="QUEUED", queue="REJECTED", pickup_store_code=pickup_store.code,
                              pickup_facility=pickup_store, kind="PRE_ORDER")
    zipped = OrderLineFactory(order=by_zip, status="QUEUED", queue="REJECTED")
    # Not demand: another queue, not queued, no product.
    OrderLineFactory(order=located, status="QUEUED", queue="BROKERING")
    OrderLineFactory(order=located, status="ALLOCATED", allocated_facility=barred)
    OrderLineFactory(order=by_zip, status="QUEUED", queue="REJECTED", product=None, sku="UNKNOWN")

    first, second = demands_load(queue="REJECTED")

    assert (first.order_id, first.priority, first.channel, first.country) == (located.pk, 3, "pos", "US")
    assert (first.latitude, first.longitude, first.geocode_note) == (41.88, -87.63, "")
    assert [(ln.line_id, ln.quantity, ln.excluded, ln.pickup_facility_id, ln.kind) for ln in first.lines] == [
        (ship.pk, 2, frozenset({barred.pk}), None, "STANDARD"),
        (pickup.pk, 1, frozenset(), pickup_store.pk, "PRE_ORDER"),
    ]
    assert second.order_id == by_zip.pk and [line.line_id for line in second.lines] == [zipped.pk]
    assert second.latitude is not None and "60601" in second.geocode_note
    assert [demand.order_id for demand in demands_load(queue="REJECTED", order_ids=[by_zip.pk])] == [by_zip.pk]
