"""Brokering runs: counts, batches, failing orders, stale runs, stock taken meanwhile, preview, task and command."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone

import oms.routing.apply
import oms.routing.runs
from fulfillment.ledger import stock_ledger_problems
from fulfillment.models import PickJob
from oms.core.history import transit_and_save
from oms.models import BrokeringRun, FulfillmentRequest, OrderLine, RoutingDecision
from oms.routing.runs import RunAlreadyActive, brokering_run, order_route, routing_preview
from stores.stock import stock_adjust, stock_reserve
from tests.factories import FacilityFactory, OrderFactory, OrderLineFactory, ProductFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 4, 16, 0, tzinfo=UTC)  # Tuesday 10:00 in Chicago


def stock(facility, product, on_hand: int) -> None:
    with transaction.atomic():
        stock_adjust(facility_id=facility.pk, product_id=product.pk, delta=on_hand, reason="RECEIPT", now=NOW)


def queued(*, product, quantity: int = 1, queue: str = "BROKERING", order=None, **fields) -> OrderLine:
    order = order or OrderFactory(status="APPROVED", ordered_at=NOW - timedelta(hours=2))
    return OrderLineFactory(order=order, product=product, quantity=quantity, status="QUEUED", queue=queue,
                            queued_at=NOW - timedelta(hours=1), **fields)


def test_run_routes_the_queue_and_records_what_it_achieved():
    store, product, missing = FacilityFactory(), ProductFactory(), ProductFactory()
    stock(store, product, 10)
    routed = [queued(product=product, quantity=2) for _ in range(3)]
    unfillable = queued(product=missing, quantity=1)
    elsewhere = queued(product=product, queue="REJECTED")

    run = brokering_run(queue="BROKERING", now=NOW, trigger="test")

    run.refresh_from_db()
    assert (run.status, run.trigger, run.orders_considered, run.lines_considered) == ("SUCCEEDED", "test", 4, 4)
    assert (run.lines_allocated, run.lines_parked, run.errors, run.fill_rate) == (3, 1, [], 0.75)
    assert run.started_at == NOW and NOW <= run.heartbeat_at <= run.finished_at
    assert all(OrderLine.objects.get(pk=line.pk).status == "ALLOCATED" for line in routed)
    unfillable.refresh_from_db()
    assert (unfillable.status, unfillable.queue, unfillable.auto_cancel_at) == (
        "QUEUED", "UNFILLABLE", NOW + timedelta(days=7))
    assert OrderLine.objects.get(pk=elsewhere.pk).queue == "REJECTED"
    assert RoutingDecision.objects.filter(run=run).count() == 4
    assert PickJob.objects.count() == 3
    assert stock_ledger_problems() == []


def test_run_works_in_batches_and_beats_after_each():
    store, product = FacilityFactory(), ProductFactory()
    stock(store, product, 10)
    for _ in range(5):
        queued(product=product)
    beats = []

    run = brokering_run(queue="BROKERING", now=NOW, batch_size=2,
                        batch_hook=lambda run, number: beats.append((number, run.lines_allocated)))

    assert beats == [(1, 2), (2, 4), (3, 5)]
    assert BrokeringRun.objects.get(pk=run.pk).lines_allocated == 5


def test_a_crash_inside_a_batch_leaves_its_orders_untouched_and_the_run_failed():
    store, product = FacilityFactory(), ProductFactory()
    stock(store, product, 10)
    lines = [queued(product=product) for _ in range(4)]

    def crash_in_second(run, number):
        if number == 2:
            raise ConnectionError("database went away")

    with pytest.raises(ConnectionError):
        brokering_run(queue="BROKERING", now=NOW, batch_size=2, batch_hook=crash_in_second)

    run = BrokeringRun.objects.get()
    assert (run.status, run.lines_allocated) == ("FAILED", 2)
    assert "database went away" in run.errors[-1]["error"]
    assert [OrderLine.objects.get(pk=line.pk).status for line in lines] == ["ALLOCATED"] * 2 + ["QUEUED"] * 2
    assert stock_ledger_problems() == []


def test_order_that_cannot_be_decided_is_recorded_and_the_rest_commit(monkeypatch):
    store, product = FacilityFactory(), ProductFactory()
    stock(store, product, 10)
    good, bad = queued(product=product), queued(product=product)
    decide = oms.routing.runs.order_decide

    def failing_decide(*, order, **kwargs):
        if order.order_id == bad.order_id:
            raise ZeroDivisionError("engine broke")
        return decide(order=order, **kwargs)

    monkeypatch.setattr(oms.routing.runs, "order_decide", failing_decide)

    run = brokering_run(queue="BROKERING", now=NOW)

    assert run.errors == [
        {"order_id": bad.order_id, "order": bad.order.name, "error": "ZeroDivisionError: engine broke"}]
    assert OrderLine.objects.get(pk=good.pk).status == "ALLOCATED"
    assert OrderLine.objects.get(pk=bad.pk).status == "QUEUED"
    assert run.status == "SUCCEEDED" and run.lines_allocated == 1


def test_order_that_cannot_be_written_is_recorded_and_the_rest_of_its_batch_commits(monkeypatch):
    store, product = FacilityFactory(), ProductFactory()
    stock(store, product, 10)
    lines = [queued(product=product) for _ in range(3)]
    bad = lines[1]
    create = oms.routing.apply.pick_jobs_create

    def failing_create(*, requests, now):
        if any(request.order_id == bad.order_id for request, _ in requests):
            raise RuntimeError("printer on fire")
        return create(requests=requests, now=now)

    monkeypatch.setattr(oms.routing.apply, "pick_jobs_create", failing_create)

    run = brokering_run(queue="BROKERING", now=NOW)

    assert [error["order_id"] for error in run.errors] == [bad.order_id]
    assert "printer on fire" in run.errors[0]["error"]
    statuses = {line.pk: OrderLine.objects.get(pk=line.pk).status for line in lines}
    assert statuses == {lines[0].pk: "ALLOCATED", bad.pk: "QUEUED", lines[2].pk: "ALLOCATED"}
    assert not FulfillmentRequest.objects.filter(order_id=bad.order_id).exists()
    assert stock_ledger_problems() == []


def test_a_running_run_of_the_queue_blocks_another():
    BrokeringRun.objects.create(queue="BROKERING", started_at=NOW, heartbeat_at=NOW - timedelta(seconds=60))

    with pytest.raises(RunAlreadyActive, match="already running"):
        brokering_run(queue="BROKERING", now=NOW)
    brokering_run(queue="REJECTED", now=NOW)  # another queue is free


def test_a_silent_running_run_is_closed_as_failed_by_the_next(settings):
    settings.BROKERING_RUN_STALE_SECONDS = 900
    dead = BrokeringRun.objects.create(queue="BROKERING", started_at=NOW - timedelta(hours=1),
                                       heartbeat_at=NOW - timedelta(seconds=901))

    run = brokering_run(queue="BROKERING", now=NOW)

    dead.refresh_from_db()
    assert (dead.status, dead.finished_at) == ("FAILED", NOW)
    assert "taken as dead" in dead.errors[-1]["error"]
    assert run.status == "SUCCEEDED"


def test_order_whose_stock_is_taken_after_the_run_read_it_is_decided_again(monkeypatch):
    near = FacilityFactory(latitude=41.88, longitude=-87.63, priority=10)
    far = FacilityFactory(latitude=40.71, longitude=-74.0, priority=1)
    product = ProductFactory()
    stock(near, product, 2)
    stock(far, product, 2)
    line = queued(product=product, quantity=2)
    other = queued(product=product, quantity=1, queue="REJECTED")
    load = oms.routing.runs.world_load

    def load_then_sell(**kwargs):
        world = load(**kwargs)
        # Between the run's read and its write, an associate allocates one unit at the near store.
        with transaction.atomic():
            assert stock_reserve(facility_id=near.pk, product_id=product.pk, quantity=1, order_line_id=other.pk)
            other.allocated_facility = near
            transit_and_save(other, "allocate", at=NOW)
        return world

    monkeypatch.setattr(oms.routing.runs, "world_load", load_then_sell)

    run = brokering_run(queue="BROKERING", now=NOW)

    line.refresh_from_db()
    assert (line.status, line.allocated_facility_id, line.quantity) == ("ALLOCATED", far.pk, 2)
    assert run.errors == [] and run.lines_allocated == 1
    assert RoutingDecision.objects.get(run=run).details["allocations"][0]["facility_id"] == far.pk
    assert stock_ledger_problems() == []


def test_lines_canceled_after_the_run_read_the_queue_are_left_alone(monkeypatch):
    store, product = FacilityFactory(), ProductFactory()
    stock(store, product, 5)
    kept, canceled = queued(product=product), queued(product=product)
    load = oms.routing.runs.world_load

    def load_then_cancel(**kwargs):
        world = load(**kwargs)
        line = OrderLine.objects.get(pk=canceled.pk)
        transit_and_save(line, "cancel", at=NOW)
        return world

    monkeypatch.setattr(oms.routing.runs, "world_load", load_then_cancel)

    run = brokering_run(queue="BROKERING", now=NOW)

    assert run.errors == [] and run.lines_allocated == 1
    assert OrderLine.objects.get(pk=kept.pk).status == "ALLOCATED"
    canceled.refresh_from_db()
    assert (canceled.status, canceled.allocated_facility_id) == ("CANCELED", None)
    assert stock_ledger_problems() == []


@pytest.mark.parametrize(("job_created_at", "expected"), [
    (datetime(2025, 3, 4, 15, 0, tzinfo=UTC), "UNFILLABLE"),  # 09:00 today in Chicago: capacity used up
    (datetime(2025, 3, 4, 5, 0, tzinfo=UTC), "ALLOCATED"),  # today in UTC, but 23:00 yesterday in Chicago
])
def test_capacity_is_counted_in_the_facilitys_time_zone(job_created_at, expected):
    store, product = FacilityFactory(time_zone="America/Chicago", daily_capacity=1), ProductFactory()
    stock(store, product, 5)
    earlier = OrderFactory()
    request = FulfillmentRequest.objects.create(order=earlier, facility=store, number="#E-1", created_at=job_created_at)
    PickJob.objects.create(facility=store, order=earlier, fulfillment_request=request, created_at=job_created_at)
    line = queued(product=product)

    brokering_run(queue="BROKERING", now=NOW)

    line.refresh_from_db()
    assert (line.queue or line.status) == expected


def test_preview_is_the_decision_the_next_run_makes_and_writes_nothing():
    near = FacilityFactory(latitude=41.88, longitude=-87.63)
    far = FacilityFactory(latitude=40.71, longitude=-74.0)
    product, other = ProductFactory(), ProductFactory()
    stock(near, product, 1)
    stock(far, product, 5)
    stock(far, other, 1)
    line = queued(product=product, quantity=3)
    queued(product=other, order=line.order)

    preview = routing_preview(order_id=line.order_id, now=NOW)

    assert not RoutingDecision.objects.exists() and not FulfillmentRequest.objects.exists()
    run = brokering_run(queue="BROKERING", now=NOW)
    stored = RoutingDecision.objects.get(run=run)
    (decision,) = preview
    assert decision.outcome == stored.outcome == "ALLOCATED"
    assert [(a.line_id, a.facility_id, a.quantity) for a in decision.allocations] == [
        (a["line_id"], a["facility_id"], a["quantity"]) for a in stored.details["allocations"]]
    assert [c.facility_id for c in decision.candidates] == [c["facility_id"] for c in stored.details["candidates"]]
    assert decision.fences == stored.details["fences"]


def test_order_route_routes_one_orders_brokering_lines_now():
    store, product = FacilityFactory(), ProductFactory()
    stock(store, product, 5)
    line = queued(product=product, quantity=2)
    bystander = queued(product=product)

    decision = order_route(order_id=line.order_id, now=NOW, reason="request regenerated")

    assert decision is not None and decision.outcome == "ALLOCATED"
    line.refresh_from_db()
    assert (line.status, line.allocated_facility_id) == ("ALLOCATED", store.pk)
    assert line.order.history.filter(object_type="orderline").get().reason == "request regenerated"
    assert RoutingDecision.objects.get().run is None
    assert OrderLine.objects.get(pk=bystander.pk).status == "QUEUED"
    assert order_route(order_id=line.order_id, now=NOW) is None  # nothing left in BROKERING


def test_broker_orders_command_prints_the_runs_numbers():
    store, product = FacilityFactory(), ProductFactory()
    stock(store, product, 2)
    queued(product=product, quantity=2)
    queued(product=product, quantity=1)
    out = StringIO()

    call_command("broker_orders", "brokering", stdout=out, stderr=StringIO())

    text = out.getvalue().strip()
    assert text.startswith("queue BROKERING: orders 2, lines 2, allocated 1, parked 1, fill rate 50.0%, errors 0, ")
    assert text.endswith(" s")


def test_broker_orders_command_refuses_an_unknown_queue_and_names_the_valid_ones():
    with pytest.raises(CommandError, match="BROKERING, REJECTED, UNFILLABLE, UNFILLABLE_HOLD"):
        call_command("broker_orders", "PRE_ORDER")


def test_broker_orders_command_says_already_running_and_exits_1():
    BrokeringRun.objects.create(queue="REJECTED", started_at=timezone.now(), heartbeat_at=timezone.now())
    out = StringIO()

    with pytest.raises(SystemExit) as exit_info:
        call_command("broker_orders", "REJECTED", stdout=out)

    assert exit_info.value.code == 1
    assert out.getvalue().strip() == "already running"
