"""stock_set_counts: a chunk of counts applied set-wise, exactly as stock_set_count one by one."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from stores.models import InventoryAdjustment, StockLevel
from stores.stock import (
    Count,
    StockError,
    ledger_mismatches,
    stock_adjust,
    stock_consume,
    stock_reserve,
    stock_set_count,
    stock_set_counts,
)
from tests.factories import FacilityFactory, ProductFactory

pytestmark = pytest.mark.django_db


def history(facility, products, now):
    """10 received two days ago, 4 reserved, 1 handed over an hour ago, for each product; the third has no stock."""
    with transaction.atomic():
        for product in products[:2]:
            stock_adjust(facility_id=facility.pk, product_id=product.pk, delta=10, reason="RECEIPT",
                         now=now - timedelta(days=2))
            stock_reserve(facility_id=facility.pk, product_id=product.pk, quantity=4, now=now - timedelta(days=2))
            stock_consume(facility_id=facility.pk, product_id=product.pk, quantity=1, now=now - timedelta(hours=1))


def chunk(facility, products, now):
    a, b, c = products
    return [
        Count(facility.pk, a.pk, 7, now - timedelta(hours=2), "A-1"),  # before the handover: 7 - 1
        Count(facility.pk, b.pk, 2, now - timedelta(minutes=30)),  # below reserved
        Count(facility.pk, c.pk, 5, now - timedelta(minutes=30), "C-1"),  # a new stock level
        Count(facility.pk, a.pk, 8, now - timedelta(hours=3), "X-9"),  # older than the count before it: stale
        Count(facility.pk, b.pk, 3, now - timedelta(minutes=20)),  # newer: wins
        Count(facility.pk, b.pk, 3, now - timedelta(minutes=10)),  # newer, the same result: unchanged
    ]


def outcome(facility):
    levels = StockLevel.objects.filter(facility=facility).order_by("product__sku")
    entries = InventoryAdjustment.objects.filter(stock_level__facility=facility, reason="COUNT")
    return ([(lv.on_hand, lv.reserved, lv.bin_location, lv.last_counted_at) for lv in levels],
            sorted(entries.values_list("on_hand_delta", "note")))


def test_a_chunk_of_counts_does_what_one_count_at_a_time_does():
    now = timezone.now()
    bulk_store, single_store = FacilityFactory(), FacilityFactory()
    products = [ProductFactory(sku=f"CNT-{n}") for n in range(3)]
    history(bulk_store, products, now)
    history(single_store, products, now)

    with transaction.atomic():
        deltas = stock_set_counts(counts=chunk(bulk_store, products, now), source="bulk", now=now)
    with transaction.atomic():
        one_by_one = [stock_set_count(facility_id=single_store.pk, product_id=count.product_id,
                                      counted=count.counted, counted_at=count.counted_at, now=now)
                      for count in chunk(single_store, products, now)]

    assert deltas == one_by_one == [-3, -7, 5, None, 1, 0]
    levels, _ = outcome(bulk_store)
    assert [level[:2] for level in levels] == [(6, 3), (3, 3), (5, 0)]
    assert [level[2] for level in levels] == ["A-1", "", "C-1"]  # a stale count leaves the bin alone
    assert [level[:2] for level in outcome(single_store)[0]] == [level[:2] for level in levels]
    assert outcome(single_store)[1] == outcome(bulk_store)[1]
    assert ledger_mismatches(open_reservations={(bulk_store.pk, p.pk): 3 for p in products[:2]} | {
        (single_store.pk, p.pk): 3 for p in products[:2]}) == []


def test_a_negative_count_is_refused_and_nothing_changes():
    facility, product = FacilityFactory(), ProductFactory()
    with pytest.raises(StockError), transaction.atomic():
        stock_set_counts(counts=[Count(facility.pk, product.pk, -1, timezone.now())])
    assert not StockLevel.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_counts_outside_a_transaction_are_refused():
    with pytest.raises(RuntimeError, match="transaction"):
        stock_set_counts(counts=[])
