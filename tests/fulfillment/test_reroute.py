"""Timed reroute: unstarted ship pick jobs are withdrawn after their opening hours run out; late unstarted
pickup jobs are escalated, never withdrawn. Time is controlled by backdating the jobs' rows."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from fulfillment.due import reroute_deadline
from fulfillment.ledger import stock_ledger_problems
from fulfillment.models import PickJob, PickLine
from fulfillment.picking import pick_job_pause, pick_job_start, pick_line_tap
from fulfillment.reroute import pick_jobs_withdraw_unstarted, pickup_jobs_escalate, reroute_warning
from oms.models import FulfillmentRequest, OrderLine, TransitionLog
from oms.routing.runs import brokering_run
from stores.models import Facility, StockLevel
from tests.factories import WEEK_9_TO_6, ProductFactory
from tests.fulfillment.store_world import routed_order, stock, store_with_people

CHICAGO = ZoneInfo("America/Chicago")


def chicago(day: int, hour: int, minute: int = 0) -> datetime:
    """A time in March 2025 in Chicago (3 March is a Monday)."""
    return datetime(2025, 3, day, hour, minute, tzinfo=CHICAGO)


def hours_store(**fields) -> Facility:
    defaults = {"time_zone": "America/Chicago", "opening_hours": dict(WEEK_9_TO_6), "reroute_after_hours": 24}
    return Facility(**(defaults | fields))


# --- the deadline (no database) ------------------------------------------------------------------

def test_deadline_counts_only_opening_hours_across_nights():
    # Monday 10:00 + 24 opening hours of 9 a day: 8 on Monday, 9 on Tuesday, 7 on Wednesday → 16:00.
    assert reroute_deadline(facility=hours_store(), created_at=chicago(3, 10)) == chicago(5, 16)


def test_deadline_skips_a_closed_sunday():
    # Saturday 17:00: 1 hour Saturday, Sunday closed, 9 Monday, 9 Tuesday, 5 Wednesday → 14:00.
    assert reroute_deadline(facility=hours_store(), created_at=chicago(8, 17)) == chicago(12, 14)


def test_deadline_of_a_job_created_overnight_starts_counting_at_opening():
    created = chicago(3, 23)  # Monday night, after closing
    assert reroute_deadline(facility=hours_store(reroute_after_hours=2), created_at=created) == chicago(4, 11)


def test_deadline_without_opening_hours_counts_plain_hours_and_keeps_the_callers_zone():
    created = datetime(2025, 3, 3, 12, tzinfo=UTC)
    deadline = reroute_deadline(facility=hours_store(opening_hours={}), created_at=created)
    assert deadline == created + timedelta(hours=24)
    assert deadline.tzinfo is UTC


# --- withdrawal ----------------------------------------------------------------------------------

LONG_AGO = timedelta(days=10)  # more than 24 opening hours whatever the weekday


def backdate(job, by=LONG_AGO):
    PickJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - by)


@pytest.fixture
def two_stores(db):
    here, associate, manager = store_with_people("CHI-01")
    there, _, _ = store_with_people("CHI-02")
    shirt = ProductFactory(name="Shirt")
    stock(here, shirt, 5)
    return here, there, associate, shirt


@pytest.fixture
def late_job(two_stores):
    here, there, _, shirt = two_stores
    order, job = routed_order(here, [(shirt, 2)])
    stock(there, shirt, 5)  # only now, so routing chose `here` first
    backdate(job)
    return order, job


def test_withdrawal_cancels_the_job_releases_the_reservation_and_excludes_the_store(two_stores, late_job):
    here, _, _, shirt = two_stores
    order, job = late_job

    assert pick_jobs_withdraw_unstarted() == 1

    job.refresh_from_db()
    assert job.status == PickJob.Status.CANCELED
    assert set(job.lines.values_list("status", flat=True)) == {PickLine.Status.CANCELED}
    line = OrderLine.objects.get(order=order)
    assert (line.status, line.queue, line.allocated_facility_id) == ("QUEUED", "REJECTED", None)
    assert list(line.excluded_facilities.all()) == [here]
    assert StockLevel.objects.get(facility=here, product=shirt).reserved == 0
    assert job.fulfillment_request.__class__.objects.get(pk=job.fulfillment_request_id).status == \
        FulfillmentRequest.Status.CANCELED
    assert TransitionLog.objects.filter(object_type="orderline", object_id=line.pk, transition="requeue",
                                        reason="not started in time").exists()
    assert stock_ledger_problems() == []


def test_the_rejected_run_then_routes_the_withdrawn_line_to_another_store(two_stores, late_job):
    _, there, _, _ = two_stores
    order, _ = late_job
    pick_jobs_withdraw_unstarted()

    brokering_run(queue="REJECTED", trigger="test")

    line = OrderLine.objects.get(order=order, status="ALLOCATED")
    assert line.allocated_facility_id == there.pk
    assert PickJob.objects.get(order=order, facility=there).status == PickJob.Status.OPEN
    assert stock_ledger_problems() == []


def test_a_job_not_yet_past_its_deadline_stays(two_stores, late_job):
    _, job = late_job
    deadline = reroute_deadline(facility=job.facility, created_at=PickJob.objects.get(pk=job.pk).created_at)

    assert pick_jobs_withdraw_unstarted(now=deadline - timedelta(minutes=1)) == 0
    assert pick_jobs_withdraw_unstarted(now=deadline) == 1


def test_a_started_job_is_never_withdrawn(two_stores, late_job):
    here, _, associate, _ = two_stores
    _, job = late_job
    pick_job_start(job_id=job.pk, facility_id=here.pk, actor=associate, version=job.version)

    assert pick_jobs_withdraw_unstarted() == 0
    assert PickJob.objects.get(pk=job.pk).status == PickJob.Status.IN_PROGRESS


def test_a_job_paused_after_picking_is_never_withdrawn(two_stores, late_job):
    here, _, associate, _ = two_stores
    _, job = late_job
    job = pick_job_start(job_id=job.pk, facility_id=here.pk, actor=associate, version=job.version)
    result = pick_line_tap(job_id=job.pk, facility_id=here.pk, actor=associate, version=job.version,
                           line_id=job.lines.get().pk)
    pick_job_pause(job_id=job.pk, facility_id=here.pk, actor=associate, version=result.job.version)

    assert pick_jobs_withdraw_unstarted() == 0
    assert PickJob.objects.get(pk=job.pk).status == PickJob.Status.OPEN


def test_a_job_with_a_pick_recorded_is_never_withdrawn_even_without_a_start_time(two_stores, late_job):
    _, job = late_job
    PickLine.objects.filter(pick_job=job).update(picked_quantity=1)  # e.g. data from before started_at existed

    assert pick_jobs_withdraw_unstarted() == 0
    assert PickJob.objects.get(pk=job.pk).status == PickJob.Status.OPEN


def test_a_pickup_job_is_escalated_not_withdrawn(two_stores):
    here, _, _, shirt = two_stores
    order, job = routed_order(here, [(shirt, 1)], pickup=True)
    PickJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - LONG_AGO,
                                             due_at=timezone.now() - timedelta(minutes=1))

    assert pick_jobs_withdraw_unstarted() == 0
    assert pickup_jobs_escalate() == 1

    job.refresh_from_db()
    assert job.status == PickJob.Status.OPEN
    assert job.escalated_at is not None
    assert OrderLine.objects.get(order=order).status == "ALLOCATED"


def test_a_pickup_job_not_yet_due_or_started_is_not_escalated(two_stores):
    here, _, associate, shirt = two_stores
    _, due_later = routed_order(here, [(shirt, 1)], pickup=True)
    PickJob.objects.filter(pk=due_later.pk).update(due_at=timezone.now() + timedelta(minutes=5))
    _, started = routed_order(here, [(shirt, 1)], pickup=True)
    pick_job_start(job_id=started.pk, facility_id=here.pk, actor=associate, version=started.version)
    PickJob.objects.filter(pk=started.pk).update(due_at=timezone.now() - timedelta(hours=1))

    assert pickup_jobs_escalate() == 0


def test_running_twice_does_what_running_once_does(two_stores, late_job):
    here, _, _, shirt = two_stores
    order, _ = late_job
    _, pickup = routed_order(here, [(shirt, 1)], pickup=True)
    PickJob.objects.filter(pk=pickup.pk).update(due_at=timezone.now() - timedelta(hours=1))

    assert (pick_jobs_withdraw_unstarted(), pickup_jobs_escalate()) == (1, 1)
    escalated_at = PickJob.objects.get(pk=pickup.pk).escalated_at
    assert (pick_jobs_withdraw_unstarted(), pickup_jobs_escalate()) == (0, 0)

    assert PickJob.objects.get(pk=pickup.pk).escalated_at == escalated_at
    assert OrderLine.objects.filter(order=order).count() == 1
    assert TransitionLog.objects.filter(transition="escalate").count() == 1
    assert stock_ledger_problems() == []


# --- the warning on the queue --------------------------------------------------------------------

def test_the_warning_shows_within_the_facilitys_window_only(two_stores, late_job):
    _, job = late_job
    job = PickJob.objects.select_related("facility").get(pk=job.pk)
    deadline = reroute_deadline(facility=job.facility, created_at=job.created_at)

    assert reroute_warning(job, deadline - timedelta(minutes=31), pickup=False, picked=0) is None
    assert reroute_warning(job, deadline - timedelta(minutes=30), pickup=False, picked=0) == deadline
    assert reroute_warning(job, deadline - timedelta(minutes=5), pickup=True, picked=0) is None
    assert reroute_warning(job, deadline - timedelta(minutes=5), pickup=False, picked=1) is None
