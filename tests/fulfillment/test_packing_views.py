"""The packing pages: queue, pack job actions over htmx and plain posts, refusals, PDFs, access, query counts."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from fulfillment.models import HandoverJob, PackJob, Parcel
from fulfillment.packing import pack_job_start
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
from tests.fulfillment.store_world import HTMX
from tests.fulfillment.store_world import store_url as url

pytestmark = pytest.mark.django_db


@pytest.fixture
def shirt(store):
    facility, _, _ = store
    product = ProductFactory(name="Shirt", weight_grams=300)
    stock(facility, product, 200, "A-01")
    return product


@pytest.fixture
def job(store, shirt):
    facility, associate, _ = store
    return picked_order(facility, associate, [(shirt, 2)])


@pytest.fixture
def started(store, job):
    facility, associate, _ = store
    return pack_job_start(pack_job_id=job.pk, facility_id=facility.pk, actor=associate, version=0)


def parcel_of(job) -> Parcel:
    return Parcel.objects.get(shipment=job.shipment_id)


# --- the queue -----------------------------------------------------------------------------------

def test_the_queue_lists_open_jobs_oldest_first_with_items_and_parcels(client, store, shirt, job):
    facility, associate, _ = store
    later = picked_order(facility, associate, [(shirt, 3)])
    client.force_login(associate)

    page = client.get(url("pack-queue", facility)).content.decode()

    assert page.index(job.order.name) < page.index(later.order.name)
    assert "2 items · 1 parcel" in page and "3 items · 1 parcel" in page
    assert url("pack-job", facility, job.pk) in page


def test_the_queue_leaves_out_closed_jobs(client, store, job):
    facility, associate, _ = store
    packed(job, associate)
    client.force_login(associate)

    assert job.order.name not in client.get(url("pack-queue", facility)).content.decode()


def test_the_queue_polled_by_htmx_gets_only_the_list(client, store, job):
    facility, associate, _ = store
    client.force_login(associate)

    part = client.get(url("pack-queue", facility), **HTMX).content.decode()

    assert part.lstrip().startswith('<section id="pack-queue"') and "<html" not in part


def queue_queries(client, facility) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url("pack-queue", facility)).status_code == 200
    return len(queries)


def test_the_queue_costs_the_same_queries_for_2_and_50_jobs(client, store, shirt):
    facility, associate, _ = store
    client.force_login(associate)
    jobs = [picked_order(facility, associate, [(shirt, 1)]) for _ in range(2)]
    pack_job_start(pack_job_id=jobs[0].pk, facility_id=facility.pk, actor=associate, version=0)
    with_two = queue_queries(client, facility)
    for _ in range(48):
        picked_order(facility, associate, [(shirt, 1)])

    assert queue_queries(client, facility) == with_two


def test_the_pack_page_costs_the_same_queries_for_2_and_20_parcels(client, store, shirt, started):
    facility, associate, _ = store
    client.force_login(associate)

    def page_queries():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url("pack-job", facility, started.pk)).status_code == 200
        return len(queries)

    client.post(url("pack-parcel-add", facility, started.pk), {"version": version_of(started)})
    with_two = page_queries()
    for _ in range(18):
        client.post(url("pack-parcel-add", facility, started.pk), {"version": version_of(started)})

    assert Parcel.objects.filter(shipment=started.shipment_id).count() == 20
    assert page_queries() == with_two


# --- access --------------------------------------------------------------------------------------

def test_a_user_of_another_store_gets_404_on_every_packing_url(client, store, job):
    facility, associate, _ = store
    packed(job, associate, close=False)
    parcel = parcel_of(job)
    _, outsider, _ = store_with_people("NYC-01")
    client.force_login(outsider)

    for name, args in [("pack-queue", ()), ("pack-job", (job.pk,)), ("pack-slip-pdf", (job.pk,)),
                       ("pack-parcel-label-pdf", (job.pk, parcel.pk)), ("pack-return-label-pdf", (job.pk,))]:
        assert client.get(url(name, facility, *args)).status_code == 404, name
    for name, args in [("pack-job-close", (job.pk,)), ("pack-parcel-void", (job.pk, parcel.pk))]:
        assert client.post(url(name, facility, *args), {"version": version_of(job)}, **HTMX).status_code == 404
    assert PackJob.objects.get(pk=job.pk).status == PackJob.Status.IN_PROGRESS


def test_a_job_of_another_store_under_ones_own_store_is_404(client, store, job):
    other, other_associate, _ = store_with_people("NYC-02")
    client.force_login(other_associate)

    assert client.get(url("pack-job", other, job.pk)).status_code == 404
    assert client.post(url("pack-job-start", other, job.pk), {"version": 0}, **HTMX).status_code == 404
    assert client.get(url("pack-slip-pdf", other, job.pk)).status_code == 404
    assert PackJob.objects.get(pk=job.pk).status == PackJob.Status.OPEN


def test_anonymous_users_are_sent_to_login(client, store, job):
    facility, _, _ = store

    response = client.get(url("pack-job", facility, job.pk))

    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_post_without_the_csrf_token_is_refused(store, job):
    facility, associate, _ = store
    client = Client(enforce_csrf_checks=True)
    client.force_login(associate)

    response = client.post(url("pack-job-start", facility, job.pk), {"version": 0}, **HTMX)

    assert response.status_code == 403
    assert PackJob.objects.get(pk=job.pk).status == PackJob.Status.OPEN


def test_every_form_on_the_pack_page_carries_the_csrf_token(client, store, started):
    facility, associate, _ = store
    client.force_login(associate)

    page = client.get(url("pack-job", facility, started.pk)).content.decode()

    forms = re.findall(r"<form[^>]*method=\"post\".*?</form>", page, re.S)
    assert forms and all("csrfmiddlewaretoken" in form for form in forms)


# --- actions -------------------------------------------------------------------------------------

def test_starting_over_htmx_answers_with_the_pack_area(client, store, job):
    facility, associate, _ = store
    client.force_login(associate)

    response = client.post(url("pack-job-start", facility, job.pk), {"version": 0}, **HTMX)

    body = response.content.decode()
    assert response.status_code == 200 and body.lstrip().startswith('<section id="pack-area"')
    assert 'data-version="1"' in body and "Packing started." in body and "Choose a box" in body
    assert PackJob.objects.get(pk=job.pk).status == PackJob.Status.IN_PROGRESS


def test_a_plain_post_redirects_back_to_the_page(client, store, job):
    facility, associate, _ = store
    client.force_login(associate)

    response = client.post(url("pack-job-start", facility, job.pk), {"version": 0})

    assert response.status_code == 302 and response["Location"] == url("pack-job", facility, job.pk)


def test_box_label_and_close_through_the_page(client, store, started):
    facility, associate, _ = store
    parcel = parcel_of(started)
    client.force_login(associate)

    saved = client.post(url("pack-parcel-box", facility, started.pk, parcel.pk),
                        {"version": 1, "box": box().pk, "weight": ""}, **HTMX)
    assert saved.status_code == 200 and "750 g" in saved.content.decode()  # 2 × 300 g + 150 g box
    labelled = client.post(url("pack-parcel-label", facility, started.pk, parcel.pk), {"version": 2}, **HTMX)
    parcel.refresh_from_db()
    assert labelled.status_code == 200 and parcel.tracking_number in labelled.content.decode()
    assert url("pack-parcel-label-pdf", facility, started.pk, parcel.pk) in labelled.content.decode()
    closed = client.post(url("pack-job-close", facility, started.pk), {"version": 3}, **HTMX)

    assert closed.status_code == 200 and "Go to handover" in closed.content.decode()
    assert HandoverJob.objects.get(shipment=started.shipment_id).status == HandoverJob.Status.OPEN


def test_an_entered_weight_with_a_thousands_separator_is_taken(client, store, started):
    facility, associate, _ = store
    parcel = parcel_of(started)
    client.force_login(associate)

    client.post(url("pack-parcel-box", facility, started.pk, parcel.pk),
                {"version": 1, "box": box("medium").pk, "weight": "1,250"}, **HTMX)

    parcel.refresh_from_db()
    assert parcel.weight_grams == 1250


def test_moving_a_unit_to_a_new_parcel_shows_two_parcels(client, store, started):
    facility, associate, _ = store
    parcel = parcel_of(started)
    line = parcel.items.get().order_line_id
    client.force_login(associate)

    response = client.post(url("pack-item-move", facility, started.pk, parcel.pk),
                           {"version": 1, "line": line, "quantity": 1, "to": "new"}, **HTMX)

    body = response.content.decode()
    assert response.status_code == 200 and "Parcel 2" in body and "Moved 1 unit." in body
    assert Parcel.objects.filter(shipment=started.shipment_id).count() == 2


def test_void_and_relabel_from_the_page(client, store, job):
    facility, associate, _ = store
    packed(job, associate, close=False)
    parcel = parcel_of(job)
    old = parcel.tracking_number
    client.force_login(associate)

    voided = client.post(url("pack-parcel-void", facility, job.pk, parcel.pk), {"version": version_of(job)}, **HTMX)
    assert voided.status_code == 200 and "Label voided" in voided.content.decode()
    client.post(url("pack-parcel-label", facility, job.pk, parcel.pk), {"version": version_of(job)}, **HTMX)
    client.post(url("pack-job-close", facility, job.pk), {"version": version_of(job)}, **HTMX)
    renewed = parcel_of(job).tracking_number

    relabelled = client.post(url("pack-parcel-relabel", facility, job.pk, parcel.pk), {"version": version_of(job)},
                             **HTMX)

    parcel.refresh_from_db()
    assert relabelled.status_code == 200 and parcel.tracking_number in relabelled.content.decode()
    assert parcel.voided_tracking_numbers == [old, renewed]


def test_a_refusal_comes_back_as_an_alert_in_the_message_area(client, store, started):
    facility, associate, _ = store
    client.force_login(associate)

    response = client.post(url("pack-job-close", facility, started.pk), {"version": 1}, **HTMX)

    assert response.status_code == 422 and response["HX-Retarget"] == "#store-message"
    body = response.content.decode()
    assert 'role="alert"' in body and "Parcel 1 has no label yet" in body


def test_a_plain_post_refusal_shows_the_page_with_the_message(client, store, started):
    facility, associate, _ = store
    client.force_login(associate)

    response = client.post(url("pack-job-close", facility, started.pk), {"version": 1})

    assert response.status_code == 422
    body = response.content.decode()
    assert "Parcel 1 has no label yet" in body and 'id="pack-area"' in body


def test_a_stale_tap_is_a_409_naming_who_changed_the_job_with_a_reload(client, store, started):
    facility, associate, manager = store
    client.force_login(manager)

    response = client.post(url("pack-parcel-add", facility, started.pk), {"version": 0}, **HTMX)

    assert response.status_code == 409 and response["HX-Retarget"] == "#store-message"
    body = response.content.decode()
    assert "This pack job was changed by Ada — reload" in body
    assert f'href="{url("pack-job", facility, started.pk)}">Reload</a>' in body
    assert Parcel.objects.filter(shipment=started.shipment_id).count() == 1


def test_a_post_without_a_version_is_treated_as_stale(client, store, started):
    facility, associate, _ = store
    client.force_login(associate)

    assert client.post(url("pack-parcel-add", facility, started.pk), {}, **HTMX).status_code == 409


# --- PDFs ----------------------------------------------------------------------------------------

def test_the_label_pdf_is_served_inline_at_4x6_inches(client, store, job, tmp_path):
    facility, associate, _ = store
    packed(job, associate)
    parcel = parcel_of(job)
    client.force_login(associate)

    response = client.get(url("pack-parcel-label-pdf", facility, job.pk, parcel.pk))

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline")
    assert re.search(r"Page size:\s+288 x 432 pts", pdf_info(response.content, tmp_path))
    text = pdf_text(response.content, tmp_path)
    assert parcel.tracking_number in text and "Ada Lovelace" in text


def test_an_unlabelled_parcel_has_no_label_pdf(client, store, started):
    facility, associate, _ = store
    client.force_login(associate)

    assert client.get(url("pack-parcel-label-pdf", facility, started.pk, parcel_of(started).pk)).status_code == 404


def test_the_packing_slip_pdf_names_the_order(client, store, job, shirt, tmp_path):
    facility, associate, _ = store
    client.force_login(associate)

    response = client.get(url("pack-slip-pdf", facility, job.pk))

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content, tmp_path)
    assert job.order.name in text and shirt.sku in text


def test_the_return_label_is_created_then_printed(client, store, job, tmp_path):
    facility, associate, _ = store
    packed(job, associate)
    client.force_login(associate)
    assert client.get(url("pack-return-label-pdf", facility, job.pk)).status_code == 404

    created = client.post(url("pack-return-label", facility, job.pk), {"version": version_of(job)}, **HTMX)
    number = PackJob.objects.get(pk=job.pk).shipment.return_tracking_number

    assert created.status_code == 200 and number in created.content.decode()
    response = client.get(url("pack-return-label-pdf", facility, job.pk))
    assert response.status_code == 200 and number in pdf_text(response.content, tmp_path)


# --- the box and the label in one tap ------------------------------------------------------------

def test_choosing_the_box_creates_the_label_in_the_same_tap(client, store, job, started):
    facility, associate, _ = store
    client.force_login(associate)
    parcel = parcel_of(job)

    response = client.post(url("pack-parcel-box-label", facility, job.pk, parcel.pk),
                           {"version": version_of(job), "box": box().pk, "weight": "", "weight_known": "1"}, **HTMX)

    assert response.status_code == 200
    parcel.refresh_from_db()
    assert (parcel.status, parcel.box_type, parcel.weight_grams) == (Parcel.Status.LABELED, box(),
                                                                      600 + box().tare_weight_grams)
    assert "Label created" in response.content.decode()


def test_a_parcel_of_unweighed_items_needs_the_scales_weight_and_nothing_is_saved(client, store):
    facility, associate, _ = store
    feather = ProductFactory(name="Feather", weight_grams=0)
    stock(facility, feather, 5, "F-01")
    job = picked_order(facility, associate, [(feather, 1)])
    pack_job_start(pack_job_id=job.pk, facility_id=facility.pk, actor=associate, version=0)
    client.force_login(associate)
    parcel = parcel_of(job)
    assert 'name="weight_known" value="0"' in client.get(url("pack-job", facility, job.pk)).content.decode()

    refused = client.post(url("pack-parcel-box-label", facility, job.pk, parcel.pk),
                          {"version": version_of(job), "box": box().pk, "weight": "", "weight_known": "0"}, **HTMX)

    assert refused.status_code == 422 and "type its weight" in refused.content.decode()
    parcel.refresh_from_db()
    assert (parcel.status, parcel.box_type) == (Parcel.Status.OPEN, None)


def test_a_box_too_small_is_refused_and_no_label_is_created(client, store, job, started):
    facility, associate, _ = store
    client.force_login(associate)
    parcel = parcel_of(job)
    tiny = box()
    tiny.max_weight_grams = 100
    tiny.save()

    refused = client.post(url("pack-parcel-box-label", facility, job.pk, parcel.pk),
                          {"version": version_of(job), "box": tiny.pk, "weight": "", "weight_known": "1"}, **HTMX)

    assert refused.status_code == 422 and "at most" in refused.content.decode()
    parcel.refresh_from_db()
    assert (parcel.status, parcel.box_type) == (Parcel.Status.OPEN, None)


def test_parcel_items_show_the_products_image_where_it_is_set(client, store, shirt, job):
    facility, associate, _ = store
    type(shirt).objects.filter(pk=shirt.pk).update(image_url="https://cdn.example.com/shirt.jpg")
    client.force_login(associate)

    page = client.get(url("pack-job", facility, job.pk)).content.decode()

    assert ('<img class="thumb" src="https://cdn.example.com/shirt.jpg" alt="" width="48" height="48" loading="lazy"'
            in page)
