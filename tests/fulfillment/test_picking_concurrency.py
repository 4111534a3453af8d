"""Two associates tapping the same job at once: one pick lands, the other is told the job changed.

Real threads on a Barrier against PostgreSQL: the row lock serialises the two taps, and the version
each carried decides that the second one is refused instead of picking a unit twice.
"""

import pytest

from fulfillment.models import PickJob
from fulfillment.picking import StaleVersion, pick_job_scan, pick_job_start
from tests.factories import ProductFactory
from tests.fulfillment.store_world import routed_order, stock, store_with_people
from tests.races import race

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 5


def test_two_taps_on_the_same_version_pick_one_unit_and_refuse_the_other():
    facility, associate, manager = store_with_people()
    for _ in range(ROUNDS):
        product = ProductFactory()
        stock(facility, product, 5)
        _, job = routed_order(facility, [(product, 3)])
        pick_job_start(job_id=job.pk, facility_id=facility.pk, actor=associate, version=job.version)
        version = PickJob.objects.get(pk=job.pk).version

        outcomes = race(refused=StaleVersion, done="picked", calls=[
            lambda user=user, job=job, version=version, product=product: pick_job_scan(
                job_id=job.pk, facility_id=facility.pk, actor=user, version=version, code=product.barcode)
            for user in (associate, manager)
        ])

        assert outcomes.count("picked") == 1, outcomes
        assert any(outcome[1].startswith("This job was changed by") for outcome in outcomes if outcome != "picked")
        assert job.lines.get().picked_quantity == 1
