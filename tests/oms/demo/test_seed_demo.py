"""seed_demo: a US demo world of stores, catalog, stock, users and shop orders, seeded once and idempotently."""

from collections import Counter

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, Sum
from django.test import RequestFactory
from django.utils import timezone

from fulfillment.ledger import stock_ledger_problems
from oms.models import Order, OrderLine, Product, ShopWebhook
from stores.access import OPERATIONS_GROUP
from stores.models import Facility, InventoryAdjustment, StockLevel, StoreMembership, validate_opening_hours
from tests.factories import ean13

US_TIME_ZONES = {"America/New_York", "America/Chicago", "America/Denver", "America/Phoenix", "America/Los_Angeles"}


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """Seed once for the whole module inside a transaction that is rolled back at the end.

    Each test runs in its own savepoint inside it, so a test that seeds again or changes a row
    leaves the next test the freshly seeded world.
    """
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("seed_demo", stdout=_Discard())
        yield
        transaction.set_rollback(True)


class _Discard:
    def write(self, *args, **kwargs):
        pass

    def flush(self):
        pass


pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("seeded")]


def world_snapshot() -> dict:
    """Every count and stock sum a second seed must leave alone."""
    stock = StockLevel.objects.aggregate(on_hand=Sum("on_hand"), reserved=Sum("reserved"))
    ledger = InventoryAdjustment.objects.aggregate(on_hand=Sum("on_hand_delta"), reserved=Sum("reserved_delta"))
    models = (Facility, Product, StockLevel, InventoryAdjustment, get_user_model(), StoreMembership, Order,
              OrderLine, ShopWebhook)
    return {model.__name__: model.objects.count() for model in models} | {
        "stock": stock, "ledger": ledger, "orders": sorted(Order.objects.values_list("external_id", "status")),
    }


def test_seeds_twenty_us_stores_and_two_warehouses():
    stores = Facility.objects.filter(kind=Facility.Kind.STORE)
    warehouses = Facility.objects.filter(kind=Facility.Kind.WAREHOUSE)
    assert stores.count() >= 20
    assert warehouses.count() == 2
    assert warehouses.filter(fulfilled_by_wms=True).count() == 1
    assert set(Facility.objects.values_list("country", flat=True)) == {"US"}
    assert set(Facility.objects.values_list("time_zone", flat=True)) <= US_TIME_ZONES
    assert {"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"} <= set(
        stores.values_list("time_zone", flat=True)
    )


def test_every_facility_has_coordinates_an_address_and_valid_opening_hours():
    for facility in Facility.objects.all():
        validate_opening_hours(facility.opening_hours)
        assert 24 < facility.latitude < 49 and -125 < facility.longitude < -66, facility.code
        assert facility.address1 and facility.city and facility.postal_code, facility.code


def test_stores_mix_pickup_and_ship_from_store_with_a_daily_capacity():
    stores = Facility.objects.filter(kind=Facility.Kind.STORE)
    services = Counter(stores.values_list("offers_pickup", "offers_ship_from_store"))
    assert services[(True, True)] > services[(True, False)] > 0
    assert services[(False, True)] > 0
    assert all(40 <= capacity <= 120 for capacity in stores.values_list("daily_capacity", flat=True))


def test_catalog_has_about_five_hundred_products_with_unique_valid_ean13_barcodes():
    barcodes = list(Product.objects.values_list("barcode", flat=True))
    assert 450 <= len(barcodes) <= 550
    assert len(set(barcodes)) == len(barcodes)
    invalid = [code for code in barcodes if len(code) != 13 or not code.isdigit() or ean13(int(code[:12])) != code]
    assert invalid == []
    assert not Product.objects.filter(weight_grams=0).exists()


def test_warehouses_carry_most_products_and_stores_a_subset_each_in_a_bin():
    products = Product.objects.count()
    carried = dict(StockLevel.objects.values_list("facility__code").annotate(n=Count("pk")).values_list(
        "facility__code", "n"))
    for facility in Facility.objects.all():
        share = carried.get(facility.code, 0) / products
        if facility.kind == Facility.Kind.WAREHOUSE:
            assert share > 0.75, facility.code
        else:
            assert 0.1 < share < 0.5, facility.code
    assert not StockLevel.objects.filter(bin_location="").exists()
    assert not StockLevel.objects.filter(on_hand__lte=0).exists()


def test_stock_ledger_reconciles_after_seeding():
    sums = {
        row["stock_level_id"]: (row["on_hand"], row["reserved"])
        for row in InventoryAdjustment.objects.values("stock_level_id").annotate(
            on_hand=Sum("on_hand_delta"), reserved=Sum("reserved_delta"))
    }
    levels = list(StockLevel.objects.values_list("pk", "on_hand", "reserved"))
    assert levels
    assert [(pk, on_hand, reserved) for pk, on_hand, reserved in levels if sums.get(pk) != (on_hand, reserved)] == []
    # Opening stock, and the reservations of the brokering run the seed ends with.
    assert set(InventoryAdjustment.objects.values_list("reason", flat=True)) == {
        InventoryAdjustment.Reason.RECEIPT, InventoryAdjustment.Reason.RESERVE,
    }
    assert stock_ledger_problems() == []


