"""Rejected import: units go to the REJECTED queue with the warehouse excluded, to be routed elsewhere."""

from datetime import timedelta

import pytest
from django.utils import timezone

from fulfillment.ledger import stock_ledger_problems
from oms.models import LineRejection, OrderLine, OrderNote
from oms.routing.runs import brokering_run
from tests.oms.wms.wms_world import (
    FULFILLED,
    FULFILLED_HEADER,
    REJECTED,
    REJECTED_HEADER,
    import_text,
    level,
    make_world,
    problems,
    receive,
    sent_order,
)

pytestmark = pytest.mark.django_db


def test_rejected_lines_go_to_rejected_without_the_warehouse_and_a_run_allocates_them_elsewhere():
    world = make_world()
    order, (lamp,), request = sent_order((world.lamp, 2))
    receive(world.store, world.lamp, 5)

    result = import_text(REJECTED, REJECTED_HEADER + f"{order.name},{lamp.pk},WH-01,2,not-in-stock\n")

    assert (result.feed.rows_applied, result.feed.rows_rejected) == (1, 0)
    lamp.refresh_from_db()
    request.refresh_from_db()
    assert (lamp.status, lamp.queue, lamp.fulfillment_request_id) == ("QUEUED", "REJECTED", None)
    assert list(lamp.excluded_facilities.all()) == [world.warehouse]
    assert request.status == "CANCELED"
    assert level(world.warehouse, world.lamp) == (10, 0)
    rejection = LineRejection.objects.get()
    assert (rejection.order_line, rejection.facility, rejection.quantity, rejection.reason.code,
            rejection.reason_text) == (lamp, world.warehouse, 2, "not-in-stock", "not-in-stock")
    assert "Warehouse WH-01 rejected 2 × LAMP-1" in OrderNote.objects.get(order=order).text
    assert stock_ledger_problems() == []

    brokering_run(queue="REJECTED")

    lamp.refresh_from_db()
    assert (lamp.status, lamp.allocated_facility) == ("ALLOCATED", world.store)
    assert level(world.store, world.lamp) == (5, 2)
    assert stock_ledger_problems() == []


def test_a_partial_rejection_splits_the_line_and_the_rest_stays_with_the_warehouse():
    world = make_world()
    order, (lamp,), request = sent_order((world.lamp, 3))

    import_text(REJECTED, REJECTED_HEADER + f"{order.name},{lamp.pk},WH-01,1,damaged in the warehouse\n")

    lamp.refresh_from_db()
    back = OrderLine.objects.get(parent=lamp)
    assert (lamp.status, lamp.quantity, lamp.fulfillment_request_id) == ("ALLOCATED", 2, request.pk)
    assert (back.status, back.queue, back.quantity) == ("QUEUED", "REJECTED", 1)
    request.refresh_from_db()
    assert request.status == "PROCESSED"
    rejection = LineRejection.objects.get()
    assert (rejection.order_line, rejection.reason, rejection.reason_text) == (back, None, "damaged in the warehouse")
    assert level(world.warehouse, world.lamp) == (10, 2)
    assert stock_ledger_problems() == []


def test_rejected_rows_that_do_not_apply_are_listed_with_their_line():
    world = make_world()
    order, (lamp,), _ = sent_order((world.lamp, 1))

    result = import_text(REJECTED, REJECTED_HEADER + "\n".join([
        f"{order.name},{lamp.pk},WH-01,1,no stock",   # line 2: applies
        f"{order.name},{lamp.pk},WH-01,1,no stock",   # line 3: the line is in REJECTED now
        f"{order.name},999999,WH-01,1,no stock",     # line 4: unknown line
    ]) + "\n")

    assert problems(result.feed) == [
        (3, f"line {lamp.pk} is not sent to WH-01 (it is QUEUED in REJECTED)"),
        (4, f"order '{order.name}' has no line 999999"),
    ]
    assert LineRejection.objects.count() == 1


def test_rejecting_what_is_left_of_a_partly_shipped_request_completes_it():
    world = make_world()
    order, (lamp, vase), request = sent_order((world.lamp, 1), (world.vase, 1))
    at = (timezone.now() - timedelta(hours=1)).isoformat(timespec="seconds")
    import_text(FULFILLED, FULFILLED_HEADER + f"{order.name},{lamp.pk},WH-01,{at},1,T-1,ups\n")

    import_text(REJECTED, REJECTED_HEADER + f"{order.name},{vase.pk},WH-01,1,not-in-stock\n")

    request.refresh_from_db()
    order.refresh_from_db()
    assert (request.status, order.status) == ("COMPLETED", "APPROVED")
    assert OrderLine.objects.get(pk=vase.pk).queue == "REJECTED"
