"""Picking services: start, scan, tap, short pick, pause, reassign, nothing picked, and every refusal."""

import pytest

from fulfillment.ledger import stock_ledger_problems
from fulfillment.models import HandoverJob, PackJob, ParcelItem, PickJob, PickLine
from fulfillment.picking import (
    PickError,
    StaleVersion,
    pick_job_for_scan,
    pick_job_pause,
    pick_job_reassign,
    pick_job_scan,
    pick_job_start,
    pick_line_short,
    pick_line_tap,
)
from oms.models import FulfillmentRequest, OrderLine, TransitionLog
from stores.models import InventoryAdjustment, StockLevel
from tests.factories import ProductFactory
from tests.fulfillment.store_world import routed_order, stock, store_with_people

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_line_job(store):
    facility, associate, _ = store
    shirt, mug = ProductFactory(name="Shirt"), ProductFactory(name="Mug")
    stock(facility, shirt, 5, "A-01")
    stock(facility, mug, 5, "B-07")
    order, job = routed_order(facility, [(shirt, 2), (mug, 1)])
    return job, shirt, mug


def started(job, user):
    return pick_job_start(job_id=job.pk, facility_id=job.facility_id, actor=user, version=job.version)


def scan(job, user, code):
    job.refresh_from_db()
    return pick_job_scan(job_id=job.pk, facility_id=job.facility_id, actor=user, version=job.version, code=code)


def test_starting_a_job_makes_it_the_associates_and_acknowledges_the_request(store, two_line_job):
    _, associate, _ = store
    job, _, _ = two_line_job

    job = started(job, associate)

    job.refresh_from_db()
    assert (job.status, job.assigned_to, job.version) == (PickJob.Status.IN_PROGRESS, associate, 1)
    assert job.fulfillment_request.status == FulfillmentRequest.Status.ACKNOWLEDGED
    assert TransitionLog.objects.filter(object_type="pickjob", object_id=job.pk, transition="start",
                                        actor=associate).exists()


def test_scanning_each_unit_picks_the_lines_and_closes_the_job_into_packing(store, two_line_job):
    _, associate, _ = store
    job, shirt, mug = two_line_job
    started(job, associate)

    first = scan(job, associate, shirt.barcode)
    assert first.message.endswith("1 of 2 picked.") and not first.job_closed
    scan(job, associate, shirt.barcode)
    last = scan(job, associate, mug.barcode)

    job.refresh_from_db()
    assert last.job_closed and (job.status, job.outcome) == (PickJob.Status.CLOSED, PickJob.Outcome.PICKED)
    assert set(job.lines.values_list("status", "picked_quantity")) == {("PICKED", 2), ("PICKED", 1)}
    pack = PackJob.objects.get(pick_job=job)
    assert pack.status == PackJob.Status.OPEN and pack.shipment.status == "OPEN"
    assert sorted(ParcelItem.objects.filter(parcel__shipment=pack.shipment)
                  .values_list("order_line__product__sku", "quantity")) == sorted([(shirt.sku, 2), (mug.sku, 1)])


def test_scanning_by_sku_works_like_the_barcode(store, two_line_job):
    _, associate, _ = store
    job, shirt, _ = two_line_job
    started(job, associate)

    scan(job, associate, shirt.sku.lower())

    assert job.lines.get(product=shirt).picked_quantity == 1


def test_a_wrong_barcode_is_refused_and_changes_nothing(store, two_line_job):
    _, associate, _ = store
    job, _, _ = two_line_job
    started(job, associate)
    stranger = ProductFactory()

    with pytest.raises(PickError, match="Wrong item"):
        scan(job, associate, stranger.barcode)

    assert sum(job.lines.values_list("picked_quantity", flat=True)) == 0
    job.refresh_from_db()
    assert job.version == 1


def test_quantities_cannot_exceed_what_was_ordered(store, two_line_job):
    _, associate, _ = store
    job, shirt, mug = two_line_job
    started(job, associate)
    scan(job, associate, mug.barcode)

    with pytest.raises(PickError, match="already picked"):
        scan(job, associate, mug.barcode)
    line = job.lines.get(product=shirt)
    job.refresh_from_db()
    with pytest.raises(PickError, match="Only 2 more"):
        pick_line_tap(job_id=job.pk, facility_id=job.facility_id, actor=associate, version=job.version,
                      line_id=line.pk, quantity=3)
    assert job.lines.get(product=mug).picked_quantity == 1 and job.lines.get(product=shirt).picked_quantity == 0


