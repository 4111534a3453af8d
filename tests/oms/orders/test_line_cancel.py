"""Cancelling orders and lines whose units are partly picked, packed or at the counter: put-back, work, pages."""

import pytest
from django.utils import timezone

from fulfillment.counter import pickup_search
from fulfillment.handover import handover_list
from fulfillment.ledger import stock_ledger_problems
from fulfillment.models import HandoverJob, PackJob, Parcel, ParcelItem, PickJob, PickLine, PutBackTask, Shipment
from fulfillment.packing import pack_queue
from fulfillment.picking import pick_job_pause, pick_job_start, pick_line_tap
from fulfillment.putback import put_back_confirm, put_backs_open
from fulfillment.selectors import pick_queue
from oms.models import Order, OrderLine, OutboxMessage
from oms.orders.cancel import order_cancel
from oms.orders.cancellations import CancelRefused, order_line_reduce, order_lines_cancel
from oms.shop.importer import shopify_webhook_receive
from stores.models import StockLevel
from tests.factories import ProductFactory
from tests.fulfillment.counter_world import ready_pickup
from tests.fulfillment.packing_world import packed, picked_order
from tests.fulfillment.store_world import routed_order, stock, store_with_people

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():
    return store_with_people()


@pytest.fixture
def products(store):
    facility, _, _ = store
    shirt, mug = ProductFactory(name="Shirt", weight_grams=300), ProductFactory(name="Mug", weight_grams=450)
    stock(facility, shirt, 10, "A-01")
    stock(facility, mug, 10, "B-02")
    return shirt, mug


def reserved(facility, product) -> int:
    return StockLevel.objects.get(facility=facility, product=product).reserved


def started(facility, associate, items):
    order, job = routed_order(facility, items)
    job = pick_job_start(job_id=job.pk, facility_id=facility.pk, actor=associate, version=job.version)
    return order, job


def tap(facility, associate, job, line, quantity):
    pick_line_tap(job_id=job.pk, facility_id=facility.pk, actor=associate, version=None, line_id=line.pk,
                  quantity=quantity)


def test_cancel_mid_pick_puts_back_picked_units_and_releases_the_rest_at_once(store, products):
    facility, associate, _ = store
    shirt, _ = products
    order, job = started(facility, associate, [(shirt, 3)])
    tap(facility, associate, job, job.lines.get(), 2)

    order_cancel(order_id=order.pk, reason="customer asked")

    assert reserved(facility, shirt) == 2  # the picked units wait for the put-back
    task = PutBackTask.objects.get(order=order)
    assert (task.reason, task.facility_id) == (PutBackTask.Reason.ORDER_CANCELED, facility.pk)
    assert list(task.items.values_list("product", "quantity")) == [(shirt.pk, 2)]
    assert stock_ledger_problems() == []

    put_back_confirm(task_id=task.pk, facility_id=facility.pk, actor=associate)

    assert reserved(facility, shirt) == 0
    assert stock_ledger_problems() == []


def test_cancel_before_picking_releases_everything_without_a_put_back(store, products):
    facility, _, _ = store
    shirt, mug = products
    order, _ = routed_order(facility, [(shirt, 2), (mug, 1)])

    order_cancel(order_id=order.pk, reason="customer asked")

    assert (reserved(facility, shirt), reserved(facility, mug)) == (0, 0)
    assert not PutBackTask.objects.exists()
    assert stock_ledger_problems() == []


def test_cancel_of_a_packed_order_cancels_its_parcel_and_puts_the_units_back(store, products):
    facility, associate, _ = store
    shirt, mug = products
    pack_job = picked_order(facility, associate, [(shirt, 2), (mug, 1)])

    order_cancel(order_id=pack_job.order_id, reason="fraud")

    assert PackJob.objects.get(pk=pack_job.pk).status == PackJob.Status.CANCELED
    assert set(Parcel.objects.filter(shipment=pack_job.shipment).values_list("status", flat=True)) == {"CANCELED"}
    assert Shipment.objects.get(pk=pack_job.shipment_id).status == Shipment.Status.CANCELED
    task = PutBackTask.objects.get(order_id=pack_job.order_id)  # one task for both products
    assert sorted(task.items.values_list("product", "quantity")) == sorted([(shirt.pk, 2), (mug.pk, 1)])
    assert (reserved(facility, shirt), reserved(facility, mug)) == (2, 1)
    assert stock_ledger_problems() == []


