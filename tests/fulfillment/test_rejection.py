"""Rejection services: every reason's stock effect, partial vs full, pickup lines, picked units, problems, refusals."""

import pytest

from fulfillment.ledger import stock_ledger_problems
from fulfillment.models import LineProblem, PickJob, PickLine, PutBackTask
from fulfillment.picking import StaleVersion, pick_job_start, pick_line_tap
from fulfillment.putback import put_back_confirm
from fulfillment.rejection import (
    AVOID_SPLIT,
    RejectionError,
    line_problem_confirm,
    line_problem_dismiss,
    line_problem_report,
    line_problems_open,
    line_reject,
)
from oms.models import FulfillmentRequest, LineRejection, OrderLine
from oms.routing.runs import brokering_run
from stores.models import InventoryAdjustment, StockLevel
from tests.factories import ProductFactory
from tests.fulfillment.store_world import routed_order, stock, store_with_people

pytestmark = pytest.mark.django_db


@pytest.fixture
def job2(store):
    """An order of 2 shirts and 1 mug at the store, which holds 5 of each."""
    facility, _, _ = store
    shirt, mug = ProductFactory(name="Shirt"), ProductFactory(name="Mug")
    stock(facility, shirt, 5, "A-01")
    stock(facility, mug, 5, "B-07")
    order, job = routed_order(facility, [(shirt, 2), (mug, 1)])
    return job, shirt, mug


def fresh(job):
    return PickJob.objects.get(pk=job.pk)


def line_of(job, product):
    return PickLine.objects.get(pick_job=job, product=product)


def level(facility, product):
    return StockLevel.objects.get(facility=facility, product=product)


def reject(store, job, product, reason="damaged", **kw):
    facility, _, manager = store
    return line_reject(facility_id=facility.pk, actor=manager, pick_line_id=line_of(job, product).pk,
                       reason_code=reason, version=fresh(job).version, **kw)


def rejection_entries(facility, product):
    return list(InventoryAdjustment.objects.filter(stock_level__facility=facility, stock_level__product=product,
                                                   reason=InventoryAdjustment.Reason.REJECTION))


def test_damaged_reduces_on_hand_by_the_quantity_and_names_reason_and_manager(store, job2):
    facility, _, manager = store
    job, shirt, _ = job2
    reject(store, job, shirt, "damaged")
    assert (level(facility, shirt).on_hand, level(facility, shirt).reserved) == (3, 0)
    [entry] = rejection_entries(facility, shirt)
    assert (entry.on_hand_delta, entry.note, entry.actor) == (-2, "damaged", manager)
    assert stock_ledger_problems() == []


@pytest.mark.parametrize("code", ["worn-display", "mismatch"])
def test_worn_display_and_mismatch_reduce_on_hand(store, job2, code):
    facility, _, _ = store
    job, shirt, _ = job2
    reject(store, job, shirt, code, quantity=1)
    assert level(facility, shirt).on_hand == 4
    assert [e.note for e in rejection_entries(facility, shirt)] == [code]


def test_not_in_stock_drops_on_hand_to_what_other_lines_reserve(store, job2):
    facility, _, _ = store
    job, shirt, _ = job2
    other_order, other_job = routed_order(facility, [(shirt, 1)])  # another line holds 1 shirt here
    reject(store, job, shirt, "not-in-stock")
    assert (level(facility, shirt).on_hand, level(facility, shirt).reserved) == (1, 1)
    [entry] = rejection_entries(facility, shirt)
    assert (entry.on_hand_delta, entry.note) == (-4, "not-in-stock")
    assert stock_ledger_problems() == []


def test_no_variance_changes_no_stock(store, job2):
    facility, _, _ = store
    job, shirt, _ = job2
    reject(store, job, shirt, "no-variance")
    assert (level(facility, shirt).on_hand, level(facility, shirt).reserved) == (5, 0)
    assert rejection_entries(facility, shirt) == []


def test_partial_rejection_sends_only_the_item_back_and_the_rest_stays_to_pick(store, job2):
    facility, _, manager = store
    job, shirt, mug = job2
    reject(store, job, shirt, "damaged")
    shirt_line = OrderLine.objects.get(order=job.order, product=shirt)
    assert (shirt_line.status, shirt_line.queue) == ("QUEUED", "REJECTED")
    assert list(shirt_line.excluded_facilities.all()) == [facility]
    assert OrderLine.objects.get(order=job.order, product=mug).status == "ALLOCATED"
    assert (line_of(job, shirt).status, line_of(job, mug).status, fresh(job).status) == ("CANCELED", "OPEN", "OPEN")
    [row] = LineRejection.objects.all()
    assert (row.order_line, row.facility, row.product, row.reason.code, row.quantity, row.actor) == (
        shirt_line, facility, shirt, "damaged", 2, manager)


