"""Runs against real PostgreSQL with threads and the real worker: no overlap, no oversell, ledger reconciles."""

import threading

import pytest
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from fulfillment.ledger import stock_ledger_problems
from oms.core.history import transit_and_save
from oms.models import BrokeringRun, OrderLine
from oms.routing.runs import RunAlreadyActive, brokering_run
from oms.tasks import broker_queue
from stores.models import StockLevel
from stores.stock import stock_adjust, stock_reserve
from tests.conftest import wait_for, worker_idle
from tests.factories import FacilityFactory, OrderFactory, OrderLineFactory, ProductFactory

pytestmark = pytest.mark.django_db(transaction=True)



def stock(facility, product, on_hand: int) -> None:
    with transaction.atomic():
        stock_adjust(facility_id=facility.pk, product_id=product.pk, delta=on_hand, reason="RECEIPT")


def queued(*, product, quantity: int, queue: str) -> OrderLine:
    return OrderLineFactory(order=OrderFactory(status="APPROVED"), product=product, quantity=quantity,
                            status="QUEUED", queue=queue)


def in_thread(target, errors: list, results: dict, key: str):
    def run():
        try:
            results[key] = target()
        except BaseException as exc:  # noqa: BLE001 - the main thread reports it
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_second_run_of_a_queue_is_refused_while_the_first_holds_its_batch_open():
    store, product = FacilityFactory(), ProductFactory()
    stock(store, product, 5)
    line = queued(product=product, quantity=2, queue="BROKERING")
    inside, release = threading.Event(), threading.Event()
    errors, results = [], {}

    def hold(run, number):
        inside.set()
        assert release.wait(timeout=20)

    first = in_thread(lambda: brokering_run(queue="BROKERING", batch_hook=hold), errors, results, "first")
    assert inside.wait(timeout=20)
    second = in_thread(lambda: brokering_run(queue="BROKERING"), errors, results, "second")
    second.join(timeout=20)

    assert [type(error) for error in errors] == [RunAlreadyActive]
    assert OrderLine.objects.get(pk=line.pk).status == "QUEUED"  # the first run's batch is not committed yet
    release.set()
    first.join(timeout=20)
    assert results["first"].status == "SUCCEEDED"
    assert OrderLine.objects.get(pk=line.pk).status == "ALLOCATED"
    assert BrokeringRun.objects.count() == 1


@pytest.mark.parametrize("round_", range(20))
def test_two_queues_and_a_manual_allocation_racing_for_the_last_units_never_oversell(round_):
    first, second, product = FacilityFactory(), FacilityFactory(), ProductFactory()
    stock(first, product, 3)
    stock(second, product, 3)
    StockLevel.objects.filter(facility=second).update(safety_stock=1)  # 5 units sellable in all
    for queue in ("BROKERING", "REJECTED"):
        for _ in range(3):
            queued(product=product, quantity=2, queue=queue)
    manual = queued(product=product, quantity=2, queue="BROKERING")
    OrderLine.objects.filter(pk=manual.pk).update(queue="UNFILLABLE_HOLD")  # kept out of the BROKERING run
    barrier = threading.Barrier(3)
    errors, results = [], {}

    def run(queue):
        barrier.wait(timeout=10)
        return brokering_run(queue=queue, trigger="test")

    def manual_create():
        barrier.wait(timeout=10)
        with transaction.atomic():
            line = OrderLine.objects.select_for_update().get(pk=manual.pk)
            if not stock_reserve(facility_id=first.pk, product_id=product.pk, quantity=2, order_line_id=line.pk,
                                 source="manual create"):
                return False
            line.allocated_facility = first
            line.queue = ""
            transit_and_save(line, "allocate", at=line.order.received_at, reason="manual create")
        return True

    threads = [in_thread(lambda: run("BROKERING"), errors, results, "brokering"),
               in_thread(lambda: run("REJECTED"), errors, results, "rejected"),
               in_thread(manual_create, errors, results, "manual")]
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    for level in StockLevel.objects.filter(product=product):
        assert 0 <= level.reserved <= level.on_hand - level.safety_stock
    allocated = OrderLine.objects.filter(product=product, status="ALLOCATED")
    assert sum(allocated.values_list("quantity", flat=True)) == 5
    assert stock_ledger_problems() == []
    # Orders whose units the others took were decided again, not lost: each run line is placed somewhere.
    for key in ("brokering", "rejected"):
        assert (results[key].status, results[key].errors) == ("SUCCEEDED", [])
    assert not OrderLine.objects.filter(product=product, status="QUEUED", queue__in=["BROKERING", "REJECTED"]).exists()




@pytest.mark.celery
def test_broker_queue_task_routes_a_queued_order_on_the_worker(celery_worker):
    store, product = FacilityFactory(), ProductFactory()
    stock(store, product, 3)
    line = queued(product=product, quantity=2, queue="BROKERING")

    broker_queue.delay("BROKERING")

    wait_for(lambda: OrderLine.objects.get(pk=line.pk).status == "ALLOCATED", message="line allocated")
    wait_for(worker_idle, message="worker idle")
    run = BrokeringRun.objects.get()
    assert (run.status, run.trigger, run.lines_allocated) == ("SUCCEEDED", "schedule", 1)
    assert stock_ledger_problems() == []


def test_broker_queue_task_skips_when_a_run_is_going():
    BrokeringRun.objects.create(queue="BROKERING", started_at=timezone.now(), heartbeat_at=timezone.now())

    assert broker_queue("BROKERING") == {"skipped": "already running"}
