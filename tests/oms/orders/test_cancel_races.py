"""Cancellations racing the store and themselves: real threads on a Barrier against PostgreSQL.

The order row lock serialises a cancellation with the scan that closes a pick job (picking locks the
order first too) and with a second delivery of the shop's cancel webhook. Each round nudges one side
by a few milliseconds, alternating, so both orderings are seen; whichever happens, the final state is
legal and the stock ledger reconciles.
"""

import json
import time

import pytest
from django.test import Client

from fulfillment.ledger import stock_ledger_problems
from fulfillment.models import PackJob, PickJob, PutBackItem
from fulfillment.picking import PickError, pick_job_scan, pick_job_start, pick_line_tap
from oms.models import Order, OrderLine, OutboxMessage, TransitionLog
from oms.orders.cancel import order_cancel
from tests.factories import ProductFactory
from tests.fulfillment.store_world import routed_order, stock, store_with_people
from tests.oms.shop.test_webhooks import SECRET, post
from tests.races import race

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 20
CANCEL_URL = "/webhooks/shopify/orders/cancelled"


def nudged(call, delay: float):
    def run():
        time.sleep(delay)
        call()
    return run


def assert_legal(order: Order) -> None:
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELED
    assert set(order.lines.values_list("status", flat=True)) == {OrderLine.Status.CANCELED}  # none fulfilled
    assert not PickJob.objects.filter(order=order, status__in=["OPEN", "IN_PROGRESS"]).exists()
    assert not PackJob.objects.filter(order=order, status__in=["OPEN", "IN_PROGRESS"]).exists()
    assert stock_ledger_problems() == []


def test_cancel_racing_the_scan_that_closes_the_pick_job():
    facility, associate, _ = store_with_people()
    orderings = set()
    for round_ in range(ROUNDS):
        product = ProductFactory()
        stock(facility, product, 5)
        order, job = routed_order(facility, [(product, 2)])
        job = pick_job_start(job_id=job.pk, facility_id=facility.pk, actor=associate, version=job.version)
        pick_line_tap(job_id=job.pk, facility_id=facility.pk, actor=associate, version=None,
                      line_id=job.lines.get().pk, quantity=1)
        scan_late, cancel_late = (0.02, 0) if round_ % 2 else (0, 0.02)

        outcomes = race(refused=PickError, done="done", calls=[
            nudged(lambda job=job, product=product: pick_job_scan(
                job_id=job.pk, facility_id=facility.pk, actor=associate, version=None, code=product.barcode,
            ), scan_late),
            nudged(lambda order=order: order_cancel(order_id=order.pk, reason="customer asked"), cancel_late),
        ])

        put_back = sum(PutBackItem.objects.filter(task__order=order).values_list("quantity", flat=True))
        if outcomes.count("done") == 2:  # the scan closed the job first: both picked units go back
            orderings.add("scan first")
            assert PickJob.objects.get(pk=job.pk).status == PickJob.Status.CLOSED
            assert PackJob.objects.get(order=order).status == PackJob.Status.CANCELED
            assert put_back == 2
        else:  # the cancellation came first: the scan was refused, the one picked unit goes back
            orderings.add("cancel first")
            assert any("canceled" in outcome[1] for outcome in outcomes if outcome != "done"), outcomes
            assert PickJob.objects.get(pk=job.pk).status == PickJob.Status.CANCELED
            assert put_back == 1
        assert_legal(order)
    assert orderings == {"scan first", "cancel first"}


def shop_cancel(external_id: str, webhook_id: str):
    def call():
        response = post(Client(), CANCEL_URL, json.dumps({"id": external_id, "cancel_reason": "customer"}).encode(),
                        webhook_id=webhook_id)
        assert response.status_code == 200, response.content
        return response.json()["outcome"]
    return call


@pytest.mark.parametrize("same_delivery", [True, False], ids=["same webhook id", "different webhook ids"])
def test_the_shops_cancel_webhook_delivered_twice_at_once_cancels_once(settings, same_delivery):
    settings.SHOPIFY_WEBHOOK_SECRET = SECRET
    facility, _, _ = store_with_people()
    winners = set()
    for round_ in range(ROUNDS):
        product = ProductFactory()
        stock(facility, product, 5)
        order, _ = routed_order(facility, [(product, 2)])
        Order.objects.filter(pk=order.pk).update(channel="shopify")
        ids = ["wh-1", "wh-1"] if same_delivery else ["wh-1", "wh-2"]
        ids = [f"{order.external_id}-{webhook_id}" for webhook_id in ids]
        results = {}

        def delivery(index, delay, order=order, ids=ids, results=results):
            def call():
                time.sleep(delay)
                results[index] = (time.monotonic(), shop_cancel(order.external_id, ids[index])())
            return call

        first_late = 0.02 if round_ % 2 else 0
        race(refused=AssertionError, calls=[delivery(0, first_late), delivery(1, 0.02 - first_late)])

        outcomes = sorted(outcome for _, outcome in results.values())
        assert outcomes == (["canceled", "duplicate"] if same_delivery else ["canceled", "canceled"])
        winners.add(min(results, key=lambda index: results[index][0]))
        assert TransitionLog.objects.filter(order=order, transition="cancel", object_id=order.pk,
                                            object_type="order").count() == 1
        assert not OutboxMessage.objects.filter(order=order).exists()  # the shop is not told its own cancel
        assert_legal(order)
    assert winners == {0, 1}


def test_two_cancellations_by_operations_at_once_tell_the_shop_once():
    facility, _, _ = store_with_people()
    for round_ in range(ROUNDS):
        product = ProductFactory()
        stock(facility, product, 5)
        order, _ = routed_order(facility, [(product, 2)])

        race(refused=AssertionError, calls=[
            nudged(lambda order=order: order_cancel(order_id=order.pk, reason="fraud"), 0.01 * (round_ % 2)),
            nudged(lambda order=order: order_cancel(order_id=order.pk, reason="fraud"), 0.01 * (1 - round_ % 2)),
        ])

        assert OutboxMessage.objects.filter(order=order, kind="order-canceled").count() == 1
        assert_legal(order)
