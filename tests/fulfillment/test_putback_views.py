"""The put-back page: open tasks with their items by bin, "Put back done", refusals, permissions, query counts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fulfillment.counter import pickup_hand_over
from fulfillment.models import PutBackTask
from tests.factories import ProductFactory
from tests.fulfillment.counter_world import levels, lines_of, ready_pickup, stock, store_with_people
from tests.fulfillment.store_world import HTMX
from tests.fulfillment.store_world import store_url as url

pytestmark = pytest.mark.django_db


@pytest.fixture
def products(store):
    facility, _, _ = store
    shirt, mug = ProductFactory(name="Oxford shirt"), ProductFactory(name="Enamel mug")
    stock(facility, shirt, 100, "C-03")
    stock(facility, mug, 100, "A-01")
    return shirt, mug


def refused_pickup(facility, associate, items) -> PutBackTask:
    pickup = ready_pickup(facility, associate, items)
    return pickup_hand_over(handover_id=pickup.pk, facility_id=facility.pk, actor=associate, version=0,
                            refused={line.pk: "Damaged" for line in lines_of(pickup)}).put_back


@pytest.fixture
def task(store, products):
    facility, associate, _ = store
    shirt, mug = products
    return refused_pickup(facility, associate, [(shirt, 2), (mug, 1)])


def test_the_page_lists_open_tasks_with_items_in_bin_order(client, store, task):
    facility, associate, _ = store
    client.force_login(associate)

    page = client.get(url("put-back", facility)).content.decode()

    assert task.order.name in page and "Customer refused the items" in page and "Put back done" in page
    assert page.index("A-01") < page.index("C-03")  # the walk through the bins
    assert 'data-open="1"' in page


def test_put_back_done_releases_the_reservation_and_the_task_disappears(client, store, products, task):
    facility, associate, _ = store
    client.force_login(associate)

    response = client.post(url("put-back-confirm", facility, task.pk), **HTMX)

    part = response.content.decode()
    assert response.status_code == 200 and part.lstrip().startswith('<section id="put-back-area"')
    assert 'data-open="0"' in part and "items back on the shelf" in part
    assert levels(facility, *products) == [(100, 0), (100, 0)]


def test_a_plain_form_post_is_redirected_back(client, store, task):
    facility, associate, _ = store
    client.force_login(associate)

    response = client.post(url("put-back-confirm", facility, task.pk))

    assert response.status_code == 302 and response["Location"] == url("put-back", facility)


def test_confirming_a_done_task_is_refused_in_the_message_area(client, store, products, task):
    facility, associate, _ = store
    client.force_login(associate)
    client.post(url("put-back-confirm", facility, task.pk), **HTMX)

    response = client.post(url("put-back-confirm", facility, task.pk), **HTMX)

    assert response.status_code == 409 and response["HX-Retarget"] == "#store-message"
    assert "already back on the shelf" in response.content.decode()
    assert levels(facility, *products) == [(100, 0), (100, 0)]


def test_a_user_of_another_store_gets_404_and_changes_nothing(client, store, products, task):
    facility, _, _ = store
    _, outsider, _ = store_with_people("NYC-01")
    client.force_login(outsider)

    assert client.get(url("put-back", facility)).status_code == 404
    assert client.post(url("put-back-confirm", facility, task.pk)).status_code == 404
    assert PutBackTask.objects.get(pk=task.pk).status == PutBackTask.Status.OPEN
    assert levels(facility, *products) == [(100, 2), (100, 1)]


def test_another_stores_task_under_my_store_is_404(client, store, products):
    facility, associate, _ = store
    shirt, _ = products
    other, other_associate, _ = store_with_people("NYC-01")
    stock(other, shirt, 5)
    theirs = refused_pickup(other, other_associate, [(shirt, 1)])
    client.force_login(associate)

    assert client.post(url("put-back-confirm", facility, theirs.pk), **HTMX).status_code == 404
    assert PutBackTask.objects.get(pk=theirs.pk).status == PutBackTask.Status.OPEN


def page_queries(client, facility) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url("put-back", facility)).status_code == 200
    return len(queries)


def test_the_page_costs_the_same_queries_for_2_and_50_tasks(client, store, products):
    facility, associate, _ = store
    shirt, mug = products
    for _ in range(2):
        refused_pickup(facility, associate, [(shirt, 1), (mug, 1)])
    client.force_login(associate)
    with_two = page_queries(client, facility)
    for _ in range(48):
        refused_pickup(facility, associate, [(shirt, 1)])

    assert page_queries(client, facility) == with_two
