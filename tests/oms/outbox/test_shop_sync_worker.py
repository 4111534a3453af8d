"""Shop sync on real Celery workers and a fake shop (tests/fake_shop.py): an outage of every kind, a worker killed
mid-delivery, Redis stopped while orders complete. Every message arrives, in order per order, and a message the
shop accepted (2xx) is never sent again.

Orders complete through the real counter handover, which writes `fulfillment` then `order-completed`. The test
plays the periodic sweep (beat) by sending `dispatch_outbox` now and then, except in the Redis test, whose own
worker runs its own beat.
"""

import os
import shutil
import time

import pytest
from celery import Celery
from django.conf import settings
from django.utils import timezone

from fulfillment.counter import pickup_hand_over
from oms.models import Order, OutboxMessage
from oms.outbox import messages as outbox
from oms.tasks import dispatch_outbox
from tests.conftest import ARTIFACTS, wait_for, worker_environment, worker_idle
from tests.factories import OrderFactory, ProductFactory
from tests.fake_shop import FakeShop
from tests.fulfillment.counter_world import ready_pickup
from tests.fulfillment.store_world import stock, store_with_people
from tests.workers import RedisServer, worker_kill, worker_start, worker_stop

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]

SHOP = OutboxMessage.Destination.SHOP


@pytest.fixture
def store():
    facility, associate, _ = store_with_people("SYNC-01")
    return facility, associate


def complete_pickup_orders(store, count: int) -> list[Order]:
    """`count` pickup orders picked and handed to their customers: each writes fulfillment, then completion."""
    facility, associate = store
    orders = []
    for _ in range(count):
        product = ProductFactory()
        stock(facility, product, 5)
        pickup = ready_pickup(facility, associate, [(product, 1)])
        pickup_hand_over(handover_id=pickup.pk, facility_id=facility.pk, actor=associate, version=None)
        orders.append(pickup.order)
    return orders


def shop_keys(orders: list[Order]) -> dict[int, list[str]]:
    """Per order, its SHOP messages' keys in the order they were written."""
    keys: dict[int, list[str]] = {order.pk: [] for order in orders}
    for order_id, key in OutboxMessage.objects.filter(order__in=orders, destination=SHOP).order_by("pk") \
            .values_list("order", "idempotency_key"):
        keys[order_id].append(key)
    return keys


def all_delivered(orders: list[Order], *, sweep: bool = True) -> bool:
    """Every shop message and email of `orders` delivered (ERP records wait for the export run: not ours here)."""
    undelivered = (OutboxMessage.objects.filter(order__in=orders).exclude(destination=OutboxMessage.Destination.ERP)
                   .exclude(status=OutboxMessage.Status.DELIVERED))
    if undelivered.exists():
        if sweep:
            dispatch_outbox.delay()  # what beat's sweep does every OUTBOX_SWEEP_SECONDS
            time.sleep(0.3)
        return False
    return True


def wait_delivered(orders: list[Order], *, shop: FakeShop, sweep: bool = True, timeout: float = 60) -> None:
    """Wait until every message of `orders` is DELIVERED; on a timeout, say where each one stands."""
    try:
        wait_for(lambda: all_delivered(orders, sweep=sweep), timeout=timeout, message="every message delivered")
    except AssertionError as exc:
        stuck = list(OutboxMessage.objects.filter(order__in=orders).exclude(destination=OutboxMessage.Destination.ERP)
                     .exclude(status=OutboxMessage.Status.DELIVERED)
                     .values_list("idempotency_key", "status", "attempts", "due_at", "last_error"))
        answers = [(request.key, request.answer) for request in shop.requests()][-20:]
        raise AssertionError(f"{exc}\nnot delivered: {stuck}\nthe shop's last answers: {answers}") from None


def assert_each_accepted_once_in_order(shop: FakeShop, orders: list[Order]) -> None:
    keys = shop_keys(orders)
    expected = [key for per_order in keys.values() for key in per_order]
    accepted = shop.accepted()
    assert {key: accepted.get(key, 0) for key in expected} == {key: 1 for key in expected}
    for per_order in keys.values():
        assert [kind.split(":")[0] for kind in per_order] == ["fulfillment", "order-completed"]
        positions = [shop.accepted_keys().index(key) for key in per_order]
        assert positions == sorted(positions), "a completion reached the shop before its fulfillment"
    requests = shop.requests()
    for key in expected:  # after its 2xx, a message is never sent again
        answers = [request.answer for request in requests if request.key == key]
        assert answers[-1].startswith("2"), (key, answers)
    assert all(request.signature_ok for request in requests)


