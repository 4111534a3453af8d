"""The export on the real Celery worker: `export_erp_feeds` writes the files and sends WMS requests."""

import pytest

from oms.models import FeedExport, FulfillmentRequest
from oms.tasks import export_erp_feeds
from tests.conftest import wait_for, worker_idle
from tests.factories import ProductFactory

from .erp_world import files, imported_order, read, wms_order, wms_warehouse

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


def test_the_worker_exports_a_new_order_and_a_wms_request(celery_worker):
    order = imported_order()
    _, request = wms_order(wms_warehouse(), [(ProductFactory(sku="LAMP-1"), 2)])

    export_erp_feeds.delay()
    wait_for(lambda: FeedExport.objects.filter(written_at__isnull=False).count() == 2, message="two files written")
    wait_for(worker_idle, message="the worker idle")
    export_erp_feeds.delay()  # a second run finds nothing new
    wait_for(worker_idle, message="the worker idle again")

    [orders] = files("orders")
    assert {row["order"] for row in read(orders)[1]} == {order.name}
    [allocations] = files("allocations")
    assert [row["request"] for row in read(allocations)[1]] == [request.number]
    assert FulfillmentRequest.objects.get(pk=request.pk).status == FulfillmentRequest.Status.PROCESSED
    assert FeedExport.objects.count() == 2
