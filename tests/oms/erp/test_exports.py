"""The ERP/WMS exports: orders, allocations (and their cancellations), store fulfilments; atomic files, crashes,
two runs at once."""

import io
import os
import re
import threading
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from fulfillment.counter import pickup_hand_over
from fulfillment.handover import handover_scan
from fulfillment.models import HandoverJob
from oms.core.erp_records import erp_order_payload, utc_text
from oms.feeds import exports
from oms.feeds.exports import (
    ALLOCATIONS_HEADER,
    FULFILLED_HEADER,
    ORDERS_HEADER,
    erp_feeds_export,
    feed_export_path,
    outbox_folder,
)
from oms.models import FeedExport, FulfillmentRequest, Order, OutboxMessage
from oms.orders.cancel import order_cancel
from oms.outbox.messages import outbox_write
from oms.routing.requests import request_void
from tests.factories import OrderFactory, OrderLineFactory, ProductFactory
from tests.fulfillment.counter_world import ready_pickup
from tests.fulfillment.packing_world import packed, picked_order
from tests.fulfillment.store_world import stock, store_with_people

from .erp_world import files, imported_order, read, wms_order, wms_warehouse

pytestmark = pytest.mark.django_db(transaction=True)  # the export commits step by step
DELIVERED = OutboxMessage.Status.DELIVERED


# --- Orders ------------------------------------------------------------------------------------------


def test_an_imported_order_is_exported_once_with_a_row_per_line():
    order = imported_order()
    imported_order(webhook_id="wh-again")  # the shop delivers the same order again: no second record

    first, second = erp_feeds_export(), erp_feeds_export()

    [path] = files("orders")
    header, rows = read(path)
    assert header == ORDERS_HEADER
    lines = {line.sku: line for line in order.lines.all()}
    assert [(row["order"], row["external_id"], row["line_id"], row["shop_line_id"], row["sku"], row["quantity"],
             row["unit_price"]) for row in rows] == [
        ("#1042", "5849372917843", str(lines["SOCK-TRAIL-M"].pk), "14372092579923", "SOCK-TRAIL-M", "2", "12.95"),
        ("#1042", "5849372917843", str(lines["BOTTLE-750-FOREST"].pk), "14372092612691", "BOTTLE-750-FOREST", "1",
         "79.00"),
    ]
    row = rows[0]
    assert (row["channel"], row["ordered_at"], row["customer_name"], row["email"], row["currency"]) == (
        "shopify", "2026-11-20T16:15:42Z", "Ada Lovelace", "ada.lovelace@example.com", "USD")
    assert (row["ship_city"], row["ship_postal_code"], row["ship_country"]) == ("Chicago", "60613", "US")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", row["received_at"])
    assert first.written["orders"].rows == 2 and second.written == {}
    message = OutboxMessage.objects.get(idempotency_key=f"erp-order:{order.pk}")
    assert (message.destination, message.status, message.export.file_name) == ("ERP", DELIVERED, path.name)


def test_the_file_name_has_the_kind_the_utc_time_and_the_export_id():
    imported_order()
    now = timezone.datetime(2030, 12, 1, 9, 30, 5, tzinfo=timezone.get_fixed_timezone(60))  # a later run

    export = erp_feeds_export(now=now).written["orders"]

    assert export.file_name == f"orders-20301201083005-{export.pk}.csv"
    assert feed_export_path(export).is_file() and export.written_at == now


# --- Allocations -------------------------------------------------------------------------------------


def test_a_wms_request_is_exported_once_and_becomes_processed():
    warehouse = wms_warehouse()
    lamp, vase = ProductFactory(sku="LAMP-1"), ProductFactory(sku="VASE-1")
    order, request = wms_order(warehouse, [(lamp, 2), (vase, 1)])

    run = erp_feeds_export()
    again = erp_feeds_export()

    request.refresh_from_db()
    assert request.status == FulfillmentRequest.Status.PROCESSED
    assert list(request.__class__.objects.filter(pk=request.pk).values_list("status", flat=True)) == ["PROCESSED"]
    moves = list(order.history.filter(object_type="fulfillmentrequest", object_id=request.pk)
                 .values_list("transition", "source_state", "target_state"))
    assert moves[-2:] == [("process", "UNPROCESSED", "PROCESSING"), ("mark_sent", "PROCESSING", "PROCESSED")]
    assert (run.sent, again.sent, again.written) == (1, 0, {})
    [path] = files("allocations")
    header, rows = read(path)
    assert header == ALLOCATIONS_HEADER
    lines = {line.sku: line for line in order.lines.all()}
    assert [(row["action"], row["order"], row["request"], row["line_id"], row["shop_line_id"], row["sku"],
             row["quantity"], row["facility"]) for row in rows] == [
        ("ALLOCATE", order.name, request.number, str(lines[sku].pk), lines[sku].external_line_id, sku, quantity,
         "WH-01")
        for sku, quantity in (("LAMP-1", "2"), ("VASE-1", "1"))
    ]
    assert (rows[0]["ship_name"], rows[0]["ship_address1"], rows[0]["ship_city"], rows[0]["ship_postal_code"],
            rows[0]["ship_country"]) == ("Ada Lovelace", "1 Main St", "Chicago", "60601", "US")


