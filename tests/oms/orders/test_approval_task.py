"""The scheduled approval task on the real Celery worker: it approves, and running it twice approves once."""


import pytest

from oms.models import Order, TransitionLog
from oms.tasks import approve_orders
from tests.conftest import wait_for, worker_idle
from tests.factories import OrderFactory, OrderLineFactory

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]



def ship_order(**fields) -> Order:
    order = OrderFactory(**fields)
    OrderLineFactory(order=order)
    return order




def test_approve_orders_task_approves_on_the_worker(celery_worker):
    order = ship_order()

    approve_orders.delay()

    wait_for(lambda: Order.objects.get(pk=order.pk).status == Order.Status.APPROVED, message="order approved")
    assert order.lines.get().queue == "BROKERING"
    wait_for(worker_idle, message="worker idle")


def test_approve_orders_task_run_twice_approves_each_order_once(celery_worker):
    orders = [ship_order() for _ in range(10)]
    held = ship_order(tags=["HOLD"])

    approve_orders.delay()
    approve_orders.delay()

    ids = [order.pk for order in orders]
    wait_for(
        lambda: Order.objects.filter(pk__in=ids, status=Order.Status.APPROVED).count() == len(ids),
        message="every order approved",
    )
    wait_for(worker_idle, message="both runs finished")
    approvals = TransitionLog.objects.filter(object_type="order", transition="approve")
    assert sorted(approvals.values_list("order_id", flat=True)) == sorted(ids)
    held.refresh_from_db()
    assert (held.status, held.notes.count()) == (Order.Status.CREATED, 1)
