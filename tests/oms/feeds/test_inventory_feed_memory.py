"""A 100,000-row inventory file imports in bounded memory: its peak stays within 1.5× of a 10,000-row file's."""

import time
import tracemalloc
from datetime import timedelta

import pytest
from django.utils import timezone

from oms.feeds.inventory import inventory_feed_import
from oms.models import FeedFile, Product
from stores.models import Facility, StockLevel
from tests.factories import ean13

pytestmark = pytest.mark.django_db

PRODUCTS = 500
FACILITIES = 200


@pytest.fixture
def catalog():
    """The demo-size catalog: 500 products and 200 facilities (codes M-000 …), no stock yet."""
    Product.objects.bulk_create(
        Product(sku=f"M-{n:04d}", barcode=ean13(470000000000 + n), name=f"Product {n}") for n in range(PRODUCTS))
    Facility.objects.bulk_create(
        Facility(code=f"M-{n:03d}", name=f"Store {n}", country="DE", time_zone="Europe/Berlin")
        for n in range(FACILITIES))


def write_counts(path, *, rows: int, counted_at: str) -> None:
    """rows counts, streamed to the file: every product of facility M-000, then M-001 …"""
    with open(path, "w") as out:
        out.write("facility,sku,on_hand,counted_at,bin\n")
        for n in range(rows):
            facility, product = divmod(n, PRODUCTS)
            out.write(f"M-{facility:03d},M-{product:04d},{(n * 7) % 50},{counted_at},B-{product % 40:02d}\n")


def measured_import(path):
    tracemalloc.start()
    tracemalloc.reset_peak()
    started = time.perf_counter()
    try:
        with open(path, "rb") as file:
            result = inventory_feed_import(file, name=path.name, source=FeedFile.Source.COMMAND)
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result.feed, seconds, peak


def test_a_100k_row_file_imports_in_the_memory_of_a_10k_row_file(catalog, tmp_path):
    now = timezone.now()
    warm_up, small, large = tmp_path / "warm-up.csv", tmp_path / "counts-10k.csv", tmp_path / "counts-100k.csv"
    write_counts(warm_up, rows=20, counted_at=(now - timedelta(hours=3)).isoformat())
    write_counts(small, rows=10_000, counted_at=(now - timedelta(hours=2)).isoformat())
    write_counts(large, rows=100_000, counted_at=(now - timedelta(hours=1)).isoformat())
    measured_import(warm_up)  # modules imported and caches filled on first use are not the file's cost

    feed_small, seconds_small, peak_small = measured_import(small)
    feed_large, seconds_large, peak_large = measured_import(large)

    print(f"\n10k rows: {seconds_small:.1f} s, peak {peak_small / 1e6:.2f} MB; "
          f"100k rows: {seconds_large:.1f} s, peak {peak_large / 1e6:.2f} MB (under tracemalloc)")
    assert (feed_small.status, feed_small.rows_total, feed_small.rows_rejected) == ("DONE", 10_000, 0)
    assert (feed_large.status, feed_large.rows_total, feed_large.rows_rejected) == ("DONE", 100_000, 0)
    assert feed_large.rows_applied + feed_large.rows_unchanged == 100_000
    assert StockLevel.objects.count() == 100_000
    assert peak_large <= 1.5 * peak_small
