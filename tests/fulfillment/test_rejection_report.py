"""The rejections report: exact figures on a seeded set of two stores, the period filter, CSV, and who sees it."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from fulfillment.models import PickLine
from fulfillment.rejection import AVOID_SPLIT, line_reject
from fulfillment.reports import rejections_report, rejections_report_csv
from stores.access import operations_group
from tests.factories import ProductFactory, UserFactory
from tests.fulfillment.store_world import routed_order, stock, store_with_people

pytestmark = pytest.mark.django_db


def _reject(facility, manager, job, product, reason, *, quantity=None, now=None):
    line = PickLine.objects.get(pick_job=job, product=product)
    line_reject(facility_id=facility.pk, actor=manager, pick_line_id=line.pk, reason_code=reason,
                version=job.__class__.objects.get(pk=job.pk).version, quantity=quantity, now=now)


@pytest.fixture
def world():
    """CHI-01 (partial rejection): 7 units allocated, 3 rejected in the period (2 damaged shirts, 1 mug not in
    stock) and 1 shirt 40 days ago. NYC-02 (full rejection): 3 units allocated, 2 hats rejected as worn display
    and 1 scarf sent along to avoid the split."""
    now = timezone.now()
    chi, _, chi_manager = store_with_people("CHI-01")
    nyc, _, nyc_manager = store_with_people("NYC-02", allow_partial_rejection=False)
    shirt, mug = ProductFactory(sku="SHIRT", name="Shirt"), ProductFactory(sku="MUG", name="Mug")
    hat, scarf = ProductFactory(sku="HAT", name="Hat"), ProductFactory(sku="SCARF", name="Scarf")
    for product in (shirt, mug):
        stock(chi, product, 10)
    for product in (hat, scarf):
        stock(nyc, product, 10)
    _, job1 = routed_order(chi, [(shirt, 2), (mug, 1)])
    _, job2 = routed_order(chi, [(shirt, 1)])
    _, job3 = routed_order(chi, [(mug, 3)])
    _, job4 = routed_order(nyc, [(hat, 2), (scarf, 1)])
    _reject(chi, chi_manager, job1, shirt, "damaged")
    _reject(chi, chi_manager, job3, mug, "not-in-stock", quantity=1)
    _reject(chi, chi_manager, job2, shirt, "mismatch", now=now - timedelta(days=40))
    _reject(nyc, nyc_manager, job4, hat, "worn-display")
    today = timezone.localdate()
    return {"chi": chi, "nyc": nyc, "start": today - timedelta(days=6), "end": today, "chi_manager": chi_manager}


def test_most_rejected_items_in_the_period(world):
    report = rejections_report(start=world["start"], end=world["end"])
    assert [(row.sku, row.units, row.rejections) for row in report.items] == [
        ("HAT", 2, 1), ("SHIRT", 2, 1), ("MUG", 1, 1), ("SCARF", 1, 1)]


def test_counts_by_reason(world):
    report = rejections_report(start=world["start"], end=world["end"])
    assert [(row.reason, row.units) for row in report.reasons] == [
        ("Damaged", 2), ("Worn display item", 2), ("Not in stock", 1), (AVOID_SPLIT, 1)]
    assert report.rejected_units == 6


def test_rejection_rate_per_store_is_rejected_over_allocated_units(world):
    report = rejections_report(start=world["start"], end=world["end"])
    assert [(row.code, row.allocated_units, row.rejected_units, row.rate) for row in report.stores] == [
        ("CHI-01", 7, 3, Decimal("42.9")), ("NYC-02", 3, 3, Decimal("100.0"))]


def test_one_store_and_an_older_period(world):
    report = rejections_report(facility=world["chi"], start=world["start"], end=world["end"])
    assert [row.code for row in report.stores] == ["CHI-01"]
    assert [row.reason for row in report.reasons] == ["Damaged", "Not in stock"]
    old = timezone.localdate() - timedelta(days=40)
    report = rejections_report(facility=world["chi"], start=old, end=old)
    assert [(row.reason, row.units) for row in report.reasons] == [
        ("Mismatch (item differs from the listing)", 1)]
    assert [(row.allocated_units, row.rejected_units, row.rate) for row in report.stores] == [(0, 1, None)]


def test_csv_has_every_section(world):
    rows = list(csv.reader(io.StringIO(rejections_report_csv(
        rejections_report(start=world["start"], end=world["end"])))))
    assert rows[0][0] == "section"
    assert ["store", "CHI-01", "Store CHI-01", "3", "", "7", "42.9"] in rows
    assert ["reason", AVOID_SPLIT, AVOID_SPLIT, "1", "1", "", ""] in rows
    assert sum(1 for row in rows if row[0] == "item") == 4


def test_store_manager_sees_their_stores_report_and_downloads_csv(client, world):
    client.force_login(world["chi_manager"])
    url = reverse("fulfillment:store-rejections-report", args=["CHI-01"])
    page = client.get(url, {"start": world["start"], "end": world["end"]}).content.decode()
    assert "42.9 %" in page and "NYC-02" not in page
    response = client.get(url, {"start": world["start"], "end": world["end"], "format": "csv"})
    assert response["Content-Type"].startswith("text/csv") and b"CHI-01" in response.content
    assert client.get(reverse("fulfillment:store-rejections-report", args=["NYC-02"])).status_code == 404


def test_operations_see_every_store_and_store_users_get_404(client, world):
    ops = UserFactory()
    ops.groups.add(operations_group())
    client.force_login(ops)
    page = client.get(reverse("fulfillment:rejections-report"),
                      {"start": world["start"], "end": world["end"]}).content.decode()
    assert "CHI-01" in page and "NYC-02" in page and "100.0 %" in page
    client.force_login(world["chi_manager"])
    assert client.get(reverse("fulfillment:rejections-report")).status_code == 404


def test_a_reversed_period_is_refused(client, world):
    client.force_login(world["chi_manager"])
    response = client.get(reverse("fulfillment:store-rejections-report", args=["CHI-01"]),
                          {"start": world["end"], "end": world["start"]})
    assert response.status_code == 422
