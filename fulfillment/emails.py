"""Customer emails about pickups (outbox kinds): ready for pickup, a reminder, and expired (not collected).

Each builder reads what the message fixed when it was written (code, items) and the store as it is
now (address, opening hours). The ready and reminder emails carry the pickup code as a QR image,
inline (a CID part), so nothing is fetched from a server when the customer opens the email.
"""

import io
from datetime import datetime

import segno

from oms.delivery.email import Email, InlineImage, email_kind
from oms.models import OutboxMessage
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
        "store_address": ", ".join(part for part in (facility.address1, facility.postal_code, facility.city) if part),
        "opening_hours": opening_hours_rows(facility),
        "expires_on": expires_at.astimezone(facility.tz) if expires_at else None,
        "qr_cid": QR_CID,
    }, facility


@email_kind("pickup-ready")
def pickup_ready_email(message: OutboxMessage) -> Email:
    context, facility = _context(message)
    return Email(
        to=[message.payload["email"]] if message.payload.get("email") else [],
        subject=f"Your order {context['order_name']} is ready for pickup at {facility.name}",
        context=context,
        images=[InlineImage(cid=QR_CID, content=pickup_code_qr_png(context["pickup_code"]))],
        reply_to=[facility.email] if facility.email else [],
    )


@email_kind("pickup-reminder")
def pickup_reminder_email(message: OutboxMessage) -> Email:
    context, facility = _context(message)
    return Email(
        to=[message.payload["email"]] if message.payload.get("email") else [],
        subject=f"Reminder: your order {context['order_name']} is waiting at {facility.name}",
        context=context,
        images=[InlineImage(cid=QR_CID, content=pickup_code_qr_png(context["pickup_code"]))],
        reply_to=[facility.email] if facility.email else [],
    )


@email_kind("pickup-expired")
def pickup_expired_email(message: OutboxMessage) -> Email:
    context, facility = _context(message)
    return Email(
        to=[message.payload["email"]] if message.payload.get("email") else [],
        subject=f"Your order {context['order_name']} was not collected and has been canceled",
        context=context,
        reply_to=[facility.email] if facility.email else [],
    )
