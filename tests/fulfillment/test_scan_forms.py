"""End of day: the carrier's scan form of the parcels handed to it today, once, printed with the manifest."""

import pytest

from fulfillment.handover import (
    HandoverError,
    carrier_manifest,
    carrier_manifest_pdf,
    carrier_scan_form_create,
    handover_all,
)
from fulfillment.models import Parcel, ScanForm
from tests.factories import ProductFactory
from tests.fake_easypost import API_KEY, FakeEasyPost
from tests.fulfillment.packing_world import packed, pdf_text, picked_order
from tests.fulfillment.store_world import HTMX, stock, store_with_people
from tests.fulfillment.store_world import store_url as url

pytestmark = pytest.mark.django_db


@pytest.fixture
def easypost(settings):
    fake = FakeEasyPost()
    settings.STOREFILL_CARRIERS = ["fulfillment.carriers.offline.OfflineCarrier",
                                   "fulfillment.carriers.easypost.EasyPostCarrier"]
    settings.STOREFILL_DEFAULT_CARRIER = "easypost"
    settings.EASYPOST_API_KEY, settings.EASYPOST_API_BASE, settings.EASYPOST_TIMEOUT = API_KEY, fake.api_base, 2
    yield fake
    fake.stop()


def handed_over(facility, associate, count: int) -> list[Parcel]:
    product = ProductFactory(weight_grams=300)
    stock(facility, product, 10)
    for _ in range(count):
        packed(picked_order(facility, associate, [(product, 1)]), associate)
    handover_all(facility=facility, carrier="easypost", actor=associate)
    return list(Parcel.objects.filter(shipment__facility=facility, status=Parcel.Status.HANDED_OVER).order_by("pk"))


@pytest.fixture
def store():
    return store_with_people("SF-01", address1="1 Main St", city="Chicago", postal_code="60601", country="US")


def test_the_days_parcels_get_one_scan_form_printed_on_the_manifest(easypost, store, tmp_path):
    facility, associate, _ = store
    parcels = handed_over(facility, associate, 2)
    result = carrier_scan_form_create(facility=facility, carrier="easypost", actor=associate)
    form = result.scan_form
    assert form.tracking_numbers == [parcel.tracking_number for parcel in parcels]
    assert easypost.scan_forms[form.carrier_form_id]["tracking_codes"] == form.tracking_numbers
    assert carrier_manifest(facility=facility, carrier="easypost").scan_forms == (form.carrier_form_id,)
    assert form.carrier_form_id in pdf_text(carrier_manifest_pdf(facility=facility, carrier="easypost"), tmp_path)


def test_a_second_tap_asks_for_no_second_form(easypost, store):
    facility, associate, _ = store
    handed_over(facility, associate, 1)
    carrier_scan_form_create(facility=facility, carrier="easypost", actor=associate)
    with pytest.raises(HandoverError, match="on a scan form already"):
        carrier_scan_form_create(facility=facility, carrier="easypost", actor=associate)
    assert ScanForm.objects.count() == 1 and len(easypost.scan_forms) == 1


def test_a_carrier_without_scan_forms_says_the_driver_signs_the_manifest(store):
    facility, associate, _ = store
    with pytest.raises(HandoverError, match="has no scan forms"):
        carrier_scan_form_create(facility=facility, carrier="storefill-post", actor=associate)


def test_the_handover_page_offers_it_and_answers_the_tap(easypost, store, client):
    facility, associate, _ = store
    handed_over(facility, associate, 1)
    client.force_login(associate)
    assert "End of day: scan form" in client.get(url("handover-queue", facility)).content.decode()
    response = client.post(url("handover-scan-form", facility, "easypost"), **HTMX)
    assert response.status_code == 200 and "Scan form sf_" in response.content.decode()
    again = client.post(url("handover-scan-form", facility, "easypost"), **HTMX)
    assert again.status_code == 409
