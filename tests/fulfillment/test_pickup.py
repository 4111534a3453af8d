"""Pickup orders once picked: the code and the ready email, resend, reminders, expiry into a put-back."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from fulfillment.due import pickup_expires_at
from fulfillment.ledger import stock_ledger_problems
from fulfillment.models import HandoverJob, PutBackTask
from fulfillment.picking import pick_job_scan, pick_job_start
from fulfillment.pickup import CODE_ALPHABET, CODE_LENGTH, pickup_reminders_send, pickup_resend, pickups_expire
from fulfillment.putback import put_back_confirm
from oms.models import Order, OrderLine, OrderNote, OutboxMessage
from oms.outbox.email import email_build
from stores.models import StockLevel
from tests.factories import FacilityFactory, ProductFactory
from tests.fulfillment.store_world import routed_order, stock, store_with_people

pytestmark = pytest.mark.django_db
CHICAGO = ZoneInfo("America/Chicago")


def ready_pickup(facility, associate, items, *, now=None):
    """A pickup order picked in full at `facility`: its customer handover, ready."""
    order, job = routed_order(facility, items, pickup=True, now=now)
    pick_job_start(job_id=job.pk, facility_id=facility.pk, actor=associate, version=job.version, now=now)
    for product, quantity in items:
        for _ in range(quantity):
            job.refresh_from_db()
            pick_job_scan(job_id=job.pk, facility_id=facility.pk, actor=associate, version=job.version,
                          code=product.barcode, now=now)
    return HandoverJob.objects.get(order=order, channel=HandoverJob.Channel.CUSTOMER)


@pytest.fixture
def store():
    facility, associate, manager = store_with_people(address1="233 S Wacker Dr", postal_code="60606",
                                                     phone="+1 312 555 0100")
    return facility, associate, manager


@pytest.fixture
def products(store):
    facility, _, _ = store
    lamp, vase = ProductFactory(name="Brass lamp"), ProductFactory(name="Glass vase")
    stock(facility, lamp, 4, "L-01")
    stock(facility, vase, 4, "V-02")
    return lamp, vase


def test_a_picked_pickup_gets_an_unguessable_code_and_its_times(store, products):
    facility, associate, _ = store
    lamp, vase = products
    now = timezone.now()

    first = ready_pickup(facility, associate, [(lamp, 1), (vase, 2)], now=now)
    second = ready_pickup(facility, associate, [(lamp, 1)], now=now)

    for handover in (first, second):
        assert len(handover.pickup_code) == CODE_LENGTH and set(handover.pickup_code) <= set(CODE_ALPHABET)
        assert handover.status == HandoverJob.Status.OPEN
    assert first.pickup_code != second.pickup_code
    assert first.remind_at == now + timedelta(hours=48)
    assert first.expires_at == pickup_expires_at(facility=facility, ready_at=now)


def test_expiry_is_at_closing_time_seven_local_days_later():
    store = FacilityFactory(time_zone="America/Chicago")  # 09:00-18:00 Monday to Saturday, closed Sunday
    tuesday_night = datetime(2025, 3, 4, 23, 30, tzinfo=CHICAGO)

    assert pickup_expires_at(facility=store, ready_at=tuesday_night) == datetime(2025, 3, 11, 18, 0, tzinfo=CHICAGO)
    saturday = datetime(2025, 3, 1, 10, 0, tzinfo=CHICAGO)  # seven days later is a Saturday: open
    assert pickup_expires_at(facility=store, ready_at=saturday) == datetime(2025, 3, 8, 18, 0, tzinfo=CHICAGO)
    sunday = datetime(2025, 3, 2, 10, 0, tzinfo=CHICAGO)  # seven days later is a closed Sunday: Monday's closing
    assert pickup_expires_at(facility=store, ready_at=sunday) == datetime(2025, 3, 10, 18, 0, tzinfo=CHICAGO)


def test_the_ready_email_is_written_with_the_pick_and_names_code_items_store_and_hours(store, products):
    facility, associate, _ = store
    lamp, vase = products

    handover = ready_pickup(facility, associate, [(lamp, 1), (vase, 2)])

    message = OutboxMessage.objects.get(idempotency_key=f"pickup-ready:{handover.pk}")
    assert (message.kind, message.destination) == ("pickup-ready", OutboxMessage.Destination.EMAIL)
    mail = email_build(message)
    assert mail.to == ["ada@example.com"]
    assert mail.subject == f"Your order {handover.order.name} is ready for pickup at {facility.name}"
    html = mail.alternatives[0][0]
    for body in (mail.body, html):
        assert handover.pickup_code in body and "Brass lamp" in body and "Glass vase" in body
        assert facility.name in body and "233 S Wacker Dr" in body and "Monday" in body and "09:00–18:00" in body
        assert "Sunday" in body and "closed" in body
    assert "2 × Glass vase" in mail.body
    images = [part for part in mail.attachments if getattr(part, "get_content_maintype", lambda: "")() == "image"]
    assert [image["Content-ID"] for image in images] == ["<pickup-code-qr>"]
    assert 'src="cid:pickup-code-qr"' in html
    assert images[0].get_payload(decode=True).startswith(b"\x89PNG")


def test_resend_writes_a_new_message_and_logs_it(store, products):
    facility, associate, _ = store
    handover = ready_pickup(facility, associate, [(products[0], 1)])

    pickup_resend(handover_id=handover.pk, facility_id=facility.pk, actor=associate)
    pickup_resend(handover_id=handover.pk, facility_id=facility.pk, actor=associate)

    keys = set(OutboxMessage.objects.filter(kind="pickup-ready").values_list("idempotency_key", flat=True))
    assert keys == {f"pickup-ready:{handover.pk}", f"pickup-ready:{handover.pk}:resend:1",
                    f"pickup-ready:{handover.pk}:resend:2"}
    assert OrderNote.objects.filter(order=handover.order, text__contains="sent again").count() == 2


def test_resend_refuses_another_stores_pickup(store, products):
    facility, associate, _ = store
    handover = ready_pickup(facility, associate, [(products[0], 1)])
    other, other_associate, _ = store_with_people("NYC-01")

    with pytest.raises(Exception, match="does not exist in this store"):
        pickup_resend(handover_id=handover.pk, facility_id=other.pk, actor=other_associate)


def test_a_reminder_goes_once_when_its_time_has_come(store, products):
    facility, associate, _ = store
    handover = ready_pickup(facility, associate, [(products[0], 1)])
    assert pickup_reminders_send() == 0
    HandoverJob.objects.filter(pk=handover.pk).update(remind_at=timezone.now() - timedelta(minutes=1))

    assert pickup_reminders_send() == 1
    assert pickup_reminders_send() == 0

    message = OutboxMessage.objects.get(kind="pickup-reminder")
    assert message.idempotency_key == f"pickup-reminder:{handover.pk}"
    assert handover.pickup_code in email_build(message).body


def test_an_uncollected_pickup_expires_into_a_put_back_and_the_customer_and_shop_are_told(store, products):
    facility, associate, _ = store
    lamp, vase = products
    handover = ready_pickup(facility, associate, [(lamp, 1), (vase, 2)])
    HandoverJob.objects.filter(pk=handover.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

    assert pickups_expire() == 1
    assert pickups_expire() == 0

    handover.refresh_from_db()
    assert (handover.status, handover.cancel_reason) == ("CANCELED", HandoverJob.CancelReason.CONSUMER_NO_SHOW)
    order = Order.objects.get(pk=handover.order_id)
    assert order.status == Order.Status.CANCELED
    assert set(OrderLine.objects.filter(order=order).values_list("status", flat=True)) == {"CANCELED"}
    task = PutBackTask.objects.get(order=order)
    assert task.status == PutBackTask.Status.OPEN and task.reason == PutBackTask.Reason.CONSUMER_NO_SHOW
    assert sorted(task.items.values_list("product__name", "quantity")) == [("Brass lamp", 1), ("Glass vase", 2)]
    # The units are still reserved: they are on the pickup shelf until an associate puts them back.
    assert StockLevel.objects.get(facility=facility, product=vase).reserved == 2
    assert stock_ledger_problems() == []
    assert OutboxMessage.objects.filter(kind="lines-canceled", destination="SHOP", order=order).exists()
    expired = OutboxMessage.objects.get(kind="pickup-expired")
    assert "Glass vase" in email_build(expired).body

    put_back_confirm(task_id=task.pk, facility_id=facility.pk, actor=associate)

    level = StockLevel.objects.get(facility=facility, product=vase)
    assert (level.on_hand, level.reserved) == (4, 0)
    assert stock_ledger_problems() == []
