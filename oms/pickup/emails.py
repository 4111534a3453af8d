"""The order-management app's customer emails (registered with oms.outbox.email, built when they are sent)."""

import secrets
from datetime import datetime, timedelta

from django.conf import settings

from oms.core.pickup_offers import EMAIL_KIND, can_ship, email_key, pickup_offer_details, stores_able
from oms.models import OrderLine, OutboxMessage, PickupAlternativeOffer
from oms.outbox.email import Email, email_kind
from oms.outbox.samples import email_sample


@email_kind(EMAIL_KIND)
def pickup_alternatives_email(message: OutboxMessage) -> Email:
    """The store the customer chose cannot give them some items: the other stores, delivery, or cancelling."""
    offer = PickupAlternativeOffer.objects.select_related("order").get(pk=message.payload["offer"])
    details = pickup_offer_details(offer=offer, all_lines=True)
    store = details.original_store
    where = store.name if store else "your pickup store"
    return Email(
        to=[offer.order.email],
        subject=f"Order {offer.order.name}: {where} cannot give you every item. Please choose what we do",
        context={"order": offer.order, "store": store, "details": details},
    )


@email_sample(EMAIL_KIND)
def pickup_alternatives_sample(now: datetime) -> OutboxMessage:
    """An offer for a demo pickup order's items at its store (render_sample_emails rolls it back): the first of
    the first 50 pickup orders that has another store near enough with the items, else the first one."""
    candidates = list(OrderLine.objects.filter(pickup_facility__isnull=False, product__isnull=False)
                      .select_related("order").order_by("pk")[:50])
    if not candidates:
        raise LookupError("no pickup order in the database")
    groups = {line.pk: list(line.order.lines.filter(pickup_facility=line.pickup_facility_id).order_by("pk"))
              for line in candidates}
    able = stores_able(groups=groups, orders={line.order_id: line.order for line in candidates})
    first = next((line for line in candidates if able[line.pk]), candidates[0])
    lines, options = groups[first.pk], able[first.pk]
    offer = PickupAlternativeOffer.objects.create(
        order=first.order, line_ids=[line.pk for line in lines], nonce=secrets.token_hex(16), created_at=now,
        expires_at=now + timedelta(days=settings.PICKUP_OFFER_DAYS), can_ship=can_ship(first.order),
        stores=[{"facility_id": o.facility.pk, "code": o.facility.code, "name": o.facility.name,
                 "distance_km": o.distance_km} for o in options],
    )
    return OutboxMessage(kind=EMAIL_KIND, destination=OutboxMessage.Destination.EMAIL, order=first.order,
                         idempotency_key=email_key(offer.pk), payload={"offer": offer.pk}, created_at=now, due_at=now)
