"""Two associates tapping the same job at once: one pick lands, the other is told the job changed.

Real threads on a Barrier against PostgreSQL: the row lock serialises the two taps, and the version
each carried decides that the second one is refused instead of picking a unit twice.
"""

import pytest

from fulfillment.models import PickJob
from fulfillment.picking import PickError, StaleVersion, pick_job_scan, pick_job_start
from oms.models import FulfillmentRequest, TransitionLog
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


def test_two_first_scans_at_once_on_an_unstarted_job_leave_one_picker_and_one_unit():
    facility, associate, _ = store_with_people()
    colleague = store_with_people("CHI-09")[1]
    facility.memberships.create(user=colleague)
    for _ in range(ROUNDS * 2):
        product = ProductFactory()
        stock(facility, product, 5)
        _, job = routed_order(facility, [(product, 3)])

        outcomes = race(refused=PickError, done="picked", calls=[
            lambda user=user, job=job, product=product: pick_job_scan(
                job_id=job.pk, facility_id=facility.pk, actor=user, version=job.version, code=product.barcode)
            for user in (associate, colleague)
        ])

        job.refresh_from_db()
        assert outcomes.count("picked") == 1, outcomes
        assert job.status == PickJob.Status.IN_PROGRESS and job.assigned_to in (associate, colleague)
        assert job.lines.get().picked_quantity == 1
        assert TransitionLog.objects.filter(object_type="pickjob", object_id=job.pk, transition="start").count() == 1
        assert job.fulfillment_request.status == FulfillmentRequest.Status.ACKNOWLEDGED
        assert TransitionLog.objects.filter(object_type="fulfillmentrequest", object_id=job.fulfillment_request_id,
                                            transition="acknowledge").count() == 1
