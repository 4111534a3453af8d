"""Batch picking: several jobs in one walk, each unit into its job's tote, each job updated underneath."""

import pytest

from fulfillment.models import PackJob, PickBatch, PickJob
from fulfillment.picking import PickError, pick_batch_create, pick_batch_scan, pick_batch_short, pick_batch_tap
from oms.models import OrderLine
from tests.factories import ProductFactory
from tests.fulfillment.store_world import routed_order, stock, store_with_people

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    facility, associate, manager = store_with_people()
    shirt, mug = ProductFactory(name="Shirt"), ProductFactory(name="Mug")
    stock(facility, shirt, 10, "A-01")
    stock(facility, mug, 10, "B-02")
    _, first = routed_order(facility, [(shirt, 1), (mug, 1)])
    _, second = routed_order(facility, [(shirt, 2)])
    return facility, associate, manager, shirt, mug, first, second


def batch_scan(batch, user, code):
    batch.refresh_from_db()
    return pick_batch_scan(batch_id=batch.pk, facility_id=batch.facility_id, actor=user, version=batch.version,
                           code=code)


def test_a_batch_starts_its_jobs_with_one_tote_each(world):
    facility, associate, manager, _, _, first, second = world

    batch = pick_batch_create(facility_id=facility.pk, job_ids=[first.pk, second.pk],
                              picker_ids=[associate.pk, manager.pk], actor=manager)

    jobs = {job.pk: job for job in PickJob.objects.filter(batch=batch)}
    assert {job.status for job in jobs.values()} == {PickJob.Status.IN_PROGRESS}
    assert sorted(job.tote for job in jobs.values()) == ["T1", "T2"]
    assert set(batch.pickers.all()) == {associate, manager}


def test_scanning_in_a_batch_fills_the_earliest_tote_that_needs_the_item_and_closes_each_job(world):
    facility, associate, _, shirt, mug, first, second = world
    batch = pick_batch_create(facility_id=facility.pk, job_ids=[first.pk, second.pk], picker_ids=[associate.pk],
                              actor=associate)
    first.refresh_from_db()
    second.refresh_from_db()

    result = batch_scan(batch, associate, shirt.barcode)
    assert f"Tote {first.tote}" in result.message and result.job.pk == first.pk
    batch_scan(batch, associate, mug.barcode)
    batch_scan(batch, associate, shirt.barcode)
    last = batch_scan(batch, associate, shirt.barcode)

    assert last.job.pk == second.pk and last.job_closed
    for job in (first, second):
        job.refresh_from_db()
        assert (job.status, job.outcome) == (PickJob.Status.CLOSED, PickJob.Outcome.PICKED)
        assert PackJob.objects.filter(pick_job=job).exists()
    batch.refresh_from_db()
    assert batch.closed_at is not None
    with pytest.raises(PickError, match="finished"):
        batch_scan(batch, associate, shirt.barcode)


def test_a_tap_and_a_short_pick_in_a_batch_act_on_the_underlying_job(world):
    facility, associate, _, shirt, mug, first, second = world
    batch = pick_batch_create(facility_id=facility.pk, job_ids=[first.pk, second.pk], picker_ids=[associate.pk],
                              actor=associate)
    second_line = second.lines.get()
    batch.refresh_from_db()
    pick_batch_tap(batch_id=batch.pk, facility_id=facility.pk, actor=associate, version=batch.version,
                   line_id=second_line.pk, quantity=1)
    batch.refresh_from_db()

    pick_batch_short(batch_id=batch.pk, facility_id=facility.pk, actor=associate, version=batch.version,
                     line_id=second_line.pk, reason_code="damaged")

    second.refresh_from_db()
    assert (second.status, second.outcome) == (PickJob.Status.CLOSED, PickJob.Outcome.PICKED)
    assert OrderLine.objects.get(order=second.order, status=OrderLine.Status.QUEUED).queue == "REJECTED"
    first.refresh_from_db()
    assert first.status == PickJob.Status.IN_PROGRESS


def test_a_batch_needs_two_open_jobs_of_the_store(world):
    facility, associate, _, _, _, first, second = world
    other, _, _ = store_with_people("NYC-01")

    with pytest.raises(PickError, match="at least two"):
        pick_batch_create(facility_id=facility.pk, job_ids=[first.pk], picker_ids=[associate.pk], actor=associate)
    with pytest.raises(PickError, match="reload"):
        pick_batch_create(facility_id=other.pk, job_ids=[first.pk, second.pk], picker_ids=[], actor=associate)
    assert not PickBatch.objects.exists()


def test_a_job_already_started_cannot_join_a_batch(world):
    facility, associate, _, _, _, first, second = world
    pick_batch_create(facility_id=facility.pk, job_ids=[first.pk, second.pk], picker_ids=[associate.pk],
                      actor=associate)

    with pytest.raises(PickError, match="started or batched"):
        pick_batch_create(facility_id=facility.pk, job_ids=[first.pk, second.pk], picker_ids=[associate.pk],
                          actor=associate)
    assert PickBatch.objects.count() == 1


def test_someone_not_picking_the_batch_is_refused(world):
    facility, associate, manager, shirt, _, first, second = world
    batch = pick_batch_create(facility_id=facility.pk, job_ids=[first.pk, second.pk], picker_ids=[manager.pk],
                              actor=manager)
    colleague = store_with_people("CHI-09")[1]
    facility.memberships.create(user=colleague)

    with pytest.raises(PickError, match="not a picker"):
        batch_scan(batch, colleague, shirt.barcode)


def test_a_manager_rejects_a_line_from_the_batch_page_and_only_its_job_changes(world, client):
    from django.urls import reverse

    from fulfillment.rejection import RejectionError, batch_line_reject
    from oms.models import LineRejection

    facility, associate, manager, shirt, mug, first, second = world
    batch = pick_batch_create(facility_id=facility.pk, job_ids=[first.pk, second.pk], picker_ids=[associate.pk],
                              actor=manager)
    batch.refresh_from_db()
    second_line = second.lines.get()
    with pytest.raises(RejectionError):
        batch_line_reject(batch_id=batch.pk, facility_id=facility.pk, actor=associate, pick_line_id=second_line.pk,
                          reason_code="damaged", version=batch.version)
    client.force_login(manager)

    response = client.post(reverse("fulfillment:pick-batch-reject", args=[facility.code, batch.pk, second_line.pk]),
                           {"version": batch.version, "reason": "damaged"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200 and "rejected, sent to another location" in response.content.decode()
    second.refresh_from_db()
    first.refresh_from_db()
    assert second.status == PickJob.Status.CANCELED and first.status == PickJob.Status.IN_PROGRESS
    assert OrderLine.objects.get(order=second.order).queue == OrderLine.Queue.REJECTED
    assert LineRejection.objects.get().actor == manager
    first_line_url = reverse("fulfillment:pick-batch-reject", args=[facility.code, batch.pk, first.lines.first().pk])
    stale = client.post(first_line_url, {"version": batch.version, "reason": "damaged"}, HTTP_HX_REQUEST="true")
    assert stale.status_code == 409
