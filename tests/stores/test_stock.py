"""The stock module: each change moves the counters and writes exactly one matching ledger entry."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from stores.models import StockLevel
from stores.stock import StockError, stock_adjust, stock_consume, stock_release, stock_reserve, stock_set_count
from tests.factories import FacilityFactory, OrderLineFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def stocked():
    facility, product = FacilityFactory(), ProductFactory()
    with transaction.atomic():
        stock_adjust(facility_id=facility.pk, product_id=product.pk, delta=10, reason="RECEIPT",
                     now=timezone.now() - timedelta(days=2))
    return facility, product


def level_of(facility, product):
    return StockLevel.objects.get(facility=facility, product=product)


def ledger_sums(level):
    entries = list(level.adjustments.values_list("on_hand_delta", "reserved_delta"))
    return sum(e[0] for e in entries), sum(e[1] for e in entries)


def test_handover_takes_units_off_hand_and_reservation_together(stocked):
    facility, product = stocked
    with transaction.atomic():
        stock_reserve(facility_id=facility.pk, product_id=product.pk, quantity=4)
        stock_consume(facility_id=facility.pk, product_id=product.pk, quantity=4)
    level = level_of(facility, product)
    assert (level.on_hand, level.reserved) == (6, 0)
    assert ledger_sums(level) == (6, 0)


def test_handover_of_more_than_on_hand_stops_at_zero_and_records_discrepancy(stocked):
    facility, product = stocked
    with transaction.atomic():
        stock_reserve(facility_id=facility.pk, product_id=product.pk, quantity=8)
        stock_set_count(facility_id=facility.pk, product_id=product.pk, counted=5, counted_at=timezone.now())
        stock_consume(facility_id=facility.pk, product_id=product.pk, quantity=8)
    level = level_of(facility, product)
    assert (level.on_hand, level.reserved) == (0, 0)
    assert level.adjustments.filter(reason="DISCREPANCY", on_hand_delta=3).exists()
    assert ledger_sums(level) == (0, 0)


def test_release_of_more_than_reserved_is_refused(stocked):
    facility, product = stocked
    with pytest.raises(StockError), transaction.atomic():
        stock_release(facility_id=facility.pk, product_id=product.pk, quantity=1)
    assert level_of(facility, product).reserved == 0


def test_decrease_below_zero_stops_at_zero(stocked):
    facility, product = stocked
    with transaction.atomic():
        applied = stock_adjust(facility_id=facility.pk, product_id=product.pk, delta=-25, reason="DAMAGED")
    assert applied == -10
    assert level_of(facility, product).on_hand == 0


def test_late_count_keeps_movements_recorded_after_it_was_taken(stocked):
    facility, product = stocked
    counted_at = timezone.now() - timedelta(hours=1)
    with transaction.atomic():
        # 3 units left after the count was taken; the file arrives later and must not bring them back.
        stock_reserve(facility_id=facility.pk, product_id=product.pk, quantity=3)
        stock_consume(facility_id=facility.pk, product_id=product.pk, quantity=3)
        delta = stock_set_count(facility_id=facility.pk, product_id=product.pk, counted=9, counted_at=counted_at)
    level = level_of(facility, product)
    assert level.on_hand == 6 and delta == -1
    assert ledger_sums(level) == (6, 0)


def test_count_below_reserved_keeps_reservation_and_shows_shortfall(stocked):
    facility, product = stocked
    with transaction.atomic():
        stock_reserve(facility_id=facility.pk, product_id=product.pk, quantity=7)
        stock_set_count(facility_id=facility.pk, product_id=product.pk, counted=4, counted_at=timezone.now())
    level = level_of(facility, product)
    assert (level.on_hand, level.reserved, level.available, level.shortfall) == (4, 7, 0, 3)


def test_stale_count_is_ignored(stocked):
    facility, product = stocked
    now = timezone.now()
    with transaction.atomic():
        stock_set_count(facility_id=facility.pk, product_id=product.pk, counted=4, counted_at=now)
        assert stock_set_count(facility_id=facility.pk, product_id=product.pk, counted=50,
                               counted_at=now - timedelta(minutes=5)) is None
    assert level_of(facility, product).on_hand == 4


@pytest.mark.django_db(transaction=True)
def test_stock_changes_outside_a_transaction_are_refused(stocked):
    facility, product = stocked
    with pytest.raises(RuntimeError, match="transaction"):
        stock_reserve(facility_id=facility.pk, product_id=product.pk, quantity=1)


def test_check_stock_ledger_passes_when_everything_reconciles(stocked, capsys):
    facility, product = stocked
    line = OrderLineFactory(product=product, quantity=2, status="ALLOCATED", allocated_facility=facility)
    with transaction.atomic():
        stock_reserve(facility_id=facility.pk, product_id=product.pk, quantity=2, order_line_id=line.pk)
    call_command("check_stock_ledger")
    assert "reconcile" in capsys.readouterr().out


def test_check_stock_ledger_names_a_row_corrupted_behind_its_back(stocked, capsys):
    facility, product = stocked
    level = level_of(facility, product)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE stores_stocklevel SET on_hand = on_hand + 5 WHERE id = %s", [level.pk])
    with pytest.raises(SystemExit) as exit_info:
        call_command("check_stock_ledger")
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert f"stock level {level.pk} ({facility.code} / {product.sku}): on_hand is 15, the ledger says 10" in err


def test_check_stock_ledger_finds_reservation_without_allocated_line(stocked, capsys):
    facility, product = stocked
    with transaction.atomic():
        stock_reserve(facility_id=facility.pk, product_id=product.pk, quantity=2)
    with pytest.raises(SystemExit):
        call_command("check_stock_ledger")
    assert "open allocations hold 0" in capsys.readouterr().err
