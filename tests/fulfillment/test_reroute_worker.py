"""Timed reroute on the real Celery worker: a job whose creation is backdated past its deadline is withdrawn,
a late pickup job escalated, and sending the tasks twice changes nothing more."""

from datetime import timedelta

import pytest
from django.utils import timezone

from fulfillment.ledger import stock_ledger_problems
from fulfillment.models import PickJob
from fulfillment.tasks import escalate_late_pickup_jobs, withdraw_unstarted_pick_jobs
from oms.models import OrderLine
from tests.conftest import wait_for, worker_idle
from tests.factories import ProductFactory
from tests.fulfillment.store_world import routed_order, stock, store_with_people

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


def test_the_worker_withdraws_a_backdated_ship_job_and_escalates_a_late_pickup_job(celery_worker):
    facility, _, _ = store_with_people("CHI-08")
    shirt = ProductFactory()
    stock(facility, shirt, 5)
    ship_order, ship = routed_order(facility, [(shirt, 2)])
    _, pickup = routed_order(facility, [(shirt, 1)], pickup=True)
    PickJob.objects.filter(pk=ship.pk).update(created_at=timezone.now() - timedelta(days=10))
    PickJob.objects.filter(pk=pickup.pk).update(created_at=timezone.now() - timedelta(days=10),
                                                due_at=timezone.now() - timedelta(hours=1))

    for _ in range(2):
        withdraw_unstarted_pick_jobs.delay()
        escalate_late_pickup_jobs.delay()

    wait_for(lambda: PickJob.objects.get(pk=ship.pk).status == PickJob.Status.CANCELED, message="ship job withdrawn")
    wait_for(lambda: PickJob.objects.get(pk=pickup.pk).escalated_at is not None, message="pickup job escalated")
    wait_for(worker_idle, message="worker idle")
    assert PickJob.objects.get(pk=pickup.pk).status == PickJob.Status.OPEN
    [line] = OrderLine.objects.filter(order=ship_order)
    assert (line.status, line.queue) == ("QUEUED", "REJECTED")
    assert stock_ledger_problems() == []
