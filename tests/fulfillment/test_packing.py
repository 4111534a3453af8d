"""Packing services: parcels, boxes and weights, labels (create, void, replace), closing, documents."""

import re

import pytest
from django.test import override_settings

from fulfillment.carriers.base import Carrier, LabelResult
from fulfillment.labels import (
    parcel_create_label,
    parcel_label_pdf,
    parcel_relabel,
    parcel_void_label,
    shipment_issue_return_label,
    shipment_packing_slip_pdf,
    shipment_return_label_pdf,
)
from fulfillment.models import HandoverJob, PackJob, Parcel, ParcelItem, Shipment
from fulfillment.packing import (
    PackError,
    StalePackJob,
    pack_job_close,
    pack_job_start,
    parcel_add,
    parcel_item_move,
    parcel_remove,
    parcel_set_box,
)
from oms.models import TransitionLog
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
def store():
    return store_with_people(address1="12 State St", postal_code="60603")


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
    return picked_order(facility, associate, [(shirt, 2), (mug, 1)])


@pytest.fixture
def started(store, job):
    facility, associate, _ = store
    return pack_job_start(pack_job_id=job.pk, facility_id=facility.pk, actor=associate, version=job.version)


def act(function, job, actor, **kwargs):
    """Call a pack service with the job's current version, as the page would."""
    return function(pack_job_id=job.pk, facility_id=job.facility_id, actor=actor, version=version_of(job), **kwargs)


def only_parcel(job) -> Parcel:
    return Parcel.objects.get(shipment=job.shipment_id)


def contents(parcel) -> dict[str, int]:
    return {item.order_line.sku: item.quantity for item in ParcelItem.objects.filter(parcel=parcel)
            .select_related("order_line")}


# --- the pack job ------------------------------------------------------------------------------------

def test_closing_a_pick_job_leaves_an_open_pack_job_with_every_unit_in_one_parcel(job, products):
    shirt, mug = products
    parcel = only_parcel(job)

    assert job.status == PackJob.Status.OPEN and job.shipment.status == Shipment.Status.OPEN
    assert contents(parcel) == {shirt.sku: 2, mug.sku: 1}
    assert parcel.status == Parcel.Status.OPEN and parcel.weight_grams == 2 * 300 + 450


def test_starting_assigns_the_job_to_the_associate_and_logs_it(store, job):
    facility, associate, _ = store

    job = pack_job_start(pack_job_id=job.pk, facility_id=facility.pk, actor=associate, version=0)

    job.refresh_from_db()
    assert (job.status, job.assigned_to, job.version, job.changed_by) == ("IN_PROGRESS", associate, 1, associate)
    log = TransitionLog.objects.get(object_type="packjob", object_id=job.pk)
    assert (log.source_state, log.target_state, log.actor, log.order_id) == ("OPEN", "IN_PROGRESS", associate,
                                                                             job.order_id)


def test_a_stale_version_is_refused_naming_who_changed_the_job(store, started):
    facility, associate, manager = store

    with pytest.raises(StalePackJob, match="changed by Ada — reload") as refused:
        parcel_add(pack_job_id=started.pk, facility_id=facility.pk, actor=manager, version=0)

    assert refused.value.status == 409
    assert Parcel.objects.filter(shipment=started.shipment_id).count() == 1


def test_a_pack_job_of_another_store_does_not_exist_there(store, job):
    other, other_associate, _ = store_with_people("NYC-01")

    with pytest.raises(PackError, match="does not exist in this store") as refused:
        pack_job_start(pack_job_id=job.pk, facility_id=other.pk, actor=other_associate, version=0)

    assert refused.value.status == 404
    job.refresh_from_db()
    assert job.status == PackJob.Status.OPEN


def test_parcels_change_only_once_the_job_is_started(store, job):
    _, associate, _ = store

    with pytest.raises(PackError, match="Start packing"):
        act(parcel_add, job, associate)


def test_a_started_job_cannot_be_started_again(store, started):
    _, _, manager = store

    with pytest.raises(PackError, match="in progress, it cannot be started"):
        act(pack_job_start, started, manager)


# --- parcels and items -------------------------------------------------------------------------------

def test_moving_units_to_an_added_parcel_splits_the_contents_and_the_weights(store, started, products):
    _, associate, _ = store
    shirt, mug = products
    first = only_parcel(started)
    second = act(parcel_add, started, associate)
    mug_line = ParcelItem.objects.get(parcel=first, order_line__sku=mug.sku).order_line_id

    act(parcel_item_move, started, associate, order_line_id=mug_line, from_parcel_id=first.pk,
        to_parcel_id=second.pk, quantity=1)

    first.refresh_from_db()
    second.refresh_from_db()
    assert contents(first) == {shirt.sku: 2} and contents(second) == {mug.sku: 1}
    assert (first.weight_grams, second.weight_grams) == (600, 450)
    assert version_of(started) == 3


