"""Fulfillment request actions: preview, manual create, void, regenerate, process and retry, and their command."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

import fulfillment.jobs
import oms.routing.requests
from fulfillment.ledger import stock_ledger_problems
from fulfillment.models import PickJob, PickLine
from oms.core.history import transit_and_save
from oms.models import FulfillmentRequest, OrderLine, OrderNote, RoutingDecision, TransitionLog
from oms.routing.requests import (
    RequestError,
    request_create_manual,
    request_preview,
    request_process,
    request_regenerate,
    request_retry,
    request_void,
)
from stores.models import InventoryAdjustment, StockLevel
from stores.stock import stock_adjust, stock_reserve
from tests.factories import FacilityFactory, OrderFactory, OrderLineFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 3, 16, 0, tzinfo=UTC)  # Monday 10:00 in Chicago
LATER = NOW + timedelta(minutes=5)


def stock(facility, product, on_hand: int) -> None:
    with transaction.atomic():
        stock_adjust(facility_id=facility.pk, product_id=product.pk, delta=on_hand, reason="RECEIPT", now=NOW)


def reserved(facility=None) -> int:
    levels = StockLevel.objects.filter(facility=facility) if facility else StockLevel.objects.all()
    return sum(levels.values_list("reserved", flat=True))


def queued(*, product, quantity: int = 1, queue: str = "UNFILLABLE", order=None, **fields) -> OrderLine:
    order = order or OrderFactory(status="APPROVED", name="#R1001")
    return OrderLineFactory(order=order, product=product, quantity=quantity, status="QUEUED", queue=queue,
                            queued_at=NOW - timedelta(days=1), **fields)


def rows() -> dict[str, int]:
    """Row counts of everything a request action may write."""
    return {model.__name__: model.objects.count() for model in (
        FulfillmentRequest, PickJob, PickLine, OrderLine, TransitionLog, OrderNote, RoutingDecision,
        InventoryAdjustment,
    )}


@pytest.fixture
def ops():
    return UserFactory(username="ops-requests")


@pytest.fixture
def store():
    return FacilityFactory(code="CHI-01")


@pytest.fixture
def product(store):
    product = ProductFactory(sku="MUG-1")
    stock(store, product, 5)
    return product


# --- manual create ------------------------------------------------------------------------------


def test_manual_create_reserves_exactly_and_sends_a_pick_job(ops, store, product):
    line = queued(product=product, quantity=2)

    request = request_create_manual(order_id=line.order_id, facility_id=store.pk, actor=ops,
                                    reason="customer called", now=NOW)

    assert (request.number, request.status, request.facility_id) == ("#R1001-1", "PROCESSED", store.pk)
    line.refresh_from_db()
    assert (line.status, line.queue, line.allocated_facility_id, line.fulfillment_request_id) == (
        "ALLOCATED", "", store.pk, request.pk)
    assert reserved(store) == 2
    job = PickJob.objects.get(fulfillment_request=request)
    assert list(job.lines.values_list("order_line_id", "quantity")) == [(line.pk, 2)]
    assert TransitionLog.objects.filter(object_type="orderline", transition="allocate", actor=ops).count() == 1
    assert "created by hand at CHI-01" in OrderNote.objects.get(order=line.order).text
    assert stock_ledger_problems() == []


def test_manual_create_of_fewer_units_splits_the_line_and_the_rest_waits(ops, store, product):
    line = queued(product=product, quantity=3)

    request_create_manual(order_id=line.order_id, facility_id=store.pk, line_quantities={line.pk: 2}, actor=ops,
                          reason="send what is there", now=NOW)

    line.refresh_from_db()
    rest = OrderLine.objects.get(parent=line)
    assert (line.status, line.quantity) == ("ALLOCATED", 2)
    assert (rest.status, rest.queue, rest.quantity) == ("QUEUED", "UNFILLABLE", 1)
    assert reserved(store) == 2


def test_manual_create_takes_lines_from_different_queues_into_one_request(ops, store, product):
    first = queued(product=product, queue="UNFILLABLE")
    second = queued(product=product, queue="REJECTED", order=first.order)

    request = request_create_manual(order_id=first.order_id, facility_id=store.pk, actor=ops, reason="r", now=NOW)

    assert set(request.lines.values_list("pk", flat=True)) == {first.pk, second.pk}
    assert reserved(store) == 2


def test_manual_create_without_stock_is_refused_and_writes_nothing(ops, store, product):
    line = queued(product=product, quantity=6)
    before = rows()

    with pytest.raises(RequestError, match="CHI-01 lacks stock — MUG-1: 6 needed, 5 available"):
        request_create_manual(order_id=line.order_id, facility_id=store.pk, actor=ops, reason="r", now=NOW)

    assert rows() == before
    assert reserved(store) == 0


def test_manual_create_refused_when_the_stock_is_taken_meanwhile(ops, store, product, monkeypatch):
    line = queued(product=product, quantity=5)
    before = rows()
    world_load = oms.routing.requests.world_load

    def world_then_someone_reserves(**kwargs):
        world = world_load(**kwargs)
        assert stock_reserve(facility_id=store.pk, product_id=product.pk, quantity=1, now=NOW)
        return world

    monkeypatch.setattr(oms.routing.requests, "world_load", world_then_someone_reserves)

    with pytest.raises(RequestError, match="no longer has the stock"):
        request_create_manual(order_id=line.order_id, facility_id=store.pk, actor=ops, reason="r", now=NOW)

    assert rows() == before
    assert OrderLine.objects.get(pk=line.pk).status == "QUEUED"


def test_manual_create_sends_a_pickup_line_only_to_its_store(ops, store, product):
    chosen = FacilityFactory(code="PICK-01")
    line = queued(product=product, pickup_facility=chosen, pickup_store_code="PICK-01")

    with pytest.raises(RequestError, match="picked up at PICK-01, not at CHI-01"):
        request_create_manual(order_id=line.order_id, facility_id=store.pk, actor=ops, reason="r", now=NOW)


# --- void and regenerate ------------------------------------------------------------------------


def test_void_releases_exactly_and_returns_the_lines_to_brokering(ops, store, product):
    line = queued(product=product, quantity=2)
    request = request_create_manual(order_id=line.order_id, facility_id=store.pk, actor=ops, reason="r", now=NOW)

    request_void(request_id=request.pk, actor=ops, reason="wrong store", now=LATER)

    line.refresh_from_db()
    assert (line.status, line.queue, line.allocated_facility_id, line.fulfillment_request_id, line.queued_at) == (
        "QUEUED", "BROKERING", None, None, LATER)
    assert line.excluded_facilities.count() == 0  # a void is no rejection
    assert reserved(store) == 0
    assert FulfillmentRequest.objects.get(pk=request.pk).status == "CANCELED"
    job = PickJob.objects.get(fulfillment_request=request)
    assert (job.status, list(job.lines.values_list("status", flat=True))) == ("CANCELED", ["CANCELED"])
    logged = set(TransitionLog.objects.filter(at=LATER).values_list("object_type", "transition"))
    assert logged == {("orderline", "requeue"), ("fulfillmentrequest", "cancel"), ("pickjob", "cancel"),
                      ("pickline", "cancel")}
    assert stock_ledger_problems() == []


def start_picking(job: PickJob) -> None:
    transit_and_save(job, "start", at=LATER)


def pick_one_then_pause(job: PickJob) -> None:
    transit_and_save(job, "start", at=LATER)
    PickLine.objects.filter(pick_job=job).update(picked_quantity=1)
    transit_and_save(job, "pause", at=LATER)


@pytest.mark.parametrize("started", [start_picking, pick_one_then_pause])
def test_void_is_refused_once_picking_started(ops, store, product, started):
    line = queued(product=product, quantity=2)
    request = request_create_manual(order_id=line.order_id, facility_id=store.pk, actor=ops, reason="r", now=NOW)
    started(PickJob.objects.get(fulfillment_request=request))

    with pytest.raises(RequestError, match="picking|picked"):
        request_void(request_id=request.pk, actor=ops, reason="r", now=LATER)

    assert FulfillmentRequest.objects.get(pk=request.pk).status == "PROCESSED"
    assert reserved(store) == 2


def test_void_is_refused_for_an_acknowledged_request(ops, store, product):
    line = queued(product=product)
    request = request_create_manual(order_id=line.order_id, facility_id=store.pk, actor=ops, reason="r", now=NOW)
    transit_and_save(request, "acknowledge", at=LATER)

    with pytest.raises(RequestError, match="ACKNOWLEDGED"):
        request_void(request_id=request.pk, actor=ops, reason="r", now=LATER)


def test_regenerate_releases_and_reserves_again_exactly(ops, store, product):
    line = queued(product=product, quantity=2)
    other = queued(product=product, quantity=1, queue="REJECTED", order=line.order)
    request = request_create_manual(order_id=line.order_id, facility_id=store.pk, line_quantities={line.pk: 2},
                                    actor=ops, reason="r", now=NOW)
    assert reserved() == 2

    decision = request_regenerate(request_id=request.pk, actor=ops, reason="try routing", now=LATER)

    assert decision is not None and decision.outcome == "ALLOCATED"
    assert reserved() == 2
    line.refresh_from_db()
    assert line.status == "ALLOCATED" and line.fulfillment_request.number == "#R1001-2"
    assert FulfillmentRequest.objects.get(pk=request.pk).status == "CANCELED"
    assert OrderLine.objects.get(pk=other.pk).queue == "REJECTED"  # only BROKERING lines are routed
    moves = InventoryAdjustment.objects.filter(created_at=LATER).values_list("reason", "reserved_delta")
    assert sorted(moves) == [("RELEASE", -2), ("RESERVE", 2)]
    assert stock_ledger_problems() == []


def test_regenerate_that_fails_to_route_changes_nothing(ops, store, product, monkeypatch):
    line = queued(product=product)
    request = request_create_manual(order_id=line.order_id, facility_id=store.pk, actor=ops, reason="r", now=NOW)
    before = rows()

    def broken_route(**kwargs):
        raise RuntimeError("engine down")

    monkeypatch.setattr(oms.routing.requests, "order_route", broken_route)
    with pytest.raises(RequestError, match="engine down"):
        request_regenerate(request_id=request.pk, actor=ops, reason="r", now=LATER)

    assert rows() == before
    assert FulfillmentRequest.objects.get(pk=request.pk).status == "PROCESSED"
    assert reserved(store) == 1


# --- process and retry --------------------------------------------------------------------------


@pytest.fixture
def manual_store():
    return FacilityFactory(code="MAN-01", processing_mode="MANUAL")


@pytest.fixture
def unprocessed(ops, manual_store) -> FulfillmentRequest:
    product = ProductFactory()
    stock(manual_store, product, 3)
    line = queued(product=product, quantity=2)
    request = request_create_manual(order_id=line.order_id, facility_id=manual_store.pk, actor=ops, reason="r",
                                    now=NOW)
    assert (request.status, PickJob.objects.count()) == ("UNPROCESSED", 0)
    return request


def test_process_sends_the_request_with_its_pick_job(ops, unprocessed):
    request = request_process(request_id=unprocessed.pk, actor=ops, now=LATER)

    assert request.status == FulfillmentRequest.objects.get(pk=request.pk).status == "PROCESSED"
    job = PickJob.objects.get(fulfillment_request=request)
    assert list(job.lines.values_list("quantity", flat=True)) == [2]
    logged = TransitionLog.objects.filter(object_type="fulfillmentrequest", object_id=request.pk, at=LATER)
    assert list(logged.values_list("transition", flat=True)) == ["process", "mark_sent"]


def test_processing_error_fails_the_request_with_the_message_and_retry_sends_it(ops, unprocessed, monkeypatch):
    def printer_offline(**kwargs):
        raise RuntimeError("pick list printer offline")

    monkeypatch.setattr(fulfillment.jobs, "pick_jobs_create", printer_offline)
    with pytest.raises(RequestError, match="pick list printer offline"):
        request_process(request_id=unprocessed.pk, actor=ops, now=LATER)

    failed = FulfillmentRequest.objects.get(pk=unprocessed.pk)
    assert (failed.status, failed.error) == ("FAILED", "pick list printer offline")
    assert not PickJob.objects.exists()
    monkeypatch.undo()

    retried = request_retry(request_id=unprocessed.pk, actor=ops, now=LATER)

    retried.refresh_from_db()
    assert (retried.status, retried.error) == ("PROCESSED", "")
    assert PickJob.objects.filter(fulfillment_request=retried).count() == 1
    transitions = TransitionLog.objects.filter(object_type="fulfillmentrequest", object_id=retried.pk)
    assert list(transitions.values_list("transition", flat=True)) == ["process", "fail", "retry", "mark_sent"]


def test_process_refuses_a_wms_warehouse_request(ops):
    warehouse = FacilityFactory(code="WH-01", kind="WAREHOUSE", fulfilled_by_wms=True)
    product = ProductFactory()
    stock(warehouse, product, 3)
    line = queued(product=product)
    request = request_create_manual(order_id=line.order_id, facility_id=warehouse.pk, actor=ops, reason="r", now=NOW)

    with pytest.raises(RequestError, match="warehouse feed"):
        request_process(request_id=request.pk, actor=ops, now=LATER)

    assert FulfillmentRequest.objects.get(pk=request.pk).status == "UNPROCESSED"


def test_process_refuses_a_request_already_sent(ops, store, product):
    line = queued(product=product)
    request = request_create_manual(order_id=line.order_id, facility_id=store.pk, actor=ops, reason="r", now=NOW)

    with pytest.raises(RequestError, match="PROCESSED, not UNPROCESSED"):
        request_process(request_id=request.pk, actor=ops, now=LATER)


# --- preview ------------------------------------------------------------------------------------


def test_preview_decides_without_writing(store, product):
    line = queued(product=product, quantity=2, queue="BROKERING")
    before = rows()

    decisions = request_preview(order_id=line.order_id, now=NOW)

    assert [(a.line_id, a.facility_id, a.quantity) for d in decisions for a in d.allocations] == [
        (line.pk, store.pk, 2)]
    assert rows() == before
    assert reserved(store) == 0


# --- the command --------------------------------------------------------------------------------


def run(*args) -> str:
    out = StringIO()
    call_command("fulfillment_request", *args, stdout=out)
    return out.getvalue()


def test_command_creates_voids_and_processes_by_name_and_number(store, product, manual_store):
    line = queued(product=product, quantity=3)

    assert run("create", "#R1001", "CHI-01", "--line", f"{line.pk}:1", "--reason", "phone order") == (
        "created #R1001-1 at CHI-01 (PROCESSED)\n")
    assert OrderLine.objects.get(pk=line.pk).quantity == 1
    assert "voided #R1001-1" in run("void", "#R1001-1", "--reason", "mistake")
    assert reserved(store) == 0

    stock(manual_store, product, 5)
    run("create", "R1001", "MAN-01", "--reason", "manual review")
    assert run("process", "#R1001-2") == "#R1001-2 is PROCESSED\n"


@pytest.mark.parametrize("args, message", [
    (("create", "#nope", "CHI-01", "--reason", "r"), "No order"),
    (("create", "#R1001", "NOPE", "--reason", "r"), "No facility"),
    (("create", "#R1001", "CHI-01", "--line", "x:1", "--reason", "r"), "give a line id"),
    (("create", "#R1001", "CHI-01", "--line", "999999", "--reason", "r"), "not a QUEUED line"),
    (("create", "#R1001", "CHI-01", "--reason", " "), "reason is required"),
    (("void", "#R1001-9", "--reason", "r"), "No fulfillment request"),
])
def test_command_explains_bad_input(store, product, args, message):
    queued(product=product)
    with pytest.raises(CommandError, match=message):
        run(*args)
