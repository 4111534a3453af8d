"""Labels bought through EasyPost from the packing screen's services: once, whatever fails in between."""

import pytest

from fulfillment.labels import parcel_create_label, parcel_relabel, parcel_void_label
from fulfillment.models import Parcel
from fulfillment.packing import PackError, pack_job_start, parcel_set_box
from tests.factories import ProductFactory
from tests.fake_easypost import API_KEY, FakeEasyPost
from tests.fulfillment.packing_world import box, picked_order, version_of
from tests.fulfillment.store_world import stock, store_with_people

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def fake():
    server = FakeEasyPost()
    yield server
    server.stop()


@pytest.fixture
def easypost(fake, settings):
    settings.STOREFILL_CARRIERS = ["fulfillment.carriers.offline.OfflineCarrier",
                                   "fulfillment.carriers.easypost.EasyPostCarrier"]
    settings.STOREFILL_DEFAULT_CARRIER = "easypost"
    settings.EASYPOST_API_KEY, settings.EASYPOST_API_BASE, settings.EASYPOST_TIMEOUT = API_KEY, fake.api_base, 2
    fake.slow, fake.fail_next = {}, {}
    return fake


@pytest.fixture
def boxed():
    facility, associate, _ = store_with_people("EP-01", address1="1 Main St", city="Chicago", postal_code="60601",
                                               country="US")
    product = ProductFactory(weight_grams=400)
    stock(facility, product, 5)
    job = picked_order(facility, associate, [(product, 2)])
    common = {"pack_job_id": job.pk, "facility_id": facility.pk, "actor": associate}
    pack_job_start(version=version_of(job), **common)
    parcel = job.shipment.parcels.get()
    parcel_set_box(parcel_id=parcel.pk, box_type_id=box("small").pk, weight_grams=None, version=version_of(job),
                   **common)
    return job, parcel, common


def label(job, parcel, common):
    return parcel_create_label(parcel_id=parcel.pk, version=version_of(job), **common)


def test_a_label_is_bought_from_easypost_and_kept_on_the_parcel(easypost, boxed):
    job, parcel, common = boxed
    label(job, parcel, common)
    parcel.refresh_from_db()
    assert parcel.status == Parcel.Status.LABELED and parcel.carrier == "easypost"
    assert parcel.tracking_number.startswith("EZ") and bytes(parcel.label_pdf).startswith(b"%fake-label")
    assert parcel.carrier_state["label"]["shipment_id"] in easypost.shipments
    assert job.shipment.__class__.objects.get(pk=job.shipment_id).service == "USPS:GroundAdvantage"


@pytest.mark.django_db(transaction=True)  # real commits: the prepared shipment outlives the failed tap
def test_a_purchase_whose_answer_was_lost_is_not_bought_again_on_the_next_tap(easypost, boxed):
    job, parcel, common = boxed
    before = easypost.purchases
    easypost.slow = {r"/v2/shipments/shp_\w+/buy": 3}
    with pytest.raises(PackError, match="did not answer in time"):
        label(job, parcel, common)
    parcel.refresh_from_db()
    assert parcel.status == Parcel.Status.OPEN  # the tap failed ...
    prepared = parcel.carrier_state["label"]["shipment_id"]  # ... but the prepared shipment was kept
    easypost.slow = {}
    label(job, parcel, common)
    parcel.refresh_from_db()
    assert easypost.purchases == before + 1
    assert parcel.status == Parcel.Status.LABELED and parcel.carrier_state["label"]["shipment_id"] == prepared


def test_changing_the_box_after_a_failed_purchase_prepares_anew_unless_it_was_bought(easypost, boxed):
    job, parcel, common = boxed
    easypost.fail(r"/v2/shipments/shp_\w+/buy", 402, "PAYMENT.INSUFFICIENT_FUNDS", "Insufficient funds.")
    with pytest.raises(PackError, match="not enough funds"):
        label(job, parcel, common)
    parcel.refresh_from_db()
    first = parcel.carrier_state["label"]["shipment_id"]
    parcel_set_box(parcel_id=parcel.pk, box_type_id=box("medium").pk, weight_grams=1500, version=version_of(job),
                   **common)
    parcel.refresh_from_db()
    assert "label" not in parcel.carrier_state  # nothing was bought: forgotten
    label(job, parcel, common)
    parcel.refresh_from_db()
    assert parcel.carrier_state["label"]["shipment_id"] != first
    assert easypost.shipments[parcel.carrier_state["label"]["shipment_id"]]["parcel"]["weight"] == 52.9


def test_voiding_asks_easypost_for_the_refund_and_keeps_its_status(easypost, boxed):
    job, parcel, common = boxed
    label(job, parcel, common)
    parcel.refresh_from_db()
    shipment_id, number = parcel.carrier_state["label"]["shipment_id"], parcel.tracking_number
    parcel_void_label(parcel_id=parcel.pk, version=version_of(job), **common)
    parcel.refresh_from_db()
    assert parcel.status == Parcel.Status.OPEN and parcel.refund_status == "submitted"
    assert easypost.shipments[shipment_id]["refund_status"] == "submitted"
    assert number in parcel.voided_tracking_numbers and "label" not in parcel.carrier_state


def test_a_relabel_buys_one_new_label_and_refunds_the_old(easypost, boxed):
    job, parcel, common = boxed
    label(job, parcel, common)
    parcel.refresh_from_db()
    old_shipment, old_number = parcel.carrier_state["label"]["shipment_id"], parcel.tracking_number
    before = easypost.purchases
    parcel_relabel(parcel_id=parcel.pk, version=version_of(job), **common)
    parcel.refresh_from_db()
    assert easypost.purchases == before + 1
    assert parcel.tracking_number != old_number and parcel.carrier_state["label"]["shipment_id"] != old_shipment
    assert easypost.shipments[old_shipment]["refund_status"] == "submitted" and parcel.refund_status == "submitted"
