"""Messages to the shop that several services write (docs/shop-messages.md): one builder per kind, so the
payload the shop receives is the same whoever cancels."""

from collections.abc import Iterable
from datetime import datetime

from django.db.models import Sum

from oms.models import Order, OrderLine, OutboxMessage
from oms.outbox.messages import outbox_write


def shop_lines_canceled(*, order: Order, canceled: Iterable[tuple[OrderLine, int]], reason: str,
                        now: datetime, line_ids: Iterable[int] | None = None) -> OutboxMessage | None:
    """Write the "lines-canceled" message for units of an order just canceled, in the caller's transaction.

    `canceled`: (line, units canceled) pairs; lines split from one shop line are added up under its
    `external_line_id`. The key names the change by the canceled lines (or split-off parts): `line_ids`,
    by default the lines of `canceled`. A line is canceled once, so the key is never reused.
    """
    quantities: dict[str, int] = {}
    keys = []
    for line, quantity in canceled:
        quantities[line.external_line_id] = quantities.get(line.external_line_id, 0) + quantity
        keys.append(line.pk)
    ids = sorted(line_ids if line_ids is not None else keys)
    # What is left of each shop line after this change: a receiver sets it (repeating the message is harmless).
    left = dict(
        OrderLine.objects.filter(order=order, external_line_id__in=list(quantities))
        .exclude(status=OrderLine.Status.CANCELED).values_list("external_line_id").annotate(units=Sum("quantity"))
    )
    return outbox_write(
        kind="lines-canceled", destination=OutboxMessage.Destination.SHOP, order=order, now=now,
        idempotency_key=f"lines-canceled:{order.pk}:{','.join(str(pk) for pk in ids)}",
        payload={
            "external_id": order.external_id, "name": order.name, "reason": reason,
            "lines": [{"external_line_id": external_id, "quantity": quantity, "remaining": left.get(external_id, 0)}
                      for external_id, quantity in sorted(quantities.items())],
        },
    )


# A carrier's scan status (EasyPost's words) → Shopify's FulfillmentEventStatus; statuses not here are not sent.
FULFILLMENT_EVENT_STATUS = {
    "in_transit": "IN_TRANSIT", "out_for_delivery": "OUT_FOR_DELIVERY", "delivered": "DELIVERED",
    "available_for_pickup": "READY_FOR_PICKUP", "return_to_sender": "FAILURE", "failure": "FAILURE",
}


def shop_fulfillment_event(*, order: Order, tracking_number: str, event_key: str, status: str, happened_at: datetime,
                           message: str, city: str, country: str, now: datetime) -> OutboxMessage | None:
    """Write the "fulfillment-event" message of one carrier scan the shop shows its customer (docs/shop-messages.md):
    once per scan (the key is the parcel's tracking number and the scan's own key). None for a status the shop
    has no event for (pre_transit, unknown)."""
    shop_status = FULFILLMENT_EVENT_STATUS.get(status)
    if shop_status is None:
        return None
    return outbox_write(
        kind="fulfillment-event", destination=OutboxMessage.Destination.SHOP, order=order, now=now,
        idempotency_key=f"fulfillment-event:{tracking_number}:{event_key}",
        payload={"external_id": order.external_id, "name": order.name, "tracking_number": tracking_number,
                 "status": shop_status, "happened_at": happened_at.isoformat(), "message": message[:300],
                 "city": city, "country": country},
    )
