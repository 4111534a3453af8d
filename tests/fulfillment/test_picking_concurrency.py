"""Two associates tapping the same job at once: one pick lands, the other is told the job changed.

Real threads on a Barrier against PostgreSQL: the row lock serialises the two taps, and the version
each carried decides that the second one is refused instead of picking a unit twice.
"""

import threading

import pytest
from django.db import close_old_connections

from fulfillment.models import PickJob
from fulfillment.picking import StaleVersion, pick_job_scan, pick_job_start
from tests.factories import ProductFactory
from tests.fulfillment.store_world import routed_order, stock, store_with_people

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 5


def race(calls):
    barrier = threading.Barrier(len(calls))
    outcomes, errors = [], []

    def run(call):
        try:
            barrier.wait(timeout=10)
            call()
            outcomes.append("picked")
        except StaleVersion as refused:
            outcomes.append(refused.message)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    return outcomes


def test_two_taps_on_the_same_version_pick_one_unit_and_refuse_the_other():
    facility, associate, manager = store_with_people()
    for _ in range(ROUNDS):
        product = ProductFactory()
        stock(facility, product, 5)
        _, job = routed_order(facility, [(product, 3)])
        pick_job_start(job_id=job.pk, facility_id=facility.pk, actor=associate, version=job.version)
        version = PickJob.objects.get(pk=job.pk).version

        outcomes = race([
            lambda user=user, job=job, version=version, product=product: pick_job_scan(
                job_id=job.pk, facility_id=facility.pk, actor=user, version=version, code=product.barcode)
            for user in (associate, manager)
        ])

        assert outcomes.count("picked") == 1, outcomes
        assert any(outcome.startswith("This job was changed by") for outcome in outcomes), outcomes
        assert job.lines.get().picked_quantity == 1
