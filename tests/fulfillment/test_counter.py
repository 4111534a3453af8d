"""The pickup counter: searching ready pickups, codes and their refusals, handing over with refusals and proof."""

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fulfillment.counter import CounterError, pickup_find_by_code, pickup_hand_over, pickup_search
from fulfillment.ledger import stock_ledger_problems
from fulfillment.models import HandoverJob, PutBackItem, PutBackTask
from fulfillment.pickup import pickups_expire
from oms.core.history import transit_and_save
from oms.models import FulfillmentRequest, Order, OrderLine, OutboxMessage
from stores.models import Facility
from tests.factories import ProductFactory
from tests.fulfillment.counter_world import levels, lines_of, ready_pickup, snapshot, stock, store_with_people

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
    return ready_pickup(facility, associate, [(shirt, 2), (mug, 1)], code="K7QP2M",
                        customer_name="Grace Hopper", email="grace@example.com", phone="+1 312 555 0199")


def hand_over(pickup, actor, **kwargs):
    kwargs.setdefault("version", HandoverJob.objects.values_list("version", flat=True).get(pk=pickup.pk))
    return pickup_hand_over(handover_id=pickup.pk, facility_id=pickup.facility_id, actor=actor, **kwargs)


def line_of(pickup, product) -> OrderLine:
    return next(line for line in lines_of(pickup) if line.product_id == product.pk)


# --- finding a pickup ----------------------------------------------------------------------------

@pytest.mark.parametrize("query", ["K7QP2M", "k7qp2m", " K7Q P2M ", "grace", "HOPPER", "grace@example",
                                   "555 0199"])
def test_the_search_finds_a_pickup_by_code_customer_email_or_phone(store, pickup, query):
    facility, _, _ = store

    assert [handover.pk for handover in pickup_search(facility=facility, query=query)] == [pickup.pk]


def test_the_search_finds_an_order_name_with_or_without_its_hash(store, pickup):
    facility, _, _ = store
    name = pickup.order.name

    assert [h.pk for h in pickup_search(facility=facility, query=name)] == [pickup.pk]
    assert [h.pk for h in pickup_search(facility=facility, query=name.lstrip("#"))] == [pickup.pk]
    assert pickup_search(facility=facility, query="nobody") == []


def test_an_empty_search_lists_the_stores_ready_pickups_oldest_first(store, products, pickup):
    facility, associate, _ = store
    shirt, _ = products
    newer = ready_pickup(facility, associate, [(shirt, 1)])
    older = ready_pickup(facility, associate, [(shirt, 1)])
    HandoverJob.objects.filter(pk=older.pk).update(created_at=timezone.now() - timedelta(days=1))
    collected = ready_pickup(facility, associate, [(shirt, 1)])
    hand_over(collected, associate)
    other, other_associate, _ = store_with_people("NYC-01")
    stock(other, shirt, 5)
    ready_pickup(other, other_associate, [(shirt, 1)])

    found = pickup_search(facility=facility, query="")

    assert [handover.pk for handover in found] == [older.pk, pickup.pk, newer.pk]
    assert found[1].units == 3 and [line.product.name for line in found[1].items] == ["Oxford shirt", "Enamel mug"]


def test_the_search_costs_two_queries_however_many_pickups_wait(store, products, pickup):
    facility, associate, _ = store
    shirt, mug = products
    for _ in range(5):
        ready_pickup(facility, associate, [(shirt, 1), (mug, 1)])

    with CaptureQueriesContext(connection) as queries:
        found = pickup_search(facility=facility, query="")
        assert sum(handover.units for handover in found) == 3 + 10

    assert len(queries) == 2


def test_a_code_opens_the_stores_ready_pickup(store, pickup):
    facility, _, _ = store

    assert pickup_find_by_code(facility=facility, code="k7qp2m").pk == pickup.pk


def test_an_unknown_code_is_refused(store, pickup):
    facility, _, _ = store

    with pytest.raises(CounterError) as refused:
        pickup_find_by_code(facility=facility, code="ZZZZ99")

    assert refused.value.status == 404 and "No pickup has the code ZZZZ99" in refused.value.message