def test_seed_ends_with_approval_and_a_brokering_run_so_stores_have_work_waiting():
    from fulfillment.models import PickJob
    from oms.models import BrokeringRun, OrderLine

    run = BrokeringRun.objects.get(queue="BROKERING")
    assert run.status == "SUCCEEDED" and run.lines_allocated > 0.9 * run.lines_considered
    assert not OrderLine.objects.filter(status="QUEUED", queue="BROKERING").exists()
    stores_with_work = PickJob.objects.filter(status="OPEN").values("facility").distinct().count()
    assert stores_with_work >= 10


def test_every_store_has_an_associate_and_a_manager_and_ops_is_in_operations():
    for store in Facility.objects.filter(kind=Facility.Kind.STORE):
        prefix = store.code.replace("-", "").lower()
        roles = dict(StoreMembership.objects.filter(facility=store).values_list("user__username", "role"))
        assert roles == {f"{prefix}-associate": "ASSOCIATE", f"{prefix}-manager": "MANAGER"}
    User = get_user_model()
    assert User.objects.get(username="ops").groups.filter(name=OPERATIONS_GROUP).exists()
    assert User.objects.get(username="admin").is_superuser


def test_demo_users_log_in_with_the_shared_password():
    for username in ("admin", "ops", "nyc01-manager", "chi01-associate"):
        login = RequestFactory().post("/accounts/login/")
        assert authenticate(login, username=username, password="storefill-demo") is not None, username


def test_about_two_hundred_orders_of_every_kind_come_through_the_shop_import():
    orders = list(Order.objects.prefetch_related("lines"))
    assert 180 <= len(orders) <= 220
    assert ShopWebhook.objects.filter(topic="orders/create", result="created").count() == len(orders)
    methods = Counter(order.delivery_method for order in orders)
    assert methods["SHIP"] > methods["PICKUP"] > methods["MIXED"] > 0
    kinds = set(OrderLine.objects.values_list("kind", flat=True))
    assert kinds == {OrderLine.Kind.STANDARD, OrderLine.Kind.PRE_ORDER, OrderLine.Kind.BACKORDER}
    assert any("HOLD" in order.tags for order in orders)
    assert any(order.payment_status == "pending" for order in orders)
    assert {problem["code"] for order in orders for problem in order.problems} == {"UNKNOWN_SKU"}


def test_pickup_lines_name_a_store_that_offers_pickup():
    pickup_lines = OrderLine.objects.exclude(pickup_store_code="").select_related("pickup_facility")
    assert pickup_lines.exists()
    assert all(line.pickup_facility and line.pickup_facility.offers_pickup for line in pickup_lines)


def test_pre_orders_promise_a_future_date():
    promised = OrderLine.objects.filter(kind=OrderLine.Kind.PRE_ORDER).values_list("promise_date", flat=True)
    assert promised and all(day and day > timezone.localdate() for day in promised)


def test_seeding_again_changes_nothing():
    before = world_snapshot()
    call_command("seed_demo", stdout=_Discard())
    assert world_snapshot() == before


def test_seeding_again_keeps_a_changed_password_and_edited_facility():
    User = get_user_model()
    manager = User.objects.get(username="nyc01-manager")
    manager.set_password("changed-by-the-manager")
    manager.save()
    Facility.objects.filter(code="NYC-01").update(daily_capacity=7)
    call_command("seed_demo", stdout=_Discard())
    assert authenticate(RequestFactory().post("/accounts/login/"), username="nyc01-manager",
                        password="changed-by-the-manager") is not None
    assert Facility.objects.get(code="NYC-01").daily_capacity == 7


def test_seed_leaves_work_at_packing_the_carrier_and_the_counter_and_adds_none_the_second_time():
    from fulfillment.models import HandoverJob, PackJob, Parcel

    waiting_to_pack = PackJob.objects.filter(status=PackJob.Status.OPEN).count()
    for_the_carrier = HandoverJob.objects.filter(channel=HandoverJob.Channel.CARRIER, status="OPEN")
    at_the_counter = HandoverJob.objects.filter(channel=HandoverJob.Channel.CUSTOMER, status="OPEN")
    assert waiting_to_pack >= 3 and for_the_carrier.count() >= 3 and at_the_counter.count() >= 3
    assert all(handover.pickup_code for handover in at_the_counter)
    assert not Parcel.objects.filter(shipment__handovers__in=for_the_carrier).exclude(status="LABELED").exists()

    call_command("seed_demo", stdout=_Discard())

    assert PackJob.objects.count() == waiting_to_pack + for_the_carrier.count()
    assert HandoverJob.objects.filter(channel=HandoverJob.Channel.CUSTOMER).count() == at_the_counter.count()
    assert stock_ledger_problems() == []
