"""Fulfilled import: the warehouse's shipment recorded, stock consumed, lines fulfilled, the shop told first."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from fulfillment.ledger import stock_ledger_problems
from fulfillment.models import Parcel, Shipment
from oms.core.history import transit_and_save
from oms.models import OrderLine, OutboxMessage
from tests.oms.wms.wms_world import (
    ACK,
    ACK_HEADER,
    FULFILLED,
    FULFILLED_HEADER,
    import_text,
    iso,
    level,
    make_world,
    problems,
    sent_order,
)

pytestmark = pytest.mark.django_db


def test_fulfilled_rows_ship_the_lines_and_complete_the_order_after_the_shop_hears_of_the_shipment(capsys):
    world = make_world()
    order, (lamp, vase), request = sent_order((world.lamp, 1), (world.vase, 2))
    import_text(ACK, ACK_HEADER + f"{order.name},{lamp.pk},WH-01\n")
    shipped_at = timezone.now() - timedelta(hours=2)

    result = import_text(FULFILLED, FULFILLED_HEADER
                         + f"{order.name},{lamp.pk},WH-01,{iso(shipped_at)},1,1Z999,ups\n"
                         + f"{order.name},{vase.pk},WH-01,{iso(shipped_at)},2,1Z999,ups\n")

    assert (result.feed.status, result.feed.rows_applied, result.feed.rows_rejected) == ("DONE", 2, 0)
    shipment = Shipment.objects.get()
    parcel = Parcel.objects.get()
    assert (shipment.status, shipment.facility, shipment.fulfillment_request, shipment.shipped_at) == (
        "SHIPPED", world.warehouse, request, shipped_at.replace(microsecond=0))
    assert (parcel.status, parcel.tracking_number, parcel.carrier, parcel.handed_over_at) == (
        "HANDED_OVER", "1Z999", "ups", shipped_at.replace(microsecond=0))
    assert set(OrderLine.objects.filter(order=order).values_list("status", flat=True)) == {"FULFILLED"}
    request.refresh_from_db()
    order.refresh_from_db()
    assert (request.status, order.status) == ("COMPLETED", "COMPLETED")
    messages = list(OutboxMessage.objects.filter(order=order, destination="SHOP").order_by("pk"))
    assert [(m.kind, m.idempotency_key) for m in messages] == [
        ("fulfillment", f"fulfillment:wms:{shipment.pk}"), ("order-completed", f"order-completed:{order.pk}")]
    assert messages[0].payload == {
        "external_id": order.external_id, "name": order.name, "facility": "WH-01",
        "carrier": {"code": "ups", "name": "ups"}, "service": "",
        "parcels": [{"tracking_number": "1Z999", "tracking_url": ""}],
        "lines": [{"external_line_id": lamp.external_line_id, "sku": "LAMP-1", "quantity": 1},
                  {"external_line_id": vase.external_line_id, "sku": "VASE-1", "quantity": 2}],
    }
    assert (level(world.warehouse, world.lamp), level(world.warehouse, world.vase)) == ((9, 0), (8, 0))
    assert stock_ledger_problems() == []
    call_command("check_stock_ledger")


def test_a_partial_quantity_splits_the_line_and_leaves_the_rest_open():
    world = make_world()
    order, (lamp,), request = sent_order((world.lamp, 5))
    at = iso(timezone.now() - timedelta(hours=1))

    import_text(FULFILLED, FULFILLED_HEADER + f"{order.name},{lamp.pk},WH-01,{at},2,TRK-1,dhl\n")

    lamp.refresh_from_db()
    shipped = OrderLine.objects.get(parent=lamp)
    assert (lamp.status, lamp.quantity, lamp.fulfillment_request_id) == ("ALLOCATED", 3, request.pk)
    assert (shipped.status, shipped.quantity, shipped.external_line_id) == ("FULFILLED", 2, lamp.external_line_id)
    request.refresh_from_db()
    order.refresh_from_db()
    assert (request.status, order.status) == ("PROCESSED", "APPROVED")
    assert level(world.warehouse, world.lamp) == (8, 3)
    assert OutboxMessage.objects.get(kind="fulfillment").payload["lines"] == [
        {"external_line_id": lamp.external_line_id, "sku": "LAMP-1", "quantity": 2}]

    # The rest ships later under the same line id, in its own parcel: now the order is complete.
    import_text(FULFILLED, FULFILLED_HEADER + f"{order.name},{lamp.pk},WH-01,{at},3,TRK-2,dhl\n")

    order.refresh_from_db()
    assert order.status == "COMPLETED" and Shipment.objects.count() == 2
    assert level(world.warehouse, world.lamp) == (5, 0)
    assert stock_ledger_problems() == []


def test_rows_of_one_tracking_number_form_one_shipment():
    world = make_world()
    order, (lamp, vase), _ = sent_order((world.lamp, 1), (world.vase, 1))
    at = iso(timezone.now() - timedelta(hours=1))

    import_text(FULFILLED, FULFILLED_HEADER + f"{order.name},{lamp.pk},WH-01,{at},1,A-1,ups\n"
                + f"{order.name},{vase.pk},WH-01,{at},1,B-2,ups\n")

    assert sorted(Shipment.objects.values_list("parcels__tracking_number", flat=True)) == ["A-1", "B-2"]
    assert [m.payload["parcels"][0]["tracking_number"] for m in OutboxMessage.objects.filter(kind="fulfillment")
            .order_by("pk")] == ["A-1", "B-2"]
    assert list(OutboxMessage.objects.filter(destination="SHOP").order_by("pk").values_list("kind", flat=True)) == [
        "fulfillment", "fulfillment", "order-completed"]


def test_fulfilled_rows_that_do_not_apply_are_rejected_and_the_rest_of_the_shipment_ships():
    world = make_world()
    order, (lamp, vase), request = sent_order((world.lamp, 1), (world.vase, 1))
    other, (elsewhere,), other_request = sent_order((world.lamp, 1))
    transit_and_save(other_request, "cancel", at=timezone.now())
    at = iso(timezone.now() - timedelta(hours=1))

    result = import_text(FULFILLED, FULFILLED_HEADER + "\n".join([
        f"{order.name},{lamp.pk},WH-01,{at},2,T-1,ups",      # line 2: more units than the line holds
        f"{order.name},{vase.pk},WH-01,{at},1,T-1,ups",      # line 3: ships
        f"{order.name},{vase.pk},WH-01,{at},1,T-1,ups",      # line 4: the same line twice in one parcel
        f"{other.name},{elsewhere.pk},WH-01,{at},1,T-2,ups",  # line 5: its request is canceled
        f"{order.name},{lamp.pk},BER-99,{at},1,T-3,ups",     # line 6: unknown facility
    ]) + "\n")

    assert problems(result.feed) == [
        (2, f"quantity 2 is more than the 1 open on line {lamp.pk}"),
        (4, f"line {vase.pk} appears twice for tracking number T-1"),
        (5, f"request {other_request.number} is CANCELED, not PROCESSED or ACKNOWLEDGED"),
        (6, "unknown facility 'BER-99'"),
    ]
    assert (result.feed.rows_applied, result.feed.rows_rejected) == (1, 4)
    assert list(Parcel.objects.values_list("tracking_number", flat=True)) == ["T-1"]
    lamp.refresh_from_db()
    vase.refresh_from_db()
    assert (lamp.status, vase.status) == ("ALLOCATED", "FULFILLED")
    assert stock_ledger_problems() == []


def test_a_shipment_sent_again_in_another_file_changes_nothing():
    world = make_world()
    order, (lamp,), _ = sent_order((world.lamp, 3))
    at = iso(timezone.now() - timedelta(hours=1))
    row = f"{order.name},{lamp.pk},WH-01,{at},1,T-1,ups\n"
    import_text(FULFILLED, FULFILLED_HEADER + row, name="day-1.csv")

    again = import_text(FULFILLED, FULFILLED_HEADER + row + f"{order.name},{lamp.pk},WH-01,{at},1,T-9,ups\n",
                        name="day-1-and-2.csv")

    assert (again.feed.rows_unchanged, again.feed.rows_applied) == (1, 1)
    lamp.refresh_from_db()
    assert lamp.quantity == 1 and Shipment.objects.count() == 2
    assert level(world.warehouse, world.lamp) == (8, 1)
