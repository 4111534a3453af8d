"""Pickup orders once picked: ready for the customer (code, email), reminders, resends and expiry of uncollected ones.

The counter itself (search, handover, refusals) is fulfillment.counter; the put-back of units that
stay in the building is fulfillment.putback.
"""

import logging
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from fulfillment.counter import handover_lines
from fulfillment.due import pickup_expires_at
from fulfillment.errors import StoreRefusal
from fulfillment.models import HandoverJob, PutBackTask
from fulfillment.putback import put_back_create
from oms.core.history import record, transit
from oms.core.lines import order_lines_cancel_held
from oms.models import Order, OrderLine, OrderNote, OutboxMessage
from oms.outbox.messages import outbox_write
from stores.models import Facility

logger = logging.getLogger(__name__)

# No 0/O, 1/I/L, 2/Z, 5/S or 8/B: a code read aloud at the counter or typed from a phone is not mistaken.
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
CODE_LENGTH = 6  # 25^6 ≈ 244 million codes: not guessable from anything, and short enough to read out
EXPIRED_REASON = "not collected in time"


class PickupError(StoreRefusal):
    """A pickup action the handover's state does not allow."""


def pickup_code_new() -> str:
    """A random pickup code (secrets, not derived from the order): uniqueness is kept by the database."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def pickup_ready(*, handover: HandoverJob, facility: Facility, now: datetime) -> HandoverJob:
    """The items are picked and kept aside: give the handover its code and times and email the customer.

    Runs in the transaction that closed the pick job (the handover was just created): the
    ready-for-pickup email is written to the outbox there, with the key `pickup-ready:<handover id>`,
    so one ready event is one email however often the dispatcher runs.
    """
    handover.remind_at = now + timedelta(hours=facility.pickup_reminder_hours)
    handover.expires_at = pickup_expires_at(facility=facility, ready_at=now)
    for _ in range(10):
        handover.pickup_code = pickup_code_new()
        try:
            with transaction.atomic():  # a savepoint: a clash of codes must not undo the pick job's close
                handover.save(update_fields=["pickup_code", "remind_at", "expires_at"])
            break
        except IntegrityError:
            continue
    else:
        raise PickupError("could not find a free pickup code")
    if settings.PICKUP_READY_NOTIFIED_BY == "shop":
        _shop_ready_write(handover=handover, facility=facility, now=now)
    else:
        _email_write(handover=handover, kind="pickup-ready", key=f"pickup-ready:{handover.pk}", now=now)
    return handover


def _shop_ready_write(*, handover: HandoverJob, facility: Facility, now: datetime) -> OutboxMessage | None:
    """Tell the shop the pickup is ready, so that it notifies the customer (PICKUP_READY_NOTIFIED_BY "shop")."""
    order = handover.order
    lines = list(handover_lines(handover))
    return outbox_write(
        kind="pickup-ready", destination=OutboxMessage.Destination.SHOP, order=order, now=now,
        idempotency_key=f"pickup-ready:shop:{handover.pk}",
        payload={"external_id": order.external_id, "name": order.name, "facility": facility.code,
                 "lines": [{"external_line_id": line.external_line_id, "sku": line.sku, "quantity": line.quantity}
                           for line in lines]},
    )


def pickup_resend(*, handover_id: int, facility_id: int, actor, now: datetime | None = None) -> OutboxMessage:
    """Send the ready-for-pickup email again on purpose (the customer lost it): a new key, logged."""
    now = now or timezone.now()
    with transaction.atomic():
        handover = _handover_lock(handover_id=handover_id, facility_id=facility_id)
        if settings.PICKUP_READY_NOTIFIED_BY == "shop":
            raise PickupError("The shop sends the ready-for-pickup notification: send it again from the shop.",
                              status=409)
        sent = OutboxMessage.objects.filter(idempotency_key__startswith=f"pickup-ready:{handover.pk}").count()
        message = _email_write(handover=handover, kind="pickup-ready", now=now,
                               key=f"pickup-ready:{handover.pk}:resend:{sent}")
        OrderNote.objects.create(order_id=handover.order_id, actor=actor, at=now,
                                 text=f"Ready-for-pickup email sent again to {handover.order.email} (code "
                                      f"{handover.pickup_code}).")
    return message


def pickup_shelf_set(*, handover_id: int, facility_id: int, shelf: str, actor) -> HandoverJob:
    """Record where the items wait for the customer (shown at the counter)."""
    with transaction.atomic():
        handover = _handover_lock(handover_id=handover_id, facility_id=facility_id)
        handover.shelf = shelf.strip()[:32]
        handover.version += 1
        handover.save(update_fields=["shelf", "version"])
    return handover


def pickup_reminders_send(*, now: datetime | None = None) -> int:
    """Remind the customers whose items wait past their store's reminder time; return how many.

    One transaction per handover, rows claimed with SKIP LOCKED: two runs at once remind each customer
    once (the reminder's key is per handover as well).
    """
    now = now or timezone.now()
    sent = 0
    due = HandoverJob.objects.filter(channel=HandoverJob.Channel.CUSTOMER, status=HandoverJob.Status.OPEN,
                                     reminded_at__isnull=True, remind_at__lte=now).values_list("pk", flat=True)
    for handover_id in list(due):
        with transaction.atomic():
            handover = (HandoverJob.objects.select_for_update(skip_locked=True)
                        .filter(pk=handover_id, status=HandoverJob.Status.OPEN, reminded_at__isnull=True).first())
            if handover is None:
                continue
            _email_write(handover=handover, kind="pickup-reminder", key=f"pickup-reminder:{handover.pk}", now=now)
            handover.reminded_at = now
            handover.save(update_fields=["reminded_at"])
            sent += 1
    return sent


def pickups_expire(*, now: datetime | None = None) -> int:
    """Cancel the pickups not collected by their expiry; return how many.

    Per handover, in its own transaction (order locked first): the handover is CANCELED
    (CONSUMER_NO_SHOW), its lines are canceled with their units held for a put-back task on the
    tablet (the reservation is released when an associate confirms the items are back on the shelf),
    the shop learns through the outbox, the customer gets an email, and the order completes or cancels.
    An order locked by someone else is skipped and caught on the next run.
    """
    now = now or timezone.now()
    expired = 0
    due = HandoverJob.objects.filter(channel=HandoverJob.Channel.CUSTOMER, status=HandoverJob.Status.OPEN,
                                     expires_at__lte=now).values_list("pk", "order_id")
    for handover_id, order_id in list(due):
        try:
            expired += _pickup_expire(handover_id=handover_id, order_id=order_id, now=now)
        except Exception:  # one broken order must not stop the others; it is tried again next run
            logger.exception("expiry of pickup %s failed", handover_id)
    return expired


def _pickup_expire(*, handover_id: int, order_id: int, now: datetime) -> int:
    with transaction.atomic():
        order = Order.objects.select_for_update(skip_locked=True).filter(pk=order_id).first()
        if order is None:
            return 0
        # Lock order: the order, its lines (pk order), then the handover — as the counter does.
        handover = HandoverJob.objects.filter(pk=handover_id).first()
        if handover is None:
            return 0
        lines = list(OrderLine.objects.select_for_update(of=("self",))
                     .filter(pk__in=[line.pk for line in handover_lines(handover)])
                     .select_related("product").order_by("pk"))
        handover = (HandoverJob.objects.select_for_update(of=("self",)).select_related("facility", "order")
                    .filter(pk=handover_id, status=HandoverJob.Status.OPEN, expires_at__lte=now).first())
        if handover is None:
            return 0
        # The email names the items, so it is written before the lines change.
        _email_write(handover=handover, kind="pickup-expired", key=f"pickup-expired:{handover.pk}", now=now,
                     lines=lines)
        entries = [transit(handover, "cancel", reason=EXPIRED_REASON, at=now, order_id=order.pk)]
        handover.cancel_reason = HandoverJob.CancelReason.CONSUMER_NO_SHOW
        handover.save(update_fields=["status", "cancel_reason"])
        entries += order_lines_cancel_held(order=order, lines=lines, actor=None, reason=EXPIRED_REASON, now=now)
        put_back_create(facility_id=handover.facility_id, order_id=order.pk, reason=PutBackTask.Reason.CONSUMER_NO_SHOW,
                        items=[(line, line.quantity) for line in lines], now=now,
                        note=f"pickup {handover.pickup_code} not collected")
        record(entries)
    return 1


def _handover_lock(*, handover_id: int, facility_id: int) -> HandoverJob:
    order_id = (HandoverJob.objects.filter(pk=handover_id, facility_id=facility_id,
                                           channel=HandoverJob.Channel.CUSTOMER)
                .values_list("order_id", flat=True).first())
    if order_id is None:
        raise PickupError("This pickup does not exist in this store.", status=404)
    Order.objects.select_for_update().filter(pk=order_id).first()
    handover = HandoverJob.objects.select_for_update(of=("self",)).select_related("order").get(pk=handover_id)
    if handover.status != HandoverJob.Status.OPEN:
        raise PickupError("This pickup is no longer waiting for the customer.", status=409)
    return handover


def _email_write(*, handover: HandoverJob, kind: str, key: str, now: datetime,
                 lines: list[OrderLine] | None = None) -> OutboxMessage | None:
    """One customer email about this pickup: what it says is fixed now (items, code), the store is read at send."""
    order = handover.order
    lines = list(handover_lines(handover).select_related("product")) if lines is None else lines
    return outbox_write(
        kind=kind, destination=OutboxMessage.Destination.EMAIL, idempotency_key=key, order=order, now=now,
        payload={
            "handover_id": handover.pk, "facility_id": handover.facility_id, "order_name": order.name,
            "customer_name": order.customer_name, "email": order.email, "pickup_code": handover.pickup_code,
            "expires_at": handover.expires_at.isoformat() if handover.expires_at else None,
            "items": [{"sku": line.sku, "name": line.product.name if line.product_id else line.title,
                       "quantity": line.quantity} for line in lines],
        },
    )