def test_another_stores_code_names_that_store_and_nothing_else(store, products):
    facility, _, _ = store
    shirt, _ = products
    other, other_associate, _ = store_with_people("NYC-01")
    stock(other, shirt, 5)
    theirs = ready_pickup(other, other_associate, [(shirt, 1)], code="NYC777")

    with pytest.raises(CounterError) as refused:
        pickup_find_by_code(facility=facility, code="NYC777")

    assert refused.value.message == f"This order is for pickup at {other.name}."
    assert theirs.order.name not in refused.value.message


def test_a_collected_pickup_is_refused_with_when(store, pickup):
    facility, associate, _ = store
    hand_over(pickup, associate)

    with pytest.raises(CounterError) as refused:
        pickup_find_by_code(facility=facility, code="K7QP2M")

    assert refused.value.status == 409
    assert refused.value.message.startswith(f"Order {pickup.order.name} was already collected on ")
    assert "by Ada" in refused.value.message


def expire(pickup, *, at=None) -> datetime:
    """The expiry task runs after the pickup's expiry (at `at`): the handover is canceled as a no-show."""
    at = at or timezone.now()
    HandoverJob.objects.filter(pk=pickup.pk).update(expires_at=at - timedelta(minutes=1))
    assert pickups_expire(now=at) == 1
    return at


def cancel_with_order(pickup):
    """What an order cancellation does to the handover (the counter only reads it)."""
    handover = HandoverJob.objects.get(pk=pickup.pk)
    transit_and_save(handover, "cancel", reason="order canceled", at=timezone.now())
    HandoverJob.objects.filter(pk=pickup.pk).update(cancel_reason=HandoverJob.CancelReason.ORDER_CANCELED)


def test_an_expired_pickup_says_when_it_expired(store, pickup):
    facility, _, _ = store
    at = timezone.now() - timedelta(days=2, hours=3)
    expire(pickup, at=at)

    with pytest.raises(CounterError) as refused:
        pickup_find_by_code(facility=facility, code="K7QP2M")

    local = at.astimezone(facility.tz)
    assert refused.value.status == 409
    assert refused.value.message == (f"The pickup of order {pickup.order.name} expired on "
                                     f"{local.strftime('%a %b %-d, %H:%M')} and the items went back to the shelf.")


def test_a_canceled_orders_pickup_says_it_was_canceled(store, pickup):
    facility, _, _ = store
    cancel_with_order(pickup)

    with pytest.raises(CounterError) as refused:
        pickup_find_by_code(facility=facility, code="K7QP2M")

    assert "was canceled on" in refused.value.message


# --- handing over --------------------------------------------------------------------------------

def test_handing_over_everything_completes_the_order_and_takes_the_units_out_of_stock(store, products, pickup):
    facility, associate, _ = store
    assert levels(facility, *products) == [(10, 2), (10, 1)]

    result = hand_over(pickup, associate)

    handover = HandoverJob.objects.get(pk=pickup.pk)
    assert levels(facility, *products) == [(8, 0), (9, 0)]
    assert (handover.status, handover.handed_over_by, handover.version) == ("HANDED_OVER", associate, 1)
    assert handover.handed_over_at is not None
    assert set(pickup.order.lines.values_list("status", flat=True)) == {"FULFILLED"}
    assert Order.objects.get(pk=pickup.order_id).status == Order.Status.COMPLETED
    assert FulfillmentRequest.objects.get(order=pickup.order_id).status == FulfillmentRequest.Status.COMPLETED
    assert result.message == f"Handed over order {pickup.order.name}: 3 items."
    assert stock_ledger_problems() == []


