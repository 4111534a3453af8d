"""The feeds page also lists the files written for the ERP/WMS (flagging one not written yet) and the shop pulls."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from oms.models import FeedExport, ShopPull

pytestmark = pytest.mark.django_db


def make(count: int) -> None:
    now = timezone.now()
    for n in range(count):
        FeedExport.objects.create(kind="orders", file_name=f"orders-{n}.csv", rows=n, created_at=now,
                                  written_at=now if n else None)
        ShopPull.objects.create(started_at=now, since=now, until=now, status=ShopPull.Status.OK, found=n)


def test_exports_and_pulls_are_listed_with_an_unwritten_file_flagged(ops_client):
    make(2)
    ShopPull.objects.create(started_at=timezone.now(), since=timezone.now(), until=timezone.now(),
                            status=ShopPull.Status.FAILED, error="StorefillOrdersUpdated: throttled by Shopify")
    page = ops_client.get("/console/feeds/").content.decode()
    assert "orders-0.csv" in page and "orders-1.csv" in page
    assert "not written yet" in page
    assert "throttled by Shopify" in page


def test_the_page_keeps_its_queries_as_exports_and_pulls_grow(ops_client):
    make(2)
    with CaptureQueriesContext(connection) as few:
        ops_client.get("/console/feeds/")
    make(48)
    with CaptureQueriesContext(connection) as many:
        ops_client.get("/console/feeds/")
    assert len(many) == len(few)
