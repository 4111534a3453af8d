"""Carrier handover: scans, "hand over all", what leaves the building, the shop's messages, the manifest."""

import re
import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import close_old_connections, connection
from django.utils import timezone

from fulfillment.handover import HandoverError, carrier_manifest_pdf, handover_all, handover_list, handover_scan
from fulfillment.labels import parcel_relabel
from fulfillment.models import HandoverJob, Parcel, ParcelItem, PutBackTask, Shipment
from fulfillment.packing import pack_job_start, parcel_item_move
from fulfillment.putback import put_back_confirm
from oms.models import FulfillmentRequest, Order, OrderLine, OutboxMessage
from oms.orders.cancel import order_cancel
from stores.models import StockLevel
from tests.factories import ProductFactory
from tests.fulfillment.packing_world import (
    box,
    packed,
    pdf_info,
    pdf_text,
    picked_order,
    stock,
    store_with_people,
    version_of,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def products(store):
    facility, _, _ = store
    shirt, mug = ProductFactory(name="Shirt", weight_grams=300), ProductFactory(name="Mug", weight_grams=450)
    stock(facility, shirt, 10, "A-01")
    stock(facility, mug, 10, "B-02")
    return shirt, mug


@pytest.fixture
def job(store, products):
    facility, associate, _ = store
    shirt, mug = products
    job = picked_order(facility, associate, [(shirt, 2), (mug, 1)])
    packed(job, associate)
    return job


def parcel_of(job) -> Parcel:
    return Parcel.objects.get(shipment=job.shipment_id)


def levels(facility, *products) -> list[tuple[int, int]]:
    return [StockLevel.objects.values_list("on_hand", "reserved").get(facility=facility, product=product)
            for product in products]


def test_scanning_the_only_parcel_ships_the_order_and_takes_the_units_out_of_stock(store, products, job):
    facility, associate, _ = store
    parcel = parcel_of(job)
    assert levels(facility, *products) == [(10, 2), (10, 1)]

    result = handover_scan(facility=facility, tracking_number=parcel.tracking_number, actor=associate)

    parcel.refresh_from_db()
    shipment = Shipment.objects.get(pk=job.shipment_id)
    handover = HandoverJob.objects.get(shipment=shipment)
    assert levels(facility, *products) == [(8, 0), (9, 0)]
    assert parcel.status == Parcel.Status.HANDED_OVER and parcel.handed_over_at is not None
    assert shipment.status == Shipment.Status.SHIPPED and shipment.shipped_at == parcel.handed_over_at
    assert (handover.status, handover.handed_over_by) == (HandoverJob.Status.HANDED_OVER, associate)
    assert set(OrderLine.objects.filter(order=job.order_id).values_list("status", flat=True)) == {"FULFILLED"}
    assert Order.objects.get(pk=job.order_id).status == Order.Status.COMPLETED
    assert FulfillmentRequest.objects.get(order=job.order_id).status == FulfillmentRequest.Status.COMPLETED
    assert result.message == f"Handed over {parcel.tracking_number}. Shipped: {job.order.name}."
    call_command("check_stock_ledger")  # exits 1 on any mismatch


def test_the_fulfillment_message_reaches_the_outbox_before_the_completion(store, products, job):
    facility, associate, _ = store
    shirt, mug = products
    parcel = parcel_of(job)

    handover_scan(facility=facility, tracking_number=parcel.tracking_number, actor=associate)

    messages = list(OutboxMessage.objects.filter(order=job.order_id, destination="SHOP").order_by("pk"))
    assert [message.kind for message in messages] == ["fulfillment", "order-completed"]
    fulfillment = messages[0]
    lines = {line.sku: line.external_line_id for line in OrderLine.objects.filter(order=job.order_id)}
    assert fulfillment.idempotency_key == f"fulfillment:shipment:{job.shipment_id}"
    assert fulfillment.destination == OutboxMessage.Destination.SHOP
    assert fulfillment.payload == {
        "external_id": job.order.external_id, "name": job.order.name, "facility": facility.code,
        "carrier": {"code": "storefill-post", "name": "Storefill Post"}, "service": "GROUND",
        "parcels": [{"tracking_number": parcel.tracking_number, "tracking_url": parcel.tracking_url}],
        "lines": sorted([{"external_line_id": lines[shirt.sku], "sku": shirt.sku, "quantity": 2},
                         {"external_line_id": lines[mug.sku], "sku": mug.sku, "quantity": 1}],
                        key=lambda line: line["external_line_id"]),
    }


def two_parcel_job(facility, associate, products):
    shirt, mug = products
    job = picked_order(facility, associate, [(shirt, 1), (mug, 1)])
    pack_job_start(pack_job_id=job.pk, facility_id=facility.pk, actor=associate, version=0)
    first = job.shipment.parcels.get()
    mug_line = ParcelItem.objects.get(parcel=first, order_line__product=mug).order_line_id
    parcel_item_move(pack_job_id=job.pk, facility_id=facility.pk, actor=associate, version=version_of(job),
                     order_line_id=mug_line, from_parcel_id=first.pk, to_parcel_id=None, quantity=1)
    packed(job, associate)
    return job, list(job.shipment.parcels.order_by("pk"))


def test_a_shipment_ships_with_its_last_parcel(store, products):
    facility, associate, _ = store
    job, (first, second) = two_parcel_job(facility, associate, products)

    handover_scan(facility=facility, tracking_number=first.tracking_number, actor=associate)
    assert Shipment.objects.get(pk=job.shipment_id).status == Shipment.Status.READY
    assert levels(facility, *products) == [(10, 1), (10, 1)]
    assert not OutboxMessage.objects.filter(kind="fulfillment").exists()

    handover_scan(facility=facility, tracking_number=second.tracking_number, actor=associate)
    assert Shipment.objects.get(pk=job.shipment_id).status == Shipment.Status.SHIPPED
    assert levels(facility, *products) == [(9, 0), (9, 0)]
    payload = OutboxMessage.objects.get(kind="fulfillment").payload
    assert [p["tracking_number"] for p in payload["parcels"]] == [first.tracking_number, second.tracking_number]


def test_a_scan_tolerates_spaces_and_lower_case(store, job):
    facility, associate, _ = store
    number = parcel_of(job).tracking_number

    handover_scan(facility=facility, tracking_number=f" {number[:4].lower()} {number[4:]}\n", actor=associate)

    assert parcel_of(job).status == Parcel.Status.HANDED_OVER


def test_an_empty_or_unknown_scan_is_refused(store, job):
    facility, associate, _ = store

    with pytest.raises(HandoverError, match="Scan the tracking barcode"):
        handover_scan(facility=facility, tracking_number="  ", actor=associate)
    with pytest.raises(HandoverError, match="No parcel with tracking number SF999999999US in this store"):
        handover_scan(facility=facility, tracking_number="SF999999999US", actor=associate)
    assert parcel_of(job).status == Parcel.Status.LABELED


def test_a_scan_of_a_voided_label_says_so(store, job):
    facility, associate, _ = store
    old = parcel_of(job).tracking_number
    parcel_relabel(pack_job_id=job.pk, facility_id=facility.pk, parcel_id=parcel_of(job).pk, actor=associate,
                   version=version_of(job))

    with pytest.raises(HandoverError, match=f"{old} was voided"):
        handover_scan(facility=facility, tracking_number=old, actor=associate)
    assert parcel_of(job).status == Parcel.Status.LABELED


def test_a_second_scan_of_the_same_parcel_is_refused_and_changes_nothing(store, products, job):
    facility, associate, manager = store
    number = parcel_of(job).tracking_number
    handover_scan(facility=facility, tracking_number=number, actor=associate)

    with pytest.raises(HandoverError, match=f"{number} is already handed over") as refused:
        handover_scan(facility=facility, tracking_number=number, actor=manager)

    assert refused.value.status == 409
    assert levels(facility, *products) == [(8, 0), (9, 0)]


def test_another_stores_parcel_is_unknown_here_and_left_alone(job):
    other, other_associate, _ = store_with_people("NYC-01")
    number = parcel_of(job).tracking_number

    with pytest.raises(HandoverError, match="No parcel with tracking number") as refused:
        handover_scan(facility=other, tracking_number=number, actor=other_associate)

    assert refused.value.status == 404
    assert parcel_of(job).status == Parcel.Status.LABELED


def test_a_parcel_whose_pack_job_is_still_open_cannot_be_handed_over(store, products):
    facility, associate, _ = store
    job = picked_order(facility, associate, [(products[0], 1)])
    packed(job, associate, close=False)

    with pytest.raises(HandoverError, match="still being packed"):
        handover_scan(facility=facility, tracking_number=parcel_of(job).tracking_number, actor=associate)


def test_a_parcel_of_a_canceled_order_is_refused(store, products, job):
    facility, associate, _ = store
    number = parcel_of(job).tracking_number
    order_cancel(order_id=job.order_id, reason="customer asked")

    with pytest.raises(HandoverError, match="canceled with its order"):
        handover_scan(facility=facility, tracking_number=number, actor=associate)
    # The packed units stay reserved under the cancellation's put-back until an associate confirms it.
    assert levels(facility, *products) == [(10, 2), (10, 1)]
    task = PutBackTask.objects.get(order_id=job.order_id)
    put_back_confirm(task_id=task.pk, facility_id=facility.pk, actor=associate)
    assert levels(facility, *products) == [(10, 0), (10, 0)]


def test_hand_over_all_ships_every_waiting_parcel_of_the_carrier(store, products, job):
    facility, associate, _ = store
    second, (a, b) = two_parcel_job(facility, associate, products)
    still_packing = picked_order(facility, associate, [(products[0], 1)])
    packed(still_packing, associate, close=False)

    result = handover_all(facility=facility, carrier="storefill-post", actor=associate)

    assert len(result.parcels) == 3 and {s.pk for s in result.shipped} == {job.shipment_id, second.shipment_id}
    assert Order.objects.get(pk=job.order_id).status == Order.Status.COMPLETED
    assert Order.objects.get(pk=second.order_id).status == Order.Status.COMPLETED
    assert parcel_of(still_packing).status == Parcel.Status.LABELED
    assert levels(facility, *products) == [(7, 1), (8, 0)]
    call_command("check_stock_ledger")


def test_hand_over_all_with_nothing_waiting_is_refused(store):
    facility, associate, _ = store

    with pytest.raises(HandoverError, match="No parcels are waiting for Storefill Post"):
        handover_all(facility=facility, carrier="storefill-post", actor=associate)


def test_the_list_groups_waiting_parcels_by_carrier_and_counts_todays_handovers(store, products, job):
    facility, associate, _ = store
    _, (first, second) = two_parcel_job(facility, associate, products)
    handover_scan(facility=facility, tracking_number=first.tracking_number, actor=associate)

    [group] = handover_list(facility=facility)

    assert (group.code, group.name, group.handed_over_today) == ("storefill-post", "Storefill Post", 1)
    assert [parcel.tracking_number for parcel in group.parcels] == [parcel_of(job).tracking_number,
                                                                    second.tracking_number]


def test_the_manifest_lists_todays_handovers_and_waiting_parcels_but_not_yesterdays(store, products, job, tmp_path):
    facility, associate, _ = store
    yesterday = picked_order(facility, associate, [(products[0], 1)])
    packed(yesterday, associate)
    handover_scan(facility=facility, tracking_number=parcel_of(yesterday).tracking_number, actor=associate,
                  now=timezone.now() - timedelta(days=1))
    _, (first, second) = two_parcel_job(facility, associate, products)
    handover_scan(facility=facility, tracking_number=first.tracking_number, actor=associate)

    pdf = carrier_manifest_pdf(facility=facility, carrier="storefill-post")

    assert re.search(r"Pages:\s+1", pdf_info(pdf, tmp_path))
    text = pdf_text(pdf, tmp_path)
    assert first.tracking_number in text and second.tracking_number in text
    assert parcel_of(job).tracking_number in text and job.order.name in text
    assert parcel_of(yesterday).tracking_number not in text
    assert "Storefill Post" in text


@pytest.mark.django_db(transaction=True)
def test_two_associates_scanning_the_same_parcel_hand_it_over_once():
    facility, associate, manager = store_with_people()
    shirt = ProductFactory(weight_grams=300)
    stock(facility, shirt, 5)
    job = picked_order(facility, associate, [(shirt, 2)])
    packed(job, associate, box_code=box().code)
    number = parcel_of(job).tracking_number
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def scan(actor):
        try:
            barrier.wait(timeout=10)
            handover_scan(facility=facility, tracking_number=number, actor=actor)
            outcomes[actor.username] = "handed over"
        except HandoverError as exc:
            outcomes[actor.username] = exc.message
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            outcomes[actor.username] = repr(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=scan, args=(user,)) for user in (associate, manager)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(outcomes) == 2, outcomes
    refused = [text for text in outcomes.values() if text != "handed over"]
    assert len(refused) == 1 and "is already handed over" in refused[0], outcomes
    assert StockLevel.objects.values_list("on_hand", "reserved").get(facility=facility, product=shirt) == (3, 0)
    assert OutboxMessage.objects.filter(kind="fulfillment").count() == 1
    call_command("check_stock_ledger")