def test_partial_quantity_splits_the_order_line_and_shrinks_the_pick_line(store, job2):
    job, shirt, _ = job2
    reject(store, job, shirt, "damaged", quantity=1)
    lines = OrderLine.objects.filter(order=job.order, product=shirt).order_by("pk")
    assert [(ol.quantity, ol.status, ol.queue) for ol in lines] == [(1, "ALLOCATED", ""), (1, "QUEUED", "REJECTED")]
    assert lines[1].parent == lines[0]
    assert (line_of(job, shirt).quantity, line_of(job, shirt).status) == (1, "OPEN")


def test_full_rejection_sends_the_whole_order_back_to_avoid_a_split(store, job2):
    facility, _, _ = store
    facility.allow_partial_rejection = False
    facility.save()
    job, shirt, mug = job2
    reject(store, job, shirt, "damaged")
    assert set(OrderLine.objects.filter(order=job.order).values_list("status", "queue")) == {("QUEUED", "REJECTED")}
    assert sorted(LineRejection.objects.values_list("reason_text", "quantity")) == [("Damaged", 2), (AVOID_SPLIT, 1)]
    assert level(facility, mug).on_hand == 5  # no stock effect for the lines that went along
    assert fresh(job).status == "CANCELED"
    assert FulfillmentRequest.objects.get(pk=job.fulfillment_request_id).status == "CANCELED"
    assert stock_ledger_problems() == []


def test_rejecting_every_line_before_picking_cancels_the_job_and_request(store, job2):
    job, shirt, mug = job2
    reject(store, job, shirt)
    reject(store, job, mug)
    assert fresh(job).status == "CANCELED"
    assert FulfillmentRequest.objects.get(pk=job.fulfillment_request_id).status == "CANCELED"


def test_rejecting_the_last_open_line_closes_the_job_with_what_was_picked(store, job2):
    facility, associate, _ = store
    job, shirt, mug = job2
    pick_job_start(job_id=job.pk, facility_id=facility.pk, actor=associate, version=job.version)
    pick_line_tap(job_id=job.pk, facility_id=facility.pk, actor=associate, version=fresh(job).version,
                  line_id=line_of(job, mug).pk)
    reject(store, job, shirt)
    assert (fresh(job).status, fresh(job).outcome) == ("CLOSED", "PICKED")
    assert job.pack_jobs.count() == 1


def test_pickup_line_goes_to_bopis_rejected(store):
    facility, _, _ = store
    bag = ProductFactory()
    stock(facility, bag, 3)
    order, job = routed_order(facility, [(bag, 1)], pickup=True)
    reject(store, job, bag, "no-variance")
    assert OrderLine.objects.get(order=order).queue == "BOPIS_REJECTED"


def test_picked_units_get_a_put_back_and_keep_their_reservation_until_confirmed(store, job2):
    facility, associate, _ = store
    job, shirt, _ = job2
    pick_job_start(job_id=job.pk, facility_id=facility.pk, actor=associate, version=job.version)
    pick_line_tap(job_id=job.pk, facility_id=facility.pk, actor=associate, version=fresh(job).version,
                  line_id=line_of(job, shirt).pk)
    reject(store, job, shirt, "no-variance", quantity=2)  # the unpicked unit and the picked one
    assert level(facility, shirt).reserved == 1
    task = PutBackTask.objects.get(facility=facility)
    assert (task.reason, [(i.product, i.quantity) for i in task.items.all()]) == ("REJECTED", [(shirt, 1)])
    assert line_of(job, shirt).status == "CANCELED"
    assert stock_ledger_problems() == []
    put_back_confirm(task_id=task.pk, facility_id=facility.pk, actor=associate)
    assert level(facility, shirt).reserved == 0
    assert stock_ledger_problems() == []


def test_rejecting_the_unpicked_rest_keeps_the_picked_units_in_the_tote(store, job2):
    facility, associate, _ = store
    job, shirt, _ = job2
    pick_job_start(job_id=job.pk, facility_id=facility.pk, actor=associate, version=job.version)
    pick_line_tap(job_id=job.pk, facility_id=facility.pk, actor=associate, version=fresh(job).version,
                  line_id=line_of(job, shirt).pk)
    reject(store, job, shirt, "damaged")
    assert (line_of(job, shirt).status, line_of(job, shirt).picked_quantity) == ("SHORT", 1)
    assert not PutBackTask.objects.exists()
    assert level(facility, shirt).reserved == 1


def test_associates_are_refused(store, job2):
    facility, associate, _ = store
    job, shirt, _ = job2
    with pytest.raises(RejectionError) as refusal:
        line_reject(facility_id=facility.pk, actor=associate, pick_line_id=line_of(job, shirt).pk,
                    reason_code="damaged", version=job.version)
    assert refusal.value.status == 403
    assert not LineRejection.objects.exists()


