"""The outbox dispatcher in-process, with recording adapters: due rows, ordering per (order, destination), retries
with backoff, DEAD and retry, two dispatchers at once, and the on-commit kick."""

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from celery import Celery
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from oms.models import OutboxMessage
from oms.outbox import messages as outbox
from oms.outbox.adapters import PermanentDeliveryError, TemporaryDeliveryError
from oms.outbox.dispatch import outbox_dispatch
from oms.outbox.messages import outbox_dead_list, outbox_retry, outbox_write
from tests.factories import OrderFactory

EMAIL, SHOP, ERP = OutboxMessage.Destination.EMAIL, OutboxMessage.Destination.SHOP, OutboxMessage.Destination.ERP
PENDING, FAILED = OutboxMessage.Status.PENDING, OutboxMessage.Status.FAILED
DELIVERED, DEAD = OutboxMessage.Status.DELIVERED, OutboxMessage.Status.DEAD


class RecordingAdapter:
    """Records what it delivers; `failures[key]` lists the errors the next tries of that key raise."""

    sent: list[str] = []
    failures: dict[str, list[Exception]] = {}
    pause = 0.0
    lock = threading.Lock()

    def deliver(self, message: OutboxMessage) -> None:
        with self.lock:
            errors = self.failures.get(message.idempotency_key)
            if errors:
                raise errors.pop(0)
        time.sleep(self.pause)
        with self.lock:
            self.sent.append(message.idempotency_key)


ADAPTER = f"{__name__}.RecordingAdapter"


@pytest.fixture(autouse=True)
def recording(settings):
    settings.OUTBOX_ADAPTERS = {EMAIL: ADAPTER}
    settings.STOREFILL_RETRY_BACKOFF = 10
    RecordingAdapter.sent, RecordingAdapter.failures, RecordingAdapter.pause = [], {}, 0.0
    return RecordingAdapter


def write(key: str, *, destination=EMAIL, order=None, now=None) -> OutboxMessage:
    with transaction.atomic():
        return outbox_write(kind="test", destination=destination, idempotency_key=key, payload={}, order=order,
                            now=now)


def status_of(key: str) -> str:
    return OutboxMessage.objects.get(idempotency_key=key).status


@pytest.mark.django_db
def test_due_message_is_delivered_once_and_never_sent_again(recording):
    write("mail:1")

    first, second = outbox_dispatch(), outbox_dispatch()

    assert (first.delivered, second.delivered) == (1, 0)
    assert recording.sent == ["mail:1"]
    message = OutboxMessage.objects.get()
    assert (message.status, message.attempts, message.delivered_at is not None) == (DELIVERED, 1, True)


@pytest.mark.django_db
def test_message_due_later_waits_until_its_time(recording):
    now = timezone.now()
    with transaction.atomic():
        outbox_write(kind="test", destination=EMAIL, idempotency_key="later:1", payload={},
                     due_at=now + timedelta(minutes=5), now=now)

    outbox_dispatch(now=now)
    assert recording.sent == []
    outbox_dispatch(now=now + timedelta(minutes=5))
    assert recording.sent == ["later:1"]


@pytest.mark.django_db
def test_shop_and_erp_messages_wait_untouched_while_their_destination_has_no_adapter(recording):
    order = OrderFactory()
    write("shop:1", destination=SHOP, order=order)
    write("erp:1", destination=ERP, order=order)

    outbox_dispatch(now=timezone.now() + timedelta(days=1))

    assert recording.sent == []
    assert list(OutboxMessage.objects.values_list("status", "attempts", "last_error")) == [(PENDING, 0, "")] * 2


@pytest.mark.django_db
def test_messages_of_one_order_and_destination_go_out_in_the_order_written(recording):
    order = OrderFactory()
    now = timezone.now()
    write("fulfillment:1", order=order, now=now)
    write("completion:1", order=order, now=now)
    recording.failures["fulfillment:1"] = [TemporaryDeliveryError("shop is down")]

    outbox_dispatch(now=now)
    assert recording.sent == []
    fulfillment = OutboxMessage.objects.get(idempotency_key="fulfillment:1")
    assert (fulfillment.status, fulfillment.attempts, fulfillment.last_error) == (
        PENDING, 1, "TemporaryDeliveryError: shop is down")  # waits for its retry
    assert status_of("completion:1") == PENDING

    outbox_dispatch(now=now + timedelta(hours=1))
    assert recording.sent == ["fulfillment:1", "completion:1"]


