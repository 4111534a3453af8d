"""A run outside any transaction commits each batch while it decides the next: the same decisions as one by one."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, connection, transaction

import oms.routing.runs
from fulfillment.ledger import stock_ledger_problems
from oms.core.history import transit_and_save
from oms.models import BrokeringRun, OrderLine
from oms.routing.runs import brokering_run
from stores.stock import stock_adjust
from tests.factories import FacilityFactory, OrderFactory, OrderLineFactory, ProductFactory

pytestmark = pytest.mark.django_db(transaction=True)

NOW = datetime(2025, 3, 4, 16, 0, tzinfo=UTC)


def stock(facility, product, on_hand: int) -> None:
    with transaction.atomic():
        stock_adjust(facility_id=facility.pk, product_id=product.pk, delta=on_hand, reason="RECEIPT", now=NOW)


def queued(*, product, quantity: int = 1, minutes_ago: int = 60) -> OrderLine:
    order = OrderFactory(status="APPROVED", ordered_at=NOW - timedelta(minutes=minutes_ago))
    return OrderLineFactory(order=order, product=product, quantity=quantity, status="QUEUED", queue="BROKERING",
                            queued_at=NOW - timedelta(minutes=30))


def test_batches_are_committed_one_by_one_with_the_connection_back_in_autocommit():
    store, product = FacilityFactory(), ProductFactory()
    stock(store, product, 10)
    lines = [queued(product=product, minutes_ago=60 - index) for index in range(5)]
    beats = []

    run = brokering_run(queue="BROKERING", now=NOW, batch_size=2,
                        batch_hook=lambda run, number: beats.append((number, run.lines_allocated)))

    assert beats == [(1, 2), (2, 4), (3, 5)]
    assert (run.status, run.lines_allocated) == ("SUCCEEDED", 5)
    assert {OrderLine.objects.get(pk=line.pk).status for line in lines} == {"ALLOCATED"}
    assert connection.get_autocommit() and not connection.in_atomic_block
    assert stock_ledger_problems() == []


def test_a_batch_decided_early_on_lines_that_changed_gives_its_units_back():
    """Batch 2 is decided while batch 1 commits; its line was canceled meanwhile, so that decision is undone."""
    store, product = FacilityFactory(), ProductFactory()
    stock(store, product, 3)
    first = queued(product=product, quantity=1, minutes_ago=90)
    canceled = queued(product=product, quantity=2, minutes_ago=80)
    last = queued(product=product, quantity=2, minutes_ago=70)

    def cancel_in_first_batch(run, number):
        if number == 1:
            line = OrderLine.objects.get(pk=canceled.pk)
            transit_and_save(line, "cancel", at=NOW)

    run = brokering_run(queue="BROKERING", now=NOW, batch_size=1, batch_hook=cancel_in_first_batch)

    assert run.status == "SUCCEEDED" and run.errors == []
    assert OrderLine.objects.get(pk=first.pk).status == "ALLOCATED"
    assert OrderLine.objects.get(pk=canceled.pk).status == "CANCELED"
    # Had the early decision for the canceled line kept its 2 units, the last order would find only 0.
    assert OrderLine.objects.get(pk=last.pk).status == "ALLOCATED"
    assert stock_ledger_problems() == []


def test_a_commit_that_fails_leaves_its_batch_untouched_and_the_run_failed(monkeypatch):
    store, product = FacilityFactory(), ProductFactory()
    stock(store, product, 10)
    lines = [queued(product=product, minutes_ago=60 - index) for index in range(4)]
    commit = oms.routing.runs._Commit.run

    def failing_second(self):
        if len(calls) == 1:
            self.error = IntegrityError("deferred check failed at commit")
            self.raw_connection.rollback()
        else:
            commit(self)
        calls.append(self)

    calls = []
    monkeypatch.setattr(oms.routing.runs._Commit, "run", failing_second)

    with pytest.raises(IntegrityError):
        brokering_run(queue="BROKERING", now=NOW, batch_size=2)

    run = BrokeringRun.objects.get()
    assert (run.status, run.lines_allocated) == ("FAILED", 2)
    assert [OrderLine.objects.get(pk=line.pk).status for line in lines] == ["ALLOCATED"] * 2 + ["QUEUED"] * 2
    assert connection.get_autocommit()
    assert stock_ledger_problems() == []
