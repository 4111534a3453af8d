"""Put-back tasks from the counter: the units stay on hand and reserved until an associate confirms them back."""

from datetime import timedelta

import pytest
from django.utils import timezone

from fulfillment.counter import pickup_hand_over
from fulfillment.ledger import stock_ledger_problems
from fulfillment.models import HandoverJob, PutBackTask
from fulfillment.pickup import pickups_expire
from fulfillment.putback import PutBackError, put_back_confirm, put_backs_open
from stores.models import InventoryAdjustment
from tests.factories import ProductFactory
from tests.fulfillment.counter_world import levels, lines_of, ready_pickup, stock, store_with_people

pytestmark = pytest.mark.django_db


@pytest.fixture
def products(store):
    facility, _, _ = store
    shirt, mug = ProductFactory(name="Oxford shirt"), ProductFactory(name="Enamel mug")
    stock(facility, shirt, 10, "C-03")
    stock(facility, mug, 10, "A-01")
    return shirt, mug


@pytest.fixture
def task(store, products) -> PutBackTask:
    """A customer refused both items of a pickup: one OPEN put-back task."""
    facility, associate, _ = store
    shirt, mug = products
    pickup = ready_pickup(facility, associate, [(shirt, 2), (mug, 1)])
    result = pickup_hand_over(handover_id=pickup.pk, facility_id=facility.pk, actor=associate, version=0,
                              refused={line.pk: "Damaged" for line in lines_of(pickup)})
    return result.put_back


def test_refused_units_stay_on_hand_and_reserved_until_the_put_back_is_confirmed(store, products, task):
    facility, associate, _ = store
    assert levels(facility, *products) == [(10, 2), (10, 1)]
    assert stock_ledger_problems() == []

    put_back_confirm(task_id=task.pk, facility_id=facility.pk, actor=associate)

    task.refresh_from_db()
    assert levels(facility, *products) == [(10, 0), (10, 0)]  # reserved released, on hand untouched
    assert (task.status, task.done_by) == (PutBackTask.Status.DONE, associate) and task.done_at is not None
    assert stock_ledger_problems() == []


def test_confirming_writes_a_release_per_item_to_the_ledger(store, products, task):
    facility, associate, _ = store

    put_back_confirm(task_id=task.pk, facility_id=facility.pk, actor=associate)

    rows = InventoryAdjustment.objects.filter(source=f"put-back {task.pk}").values_list("reserved_delta",
                                                                                        "on_hand_delta")
    assert sorted(rows) == [(-2, 0), (-1, 0)]


def test_confirming_twice_is_refused_and_releases_once(store, products, task):
    facility, associate, manager = store
    put_back_confirm(task_id=task.pk, facility_id=facility.pk, actor=associate)

    with pytest.raises(PutBackError) as refused:
        put_back_confirm(task_id=task.pk, facility_id=facility.pk, actor=manager)

    assert refused.value.status == 409
    assert levels(facility, *products) == [(10, 0), (10, 0)]
    assert stock_ledger_problems() == []


def test_another_store_cannot_confirm_the_task(store, products, task):
    facility, _, _ = store
    other, outsider, _ = store_with_people("NYC-01")

    with pytest.raises(PutBackError) as refused:
        put_back_confirm(task_id=task.pk, facility_id=other.pk, actor=outsider)

    assert refused.value.status == 404
    assert PutBackTask.objects.get(pk=task.pk).status == PutBackTask.Status.OPEN
    assert levels(facility, *products) == [(10, 2), (10, 1)]


def test_an_uncollected_pickup_is_put_back_through_the_same_task(store, products):
    facility, associate, _ = store
    shirt, _ = products
    pickup = ready_pickup(facility, associate, [(shirt, 3)])
    now = timezone.now()
    HandoverJob.objects.filter(pk=pickup.pk).update(expires_at=now - timedelta(minutes=1))
    pickups_expire(now=now)
    [task] = put_backs_open(facility_id=facility.pk)
    assert (task.reason, levels(facility, shirt)) == (PutBackTask.Reason.CONSUMER_NO_SHOW, [(10, 3)])

    put_back_confirm(task_id=task.pk, facility_id=facility.pk, actor=associate)

    assert levels(facility, shirt) == [(10, 0)]
    assert stock_ledger_problems() == []


def test_open_tasks_list_their_items_in_bin_order(store, products, task):
    facility, _, _ = store

    [listed] = put_backs_open(facility_id=facility.pk)

    assert listed.pk == task.pk
    assert [(item.bin_location, item.product.name, item.quantity) for item in listed.open_items] == [
        ("A-01", "Enamel mug", 1), ("C-03", "Oxford shirt", 2)]
