"""The picking pages: who sees them, what htmx gets back, refusals where the associate looks, query counts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fulfillment.models import PickJob
from fulfillment.picking import pick_batch_create, pick_job_start
from tests.factories import ProductFactory
from tests.fulfillment.store_world import HTMX, routed_order, stock, store_with_people
from tests.fulfillment.store_world import store_url as url

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(store):
    facility, _, _ = store
    shirt = ProductFactory(name="Shirt")
    stock(facility, shirt, 5, "A-01")
    _, job = routed_order(facility, [(shirt, 2)])
    return job


def test_the_queue_lists_the_stores_jobs_with_counts_per_tab(client, store, job):
    facility, associate, _ = store
    client.force_login(associate)

    page = client.get(url("pick-queue", facility)).content.decode()

    assert job.order.name in page and 'data-count="open">1<' in page and 'data-count="in_progress">0<' in page
    assert 'hx-trigger="every 15s"' in page


def test_the_queue_polled_by_htmx_gets_only_the_list(client, store, job):
    facility, associate, _ = store
    client.force_login(associate)

    part = client.get(url("pick-queue", facility), **HTMX).content.decode()

    assert part.lstrip().startswith('<section id="pick-queue"') and "<html" not in part


def test_a_user_of_another_store_gets_404_on_every_picking_url(client, store, job):
    facility, _, _ = store
    _, outsider, outsider_manager = store_with_people("NYC-01")
    line = job.lines.get()
    client.force_login(outsider_manager)

    assert client.get(url("pick-queue", facility)).status_code == 404
    assert client.get(url("pick-job", facility, job.pk)).status_code == 404
    assert client.post(url("pick-job-start", facility, job.pk), {"version": 0}).status_code == 404
    assert client.post(url("pick-line-tap", facility, job.pk, line.pk), {"version": 0}).status_code == 404
    job.refresh_from_db()
    assert job.status == PickJob.Status.OPEN


def test_guessing_a_job_of_another_store_under_ones_own_store_is_404(client, store, job):
    other, other_associate, _ = store_with_people("NYC-02")
    client.force_login(other_associate)

    assert client.get(url("pick-job", other, job.pk)).status_code == 404
    assert client.post(url("pick-job-start", other, job.pk), {"version": 0}, **HTMX).status_code == 404


def test_anonymous_users_are_sent_to_login(client, store, job):
    facility, _, _ = store
    response = client.get(url("pick-job", facility, job.pk))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_start_and_scan_answer_htmx_with_the_updated_job(client, store, job):
    facility, associate, _ = store
    client.force_login(associate)
    start = client.post(url("pick-job-start", facility, job.pk), {"version": job.version}, **HTMX)
    assert start.status_code == 200 and 'id="scan-code"' in start.content.decode()

    scan = client.post(url("pick-job-scan", facility, job.pk),
                       {"version": 1, "code": job.lines.get().product.barcode}, **HTMX)

    body = scan.content.decode()
    assert scan.status_code == 200 and body.lstrip().startswith('<section id="pick-job"')
    assert "1 of 2 picked" in body
    assert job.lines.get().picked_quantity == 1


def test_a_wrong_barcode_comes_back_as_an_alert_in_the_message_area(client, store, job):
    facility, associate, _ = store
    pick_job_start(job_id=job.pk, facility_id=facility.pk, actor=associate, version=job.version)
    client.force_login(associate)

    response = client.post(url("pick-job-scan", facility, job.pk), {"version": 1, "code": "0000000000000"}, **HTMX)

    assert response.status_code == 422
    assert response["HX-Retarget"] == "#store-message"
    assert 'role="alert"' in response.content.decode() and "Wrong item" in response.content.decode()


def test_a_stale_tap_is_a_409_naming_who_changed_the_job(client, store, job):
    facility, associate, manager = store
    pick_job_start(job_id=job.pk, facility_id=facility.pk, actor=manager, version=job.version)
    client.force_login(associate)

    response = client.post(url("pick-job-scan", facility, job.pk),
                           {"version": 0, "code": job.lines.get().product.barcode}, **HTMX)

    assert response.status_code == 409
    assert "changed by Grace" in response.content.decode()
    assert job.lines.get().picked_quantity == 0


def test_without_htmx_an_action_redirects_back_to_the_job(client, store, job):
    facility, associate, _ = store
    client.force_login(associate)

    response = client.post(url("pick-job-start", facility, job.pk), {"version": job.version})

    assert response.status_code == 302 and response["Location"] == url("pick-job", facility, job.pk)


def test_only_managers_see_the_reassign_form(client, store, job):
    facility, associate, manager = store
    client.force_login(associate)
    assert "Reassign" not in client.get(url("pick-job", facility, job.pk)).content.decode()
    client.force_login(manager)
    assert "Reassign" in client.get(url("pick-job", facility, job.pk)).content.decode()


def test_short_pick_through_the_page(client, store, job):
    facility, associate, _ = store
    pick_job_start(job_id=job.pk, facility_id=facility.pk, actor=associate, version=job.version)
    client.force_login(associate)

    response = client.post(url("pick-line-short", facility, job.pk, job.lines.get().pk),
                           {"version": 1, "reason": "not-found"}, **HTMX)

    assert response.status_code == 200 and "Nothing could be picked" in response.content.decode()


def test_the_batch_form_creates_a_batch_and_its_page_scans(client, store, job):
    facility, associate, _ = store
    product = ProductFactory()
    stock(facility, product, 5, "C-03")
    _, second = routed_order(facility, [(product, 1)])
    client.force_login(associate)

    created = client.post(url("pick-batch-new", facility), {"jobs": [job.pk, second.pk], "pickers": [associate.pk]})

    assert created.status_code == 302
    batch_url = created["Location"]
    page = client.get(batch_url).content.decode()
    assert "T1" in page and "T2" in page and 'id="scan-code"' in page
    scanned = client.post(batch_url + "scan/", {"version": 0, "code": product.barcode}, **HTMX)
    assert scanned.status_code == 200 and "Tote T" in scanned.content.decode()


def test_the_batch_form_shows_why_it_refused(client, store, job):
    facility, associate, _ = store
    client.force_login(associate)

    response = client.post(url("pick-batch-new", facility), {"jobs": [job.pk]})

    assert response.status_code == 422 and "at least two" in response.content.decode()


def queries(client, path):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200
    return len(captured)


def test_the_queue_issues_the_same_queries_for_2_and_50_jobs(client, store):
    facility, associate, _ = store
    product = ProductFactory()
    stock(facility, product, 200, "A-01")
    client.force_login(associate)
    for _ in range(2):
        routed_order(facility, [(product, 1)])
    small = queries(client, url("pick-queue", facility))
    for _ in range(48):
        routed_order(facility, [(product, 1)])

    assert queries(client, url("pick-queue", facility)) == small


def test_a_job_page_issues_the_same_queries_for_2_and_50_lines(client, store):
    facility, associate, _ = store
    client.force_login(associate)
    products = [ProductFactory() for _ in range(50)]
    for index, product in enumerate(products):
        stock(facility, product, 5, f"A-{index:02d}")
    _, small_job = routed_order(facility, [(product, 1) for product in products[:2]])
    _, big_job = routed_order(facility, [(product, 1) for product in products])

    assert queries(client, url("pick-job", facility, big_job.pk)) == queries(client, url("pick-job", facility,
                                                                                        small_job.pk))


def test_a_batch_page_issues_the_same_queries_for_2_and_50_lines(client, store):
    facility, associate, _ = store
    client.force_login(associate)
    products = [ProductFactory() for _ in range(50)]
    for product in products:
        stock(facility, product, 5)
    small_jobs = [routed_order(facility, [(product, 1)])[1] for product in products[:2]]
    big_jobs = [routed_order(facility, [(product, 1) for product in products[i:i + 10]])[1] for i in range(0, 50, 10)]
    small = pick_batch_create(facility_id=facility.pk, job_ids=[j.pk for j in small_jobs], picker_ids=[associate.pk],
                              actor=associate)
    big = pick_batch_create(facility_id=facility.pk, job_ids=[j.pk for j in big_jobs], picker_ids=[associate.pk],
                            actor=associate)

    assert queries(client, url("pick-batch", facility, big.pk)) == queries(client, url("pick-batch", facility,
                                                                                      small.pk))


def test_a_tap_without_a_version_is_refused_never_unchecked(client, store, job):
    facility, associate, _ = store
    pick_job_start(job_id=job.pk, facility_id=facility.pk, actor=associate, version=job.version)
    client.force_login(associate)

    response = client.post(url("pick-job-scan", facility, job.pk), {"code": job.lines.get().product.barcode}, **HTMX)

    assert response.status_code == 409 and "reload" in response.content.decode()
    assert job.lines.get().picked_quantity == 0


# --- picking by scans alone, and where the picked items go next ----------------------------------

def test_an_open_job_shows_the_scan_field_and_the_first_scan_starts_it(client, store, job):
    facility, associate, _ = store
    client.force_login(associate)
    shirt = job.lines.get().product

    page = client.get(url("pick-job", facility, job.pk)).content.decode()
    assert 'id="scan-code"' in page and "Scan the first item to start picking" in page

    part = client.post(url("pick-job-scan", facility, job.pk), {"version": job.version, "code": shirt.barcode},
                       **HTMX).content.decode()
    job.refresh_from_db()
    assert (job.status, job.assigned_to) == (PickJob.Status.IN_PROGRESS, associate)
    assert "1 of 2 picked" in part


def test_the_queue_scan_opens_the_job_or_says_why_not(client, store, job):
    facility, associate, _ = store
    client.force_login(associate)
    shirt = job.lines.get().product

    opened = client.post(url("pick-queue-scan", facility), {"code": shirt.barcode}, **HTMX)
    refused = client.post(url("pick-queue-scan", facility), {"code": "0000"}, **HTMX)

    assert opened["HX-Redirect"] == url("pick-job", facility, job.pk)
    assert refused.status_code == 404 and refused["HX-Retarget"] == "#store-message"
    assert "No open pick job needs 0000" in refused.content.decode()


def picked_in_full(facility, associate, items, *, pickup):
    from fulfillment.picking import pick_line_tap

    _, job = routed_order(facility, items, pickup=pickup)
    job = pick_job_start(job_id=job.pk, facility_id=facility.pk, actor=associate, version=job.version)
    for line in job.lines.order_by("pk"):
        pick_line_tap(job_id=job.pk, facility_id=facility.pk, actor=associate, version=None, line_id=line.pk,
                      quantity=line.quantity)
    return job


def test_a_picked_pickup_order_goes_to_the_pickup_shelf_and_the_counter_not_to_packing(client, store):
    from fulfillment.models import HandoverJob

    facility, associate, _ = store
    mug = ProductFactory(name="Mug")
    stock(facility, mug, 5, "B-01")
    job = picked_in_full(facility, associate, [(mug, 1)], pickup=True)
    handover = HandoverJob.objects.get(order=job.order, channel=HandoverJob.Channel.CUSTOMER)
    client.force_login(associate)

    page = client.get(url("pick-job", facility, job.pk)).content.decode()

    assert "pickup shelf" in page and url("counter-pickup", facility, handover.pk) in page
    assert "Take the tote" not in page and "Go to packing" not in page


def test_a_picked_ship_order_goes_to_packing(client, store):
    facility, associate, _ = store
    mug = ProductFactory(name="Mug")
    stock(facility, mug, 5, "B-01")
    job = picked_in_full(facility, associate, [(mug, 1)], pickup=False)
    client.force_login(associate)

    page = client.get(url("pick-job", facility, job.pk)).content.decode()

    assert "Take the tote to packing" in page and "Go to packing" in page and "pickup shelf" not in page


def test_pick_lines_show_the_products_image_where_it_is_set_and_the_letters_otherwise(client, store):
    facility, associate, _ = store
    shirt = ProductFactory(name="Shirt", image_url="https://cdn.example.com/shirt.jpg")
    mug = ProductFactory(name="Mug")
    stock(facility, shirt, 5, "A-01")
    stock(facility, mug, 5, "B-01")
    _, job = routed_order(facility, [(shirt, 1), (mug, 1)])
    client.force_login(associate)

    page = client.get(url("pick-job", facility, job.pk)).content.decode()

    assert ('<img class="thumb" src="https://cdn.example.com/shirt.jpg" alt="" width="48" height="48" loading="lazy"'
            in page)
    assert '<span class="thumb" aria-hidden="true">MU</span>' in page


@pytest.mark.parametrize("code", ["\x00", "A\x00B", "x" * 300])
def test_the_queue_scan_refuses_what_is_no_barcode_with_a_message_not_a_server_error(client, store, code):
    facility, associate, _ = store
    client.force_login(associate)
    response = client.post(url("pick-queue-scan", facility), {"code": code}, **HTMX)
    assert response.status_code in (404, 422)