def test_tapping_confirms_units_like_scanning(store, two_line_job):
    _, associate, _ = store
    job, shirt, _ = two_line_job
    started(job, associate)
    job.refresh_from_db()
    line = job.lines.get(product=shirt)

    pick_line_tap(job_id=job.pk, facility_id=job.facility_id, actor=associate, version=job.version, line_id=line.pk,
                  quantity=2)

    line.refresh_from_db()
    assert (line.status, line.picked_quantity) == (PickLine.Status.PICKED, 2)


def test_a_tap_with_an_old_version_is_refused_naming_who_changed_the_job(store, two_line_job):
    _, associate, manager = store
    job, shirt, _ = two_line_job
    stale_version = job.version
    started(job, manager)

    with pytest.raises(StaleVersion, match="changed by Grace") as refused:
        pick_job_scan(job_id=job.pk, facility_id=job.facility_id, actor=associate, version=stale_version,
                      code=shirt.barcode)
    assert refused.value.status == 409
    assert job.lines.get(product=shirt).picked_quantity == 0


def test_picking_in_a_job_someone_else_started_is_refused(store, two_line_job):
    facility, associate, _ = store
    job, shirt, _ = two_line_job
    started(job, associate)
    colleague = store_with_people("CHI-02")[1]
    facility.memberships.create(user=colleague)

    with pytest.raises(PickError, match="is picking this job"):
        scan(job, colleague, shirt.barcode)


def test_another_stores_job_does_not_exist_for_this_store(store, two_line_job):
    _, associate, _ = store
    job, _, _ = two_line_job
    other, _, _ = store_with_people("NYC-01")

    with pytest.raises(PickError) as refused:
        pick_job_start(job_id=job.pk, facility_id=other.pk, actor=associate, version=job.version)
    assert refused.value.status == 404
    job.refresh_from_db()
    assert job.status == PickJob.Status.OPEN


def test_short_pick_splits_the_line_and_sends_the_missing_units_to_the_rejected_queue(store, two_line_job):
    facility, associate, _ = store
    job, shirt, mug = two_line_job
    started(job, associate)
    scan(job, associate, shirt.barcode)  # 1 of 2 shirts found
    job.refresh_from_db()
    shirt_line = job.lines.get(product=shirt)

    result = pick_line_short(job_id=job.pk, facility_id=facility.pk, actor=associate, version=job.version,
                             line_id=shirt_line.pk, reason_code="not-found")

    assert "1 missing" in result.message
    kept = OrderLine.objects.get(pk=shirt_line.order_line_id)
    missing = OrderLine.objects.get(parent=kept)
    assert (kept.status, kept.quantity) == (OrderLine.Status.ALLOCATED, 1)
    assert (missing.status, missing.queue, missing.quantity) == (OrderLine.Status.QUEUED, OrderLine.Queue.REJECTED, 1)
    assert missing.external_line_id == kept.external_line_id and missing.allocated_facility is None
    assert list(missing.excluded_facilities.all()) == [facility]
    level = StockLevel.objects.get(facility=facility, product=shirt)
    assert (level.on_hand, level.reserved) == (4, 1)  # one unit is not there; one stays reserved for the tote
    assert InventoryAdjustment.objects.filter(stock_level=level, reason="SHORT_PICK", on_hand_delta=-1,
                                              actor=associate).exists()
    assert stock_ledger_problems() == []
    shirt_line.refresh_from_db()
    assert (shirt_line.status, shirt_line.short_reason) == (PickLine.Status.SHORT, "Not found at the bin location")


def test_short_pick_closes_the_job_with_what_was_picked_and_packs_only_that(store, two_line_job):
    facility, associate, _ = store
    job, shirt, mug = two_line_job
    started(job, associate)
    scan(job, associate, mug.barcode)
    job.refresh_from_db()

    pick_line_short(job_id=job.pk, facility_id=facility.pk, actor=associate, version=job.version,
                    line_id=job.lines.get(product=shirt).pk, reason_code="damaged")

    job.refresh_from_db()
    assert (job.status, job.outcome) == (PickJob.Status.CLOSED, PickJob.Outcome.PICKED)
    items = ParcelItem.objects.filter(parcel__shipment__order=job.order)
    assert list(items.values_list("order_line__product", "quantity")) == [(mug.pk, 1)]
    assert OrderLine.objects.get(order=job.order, product=shirt).queue == OrderLine.Queue.REJECTED


def test_a_short_pickup_line_waits_for_the_customer_in_bopis_rejected(store):
    facility, associate, _ = store
    toy = ProductFactory()
    stock(facility, toy, 3)
    order, job = routed_order(facility, [(toy, 2)], pickup=True)
    started(job, associate)
    scan(job, associate, toy.barcode)
    job.refresh_from_db()

    pick_line_short(job_id=job.pk, facility_id=facility.pk, actor=associate, version=job.version,
                    line_id=job.lines.get().pk, reason_code="damaged")

    missing = OrderLine.objects.get(order=order, status=OrderLine.Status.QUEUED)
    assert (missing.queue, missing.quantity) == (OrderLine.Queue.BOPIS_REJECTED, 1)
    assert HandoverJob.objects.filter(order=order, channel=HandoverJob.Channel.CUSTOMER,
                                      status=HandoverJob.Status.OPEN).exists()
    assert not PackJob.objects.filter(order=order).exists()


