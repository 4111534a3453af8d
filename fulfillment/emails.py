"""Customer emails about pickups (outbox kinds): ready for pickup, a reminder, and expired (not collected).

Each builder reads what the message fixed when it was written (code, items) and the store as it is
now (address, opening hours). The ready and reminder emails carry the pickup code as a QR image,
inline (a CID part), so nothing is fetched from a server when the customer opens the email.
"""

import io
from datetime import datetime

import segno

from oms.models import OutboxMessage
from oms.outbox.email import Email, InlineImage, email_kind
from oms.outbox.samples import email_sample
from stores.models import WEEKDAYS, Facility

DAY_NAMES = dict(zip(WEEKDAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
                     strict=True))
QR_CID = "pickup-code-qr"


def pickup_code_qr_png(code: str) -> bytes:
    """The pickup code as a QR code PNG (what the counter's scanner reads from the customer's phone)."""
    buffer = io.BytesIO()
    segno.make(code, error="m", micro=False).save(buffer, kind="png", scale=8, border=2)
    return buffer.getvalue()


def opening_hours_rows(facility: Facility) -> list[tuple[str, str]]:
    """[("Monday", "09:00–20:00"), ("Sunday", "closed"), …] from the store's opening hours."""
    hours = facility.opening_hours or {}
    return [(DAY_NAMES[day], "–".join(hours[day]) if hours.get(day) else "closed") for day in WEEKDAYS]


def _context(message: OutboxMessage) -> tuple[dict, Facility]:
    payload = message.payload
    facility = Facility.objects.get(pk=payload["facility_id"])
    expires_at = datetime.fromisoformat(payload["expires_at"]) if payload.get("expires_at") else None
    return {
        "order_name": payload["order_name"],
        "customer_name": payload.get("customer_name") or "",
        "pickup_code": payload["pickup_code"],
        "items": payload["items"],
        "store": facility,
        "store_address": ", ".join(part for part in (facility.address1,
                                                      " ".join(p for p in (facility.city, facility.postal_code) if p))
                                   if part),
        "opening_hours": opening_hours_rows(facility),
        # Naive local time: the template shows the store's clock, not the server's time zone.
        "expires_on": expires_at.astimezone(facility.tz).replace(tzinfo=None) if expires_at else None,
        "qr_cid": QR_CID,
    }, facility


def _pickup_email(message: OutboxMessage, *, subject: str, with_code: bool) -> Email:
    """A pickup email to the order's customer; `subject` is formatted with the order name and the store."""
    context, facility = _context(message)
    return Email(
        to=[message.payload["email"]] if message.payload.get("email") else [],
        subject=subject.format(order=context["order_name"], store=facility.name),
        context=context,
        images=[InlineImage(cid=QR_CID, content=pickup_code_qr_png(context["pickup_code"]))] if with_code else [],
        reply_to=[facility.email] if facility.email else [],
    )


@email_kind("pickup-ready")
def pickup_ready_email(message: OutboxMessage) -> Email:
    return _pickup_email(message, subject="Your order {order} is ready for pickup at {store}", with_code=True)


@email_kind("pickup-reminder")
def pickup_reminder_email(message: OutboxMessage) -> Email:
    return _pickup_email(message, subject="Reminder: your order {order} is waiting at {store}", with_code=True)


@email_kind("pickup-expired")
def pickup_expired_email(message: OutboxMessage) -> Email:
    return _pickup_email(message, subject="Your order {order} was not collected and has been canceled",
                         with_code=False)


# --- samples for `render_sample_emails` ------------------------------------------------------------

def _sample(kind: str, now: datetime) -> OutboxMessage:
    from fulfillment.due import pickup_expires_at
    from fulfillment.pickup import pickup_code_new
    from oms.models import Order, OrderLine

    line = (OrderLine.objects.filter(pickup_facility__isnull=False, product__isnull=False)
            .select_related("order", "pickup_facility", "product").order_by("pk").first())
    if line is None:
        raise LookupError("no pickup order in the database")
    order: Order = line.order
    facility = line.pickup_facility
    lines = order.lines.filter(pickup_facility=facility).select_related("product").order_by("pk")
    return OutboxMessage(
        kind=kind, destination=OutboxMessage.Destination.EMAIL, order=order, idempotency_key=f"sample:{kind}",
        created_at=now, due_at=now,
        payload={
            "handover_id": 0, "facility_id": facility.pk, "order_name": order.name,
            "customer_name": order.customer_name, "email": order.email or "customer@example.com",
            "pickup_code": pickup_code_new(),
            "expires_at": pickup_expires_at(facility=facility, ready_at=now).isoformat(),
            "items": [{"sku": item.sku, "name": item.product.name, "quantity": item.quantity} for item in lines],
        },
    )


@email_sample("pickup-ready")
def pickup_ready_sample(now: datetime) -> OutboxMessage:
    return _sample("pickup-ready", now)


@email_sample("pickup-reminder")
def pickup_reminder_sample(now: datetime) -> OutboxMessage:
    return _sample("pickup-reminder", now)


@email_sample("pickup-expired")
def pickup_expired_sample(now: datetime) -> OutboxMessage:
    return _sample("pickup-expired", now)
