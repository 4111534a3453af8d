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
    """An offer for the first demo pickup order's items at its store (render_sample_emails rolls it back)."""
    first = (OrderLine.objects.filter(pickup_facility__isnull=False, product__isnull=False)
             .select_related("order").order_by("pk").first())
    if first is None:
        raise LookupError("no pickup order in the database")
    lines = list(first.order.lines.filter(pickup_facility=first.pickup_facility_id).order_by("pk"))
    options = stores_able(groups={0: lines}, orders={first.order_id: first.order})[0]
    offer = PickupAlternativeOffer.objects.create(
        order=first.order, line_ids=[line.pk for line in lines], nonce=secrets.token_hex(16), created_at=now,
        expires_at=now + timedelta(days=settings.PICKUP_OFFER_DAYS), can_ship=can_ship(first.order),
        stores=[{"facility_id": o.facility.pk, "code": o.facility.code, "name": o.facility.name,
                 "distance_km": o.distance_km} for o in options],
    )
    return OutboxMessage(kind=EMAIL_KIND, destination=OutboxMessage.Destination.EMAIL, order=first.order,
                         idempotency_key=email_key(offer.pk), payload={"offer": offer.pk}, created_at=now, due_at=now)