def test_nothing_picked_closes_the_job_and_sends_every_line_back(store, two_line_job):
    facility, associate, _ = store
    job, shirt, mug = two_line_job
    started(job, associate)
    for product in (shirt, mug):
        job.refresh_from_db()
        pick_line_short(job_id=job.pk, facility_id=facility.pk, actor=associate, version=job.version,
                        line_id=job.lines.get(product=product).pk, reason_code="not-found")

    job.refresh_from_db()
    assert (job.status, job.outcome) == (PickJob.Status.CLOSED, PickJob.Outcome.NOTHING_PICKED)
    assert set(OrderLine.objects.filter(order=job.order).values_list("status", "queue")) == {("QUEUED", "REJECTED")}
    assert job.fulfillment_request.status == FulfillmentRequest.Status.CANCELED
    assert not PackJob.objects.filter(pick_job=job).exists()
    assert StockLevel.objects.get(facility=facility, product=shirt).reserved == 0
    assert stock_ledger_problems() == []


def test_short_pick_needs_a_reason_from_the_list(store, two_line_job):
    facility, associate, _ = store
    job, shirt, _ = two_line_job
    started(job, associate)
    job.refresh_from_db()

    with pytest.raises(PickError, match="Choose why"):
        pick_line_short(job_id=job.pk, facility_id=facility.pk, actor=associate, version=job.version,
                        line_id=job.lines.get(product=shirt).pk, reason_code="made-up")
    assert job.lines.get(product=shirt).status == PickLine.Status.OPEN


def test_pause_frees_the_job_for_anyone_and_keeps_the_picks(store, two_line_job):
    facility, associate, manager = store
    job, shirt, _ = two_line_job
    started(job, associate)
    scan(job, associate, shirt.barcode)
    job.refresh_from_db()

    pick_job_pause(job_id=job.pk, facility_id=facility.pk, actor=associate, version=job.version)

    job.refresh_from_db()
    assert (job.status, job.assigned_to) == (PickJob.Status.OPEN, None)
    assert job.lines.get(product=shirt).picked_quantity == 1
    colleague = store_with_people("CHI-03")[1]
    facility.memberships.create(user=colleague)
    started(job, colleague)
    job.refresh_from_db()
    assert (job.status, job.assigned_to) == (PickJob.Status.IN_PROGRESS, colleague)


def test_only_a_manager_reassigns_a_job(store, two_line_job):
    facility, associate, manager = store
    job, _, _ = two_line_job

    with pytest.raises(PickError, match="Only a store manager"):
        pick_job_reassign(job_id=job.pk, facility_id=facility.pk, actor=associate, to_user_id=manager.pk,
                          version=job.version)
    pick_job_reassign(job_id=job.pk, facility_id=facility.pk, actor=manager, to_user_id=associate.pk,
                      version=job.version)

    job.refresh_from_db()
    assert job.assigned_to == associate
    assert TransitionLog.objects.filter(object_type="pickjob", object_id=job.pk, transition="reassign").exists()


def test_a_job_reassigned_to_someone_cannot_be_started_by_another_associate(store, two_line_job):
    facility, associate, manager = store
    job, _, _ = two_line_job
    colleague = store_with_people("CHI-04")[1]
    facility.memberships.create(user=colleague)
    pick_job_reassign(job_id=job.pk, facility_id=facility.pk, actor=manager, to_user_id=colleague.pk,
                      version=job.version)
    job.refresh_from_db()

    with pytest.raises(PickError, match="assigned to"):
        started(job, associate)


def test_reassign_refuses_someone_from_another_store(store, two_line_job):
    facility, _, manager = store
    job, _, _ = two_line_job
    outsider = store_with_people("NYC-02")[1]

    with pytest.raises(PickError, match="associate of this store"):
        pick_job_reassign(job_id=job.pk, facility_id=facility.pk, actor=manager, to_user_id=outsider.pk,
                          version=job.version)


# --- picking by scans alone ------------------------------------------------------------------------

def test_the_first_scan_on_an_open_job_starts_it_for_the_associate_and_counts_the_unit(store, two_line_job):
    _, associate, _ = store
    job, shirt, _ = two_line_job

    result = scan(job, associate, shirt.barcode)

    job.refresh_from_db()
    assert (job.status, job.assigned_to, job.started_at is not None) == (PickJob.Status.IN_PROGRESS, associate, True)
    assert job.lines.get(product=shirt).picked_quantity == 1
    assert "1 of 2 picked" in result.message
    assert job.fulfillment_request.status == FulfillmentRequest.Status.ACKNOWLEDGED
    assert TransitionLog.objects.filter(object_type="pickjob", object_id=job.pk, transition="start",
                                        actor=associate).count() == 1


