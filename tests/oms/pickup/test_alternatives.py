"""Pickup alternatives offers: which stores, one offer per rejection, the email, where lines enter BOPIS_REJECTED."""

import re
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from fulfillment.picking import pick_job_scan, pick_job_start, pick_line_short
from oms.core.pickup_offers import pickup_alternatives_offer
from oms.models import OrderLine, OrderNote, OutboxMessage, PickupAlternativeOffer
from oms.outbox.email import email_build
from oms.outbox.samples import email_samplers
from oms.pickup.alternatives import pickup_alternative_apply, pickup_alternatives_for_operations
from oms.routing.runs import order_route
from stores.models import StockLevel
from tests.factories import OrderFactory, OrderLineFactory, ProductFactory, UserFactory
from tests.fulfillment.store_world import routed_order, stock, store_with_people
from tests.oms.pickup.alternatives_world import offered, rejected_order, store_at, world_make

pytestmark = pytest.mark.django_db

URL = re.compile(r"https?://[^\s\"'<>]+")


@pytest.fixture
def world():
    return world_make()


def codes(offer):
    return [store["code"] for store in offer.stores]


def test_the_offer_names_the_three_nearest_other_stores_with_every_unit(world):
    order, _ = rejected_order(world.chosen, [(world.toy, 2), (world.mug, 1)])

    offer = offered(order)

    assert codes(offer) == ["KM-05", "KM-10", "KM-20"]  # the chosen store has stock too, but is not "another"
    assert [store["distance_km"] for store in offer.stores] == [5.0, 10.0, 20.0]
    assert offer.can_ship and offer.used_at is None
    assert offer.expires_at - offer.created_at == timedelta(days=7)


def test_a_store_excluded_for_a_line_is_not_offered(world):
    order, lines = rejected_order(world.chosen, [(world.toy, 1), (world.mug, 1)])
    lines[1].excluded_facilities.add(world.near[0])  # it rejected the mug before

    assert codes(offered(order)) == ["KM-10", "KM-20", "KM-30"]


def test_a_store_without_every_unit_available_is_not_offered(world):
    StockLevel.objects.filter(facility=world.near[0], product=world.mug).update(reserved=9)  # 1 available
    StockLevel.objects.filter(facility=world.near[1], product=world.toy).update(safety_stock=8)  # 2 available
    order, _ = rejected_order(world.chosen, [(world.toy, 2), (world.toy, 1), (world.mug, 2)])  # 3 toys in two lines

    assert codes(offered(order)) == ["KM-20", "KM-30"]


def test_stores_that_do_not_offer_pickup_or_are_closed_are_not_offered(world):
    world.near[0].offers_pickup = False
    world.near[0].save()
    world.near[1].is_active = False
    world.near[1].save()
    order, _ = rejected_order(world.chosen, [(world.toy, 1)])

    assert codes(offered(order)) == ["KM-20", "KM-30"]


def test_without_coordinates_the_distance_is_measured_from_the_chosen_store(world):
    order, _ = rejected_order(world.chosen, [(world.toy, 1)], shipping_address={})

    offer = offered(order)

    assert [store["distance_km"] for store in offer.stores] == [5.0, 10.0, 20.0]
    assert not offer.can_ship  # no address to deliver to


def test_stores_farther_than_the_chosen_stores_distance_are_not_offered(world):
    far = store_at("KM-1600", 1600)  # a continent away, with every unit
    stock(far, world.toy, 10)
    order, _ = rejected_order(world.chosen, [(world.toy, 1)])
    world.chosen.pickup_alternatives_km = 15
    world.chosen.save(update_fields=["pickup_alternatives_km"])

    assert codes(offered(order)) == ["KM-05", "KM-10"]


def test_by_default_stores_within_50_km_are_offered_and_none_far_away(world):
    for store in world.near:
        StockLevel.objects.filter(facility=store).update(on_hand=0)
    far = store_at("KM-1600", 1600)
    stock(far, world.toy, 10)
    order, _ = rejected_order(world.chosen, [(world.toy, 1)])

    offer = offered(order)

    assert world.chosen.pickup_alternatives_km == 50
    assert codes(offer) == [] and offer.can_ship  # delivery is still offered


def test_lines_an_open_offer_covers_get_no_second_offer(world):
    order, _ = rejected_order(world.chosen, [(world.toy, 1)])
    offered(order)

    offered(order)

    assert PickupAlternativeOffer.objects.filter(order=order).count() == 1
    assert OutboxMessage.objects.filter(kind="pickup-alternatives").count() == 1


