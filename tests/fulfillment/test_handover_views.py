"""The handover page: waiting parcels per carrier, scans and "hand over all" over htmx, refusals, manifest, access."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from fulfillment.handover import handover_scan
from fulfillment.models import Parcel, Shipment
from oms.models import Order
from tests.factories import ProductFactory
from tests.fulfillment.packing_world import packed, pdf_text, picked_order, stock, store_with_people
from tests.fulfillment.store_world import HTMX
from tests.fulfillment.store_world import store_url as url

pytestmark = pytest.mark.django_db


@pytest.fixture
def shirt(store):
    facility, _, _ = store
    product = ProductFactory(name="Shirt", weight_grams=300)
    stock(facility, product, 200, "A-01")
    return product


def waiting_parcel(facility, associate, shirt) -> Parcel:
    job = picked_order(facility, associate, [(shirt, 1)])
    packed(job, associate)
    return Parcel.objects.select_related("shipment__order").get(shipment=job.shipment_id)


@pytest.fixture
def parcel(store, shirt):
    facility, associate, _ = store
    return waiting_parcel(facility, associate, shirt)


def test_the_page_lists_waiting_parcels_per_carrier_with_a_focused_scan_field(client, store, parcel):
    facility, associate, _ = store
    client.force_login(associate)

    page = client.get(url("handover-queue", facility)).content.decode()

    assert "Storefill Post" in page and parcel.tracking_number in page and parcel.shipment.order.name in page
    assert re.search(r"<input[^>]*name=\"tracking_number\"[^>]*autofocus[^>]*data-scan-field", page)
    assert "Hand over all for Storefill Post" in page and 'hx-confirm="Hand over all 1 parcel' in page
    assert url("handover-manifest", facility, "storefill-post") in page


def test_a_scan_over_htmx_hands_the_parcel_over_and_answers_with_the_list(client, store, parcel):
    facility, associate, _ = store
    client.force_login(associate)

    response = client.post(url("handover-scan", facility), {"tracking_number": parcel.tracking_number}, **HTMX)

    body = response.content.decode()
    assert response.status_code == 200 and body.lstrip().startswith('<section id="handover-area"')
    assert f"Handed over {parcel.tracking_number}." in body and 'data-count="today">1<' in body
    parcel.refresh_from_db()
    assert parcel.status == Parcel.Status.HANDED_OVER
    assert Order.objects.get(pk=parcel.shipment.order_id).status == Order.Status.COMPLETED


def test_a_plain_scan_post_redirects_back(client, store, parcel):
    facility, associate, _ = store
    client.force_login(associate)

    response = client.post(url("handover-scan", facility), {"tracking_number": parcel.tracking_number})

    assert response.status_code == 302 and response["Location"] == url("handover-queue", facility)


@pytest.mark.parametrize(("number", "status", "message"), [
    ("", 422, "Scan the tracking barcode"),
    ("SF000000000XX", 404, "No parcel with tracking number SF000000000XX in this store"),
])
def test_a_bad_scan_is_an_alert_in_the_message_area(client, store, parcel, number, status, message):
    facility, associate, _ = store
    client.force_login(associate)

    response = client.post(url("handover-scan", facility), {"tracking_number": number}, **HTMX)

    assert response.status_code == status and response["HX-Retarget"] == "#store-message"
    assert 'role="alert"' in response.content.decode() and message in response.content.decode()


def test_a_second_scan_is_a_409_saying_it_is_already_handed_over(client, store, parcel):
    facility, associate, manager = store
    handover_scan(facility=facility, tracking_number=parcel.tracking_number, actor=manager)
    client.force_login(associate)

    response = client.post(url("handover-scan", facility), {"tracking_number": parcel.tracking_number}, **HTMX)

    assert response.status_code == 409 and "is already handed over" in response.content.decode()


def test_scanning_another_stores_parcel_changes_nothing(client, store, parcel):
    other, other_associate, _ = store_with_people("NYC-01")
    client.force_login(other_associate)

    response = client.post(url("handover-scan", other), {"tracking_number": parcel.tracking_number}, **HTMX)

    assert response.status_code == 404 and "No parcel with tracking number" in response.content.decode()
    parcel.refresh_from_db()
    assert parcel.status == Parcel.Status.LABELED


def test_hand_over_all_ships_every_waiting_parcel_of_the_carrier(client, store, shirt, parcel):
    facility, associate, _ = store
    second = waiting_parcel(facility, associate, shirt)
    client.force_login(associate)

    response = client.post(url("handover-all", facility, "storefill-post"), **HTMX)

    assert response.status_code == 200 and "Handed over 2 parcels." in response.content.decode()
    assert set(Shipment.objects.filter(pk__in=[parcel.shipment_id, second.shipment_id])
               .values_list("status", flat=True)) == {Shipment.Status.SHIPPED}
    assert "Nothing waiting for Storefill Post" in response.content.decode()


def test_hand_over_all_with_nothing_waiting_is_refused(client, store):
    facility, associate, _ = store
    client.force_login(associate)

    response = client.post(url("handover-all", facility, "storefill-post"), **HTMX)

    assert response.status_code == 422 and "No parcels are waiting" in response.content.decode()


def test_the_manifest_pdf_is_served_inline(client, store, parcel, tmp_path):
    facility, associate, _ = store
    client.force_login(associate)

    response = client.get(url("handover-manifest", facility, "storefill-post"))

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline")
    assert parcel.tracking_number in pdf_text(response.content, tmp_path)


def test_a_user_of_another_store_gets_404_on_every_handover_url(client, store, parcel):
    facility, _, _ = store
    _, outsider, _ = store_with_people("NYC-02")
    client.force_login(outsider)

    assert client.get(url("handover-queue", facility)).status_code == 404
    assert client.get(url("handover-manifest", facility, "storefill-post")).status_code == 404
    assert client.post(url("handover-scan", facility), {"tracking_number": parcel.tracking_number},
                       **HTMX).status_code == 404
    assert client.post(url("handover-all", facility, "storefill-post"), **HTMX).status_code == 404
    parcel.refresh_from_db()
    assert parcel.status == Parcel.Status.LABELED


def test_a_scan_without_the_csrf_token_is_refused(store, parcel):
    facility, associate, _ = store
    client = Client(enforce_csrf_checks=True)
    client.force_login(associate)

    response = client.post(url("handover-scan", facility), {"tracking_number": parcel.tracking_number}, **HTMX)

    assert response.status_code == 403
    parcel.refresh_from_db()
    assert parcel.status == Parcel.Status.LABELED


def page_queries(client, facility) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url("handover-queue", facility)).status_code == 200
    return len(queries)


def test_the_page_costs_the_same_queries_for_2_and_50_parcels(client, store, shirt):
    facility, associate, _ = store
    client.force_login(associate)
    parcels = [waiting_parcel(facility, associate, shirt) for _ in range(3)]
    handover_scan(facility=facility, tracking_number=parcels[0].tracking_number, actor=associate)
    with_two = page_queries(client, facility)
    for _ in range(48):
        waiting_parcel(facility, associate, shirt)

    assert page_queries(client, facility) == with_two


def test_a_scanned_tracking_number_holding_a_nul_is_not_found_not_a_server_error(client, store):
    from tests.fulfillment.store_world import HTMX, store_url

    facility, associate, _ = store
    client.force_login(associate)
    response = client.post(store_url("handover-scan", facility), {"tracking_number": "SF\x00123"}, **HTMX)
    assert response.status_code in (404, 409, 422)