def test_a_wrong_first_scan_leaves_the_job_unstarted(store, two_line_job):
    _, associate, _ = store
    job, _, _ = two_line_job

    with pytest.raises(PickError, match="Wrong item"):
        scan(job, associate, "4006381333931")

    job.refresh_from_db()
    assert (job.status, job.assigned_to, job.version) == (PickJob.Status.OPEN, None, 0)
    assert job.fulfillment_request.status == FulfillmentRequest.Status.PROCESSED


def test_a_first_scan_on_a_job_given_to_someone_else_is_refused(store, two_line_job):
    facility, associate, manager = store
    job, shirt, _ = two_line_job
    colleague = store_with_people("CHI-05")[1]
    facility.memberships.create(user=colleague)
    pick_job_reassign(job_id=job.pk, facility_id=facility.pk, actor=manager, to_user_id=colleague.pk,
                      version=job.version)

    with pytest.raises(PickError, match="assigned to"):
        scan(job, associate, shirt.barcode)
    assert job.lines.get(product=shirt).picked_quantity == 0


def test_a_paused_job_resumes_with_the_next_scan(store, two_line_job):
    facility, associate, _ = store
    job, shirt, _ = two_line_job
    scan(job, associate, shirt.barcode)
    job.refresh_from_db()
    pick_job_pause(job_id=job.pk, facility_id=facility.pk, actor=associate, version=job.version)

    scan(job, associate, shirt.barcode)

    job.refresh_from_db()
    assert (job.status, job.assigned_to) == (PickJob.Status.IN_PROGRESS, associate)
    assert job.lines.get(product=shirt).picked_quantity == 2


def test_the_queue_scan_finds_the_earliest_due_open_job_with_the_item(store):
    from datetime import timedelta

    from django.utils import timezone

    facility, associate, _ = store
    shirt, mug = ProductFactory(), ProductFactory()
    stock(facility, shirt, 9)
    stock(facility, mug, 9)
    _, later = routed_order(facility, [(shirt, 1)])
    _, sooner = routed_order(facility, [(shirt, 1), (mug, 1)])
    _, only_mug = routed_order(facility, [(mug, 1)])
    now = timezone.now()
    PickJob.objects.filter(pk=later.pk).update(due_at=now + timedelta(hours=5))
    PickJob.objects.filter(pk=sooner.pk).update(due_at=now + timedelta(hours=2))
    PickJob.objects.filter(pk=only_mug.pk).update(due_at=now + timedelta(hours=1))

    assert pick_job_for_scan(facility_id=facility.pk, actor=associate, code=shirt.barcode) == sooner
    assert pick_job_for_scan(facility_id=facility.pk, actor=associate, code=shirt.sku.lower()) == sooner
    assert pick_job_for_scan(facility_id=facility.pk, actor=associate, code=mug.barcode) == only_mug


def test_the_queue_scan_skips_started_jobs_and_refuses_an_item_nobody_needs(store, two_line_job):
    _, associate, _ = store
    job, shirt, _ = two_line_job
    started(job, associate)

    with pytest.raises(PickError, match="No open pick job needs") as refusal:
        pick_job_for_scan(facility_id=job.facility_id, actor=associate, code=shirt.barcode)
    assert refusal.value.status == 404


def test_a_quick_second_scan_carrying_the_version_before_ones_own_scan_still_counts(store, two_line_job):
    _, associate, _ = store
    job, shirt, _ = two_line_job
    seen = job.version
    pick_job_scan(job_id=job.pk, facility_id=job.facility_id, actor=associate, version=seen, code=shirt.barcode)

    pick_job_scan(job_id=job.pk, facility_id=job.facility_id, actor=associate, version=seen, code=shirt.barcode)

    assert job.lines.get(product=shirt).picked_quantity == 2


def test_a_scan_after_a_colleagues_change_is_refused_as_stale(store, two_line_job):
    facility, associate, manager = store
    job, shirt, mug = two_line_job
    seen = started(job, associate).version
    pick_line_tap(job_id=job.pk, facility_id=facility.pk, actor=manager, version=seen,
                  line_id=job.lines.get(product=mug).pk)

    with pytest.raises(StaleVersion, match="changed by Grace"):
        pick_job_scan(job_id=job.pk, facility_id=facility.pk, actor=associate, version=seen, code=shirt.barcode)
    assert job.lines.get(product=shirt).picked_quantity == 0
