"""A packing station's label settings at work: ZPL labels to download, raw printing to its network printer, and
the store's rate bought through EasyPost."""

import pytest

from fulfillment.models import Parcel
from stores.facility_settings import facility_settings_update
from tests.factories import ProductFactory
from tests.fake_easypost import API_KEY, FakeEasyPost
from tests.fulfillment.packing_world import packed, picked_order
from tests.fulfillment.store_world import HTMX, stock, store_with_people
from tests.fulfillment.store_world import store_url as url
from tests.fulfillment.test_thermal_labels import Printer
from tests.workers import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def labelled(client):
    facility, associate, _ = store_with_people("LBL-01", address1="1 Main St", city="Chicago", postal_code="60601",
                                               country="US")
    product = ProductFactory(weight_grams=300)
    stock(facility, product, 5)
    job = picked_order(facility, associate, [(product, 1)])
    packed(job, associate, close=False)
    client.force_login(associate)
    return facility, job, Parcel.objects.get(shipment__pack_job=job)


def settings_of(facility, **changes):
    facility_settings_update(facility_id=facility.pk, changes=changes)
    facility.refresh_from_db()


def test_a_zpl_station_downloads_the_label_as_zpl(client, labelled):
    facility, job, parcel = labelled
    settings_of(facility, label_format="ZPL")
    page = client.get(url("pack-job", facility, job.pk)).content.decode()
    assert "Label (.zpl)" in page
    response = client.get(url("pack-parcel-label-zpl", facility, job.pk, parcel.pk))
    assert response.status_code == 200 and response["Content-Type"] == "application/zpl"
    body = response.content.decode()
    assert body.startswith("^XA") and parcel.tracking_number in body and body.rstrip().endswith("^XZ")


def test_print_sends_the_label_to_the_stations_printer(client, labelled):
    facility, job, parcel = labelled
    printer = Printer()
    settings_of(facility, label_printer=f"127.0.0.1:{printer.port}")
    response = client.post(url("pack-parcel-print", facility, job.pk, parcel.pk), **HTMX)
    printer.thread.join(timeout=5)
    assert response.status_code == 200 and "sent to the printer" in response.content.decode()
    assert printer.received.startswith(b"^XA") and parcel.tracking_number.encode() in printer.received


def test_a_printer_that_is_off_is_said_and_the_label_stays_downloadable(client, labelled):
    facility, job, parcel = labelled
    settings_of(facility, label_printer=f"127.0.0.1:{free_port()}")
    response = client.post(url("pack-parcel-print", facility, job.pk, parcel.pk), **HTMX)
    assert response.status_code == 422 and "could not be reached" in response.content.decode()
    assert client.get(url("pack-parcel-label-pdf", facility, job.pk, parcel.pk)).status_code == 200


def test_print_without_a_printer_says_to_download(client, labelled):
    facility, job, parcel = labelled
    response = client.post(url("pack-parcel-print", facility, job.pk, parcel.pk), **HTMX)
    assert response.status_code == 422 and "No printer" in response.content.decode()


@pytest.fixture
def easypost(settings):
    fake = FakeEasyPost()
    settings.STOREFILL_CARRIERS = ["fulfillment.carriers.offline.OfflineCarrier",
                                   "fulfillment.carriers.easypost.EasyPostCarrier"]
    settings.STOREFILL_DEFAULT_CARRIER = "easypost"
    settings.EASYPOST_API_KEY, settings.EASYPOST_API_BASE, settings.EASYPOST_TIMEOUT = API_KEY, fake.api_base, 2
    yield fake
    fake.stop()


def test_the_stores_rate_and_format_are_what_easypost_is_asked_for(easypost):
    facility, associate, _ = store_with_people("LBL-03", address1="1 Main St", city="Chicago", postal_code="60601",
                                               country="US")
    settings_of(facility, label_format="ZPL", label_service="CHEAPEST_WITHIN:2")
    product = ProductFactory(weight_grams=300)
    stock(facility, product, 5)
    job = picked_order(facility, associate, [(product, 1)])
    packed(job, associate, close=False)
    parcel = Parcel.objects.select_related("shipment").get(shipment__pack_job=job)
    assert parcel.shipment.service == "USPS:Priority"  # the cheapest arriving within 2 days
    assert bytes(parcel.label_zpl).startswith(b"%fake-label") and parcel.label_pdf is None
    assert easypost.shipments[parcel.carrier_state["label"]["shipment_id"]]["options"] == {"label_format": "ZPL"}


@pytest.fixture
def started(client):
    from fulfillment.packing import pack_job_start
    from tests.fulfillment.packing_world import version_of

    facility, associate, _ = store_with_people("LBL-04", address1="1 Main St", city="Chicago", postal_code="60601",
                                               country="US")
    product = ProductFactory(weight_grams=300)
    stock(facility, product, 5)
    job = picked_order(facility, associate, [(product, 1)])
    pack_job_start(pack_job_id=job.pk, facility_id=facility.pk, actor=associate, version=version_of(job))
    client.force_login(associate)
    return facility, job, Parcel.objects.get(shipment__pack_job=job)


def test_the_packing_screen_lists_the_rates_and_the_chosen_one_is_bought(client, started):
    from tests.fulfillment.packing_world import box, version_of

    facility, job, parcel = started
    rates = client.get(url("pack-parcel-rates", facility, job.pk, parcel.pk), {"box": box().pk}, **HTMX)
    page = rates.content.decode()
    assert rates.status_code == 200 and "Ground" in page and "Express" in page and "USD" in page
    chosen = client.post(url("pack-shipment-service", facility, job.pk), {"service": "EXPRESS",
                                                                         "version": version_of(job)}, **HTMX)
    assert chosen.status_code == 200 and "Rate EXPRESS chosen" in chosen.content.decode()
    client.post(url("pack-parcel-box-label", facility, job.pk, parcel.pk),
                {"box": box().pk, "weight_known": "1", "version": version_of(job)}, **HTMX)
    parcel.refresh_from_db()
    assert parcel.status == Parcel.Status.LABELED and parcel.shipment.service == "EXPRESS"


def test_a_rate_the_carrier_does_not_have_is_refused(client, started):
    from tests.fulfillment.packing_world import version_of

    facility, job, _ = started
    response = client.post(url("pack-shipment-service", facility, job.pk), {"service": "TELEPORT",
                                                                           "version": version_of(job)}, **HTMX)
    assert response.status_code == 422 and "no rate" in response.content.decode()


def test_rates_need_a_box(client, started):
    facility, job, parcel = started
    response = client.get(url("pack-parcel-rates", facility, job.pk, parcel.pk), **HTMX)
    assert response.status_code == 422 and "Choose a box" in response.content.decode()