@pytest.mark.django_db
def test_a_stuck_shop_message_does_not_hold_up_the_customer_email_of_the_same_order(recording, settings):
    settings.OUTBOX_ADAPTERS = {EMAIL: ADAPTER, SHOP: ADAPTER}
    order = OrderFactory()
    write("shop-fulfillment:1", destination=SHOP, order=order)
    write("pickup-ready:1", destination=EMAIL, order=order)
    recording.failures["shop-fulfillment:1"] = [TemporaryDeliveryError("shop is down")]

    outbox_dispatch()

    assert recording.sent == ["pickup-ready:1"]
    assert OutboxMessage.objects.get(idempotency_key="shop-fulfillment:1").attempts == 1


@pytest.mark.django_db
def test_temporary_failures_back_off_exponentially_with_jitter_then_the_message_is_dead(recording, settings):
    settings.OUTBOX_MAX_ATTEMPTS, settings.OUTBOX_MAX_BACKOFF = 4, 3600
    now = timezone.now()
    write("flaky:1", now=now)
    recording.failures["flaky:1"] = [TemporaryDeliveryError(f"try {n}") for n in range(1, 5)]

    waits = []
    for _ in range(3):
        outbox_dispatch(now=now)
        message = OutboxMessage.objects.get()
        assert message.status == PENDING
        waits.append((message.due_at - now).total_seconds())
        assert outbox_dispatch(now=message.due_at - timedelta(milliseconds=1)).retrying == 0  # not due before
        now = message.due_at
    outbox_dispatch(now=now)

    # base 10 s doubling, of which a random half is taken off: 5–10 s, 10–20 s, 20–40 s
    assert [low <= wait <= 2 * low for low, wait in zip([5, 10, 20], waits, strict=True)] == [True] * 3
    message = OutboxMessage.objects.get()
    assert (message.status, message.attempts, message.last_error) == (DEAD, 4, "TemporaryDeliveryError: try 4")
    assert recording.sent == []


@pytest.mark.django_db
def test_an_unexpected_adapter_error_is_retried_like_a_temporary_one(recording):
    write("buggy:1")
    recording.failures["buggy:1"] = [KeyError("payload")]

    outbox_dispatch()

    message = OutboxMessage.objects.get()
    assert (message.status, message.attempts, message.last_error) == (PENDING, 1, "KeyError: 'payload'")
    assert message.due_at > timezone.now()


@pytest.mark.django_db
def test_a_permanent_failure_is_failed_at_once_and_holds_the_order_up_until_a_person_retries_it(recording):
    order = OrderFactory()
    write("fulfillment:1", order=order)
    write("completion:1", order=order)
    write("other-order:1", order=OrderFactory())
    recording.failures["fulfillment:1"] = [PermanentDeliveryError("HTTP 422: unknown line")]

    assert outbox_dispatch(now=timezone.now() + timedelta(days=1)).counts() == {
        "delivered": 1, "retrying": 0, "failed": 1, "dead": 0, "more": False}

    message = OutboxMessage.objects.get(idempotency_key="fulfillment:1")
    assert (message.status, message.attempts, message.last_error) == (FAILED, 1, "permanent: HTTP 422: unknown line")
    assert recording.sent == ["other-order:1"]  # never the completion before its fulfillment
    outbox_retry(message_id=message.pk)
    outbox_dispatch()
    assert recording.sent == ["other-order:1", "fulfillment:1", "completion:1"]