def test_a_line_rejected_before_the_email_went_out_joins_that_offer(world):
    order, (toy_line,) = rejected_order(world.chosen, [(world.toy, 1)])
    first = offered(order)
    mug_line = OrderLineFactory(order=order, product=world.mug, quantity=1, status=OrderLine.Status.QUEUED,
                                queue=OrderLine.Queue.BOPIS_REJECTED, pickup_store_code=world.chosen.code,
                                pickup_facility=world.chosen)

    offer = offered(order)

    assert offer.pk == first.pk and offer.line_ids == [toy_line.pk, mug_line.pk]
    assert OutboxMessage.objects.filter(kind="pickup-alternatives").count() == 1  # one email for both items


def test_a_line_rejected_after_the_email_went_out_gets_its_own_offer(world):
    order, (toy_line,) = rejected_order(world.chosen, [(world.toy, 1)])
    first = offered(order)
    OutboxMessage.objects.filter(kind="pickup-alternatives").update(status=OutboxMessage.Status.DELIVERED)
    mug_line = OrderLineFactory(order=order, product=world.mug, quantity=1, status=OrderLine.Status.QUEUED,
                                queue=OrderLine.Queue.BOPIS_REJECTED, pickup_store_code=world.chosen.code,
                                pickup_facility=world.chosen)

    second = offered(order)

    assert second.pk != first.pk and (first.line_ids, second.line_ids) == ([toy_line.pk], [mug_line.pk])
    assert OutboxMessage.objects.filter(kind="pickup-alternatives").count() == 2


def test_an_expired_offer_does_not_cover_its_lines_any_more(world):
    order, _ = rejected_order(world.chosen, [(world.toy, 1)])
    first = offered(order)

    second = offered(order, now=first.expires_at + timedelta(seconds=1))

    assert second.pk != first.pk and second.line_ids == first.line_ids


def test_the_offer_and_its_email_exist_only_if_the_change_commits(world):
    order, _ = rejected_order(world.chosen, [(world.toy, 1)])

    with pytest.raises(RuntimeError, match="rolled back"), transaction.atomic():
        pickup_alternatives_offer(order_ids=[order.pk], now=timezone.now())
        assert OutboxMessage.objects.filter(kind="pickup-alternatives", order=order).exists()
        raise RuntimeError("rolled back")

    assert not PickupAlternativeOffer.objects.exists() and not OutboxMessage.objects.exists()


def test_the_email_is_for_the_customer_with_the_items_and_every_option(world):
    order, _ = rejected_order(world.chosen, [(world.toy, 2), (world.mug, 1)], name="#A100",
                              email="grace@example.com", customer_name="Grace Hopper")
    offer = offered(order)

    mail = email_build(OutboxMessage.objects.get(kind="pickup-alternatives", idempotency_key=f"pickup-alternatives:"
                                                 f"{offer.pk}"))

    assert mail.to == ["grace@example.com"]
    assert mail.subject == "Order #A100: Store CHI-01 cannot give you every item. Please choose what we do"
    html = mail.alternatives[0][0]
    for body in (mail.body, html):
        assert "Grace Hopper" in body and "2 × Wooden toy" in body and "1 × Blue mug" in body
        assert all(f"Store {code}" in body for code in ("KM-05", "KM-10", "KM-20"))
        assert "Store KM-30" not in body and "5.0 km" in body and "1 Main St" in body
    assert "Wooden toy" in html and "<img" not in html  # no remote images to break


def test_the_html_and_the_text_carry_the_same_links(world):
    order, _ = rejected_order(world.chosen, [(world.toy, 1)])
    offered(order)

    mail = email_build(OutboxMessage.objects.get(kind="pickup-alternatives"))

    text_links = URL.findall(mail.body)
    html_links = [link.replace("&amp;", "&") for link in re.findall(r'href="([^"]+)"', mail.alternatives[0][0])]
    assert sorted(set(text_links)) == sorted(set(html_links))
    assert len(set(text_links)) == 6  # three stores, delivery, cancel, all options
    assert all(link.startswith("http://127.0.0.1:8000/pickup/alternatives/") for link in text_links)


def test_the_links_are_built_on_the_public_base_url(world, settings):
    settings.PUBLIC_BASE_URL = "https://shop.example.com/"
    order, _ = rejected_order(world.chosen, [(world.toy, 1)])
    offered(order)

    mail = email_build(OutboxMessage.objects.get(kind="pickup-alternatives"))

    assert all(link.startswith("https://shop.example.com/pickup/alternatives/") for link in URL.findall(mail.body))


