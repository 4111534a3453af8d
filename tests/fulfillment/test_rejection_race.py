"""A manager rejects a line while an associate confirms its last unit: one wins, the ledger adds up, both orders occur.

Real threads on a Barrier against PostgreSQL. Both services lock the order first, then the job; the
version each carried refuses the second (409). Rounds go on (at least ROUNDS) until each side has won
at least once, so the test proves both orderings were exercised, not just one.
"""

import functools
import random
import time

import pytest

from fulfillment.ledger import stock_ledger_problems
from fulfillment.models import PickJob, PickLine
from fulfillment.picking import PickError, pick_job_scan, pick_job_start, pick_line_tap
from fulfillment.rejection import line_reject
from oms.models import OrderLine
from tests.factories import ProductFactory
from tests.fulfillment.store_world import routed_order, stock, store_with_people
from tests.races import race

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 20
MAX_ROUNDS = 120


def _scan(*, delay, **kwargs):
    time.sleep(delay)
    pick_job_scan(**kwargs)


def _reject(*, delay, **kwargs):
    time.sleep(delay)
    line_reject(**kwargs)


def test_reject_racing_the_last_scan_ends_legal_with_both_orderings_seen():
    facility, associate, manager = store_with_people()
    rng = random.Random(6)
    winners = []
    while len(winners) < ROUNDS or len(set(winners)) < 2:
        assert len(winners) < MAX_ROUNDS, f"only one ordering seen in {len(winners)} rounds: {set(winners)}"
        product = ProductFactory()
        stock(facility, product, 4)
        order, job = routed_order(facility, [(product, 2)])
        pick_job_start(job_id=job.pk, facility_id=facility.pk, actor=associate, version=job.version)
        line = PickLine.objects.get(pick_job=job)
        pick_line_tap(job_id=job.pk, facility_id=facility.pk, actor=associate,
                      version=PickJob.objects.get(pk=job.pk).version, line_id=line.pk)
        version = PickJob.objects.get(pk=job.pk).version
        jitter = [rng.random() * 0.004, rng.random() * 0.004]

        scan = functools.partial(_scan, delay=jitter[0], job_id=job.pk, facility_id=facility.pk, actor=associate,
                                 version=version, code=product.barcode)
        reject = functools.partial(_reject, delay=jitter[1], facility_id=facility.pk, actor=manager,
                                   pick_line_id=line.pk, reason_code="damaged", version=version)
        outcomes = race(refused=PickError, calls=[scan, reject], done="done")
        assert outcomes.count("done") == 1, outcomes
        line.refresh_from_db()
        if line.status == "PICKED":
            winners.append("scan")
            assert PickJob.objects.get(pk=job.pk).status == "CLOSED"
            assert set(OrderLine.objects.filter(order=order).values_list("status", flat=True)) == {"ALLOCATED"}
        else:
            winners.append("reject")
            assert (line.status, line.picked_quantity) == ("SHORT", 1)
            lines = OrderLine.objects.filter(order=order).order_by("pk")
            assert [(ol.quantity, ol.status) for ol in lines] == [(1, "ALLOCATED"), (1, "QUEUED")]
        assert stock_ledger_problems() == []
        # No order line is both picked to the end and sent away (or canceled).
        assert not OrderLine.objects.filter(order=order, pick_lines__status="PICKED").exclude(status="ALLOCATED") \
            .exists()
        assert not OrderLine.objects.filter(order=order, status__in=["FULFILLED", "CANCELED"]).exists()
    assert {"scan", "reject"} <= set(winners)