@pytest.mark.django_db
def test_a_dead_message_holds_the_order_up_too(recording, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 1
    order = OrderFactory()
    write("fulfillment:1", order=order)
    write("completion:1", order=order)
    recording.failures["fulfillment:1"] = [TemporaryDeliveryError("shop is down")]

    outbox_dispatch(now=timezone.now() + timedelta(days=1))

    assert (status_of("fulfillment:1"), status_of("completion:1")) == (DEAD, PENDING)
    assert recording.sent == []


@pytest.mark.django_db
def test_retry_puts_a_dead_message_back_in_line_and_it_is_delivered(recording):
    write("bounce:1")
    write("bounce:2")
    recording.failures["bounce:1"] = [PermanentDeliveryError("mailbox full")]
    recording.failures["bounce:2"] = [PermanentDeliveryError("mailbox full")]
    outbox_dispatch()
    assert [m.idempotency_key for m in outbox_dead_list()] == ["bounce:1", "bounce:2"]

    assert outbox_retry(message_id=OutboxMessage.objects.get(idempotency_key="bounce:1").pk) == 1
    message = OutboxMessage.objects.get(idempotency_key="bounce:1")
    assert (message.status, message.attempts, message.last_error) == (PENDING, 0, "permanent: mailbox full")
    outbox_dispatch()

    assert recording.sent == ["bounce:1"]
    assert [m.idempotency_key for m in outbox_dead_list()] == ["bounce:2"]
    assert outbox_retry(all_dead=True) == 1
    outbox_dispatch()
    assert recording.sent == ["bounce:1", "bounce:2"]


@pytest.mark.django_db
def test_outbox_command_lists_dead_messages_retries_them_and_dispatches(recording, capsys):
    write("bounce:1")
    recording.failures["bounce:1"] = [PermanentDeliveryError("mailbox full")]
    call_command("outbox", "dispatch")
    dead_id = OutboxMessage.objects.get().pk

    call_command("outbox", "list", "--dead")
    listing = capsys.readouterr().out
    call_command("outbox", "retry", str(dead_id))
    call_command("outbox", "dispatch")

    assert f"{dead_id}\tFAILED\tEMAIL\ttest" in listing and "permanent: mailbox full" in listing
    assert capsys.readouterr().out == "1 message(s) back in line\ndelivered 1, retrying 0, failed 0, dead 0\n"
    assert status_of("bounce:1") == DELIVERED


@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_at_once_send_each_message_exactly_once_and_in_order(recording):
    recording.pause = 0.005
    orders = [OrderFactory() for _ in range(6)]
    now = timezone.now()
    # Rows written with the ORM: outbox_write would kick the session's worker, a third dispatcher.
    OutboxMessage.objects.bulk_create(
        [OutboxMessage(kind="test", destination=EMAIL, order=order, idempotency_key=f"{order.pk}:{n}",
                       due_at=now, created_at=now) for n in range(5) for order in orders]
        + [OutboxMessage(kind="test", destination=EMAIL, idempotency_key=f"none:{n}", due_at=now, created_at=now)
           for n in range(10)]
    )
    barrier = threading.Barrier(4)
    errors = []

    def dispatcher():
        try:
            barrier.wait()
            outbox_dispatch()
        except Exception as exc:  # pragma: no cover - shown by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=dispatcher) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert Counter(recording.sent) == Counter(OutboxMessage.objects.values_list("idempotency_key", flat=True))
    assert set(Counter(recording.sent).values()) == {1}
    assert OutboxMessage.objects.exclude(status=DELIVERED).count() == 0
    for order in orders:
        sent = [key for key in recording.sent if key.startswith(f"{order.pk}:")]
        assert sent == [f"{order.pk}:{n}" for n in range(5)]


@pytest.mark.django_db
def test_outbox_write_kicks_the_dispatcher_once_per_transaction_and_only_for_a_destination_with_an_adapter(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks() as shop_only:
        write("shop:1", destination=SHOP)
    with django_capture_on_commit_callbacks() as emails, transaction.atomic():
        for n in range(3):
            outbox_write(kind="test", destination=EMAIL, idempotency_key=f"mail:{n}", payload={})

    assert (len(shop_only), len(emails)) == (0, 1)


@pytest.mark.django_db(transaction=True)
def test_a_kick_with_the_broker_down_neither_fails_nor_delays_the_commit(monkeypatch):
    monkeypatch.setattr(outbox, "celery_app", Celery("broker-down", broker="redis://127.0.0.1:1/0"))

    started = time.monotonic()
    write("mail:1")

    assert time.monotonic() - started < 1
    assert status_of("mail:1") == PENDING
