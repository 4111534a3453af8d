"""Many associates, runs and webhooks reserving the same SKU at once never oversell it.

Threads are released together by a Barrier against real PostgreSQL. The same harness run against a
deliberately naive read-then-write reservation must detect the oversell: proof the test can fail.
"""

import threading
import time

import pytest
from django.core.management import call_command
from django.db import close_old_connections, connection, transaction
from django.db.models import F

from oms.core.history import transit_and_save
from oms.models import OrderLine
from stores.models import InventoryAdjustment, StockLevel
from stores.stock import stock_adjust, stock_reserve
from tests.factories import FacilityFactory, OrderLineFactory, ProductFactory

THREADS = 10
UNITS_EACH = 2
ON_HAND = 11
SAFETY = 1  # available = 11 - 0 - 1 = 10: room for exactly 5 of the 10 requests


def naive_reserve(*, facility_id, product_id, quantity, order_line_id, now=None, **_):
    """Read, decide in Python, write: the race every stock system must avoid. Kept to prove the test."""
    level = StockLevel.objects.get(facility_id=facility_id, product_id=product_id)
    if level.on_hand - level.reserved - level.safety_stock < quantity:
        return False
    time.sleep(0.05)  # the gap in which another transaction reads the same numbers
    StockLevel.objects.filter(pk=level.pk).update(reserved=level.reserved + quantity)
    InventoryAdjustment.objects.create(
        stock_level=level, reserved_delta=quantity, reason="RESERVE", order_line_id=order_line_id,
        created_at=level.updated_at,
    )
    return True


def allocate_concurrently(reserve, facility, product, lines):
    """Each thread tries to reserve for one queued line and allocate it, all starting at once."""
    barrier = threading.Barrier(len(lines))
    results: dict[int, bool] = {}
    errors: list[BaseException] = []

    def worker(line_id):
        try:
            barrier.wait(timeout=10)
            with transaction.atomic():
                line = OrderLine.objects.select_for_update().get(pk=line_id)
                ok = reserve(facility_id=facility.pk, product_id=product.pk, quantity=line.quantity,
                             order_line_id=line.pk, source=f"line {line.pk}")
                if ok:
                    line.allocated_facility = facility
                    transit_and_save(line, "allocate", at=line.order.received_at, reason="test allocation")
            results[line_id] = ok
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=worker, args=(line.pk,)) for line in lines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    return results


@pytest.fixture
def contested_stock(transactional_db):
    facility = FacilityFactory()
    product = ProductFactory()
    with transaction.atomic():
        stock_adjust(facility_id=facility.pk, product_id=product.pk, delta=ON_HAND, reason="RECEIPT", source="test")
    StockLevel.objects.filter(facility=facility, product=product).update(safety_stock=SAFETY)
    lines = [
        OrderLineFactory(product=product, quantity=UNITS_EACH, status="QUEUED", queue="BROKERING")
        for _ in range(THREADS)
    ]
    return facility, product, lines


def oversold(facility, product, results) -> list[str]:
    """What is wrong after the race: empty when exactly the available units were promised."""
    level = StockLevel.objects.get(facility=facility, product=product)
    promised = sum(UNITS_EACH for ok in results.values() if ok)
    available = ON_HAND - SAFETY
    problems = []
    if promised != available:
        problems.append(f"promised {promised} units but {available} were available")
    if level.reserved != promised:
        problems.append(f"reserved is {level.reserved} but {promised} units were promised")
    if level.reserved > level.on_hand - level.safety_stock:
        problems.append(f"reserved {level.reserved} exceeds sellable {level.on_hand - level.safety_stock}")
    return problems


def test_concurrent_reservations_never_oversell(contested_stock):
    facility, product, lines = contested_stock
    results = allocate_concurrently(stock_reserve, facility, product, lines)

    assert oversold(facility, product, results) == []
    assert sum(results.values()) == (ON_HAND - SAFETY) // UNITS_EACH
    level = StockLevel.objects.get(facility=facility, product=product)
    assert level.on_hand == ON_HAND and level.reserved >= 0
    assert OrderLine.objects.filter(status="ALLOCATED").count() == sum(results.values())
    call_command("check_stock_ledger")  # raises SystemExit(1) on any mismatch


def test_naive_read_then_write_reservation_is_caught_overselling(contested_stock):
    facility, product, lines = contested_stock
    results = allocate_concurrently(naive_reserve, facility, product, lines)

    assert oversold(facility, product, results), "the harness failed to detect a racy reservation"


def test_reserve_refuses_more_than_available_and_writes_nothing(transactional_db):
    facility, product = FacilityFactory(), ProductFactory()
    with transaction.atomic():
        stock_adjust(facility_id=facility.pk, product_id=product.pk, delta=3, reason="RECEIPT")
        assert stock_reserve(facility_id=facility.pk, product_id=product.pk, quantity=4) is False
        assert stock_reserve(facility_id=facility.pk, product_id=product.pk, quantity=3) is True
    level = StockLevel.objects.get(facility=facility, product=product)
    assert (level.on_hand, level.reserved) == (3, 3)
    assert list(level.adjustments.values_list("reason", "reserved_delta")) == [("RECEIPT", 0), ("RESERVE", 3)]
    # F() is what the service must use; a direct raw UPDATE below zero is refused by the database.
    with pytest.raises(Exception, match="stock_reserved_not_negative"), transaction.atomic():
        StockLevel.objects.filter(pk=level.pk).update(reserved=F("reserved") - 10)
