"""The customer's pickup alternatives page: each choice, used, expired and tampered links, and CSRF."""

from datetime import timedelta

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from fulfillment.models import PickJob
from oms.core.pickup_offers import TOKEN_SALT, pickup_offer_token
from oms.models import Order, OrderLine, OrderNote, OutboxMessage, PickupAlternativeOffer, TransitionLog
from stores.models import StockLevel
from tests.oms.pickup.alternatives_world import offered, rejected_order, world_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return world_make()


@pytest.fixture
def case(world):
    """A two-line pickup order rejected by its store, with its offer (stores KM-05, KM-10, KM-20)."""
    order, lines = rejected_order(world.chosen, [(world.toy, 2), (world.mug, 1)])
    return order, lines, offered(order)


def page(offer) -> str:
    return reverse("pickup-alternatives", kwargs={"token": pickup_offer_token(offer)})


def choose(client, offer, **data):
    return client.post(page(offer), data)


def lines_now(lines):
    return [OrderLine.objects.get(pk=line.pk) for line in lines]


def test_the_page_shows_the_order_the_items_and_every_choice(client, case):
    order, _, offer = case

    response = client.get(page(offer))

    assert response.status_code == 200 and response["Referrer-Policy"] == "no-referrer"
    text = response.content.decode()
    assert order.name in text and "2 × Wooden toy" in text and "1 × Blue mug" in text
    assert all(f"Pick up at Store {code}" in text for code in ("KM-05", "KM-10", "KM-20"))
    assert "Deliver to my address" in text and "1 Main St" in text and "Cancel the items" in text
    assert text.count("csrfmiddlewaretoken") == 5  # three stores, delivery, cancel
    assert "topbar" not in text and "logout" not in text.lower()  # the customer layout, not the staff one


def test_a_choice_from_the_email_is_shown_to_confirm_and_changes_nothing(client, case, world):
    _, lines, offer = case

    response = client.get(page(offer), {"choice": "STORE", "store": world.near[1].pk})

    text = response.content.decode()
    assert response.status_code == 200 and "Pick up at Store KM-10" in text and "Store KM-05" not in text
    assert "See all options" in text
    offer.refresh_from_db()
    assert offer.used_at is None and {line.queue for line in lines_now(lines)} == {"BOPIS_REJECTED"}


def test_choosing_another_store_sends_the_items_there(client, case, world):
    order, lines, offer = case
    store = world.near[1]

    response = choose(client, offer, choice="STORE", store=store.pk)

    assert response.status_code == 200
    assert "ready for pickup at Store KM-10" in response.content.decode()
    now = lines_now(lines)
    assert {(line.status, line.allocated_facility_id, line.pickup_facility_id, line.pickup_store_code)
            for line in now} == {("ALLOCATED", store.pk, store.pk, "KM-10")}
    assert PickJob.objects.filter(order=order, facility=store).exists()
    offer.refresh_from_db()
    assert (offer.choice, offer.chosen_facility, offer.used_by) == ("STORE", store, None)
    assert offer.used_at is not None
    assert OrderNote.objects.filter(order=order, text__startswith="The customer chose to pick up").exists()
    assert TransitionLog.objects.filter(order=order, object_type="orderline", transition="allocate").count() == 2


def test_a_store_that_no_longer_has_the_items_is_refused_and_nothing_changes(client, case, world):
    _, lines, offer = case
    StockLevel.objects.filter(facility=world.near[0], product=world.mug).update(reserved=10)

    response = choose(client, offer, choice="STORE", store=world.near[0].pk)

    assert response.status_code == 409
    assert "Store KM-05 no longer has 2 × Wooden toy and 1 × Blue mug: please choose again." in \
        response.content.decode()
    offer.refresh_from_db()
    assert offer.used_at is None and {line.queue for line in lines_now(lines)} == {"BOPIS_REJECTED"}


def test_a_store_the_offer_does_not_name_is_refused(client, case, world):
    _, lines, offer = case

    response = choose(client, offer, choice="STORE", store=world.near[3].pk)  # has stock, but fourth nearest

    assert response.status_code == 409 and "not one of the choices" in response.content.decode()
    assert {line.queue for line in lines_now(lines)} == {"BOPIS_REJECTED"}