def test_without_an_email_address_no_email_is_written_and_the_timeline_says_so(world):
    order, _ = rejected_order(world.chosen, [(world.toy, 1)], email="")

    offered(order)

    assert not OutboxMessage.objects.exists()
    assert "NOT emailed" in OrderNote.objects.get(order=order).text


def test_a_short_picked_pickup_line_gets_an_offer_and_an_email():
    facility, associate, _ = store_with_people("CHI-01")
    other = store_at("KM-05", 5)
    toy = ProductFactory(name="Wooden toy")
    stock(facility, toy, 3)
    stock(other, toy, 3)
    order, job = routed_order(facility, [(toy, 2)], pickup=True)
    job = pick_job_start(job_id=job.pk, facility_id=facility.pk, actor=associate, version=job.version)
    job.refresh_from_db()
    pick_job_scan(job_id=job.pk, facility_id=facility.pk, actor=associate, version=job.version, code=toy.barcode)
    job.refresh_from_db()

    pick_line_short(job_id=job.pk, facility_id=facility.pk, actor=associate, version=job.version,
                    line_id=job.lines.get().pk, reason_code="damaged")

    missing = OrderLine.objects.get(order=order, status=OrderLine.Status.QUEUED)
    offer = PickupAlternativeOffer.objects.get(order=order)
    assert offer.line_ids == [missing.pk] and codes(offer) == ["KM-05"]  # the short store is excluded now
    message = OutboxMessage.objects.get(kind="pickup-alternatives", order=order)
    assert message.payload == {"offer": offer.pk}
    assert "1 × Wooden toy" in email_build(message).body


def test_a_pickup_order_its_store_cannot_cover_gets_an_offer_when_routed(world):
    StockLevel.objects.filter(facility=world.chosen, product=world.toy).update(reserved=10)
    order = OrderFactory(status="APPROVED")
    line = OrderLineFactory(order=order, product=world.toy, quantity=1, status=OrderLine.Status.QUEUED,
                            queue=OrderLine.Queue.BROKERING, pickup_store_code=world.chosen.code,
                            pickup_facility=world.chosen)

    order_route(order_id=order.pk)

    line.refresh_from_db()
    assert line.queue == OrderLine.Queue.BOPIS_REJECTED  # never re-brokered to another store
    offer = PickupAlternativeOffer.objects.get(order=order)
    assert offer.line_ids == [line.pk] and codes(offer) == ["KM-05", "KM-10", "KM-20"]
    assert OutboxMessage.objects.filter(kind="pickup-alternatives", order=order).count() == 1


def test_operations_see_the_offer_and_the_stores_that_can_take_the_items_now(world):
    order, lines = rejected_order(world.chosen, [(world.toy, 1)])
    offer = offered(order)
    StockLevel.objects.filter(facility=world.near[0], product=world.toy).update(reserved=10)

    view = pickup_alternatives_for_operations(order_id=order.pk)

    assert view.offer == offer and not view.offer_expired and view.lines == lines
    assert [option.facility.code for option in view.stores] == ["KM-10", "KM-20", "KM-30"] and view.can_ship


def test_operations_may_apply_an_expired_offer_for_the_customer(world):
    order, (line,) = rejected_order(world.chosen, [(world.toy, 1)])
    offer = offered(order)
    PickupAlternativeOffer.objects.filter(pk=offer.pk).update(expires_at=timezone.now() - timedelta(days=1))
    ops = UserFactory(username="ops-alt")

    result = pickup_alternative_apply(offer_id=offer.pk, choice="STORE", facility_id=world.near[3].pk, actor=ops)

    line.refresh_from_db()
    assert (line.status, line.allocated_facility, line.pickup_facility) == ("ALLOCATED", world.near[3], world.near[3])
    offer.refresh_from_db()
    assert (offer.choice, offer.used_by, result.facility) == ("STORE", ops, world.near[3])
    assert OrderNote.objects.filter(order=order, actor=ops, text__contains="(for the customer)").exists()


def test_the_sample_email_renders_from_a_pickup_order(world):
    rejected_order(world.chosen, [(world.toy, 1)], name="#S1")

    with transaction.atomic():
        mail = email_build(email_samplers()["pickup-alternatives"](timezone.now()))
        transaction.set_rollback(True)

    assert "#S1" in mail.subject and "Store KM-05" in mail.body and "Wooden toy" in mail.body
