"""Timed reroute racing an associate who starts the job: exactly one of them wins, in either order.

Real threads on a Barrier against PostgreSQL. Both lock the order first: when the withdrawal gets it, the
start waits and is refused (the job changed); when the start gets it, the withdrawal skips the busy order
(SKIP LOCKED) or no longer finds an unstarted job. The test insists that both orderings happened.
"""

import random
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from fulfillment.ledger import stock_ledger_problems
from fulfillment.models import PickJob
from fulfillment.picking import PickError, pick_job_start
from fulfillment.reroute import pick_jobs_withdraw_unstarted
from oms.models import OrderLine
from stores.models import StockLevel
from tests.factories import ProductFactory
from tests.fulfillment.store_world import routed_order, stock, store_with_people
from tests.races import race

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 24


def jittered(call, most: float):
    """Start a call up to `most` seconds late: the start is quicker to reach the order lock than the withdrawal
    (which first looks for late jobs), so without it one ordering would hardly ever happen."""
    def run():
        time.sleep(random.uniform(0, most))
        return call()
    return run


def test_a_withdrawal_racing_a_start_leaves_exactly_one_winner_and_both_orders_happen():
    facility, associate, _ = store_with_people()
    seen = set()
    for _ in range(ROUNDS):
        product = ProductFactory()
        stock(facility, product, 3)
        order, job = routed_order(facility, [(product, 2)])
        PickJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(days=10))
        withdrawn = []

        outcomes = race(refused=PickError, calls=[
            jittered(lambda withdrawn=withdrawn: withdrawn.append(pick_jobs_withdraw_unstarted()), 0.002),
            jittered(lambda job=job: pick_job_start(job_id=job.pk, facility_id=facility.pk, actor=associate,
                                                     version=job.version), 0.012),
        ])

        job.refresh_from_db()
        line = OrderLine.objects.get(order=order)
        level = StockLevel.objects.get(facility=facility, product=product)
        if withdrawn == [1]:
            seen.add("withdrawn first")
            assert [o for o in outcomes if o != "done"], outcomes  # the start was refused
            assert (job.status, line.status, line.queue, level.reserved) == ("CANCELED", "QUEUED", "REJECTED", 0)
        else:
            seen.add("started first")
            assert outcomes == ["done", "done"], outcomes
            assert (job.status, line.status, level.reserved) == ("IN_PROGRESS", "ALLOCATED", 2)
    assert seen == {"withdrawn first", "started first"}
    assert stock_ledger_problems() == []