def test_cancel_of_a_pickup_waiting_at_the_counter_puts_it_back(store, products):
    facility, associate, _ = store
    shirt, _ = products
    handover = ready_pickup(facility, associate, [(shirt, 2)])

    order_cancel(order_id=handover.order_id, reason="customer asked")

    handover.refresh_from_db()
    assert (handover.status, handover.cancel_reason) == ("CANCELED", HandoverJob.CancelReason.ORDER_CANCELED)
    assert pickup_search(facility=facility, query="") == []
    assert [task.order_id for task in put_backs_open(facility_id=facility.pk)] == [handover.order_id]
    assert reserved(facility, shirt) == 2
    assert stock_ledger_problems() == []


def test_store_pages_drop_canceled_work(store, products):
    facility, associate, _ = store
    shirt, mug = products
    waiting, _ = routed_order(facility, [(shirt, 1)])
    packing = picked_order(facility, associate, [(mug, 1)])
    labelled = picked_order(facility, associate, [(shirt, 1)])
    packed(labelled, associate)
    pickup = ready_pickup(facility, associate, [(mug, 1)])
    assert pick_queue(facility=facility, tab="open", now=timezone.now())[0]
    assert pack_queue(facility_id=facility.pk) and handover_list(facility=facility)
    assert pickup_search(facility=facility, query="")

    for order_id in (waiting.pk, packing.order_id, labelled.order_id, pickup.order_id):
        order_cancel(order_id=order_id, reason="customer asked")

    assert pick_queue(facility=facility, tab="open", now=timezone.now())[0] == []
    assert pick_queue(facility=facility, tab="in_progress", now=timezone.now())[0] == []
    assert pack_queue(facility_id=facility.pk) == []
    assert all(not group.parcels for group in handover_list(facility=facility))
    assert pickup_search(facility=facility, query="") == []
    assert stock_ledger_problems() == []


# --- chosen lines (operations staff) -----------------------------------------------------------------


def test_cancel_of_one_line_cancels_its_pick_line_and_the_job_goes_on_with_the_rest(store, products):
    facility, associate, _ = store
    shirt, mug = products
    order, job = started(facility, associate, [(shirt, 2), (mug, 1)])
    shirt_pick, mug_pick = job.lines.order_by("pk")
    tap(facility, associate, job, shirt_pick, 1)

    order_lines_cancel(order_id=order.pk, line_ids=[shirt_pick.order_line_id], actor=None, reason="out of season")

    assert PickLine.objects.get(pk=shirt_pick.pk).status == PickLine.Status.CANCELED
    assert reserved(facility, shirt) == 1  # the one picked shirt waits for its put-back
    message = OutboxMessage.objects.get(kind="lines-canceled")
    assert message.payload["lines"] == [{"external_line_id": shirt_pick.order_line.external_line_id, "quantity": 2,
                                        "remaining": 0}]
    tap(facility, associate, job, mug_pick, 1)  # the last open line closes the job: only the mug is packed
    assert PickJob.objects.get(pk=job.pk).status == PickJob.Status.CLOSED
    assert list(ParcelItem.objects.filter(parcel__shipment__order=order).values_list("order_line", "quantity")) == [
        (mug_pick.order_line_id, 1)]
    assert Order.objects.get(pk=order.pk).status == Order.Status.APPROVED
    assert stock_ledger_problems() == []