def test_the_fulfillment_message_reaches_the_outbox_before_the_completion(store, products, pickup):
    facility, associate, _ = store
    shirt, mug = products
    line_ids = {line.product_id: line.external_line_id for line in lines_of(pickup)}

    hand_over(pickup, associate)

    shop = list(OutboxMessage.objects.filter(order=pickup.order_id, destination="SHOP").order_by("pk"))
    assert [message.kind for message in shop] == ["fulfillment", "order-completed"]
    assert shop[0].idempotency_key == f"fulfillment:handover:{pickup.pk}"
    assert shop[0].payload == {
        "external_id": pickup.order.external_id, "name": pickup.order.name, "facility": facility.code,
        "carrier": None, "service": "PICKUP", "parcels": [],
        "lines": [{"external_line_id": line_ids[shirt.pk], "sku": shirt.sku, "quantity": 2},
                  {"external_line_id": line_ids[mug.pk], "sku": mug.sku, "quantity": 1}],
    }


def test_a_refused_item_is_canceled_and_waits_for_put_back_while_the_rest_is_handed_over(store, products, pickup):
    facility, associate, _ = store
    shirt, mug = products
    mug_line = line_of(pickup, mug)

    result = hand_over(pickup, associate, refused={mug_line.pk: "Chipped"})

    mug_line.refresh_from_db()
    assert mug_line.status == OrderLine.Status.CANCELED and mug_line.cancel_reason == "refused by the customer: Chipped"
    assert line_of_status(pickup, shirt) == OrderLine.Status.FULFILLED
    assert Order.objects.get(pk=pickup.order_id).status == Order.Status.COMPLETED
    assert HandoverJob.objects.get(pk=pickup.pk).status == HandoverJob.Status.HANDED_OVER
    # The shirts left; the mug is still on hand and reserved, held by the put-back task.
    assert levels(facility, *products) == [(8, 0), (10, 1)]
    task = PutBackTask.objects.get(order=pickup.order_id)
    assert (task.status, task.reason, task.facility_id) == ("OPEN", "CONSUMER_REJECTS", facility.pk)
    assert list(PutBackItem.objects.filter(task=task).values_list("order_line", "product", "quantity")) == [
        (mug_line.pk, mug.pk, 1)]
    assert result.put_back == task and "Chipped" in task.note
    assert result.message == (f"Handed over order {pickup.order.name}: 2 items. "
                              f"1 refused item to put back on the shelf (see Put back).")
    kinds = list(OutboxMessage.objects.filter(order=pickup.order_id, destination="SHOP").order_by("pk")
                 .values_list("kind", flat=True))
    assert kinds == ["lines-canceled", "fulfillment", "order-completed"]
    assert stock_ledger_problems() == []


def line_of_status(pickup, product) -> str:
    return OrderLine.objects.values_list("status", flat=True).get(order=pickup.order_id, product=product)


def test_refusing_every_item_cancels_the_handover_and_the_order(store, products, pickup):
    facility, associate, _ = store
    refused = {line.pk: "Changed their mind" for line in lines_of(pickup)}

    result = hand_over(pickup, associate, refused=refused)

    handover = HandoverJob.objects.get(pk=pickup.pk)
    assert (handover.status, handover.cancel_reason) == ("CANCELED", "CONSUMER_REJECTS")
    assert Order.objects.get(pk=pickup.order_id).status == Order.Status.CANCELED
    assert levels(facility, *products) == [(10, 2), (10, 1)]  # held until the put-back is confirmed
    assert PutBackTask.objects.get(order=pickup.order_id).items.count() == 2
    assert not OutboxMessage.objects.filter(order=pickup.order_id, kind="fulfillment").exists()
    assert result.message.startswith(f"The customer refused order {pickup.order.name}: 3 refused items")
    assert stock_ledger_problems() == []


def test_two_refusal_reasons_are_each_kept_on_their_line(store, products, pickup):
    _, associate, _ = store
    shirt, mug = products

    hand_over(pickup, associate, refused={line_of(pickup, shirt).pk: "Wrong size", line_of(pickup, mug).pk: "Chipped"})

    reasons = dict(OrderLine.objects.filter(order=pickup.order_id).values_list("product", "cancel_reason"))
    assert reasons == {shirt.pk: "refused by the customer: Wrong size", mug.pk: "refused by the customer: Chipped"}
    assert PutBackTask.objects.filter(order=pickup.order_id).count() == 1