def test_another_stores_line_does_not_exist(store, job2):
    job, shirt, _ = job2
    other, _, other_manager = store_with_people("NYC-02")
    with pytest.raises(RejectionError) as refusal:
        line_reject(facility_id=other.pk, actor=other_manager, pick_line_id=line_of(job, shirt).pk,
                    reason_code="damaged", version=job.version)
    assert refusal.value.status == 404


def test_stale_version_is_refused_with_409(store, job2):
    facility, _, manager = store
    job, shirt, _ = job2
    with pytest.raises(StaleVersion) as refusal:
        line_reject(facility_id=facility.pk, actor=manager, pick_line_id=line_of(job, shirt).pk,
                    reason_code="damaged", version=job.version + 7)
    assert refusal.value.status == 409


def test_a_line_that_is_not_open_is_refused(store, job2):
    job, shirt, _ = job2
    reject(store, job, shirt)
    with pytest.raises(RejectionError):
        reject(store, job, shirt)


def test_rejected_run_allocates_to_another_store_with_stock(store, job2):
    facility, _, _ = store
    job, shirt, _ = job2
    other, _, _ = store_with_people("NYC-02")
    stock(other, shirt, 4)
    reject(store, job, shirt, "damaged")
    brokering_run(queue="REJECTED")
    line = OrderLine.objects.get(order=job.order, product=shirt)
    assert (line.status, line.allocated_facility) == ("ALLOCATED", other)
    assert PickJob.objects.filter(order=job.order, facility=other).exists()
    assert stock_ledger_problems() == []


def test_rejected_run_sends_the_line_to_unfillable_when_no_store_has_it(store, job2):
    job, shirt, _ = job2
    reject(store, job, shirt, "not-in-stock")
    brokering_run(queue="REJECTED")
    line = OrderLine.objects.get(order=job.order, product=shirt)
    assert (line.status, line.queue) == ("QUEUED", "UNFILLABLE")


def test_associate_reports_a_problem_and_the_manager_confirms_it_as_a_rejection(store, job2):
    facility, associate, manager = store
    job, shirt, _ = job2
    problem = line_problem_report(facility_id=facility.pk, actor=associate, pick_line_id=line_of(job, shirt).pk,
                                  note="box torn", version=job.version)
    assert line_problems_open(facility_id=facility.pk) == [problem]
    assert OrderLine.objects.get(order=job.order, product=shirt).status == "ALLOCATED"
    line_problem_confirm(problem_id=problem.pk, facility_id=facility.pk, actor=manager, reason_code="damaged")
    problem.refresh_from_db()
    assert (problem.status, problem.decided_by) == ("CONFIRMED", manager)
    assert OrderLine.objects.get(order=job.order, product=shirt).queue == "REJECTED"
    assert LineRejection.objects.get().reason.code == "damaged"


def test_manager_dismisses_a_problem_and_the_line_stays(store, job2):
    facility, associate, manager = store
    job, shirt, _ = job2
    problem = line_problem_report(facility_id=facility.pk, actor=associate, pick_line_id=line_of(job, shirt).pk,
                                  note="looks odd", version=job.version)
    line_problem_dismiss(problem_id=problem.pk, facility_id=facility.pk, actor=manager)
    problem.refresh_from_db()
    assert problem.status == "DISMISSED"
    assert line_of(job, shirt).status == "OPEN"
    with pytest.raises(RejectionError):
        line_problem_dismiss(problem_id=problem.pk, facility_id=facility.pk, actor=manager)


def test_associates_cannot_confirm_or_dismiss_problems(store, job2):
    facility, associate, _ = store
    job, shirt, _ = job2
    problem = line_problem_report(facility_id=facility.pk, actor=associate, pick_line_id=line_of(job, shirt).pk,
                                  note="x", version=job.version)
    with pytest.raises(RejectionError):
        line_problem_confirm(problem_id=problem.pk, facility_id=facility.pk, actor=associate, reason_code="damaged")
    with pytest.raises(RejectionError):
        line_problem_dismiss(problem_id=problem.pk, facility_id=facility.pk, actor=associate)
    assert LineProblem.objects.get().status == "OPEN"


def test_full_rejection_settles_the_problems_of_the_lines_sent_along(store, job2):
    facility, associate, _ = store
    facility.allow_partial_rejection = False
    facility.save()
    job, shirt, mug = job2
    line_problem_report(facility_id=facility.pk, actor=associate, pick_line_id=line_of(job, mug).pk, note="dent",
                        version=job.version)
    reject(store, job, shirt, "damaged")
    assert line_problems_open(facility_id=facility.pk) == []