def test_moving_part_of_a_line_to_a_new_parcel_keeps_the_rest(store, started, products):
    _, associate, _ = store
    shirt, _ = products
    first = only_parcel(started)
    shirt_line = ParcelItem.objects.get(parcel=first, order_line__sku=shirt.sku).order_line_id

    new = act(parcel_item_move, started, associate, order_line_id=shirt_line, from_parcel_id=first.pk,
              to_parcel_id=None, quantity=1)

    assert contents(first)[shirt.sku] == 1 and contents(new) == {shirt.sku: 1}
    assert ParcelItem.objects.filter(order_line_id=shirt_line).count() == 2


@pytest.mark.parametrize(("quantity", "same_parcel", "message"), [
    (0, False, "between 1 and 2"),
    (3, False, "between 1 and 2"),
    (1, True, "Choose another parcel"),
])
def test_moves_that_make_no_sense_are_refused(store, started, products, quantity, same_parcel, message):
    _, associate, _ = store
    first = only_parcel(started)
    second = act(parcel_add, started, associate)
    shirt_line = ParcelItem.objects.get(parcel=first, order_line__sku=products[0].sku).order_line_id

    with pytest.raises(PackError, match=message):
        act(parcel_item_move, started, associate, order_line_id=shirt_line, from_parcel_id=first.pk,
            to_parcel_id=first.pk if same_parcel else second.pk, quantity=quantity)

    assert contents(first)[products[0].sku] == 2


def test_a_labelled_parcel_keeps_its_contents(store, started, products):
    _, associate, _ = store
    first = only_parcel(started)
    second = act(parcel_add, started, associate)
    act(parcel_set_box, started, associate, parcel_id=first.pk, box_type_id=box().pk, weight_grams=None)
    act(parcel_create_label, started, associate, parcel_id=first.pk)
    shirt_line = ParcelItem.objects.get(parcel=first, order_line__sku=products[0].sku).order_line_id

    with pytest.raises(PackError, match="Parcel 1 is labelled: void its label"):
        act(parcel_item_move, started, associate, order_line_id=shirt_line, from_parcel_id=first.pk,
            to_parcel_id=second.pk, quantity=1)


def test_only_an_empty_parcel_that_is_not_the_last_can_be_removed(store, started):
    _, associate, _ = store
    first = only_parcel(started)
    with pytest.raises(PackError, match="still holds items"):
        act(parcel_remove, started, associate, parcel_id=first.pk)
    second = act(parcel_add, started, associate)

    act(parcel_remove, started, associate, parcel_id=second.pk)

    assert list(Parcel.objects.filter(shipment=started.shipment_id)) == [first]


# --- box and weight ----------------------------------------------------------------------------------

def test_the_weight_defaults_to_the_items_plus_the_empty_box(store, started):
    _, associate, _ = store
    parcel = only_parcel(started)

    parcel = act(parcel_set_box, started, associate, parcel_id=parcel.pk, box_type_id=box("small").pk,
                 weight_grams=None)

    assert parcel.box_type.code == "small" and parcel.weight_grams == 1050 + 150


def test_an_entered_weight_overrides_the_computed_one(store, started):
    _, associate, _ = store
    parcel = only_parcel(started)

    act(parcel_set_box, started, associate, parcel_id=parcel.pk, box_type_id=box("medium").pk, weight_grams=1480)

    parcel.refresh_from_db()
    assert (parcel.box_type.code, parcel.weight_grams) == ("medium", 1480)


@pytest.mark.parametrize(("box_code", "weight", "message"), [
    ("small", 0, "enter a weight above 0 g"),
    ("small", -5, "enter a weight above 0 g"),
    ("small", 5001, "takes at most 5,000 g"),
    ("mailer", None, "takes at most 2,000 g"),
])
def test_impossible_weights_are_refused(store, products, box_code, weight, message):
    facility, associate, _ = store
    job = picked_order(facility, associate, [(products[1], 5)])  # 5 mugs: 2,250 g
    act(pack_job_start, job, associate)
    parcel = only_parcel(job)

    with pytest.raises(PackError, match=message):
        act(parcel_set_box, job, associate, parcel_id=parcel.pk, box_type_id=box(box_code).pk, weight_grams=weight)

    parcel.refresh_from_db()
    assert parcel.box_type_id is None


# --- labels ------------------------------------------------------------------------------------------