def test_shop_down_refusing_then_failing_then_slow_then_back_gets_every_message_once_in_order(
    celery_worker, shop_sync, store,
):
    wait_for(worker_idle, message="worker idle")
    shop = shop_sync
    shop.stop()  # connection refused
    orders = complete_pickup_orders(store, 3)
    time.sleep(1.0)
    dispatch_outbox.delay()
    refused = wait_for(lambda: list(OutboxMessage.objects.filter(order__in=orders, destination=SHOP, attempts__gte=1)
                                    .values_list("status", "last_error")), message="a try against the stopped shop")
    assert {status for status, _ in refused} == {OutboxMessage.Status.PENDING}
    assert all(error.startswith("TemporaryDeliveryError: cannot reach the shop") for _, error in refused)

    shop.start()  # listening again, but not well yet
    shop.script = [500, 503, 502, "slow", 429, 500, "slow"]
    orders += complete_pickup_orders(store, 2)
    wait_delivered(orders, shop=shop)

    assert shop.script == [] and {"late", "500", "503", "429"} <= {request.answer for request in shop.requests()}
    assert_each_accepted_once_in_order(shop, orders)
    assert OutboxMessage.objects.filter(order__in=orders, destination=SHOP).count() == 2 * len(orders)
    wait_for(worker_idle, message="worker idle")
    assert_each_accepted_once_in_order(shop, orders)  # nothing more arrived since


QUEUE = f"shop-sync-kill-test-{os.getpid()}"  # only this test's workers read it


def test_worker_killed_mid_delivery_delivers_after_the_restart_with_the_same_idempotency_key(
    celery_worker, smtp_server, shop_sync,
):
    ARTIFACTS.mkdir(exist_ok=True)
    wait_for(worker_idle, message="worker idle")
    shop = shop_sync
    shop.script = ["hold"]  # the shop takes the request and never answers
    now = timezone.now()
    order = OrderFactory()
    # Written with the ORM, not outbox_write: its kick would go to the session's worker.
    message = OutboxMessage.objects.create(
        kind="fulfillment", destination=SHOP, order=order, idempotency_key=f"fulfillment:kill:{order.pk}",
        payload={"external_id": order.external_id}, due_at=now, created_at=now,
    )
    env = worker_environment(smtp_port=smtp_server.port, shop_url=shop.url)
    first = worker_start("shop-first", env, queue=QUEUE)
    try:
        dispatch_outbox.apply_async(queue=QUEUE)
        assert shop.held.wait(timeout=30), "the first worker never sent the message"
        held_at = time.monotonic()
        worker_kill(first)
    finally:
        worker_kill(first)
        shop.release.set()
    assert OutboxMessage.objects.get(pk=message.pk).status == OutboxMessage.Status.PENDING

    # The killed worker never acknowledged its task: after the visibility timeout the broker hands it to the next
    # worker (acks_late, reject_on_worker_lost), which finds the row unlocked (the killed connection is gone).
    time.sleep(max(0.0, held_at + settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] + 0.5
                   - time.monotonic()))
    second = worker_start("shop-second", env, queue=QUEUE)
    try:
        wait_for(lambda: OutboxMessage.objects.get(pk=message.pk).status == OutboxMessage.Status.DELIVERED,
                 timeout=30, message="delivered after the restart")
    finally:
        worker_stop(second)

    assert [(r.key, r.answer) for r in shop.requests()] == [(message.idempotency_key, "dropped"),
                                                            (message.idempotency_key, "200")]
    assert OutboxMessage.objects.get(pk=message.pk).attempts == 1  # the killed try left nothing behind


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
def test_redis_stopped_while_orders_complete_loses_no_shop_message(celery_worker, smtp_server, store, tmp_path,
                                                                   settings, monkeypatch):
    ARTIFACTS.mkdir(exist_ok=True)
    wait_for(worker_idle, message="worker idle")
    redis = RedisServer(tmp_path)
    redis.start()
    shop = FakeShop()
    # This process queues its kicks on the test's own Redis; the session's worker never sees them.
    own_app = Celery("storefill-redis-outage", set_as_current=False)
    own_app.conf.broker_write_url = redis.url  # broker_url would lose to the CELERY_BROKER_URL variable
    monkeypatch.setattr(outbox, "celery_app", own_app)
    settings.OUTBOX_ADAPTERS = {**settings.OUTBOX_ADAPTERS, "SHOP": "oms.outbox.shop_webhook.ShopWebhookAdapter"}
    env = worker_environment(smtp_port=smtp_server.port, shop_url=shop.url)
    env["CELERY_BROKER_URL"], env["OUTBOX_SWEEP_SECONDS"] = redis.url, "1"
    worker = worker_start("shop-redis", env, beat_schedule=str(tmp_path / "beat-schedule"))
    try:
        before = complete_pickup_orders(store, 2)
        wait_delivered(before, shop=shop, sweep=False, timeout=30)

        redis.stop()
        started = time.monotonic()
        during = complete_pickup_orders(store, 3)  # the kicks cannot reach the broker; the commits go through
        assert time.monotonic() - started < 15, "completing orders waited for the broker"
        assert OutboxMessage.objects.filter(order__in=during, destination=SHOP).count() == 6
        time.sleep(2)
        assert not all_delivered(during, sweep=False)

        redis.start()  # the worker reconnects and its beat's sweep delivers what waited
        wait_delivered(during, shop=shop, sweep=False)  # delivered after Redis is back
    finally:
        worker_stop(worker)
        redis.stop()
        shop.stop()
        own_app.close()

    assert_each_accepted_once_in_order(shop, before + during)