def test_a_voided_exported_request_is_exported_as_a_cancellation_once(operations_user):
    warehouse = wms_warehouse()
    lamp = ProductFactory(sku="LAMP-1")
    order, request = wms_order(warehouse, [(lamp, 3)])
    erp_feeds_export()

    request_void(request_id=request.pk, actor=operations_user, reason="wrong warehouse")
    run = erp_feeds_export()
    again = erp_feeds_export()

    assert (run.canceled, again.canceled, again.written) == (1, 0, {})
    allocated, canceled = files("allocations")
    [allocate_row], [cancel_row] = read(allocated)[1], read(canceled)[1]
    assert cancel_row["action"] == "CANCEL"
    assert {**cancel_row, "action": "ALLOCATE"} == allocate_row  # the same lines, units and ship-to
    assert OutboxMessage.objects.filter(idempotency_key=f"erp-allocation-cancel:{request.pk}").count() == 1


def test_an_order_cancel_of_an_exported_request_is_exported_as_a_cancellation():
    warehouse = wms_warehouse()
    order, request = wms_order(warehouse, [(ProductFactory(sku="LAMP-1"), 1)])
    erp_feeds_export()

    order_cancel(order_id=order.pk, reason="customer changed their mind")
    erp_feeds_export()

    request.refresh_from_db()
    assert request.status == FulfillmentRequest.Status.CANCELED
    assert [read(path)[1][0]["action"] for path in files("allocations")] == ["ALLOCATE", "CANCEL"]


def test_a_request_voided_before_it_was_exported_is_never_exported(operations_user):
    warehouse = wms_warehouse()
    _, request = wms_order(warehouse, [(ProductFactory(sku="LAMP-1"), 1)])

    request_void(request_id=request.pk, actor=operations_user, reason="changed our mind")
    run = erp_feeds_export()

    assert (run.sent, run.canceled, files("allocations")) == (0, 0, [])


def test_allocation_and_cancellation_in_one_run_keep_their_order():
    """A request exported and canceled before the next file is written: ALLOCATE comes before CANCEL."""
    warehouse = wms_warehouse()
    order, request = wms_order(warehouse, [(ProductFactory(sku="LAMP-1"), 1)])
    exports.wms_requests_send(now=timezone.now())
    order_cancel(order_id=order.pk, reason="customer changed their mind")

    erp_feeds_export()

    [path] = files("allocations")
    assert [row["action"] for row in read(path)[1]] == ["ALLOCATE", "CANCEL"]


# --- Fulfilled by stores -----------------------------------------------------------------------------


def test_a_store_shipment_is_exported_with_its_tracking_number():
    facility, associate, _ = store_with_people("CHI-01")
    tee = ProductFactory(sku="TEE-M")
    stock(facility, tee, 10)
    job = picked_order(facility, associate, [(tee, 2)])
    packed(job, associate)
    parcel = job.shipment.parcels.get()
    parcel.refresh_from_db()

    handover_scan(facility=facility, tracking_number=parcel.tracking_number, actor=associate)
    erp_feeds_export()

    [path] = files("fulfilled")
    header, [row] = read(path)
    assert header == FULFILLED_HEADER
    line = job.order.lines.get()
    job.shipment.refresh_from_db()
    assert row == {
        "order": job.order.name, "line_id": str(line.pk), "shop_line_id": line.external_line_id, "sku": "TEE-M",
        "facility": "CHI-01", "quantity": "2", "shipped_at": utc_text(job.shipment.shipped_at),
        "carrier": job.shipment.carrier, "service": job.shipment.service, "tracking_numbers": parcel.tracking_number,
    }


def test_a_pickup_handed_over_at_the_counter_is_exported_without_tracking():
    facility, associate, _ = store_with_people("CHI-01")
    mug = ProductFactory(sku="MUG-1")
    stock(facility, mug, 5)
    handover = ready_pickup(facility, associate, [(mug, 1)])

    pickup_hand_over(handover_id=handover.pk, facility_id=facility.pk, actor=associate,
                     version=HandoverJob.objects.get(pk=handover.pk).version,
                     proof={"name": "Ada Lovelace", "relation": "SELF", "id_last4": "1234"})
    erp_feeds_export()

    [path] = files("fulfilled")
    [row] = read(path)[1]
    assert (row["order"], row["sku"], row["facility"], row["quantity"], row["service"], row["carrier"],
            row["tracking_numbers"]) == (handover.order.name, "MUG-1", "CHI-01", "1", "PICKUP", "", "")


# --- Files: atomic, crash-safe -----------------------------------------------------------------------