def test_the_proof_of_pickup_is_kept_when_the_store_asks_for_it(store, pickup):
    facility, associate, _ = store
    Facility.objects.filter(pk=facility.pk).update(pickup_proof_required=True)

    hand_over(pickup, associate, proof={"name": " Alan  Turing ", "relation": "other", "id_last4": "x7 q2"})

    handover = HandoverJob.objects.get(pk=pickup.pk)
    assert (handover.collected_by, handover.collected_relation, handover.collected_id_last4) == (
        "Alan Turing", "OTHER", "X7Q2")


def test_refusing_everything_needs_no_proof(store, pickup):
    facility, associate, _ = store
    Facility.objects.filter(pk=facility.pk).update(pickup_proof_required=True)

    hand_over(pickup, associate, refused={line.pk: "Damaged" for line in lines_of(pickup)})

    assert HandoverJob.objects.get(pk=pickup.pk).status == HandoverJob.Status.CANCELED


# --- refusals change nothing ---------------------------------------------------------------------

GOOD_PROOF = {"name": "Grace Hopper", "relation": "SELF", "id_last4": "1234"}


@pytest.mark.parametrize(("case", "status", "text"), [
    ("stale version", 409, "This pickup was changed by"),
    ("missing name", 422, "Type the name of the person collecting"),
    ("bad relation", 422, "Choose who is collecting"),
    ("short id", 422, "last 4 characters of their ID"),
    ("id with a dash", 422, "last 4 characters of their ID"),
    ("refusal without reason", 422, "Say why the customer refuses Enamel mug"),
    ("unknown line", 409, "no longer part of this pickup"),
    ("other store", 404, "does not exist in this store"),
])
def test_a_refused_handover_changes_nothing(store, products, pickup, case, status, text):
    facility, associate, _ = store
    Facility.objects.filter(pk=facility.pk).update(pickup_proof_required=True)
    _, mug = products
    other, _, _ = store_with_people("NYC-01")
    kwargs = {"proof": dict(GOOD_PROOF), "version": 0, "facility_id": facility.pk}
    if case == "stale version":
        HandoverJob.objects.filter(pk=pickup.pk).update(version=3)
    elif case == "missing name":
        kwargs["proof"]["name"] = "  "
    elif case == "bad relation":
        kwargs["proof"]["relation"] = "FRIEND"
    elif case == "short id":
        kwargs["proof"]["id_last4"] = "123"
    elif case == "id with a dash":
        kwargs["proof"]["id_last4"] = "12-4"
    elif case == "refusal without reason":
        kwargs["refused"] = {line_of(pickup, mug).pk: "   "}
    elif case == "unknown line":
        kwargs["refused"] = {999_999: "Damaged"}
    elif case == "other store":
        kwargs["facility_id"] = other.pk
    before = snapshot(pickup)

    with pytest.raises(CounterError) as refused:
        pickup_hand_over(handover_id=pickup.pk, actor=associate, **kwargs)

    assert refused.value.status == status and text in refused.value.message
    assert snapshot(pickup) == before


@pytest.mark.parametrize("state", ["collected", "expired", "canceled by refusal"])
def test_handing_over_a_pickup_that_is_no_longer_ready_changes_nothing(store, pickup, state):
    facility, associate, _ = store
    if state == "collected":
        hand_over(pickup, associate)
    elif state == "expired":
        expire(pickup)
    else:
        hand_over(pickup, associate, refused={line.pk: "Damaged" for line in lines_of(pickup)})
    before = snapshot(pickup)

    with pytest.raises(CounterError) as refused:
        pickup_hand_over(handover_id=pickup.pk, facility_id=facility.pk, actor=associate, version=None)

    assert refused.value.status == 409
    assert snapshot(pickup) == before


def test_a_pickup_whose_lines_are_gone_is_refused(store, pickup):
    facility, associate, _ = store
    OrderLine.objects.filter(order=pickup.order_id).update(status=OrderLine.Status.CANCELED)

    with pytest.raises(CounterError) as refused:
        hand_over(pickup, associate)

    assert refused.value.status == 409 and "left to hand over" in refused.value.message