def test_cancel_of_the_last_open_line_closes_the_job_with_what_was_picked(store, products):
    facility, associate, _ = store
    shirt, mug = products
    order, job = started(facility, associate, [(shirt, 1), (mug, 1)])
    shirt_pick, mug_pick = job.lines.order_by("pk")
    tap(facility, associate, job, shirt_pick, 1)

    order_lines_cancel(order_id=order.pk, line_ids=[mug_pick.order_line_id], actor=None, reason="discontinued")

    assert PickJob.objects.get(pk=job.pk).status == PickJob.Status.CLOSED
    assert PackJob.objects.filter(order=order, status=PackJob.Status.OPEN).count() == 1
    assert reserved(facility, mug) == 0 and not PutBackTask.objects.exists()
    assert stock_ledger_problems() == []


def test_cancel_of_a_fulfilled_line_is_refused_and_changes_nothing(store, products):
    facility, associate, _ = store
    shirt, _ = products
    handover = ready_pickup(facility, associate, [(shirt, 1)])
    line = OrderLine.objects.get(order_id=handover.order_id)
    OrderLine.objects.filter(pk=line.pk).update(status=OrderLine.Status.FULFILLED)
    other = OrderLine.objects.create(order_id=handover.order_id, external_line_id="x2", sku="X", quantity=1,
                                     status=OrderLine.Status.CREATED)

    with pytest.raises(CancelRefused, match=f"line {line.external_line_id} .*fulfilled"):
        order_lines_cancel(order_id=handover.order_id, line_ids=[line.pk, other.pk], actor=None, reason="asked")

    assert OrderLine.objects.get(pk=other.pk).status == OrderLine.Status.CREATED
    assert not OutboxMessage.objects.filter(kind="lines-canceled").exists()


def test_choosing_every_open_line_cancels_the_whole_order(store, products):
    facility, _, _ = store
    shirt, _ = products
    order, _ = routed_order(facility, [(shirt, 1)])

    order_lines_cancel(order_id=order.pk, line_ids=list(order.lines.values_list("pk", flat=True)), actor=None,
                       reason="asked")

    assert Order.objects.get(pk=order.pk).status == Order.Status.CANCELED
    assert OutboxMessage.objects.filter(kind="order-canceled").count() == 1


# --- quantity reductions from the shop ---------------------------------------------------------------


def test_reduction_of_an_allocated_line_splits_it_and_shrinks_the_pick_line(store, products):
    facility, associate, _ = store
    shirt, _ = products
    order, job = started(facility, associate, [(shirt, 5)])
    pick = job.lines.get()
    tap(facility, associate, job, pick, 2)
    line = pick.order_line

    order_line_reduce(order_id=order.pk, external_line_id=line.external_line_id, new_quantity=1,
                      reason="Reduced in the shop")

    line.refresh_from_db()
    assert (line.status, line.quantity) == (OrderLine.Status.ALLOCATED, 1)
    gone = OrderLine.objects.get(parent=line)
    assert (gone.status, gone.quantity) == (OrderLine.Status.CANCELED, 4)
    pick.refresh_from_db()
    assert (pick.quantity, pick.picked_quantity, pick.status) == (1, 1, PickLine.Status.PICKED)
    assert PickJob.objects.get(pk=job.pk).status == PickJob.Status.CLOSED  # nothing left to pick
    # 3 unpicked units released at once, 1 picked unit waits for its put-back, 1 kept for the order
    assert reserved(facility, shirt) == 2
    assert list(PutBackTask.objects.get().items.values_list("order_line", "quantity")) == [(gone.pk, 1)]
    assert not OutboxMessage.objects.filter(kind="lines-canceled").exists()  # the shop made the change
    assert stock_ledger_problems() == []


