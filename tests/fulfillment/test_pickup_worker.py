"""Pickup emails and tasks on the real Celery worker: the ready email through SMTP (once, with its QR image),
reminders and expiry with time controlled by backdating rows."""

from datetime import timedelta

import pytest
from django.utils import timezone

from fulfillment.models import HandoverJob, PutBackTask
from fulfillment.tasks import expire_pickups, send_pickup_reminders
from oms.models import OutboxMessage
from oms.outbox.email import message_id_for
from oms.tasks import dispatch_outbox
from tests.conftest import wait_for, worker_idle
from tests.factories import ProductFactory
from tests.fulfillment.store_world import stock, store_with_people
from tests.fulfillment.test_pickup import ready_pickup

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


def parts(message):
    found = {}
    for part in message.walk():
        if part.get_content_type() in ("text/plain", "text/html"):
            found[part.get_content_type()] = part.get_payload(decode=True).decode()
        elif part.get_content_maintype() == "image":
            found.setdefault("images", []).append((part["Content-ID"], part.get_payload(decode=True)))
    return found


def delivered(key):
    return OutboxMessage.objects.filter(idempotency_key=key, status=OutboxMessage.Status.DELIVERED).exists()


def test_the_worker_sends_the_ready_email_once_with_code_items_and_inline_qr(celery_worker, smtp_server):
    smtp_server.reset()
    facility, associate, _ = store_with_people("CHI-07")
    lamp = ProductFactory(name="Brass lamp")
    stock(facility, lamp, 3, "L-01")

    handover = ready_pickup(facility, associate, [(lamp, 2)])
    for _ in range(2):  # the dispatcher twice more, at once, besides the kick of the commit
        dispatch_outbox.delay()

    key = f"pickup-ready:{handover.pk}"
    wait_for(lambda: delivered(key), message="ready email delivered")
    wait_for(worker_idle, message="worker idle")
    [received] = [m for m in smtp_server.messages if m["Message-ID"] == message_id_for(key)]
    assert len(smtp_server.messages) == 1
    assert received["To"] == "ada@example.com" and "ready for pickup" in received["Subject"]
    body = parts(received)
    for text in (body["text/plain"], body["text/html"]):
        assert handover.pickup_code in text and "Brass lamp" in text and facility.name in text
    assert "2 × Brass lamp" in body["text/plain"]
    [(content_id, png)] = body["images"]
    assert content_id == "<pickup-code-qr>" and png.startswith(b"\x89PNG")
    assert 'src="cid:pickup-code-qr"' in body["text/html"]


def test_reminder_and_expiry_tasks_on_the_worker_follow_backdated_rows(celery_worker, smtp_server):
    facility, associate, _ = store_with_people("CHI-08")
    vase = ProductFactory(name="Glass vase")
    stock(facility, vase, 3)
    handover = ready_pickup(facility, associate, [(vase, 1)])
    past = timezone.now() - timedelta(minutes=5)
    HandoverJob.objects.filter(pk=handover.pk).update(remind_at=past)

    send_pickup_reminders.delay()
    wait_for(lambda: HandoverJob.objects.get(pk=handover.pk).reminded_at, message="reminder sent")
    send_pickup_reminders.delay()
    wait_for(worker_idle, message="worker idle")
    assert OutboxMessage.objects.filter(kind="pickup-reminder").count() == 1
    assert HandoverJob.objects.get(pk=handover.pk).status == HandoverJob.Status.OPEN

    HandoverJob.objects.filter(pk=handover.pk).update(expires_at=past)
    expire_pickups.delay()
    wait_for(lambda: HandoverJob.objects.get(pk=handover.pk).status == HandoverJob.Status.CANCELED,
             message="pickup expired")
    wait_for(worker_idle, message="worker idle")
    assert PutBackTask.objects.filter(order=handover.order, status=PutBackTask.Status.OPEN).count() == 1
    wait_for(lambda: delivered(f"pickup-expired:{handover.pk}"), message="expiry email delivered")
