"""A REJECTED-queue run and an operator's manual create competing for the same line, on real threads.

Both lock the order first. Whoever gets it allocates the line; the other finds it no longer queued (the
run skips it, the manual create is refused). 24 rounds; the test insists both orderings happened, and
that the units are never reserved twice.
"""

import random
import time

import pytest
from django.db import transaction

from fulfillment.ledger import stock_ledger_problems
from oms.models import OrderLine
from oms.routing.requests import RequestError, request_create_manual
from oms.routing.runs import brokering_run
from stores.models import StockLevel
from stores.stock import stock_adjust
from tests.factories import FacilityFactory, OrderFactory, OrderLineFactory, ProductFactory, UserFactory
from tests.races import race

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 24


def jittered(call, most: float):
    """Start up to `most` seconds late: the manual create reaches the order lock sooner than the run (which
    first commits its run row and loads the world), so without it one ordering would hardly ever happen."""
    def run():
        time.sleep(random.uniform(0, most))
        return call()
    return run


def test_a_rejected_run_and_a_manual_create_allocate_the_line_once_in_either_order():
    ops = UserFactory(username="ops-race")
    seen = set()
    for _ in range(ROUNDS):
        rejecting, store, product = FacilityFactory(), FacilityFactory(), ProductFactory()
        with transaction.atomic():
            stock_adjust(facility_id=store.pk, product_id=product.pk, delta=2, reason="RECEIPT")
        line = OrderLineFactory(order=OrderFactory(status="APPROVED"), product=product, quantity=2,
                                status="QUEUED", queue="REJECTED")
        line.excluded_facilities.add(rejecting)
        runs = []

        outcomes = race(refused=RequestError, calls=[
            jittered(lambda runs=runs, line=line: runs.append(
                brokering_run(queue="REJECTED", trigger="test", order_ids=[line.order_id])), 0.002),
            jittered(lambda line=line, store=store: request_create_manual(
                order_id=line.order_id, facility_id=store.pk, actor=ops, reason="customer called"), 0.03),
        ])

        [run] = runs
        assert (run.status, run.errors) == ("SUCCEEDED", [])
        refused = [outcome for outcome in outcomes if outcome != "done"]
        if refused:
            seen.add("run first")
            assert run.lines_allocated == 1
        else:
            seen.add("manual first")
            assert run.lines_allocated == 0
        [allocated] = OrderLine.objects.filter(order_id=line.order_id)
        assert (allocated.status, allocated.allocated_facility_id, allocated.quantity) == ("ALLOCATED", store.pk, 2)
        level = StockLevel.objects.get(facility=store, product=product)
        assert (level.on_hand, level.reserved) == (2, 2)
    assert seen == {"run first", "manual first"}
    assert stock_ledger_problems() == []
