"""A warehouse order followed end to end through the files, on a real Celery worker (with its own Redis, so that
its SHOP adapter is Shopify's): routed to the WMS warehouse → the allocation export writes it (PROCESSED) → the
WMS's acknowledgement file is dropped (ACKNOWLEDGED) → its fulfilled file is dropped → the order is COMPLETED and
the shipment reaches the fake Shopify as a fulfillment with its tracking number."""

import csv
import shutil

import pytest
from celery import Celery
from django.utils import timezone

from oms.feeds.exports import outbox_folder
from oms.feeds.files import inbox_folder
from oms.models import FeedFile, FulfillmentRequest, Order, OrderLine, OutboxMessage
from oms.outbox import messages as outbox
from oms.routing.runs import order_route
from stores.models import Facility
from tests.conftest import wait_for, worker_environment
from tests.factories import FacilityFactory, OrderFactory, OrderLineFactory, ProductFactory
from tests.fake_shopify import TOKEN, FakeShopify
from tests.fulfillment.store_world import stock
from tests.workers import RedisServer, worker_start, worker_stop

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


def allocation_rows(request_number: str) -> list[dict]:
    rows = []
    for path in sorted(outbox_folder("allocations").glob("allocations-*.csv")):
        with open(path, newline="", encoding="utf-8") as file:
            rows += [row for row in csv.DictReader(file) if row["request"] == request_number]
    return rows


def drop(kind: str, name: str, header: list[str], rows: list[list]) -> None:
    """Drop a file the way an SFTP client should: written under a dot name, then renamed."""
    folder = inbox_folder(kind)
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f".{name}"
    with open(temporary, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
    temporary.rename(folder / name)


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
def test_a_warehouse_order_goes_through_the_files_and_its_shipment_reaches_shopify(
    smtp_server, tmp_path, monkeypatch,
):
    for kind in (FeedFile.Kind.ACKNOWLEDGEMENTS, FeedFile.Kind.FULFILLED):
        shutil.rmtree(inbox_folder(kind), ignore_errors=True)
    warehouse = FacilityFactory(code="WH-E2E", kind=Facility.Kind.WAREHOUSE, fulfilled_by_wms=True,
                                shop_location_id="80001", latitude=41.9, longitude=-87.6)
    lamp = ProductFactory(sku="E2E-LAMP")
    stock(warehouse, lamp, 10)
    now = timezone.now()
    order = OrderFactory(status=Order.Status.APPROVED, approved_at=now)
    line = OrderLineFactory(order=order, product=lamp, quantity=2, status=OrderLine.Status.QUEUED,
                            queue=OrderLine.Queue.BROKERING, queued_at=now)
    assert order_route(order_id=order.pk, now=now) is not None
    request = FulfillmentRequest.objects.get(order=order)
    assert (request.facility, request.status) == (warehouse, FulfillmentRequest.Status.UNPROCESSED)

    shopify = FakeShopify()
    shopify.add_order(order.external_id, {line.external_line_id: 2}, location="80001")
    redis = RedisServer(tmp_path)
    redis.start()
    own_app = Celery("storefill-end-to-end", set_as_current=False)
    own_app.conf.broker_write_url = redis.url  # broker_url would lose to the CELERY_BROKER_URL variable
    monkeypatch.setattr(outbox, "celery_app", own_app)
    env = worker_environment(smtp_port=smtp_server.port)
    env.update({
        "CELERY_BROKER_URL": redis.url, "SHOP_SYNC_ADAPTER": "oms.shop.shopify.ShopifyAdapter",
        "OUTBOX_ADAPTERS": "EMAIL=oms.outbox.email.EmailAdapter,SHOP=oms.shop.shopify.ShopifyAdapter",
        "SHOPIFY_SHOP_DOMAIN": "storefill-e2e.myshopify.com", "SHOPIFY_ADMIN_TOKEN": TOKEN,
        "SHOPIFY_GRAPHQL_URL": shopify.url, "SHOP_SYNC_TIMEOUT": "2",
    })
    worker = worker_start("warehouse-e2e", env)
    try:
        own_app.send_task("oms.tasks.export_erp_feeds")
        rows = wait_for(lambda: allocation_rows(request.number), timeout=30, message="the allocation exported")
        assert [(row["action"], row["line_id"], row["sku"], row["quantity"], row["facility"]) for row in rows] == [
            ("ALLOCATE", str(line.pk), "E2E-LAMP", "2", "WH-E2E")]
        request.refresh_from_db()
        assert request.status == FulfillmentRequest.Status.PROCESSED

        drop(FeedFile.Kind.ACKNOWLEDGEMENTS, "ack-1.csv", ["order", "line_id", "facility"],
             [[order.name, line.pk, "WH-E2E"]])
        own_app.send_task("oms.tasks.import_wms_drops")
        wait_for(lambda: FulfillmentRequest.objects.get(pk=request.pk).status == "ACKNOWLEDGED", timeout=30,
                 message="the request acknowledged")

        shipped_at = timezone.now().replace(microsecond=0).isoformat()
        drop(FeedFile.Kind.FULFILLED, "shipped-1.csv",
             ["order", "line_id", "facility", "shipped_at", "quantity", "tracking_number", "carrier"],
             [[order.name, line.pk, "WH-E2E", shipped_at, 2, "1Z999AA10123456784", "ups"]])
        own_app.send_task("oms.tasks.import_wms_drops")
        wait_for(lambda: Order.objects.get(pk=order.pk).status == Order.Status.COMPLETED, timeout=30,
                 message="the order completed")
        wait_for(lambda: not OutboxMessage.objects.filter(order=order, destination="SHOP")
                 .exclude(status="DELIVERED").exists(), timeout=30, message="the shop messages delivered")
    finally:
        worker_stop(worker)
        redis.stop()
        shopify.stop()

    request.refresh_from_db()
    assert request.status == FulfillmentRequest.Status.COMPLETED
    kinds = list(OutboxMessage.objects.filter(order=order, destination="SHOP").order_by("pk")
                 .values_list("kind", flat=True))
    assert kinds == ["fulfillment", "order-completed"]
    [made] = shopify.orders[order.external_id].fulfillments
    assert made["lines"] == {line.external_line_id: 2}
    assert made["tracking"]["numbers"] == ["1Z999AA10123456784"]