def test_a_parcel_needs_a_box_and_items_before_its_label(store, started):
    _, associate, _ = store
    parcel = only_parcel(started)
    empty = act(parcel_add, started, associate)

    with pytest.raises(PackError, match="choose its box first"):
        act(parcel_create_label, started, associate, parcel_id=parcel.pk)
    with pytest.raises(PackError, match="Parcel 2 is empty"):
        act(parcel_create_label, started, associate, parcel_id=empty.pk)


def test_labelling_every_parcel_makes_the_shipment_ready(store, started):
    _, associate, _ = store
    parcel = only_parcel(started)
    act(parcel_set_box, started, associate, parcel_id=parcel.pk, box_type_id=box().pk, weight_grams=None)

    parcel = act(parcel_create_label, started, associate, parcel_id=parcel.pk)

    shipment = Shipment.objects.get(pk=started.shipment_id)
    assert parcel.status == Parcel.Status.LABELED and parcel.tracking_number.startswith("SF")
    assert parcel.carrier == "storefill-post" and parcel.tracking_url.endswith(parcel.tracking_number)
    assert (shipment.status, shipment.carrier, shipment.service) == ("READY", "storefill-post", "GROUND")
    assert set(TransitionLog.objects.filter(order=started.order_id).values_list("object_type", "transition")) >= {
        ("parcel", "label"), ("shipment", "mark_ready")}


def test_the_shipment_is_ready_only_when_the_last_parcel_is_labelled(store, started, products):
    _, associate, _ = store
    first = only_parcel(started)
    mug_line = ParcelItem.objects.get(parcel=first, order_line__sku=products[1].sku).order_line_id
    second = act(parcel_item_move, started, associate, order_line_id=mug_line, from_parcel_id=first.pk,
                 to_parcel_id=None, quantity=1)
    for parcel in (first, second):
        act(parcel_set_box, started, associate, parcel_id=parcel.pk, box_type_id=box().pk, weight_grams=None)

    act(parcel_create_label, started, associate, parcel_id=first.pk)
    assert Shipment.objects.get(pk=started.shipment_id).status == Shipment.Status.OPEN
    act(parcel_create_label, started, associate, parcel_id=second.pk)
    assert Shipment.objects.get(pk=started.shipment_id).status == Shipment.Status.READY


def test_voiding_a_label_keeps_the_old_number_and_reopens_the_shipment(store, job):
    _, associate, _ = store
    packed(job, associate, close=False)
    parcel = only_parcel(job)
    old = parcel.tracking_number

    act(parcel_void_label, job, associate, parcel_id=parcel.pk)

    parcel.refresh_from_db()
    assert (parcel.status, parcel.tracking_number, parcel.voided_tracking_numbers) == ("OPEN", "", [old])
    assert Shipment.objects.get(pk=job.shipment_id).status == Shipment.Status.OPEN
    act(parcel_create_label, job, associate, parcel_id=parcel.pk)
    parcel.refresh_from_db()
    assert parcel.tracking_number not in ("", old) and parcel.voided_tracking_numbers == [old]


def test_a_closed_job_replaces_a_label_in_one_step_and_stays_ready(store, job):
    _, associate, _ = store
    handover = packed(job, associate)
    parcel = only_parcel(job)
    old = parcel.tracking_number
    with pytest.raises(PackError, match="Void and print a new label"):
        act(parcel_void_label, job, associate, parcel_id=parcel.pk)

    act(parcel_relabel, job, associate, parcel_id=parcel.pk)

    parcel.refresh_from_db()
    handover.refresh_from_db()
    assert parcel.status == Parcel.Status.LABELED and parcel.tracking_number != old
    assert parcel.voided_tracking_numbers == [old]
    assert Shipment.objects.get(pk=job.shipment_id).status == Shipment.Status.READY
    assert handover.status == HandoverJob.Status.OPEN


class RefusingCarrier(Carrier):
    code = "refusing"
    name = "Refusing Parcel Co"
    services = (("STD", "Standard"),)

    def create_label(self, request):
        from fulfillment.carriers.base import CarrierError

        raise CarrierError("address not served")


class PdfCarrier(Carrier):
    code = "pdf-post"
    name = "PDF Post"
    services = (("STD", "Standard"),)
    serial = 0

    def create_label(self, request):
        PdfCarrier.serial += 1
        number = f"PDF{PdfCarrier.serial:06d}"
        return LabelResult(tracking_number=number, tracking_url=f"https://pdf.example/{number}", service="STD",
                           label_pdf=b"%PDF-1.4 carrier label " + number.encode())

    def void_label(self, tracking_number):
        pass


CARRIERS = ["fulfillment.carriers.offline.OfflineCarrier", f"{__name__}.RefusingCarrier", f"{__name__}.PdfCarrier"]


