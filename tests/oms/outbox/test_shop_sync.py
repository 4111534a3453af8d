"""The SHOP webhook adapter against the fake shop, in this process: what is sent (body, signature, key), and how
each answer is taken — delivered, tried again later (honouring Retry-After), FAILED with the answer kept, DEAD."""

import json
import socket
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from oms.models import OutboxMessage
from oms.outbox.dispatch import outbox_dispatch
from oms.outbox.messages import outbox_dead_list, outbox_retry, outbox_write
from oms.outbox.shop_webhook import ShopWebhookAdapter, retry_after_seconds, shop_body, shop_signature
from tests.factories import OrderFactory
from tests.fake_shop import SECRET

pytestmark = pytest.mark.django_db

SHOP = OutboxMessage.Destination.SHOP
PENDING, FAILED, DEAD, DELIVERED = (OutboxMessage.Status.PENDING, OutboxMessage.Status.FAILED,
                                    OutboxMessage.Status.DEAD, OutboxMessage.Status.DELIVERED)


def shop_message(order, kind="fulfillment", key=None, payload=None, now=None) -> OutboxMessage:
    with transaction.atomic():
        return outbox_write(kind=kind, destination=SHOP, order=order, idempotency_key=key or f"{kind}:{order.pk}",
                            payload=payload if payload is not None else {"external_id": order.external_id}, now=now)


def reload(message: OutboxMessage) -> OutboxMessage:
    return OutboxMessage.objects.get(pk=message.pk)


def test_a_delivered_message_is_signed_json_with_its_idempotency_key(shop_sync):
    order = OrderFactory()
    message = shop_message(order, payload={"lines": [{"external_line_id": "9", "quantity": 2}]})

    assert outbox_dispatch().delivered == 1

    [request] = shop_sync.requests()
    assert (request.key, request.kind, request.signature_ok, request.answer, request.attempt) == (
        message.idempotency_key, "fulfillment", True, "200", "1")
    assert request.body == {
        "idempotency_key": message.idempotency_key, "kind": "fulfillment",
        "created_at": message.created_at.isoformat().replace("+00:00", "Z"),
        "order": {"external_id": order.external_id, "name": order.name},
        "payload": {"lines": [{"external_line_id": "9", "quantity": 2}]},
    }
    assert (reload(message).status, reload(message).attempts) == (DELIVERED, 1)
    assert outbox_dispatch().delivered == 0  # never sent again
    assert len(shop_sync.requests()) == 1


def test_every_send_of_one_message_carries_the_same_bytes_and_signature():
    order = OrderFactory()
    message = shop_message(order, payload={"b": 1, "a": [1, 2]})
    first = shop_body(message)
    again = shop_body(reload(message))
    assert first == again
    assert json.loads(first)["payload"] == {"a": [1, 2], "b": 1}
    assert shop_signature(first, "s").startswith("sha256=") and len(shop_signature(first, "s")) == 71
    assert shop_signature(first, "s") != shop_signature(first, "t")


def test_a_wrong_secret_is_refused_by_the_shop_and_the_message_is_failed(shop_sync, settings):
    settings.SHOP_SYNC_SECRET = "not-" + SECRET
    message = shop_message(OrderFactory())

    assert outbox_dispatch().failed == 1

    message = reload(message)
    assert (message.status, message.attempts) == (FAILED, 1)
    assert message.last_error.startswith("permanent: HTTP 401")


@pytest.mark.parametrize("status", [500, 502, 503, 408])
def test_a_server_error_is_tried_again_later(shop_sync, status):
    shop_sync.script = [status]
    message = shop_message(OrderFactory())
    now = timezone.now()

    assert outbox_dispatch(now=now).retrying == 1

    message = reload(message)
    assert (message.status, message.attempts) == (PENDING, 1)
    assert message.last_error.startswith(f"TemporaryDeliveryError: HTTP {status}")
    assert message.due_at > now
    assert outbox_dispatch(now=message.due_at).delivered == 1
    assert shop_sync.accepted() == {message.idempotency_key: 1}


def test_a_429_waits_at_least_for_its_retry_after(shop_sync):
    shop_sync.script, shop_sync.retry_after = [429], 120
    message = shop_message(OrderFactory())
    now = timezone.now()

    outbox_dispatch(now=now)

    message = reload(message)
    assert message.status == PENDING
    assert (message.due_at - now).total_seconds() >= 120
    assert outbox_dispatch(now=now + timedelta(seconds=119)).delivered == 0
    assert outbox_dispatch(now=now + timedelta(seconds=121)).delivered == 1