def test_choosing_delivery_makes_them_ship_lines_and_routes_them(client, case, world):
    order, lines, offer = case

    response = choose(client, offer, choice="SHIP")

    assert response.status_code == 200 and "delivered to your address" in response.content.decode()
    now = lines_now(lines)
    assert {(line.pickup_store_code, line.pickup_facility_id, line.status) for line in now} == {("", None, "ALLOCATED")}
    assert order.delivery_method == Order.DeliveryMethod.SHIP
    assert world.chosen.pk not in {line.allocated_facility_id for line in now}  # it rejected them
    offer.refresh_from_db()
    assert offer.choice == "SHIP"


def test_choosing_to_cancel_cancels_the_items_tells_the_shop_and_settles_the_order(client, case):
    order, lines, offer = case

    response = choose(client, offer, choice="CANCEL")

    assert response.status_code == 200 and "canceled" in response.content.decode()
    assert {(line.status, line.queue) for line in lines_now(lines)} == {("CANCELED", "")}
    message = OutboxMessage.objects.get(kind="lines-canceled", order=order)
    assert message.destination == "SHOP"
    assert sorted(item["quantity"] for item in message.payload["lines"]) == [1, 2]
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELED  # nothing else was left on it


def test_a_used_link_says_so_and_changes_nothing(client, case, world):
    _, lines, offer = case
    choose(client, offer, choice="CANCEL")

    again = choose(client, offer, choice="STORE", store=world.near[0].pk)
    shown = client.get(page(offer))

    assert again.status_code == shown.status_code == 410
    assert "already used" in shown.content.decode() and "canceled" in shown.content.decode()
    assert {line.status for line in lines_now(lines)} == {"CANCELED"}


def test_an_expired_link_says_so_and_changes_nothing(client, case):
    _, lines, offer = case
    PickupAlternativeOffer.objects.filter(pk=offer.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

    shown = client.get(page(offer))
    posted = choose(client, offer, choice="CANCEL")

    assert shown.status_code == posted.status_code == 410 and "expired" in shown.content.decode()
    assert {line.queue for line in lines_now(lines)} == {"BOPIS_REJECTED"}


def test_a_tampered_token_is_refused(client, case):
    _, lines, offer = case
    token = pickup_offer_token(offer)
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")

    response = client.post(reverse("pickup-alternatives", kwargs={"token": tampered}), {"choice": "CANCEL"})

    assert response.status_code == 400 and "not valid" in response.content.decode()
    assert {line.queue for line in lines_now(lines)} == {"BOPIS_REJECTED"}


def test_another_orders_nonce_does_not_open_this_offer(client, case, world):
    _, lines, offer = case
    other_order, _ = rejected_order(world.chosen, [(world.toy, 1)])
    other = offered(other_order)
    # Even a correctly signed token must pair the offer with its own nonce.
    mixed = signing.Signer(salt=TOKEN_SALT).sign(f"{offer.pk}.{other.nonce}")

    response = client.post(reverse("pickup-alternatives", kwargs={"token": mixed}), {"choice": "CANCEL"})

    assert response.status_code == 400
    assert {line.queue for line in lines_now(lines)} == {"BOPIS_REJECTED"}


def test_another_orders_link_changes_only_that_order(client, case, world):
    _, lines, _ = case
    other_order, other_lines = rejected_order(world.chosen, [(world.toy, 1)])
    other = offered(other_order)

    choose(client, other, choice="CANCEL")

    assert {line.status for line in lines_now(other_lines)} == {"CANCELED"}
    assert {line.queue for line in lines_now(lines)} == {"BOPIS_REJECTED"}


def test_a_post_without_the_csrf_token_is_refused(case):
    _, lines, offer = case
    client = Client(enforce_csrf_checks=True)

    refused = client.post(page(offer), {"choice": "CANCEL"})
    client.get(page(offer))  # sets the CSRF cookie, as a browser opening the page would
    accepted = client.post(page(offer), {"choice": "CANCEL", "csrfmiddlewaretoken": client.cookies["csrftoken"].value})

    assert (refused.status_code, accepted.status_code) == (403, 200)