@override_settings(STOREFILL_CARRIERS=CARRIERS, STOREFILL_DEFAULT_CARRIER="refusing")
def test_a_carrier_refusal_is_shown_and_changes_nothing(store, started):
    _, associate, _ = store
    parcel = only_parcel(started)
    act(parcel_set_box, started, associate, parcel_id=parcel.pk, box_type_id=box().pk, weight_grams=None)
    version = version_of(started)

    with pytest.raises(PackError, match="Refusing Parcel Co refused the label: address not served"):
        act(parcel_create_label, started, associate, parcel_id=parcel.pk)

    parcel.refresh_from_db()
    assert (parcel.status, parcel.tracking_number) == ("OPEN", "")
    assert version_of(started) == version


@override_settings(STOREFILL_CARRIERS=CARRIERS, STOREFILL_DEFAULT_CARRIER="pdf-post")
def test_a_label_the_carrier_drew_is_printed_as_it_came(store, job):
    _, associate, _ = store
    packed(job, associate, close=False)
    parcel = only_parcel(job)

    assert parcel_label_pdf(parcel=parcel) == b"%PDF-1.4 carrier label " + parcel.tracking_number.encode()


def test_an_order_without_a_shipping_address_cannot_be_labelled(store, started):
    _, associate, _ = store
    started.order.shipping_address = {}
    started.order.save(update_fields=["shipping_address"])
    parcel = only_parcel(started)
    act(parcel_set_box, started, associate, parcel_id=parcel.pk, box_type_id=box().pk, weight_grams=None)

    with pytest.raises(PackError, match="no complete shipping address"):
        act(parcel_create_label, started, associate, parcel_id=parcel.pk)


# --- closing -----------------------------------------------------------------------------------------

def test_a_job_closes_only_when_every_parcel_is_labelled(store, started):
    _, associate, _ = store

    with pytest.raises(PackError, match="Parcel 1 has no label yet"):
        act(pack_job_close, started, associate)

    assert PackJob.objects.get(pk=started.pk).status == PackJob.Status.IN_PROGRESS
    assert not HandoverJob.objects.exists()


def test_closing_drops_empty_parcels_and_creates_the_carrier_handover_job(store, job):
    _, associate, _ = store
    packed(job, associate, close=False)
    act(parcel_add, job, associate)

    handover = act(pack_job_close, job, associate)

    job.refresh_from_db()
    assert job.status == PackJob.Status.CLOSED and job.closed_at is not None
    assert Parcel.objects.filter(shipment=job.shipment_id).count() == 1
    assert (handover.channel, handover.status, handover.carrier, handover.shipment_id, handover.order_id) == (
        "CARRIER", "OPEN", "storefill-post", job.shipment_id, job.order_id)
    assert Shipment.objects.get(pk=job.shipment_id).status == Shipment.Status.READY


def test_a_closed_job_takes_no_more_parcels(store, job):
    _, associate, _ = store
    packed(job, associate)

    with pytest.raises(PackError, match="closed: nothing more to pack"):
        act(parcel_add, job, associate)


# --- documents ---------------------------------------------------------------------------------------

def test_the_label_is_a_4x6_inch_page_with_the_tracking_number_and_recipient(store, job, tmp_path):
    _, associate, _ = store
    packed(job, associate)
    parcel = only_parcel(job)

    pdf = parcel_label_pdf(parcel=parcel)

    assert re.search(r"Page size:\s+288 x 432 pts", pdf_info(pdf, tmp_path))
    text = pdf_text(pdf, tmp_path)
    assert parcel.tracking_number in text and "Ada Lovelace" in text and "1 Main St" in text
    assert "12 State St" in text  # the store sends it


def test_a_parcel_without_a_label_has_no_label_pdf(store, started):
    with pytest.raises(PackError, match="no label"):
        parcel_label_pdf(parcel=only_parcel(started))


def test_the_return_label_goes_from_the_customer_to_the_store_with_its_own_number(store, job, tmp_path):
    _, associate, _ = store
    packed(job, associate)

    shipment = act(shipment_issue_return_label, job, associate)
    again = act(shipment_issue_return_label, job, associate)

    assert shipment.return_tracking_number.startswith("RF")
    assert again.return_tracking_number == shipment.return_tracking_number
    pdf = shipment_return_label_pdf(shipment=shipment)
    assert "288 x 432 pts" in pdf_info(pdf, tmp_path)
    text = pdf_text(pdf, tmp_path)
    assert shipment.return_tracking_number in text
    assert text.index("Ada Lovelace") < text.index("Store CHI-01")  # FROM the customer, TO the store


def test_the_packing_slip_lists_every_line_with_what_this_shipment_holds(store, job, products, tmp_path):
    shirt, mug = products

    text = pdf_text(shipment_packing_slip_pdf(shipment=job.shipment), tmp_path)

    assert job.order.name in text and shirt.sku in text and mug.sku in text and "Shirt" in text
