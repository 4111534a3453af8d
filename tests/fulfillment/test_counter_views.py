"""The counter pages: access, search and scan, the pickup page, handing over, refusals where the associate looks."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from fulfillment.models import HandoverJob
from oms.models import Order
from stores.models import Facility
from tests.factories import ProductFactory
from tests.fulfillment.counter_world import lines_of, ready_pickup, snapshot, stock, store_with_people
from tests.fulfillment.store_world import HTMX
from tests.fulfillment.store_world import store_url as url

pytestmark = pytest.mark.django_db


@pytest.fixture
def products(store):
    facility, _, _ = store
    shirt, mug = ProductFactory(name="Oxford shirt"), ProductFactory(name="Enamel mug")
    stock(facility, shirt, 10, "A-01")
    stock(facility, mug, 10, "B-02")
    return shirt, mug


@pytest.fixture
def pickup(store, products):
    facility, associate, _ = store
    shirt, mug = products
    return ready_pickup(facility, associate, [(shirt, 2), (mug, 1)], code="K7QP2M", customer_name="Grace Hopper",
                        email="grace@example.com", phone="+1 312 555 0199")


def test_the_counter_lists_the_ready_pickups(client, store, pickup):
    facility, associate, _ = store
    client.force_login(associate)

    page = client.get(url("counter", facility)).content.decode()

    assert pickup.order.name in page and "Grace Hopper" in page and "K7QP2M" in page
    assert "data-scan-field" in page and 'data-count="1"' in page
    assert url("counter-pickup", facility, pickup.pk) in page


def test_typing_in_the_search_gets_only_the_results(client, store, pickup):
    facility, associate, _ = store
    client.force_login(associate)

    part = client.get(url("counter", facility), {"q": "hopper"}, **HTMX).content.decode()
    none = client.get(url("counter", facility), {"q": "turing"}, **HTMX).content.decode()

    assert part.lstrip().startswith('<section id="counter-results"') and "<html" not in part
    assert pickup.order.name in part
    assert 'data-count="0"' in none and "No ready pickup matches" in none


def test_a_search_with_a_nul_character_is_searched_without_it_not_a_server_error(client, store, pickup):
    facility, associate, _ = store
    client.force_login(associate)
    response = client.get(url("counter", facility), {"q": "hop\x00per"}, **HTMX)
    assert response.status_code == 200 and pickup.order.name in response.content.decode()


def test_scanning_a_code_opens_its_pickup(client, store, pickup):
    facility, associate, _ = store
    client.force_login(associate)

    htmx = client.get(url("counter", facility), {"q": "k7qp2m", "scan": "1"}, **HTMX)
    plain = client.get(url("counter", facility), {"q": "K7QP2M", "scan": "1"})

    assert htmx.status_code == 200 and htmx["HX-Redirect"] == url("counter-pickup", facility, pickup.pk)
    assert plain.status_code == 302 and plain["Location"] == url("counter-pickup", facility, pickup.pk)


@pytest.mark.parametrize(("code", "status", "text"), [
    ("ZZZZ99", 404, "No pickup has the code ZZZZ99"),
    ("NYC777", 422, "This order is for pickup at Store NYC-01."),
])
def test_a_scanned_code_that_is_not_ready_here_is_refused_in_the_message_area(client, store, products, code, status,
                                                                               text):
    facility, associate, _ = store
    shirt, _ = products
    other, other_associate, _ = store_with_people("NYC-01")
    stock(other, shirt, 5)
    ready_pickup(other, other_associate, [(shirt, 1)], code="NYC777")
    client.force_login(associate)

    response = client.get(url("counter", facility), {"q": code, "scan": "1"}, **HTMX)

    body = response.content.decode()
    assert response.status_code == status and response["HX-Retarget"] == "#store-message"
    assert text in body and 'role="alert"' in body


def test_a_collected_code_is_refused_with_409(client, store, pickup):
    facility, associate, _ = store
    client.force_login(associate)
    client.post(url("counter-hand-over", facility, pickup.pk), {"version": 0}, **HTMX)

    response = client.get(url("counter", facility), {"q": "K7QP2M", "scan": "1"}, **HTMX)

    assert response.status_code == 409 and "already collected" in response.content.decode()


def test_an_unknown_code_that_matches_a_name_shows_the_matches(client, store, products):
    facility, associate, _ = store
    shirt, _ = products
    mine = ready_pickup(facility, associate, [(shirt, 1)], customer_name="Ada Smith")
    client.force_login(associate)

    response = client.get(url("counter", facility), {"q": "SMITH", "scan": "1"}, **HTMX)

    assert response.status_code == 200 and mine.order.name in response.content.decode()


def test_the_pickup_page_shows_customer_shelf_and_items(client, store, pickup):
    facility, associate, _ = store
    HandoverJob.objects.filter(pk=pickup.pk).update(shelf="P-07")
    client.force_login(associate)

    page = client.get(url("counter-pickup", facility, pickup.pk)).content.decode()

    for text in ("Grace Hopper", "grace@example.com", "+1 312 555 0199", pickup.order.name, "P-07", "Oxford shirt",
                 "Enamel mug", "Hand over", 'name="refuse"'):
        assert text in page, text
    assert 'name="collected_by"' not in page  # the store does not ask for proof


def test_the_pickup_page_asks_for_proof_when_the_store_requires_it(client, store, pickup):
    facility, associate, _ = store
    Facility.objects.filter(pk=facility.pk).update(pickup_proof_required=True)
    client.force_login(associate)

    page = client.get(url("counter-pickup", facility, pickup.pk)).content.decode()

    assert 'name="collected_by"' in page and 'value="OTHER"' in page and 'name="collected_id_last4"' in page


def test_handing_over_with_a_refused_item_answers_with_the_done_pickup(client, store, products, pickup):
    facility, associate, _ = store
    _, mug = products
    mug_line = next(line for line in lines_of(pickup) if line.product_id == mug.pk)
    client.force_login(associate)

    response = client.post(url("counter-hand-over", facility, pickup.pk),
                           {"version": 0, "refuse": [str(mug_line.pk)], f"reason-{mug_line.pk}": "Chipped"}, **HTMX)

    part = response.content.decode()
    assert response.status_code == 200 and part.lstrip().startswith('<section id="pickup"')
    assert "Handed over order" in part and "Refused: Chipped" in part and "Put back refused items" in part
    assert Order.objects.get(pk=pickup.order_id).status == Order.Status.COMPLETED


def test_a_plain_form_post_is_redirected_back_to_the_pickup(client, store, pickup):
    facility, associate, _ = store
    client.force_login(associate)

    response = client.post(url("counter-hand-over", facility, pickup.pk), {"version": 0})

    assert response.status_code == 302 and response["Location"] == url("counter-pickup", facility, pickup.pk)
    assert "Handed over" in client.get(response["Location"]).content.decode()


@pytest.mark.parametrize(("data", "status", "text"), [
    ({"version": 5}, 409, "This pickup was changed by"),
    ({"version": 0, "refuse": ["LINE"]}, 422, "Say why the customer refuses"),
    ({"version": 0, "collected_by": "Grace"}, 422, "Choose who is collecting"),
])
def test_a_refused_hand_over_is_shown_in_the_message_area_and_changes_nothing(client, store, pickup, data, status,
                                                                               text):
    facility, associate, _ = store
    Facility.objects.filter(pk=facility.pk).update(pickup_proof_required=True)
    data = {**data, "collected_relation": data.get("collected_relation", ""), "collected_id_last4": "1234"}
    if data.get("collected_by") is None:
        data.update(collected_by="Grace", collected_relation="SELF")
    if data.get("refuse"):
        data["refuse"] = [str(lines_of(pickup)[0].pk)]
    client.force_login(associate)
    before = snapshot(pickup)

    response = client.post(url("counter-hand-over", facility, pickup.pk), data, **HTMX)

    assert response.status_code == status and response["HX-Retarget"] == "#store-message"
    assert text in response.content.decode()
    assert snapshot(pickup) == before


def test_a_refusal_without_htmx_shows_the_pickup_page_with_the_message(client, store, pickup):
    facility, associate, _ = store
    client.force_login(associate)

    response = client.post(url("counter-hand-over", facility, pickup.pk), {"version": 7})

    assert response.status_code == 409 and "This pickup was changed by" in response.content.decode()
    assert 'name="refuse"' in response.content.decode()


def test_a_user_of_another_store_gets_404_on_every_counter_url(client, store, pickup):
    facility, _, _ = store
    _, _, outsider_manager = store_with_people("NYC-01")
    client.force_login(outsider_manager)
    before = snapshot(pickup)

    assert client.get(url("counter", facility)).status_code == 404
    assert client.get(url("counter-pickup", facility, pickup.pk)).status_code == 404
    assert client.post(url("counter-hand-over", facility, pickup.pk), {"version": 0}).status_code == 404
    assert snapshot(pickup) == before


def test_another_stores_pickup_id_under_my_store_is_404(client, store, products):
    facility, associate, _ = store
    shirt, _ = products
    other, other_associate, _ = store_with_people("NYC-01")
    stock(other, shirt, 5)
    theirs = ready_pickup(other, other_associate, [(shirt, 1)])
    client.force_login(associate)

    assert client.get(url("counter-pickup", facility, theirs.pk)).status_code == 404
    response = client.post(url("counter-hand-over", facility, theirs.pk), {"version": 0}, **HTMX)
    assert response.status_code == 404
    assert HandoverJob.objects.get(pk=theirs.pk).status == HandoverJob.Status.OPEN


def test_hand_over_needs_csrf(store, pickup):
    from django.test import Client

    facility, associate, _ = store
    client = Client(enforce_csrf_checks=True)
    client.force_login(associate)

    assert client.post(url("counter-hand-over", facility, pickup.pk), {"version": 0}).status_code == 403


def counter_queries(client, facility) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url("counter", facility)).status_code == 200
    return len(queries)


def test_the_counter_costs_the_same_queries_for_2_and_50_pickups(client, store):
    facility, associate, _ = store
    shirt, mug = ProductFactory(), ProductFactory()
    stock(facility, shirt, 100)
    stock(facility, mug, 100)
    for _ in range(2):
        ready_pickup(facility, associate, [(shirt, 1), (mug, 1)])
    client.force_login(associate)
    with_two = counter_queries(client, facility)
    for _ in range(48):
        ready_pickup(facility, associate, [(shirt, 1)])

    assert counter_queries(client, facility) == with_two


def test_the_store_home_shows_counter_and_put_back_counts(client, store, pickup):
    facility, associate, _ = store
    client.force_login(associate)

    page = client.get(reverse("home")).content.decode()

    assert url("counter", facility) in page and url("put-back", facility) in page
    assert "To put back on the shelf" in page


def test_pickup_lines_show_the_products_image_where_it_is_set_and_the_letters_otherwise(client, store, products,
                                                                                       pickup):
    facility, associate, _ = store
    shirt, _ = products
    type(shirt).objects.filter(pk=shirt.pk).update(image_url="https://cdn.example.com/shirt.jpg")
    client.force_login(associate)

    page = client.get(url("counter-pickup", facility, pickup.pk)).content.decode()

    assert ('<img class="thumb" src="https://cdn.example.com/shirt.jpg" alt="" width="48" height="48" loading="lazy"'
            in page)
    assert '<span class="thumb" aria-hidden="true">EN</span>' in page  # the mug has no image