def test_a_file_appears_under_its_final_name_only_when_complete(monkeypatch):
    imported_order()
    real_replace = os.replace
    renames = []

    def watching_replace(source, target):
        source, target = Path(source), Path(target)
        renames.append((source.name, target.name, target.exists(), source.read_text(encoding="utf-8")))
        real_replace(source, target)

    monkeypatch.setattr(exports.os, "replace", watching_replace)
    export = erp_feeds_export().written["orders"]

    [(temporary, final, existed, content)] = renames
    assert re.fullmatch(rf"\.{re.escape(export.file_name)}\.[0-9a-f]{{12}}\.tmp", temporary)
    assert final == export.file_name and not existed
    assert feed_export_path(export).read_text(encoding="utf-8") == content
    assert [entry.name for entry in outbox_folder("orders").iterdir()] == [export.file_name]  # no temporary left


class Crash(BaseException):
    """The process dies here (not an error anything catches)."""


def test_a_crash_between_commit_and_rename_is_written_by_the_next_run(monkeypatch):
    order = imported_order()

    def dying_replace(source, target):
        raise Crash()

    monkeypatch.setattr(exports.os, "replace", dying_replace)
    with pytest.raises(Crash):
        erp_feeds_export()
    monkeypatch.undo()

    export = FeedExport.objects.get()
    message = OutboxMessage.objects.get(idempotency_key=f"erp-order:{order.pk}")
    assert export.written_at is None and (message.status, message.export_id) == (DELIVERED, export.pk)
    assert files("orders") == []

    run = erp_feeds_export()
    assert [rewritten.pk for rewritten in run.rewritten] == [export.pk] and run.written == {}
    [path] = files("orders")
    assert path.name == export.file_name and len(read(path)[1]) == 2
    assert FeedExport.objects.get().written_at is not None
    assert erp_feeds_export().rewritten == []


def test_a_crash_before_the_commit_leaves_the_messages_pending(monkeypatch):
    order = imported_order()

    def dying_create(**fields):
        raise Crash()

    monkeypatch.setattr(exports.FeedExport.objects, "create", dying_create)
    with pytest.raises(Crash):
        erp_feeds_export()
    monkeypatch.undo()

    assert OutboxMessage.objects.get(idempotency_key=f"erp-order:{order.pk}").status == OutboxMessage.Status.PENDING
    assert not FeedExport.objects.exists()
    erp_feeds_export()
    assert len(read(files("orders")[0])[1]) == 2


def test_temporary_files_left_by_a_crash_are_removed_when_old():
    folder = outbox_folder("orders")
    folder.mkdir(parents=True)
    old, fresh = folder / ".orders-1-1.csv.0123456789ab.tmp", folder / ".orders-1-2.csv.0123456789ab.tmp"
    old.write_text("half a file")
    fresh.write_text("being written")
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))

    erp_feeds_export()

    assert not old.exists() and fresh.exists()


def test_the_export_refuses_to_run_inside_a_transaction():
    with transaction.atomic(), pytest.raises(RuntimeError):
        erp_feeds_export()


# --- Two runs at once --------------------------------------------------------------------------------


def test_two_runs_at_once_export_each_message_once(monkeypatch):
    warehouse = wms_warehouse()
    lamp = ProductFactory(sku="LAMP-1")
    requests = [wms_order(warehouse, [(lamp, 1)])[1] for _ in range(5)]
    orders = []
    with transaction.atomic():
        for _ in range(40):
            order = OrderFactory()
            orders.append(order)
            line = OrderLineFactory(order=order)
            outbox_write(kind="erp-order", destination=OutboxMessage.Destination.ERP, order=order,
                         idempotency_key=f"erp-order:{order.pk}", payload=erp_order_payload(order=order, lines=[line]))
    # Hold each run's lock a moment after taking the messages, so the other run meets the locked rows.
    real_create = FeedExport.objects.create

    def slow_create(**fields):
        time.sleep(0.3)
        return real_create(**fields)

    monkeypatch.setattr(exports.FeedExport.objects, "create", slow_create)
    barrier, errors = threading.Barrier(2), []

    def run():
        try:
            barrier.wait()
            erp_feeds_export()
        except Exception as exc:  # reported below: an exception in a thread would be lost
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    order_keys = [row["external_id"] for path in files("orders") for row in read(path)[1]]
    assert sorted(order_keys) == sorted(order.external_id for order in orders)
    allocated = [row["request"] for path in files("allocations") for row in read(path)[1]]
    assert sorted(allocated) == sorted(request.number for request in requests)
    assert not OutboxMessage.objects.filter(destination="ERP").exclude(status=DELIVERED).exists()
    for export in FeedExport.objects.all():  # each message in the export that counted it, each file complete
        assert export.written_at and export.rows == len(read(feed_export_path(export))[1]) > 0
    for request in requests:
        assert Order.objects.get(pk=request.order_id).history.filter(
            object_type="fulfillmentrequest", transition="mark_sent").count() == 1


# --- The command -------------------------------------------------------------------------------------


def test_the_command_prints_each_kind_with_its_rows_and_file():
    imported_order()
    out = io.StringIO()

    call_command("export_feeds", stdout=out)

    export = FeedExport.objects.get()
    lines = out.getvalue().splitlines()
    assert f"orders: 2 rows → {feed_export_path(export)}" in lines
    assert "allocations: nothing to export" in lines and "fulfilled: nothing to export" in lines
