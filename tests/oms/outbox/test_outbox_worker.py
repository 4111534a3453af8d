"""The outbox on real Celery workers: a committed email reaches an SMTP server, and a worker killed in the middle of
sending delivers it after the restart with the same Message-ID.

The workers import this module (conftest's worker_environment sets OUTBOX_EMAIL_MODULES) for its email kind.
"""

import base64
import os
import time

import pytest
from django.conf import settings
from django.db import transaction
from django.template import engines
from django.utils import timezone

from oms.models import Order, OutboxMessage
from oms.outbox.email import Email, InlineImage, email_kind, message_id_for
from oms.outbox.messages import outbox_write
from oms.tasks import dispatch_outbox
from tests.conftest import ARTIFACTS, wait_for, worker_environment, worker_idle
from tests.factories import OrderFactory
from tests.workers import worker_kill, worker_start, worker_stop

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]

KIND = "outbox-worker-test"
PIXEL = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=")


@email_kind(KIND)
def outbox_worker_test_email(message: OutboxMessage) -> Email:
    order = Order.objects.get(pk=message.payload["order"])
    return Email(
        to=[message.payload["to"]], subject=f"Order {order.name}", context={"order": order},
        images=[InlineImage(cid="code", content=PIXEL)],
        text_template=engines["django"].from_string("Order {{ order.name }}"),
        html_template=engines["django"].from_string('<p>Order {{ order.name }}</p><img src="cid:code">'),
    )


def delivered(message: OutboxMessage) -> bool:
    return OutboxMessage.objects.get(pk=message.pk).status == OutboxMessage.Status.DELIVERED


def test_worker_delivers_a_committed_email_through_smtp(celery_worker, smtp_server):
    smtp_server.reset()
    order = OrderFactory()
    with transaction.atomic():  # the kick leaves on commit
        message = outbox_write(kind=KIND, destination=OutboxMessage.Destination.EMAIL, order=order,
                               idempotency_key=f"{KIND}:{order.pk}", payload={"order": order.pk, "to": "a@example.com"})

    wait_for(lambda: delivered(message), message="email delivered")
    [received] = smtp_server.messages
    assert (received["To"], received["Subject"]) == ("a@example.com", f"Order {order.name}")
    assert received["Message-ID"] == message_id_for(message.idempotency_key)
    assert [part["Content-ID"] for part in received.walk() if part.get_content_maintype() == "image"] == ["<code>"]
    wait_for(worker_idle, message="worker idle")


QUEUE = f"outbox-kill-test-{os.getpid()}"  # only this test's workers read it: the session's worker never sees the task


def test_worker_killed_mid_send_delivers_after_restart_with_the_same_message_id(smtp_server):
    smtp_server.reset()
    ARTIFACTS.mkdir(exist_ok=True)
    order = OrderFactory()
    now = timezone.now()
    # Written with the ORM, not outbox_write: its kick would go to the session's worker.
    message = OutboxMessage.objects.create(
        kind=KIND, destination=OutboxMessage.Destination.EMAIL, order=order, idempotency_key=f"{KIND}:{order.pk}",
        payload={"order": order.pk, "to": "killed@example.com"}, due_at=now, created_at=now,
    )
    smtp_server.hold_for = "killed@example.com"  # keeps the message, never says 250
    first = worker_start("outbox-first", worker_environment(smtp_port=smtp_server.port), queue=QUEUE)
    try:
        dispatch_outbox.apply_async(queue=QUEUE)
        assert smtp_server.held.wait(timeout=30), "the first worker never sent the message"
        held_at = time.monotonic()
        worker_kill(first)
    finally:
        worker_kill(first)
        smtp_server.release()
    assert not delivered(message)

    # The killed worker never acknowledged its task: once the visibility timeout has passed, the broker gives it
    # to the next worker that starts (acks_late, reject_on_worker_lost). No new task is sent.
    time.sleep(max(0.0, held_at + settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] + 0.5
                   - time.monotonic()))
    second = worker_start("outbox-second", worker_environment(smtp_port=smtp_server.port), queue=QUEUE)
    try:
        wait_for(lambda: delivered(message), timeout=30, message="email delivered after the restart")
    finally:
        worker_stop(second)

    ids = [received["Message-ID"] for received in smtp_server.messages]
    assert ids == [message_id_for(message.idempotency_key)] * 2
    assert OutboxMessage.objects.get(pk=message.pk).attempts == 1  # the killed try left nothing behind