def test_reduction_takes_queued_units_before_allocated_ones(store, products):
    facility, _, _ = store
    shirt, _ = products
    order, _ = routed_order(facility, [(shirt, 2)])
    allocated = order.lines.get()
    queued = OrderLine.objects.create(order=order, external_line_id=allocated.external_line_id, product=shirt,
                                      sku=allocated.sku, quantity=2, status=OrderLine.Status.QUEUED,
                                      queue=OrderLine.Queue.REJECTED)

    order_line_reduce(order_id=order.pk, external_line_id=allocated.external_line_id, new_quantity=1,
                      reason="Reduced in the shop", notify_shop=True)

    assert OrderLine.objects.get(pk=queued.pk).status == OrderLine.Status.CANCELED
    allocated.refresh_from_db()
    assert (allocated.status, allocated.quantity) == (OrderLine.Status.ALLOCATED, 1)
    assert reserved(facility, shirt) == 1
    assert OutboxMessage.objects.get(kind="lines-canceled").payload["lines"][0]["quantity"] == 3
    assert stock_ledger_problems() == []


def test_reduction_below_the_fulfilled_quantity_is_recorded_as_a_problem(store, products):
    facility, associate, _ = store
    shirt, _ = products
    handover = ready_pickup(facility, associate, [(shirt, 2)])
    line = OrderLine.objects.get(order_id=handover.order_id)
    OrderLine.objects.filter(pk=line.pk).update(status=OrderLine.Status.FULFILLED)

    order = order_line_reduce(order_id=handover.order_id, external_line_id=line.external_line_id, new_quantity=0,
                              reason="Reduced in the shop")

    assert [problem["code"] for problem in order.problems] == ["REDUCTION_BELOW_FULFILLED"]
    assert order.notes.filter(text__contains="already fulfilled").exists()
    assert OrderLine.objects.get(pk=line.pk).status == OrderLine.Status.FULFILLED


def test_shop_update_with_a_lower_current_quantity_cancels_picked_units_into_a_put_back(store, products):
    facility, associate, _ = store
    shirt, _ = products
    order, job = started(facility, associate, [(shirt, 3)])
    tap(facility, associate, job, job.lines.get(), 3)  # picked in full: the pack job waits
    Order.objects.filter(pk=order.pk).update(channel="shopify")
    line = order.lines.get()
    payload = {"id": order.external_id, "updated_at": "2026-11-20T11:00:00-06:00", "line_items": [
        {"id": line.external_line_id, "sku": shirt.sku, "quantity": 3, "current_quantity": 1}]}

    result = shopify_webhook_receive(topic="orders/updated", payload=payload, webhook_id="wh-edit")

    assert result.outcome == "updated"
    line.refresh_from_db()
    assert (line.status, line.quantity) == (OrderLine.Status.ALLOCATED, 1)
    assert list(ParcelItem.objects.filter(parcel__shipment__order=order).values_list("quantity", flat=True)) == [1]
    assert sum(PutBackTask.objects.get(order=order).items.values_list("quantity", flat=True)) == 2
    assert reserved(facility, shirt) == 3  # 1 for the order, 2 until they are back on the shelf
    assert not OutboxMessage.objects.filter(kind="lines-canceled").exists()
    assert stock_ledger_problems() == []


def test_a_paused_job_whose_last_open_line_was_canceled_closes_when_resumed(store, products):
    facility, associate, _ = store
    shirt, mug = products
    order, job = started(facility, associate, [(shirt, 1), (mug, 1)])
    shirt_pick, mug_pick = job.lines.order_by("pk")
    tap(facility, associate, job, shirt_pick, 1)
    job.refresh_from_db()
    pick_job_pause(job_id=job.pk, facility_id=facility.pk, actor=associate, version=job.version)
    order_lines_cancel(order_id=order.pk, line_ids=[mug_pick.order_line_id], actor=None, reason="discontinued")
    job.refresh_from_db()
    assert job.status == PickJob.Status.OPEN  # paused: nobody is picking it right now

    pick_job_start(job_id=job.pk, facility_id=facility.pk, actor=associate, version=job.version)

    job.refresh_from_db()
    assert (job.status, job.outcome) == (PickJob.Status.CLOSED, PickJob.Outcome.PICKED)
    assert PackJob.objects.filter(order=order, status=PackJob.Status.OPEN).count() == 1
    assert stock_ledger_problems() == []