def test_retry_after_is_read_as_seconds_or_as_an_http_date():
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("30", now=now) == 30
    assert retry_after_seconds("Wed, 02 Dec 2026 12:01:30 GMT", now=now) == 90
    assert retry_after_seconds("Wed, 02 Dec 2026 11:00:00 GMT", now=now) == 0
    assert retry_after_seconds("soon", now=now) is None
    assert retry_after_seconds(None) is None


def test_a_slow_shop_is_given_up_on_after_the_timeout_and_tried_again(shop_sync, settings):
    settings.SHOP_SYNC_TIMEOUT = 0.3
    shop_sync.script, shop_sync.slow_seconds = ["slow"], 1.0
    message = shop_message(OrderFactory())

    assert outbox_dispatch().retrying == 1

    message = reload(message)
    assert (message.status, message.last_error) == (PENDING, "TemporaryDeliveryError: no answer within 0.3 s")
    outbox_dispatch(now=message.due_at)
    assert reload(message).status == DELIVERED
    assert [(r.key, r.answer) for r in shop_sync.requests()] == [(message.idempotency_key, "late"),
                                                                 (message.idempotency_key, "200")]


def test_a_shop_that_refuses_connections_is_tried_again(shop_sync, settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        settings.SHOP_SYNC_URL = f"http://127.0.0.1:{probe.getsockname()[1]}/sync"  # nothing listens there
    message = shop_message(OrderFactory())

    assert outbox_dispatch().retrying == 1

    message = reload(message)
    assert message.status == PENDING
    assert message.last_error.startswith("TemporaryDeliveryError: cannot reach the shop")


@pytest.mark.parametrize("status", [400, 404, 409, 422])
def test_another_4xx_fails_the_message_with_the_answer_kept_and_holds_the_orders_next_message(shop_sync, status):
    order = OrderFactory()
    fulfillment = shop_message(order)
    completion = shop_message(order, kind="order-completed")
    shop_sync.script = [status]

    result = outbox_dispatch(now=timezone.now() + timedelta(hours=1))

    assert (result.failed, result.delivered) == (1, 0)
    fulfillment = reload(fulfillment)
    assert (fulfillment.status, fulfillment.attempts) == (FAILED, 1)
    assert fulfillment.last_error.startswith(f"permanent: HTTP {status}")
    assert '{"error": "no"}' in fulfillment.last_error  # the shop's answer, for a person to read
    assert reload(completion).status == PENDING  # never the completion before its fulfillment
    assert outbox_dead_list() == [fulfillment]

    assert outbox_retry(message_id=fulfillment.pk) == 1
    outbox_dispatch()

    assert shop_sync.accepted_keys() == [fulfillment.idempotency_key, completion.idempotency_key]


def test_a_redirect_is_not_followed_but_failed(shop_sync):
    shop_sync.script = [302]
    message = shop_message(OrderFactory())
    outbox_dispatch()
    assert reload(message).status == FAILED
    assert "HTTP 302" in reload(message).last_error


def test_a_message_is_dead_after_the_configured_attempts_and_the_command_retries_it(shop_sync, settings, capsys):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    shop_sync.default = 500
    message = shop_message(OrderFactory())
    now = timezone.now()
    for _ in range(3):
        outbox_dispatch(now=now)
        now = reload(message).due_at
    message = reload(message)
    assert (message.status, message.attempts) == (DEAD, 3)
    assert [r.answer for r in shop_sync.requests()] == ["500"] * 3

    call_command("outbox", "list", "--dead")
    assert f"{message.pk}\tDEAD\tSHOP\tfulfillment" in capsys.readouterr().out
    shop_sync.default = 200
    call_command("outbox", "retry", "--all")
    call_command("outbox", "dispatch")

    assert reload(message).status == DELIVERED
    assert shop_sync.accepted() == {message.idempotency_key: 1}


def test_the_adapter_needs_its_url_and_secret(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.SHOP_SYNC_URL = ""
    with pytest.raises(ImproperlyConfigured, match="SHOP_SYNC_URL"):
        ShopWebhookAdapter()
